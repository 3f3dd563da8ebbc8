#include "eventloopmonitor.h"

#include "metrics.h"

#include <QAbstractEventDispatcher>
#include <QBasicTimer>
#include <QCoreApplication>
#include <QDateTime>
#include <QLoggingCategory>
#include <QMutex>
#include <QMutexLocker>
#include <QThread>
#include <QTimerEvent>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#ifdef Q_OS_LINUX
#include <pthread.h>
#endif

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcEventLoop, "vega.eventloop", QtInfoMsg)

constexpr qint64 kNsPerMs = 1000000;
constexpr qint64 k100msNs = 100 * kNsPerMs;
constexpr qint64 k1sNs = 1000 * kNsPerMs;

struct LoopMetrics {
    Histogram *lag;
    Counter *ticks;
    Counter *stalls100ms;
    Counter *stalls1s;
    Histogram *stallDuration;
    Gauge *stalled;
};

LoopMetrics createMetrics(MetricsRegistry *registry, const QString &name)
{
    const QString thread = QStringLiteral("thread");
    const Labels labels{{thread, name}};
    const auto over = [&](const QString &threshold) {
        return Labels{{thread, name}, {QStringLiteral("threshold"), threshold}};
    };
    const QString stallsHelp = QStringLiteral("Event loop stalls at least as long as the threshold");
    return LoopMetrics{
        registry->histogram(QStringLiteral("event_loop_lag"), labels,
                            QStringLiteral("How late the event loop ran its monitor timer"),
                            Unit::Nanoseconds),
        registry->counter(QStringLiteral("event_loop_ticks"), labels,
                          QStringLiteral("Event loop monitor timer ticks")),
        registry->counter(QStringLiteral("event_loop_stalls"), over(QStringLiteral("100ms")), stallsHelp),
        registry->counter(QStringLiteral("event_loop_stalls"), over(QStringLiteral("1s")), stallsHelp),
        registry->histogram(QStringLiteral("event_loop_stall_duration"), labels,
                            QStringLiteral("How long each event loop stall lasted"), Unit::Nanoseconds),
        registry->gauge(QStringLiteral("event_loop_stalled"), labels,
                        QStringLiteral("1 while the event loop is stalled")),
    };
}

/*
 * The monitored loop's state, shared by the monitor, the probe on the monitored thread and the
 * watchdog thread.
 *
 * The loop alternates between "busy since T" (it started work at T) and "idle since T" (it
 * announced aboutToBlock at T). Every dispatcher signal, tick or marked wake-up ends the current
 * stretch and starts the next one; a stretch that lasted at least the threshold is a stall.
 */
class LoopCore {
public:
    LoopCore(MetricsRegistry *registry, const EventLoopConfig &config, const QString &name, Clock *clock,
             EventLoopMonitor *monitor)
        : m_registry(registry), m_metrics(createMetrics(registry, name)), m_name(name),
          m_source(QStringLiteral("event_loop:") + name), m_clock(clock), m_monitor(monitor),
          m_intervalMs(std::max(1, config.intervalMs)),
          m_thresholdMs(std::max(config.stallThresholdMs, 2 * m_intervalMs)),
          m_history(std::max(0, config.stallHistory)), m_wallOriginMs(QDateTime::currentMSecsSinceEpoch()),
          m_monoOriginNs(clock->nowNs())
    {
    }

    int intervalMs() const { return m_intervalMs; }
    int thresholdMs() const { return m_thresholdMs; }

    // Monitor thread. A new generation per start() lets a probe from an earlier run, still
    // waiting for its thread to delete it, be ignored.
    quint64 activate()
    {
        QMutexLocker lock(&m_mutex);
        m_active = true;
        m_attached = false;
        m_ongoing.reset();
        return ++m_generation;
    }

    void deactivate()
    {
        QMutexLocker lock(&m_mutex);
        m_active = false;
        detachLocked();
    }

    // Monitored thread.
    void attach(quint64 generation, bool wakeTracking)
    {
        QMutexLocker lock(&m_mutex);
        if (!m_active || generation != m_generation)
            return;
        const qint64 now = m_clock->nowNs();
        m_attached = true;
        m_wakeTracking = wakeTracking;
        m_expectedTickNs = now + m_intervalMs * kNsPerMs;
        m_ongoing.reset();
        beginBusy(now);
    }

    void detach(quint64 generation)
    {
        QMutexLocker lock(&m_mutex);
        // Not after deactivate(): the registry may be gone by the time an old probe's thread ends.
        if (m_active && generation == m_generation)
            detachLocked();
    }

