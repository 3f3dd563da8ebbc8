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
    QString thread; // name given to the monitor, e.g. "gui"
    int intervalMs = 0;
    int stallThresholdMs = 0;
    HistogramSummary lagNs;      // lag = actual - expected timer delay, nanoseconds
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
 * "event_loop_lag" histogram. A watchdog thread notices a stall while it happens (the loop has
 * not come back for longer than the threshold), so long blocks are counted even before the loop
 * returns; when the loop comes back the stall is recorded with its start and duration.
 *
 * Stall timing: the loop is followed through its dispatcher's aboutToBlock()/awake() signals,
 * the ticks and, on the main thread, the first event delivered after the loop went idle. A stall
 * starts when the loop last started work and ends when it next reaches its dispatcher, so it
 * is accurate to well under a millisecond on the main thread with both the glib and the plain
 * Unix dispatcher. On other threads the glib dispatcher does not say when it woke up, so a
 * stall that begins right after an idle wait may be off by up to half an interval. Without
 * dispatcher signals it falls back to the gap between ticks (up to one interval too long).
 *
 * The stall threshold is at least two intervals, otherwise ordinary idle waits would count.
 *
 * Metrics (label thread=<name>): event_loop_lag (histogram, ns), event_loop_ticks (counter),
 * event_loop_stalls{threshold="100ms"|"1s"} (counters of stalls at least that long, counted as
 * soon as an ongoing stall reaches that length), event_loop_stall_duration (histogram, ns),
 * event_loop_stalled (gauge, 1 while a stall is in progress). Each finished stall is also
 * recorded as a registry event of kind "stall" from "event_loop:<name>".
 */
class EventLoopMonitor : public QObject {
    Q_OBJECT
public:
    /// Monitors `target`'s event loop (the calling thread's when null). `registry` and `clock`
    /// must outlive the monitor; `target` may finish or be destroyed first.
    EventLoopMonitor(MetricsRegistry *registry, const EventLoopConfig &config,
                     const QString &name = QStringLiteral("gui"), QThread *target = nullptr,
                     Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~EventLoopMonitor() override;

    /// Starts ticking on the monitored thread (as soon as its event loop runs) and starts the
    /// watchdog thread. Does nothing when already running.
    void start();
    /// Stops the timer and joins the watchdog. Never waits for the monitored loop; after it
    /// returns nothing touches the registry any more. A stall in progress is dropped.
    void stop();
    bool isRunning() const;

    /// Thread-safe.
    EventLoopSummary summary() const;

Q_SIGNALS:
    /// Emitted on this object's thread (queued) when a stall has ended.
    void stallFinished(const vega::StallRecord &stall);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::StallRecord)
