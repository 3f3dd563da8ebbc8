// What the history database costs.
//
// BM_InsertRowByRow / BM_InsertBatched: rows per second into SQLite (WAL, synchronous=NORMAL,
// as the store configures it), one autocommit INSERT per row versus the BatchWriter's one
// transaction and one execBatch() per 500 rows. Both run through the SqlProfiler, as in the
// program. The ratio is printed at the end.
//
// BM_GuiLagUnderLoad: a 10 ms Qt::PreciseTimer probe on the main thread measures how late it
// fires, first for kLagRunMs with nothing else running, then for kLagRunMs while the main
// thread feeds 10,000 rows/s (100 rows every 10 ms, 100 series) into a HistoryStore whose
// database thread writes them to SQLite. Reports both p99s and the difference.
//
// BM_RecordSnapshot: what HistoryStore::recordSnapshot() costs the thread that publishes
// snapshots (the GUI thread in the console), for 500 metrics.
//
// BM_ChartLoad: loads one series from a database holding 24 h of 200 metrics at 1 s (17.28M
// points, plus their 1-minute rollups), end to end: loadSeries() on the main thread until the
// callback runs there. The database is generated once into bench_storage_history.db next to
// the binary (about a minute) and reused.
#include "batchwriter.h"
#include "database.h"
#include "historystore.h"
#include "metrics.h"
#include "sqlprofiler.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTimer>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace vega;