    void tick(quint64 generation)
    {
        QMutexLocker lock(&m_mutex);
        if (!live(generation))
            return;
        const qint64 now = m_clock->nowNs();
        endStretch(now, EndedBy::Tick);
        m_metrics.lag->record(std::max<qint64>(0, now - m_expectedTickNs));
        m_metrics.ticks->inc();
        m_expectedTickNs = now + m_intervalMs * kNsPerMs;
        beginBusy(now);
    }

    void awake(quint64 generation)
    {
        QMutexLocker lock(&m_mutex);
        if (!live(generation))
            return;
        const qint64 now = m_clock->nowNs();
        endStretch(now, EndedBy::Other);
        beginBusy(now);
    }

    void aboutToBlock(quint64 generation)
    {
        QMutexLocker lock(&m_mutex);
        if (!live(generation))
            return;
        const qint64 now = m_clock->nowNs();
        endStretch(now, EndedBy::Other);
        m_idle = true;
        m_idleSinceNs = now;
        m_idleHint.store(true, std::memory_order_relaxed);
    }

    /// An event is being delivered; only the first one after an idle wait matters.
    void wake(quint64 generation)
    {
        QMutexLocker lock(&m_mutex);
        if (!live(generation) || !m_idle)
            return;
        const qint64 now = m_clock->nowNs();
        endStretch(now, EndedBy::Other);
        beginBusy(now);
    }

    /// Lock-free pre-check for wake(), which the event filter calls for every event.
    bool maybeIdle() const { return m_idleHint.load(std::memory_order_relaxed); }

    // Watchdog thread. Returns how long it may sleep before anything can change: until the
    // current stretch could reach the threshold, or the next stall counter's length.
    qint64 check()
    {
        QMutexLocker lock(&m_mutex);
        const qint64 thresholdNs = m_thresholdMs * kNsPerMs;
        if (!m_active || !m_attached)
            return thresholdNs;
        const qint64 stalledNs = m_clock->nowNs() - stretchStart(EndedBy::Other);
        if (!m_ongoing) {
            if (stalledNs < thresholdNs)
                return thresholdNs - stalledNs;
            m_ongoing = Ongoing{};
            m_metrics.stalled->set(1);
            qCDebug(lcEventLoop).noquote()
                << "event loop" << m_name << "stalled for" << stalledNs / kNsPerMs << "ms so far";
        }
        // Counted while it lasts, so that a loop that never comes back is still counted.
        qint64 sleepNs = thresholdNs;
        const auto countAt = [&](qint64 lengthNs, bool &counted, Counter *counter) {
            if (counted)
                return;
            if (stalledNs >= lengthNs) {
                counter->inc();
                counted = true;
            } else {
                sleepNs = std::min(sleepNs, lengthNs - stalledNs);
            }
        };
        countAt(k100msNs, m_ongoing->counted100ms, m_metrics.stalls100ms);
        countAt(k1sNs, m_ongoing->counted1s, m_metrics.stalls1s);
        return sleepNs;
    }

    // Any thread.
    EventLoopSummary summary() const
    {
        EventLoopSummary s;
        s.thread = m_name;
        s.intervalMs = m_intervalMs;
        s.stallThresholdMs = m_thresholdMs;
        s.lagNs = m_metrics.lag->sinceReset().summary();
        s.stallsOver100ms = m_metrics.stalls100ms->total();
        s.stallsOver1s = m_metrics.stalls1s->total();

        QMutexLocker lock(&m_mutex);
        s.recentStalls = QList<StallRecord>(m_stalls.cbegin(), m_stalls.cend());
        if (m_active && m_attached) {
            const qint64 startNs = stretchStart(EndedBy::Other);
            const qint64 stalledNs = m_clock->nowNs() - startNs;
            if (m_ongoing || stalledNs >= m_thresholdMs * kNsPerMs) {
                s.stalledNow = true;
                s.currentStallMs = double(stalledNs) / kNsPerMs;
                s.recentStalls.append(StallRecord{wallMs(startNs), s.currentStallMs, true});
            }
        }
        while (s.recentStalls.size() > m_history)
            s.recentStalls.removeFirst();
        return s;
    }

private:
    enum class EndedBy { Tick, Other };

    bool live(quint64 generation) const { return m_active && m_attached && generation == m_generation; }

    void beginBusy(qint64 now)
    {
        m_idle = false;
        m_busySinceNs = now;
        m_idleHint.store(false, std::memory_order_relaxed);
    }

    void detachLocked()
    {
        m_attached = false;
        m_ongoing.reset();
        m_idleHint.store(false, std::memory_order_relaxed);
        m_metrics.stalled->set(0);
    }

