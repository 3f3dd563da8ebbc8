#include "stattile.h"

#include "format.h"

#include <QLabel>
#include <QVBoxLayout>

namespace vega::ui {

StatTile::StatTile(const QString &id, const QString &title, const QString &toolTip, QWidget *parent)
    : QFrame(parent), m_id(id), m_accent(0x7d, 0x84, 0x8f)
{
    setObjectName(QStringLiteral("statTile_") + id);
    setToolTip(toolTip);
    setMinimumWidth(150);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);

    auto *titleLabel = new QLabel(title, this);
    QFont titleFont = titleLabel->font();
    titleFont.setBold(true);
    titleLabel->setFont(titleFont);

    m_value = new QLabel(missingValueText(), this);
    QFont valueFont = m_value->font();
    valueFont.setPointSizeF(valueFont.pointSizeF() * 1.7);
    valueFont.setBold(true);
    m_value->setFont(valueFont);
    m_value->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_caption = new QLabel(this);
    m_caption->setWordWrap(true);
    QPalette pal = m_caption->palette();
    pal.setColor(QPalette::WindowText, pal.color(QPalette::Disabled, QPalette::WindowText).darker(130));
    m_caption->setPalette(pal);
    QFont captionFont = m_caption->font();
    captionFont.setPointSizeF(captionFont.pointSizeF() * 0.92);
    m_caption->setFont(captionFont);
    // Two lines always, so tiles in a row keep one height whatever their captions say.
    m_caption->setMinimumHeight(2 * QFontMetrics(captionFont).lineSpacing());
    m_caption->setAlignment(Qt::AlignLeft | Qt::AlignTop);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 8, 10, 8);
    layout->setSpacing(2);
    layout->addWidget(titleLabel);
    layout->addWidget(m_value);
    layout->addWidget(m_caption);
    setAccent(m_accent);
}

StatTile::~StatTile() = default;

QString StatTile::valueText() const
{
    return m_value->text();
}

QString StatTile::captionText() const
{
    return m_caption->text();
}

void StatTile::setContent(const QString &value, const QString &caption)
{
    if (m_value->text() != value)
        m_value->setText(value);
    if (m_caption->text() != caption)
        m_caption->setText(caption);
}

void StatTile::setAccent(const QColor &color)
{
    m_accent = color;
    // Scoped to this frame by its object name, so the labels keep their own look.
    setStyleSheet(QStringLiteral("QFrame#%1 { background-color: palette(base); border: 1px solid #d3d7de; "
                                 "border-left: 5px solid %2; border-radius: 6px; }")
                      .arg(objectName(), color.name()));
}

} // namespace vega::ui
