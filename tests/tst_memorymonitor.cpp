#include "clock.h"
#include "liveobjects.h"
#include "memorymonitor.h"
#include "metrics.h"

#include <QElapsedTimer>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace vega;

namespace {

constexpr qint64 kStepMs = 5000; // the default sample interval
constexpr double kMiB = 1024.0 * 1024.0;
constexpr qint64 kNsPerMinute = 60'000'000'000;
constexpr double kPi = 3.14159265358979323846;

struct Leaky : Tracked<Leaky> {
    static const char *vegaTrackedName() { return "test.leaky"; }
    int payload[4] = {};
};

struct Churny : Tracked<Churny> {
    static QString vegaTrackedName() { return QStringLiteral("test.churny"); }
};

struct Ramped : Tracked<Ramped> {
    static const char *vegaTrackedName() { return "test.ramped"; }
};

struct Threaded : Tracked<Threaded> {
    static const char *vegaTrackedName() { return "test.threaded"; }
    explicit Threaded(int v = 0) : value(v) {}
    int value;
};

struct NamedByCompiler : Tracked<NamedByCompiler> {};

class Embedded {
    VEGA_TRACK_TYPE(test.embedded)
public:
    int x = 0;
};

class EmbeddedChild : public Embedded {
    VEGA_TRACK_TYPE(test.embedded_child)
};

class TrackedQObject : public QObject {
    Q_OBJECT
    VEGA_TRACK_TYPE(test.qobject)
public:
    using QObject::QObject;
};

/// Keeps a tracked type's population at a target size with real objects.
template <typename T> class Population {
public:
    void resize(size_t n)
    {
        while (m_objects.size() < n)
            m_objects.push_back(std::make_unique<T>());
        if (m_objects.size() > n)
            m_objects.resize(n);
    }
    size_t size() const { return m_objects.size(); }

private:
    std::vector<std::unique_ptr<T>> m_objects;
};

/// Real process memory moves in real time while the tests simulate minutes in microseconds
/// (and sanitizers' quarantines grow it): tests about tracked types read a flat process.
void useFlatProcess(MemoryMonitor &monitor)
{
    monitor.setSampler([] {
        ProcessMemoryReading r;
        r.rssBytes = 200 * 1024 * 1024;
        r.heapInUseBytes = 100 * 1024 * 1024;
        return r;
    });
}

/// One simulated sample interval: time moves, then the monitor samples and analyses.
void step(MemoryMonitor &monitor, ManualClock &clock)
{
    clock.advanceMs(kStepMs);
    monitor.sampleNow();
    monitor.analyseNow();
}

double minutesOf(int steps)
{
    return double(steps) * kStepMs / 60000.0;
}

const TrackedTypeStatus *typeStatus(const QList<TrackedTypeStatus> &types, const QString &name)
{
    for (const TrackedTypeStatus &t : types) {
        if (t.name == name)
            return &t;
    }
    return nullptr;
}

std::optional<LeakSuspect> suspectOf(const MemoryMonitor &monitor, const QString &name)
{
    for (const LeakSuspect &s : monitor.suspects()) {
        if (s.type == name)
            return s;
    }
    return std::nullopt;
}

QList<EngineEvent> leakEvents(MetricsRegistry &registry, const QString &source)
{
    QList<EngineEvent> out;
    const auto snapshot = registry.capture();
    for (const EngineEvent &e : snapshot->events) {
        if (e.kind == QLatin1String("leak") && e.source == source)
            out << e;
    }
    return out;
}

std::vector<TrendPoint> pointsPerMinute(const std::vector<double> &values)
{
    std::vector<TrendPoint> points;
    for (size_t i = 0; i < values.size(); ++i)
        points.push_back(TrendPoint{qint64(i) * kNsPerMinute, values[i]});
    return points;
}

/// Ordinary least squares slope per minute, to show what the outliers do to a non-robust fit.
double leastSquaresPerMinute(const std::vector<TrendPoint> &points)
{
    double mt = 0, mv = 0;
    for (const TrendPoint &p : points) {
        mt += double(p.tNs) / double(kNsPerMinute);
        mv += p.value;
    }
    mt /= double(points.size());
    mv /= double(points.size());
    double num = 0, den = 0;
    for (const TrendPoint &p : points) {
        const double t = double(p.tNs) / double(kNsPerMinute) - mt;
        num += t * (p.value - mv);
        den += t * t;
    }
    return num / den;
}

} // namespace

Q_DECLARE_METATYPE(vega::MemoryMonitorConfig)

