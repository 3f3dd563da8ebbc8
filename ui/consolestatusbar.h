#pragma once

#include "snapshot.h"

#include <QStatusBar>

QT_BEGIN_NAMESPACE
class QLabel;
QT_END_NAMESPACE

namespace vega::ui {

/// Refresh rate, time of the last snapshot, the console's own CPU and a stale badge.
class ConsoleStatusBar : public QStatusBar {
    Q_OBJECT
public:
    explicit ConsoleStatusBar(int refreshIntervalMs, QWidget *parent = nullptr);
    ~ConsoleStatusBar() override;

    QString refreshText() const;
    QString lastUpdateText() const;
    QString consoleCpuText() const;
    bool isStaleShown() const;

public Q_SLOTS:
    /// The last update of the source shown, and the console's own CPU when the snapshot is the
    /// console's (setCpuFromSnapshots(true), the default).
    void setSnapshot(const vega::SnapshotPtr &snapshot);
    /// The console's own CPU, from a snapshot of the console's local engine.
    void setConsoleSnapshot(const vega::SnapshotPtr &snapshot);
    /// Whether setSnapshot() also updates the CPU (false while an agent's pages are shown:
    /// its CPU is not the console's).
    void setCpuFromSnapshots(bool fromSnapshots) { m_cpuFromSnapshots = fromSnapshots; }
    void setStale(bool stale);
    void setRefreshIntervalMs(int ms);

private:
    QLabel *m_stale = nullptr;
    QLabel *m_refresh = nullptr;
    QLabel *m_lastUpdate = nullptr;
    QLabel *m_cpu = nullptr;
    bool m_cpuFromSnapshots = true;
};

} // namespace vega::ui
