#pragma once

#include "clock.h"
#include "config.h"
#include "histogram.h"

#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>

#include <memory>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace vega {

class MetricsRegistry;

/// One stall of a monitored event loop.
struct StallRecord {
    qint64 startWallMs = 0; // UTC ms since epoch
    double durationMs = 0;
    bool ongoing = false; // still stalled when the summary was taken
};

/// What the monitor knows at one moment (values since the last reset of stats).
struct EventLoopSummary {
    QString thread;           // name given to the monitor, e.g. "gui"
    int intervalMs = 0;
    int stallThresholdMs = 0;
    HistogramSummary lagNs;   // lag = actual - expected timer delay, nanoseconds
    quint64 stallsOver100ms = 0; // cumulative
    quint64 stallsOver1s = 0;    // cumulative
    bool stalledNow = false;
    double currentStallMs = 0;
    QList<StallRecord> recentStalls; // oldest first, at most EventLoopConfig::stallHistory
};

/**
 * Measures the lag of one thread's Qt event loop.
 *
 * A precise timer on the monitored thread records expected-vs-actual delay into the
 * "event_loop_lag" histogram. A watchdog thread notices a stall while it happens (no tick for
 * longer than the threshold), so long blocks are counted even before the loop returns; when
 * the loop comes back the stall is recorded with its start and duration.
 *
 * Metrics (label thread=<name>): event_loop_lag (histogram, ns), event_loop_ticks (counter),
 * event_loop_stalls{threshold="100ms"|"1s"} (counters), event_loop_stall_duration
 * (histogram, ns), event_loop_stalled (gauge, 1 while a stall is in progress).
 */
class EventLoopMonitor : public QObject {
    Q_OBJECT
public:
    /// Monitors `target`'s event loop (the calling thread's when null).
    EventLoopMonitor(MetricsRegistry *registry, const EventLoopConfig &config, const QString &name = QStringLiteral("gui"),
                     QThread *target = nullptr, Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~EventLoopMonitor() override;

    void start();
    void stop();
    bool isRunning() const;

    /// Thread-safe.
    EventLoopSummary summary() const;

Q_SIGNALS:
    /// Emitted on this object's thread when a stall has ended.
    void stallFinished(const vega::StallRecord &stall);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::StallRecord)