namespace {

constexpr int kBatch = 500;
constexpr int kLagRunMs = 10000;
constexpr int kHistorySeries = 200;
constexpr qint64 kHistoryBaseMs = 1699999980000LL; // a whole minute
constexpr qint64 kHistorySpanMs = 24LL * 3600 * 1000;

double g_rowByRowPerSecond = 0;
double g_batchedPerSecond = 0;

QString benchDir()
{
    return QCoreApplication::applicationDirPath();
}

/// A fresh, migrated SQLite database in `dir`.
std::unique_ptr<Database> freshDatabase(const QString &dir, SqlProfiler *profiler)
{
    DatabaseLocation loc;
    loc.path = dir + QStringLiteral("/insert.db");
    QFile::remove(loc.path);
    auto db = std::make_unique<Database>(loc, profiler);
    const OpenResult r = db->open();
    if (!r.ok())
        qFatal("open: %s", qPrintable(r.error));
    return db;
}

void BM_InsertRowByRow(benchmark::State &state)
{
    QTemporaryDir dir(benchDir() + QStringLiteral("/bench-XXXXXX"));
    SqlProfiler profiler;
    auto db = freshDatabase(dir.path(), &profiler);
    db->run(QStringLiteral("INSERT INTO series (id, name, labels, field) VALUES (1, 'm', '{}', 'value')"),
            {});
    QSqlQuery *insert =
        db->prepared(QStringLiteral("INSERT INTO points (series_id, t_ms, value) VALUES (?, ?, ?)"));
    const int rows = int(state.range(0));
    qint64 t = 0;
    qint64 total = 0;
    QElapsedTimer elapsed;
    elapsed.start();
    for (auto _ : state) {
        for (int i = 0; i < rows; ++i) {
            insert->addBindValue(1);
            insert->addBindValue(++t);
            insert->addBindValue(double(i));
            if (!db->exec(*insert, QStringLiteral("bench")))
                state.SkipWithError("insert failed");
        }
        total += rows;
    }
    g_rowByRowPerSecond = double(total) / (double(elapsed.nsecsElapsed()) / 1e9);
    state.SetItemsProcessed(total);
}
BENCHMARK(BM_InsertRowByRow)->Arg(5000)->Unit(benchmark::kMillisecond);

void BM_InsertBatched(benchmark::State &state)
{
    QTemporaryDir dir(benchDir() + QStringLiteral("/bench-XXXXXX"));
    SqlProfiler profiler;
    auto db = freshDatabase(dir.path(), &profiler);
    BatchWriter writer(db.get());
    const int rows = int(state.range(0));
    qint64 t = 0;
    qint64 total = 0;
    QElapsedTimer elapsed;
    elapsed.start();
    for (auto _ : state) {
        for (int done = 0; done < rows; done += kBatch) {
            WriteBatch batch;
            batch.keys.insert(
                0, SeriesKey{QStringLiteral("m"), QStringLiteral("{}"), QStringLiteral("value"), {}});
            batch.samples.reserve(kBatch);
            for (int i = 0; i < kBatch; ++i)
                batch.samples.append({0, ++t, double(i)});
            QString error;
            if (writer.write(batch, QStringLiteral("bench"), &error) != WriteOutcome::Ok)
                state.SkipWithError(qPrintable(error));
        }
        total += rows;
    }
    g_batchedPerSecond = double(total) / (double(elapsed.nsecsElapsed()) / 1e9);
    state.SetItemsProcessed(total);
}
BENCHMARK(BM_InsertBatched)->Arg(50000)->Unit(benchmark::kMillisecond);

/// How late a 10 ms precise timer on this thread fires, p99 in ms, over `ms` of running.
double lagP99Ms(int ms)
{
    std::vector<double> lateness;
    lateness.reserve(size_t(ms / 10 + 16));
    QEventLoop loop;
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(10);
    QElapsedTimer clock;
    qint64 expected = 0;
    QObject::connect(&probe, &QTimer::timeout, &loop, [&] {
        const qint64 now = clock.nsecsElapsed();
        lateness.push_back(std::max<double>(0, double(now - expected) / 1e6));
        expected = now + 10 * 1000000LL;
    });
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    clock.start();
    expected = 10 * 1000000LL;
    probe.start();
    loop.exec();
    probe.stop();
    if (lateness.empty())
        return 0;
    std::sort(lateness.begin(), lateness.end());
    return lateness[std::min(lateness.size() - 1, size_t(double(lateness.size()) * 0.99))];
}

void BM_GuiLagUnderLoad(benchmark::State &state)
{
    for (auto _ : state) {
        const double idle = lagP99Ms(kLagRunMs);

        QTemporaryDir dir(benchDir() + QStringLiteral("/bench-XXXXXX"));
        MetricsRegistry registry;
        SqlProfiler profiler(&registry);
        HistoryStoreOptions o;
        o.dataDir = dir.path();
        o.maintenanceIntervalMs = 0;
        HistoryStore store(o, &registry, &profiler);
        store.start();
        std::vector<SeriesKey> keys;
        for (int s = 0; s < 100; ++s)
            keys.push_back({QStringLiteral("bench_metric"), QStringLiteral("{\"i\":\"%1\"}").arg(s),
                            QStringLiteral("value"), QString()});
        qint64 t = QDateTime::currentMSecsSinceEpoch();
        QTimer feed;
        feed.setTimerType(Qt::PreciseTimer);
        qint64 feedNs = 0; // main-thread time spent handing rows to the store
        QObject::connect(&feed, &QTimer::timeout, [&] {
            QElapsedTimer spent;
            spent.start();
            ++t;
            for (const SeriesKey &k : keys) // 100 rows per 10 ms
                store.recordSamples(k, {{t, double(t % 1000)}});
            feedNs += spent.nsecsElapsed();
        });
        feed.start(10);
        const double loaded = lagP99Ms(kLagRunMs);
        feed.stop();
        QElapsedTimer stopping;
        stopping.start();
        store.stop();
        state.counters["idle_p99_ms"] = idle;
        state.counters["load_p99_ms"] = loaded;
        state.counters["diff_ms"] = loaded - idle;
        state.counters["rows_stored"] = double(registry.counter(QStringLiteral("storage_rows"))->total());
        state.counters["rows_dropped"] =
            double(registry.counter(QStringLiteral("storage_dropped_rows"))->total());
        state.counters["batches"] = double(registry.counter(QStringLiteral("storage_batches"))->total());
        state.counters["flush_p99_ms"] =
            double(registry.histogram(QStringLiteral("storage_flush_duration"))->cumulative().summary().p99) /
            1e6;
        state.counters["stop_ms"] = double(stopping.elapsed());
        state.counters["feed_us_per_tick"] = double(feedNs) / 1e3 / (kLagRunMs / 10.0);
    }
}
BENCHMARK(BM_GuiLagUnderLoad)->Iterations(1)->Unit(benchmark::kSecond);

/// The GUI-thread cost of feeding one snapshot of 500 metrics (300 counters, 150 gauges, 50
/// histograms: 750 new points) to the store; the store is not started, so the queue stays
/// full and each push also drops the oldest samples (the worst case).
void BM_RecordSnapshot(benchmark::State &state)
{
    ManualClock clock;
    MetricsRegistry registry(&clock);
    for (int i = 0; i < 300; ++i)
        registry.counter(QStringLiteral("bench_counter"), {{QStringLiteral("i"), QString::number(i)}})->inc();
    for (int i = 0; i < 150; ++i)
        registry.gauge(QStringLiteral("bench_gauge"), {{QStringLiteral("i"), QString::number(i)}})->set(i);
    std::vector<Histogram *> histograms;
    for (int i = 0; i < 50; ++i)
        histograms.push_back(registry.histogram(QStringLiteral("bench_histogram"),
                                                {{QStringLiteral("i"), QString::number(i)}}));
    SqlProfiler profiler;
    HistoryStoreOptions o;
    o.dataDir = benchDir();
    HistoryStore store(o, &registry, &profiler, &clock);
    for (auto _ : state) {
        state.PauseTiming();
        clock.advanceMs(1000);
        for (Histogram *h : histograms)
            h->record(1000);
        const auto snapshot = registry.capture();
        state.ResumeTiming();
        store.recordSnapshot(snapshot);
    }
    state.counters["queued"] = store.queueDepth();
}
BENCHMARK(BM_RecordSnapshot)->Unit(benchmark::kMicrosecond);

/// The 24 h x 200 metrics database, generated on first use.
QString historyDatabase()
{
    const QString path = benchDir() + QStringLiteral("/bench_storage_history.db");
    const QString done = path + QStringLiteral(".complete");
    if (QFileInfo::exists(done))
        return path;
    QFile::remove(path);
    QFile::remove(path + QStringLiteral("-wal"));
    QFile::remove(path + QStringLiteral("-shm"));
    std::fprintf(stderr, "generating %s (24 h x %d metrics at 1 s)...\n", qPrintable(path), kHistorySeries);
    QElapsedTimer took;
    took.start();
    {
        SqlProfiler profiler;
        DatabaseLocation loc;
        loc.path = path;
        Database db(loc, &profiler);
        const OpenResult r = db.open();
        if (!r.ok())
            qFatal("open: %s", qPrintable(r.error));
        const QString cid = QStringLiteral("generate");
        for (int s = 1; s <= kHistorySeries; ++s) {
            db.begin(cid);
            db.run(QStringLiteral(
                       "INSERT INTO series (id, name, labels, field, unit) VALUES (%1, 'metric_%1', '{}', "
                       "'value', '')")
                       .arg(s),
                   cid);
            // In key order, so SQLite appends to the clustered table.
            QString error;
            if (!db.run(QStringLiteral(
                            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < %1) "
                            "INSERT INTO points (series_id, t_ms, value) "
                            "SELECT %2, %3 + i * 1000, (i % 600) + %2 FROM s")
                            .arg(kHistorySpanMs / 1000 - 1)
                            .arg(s)
                            .arg(kHistoryBaseMs),
                        cid, &error))
                qFatal("generate: %s", qPrintable(error));
            db.commit(cid);
        }
    }
    std::fprintf(stderr, "  points in %.1f s\n", double(took.elapsed()) / 1000);
    {
        // Rollups as the store's maintenance makes them.
        MetricsRegistry registry;
        HistoryStoreOptions o;
        o.url = QStringLiteral("sqlite:") + path;
        o.maintenanceIntervalMs = 0;
        o.rawRetentionHours = 24 * 365 * 100;
        HistoryStore store(o, &registry, nullptr);
        store.start();
        bool finished = false;
        QObject context;
        store.runMaintenance(
            kHistoryBaseMs + kHistorySpanMs + 60000, &context, [&](const MaintenanceResult &m) {
                if (!m.ok())
                    qFatal("maintenance: %s", qPrintable(m.error));
                std::fprintf(stderr, "  %lld rollup rows\n", static_cast<long long>(m.rolledUpMinutes));
                finished = true;
            });
        while (!finished)
            QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        store.stop();
    }
    QFile marker(done);
    marker.open(QIODevice::WriteOnly);
    std::fprintf(stderr, "  generated in %.1f s, %.0f MB\n", double(took.elapsed()) / 1000,
                 double(QFileInfo(path).size()) / 1e6);
    return path;
}

