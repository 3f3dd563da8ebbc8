// Response cache: cost per operation, and hit ratio on a skewed trace against plain LRU and
// the ideal. Hit-ratio benchmarks run once (Iterations(1)) and report counters.
//
//   ninja -C build/h-cache-rel bench_cache && build/h-cache-rel/bench/bench_cache
#include "clock.h"
#include "responsecache.h"

#include <benchmark/benchmark.h>

#include <QHashFunctions>

#include <algorithm>
#include <cmath>
#include <list>
#include <random>
#include <unordered_map>
#include <vector>

namespace {

QByteArray benchKey(int i)
{
    return QByteArrayLiteral("GET https://bench.example/api/items/") + QByteArray::number(i);
}

std::vector<QByteArray> makeKeys(int n)
{
    std::vector<QByteArray> keys;
    keys.reserve(size_t(n));
    for (int i = 0; i < n; ++i)
        keys.push_back(benchKey(i));
    return keys;
}

vega::CachedResponse benchResponse()
{
    static const QByteArray body(512, 'x'); // shared: put() stores a reference, not a copy
    vega::CachedResponse r;
    r.status = 200;
    r.headers = {{QByteArrayLiteral("Content-Type"), QByteArrayLiteral("application/json")}};
    r.body = body;
    return r;
}

constexpr qint64 kHourMs = 3600 * 1000;

// ---- cost per operation (10,000-entry cache, the default bound) -------------------------

// Uniformly random hits over N cached keys: with 10,000 and more, the nodes no longer fit
// in L2 and the cost is mostly cache misses (hash bucket, node, key bytes, list neighbours).
void BM_GetHit(benchmark::State &state)
{
    vega::ManualClock clock;
    vega::ResponseCache::Options options;
    options.maxEntries = int(state.range(0));
    options.maxBytes = 1LL << 40;
    vega::ResponseCache cache(options, &clock);
    const auto keys = makeKeys(int(state.range(0)));
    for (const auto &k : keys)
        cache.put(k, benchResponse(), kHourMs);
    std::mt19937 rng(1);
    std::vector<int> order(1 << 16);
    for (int &i : order)
        i = int(rng() % keys.size());
    size_t i = 0;
    for (auto _ : state) {
        auto r = cache.get(keys[size_t(order[i++ & 0xffff])]);
        benchmark::DoNotOptimize(r);
    }
    if (cache.stats().misses != 0)
        state.SkipWithError("expected only hits");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetHit)->ArgName("entries")->Arg(1000)->Arg(10000)->Arg(100000);

void BM_GetMiss(benchmark::State &state)
{
    vega::ManualClock clock;
    vega::ResponseCache cache(vega::ResponseCache::Options{}, &clock);
    const auto keys = makeKeys(20000);
    for (int i = 0; i < 10000; ++i)
        cache.put(keys[size_t(i)], benchResponse(), kHourMs);
    size_t i = 0;
    for (auto _ : state) {
        auto r = cache.get(keys[10000 + (i++ % 10000)]);
        benchmark::DoNotOptimize(r);
    }
    if (cache.stats().hits != 0)
        state.SkipWithError("expected only misses");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GetMiss);

// New keys into a full cache: every put pushes a window entry through admission and
// evicts one entry (the candidate or the main's victim).
void BM_PutNewFull(benchmark::State &state)
{
    vega::ManualClock clock;
    vega::ResponseCache cache(vega::ResponseCache::Options{}, &clock);
    const auto keys = makeKeys(1 << 18);
    for (int i = 0; i < 10000; ++i)
        cache.put(keys[size_t(i)], benchResponse(), kHourMs);
    const vega::CachedResponse r = benchResponse();
    size_t i = 10000;
    for (auto _ : state)
        benchmark::DoNotOptimize(cache.put(keys[i++ & ((1 << 18) - 1)], r, kHourMs));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutNewFull);

// Replacing the response of a cached key.
void BM_PutExisting(benchmark::State &state)
{
    vega::ManualClock clock;
    vega::ResponseCache cache(vega::ResponseCache::Options{}, &clock);
    const auto keys = makeKeys(10000);
    for (const auto &k : keys)
        cache.put(k, benchResponse(), kHourMs);
    const vega::CachedResponse r = benchResponse();
    size_t i = 0;
    for (auto _ : state)
        benchmark::DoNotOptimize(cache.put(keys[i++ % keys.size()], r, kHourMs));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PutExisting);

// ---- hit ratio on IID Zipf(0.99): 1,000,000 requests over 100,000 keys, 1,000 entries ---

constexpr int kKeys = 100000;
constexpr int kRequests = 1000000;
constexpr int kCapacity = 1000;
constexpr double kSkew = 0.99;
constexpr quint64 kTraceSeed = 42;

struct ZipfTrace {
    std::vector<double> probability; // by rank; rank 0 is the most popular
    std::vector<int> requests;       // ranks
};

// Inverse CDF: cumulative weights 1/(rank+1)^s, a uniform draw in [0, total), binary search.
const ZipfTrace &zipfTrace()
{
    static const ZipfTrace trace = [] {
        ZipfTrace t;
        std::vector<double> cdf(kKeys);
        double total = 0;
        for (int i = 0; i < kKeys; ++i) {
            total += 1.0 / std::pow(double(i + 1), kSkew);
            cdf[size_t(i)] = total;
        }
        t.probability.resize(kKeys);
        for (int i = 0; i < kKeys; ++i)
            t.probability[size_t(i)] = 1.0 / std::pow(double(i + 1), kSkew) / total;
        std::mt19937_64 rng(kTraceSeed);
        std::uniform_real_distribution<double> uniform(0.0, total);
        t.requests.resize(kRequests);
        for (int &r : t.requests) {
            const double u = uniform(rng);
            r = int(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
            r = std::min(r, kKeys - 1); // u == total cannot happen, but be safe
        }
        return t;
    }();
    return trace;
}

struct Ideal {
    double theoretical = 0; // sum of the probabilities of the kCapacity most popular keys
    double empirical = 0;   // hits on this trace if exactly those keys were always cached
    double hindsight = 0;   // hits if the kCapacity keys most frequent *in this trace* were
};

Ideal ideal()
{
    const ZipfTrace &t = zipfTrace();
    Ideal r;
    for (int i = 0; i < kCapacity; ++i)
        r.theoretical += t.probability[size_t(i)];
    std::vector<int> counts(kKeys, 0);
    qint64 topHits = 0;
    for (int rank : t.requests) {
        ++counts[size_t(rank)];
        topHits += rank < kCapacity;
    }
    r.empirical = double(topHits) / kRequests;
    std::nth_element(counts.begin(), counts.begin() + kCapacity, counts.end(), std::greater<int>());
    qint64 best = 0;
    for (int i = 0; i < kCapacity; ++i)
        best += counts[size_t(i)];
    r.hindsight = double(best) / kRequests;
    return r;
}

// A textbook LRU for comparison: list + hash map, same capacity in entries.
class PlainLru {
public:
    explicit PlainLru(size_t capacity) : m_capacity(capacity) {}
    bool access(int key)
    {
        const auto it = m_index.find(key);
        if (it != m_index.end()) {
            m_order.splice(m_order.begin(), m_order, it->second);
            return true;
        }
        m_order.push_front(key);
        m_index.emplace(key, m_order.begin());
        if (m_order.size() > m_capacity) {
            m_index.erase(m_order.back());
            m_order.pop_back();
        }
        return false;
    }

private:
    size_t m_capacity;
    std::list<int> m_order;
    std::unordered_map<int, std::list<int>::iterator> m_index;
};

double lruHitRatio()
{
    PlainLru lru(kCapacity);
    qint64 hits = 0;
    for (int rank : zipfTrace().requests)
        hits += lru.access(rank);
    return double(hits) / kRequests;
}

// What the pipeline does: look up, and on a miss store the fetched response.
double ourHitRatio(const vega::ResponseCache::Options &options)
{
    static const std::vector<QByteArray> keys = makeKeys(kKeys);
    vega::ManualClock clock;
    vega::ResponseCache cache(options, &clock);
    const vega::CachedResponse r = benchResponse();
    for (int rank : zipfTrace().requests) {
        if (!cache.get(keys[size_t(rank)]))
            cache.put(keys[size_t(rank)], r, kHourMs);
    }
    const auto s = cache.stats();
    return double(s.hits) / double(s.hits + s.misses);
}

vega::ResponseCache::Options zipfOptions()
{
    vega::ResponseCache::Options o;
    o.maxEntries = kCapacity;
    o.maxBytes = 1LL << 40; // entries are the binding bound here
    return o;
}

void BM_ZipfHitRatio(benchmark::State &state)
{
    zipfTrace(); // not timed
    const Ideal best = ideal();
    double ours = 0;
    double lru = 0;
    for (auto _ : state) {
        ours = ourHitRatio(zipfOptions());
        lru = lruHitRatio();
    }
    state.counters["ours"] = ours;
    state.counters["lru"] = lru;
    state.counters["ideal_theory"] = best.theoretical;
    state.counters["ideal_empirical"] = best.empirical;
    state.counters["ideal_hindsight"] = best.hindsight;
    state.counters["ours/ideal"] = ours / best.empirical;
    state.counters["lru/ideal"] = lru / best.empirical;
}
BENCHMARK(BM_ZipfHitRatio)->Iterations(1)->Unit(benchmark::kMillisecond);

// Tuning sweep: window (per mille of capacity), doorkeeper, sample factor.
void BM_ZipfTuning(benchmark::State &state)
{
    zipfTrace();
    const Ideal best = ideal();
    vega::ResponseCache::Options o = zipfOptions();
    o.windowFraction = double(state.range(0)) / 1000.0;
    o.doorkeeper = state.range(1) != 0;
    o.sampleFactor = int(state.range(2));
    double ours = 0;
    for (auto _ : state)
        ours = ourHitRatio(o);
    state.counters["ours"] = ours;
    state.counters["ours/ideal"] = ours / best.empirical;
}
BENCHMARK(BM_ZipfTuning)
    ->ArgNames({"window_permille", "doorkeeper", "sample_factor"})
    ->ArgsProduct({{1, 10, 50, 200}, {0, 1}, {10}})
    ->ArgsProduct({{10}, {0, 1}, {5, 20, 40}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char **argv)
{
    // Reproducible hashing (the sketch's collisions follow the hash seed).
    QHashSeed::setDeterministicGlobalSeed();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
