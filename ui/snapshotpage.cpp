#include "snapshotpage.h"

#include <QHBoxLayout>
#include <QLabel>

namespace vega::ui {

SnapshotPage::SnapshotPage(QWidget *parent) : QWidget(parent) {}

SnapshotPage::~SnapshotPage() = default;

void SnapshotPage::setSnapshot(const SnapshotPtr &snapshot)
{
    if (!snapshot)
        return;
    m_latest = snapshot;
    m_pending = true;
    if (isOnScreen())
        applyPending();
}

void SnapshotPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_pending)
        applyPending();
}

bool SnapshotPage::isOnScreen() const
{
    return isVisible() && !window()->isMinimized();
}

void SnapshotPage::applyPending()
{
    m_pending = false;
    ++m_appliedCount;
    applySnapshot(*m_latest);
}

QWidget *SnapshotPage::createHeader(const QString &title, QLabel *updated)
{
    auto *label = new QLabel(title, this);
    QFont font = label->font();
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.3);
    label->setFont(font);
    updated->setObjectName(QStringLiteral("updatedLabel"));
    auto *row = new QWidget(this);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(label);
    layout->addStretch(1);
    layout->addWidget(updated);
    return row;
}

} // namespace vega::ui
