// Cost of recording into a histogram and of publishing a snapshot of 500 metrics.
#include "histogram.h"
#include "metrics.h"

#include <benchmark/benchmark.h>

#include <random>

namespace {

void BM_HistogramRecord(benchmark::State &state)
{
    vega::Histogram h;
    std::mt19937_64 rng(1);
    std::lognormal_distribution<double> dist(13.0, 1.0);
    std::vector<qint64> values(4096);
    for (auto &v : values)
        v = qint64(dist(rng));
    size_t i = 0;
    for (auto _ : state) {
        h.record(values[i++ & 4095]);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

void BM_HistogramRecordContended(benchmark::State &state)
{
    static vega::Histogram shared;
    qint64 v = 1000 + state.thread_index();
    for (auto _ : state) {
        shared.record(v);
        v = (v * 7 + 13) % 100000000;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecordContended)->Threads(2);

void BM_CounterInc(benchmark::State &state)
{
    vega::MetricsRegistry registry;
    vega::Counter *c = registry.counter(QStringLiteral("requests"));
    for (auto _ : state)
        c->inc();
    benchmark::DoNotOptimize(c->total());
}
BENCHMARK(BM_CounterInc);

// 500 metrics: 300 counters, 150 gauges, 50 histograms, with full 1 h series (steady state).
void BM_Snapshot500Metrics(benchmark::State &state)
{
    vega::ManualClock clock;
    vega::MetricsRegistry registry(&clock, 3600);
    std::vector<vega::Counter *> counters;
    std::vector<vega::Gauge *> gauges;
    std::vector<vega::Histogram *> histograms;
    for (int i = 0; i < 300; ++i)
        counters.push_back(registry.counter(QStringLiteral("counter"), {{QStringLiteral("i"), QString::number(i)}}));
    for (int i = 0; i < 150; ++i)
        gauges.push_back(registry.gauge(QStringLiteral("gauge"), {{QStringLiteral("i"), QString::number(i)}}));
    for (int i = 0; i < 50; ++i)
        histograms.push_back(registry.histogram(QStringLiteral("latency"), {{QStringLiteral("i"), QString::number(i)}}));
    auto feed = [&](int round) {
        for (auto *c : counters)
            c->inc(3);
        for (auto *g : gauges)
            g->set(round);
        for (auto *h : histograms)
            for (int k = 0; k < 20; ++k)
                h->record(1000 + k * 997 + round);
        clock.advanceMs(1000);
    };
    for (int round = 0; round < 3600; ++round) { // fill every series to capacity
        feed(round);
        registry.capture();
    }
    std::shared_ptr<const vega::MetricsSnapshot> previous;
    int round = 0;
    for (auto _ : state) {
        state.PauseTiming();
        feed(round++);
        state.ResumeTiming();
        // Keep the previous snapshot alive, as the UI does, so copy-on-write is exercised.
        previous = registry.capture();
        benchmark::DoNotOptimize(previous.get());
    }
    state.counters["metrics"] = double(registry.metricCount());
}
BENCHMARK(BM_Snapshot500Metrics)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
