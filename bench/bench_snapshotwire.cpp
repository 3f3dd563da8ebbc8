// What one watched agent costs: serialising a demo engine's snapshot for the stream (on the
// agent's admin API thread) and reading it back in the console (on its GUI thread), with and
// without chart points, and the message sizes.
#include "engine.h"
#include "snapshotjson.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QThread>

#include <benchmark/benchmark.h>

#include <limits>

namespace {

/// A demo engine run for a while, so pools, breakers, integrations and series are filled.
const vega::Snapshot &demoSnapshot()
{
    static vega::SnapshotPtr snapshot = [] {
        static QTemporaryDir dir;
        vega::EngineOptions options;
        options.demo = true;
        options.dataDir = dir.path();
        vega::Engine engine(vega::EngineConfig{}, options);
        engine.start();
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 20000) {
            QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
            QThread::msleep(5);
        }
        vega::SnapshotPtr s = engine.publishNow();
        engine.stop();
        return s;
    }();
    return *snapshot;
}

QByteArray wireBytes(qint64 seriesSinceMs)
{
    vega::SnapshotWireOptions options;
    options.seriesSinceMs = seriesSinceMs;
    return QJsonDocument(vega::snapshotToWire(demoSnapshot(), options)).toJson(QJsonDocument::Compact);
}

/// Agent side, every second per console: the snapshot as the stream sends it (no points).
void BM_AgentSerialise(benchmark::State &state)
{
    const vega::Snapshot &s = demoSnapshot();
    qint64 bytes = 0;
    for (auto _ : state) {
        const QByteArray out = QJsonDocument(vega::snapshotToWire(s)).toJson(QJsonDocument::Compact);
        bytes = out.size();
        benchmark::DoNotOptimize(out.data());
    }
    state.counters["message_bytes"] = double(bytes);
    state.counters["metrics"] = double(s.metrics->metrics.size());
}
BENCHMARK(BM_AgentSerialise)->Unit(benchmark::kMillisecond);

/// Console side, every second per agent: parse the message and rebuild the snapshot,
/// continuing the previous one's series.
void BM_ConsoleReadContinuing(benchmark::State &state)
{
    const QByteArray message = wireBytes(std::numeric_limits<qint64>::max());
    QString error;
    const vega::SnapshotPtr previous = vega::snapshotFromWire(
        QJsonDocument::fromJson(wireBytes(std::numeric_limits<qint64>::min())).object(), nullptr, 3600, &error);
    if (!previous) {
        state.SkipWithError(qPrintable(error));
        return;
    }
    for (auto _ : state) {
        const QJsonObject wire = QJsonDocument::fromJson(message).object();
        vega::SnapshotPtr next = vega::snapshotFromWire(wire, previous.get(), 3600, &error);
        benchmark::DoNotOptimize(next.get());
    }
    state.counters["message_bytes"] = double(message.size());
}
BENCHMARK(BM_ConsoleReadContinuing)->Unit(benchmark::kMillisecond);

/// Console side, once per connection: the first message, with every point held.
void BM_ConsoleReadFirst(benchmark::State &state)
{
    const QByteArray message = wireBytes(std::numeric_limits<qint64>::min());
    QString error;
    for (auto _ : state) {
        const QJsonObject wire = QJsonDocument::fromJson(message).object();
        vega::SnapshotPtr first = vega::snapshotFromWire(wire, nullptr, 3600, &error);
        benchmark::DoNotOptimize(first.get());
    }
    state.counters["message_bytes"] = double(message.size());
}
BENCHMARK(BM_ConsoleReadFirst)->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    demoSnapshot(); // outside the timings
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
