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
    void setSnapshot(const vega::SnapshotPtr &snapshot);
    void setStale(bool stale);
    void setRefreshIntervalMs(int ms);

private:
    QLabel *m_stale = nullptr;
    QLabel *m_refresh = nullptr;
    QLabel *m_lastUpdate = nullptr;
    QLabel *m_cpu = nullptr;
};

} // namespace vega::ui