    /// When the current stretch began, as far as we can tell.
    qint64 stretchStart(EndedBy endedBy) const
    {
        if (!m_idle)
            return m_busySinceNs;
        // An idle loop wakes up for our tick at the latest. With wake tracking every real
        // wake-up is marked, so an unmarked one means the thread was not woken in time: the
        // stall starts when the tick was due. The same holds when the tick itself ends the wait.
        const qint64 dueNs = std::max(m_idleSinceNs, m_expectedTickNs);
        if (m_wakeTracking || endedBy == EndedBy::Tick)
            return dueNs;
        // Woken at an unknown moment before the tick was due: the midpoint halves the worst error.
        return m_idleSinceNs + (dueNs - m_idleSinceNs) / 2;
    }

    void endStretch(qint64 now, EndedBy endedBy)
    {
        const qint64 startNs = std::min(stretchStart(endedBy), now);
        // Once the watchdog has reported a stall it is recorded, even if the final estimate of
        // its start makes it a little shorter than the threshold.
        if (m_ongoing || now - startNs >= m_thresholdMs * kNsPerMs)
            finishStall(startNs, now);
        m_ongoing.reset();
    }

    void finishStall(qint64 startNs, qint64 endNs)
    {
        const qint64 durationNs = endNs - startNs;
        const StallRecord stall{wallMs(startNs), double(durationNs) / kNsPerMs, false};
        m_stalls.push_back(stall);
        while (m_stalls.size() > size_t(m_history))
            m_stalls.pop_front();
        m_metrics.stallDuration->record(durationNs);
        if (durationNs >= k100msNs && !(m_ongoing && m_ongoing->counted100ms))
            m_metrics.stalls100ms->inc();
        if (durationNs >= k1sNs && !(m_ongoing && m_ongoing->counted1s))
            m_metrics.stalls1s->inc();
        if (m_ongoing)
            m_metrics.stalled->set(0);
        const QString duration = QString::number(stall.durationMs, 'f', 1);
        m_registry->recordEvent(
            QStringLiteral("stall"), m_source,
            QStringLiteral("Event loop \"%1\" was blocked for %2 ms").arg(m_name, duration),
            stall.durationMs);
        qCDebug(lcEventLoop).noquote() << "event loop" << m_name << "was blocked for" << duration << "ms";
        // Queued even on the monitor's own thread: we are inside a dispatcher signal here.
        EventLoopMonitor *monitor = m_monitor;
        QMetaObject::invokeMethod(
            monitor, [monitor, stall] { Q_EMIT monitor->stallFinished(stall); }, Qt::QueuedConnection);
    }

    qint64 wallMs(qint64 ns) const { return m_wallOriginMs + (ns - m_monoOriginNs) / kNsPerMs; }

    MetricsRegistry *const m_registry;
    const LoopMetrics m_metrics;
    const QString m_name;
    const QString m_source;
    Clock *const m_clock;
    EventLoopMonitor *const m_monitor;
    const int m_intervalMs;
    const int m_thresholdMs;
    const int m_history;
    const qint64 m_wallOriginMs;
    const qint64 m_monoOriginNs;

    std::atomic<bool> m_idleHint{false};

    struct Ongoing {
        bool counted100ms = false;
        bool counted1s = false;
    };

    mutable QMutex m_mutex; // protects everything below
    quint64 m_generation = 0;
    bool m_active = false;
    bool m_attached = false;
    bool m_wakeTracking = false;
    bool m_idle = false;
    qint64 m_busySinceNs = 0;
    qint64 m_idleSinceNs = 0;
    qint64 m_expectedTickNs = 0;
    std::optional<Ongoing> m_ongoing; // set once the watchdog has reported the current stretch
    std::deque<StallRecord> m_stalls; // finished stalls, oldest first
};

/// Lives on the monitored thread: owns the timer and relays the dispatcher's signals.
class LoopProbe : public QObject {
public:
    LoopProbe(std::shared_ptr<LoopCore> core, quint64 generation)
        : m_core(std::move(core)), m_generation(generation)
    {
    }

    /// Runs on the monitored thread, once its event loop is up.
    void attach()
    {
        QThread *self = thread();
        QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance(self);
        if (dispatcher) {
            connect(
                dispatcher, &QAbstractEventDispatcher::awake, this, [this] { m_core->awake(m_generation); },
                Qt::DirectConnection);
            connect(
                dispatcher, &QAbstractEventDispatcher::aboutToBlock, this,
                [this] { m_core->aboutToBlock(m_generation); }, Qt::DirectConnection);
        }
        // The glib dispatcher emits awake() only after it has dispatched, so when the loop
        // started working after an idle wait is learnt from the first event it delivers. Qt runs
        // application event filters on the main thread only.
        QCoreApplication *app = QCoreApplication::instance();
        const bool wakeTracking = dispatcher && app && app->thread() == self;
        if (wakeTracking)
            app->installEventFilter(this);
        // QThread emits finished() on its own thread: the last moment to stop the timer there.
        connect(
            self, &QThread::finished, this,
            [this] {
                m_timer.stop();
                m_core->detach(m_generation);
            },
            Qt::DirectConnection);
        m_core->attach(m_generation, wakeTracking);
        m_timer.start(m_core->intervalMs(), Qt::PreciseTimer, this);
    }

protected:
    void timerEvent(QTimerEvent *event) override
    {
        if (event->timerId() == m_timer.timerId())
            m_core->tick(m_generation);
        else
            QObject::timerEvent(event);
    }