/// arg 0: window in minutes; arg 1: maxPoints.
void BM_ChartLoad(benchmark::State &state)
{
    const QString path = historyDatabase();
    MetricsRegistry registry;
    SqlProfiler profiler(&registry);
    HistoryStoreOptions o;
    o.url = QStringLiteral("sqlite:") + path;
    o.maintenanceIntervalMs = 0;
    o.rawRetentionHours = 24 * 365 * 100; // the generated day is in the past: keep it "recent"
    HistoryStore store(o, &registry, &profiler);
    store.start();
    const qint64 window = state.range(0) * 60000;
    int metric = 0;
    qint64 points = 0;
    qint64 resolution = 0;
    for (auto _ : state) {
        SeriesQuery q;
        q.name = QStringLiteral("metric_%1").arg(++metric % kHistorySeries + 1);
        q.toMs = kHistoryBaseMs + kHistorySpanMs - 1000 - (metric % 10) * 60000;
        q.fromMs = q.toMs - window + 1000;
        q.maxPoints = int(state.range(1));
        QEventLoop loop;
        QObject context;
        QElapsedTimer t;
        t.start();
        store.loadSeries(q, &context, [&](const SeriesHistory &h) {
            if (!h.ok())
                state.SkipWithError(qPrintable(h.error));
            points = h.points.size();
            resolution = h.resolutionMs;
            loop.quit();
        });
        loop.exec();
        state.SetIterationTime(double(t.nsecsElapsed()) / 1e9);
    }
    state.counters["points"] = double(points);
    state.counters["resolution_s"] = double(resolution) / 1000;
    store.stop();
}
BENCHMARK(BM_ChartLoad)
    ->ArgNames({"window_min", "max_points"})
    ->Args({60, 4000})   // 1 h at 1 s: 3600 points
    ->Args({60, 2000})   // 1 h with the default point budget: 1-minute rollups
    ->Args({1440, 2000}) // 24 h: 1440 rollup minutes
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    if (g_rowByRowPerSecond > 0 && g_batchedPerSecond > 0)
        std::printf("batched / row-by-row: %.0f / %.0f rows/s = %.1fx\n", g_batchedPerSecond,
                    g_rowByRowPerSecond, g_batchedPerSecond / g_rowByRowPerSecond);
    return 0;
}
