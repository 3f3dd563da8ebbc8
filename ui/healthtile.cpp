#include "healthtile.h"

#include "format.h"
#include "healthstyle.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

namespace vega::ui {

HealthTile::HealthTile(const QString &categoryId, const QString &title, QWidget *parent)
    : QFrame(parent), m_categoryId(categoryId)
{
    setObjectName(QStringLiteral("healthTile_") + categoryId);
    setMinimumWidth(200);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);

    m_title = new QLabel(title, this);
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.1);
    m_title->setFont(titleFont);

    m_badge = new QLabel(this);
    m_badge->setAlignment(Qt::AlignCenter);

    m_value = new QLabel(this);
    QFont valueFont = m_value->font();
    valueFont.setPointSizeF(valueFont.pointSizeF() * 1.9);
    valueFont.setBold(true);
    m_value->setFont(valueFont);
    m_value->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_caption = new QLabel(this);
    m_detail = new QLabel(this);
    m_detail->setWordWrap(true);
    m_reason = new QLabel(this);
    m_reason->setWordWrap(true);
    m_reason->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    for (QLabel *secondary : {m_caption, m_detail, m_reason}) {
        QPalette pal = secondary->palette();
        pal.setColor(QPalette::WindowText, pal.color(QPalette::Disabled, QPalette::WindowText).darker(130));
        secondary->setPalette(pal);
    }
    QFont reasonFont = m_reason->font();
    reasonFont.setItalic(true);
    m_reason->setFont(reasonFont);

    auto *headerRow = new QWidget(this);
    auto *header = new QHBoxLayout(headerRow);
    header->setContentsMargins(0, 0, 0, 0);
    header->addWidget(m_title, 1);
    header->addWidget(m_badge);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(14, 10, 12, 10);
    layout->setSpacing(2);
    layout->addWidget(headerRow);
    layout->addSpacing(4);
    layout->addWidget(m_value);
    layout->addWidget(m_caption);
    layout->addWidget(m_detail);
    layout->addSpacing(4);
    layout->addWidget(m_reason);
    layout->addStretch(1);

    setContent(Health::Unknown, missingValueText(), QString(), QString(), tr("no data yet"));
}

HealthTile::~HealthTile() = default;

QString HealthTile::valueText() const
{
    return m_value->text();
}

QString HealthTile::detailText() const
{
    return m_detail->text();
}

QString HealthTile::reasonText() const
{
    return m_reason->text();
}

void HealthTile::setContent(Health health, const QString &value, const QString &caption,
                            const QString &detail, const QString &reason)
{
    if (health != m_health || styleSheet().isEmpty()) {
        m_health = health;
        // Scoped to this frame by its object name, so the labels keep their own look.
        setStyleSheet(
            QStringLiteral("QFrame#%1 { background-color: palette(base); border: 1px solid #d3d7de; "
                           "border-left: 6px solid %2; border-radius: 6px; }")
                .arg(objectName(), healthColor(health).name()));
        m_badge->setStyleSheet(healthBadgeStyleSheet(health));
        m_badge->setText(healthLabel(health));
        m_badge->setToolTip(healthDescription(health));
    }
    m_value->setText(value);
    m_caption->setText(caption);
    m_caption->setVisible(!caption.isEmpty());
    m_detail->setText(detail);
    m_detail->setVisible(!detail.isEmpty());
    m_reason->setText(reason.isEmpty() ? missingValueText() : reason);
}

void HealthTile::setTitle(const QString &title)
{
    if (m_title->text() != title)
        m_title->setText(title);
}

} // namespace vega::ui
