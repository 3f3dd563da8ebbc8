#include "snapshotpage.h"

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

} // namespace vega::ui
