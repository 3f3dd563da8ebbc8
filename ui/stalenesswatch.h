#pragma once

#include <QObject>
#include <QTimer>

namespace vega::ui {

/**
 * Notices when snapshots stop arriving: stale after more than `staleAfterIntervals`
 * snapshot intervals without one. A view that silently froze is the worst failure of a
 * monitor, so every page and the status bar show this.
 */
class StalenessWatch : public QObject {
    Q_OBJECT
public:
    explicit StalenessWatch(int intervalMs, int staleAfterIntervals = 3, QObject *parent = nullptr);

    bool isStale() const { return m_stale; }
    int staleAfterMs() const;

public Q_SLOTS:
    /// Call on every snapshot.
    void snapshotArrived();

Q_SIGNALS:
    void staleChanged(bool stale);

private:
    void setStale(bool stale);

    QTimer m_timer;
    int m_intervalMs;
    int m_intervals;
    bool m_stale = false;
};

} // namespace vega::ui