class TestMemoryMonitor : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // ---- the statistic ----

    void theilSen_data()
    {
        QTest::addColumn<QList<double>>("values"); // one per minute
        QTest::addColumn<double>("slope");
        QTest::addColumn<double>("confidence");

        QTest::newRow("line") << QList<double>{10, 13, 16, 19, 22} << 3.0 << 1.0;
        QTest::newRow("falling") << QList<double>{9, 7, 5, 3} << -2.0 << 0.0;
        QTest::newRow("constant") << QList<double>{4, 4, 4, 4} << 0.0 << 0.5;
        // Pairwise slopes 1, 3, 2: the median is 2.
        QTest::newRow("odd pairs") << QList<double>{0, 1, 4} << 2.0 << 1.0;
        // Pairwise slopes 10, 0, 10/3, -10, 0, 10: the median is (0 + 10/3) / 2; 3 of the 4
        // untied pairs rise.
        QTest::newRow("even pairs") << QList<double>{0, 10, 0, 10} << 5.0 / 3.0 << 0.75;
    }

    void theilSen()
    {
        QFETCH(QList<double>, values);
        QFETCH(double, slope);
        QFETCH(double, confidence);
        const TrendFit fit = fitTrend(pointsPerMinute(std::vector<double>(values.cbegin(), values.cend())));
        QVERIFY(fit.valid);
        QCOMPARE(fit.samples, int(values.size()));
        QVERIFY2(std::abs(fit.slopePerMinute - slope) < 1e-9,
                 qPrintable(QString::number(fit.slopePerMinute)));
        QVERIFY2(std::abs(fit.confidence - confidence) < 1e-9, qPrintable(QString::number(fit.confidence)));
        QVERIFY(!fit.subsampled);
    }

    void theilSenIgnoresOutliers()
    {
        std::vector<double> values;
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> noise(-5, 5);
        for (int i = 0; i < 120; ++i)
            values.push_back(1000 + 3.0 * i + noise(rng));
        const std::vector<TrendPoint> clean = pointsPerMinute(values);
        // Five huge spikes, all late in the series: they drag a least-squares line upwards.
        for (int i : {100, 105, 110, 115, 119})
            values[size_t(i)] = 1e7;
        const std::vector<TrendPoint> dirty = pointsPerMinute(values);

        const double cleanSlope = fitTrend(clean).slopePerMinute;
        const TrendFit fit = fitTrend(dirty);
        QVERIFY2(std::abs(cleanSlope - 3.0) < 0.15, qPrintable(QString::number(cleanSlope)));
        QVERIFY2(std::abs(fit.slopePerMinute - cleanSlope) / cleanSlope < 0.05,
                 qPrintable(QString::number(fit.slopePerMinute)));
        // The same outliers move an ordinary least-squares slope by orders of magnitude.
        QVERIFY(leastSquaresPerMinute(dirty) > 100 * 3.0);
        QVERIFY(fit.confidence > 0.9);
    }

    void theilSenDegenerateInput()
    {
        QVERIFY(!fitTrend({}).valid);
        QVERIFY(!fitTrend({TrendPoint{0, 1}}).valid);
        // Points at one instant form no pair.
        QVERIFY(!fitTrend({TrendPoint{5, 1}, TrendPoint{5, 9}}).valid);
        // Order does not matter.
        const TrendFit shuffled =
            fitTrend({TrendPoint{2 * kNsPerMinute, 4}, TrendPoint{0, 0}, TrendPoint{kNsPerMinute, 2}});
        QVERIFY(shuffled.valid);
        QCOMPARE(shuffled.slopePerMinute, 2.0);
        QCOMPARE(shuffled.confidence, 1.0);
    }

    void theilSenSubsamplesLargeSeries()
    {
        std::vector<double> values;
        for (int i = 0; i < 1000; ++i)
            values.push_back(7.0 * i + (i % 97 == 0 ? 1e9 : 0));
        const std::vector<TrendPoint> points = pointsPerMinute(values);
        const TrendFit fit = fitTrend(points);
        QVERIFY(fit.subsampled);
        QCOMPARE(fit.samples, 1000);
        QCOMPARE(fit.used, kTrendExactLimit);
        QVERIFY2(std::abs(fit.slopePerMinute - 7.0) < 0.01, qPrintable(QString::number(fit.slopePerMinute)));
        // Deterministic: the same input gives the same answer.
        const TrendFit again = fitTrend(points);
        QCOMPARE(again.slopePerMinute, fit.slopePerMinute);
        QCOMPARE(again.confidence, fit.confidence);
        // At the limit it is still exact.
        const TrendFit exact =
            fitTrend(std::vector<TrendPoint>(points.begin(), points.begin() + kTrendExactLimit));
        QVERIFY(!exact.subsampled);
        QCOMPARE(exact.used, kTrendExactLimit);
    }

    // ---- live objects ----

    void trackedCountsCopiesAndMoves()
    {
        const qint64 base = Leaky::liveCount();
        {
            Leaky a;
            QCOMPARE(Leaky::liveCount(), base + 1);
            Leaky b(a);
            Leaky c(std::move(b));
            QCOMPARE(Leaky::liveCount(), base + 3);
            c = a; // assignment creates nothing
            QCOMPARE(Leaky::liveCount(), base + 3);
            std::vector<Leaky> many(10);
            QCOMPARE(Leaky::liveCount(), base + 13);
        }
        QCOMPARE(Leaky::liveCount(), base);
        QCOMPARE(LiveObjects::find(QStringLiteral("test.leaky")), Leaky::liveCounter());
        QCOMPARE(LiveObjects::find(QStringLiteral("test.leaky"))->name(), QStringLiteral("test.leaky"));
    }

    void trackedNames()
    {
        // Without vegaTrackedName() the compiler's spelling of the type is used.
        NamedByCompiler n;
        QVERIFY2(NamedByCompiler::liveCounter()->name().endsWith(QLatin1String("NamedByCompiler")),
                 qPrintable(NamedByCompiler::liveCounter()->name()));
        QVERIFY(!NamedByCompiler::liveCounter()->name().contains(QLatin1Char('[')));
        QCOMPARE(NamedByCompiler::liveCount(), qint64(1));

        LiveCounter *embedded = LiveObjects::counter(QStringLiteral("test.embedded"));
        LiveCounter *child = LiveObjects::counter(QStringLiteral("test.embedded_child"));
        {
            Embedded e;
            EmbeddedChild c;
            Embedded copy(e);
            QCOMPARE(embedded->live(), qint64(3)); // c is an Embedded too
            QCOMPARE(child->live(), qint64(1));
        }
        QCOMPARE(embedded->live(), qint64(0));
        QCOMPARE(child->live(), qint64(0));

        // In a QObject subclass, next to Q_OBJECT (moc must not mind it).
        LiveCounter *qobjects = LiveObjects::counter(QStringLiteral("test.qobject"));
        {
            QObject parent;
            new TrackedQObject(&parent);
            new TrackedQObject(&parent);
            QCOMPARE(qobjects->live(), qint64(2));
        }
        QCOMPARE(qobjects->live(), qint64(0));

        const QList<LiveCount> all = LiveObjects::snapshot();
        QVERIFY(std::is_sorted(all.cbegin(), all.cend(),
                               [](const LiveCount &a, const LiveCount &b) { return a.name < b.name; }));
        QVERIFY(std::any_of(all.cbegin(), all.cend(),
                            [](const LiveCount &c) { return c.name == QLatin1String("test.embedded"); }));
    }

    void explicitCounterApi()
    {
        LiveCounter *replies = LiveObjects::counter(QStringLiteral("test.http.reply"));
        QCOMPARE(LiveObjects::counter(QStringLiteral("test.http.reply")), replies);
        replies->add(5);
        replies->add(-2);
        QCOMPARE(replies->live(), qint64(3));
        replies->add(-3);
        QCOMPARE(replies->live(), qint64(0));

        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("empty type name")));
        LiveCounter *unnamed = LiveObjects::counter(QString());
        QCOMPARE(unnamed->name(), QStringLiteral("(unnamed)"));
        QVERIFY(!LiveObjects::find(QStringLiteral("test.never.registered")));
    }

    void trackedCountsExactUnderThreads()
    {
        const qint64 base = Threaded::liveCount();
        constexpr int kThreads = 4;
        constexpr int kKeptPerThread = 25000;
        constexpr int kChurnPerThread = 100000;
        std::vector<std::vector<Threaded>> kept(kThreads);
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&kept, t] {
                std::vector<Threaded> &mine = kept[size_t(t)];
                mine.reserve(kKeptPerThread);
                for (int i = 0; i < kChurnPerThread; ++i) {
                    Threaded temporary(i);
                    Threaded copy(temporary);
                    if (i % 4 == 0)
                        mine.push_back(std::move(copy));
                }
            });
        }
        for (std::thread &th : threads)
            th.join();
        QCOMPARE(Threaded::liveCount(), base + kThreads * kKeptPerThread);

        // Destroy from other threads than the ones that created them.
        threads.clear();
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&kept, t] { kept[size_t((t + 1) % kThreads)].clear(); });
        for (std::thread &th : threads)
            th.join();
        QCOMPARE(Threaded::liveCount(), base);
    }

    // ---- the monitor ----

    void leakingTypeIsFlagged()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        useFlatProcess(monitor);
        std::mt19937 rng(42);
        std::uniform_real_distribution<double> load(95, 105);
        monitor.setWorkloadSignal([&]() -> std::optional<double> { return load(rng); });
        QSignalSpy raised(&monitor, &MemoryMonitor::suspectRaised);

        Population<Leaky> leaked;
        Population<Leaky> churn; // short-lived objects on top: noise
        std::uniform_int_distribution<int> churnSize(0, 30);
        const double perMinute = 50;
        const int windowSteps = int(monitor.config().windowSeconds * 1000 / kStepMs);
        int steps = 0;
        monitor.sampleNow();
        while (raised.isEmpty() && steps < windowSteps) {
            ++steps;
            leaked.resize(size_t(perMinute * minutesOf(steps)));
            churn.resize(size_t(churnSize(rng)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 1);
        // It must have grown for the configured five minutes first.
        QVERIFY2(minutesOf(steps) >= 5.0, qPrintable(QString::number(minutesOf(steps))));

        const LeakSuspect s = raised.at(0).at(0).value<LeakSuspect>();
        QCOMPARE(s.type, QStringLiteral("test.leaky"));
        QCOMPARE(s.kind, MemorySeriesKind::TrackedType);
        QVERIFY2(std::abs(s.growthPerMinute - perMinute) / perMinute < 0.10,
                 qPrintable(QString::number(s.growthPerMinute)));
        QVERIFY(s.confidence >= 0.9);
        QCOMPARE(qint64(s.current), Leaky::liveCount());
        QVERIFY(s.raisedWallMs - s.firstSeenWallMs >= 5 * 60 * 1000);
        QCOMPARE(s.raisedWallMs, registry.wallNowMs());

        const std::optional<LeakSuspect> listed = suspectOf(monitor, QStringLiteral("test.leaky"));
        QVERIFY(listed);
        const QList<TrackedTypeStatus> types = monitor.trackedTypes();
        const TrackedTypeStatus *status = typeStatus(types, QStringLiteral("test.leaky"));
        QVERIFY(status);
        QCOMPARE(status->trend, Trend::Growing);
        QVERIFY(status->suspect);
        QCOMPARE(status->live, Leaky::liveCount());
        QVERIFY(monitor.summary().workloadKnown);
        QVERIFY(monitor.summary().workloadSteady);

        // The journal has it, and the metrics.
        const QList<EngineEvent> events = leakEvents(registry, QStringLiteral("test.leaky"));
        QCOMPARE(events.size(), 1);
        QVERIFY2(events.first().message.startsWith(QLatin1String("Live test.leaky objects grow 5")),
                 qPrintable(events.first().message));
        QVERIFY(events.first().message.contains(QLatin1String("/min (confidence 0.")));
        QVERIFY(events.first().message.contains(QLatin1String("for 5")));
        const auto snapshot = registry.capture();
        const MetricSnapshot *gauge = snapshot->find(
            QStringLiteral("live_objects"), {{QStringLiteral("type"), QStringLiteral("test.leaky")}});
        QVERIFY(gauge);
        QCOMPARE(gauge->value, double(Leaky::liveCount()));
        QVERIFY(snapshot->find(QStringLiteral("memory_leak_suspects"))->value >= 1);

        // Growing further raises nothing new: one suspect per stretch.
        for (int i = 0; i < 12; ++i) {
            ++steps;
            leaked.resize(size_t(perMinute * minutesOf(steps)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 1);
    }

    void suspectClearsWhenGrowthStops()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        useFlatProcess(monitor);
        QSignalSpy raised(&monitor, &MemoryMonitor::suspectRaised);
        QSignalSpy cleared(&monitor, &MemoryMonitor::suspectCleared);

        Population<Leaky> leaked;
        int steps = 0;
        monitor.sampleNow();
        while (raised.isEmpty() && steps < 200) {
            ++steps;
            leaked.resize(size_t(120 * minutesOf(steps)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 1);
        const size_t plateau = leaked.size();

        // Growth stops; the count stays where it is (with a little churn).
        int flatSteps = 0;
        while (cleared.isEmpty() && flatSteps < 200) {
            ++flatSteps;
            leaked.resize(plateau + size_t(flatSteps % 3));
            step(monitor, clock);
        }
        QCOMPARE(cleared.size(), 1);
        // Within one window of the stop.
        QVERIFY2(minutesOf(flatSteps) <= 10.0, qPrintable(QString::number(minutesOf(flatSteps))));
        const LeakSuspect s = cleared.at(0).at(0).value<LeakSuspect>();
        QCOMPARE(s.type, QStringLiteral("test.leaky"));
        QVERIFY(s.clearedWallMs > s.raisedWallMs);
        QVERIFY(!suspectOf(monitor, QStringLiteral("test.leaky")));

        const QList<EngineEvent> events = leakEvents(registry, QStringLiteral("test.leaky"));
        QCOMPARE(events.size(), 2);
        QVERIFY(events.at(0).message.contains(QLatin1String("objects grow 120/min")));
        QVERIFY2(events.at(1).message.contains(QLatin1String("no longer grow")),
                 qPrintable(events.at(1).message));
        QCOMPARE(registry.capture()->find(QStringLiteral("memory_leak_suspects"))->value, 0.0);

        // Still flat a window later: nothing is raised again.
        for (int i = 0; i < 150; ++i)
            step(monitor, clock);
        QCOMPARE(raised.size(), 1);
    }

    void steadyChurnRaisesNoSuspect()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        useFlatProcess(monitor);
        QSignalSpy raised(&monitor, &MemoryMonitor::suspectRaised);

        Population<Churny> live;
        std::mt19937 rng(1234);
        std::uniform_real_distribution<double> noise(-20, 20);
        monitor.sampleNow();
        for (int i = 1; i <= 360; ++i) { // 30 simulated minutes
            const double wave = 40 * std::sin(2 * kPi * minutesOf(i) / 3.0);
            live.resize(size_t(500 + wave + noise(rng)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 0);
        QVERIFY(monitor.suspects().isEmpty());
        const QList<TrackedTypeStatus> types = monitor.trackedTypes();
        const TrackedTypeStatus *status = typeStatus(types, QStringLiteral("test.churny"));
        QVERIFY(status);
        QVERIFY(status->trend != Trend::Growing);
        QVERIFY2(std::abs(status->slopePerMinute) < 10, qPrintable(QString::number(status->slopePerMinute)));
        QVERIFY(leakEvents(registry, QStringLiteral("test.churny")).isEmpty());
    }

    void growingHeapIsFlagged()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        QSignalSpy raised(&monitor, &MemoryMonitor::suspectRaised);

        const qint64 startNs = clock.nowNs();
        std::mt19937 rng(99);
        std::uniform_real_distribution<double> noise(-256 * 1024, 256 * 1024);
        const double perMinute = 2 * kMiB;
        qint64 lastHeap = 0;
        monitor.setSampler([&] {
            const double minutes = double(clock.nowNs() - startNs) / double(kNsPerMinute);
            ProcessMemoryReading r;
            lastHeap = qint64(50 * kMiB + perMinute * minutes + noise(rng));
            r.heapInUseBytes = lastHeap;
            r.rssBytes = qint64(80 * kMiB + noise(rng)); // flat
            return r;
        });
        monitor.sampleNow();
        for (int i = 0; i < 120 && raised.isEmpty(); ++i)
            step(monitor, clock);

        QCOMPARE(raised.size(), 1);
        const LeakSuspect s = raised.at(0).at(0).value<LeakSuspect>();
        QCOMPARE(s.type, QStringLiteral("heap_in_use"));
        QCOMPARE(s.kind, MemorySeriesKind::Heap);
        QCOMPARE(s.unit, Unit::Bytes);
        QVERIFY2(std::abs(s.growthPerMinute - perMinute) / perMinute < 0.10,
                 qPrintable(QString::number(s.growthPerMinute)));
        QVERIFY(!suspectOf(monitor, QStringLiteral("process_rss")));

        const MemorySummary summary = monitor.summary();
        QVERIFY(summary.heap.available);
        QCOMPARE(summary.heap.bytes, lastHeap);
        QCOMPARE(summary.heap.trend, Trend::Growing);
        QVERIFY(summary.heap.suspect);
        QVERIFY(summary.rss.available);
        QVERIFY(summary.rss.trend != Trend::Growing);

        const auto snapshot = registry.capture();
        const MetricSnapshot *heap = snapshot->find(QStringLiteral("heap_in_use"));
        QVERIFY(heap);
        QCOMPARE(heap->unit, Unit::Bytes);
        QCOMPARE(heap->value, double(lastHeap));
        QVERIFY(snapshot->find(QStringLiteral("process_rss")));
        const QList<EngineEvent> events = leakEvents(registry, QStringLiteral("heap_in_use"));
        QCOMPARE(events.size(), 1);
        QVERIFY2(events.first().message.startsWith(QLatin1String("Heap in use grows 2.0 MiB/min")),
                 qPrintable(events.first().message));
    }

    void unavailableHeapIsNeverFaked()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        monitor.setSampler([] {
            ProcessMemoryReading r;
            r.rssBytes = 1000;
            r.heapUnavailableReason = QStringLiteral("heap statistics need glibc");
            return r;
        });
        for (int i = 0; i < 20; ++i)
            step(monitor, clock);
        const MemorySummary summary = monitor.summary();
        QVERIFY(!summary.heap.available);
        QCOMPARE(summary.heap.unavailableReason, QStringLiteral("heap statistics need glibc"));
        QCOMPARE(summary.heap.trend, Trend::Unknown);
        QVERIFY(summary.rss.available);
        const auto snapshot = registry.capture();
        QVERIFY(!snapshot->find(QStringLiteral("heap_in_use")));
        QCOMPARE(snapshot->find(QStringLiteral("process_rss"))->value, 1000.0);
    }

    void realHeapGrowthIsMeasured()
    {
        MetricsRegistry registry;
        MemoryMonitor monitor(&registry);
        monitor.sampleNow();
        MemorySummary before = monitor.summary();
        if (!before.heap.available)
            QSKIP(
                qPrintable(QStringLiteral("heap in use unavailable here: ") + before.heap.unavailableReason));
        QVERIFY(before.heap.bytes > 0);

        constexpr size_t kBlock = 1 << 20;
        std::vector<std::unique_ptr<char[]>> blocks;
        qint64 previous = before.heap.bytes;
        for (int i = 1; i <= 64; ++i) {
            blocks.push_back(std::make_unique<char[]>(kBlock));
            std::memset(blocks.back().get(), i, kBlock); // resident, not just reserved
            if (i % 8 == 0) {
                monitor.sampleNow();
                const qint64 now = monitor.summary().heap.bytes;
                QVERIFY2(now > previous, qPrintable(QStringLiteral("%1 -> %2").arg(previous).arg(now)));
                previous = now;
            }
        }
        const MemorySummary after = monitor.summary();
        const double heapGrowth = double(after.heap.bytes - before.heap.bytes);
        QVERIFY2(heapGrowth >= 60 * kMiB, qPrintable(QString::number(heapGrowth / kMiB)));
        QCOMPARE(registry.capture()->find(QStringLiteral("heap_in_use"))->value, double(after.heap.bytes));
        if (before.rss.available) {
            const double rssGrowth = double(after.rss.bytes - before.rss.bytes);
            QVERIFY2(rssGrowth >= 32 * kMiB, qPrintable(QString::number(rssGrowth / kMiB)));
        }

        blocks.clear();
        monitor.sampleNow();
        QVERIFY2(monitor.summary().heap.bytes < after.heap.bytes - qint64(56 * kMiB),
                 qPrintable(QString::number(double(monitor.summary().heap.bytes) / kMiB)));
    }

    void rampingWorkloadSuppressesSuspect()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        useFlatProcess(monitor);
        QSignalSpy raised(&monitor, &MemoryMonitor::suspectRaised);

        // Requests per second ramp up by 20 per minute from 100; the objects follow the load.
        const qint64 startNs = clock.nowNs();
        const auto minutes = [&] { return double(clock.nowNs() - startNs) / double(kNsPerMinute); };
        monitor.setWorkloadSignal([&]() -> std::optional<double> { return 100 + 20 * minutes(); });
        Population<Ramped> live;
        monitor.sampleNow();
        for (int i = 1; i <= 180; ++i) { // 15 simulated minutes
            live.resize(size_t(50 * minutesOf(i)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 0);
        const MemorySummary summary = monitor.summary();
        QVERIFY(summary.workloadKnown);
        QVERIFY(!summary.workloadSteady);
        QVERIFY(summary.workloadDriftPerMinute > 0.02);
        // The type is growing, it is just not a suspect.
        const TrackedTypeStatus *status = typeStatus(summary.types, QStringLiteral("test.ramped"));
        QVERIFY(status);
        QCOMPARE(status->trend, Trend::Growing);
        QVERIFY(!status->suspect);

        // Once the load levels off the same growth becomes a suspect.
        const double plateau = 100 + 20 * minutes();
        monitor.setWorkloadSignal([plateau]() -> std::optional<double> { return plateau; });
        for (int i = 181; i <= 181 + 150 && raised.isEmpty(); ++i) {
            live.resize(size_t(50 * minutesOf(i)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 1);
        QCOMPARE(raised.at(0).at(0).value<LeakSuspect>().type, QStringLiteral("test.ramped"));
    }

    void typeThresholdOverridesDefault()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        useFlatProcess(monitor);
        QVERIFY(monitor.setTypeThreshold(QStringLiteral("test.leaky"), 100));
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("test.leaky: threshold -1")));
        QVERIFY(!monitor.setTypeThreshold(QStringLiteral("test.leaky"), -1));
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("empty type name")));
        QVERIFY(!monitor.setTypeThreshold(QString(), 5));

        QSignalSpy raised(&monitor, &MemoryMonitor::suspectRaised);
        Population<Leaky> leaked;
        monitor.sampleNow();
        for (int i = 1; i <= 150; ++i) {
            leaked.resize(size_t(50 * minutesOf(i)));
            step(monitor, clock);
        }
        QCOMPARE(raised.size(), 0);
        const QList<TrackedTypeStatus> types = monitor.trackedTypes();
        const TrackedTypeStatus *status = typeStatus(types, QStringLiteral("test.leaky"));
        QVERIFY(status);
        QCOMPARE(status->thresholdPerMinute, 100.0);
        QCOMPARE(status->trend, Trend::Growing);
    }

    void cleanupHooks()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        int coalescerRuns = 0;
        QVERIFY(monitor.addCleanup(QStringLiteral("coalescer_entries"), [&] {
            ++coalescerRuns;
            return 3;
        }));
        QVERIFY(monitor.addCleanup(QStringLiteral("idle_connections"), [] { return 0; }));
        QVERIFY(
            monitor.addCleanup(QStringLiteral("broken"), []() -> int { throw std::runtime_error("boom"); }));
        QVERIFY(monitor.addCleanup(QStringLiteral("negative"), [] { return -4; }));

        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(QStringLiteral("coalescer_entries: already registered")));
        QVERIFY(!monitor.addCleanup(QStringLiteral("coalescer_entries"), [] { return 1; }));
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("addCleanup: empty name")));
        QVERIFY(!monitor.addCleanup(QStringLiteral("  "), [] { return 1; }));
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("streams: no function")));
        QVERIFY(!monitor.addCleanup(QStringLiteral("streams"), {}));

        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("cleanup broken failed: boom")));
        QTest::ignoreMessage(QtWarningMsg,
                             QRegularExpression(QStringLiteral("cleanup negative returned -4")));
        QCOMPARE(monitor.runCleanupNow(), 3);
        QCOMPARE(coalescerRuns, 1);

        QVERIFY(monitor.removeCleanup(QStringLiteral("broken")));
        QVERIFY(monitor.removeCleanup(QStringLiteral("negative")));
        QVERIFY(!monitor.removeCleanup(QStringLiteral("broken")));
        QCOMPARE(monitor.cleanupNames(),
                 QStringList({QStringLiteral("coalescer_entries"), QStringLiteral("idle_connections")}));
        QCOMPARE(monitor.runCleanupNow(), 3);

        const auto snapshot = registry.capture();
        const MetricSnapshot *released =
            snapshot->find(QStringLiteral("memory_cleanup_released"),
                           {{QStringLiteral("what"), QStringLiteral("coalescer_entries")}});
        QVERIFY(released);
        QCOMPARE(released->total, quint64(6));
        QCOMPARE(snapshot
                     ->find(QStringLiteral("memory_cleanup_released"),
                            {{QStringLiteral("what"), QStringLiteral("idle_connections")}})
                     ->total,
                 quint64(0));
    }

    void freeHeapIsHandedBack()
    {
        // 32 MiB in small blocks, all freed but the last: glibc keeps the freed run below the
        // block still in use resident (free() only trims the top of the heap), which is how
        // RSS drifts above the heap in use. releaseFreeHeapNow() gives those pages back.
        MetricsRegistry registry;
        MemoryMonitorConfig config;
        config.cleanupIntervalMs = 100;
        MemoryMonitor monitor(&registry, config);
        monitor.sampleNow();
        if (!monitor.summary().rss.available)
            QSKIP("resident memory is unavailable here");
        if (monitor.releaseFreeHeapNow() < 0)
            QSKIP("releasing free heap needs glibc's allocator (not ASan's)");

        constexpr size_t kBlock = 512; // above the fastbin sizes: freed blocks coalesce
        constexpr size_t kCount = 64 * 1024;
        std::vector<char *> blocks;
        blocks.reserve(kCount);
        for (size_t i = 0; i < kCount; ++i) {
            blocks.push_back(static_cast<char *>(std::malloc(kBlock)));
            QVERIFY(blocks.back());
            std::memset(blocks.back(), int(i), kBlock); // resident
        }
        char *keep = static_cast<char *>(std::malloc(kBlock)); // pins the top of the heap
        QVERIFY(keep);
        keep[0] = 1;
        for (char *b : blocks)
            std::free(b);
        blocks.clear();

        monitor.sampleNow();
        const qint64 beforeRss = monitor.summary().rss.bytes;
        const qint64 released = monitor.releaseFreeHeapNow();
        monitor.sampleNow();
        const qint64 afterRss = monitor.summary().rss.bytes;
        std::free(keep);
        QVERIFY2(released >= qint64(24 * kMiB), qPrintable(QString::number(double(released) / kMiB)));
        QVERIFY2(afterRss <= beforeRss - qint64(24 * kMiB),
                 qPrintable(QStringLiteral("%1 -> %2 MiB").arg(double(beforeRss) / kMiB).arg(double(afterRss) / kMiB)));
        const auto snapshot = registry.capture();
        QVERIFY(snapshot->find(QStringLiteral("memory_heap_released"))->total >= quint64(released));
        QVERIFY(snapshot->find(QStringLiteral("memory_heap_release_duration"))->summary.count >= 2);

        // The cleanup timer does it too, after the hooks, unless it is turned off.
        monitor.start();
        QTRY_VERIFY_WITH_TIMEOUT(registry.capture()->find(QStringLiteral("memory_heap_release_duration"))
                                         ->summary.count >= 4,
                                 5000);
        monitor.stop();

        MetricsRegistry quietRegistry;
        config.releaseFreeHeap = false;
        MemoryMonitor quiet(&quietRegistry, config);
        quiet.start();
        QTest::qWait(350);
        quiet.stop();
        QCOMPARE(quietRegistry.capture()->find(QStringLiteral("memory_heap_release_duration"))->summary.count,
                 quint64(0));
    }

    void timersSampleAndClean()
    {
        MetricsRegistry registry;
        MemoryMonitorConfig config;
        config.sampleIntervalMs = 100;
        config.analysisIntervalMs = 100;
        config.cleanupIntervalMs = 100;
        MemoryMonitor monitor(&registry, config);
        int runs = 0;
        QVERIFY(monitor.addCleanup(QStringLiteral("orphaned_streams"), [&] {
            ++runs;
            return 1;
        }));
        QVERIFY(!monitor.isRunning());
        monitor.start();
        QVERIFY(monitor.isRunning());
        QVERIFY(monitor.summary().sampleWallMs > 0); // the first sample is immediate
        QTRY_VERIFY_WITH_TIMEOUT(runs >= 2 && monitor.summary().samplesInWindow >= 3, 10000);
        monitor.stop();
        QVERIFY(!monitor.isRunning());
        const int after = runs;
        QTest::qWait(300);
        QCOMPARE(runs, after);
        QVERIFY(registry.capture()
                    ->find(QStringLiteral("memory_cleanup_released"),
                           {{QStringLiteral("what"), QStringLiteral("orphaned_streams")}})
                    ->total >= 2);
    }

    void samplingIsCheap()
    {
        // Many tracked types, as in a busy engine.
        std::vector<LiveCounter *> counters;
        for (int i = 0; i < 50; ++i)
            counters.push_back(LiveObjects::counter(QStringLiteral("test.cost.%1").arg(i)));
        ManualClock clock;
        MetricsRegistry registry(&clock);
        MemoryMonitor monitor(&registry, MemoryMonitorConfig{}, &clock);
        std::vector<qint64> durations;
        for (int i = 0; i < 200; ++i) {
            for (LiveCounter *c : counters)
                c->add(i % 7);
            clock.advanceMs(kStepMs);
            monitor.sampleNow();
            durations.push_back(monitor.summary().lastSampleDurationNs);
        }
        std::sort(durations.begin(), durations.end());
        const qint64 medianNs = durations[durations.size() / 2];
        qInfo("median sample: %.1f us", double(medianNs) / 1000.0);
        // The aim is a few hundred microseconds; the bound leaves room for a loaded machine
        // and sanitizers.
        QVERIFY2(medianNs < 5'000'000, qPrintable(QString::number(medianNs)));
        QCOMPARE(registry.capture()->find(QStringLiteral("memory_sample_duration"))->summary.count,
                 quint64(200));
        // The window bounds the history: 10 minutes of 5 s samples (+1 for the boundary).
        QCOMPARE(monitor.summary().samplesInWindow, 121);

        // A full analysis of 50 moving series of 121 points each (O(n²) per series).
        QElapsedTimer analysis;
        analysis.start();
        monitor.analyseNow();
        const qint64 analysisNs = analysis.nsecsElapsed();
        qInfo("analysis of %d series: %.2f ms", int(counters.size()), double(analysisNs) / 1e6);
        QVERIFY2(analysisNs < 1'000'000'000, qPrintable(QString::number(analysisNs)));
        const QList<TrackedTypeStatus> types = monitor.trackedTypes();
        const TrackedTypeStatus *cost = typeStatus(types, QStringLiteral("test.cost.0"));
        QVERIFY(cost);
        QCOMPARE(cost->trend, Trend::Growing);
        for (LiveCounter *c : counters)
            c->add(-c->live());
    }

    void configValidation_data()
    {
        QTest::addColumn<MemoryMonitorConfig>("config");
        QTest::addColumn<QString>("problem");
        MemoryMonitorConfig c;
        c.sampleIntervalMs = 10;
        QTest::newRow("sample interval")
            << c << QStringLiteral("memory.sample_interval_ms: 10 is below the minimum of 100");
        c = {};
        c.windowSeconds = 5;
        QTest::newRow("window") << c << QStringLiteral("memory.window_seconds: 5 is below the minimum of 30");
        c = {};
        c.confidence = 0.4;
        QTest::newRow("confidence") << c
                                    << QStringLiteral(
                                           "memory.confidence: 0.4 must be above 0.5 and at most 1");
        c = {};
        c.heapBytesPerMinute = std::nan("");
        QTest::newRow("nan threshold")
            << c << QStringLiteral("memory.heap_bytes_per_minute: nan must be a positive number");
        c = {};
        c.objectsPerMinute = 0;
        QTest::newRow("zero threshold")
            << c << QStringLiteral("memory.objects_per_minute: 0 must be a positive number");
        c = {};
        c.windowSeconds = 30;
        c.sampleIntervalMs = 10000;
        QTest::newRow("min samples") << c
                                     << QStringLiteral(
                                            "memory.min_samples: 12 samples never fit in a window of 30 s "
                                            "sampled every 10000 ms (at most 4)");
    }

    void configValidation()
    {
        QFETCH(MemoryMonitorConfig, config);
        QFETCH(QString, problem);
        QVERIFY(MemoryMonitorConfig{}.validate().isEmpty());
        const QStringList problems = config.validate();
        QVERIFY2(problems.contains(problem), qPrintable(problems.join(QLatin1Char('\n'))));
        QVERIFY2(config.sanitized().validate().isEmpty(),
                 qPrintable(config.sanitized().validate().join(QLatin1Char('\n'))));

        MetricsRegistry registry;
        QTest::ignoreMessage(QtWarningMsg, qPrintable(problem + QStringLiteral(" - using the default")));
        MemoryMonitor monitor(&registry, config);
        QVERIFY(monitor.config().validate().isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestMemoryMonitor)
#include "tst_memorymonitor.moc"
