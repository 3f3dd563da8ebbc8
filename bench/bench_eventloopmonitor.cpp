// What the event loop monitor costs.
//
// BM_IdleLoop runs an idle QCoreApplication event loop for a fixed wall time, without
// (monitor:0) and with (monitor:1) the monitor at its default 10 ms interval, and reports the
// process CPU time (every thread, watchdog included) as a percentage of one core, plus
// voluntary context switches per second. The monitor's cost is the difference between the two;
// BM_IdleLoopPlainTimer shows how much of it any 10 ms timer costs.
//
// BM_PostedEvents measures the per-event cost on a busy loop, where the monitor sees every
// dispatcher signal and, on the main thread, every event.
#include "config.h"
#include "eventloopmonitor.h"
#include "metrics.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <memory>

namespace {

constexpr int kIdleRunMs = 2500;
constexpr int kEventsPerIteration = 20000;

double processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

double wallSeconds()
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

long voluntaryContextSwitches()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_nvcsw;
}

std::unique_ptr<vega::EventLoopMonitor> startMonitor(vega::MetricsRegistry *registry, bool enabled)
{
    if (!enabled)
        return nullptr;
    auto monitor = std::make_unique<vega::EventLoopMonitor>(registry, vega::EventLoopConfig{});
    monitor->start();
    return monitor;
}

/// Runs an idle event loop for kIdleRunMs per iteration; reports CPU per wall time.
void runIdleLoop(benchmark::State &state)
{
    double cpu = 0;
    double wall = 0;
    long switches = 0;
    for (auto _ : state) {
        QEventLoop loop;
        QTimer quit;
        quit.setTimerType(Qt::PreciseTimer);
        quit.setSingleShot(true);
        QObject::connect(&quit, &QTimer::timeout, &loop, &QEventLoop::quit);
        quit.start(kIdleRunMs);
        const double cpu0 = processCpuSeconds();
        const double wall0 = wallSeconds();
        const long switches0 = voluntaryContextSwitches();
        loop.exec();
        const double elapsed = wallSeconds() - wall0;
        cpu += processCpuSeconds() - cpu0;
        switches += voluntaryContextSwitches() - switches0;
        wall += elapsed;
        state.SetIterationTime(elapsed);
    }
    state.counters["cpu_percent_of_one_core"] = 100.0 * cpu / wall;
    state.counters["cpu_us_per_second"] = 1e6 * cpu / wall;
    state.counters["context_switches_per_second"] = double(switches) / wall;
}

void BM_IdleLoop(benchmark::State &state)
{
    vega::MetricsRegistry registry;
    const auto monitor = startMonitor(&registry, state.range(0) != 0);
    runIdleLoop(state);
    if (monitor) {
        const vega::EventLoopSummary s = monitor->summary();
        const double seconds = double(state.iterations()) * kIdleRunMs / 1000.0;
        state.counters["ticks_per_second"] = double(s.lagNs.count) / seconds;
        state.counters["lag_p50_us"] = s.lagNs.p50 / 1e3;
        state.counters["lag_p99_us"] = s.lagNs.p99 / 1e3;
        state.counters["stalls"] = double(s.stallsOver100ms);
    }
}
BENCHMARK(BM_IdleLoop)
    ->ArgName("monitor")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(3)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The floor for any 10 ms tick: an empty precise timer, to tell the monitor's own work apart
// from the cost of waking the loop 100 times a second.
void BM_IdleLoopPlainTimer(benchmark::State &state)
{
    QTimer timer;
    timer.setTimerType(Qt::PreciseTimer);
    timer.setInterval(vega::EventLoopConfig{}.intervalMs);
    QObject::connect(&timer, &QTimer::timeout, &timer, [] {});
    timer.start();
    runIdleLoop(state);
}
BENCHMARK(BM_IdleLoopPlainTimer)->Iterations(3)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_PostedEvents(benchmark::State &state)
{
    vega::MetricsRegistry registry;
    const auto monitor = startMonitor(&registry, state.range(0) != 0);
    QObject context;
    long delivered = 0;
    for (auto _ : state) {
        QEventLoop loop;
        for (int i = 0; i < kEventsPerIteration; ++i)
            QMetaObject::invokeMethod(
                &context, [&delivered] { ++delivered; }, Qt::QueuedConnection);
        QMetaObject::invokeMethod(&loop, &QEventLoop::quit, Qt::QueuedConnection);
        loop.exec();
    }
    benchmark::DoNotOptimize(delivered);
    state.SetItemsProcessed(int64_t(state.iterations()) * kEventsPerIteration);
}
BENCHMARK(BM_PostedEvents)->ArgName("monitor")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    QCoreApplication app(argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
