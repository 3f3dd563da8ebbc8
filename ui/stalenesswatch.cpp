#include "stalenesswatch.h"

#include <algorithm>

namespace vega::ui {

StalenessWatch::StalenessWatch(int intervalMs, int staleAfterIntervals, QObject *parent)
    : QObject(parent), m_intervalMs(std::max(1, intervalMs)), m_intervals(std::max(1, staleAfterIntervals))
{
    m_timer.setSingleShot(true);
    m_timer.setInterval(staleAfterMs());
    connect(&m_timer, &QTimer::timeout, this, [this] { setStale(true); });
    m_timer.start();
}

int StalenessWatch::staleAfterMs() const
{
    return m_intervalMs * m_intervals;
}

void StalenessWatch::snapshotArrived()
{
    m_timer.start();
    setStale(false);
}

void StalenessWatch::setStale(bool stale)
{
    if (m_stale == stale)
        return;
    m_stale = stale;
    Q_EMIT staleChanged(m_stale);
}

} // namespace vega::ui