    bool eventFilter(QObject *watched, QEvent *event) override
    {
        if (m_core->maybeIdle())
            m_core->wake(m_generation);
        return QObject::eventFilter(watched, event);
    }

private:
    const std::shared_ptr<LoopCore> m_core;
    const quint64 m_generation;
    QBasicTimer m_timer;
};

struct ProbeDeleter {
    void operator()(LoopProbe *probe) const
    {
        QThread *thread = probe->thread();
        // A running thread deletes it itself (Qt also flushes deferred deletes when a thread
        // finishes); a thread that is not running cannot be touching it.
        if (thread && thread != QThread::currentThread() && thread->isRunning())
            probe->deleteLater();
        else
            delete probe;
    }
};

} // namespace

class EventLoopMonitor::Private {
public:
    Private(EventLoopMonitor *q, MetricsRegistry *registry, const EventLoopConfig &config,
            const QString &name, QThread *target, Clock *clock)
        : core(std::make_shared<LoopCore>(registry, config, name, clock, q)), name(name),
          target(target ? target : QThread::currentThread())
    {
    }

    void startWatchdog()
    {
        {
            std::lock_guard<std::mutex> lock(watchdogMutex);
            watchdogStop = false;
        }
        watchdog = std::thread([this, core = core] {
#ifdef Q_OS_LINUX
            pthread_setname_np(pthread_self(), "vega-loop-wd");
#endif
            // Real time, whatever the monitor's clock: a manual clock cannot make it sleep forever.
            const std::chrono::nanoseconds longest(qint64(core->thresholdMs()) * kNsPerMs);
            std::chrono::nanoseconds sleep = longest;
            std::unique_lock<std::mutex> lock(watchdogMutex);
            while (!watchdogWake.wait_for(lock, sleep, [this] { return watchdogStop; })) {
                lock.unlock();
                sleep = std::clamp(std::chrono::nanoseconds(core->check()),
                                   std::chrono::nanoseconds(kNsPerMs), longest);
                lock.lock();
            }
        });
    }

    void stopWatchdog()
    {
        {
            std::lock_guard<std::mutex> lock(watchdogMutex);
            watchdogStop = true;
        }
        watchdogWake.notify_all();
        if (watchdog.joinable())
            watchdog.join();
    }

    const std::shared_ptr<LoopCore> core;
    const QString name;
    const QPointer<QThread> target;
    std::unique_ptr<LoopProbe, ProbeDeleter> probe;
    bool running = false;

    std::thread watchdog;
    std::mutex watchdogMutex; // protects watchdogStop
    std::condition_variable watchdogWake;
    bool watchdogStop = false;
};

EventLoopMonitor::EventLoopMonitor(MetricsRegistry *registry, const EventLoopConfig &config,
                                   const QString &name, QThread *target, Clock *clock, QObject *parent)
    : QObject(parent)
{
    Q_ASSERT(registry);
    Q_ASSERT(clock);
    qRegisterMetaType<vega::StallRecord>();
    d = std::make_unique<Private>(this, registry, config, name, target, clock);
}

EventLoopMonitor::~EventLoopMonitor()
{
    stop();
}

void EventLoopMonitor::start()
{
    if (d->running)
        return;
    QThread *target = d->target;
    if (!target) {
        qCWarning(lcEventLoop) << "cannot monitor event loop" << d->name << "- its thread no longer exists";
        return;
    }
    const quint64 generation = d->core->activate();
    d->probe.reset(new LoopProbe(d->core, generation));
    if (target == QThread::currentThread()) {
        d->probe->attach();
    } else {
        d->probe->moveToThread(target);
        QMetaObject::invokeMethod(d->probe.get(), &LoopProbe::attach, Qt::QueuedConnection);
    }
    d->startWatchdog();
    d->running = true;
}

void EventLoopMonitor::stop()
{
    if (!d->running)
        return;
    d->stopWatchdog();
    // From here on a probe still waiting for deletion on its thread is ignored.
    d->core->deactivate();
    d->probe.reset();
    d->running = false;
}

bool EventLoopMonitor::isRunning() const
{
    return d->running;
}

EventLoopSummary EventLoopMonitor::summary() const
{
    return d->core->summary();
}

} // namespace vega
