#pragma once
// Test support for the storage layer: a store with its own registry and profiler, and
// synchronous wrappers of its asynchronous calls (they process events while waiting).

#include "clock.h"
#include "historystore.h"
#include "metrics.h"
#include "sqlprofiler.h"

#include <QElapsedTimer>
#include <QObject>
#include <QtTest>

#include <memory>

namespace vega::testsupport {

constexpr qint64 kMinute = 60000;
constexpr qint64 kHour = 3600000;
constexpr qint64 kDay = 24 * kHour;

/// The key of a test series (labels as stored: a JSON object).
inline SeriesKey key(const char *name, const QString &labels = QStringLiteral("{}"), const char *field = "value")
{
    return SeriesKey{QLatin1String(name), labels, QLatin1String(field), QString()};
}

/// `count` points `stepMs` apart from `fromMs`, valued first, first + 1, ...
inline QVector<SeriesPoint> ramp(qint64 fromMs, int count, qint64 stepMs = 1000, double first = 0)
{
    QVector<SeriesPoint> points;
    for (int i = 0; i < count; ++i)
        points.append({fromMs + i * stepMs, first + i});
    return points;
}

inline JournalEntry entry(qint64 tMs, const QString &kind, const QString &message)
{
    JournalEntry e;
    e.tMs = tMs;
    e.kind = kind;
    e.source = QStringLiteral("test");
    e.message = message;
    return e;
}

/// A store with its own registry and profiler.
struct Rig {
    explicit Rig(const HistoryStoreOptions &options, Clock *clock = Clock::system())
        : registry(clock), profiler(&registry, SqlProfilerOptions{}, clock),
          store(std::make_unique<HistoryStore>(options, &registry, &profiler, clock))
    {
    }
    ~Rig() { store.reset(); }
    qint64 counter(const char *name) { return qint64(registry.counter(QLatin1String(name))->total()); }
    double gauge(const char *name) { return registry.gauge(QLatin1String(name))->value(); }

    MetricsRegistry registry;
    SqlProfiler profiler;
    std::unique_ptr<HistoryStore> store;
};

/// Waits (processing events) for an asynchronous store call to answer.
template <typename T, typename Call> T await(Call call, int timeoutMs = 15000)
{
    T result{};
    bool done = false;
    QObject context;
    call(&context, [&](const T &r) {
        result = r;
        done = true;
    });
    QElapsedTimer t;
    t.start();
    while (!done && t.elapsed() < timeoutMs)
        QTest::qWait(2);
    if (!done)
        qWarning("no answer from the store within %d ms", timeoutMs);
    return result;
}

inline bool flushSync(HistoryStore &store)
{
    return await<bool>([&](QObject *c, auto cb) { store.flush(c, cb); });
}

inline SeriesHistory loadSync(HistoryStore &store, const SeriesQuery &q)
{
    return await<SeriesHistory>([&](QObject *c, auto cb) { store.loadSeries(q, c, cb); });
}

inline JournalPage journalSync(HistoryStore &store, const JournalQuery &q)
{
    return await<JournalPage>([&](QObject *c, auto cb) { store.loadJournal(q, c, cb); });
}

inline MaintenanceResult maintainSync(HistoryStore &store, qint64 nowMs)
{
    return await<MaintenanceResult>([&](QObject *c, auto cb) { store.runMaintenance(nowMs, c, cb); });
}

} // namespace vega::testsupport
