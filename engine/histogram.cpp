#include "histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace vega {

namespace {

void atomicMin(std::atomic<qint64> &target, qint64 value)
{
    qint64 current = target.load(std::memory_order_relaxed);
    while (value < current && !target.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
    }
}

void atomicAdd(std::atomic<double> &target, double value)
{
    double current = target.load(std::memory_order_relaxed);
    while (!target.compare_exchange_weak(current, current + value, std::memory_order_relaxed)) {
    }
}

void atomicMax(std::atomic<qint64> &target, qint64 value)
{
    qint64 current = target.load(std::memory_order_relaxed);
    while (value > current && !target.compare_exchange_weak(current, value, std::memory_order_relaxed)) {
    }
}

double bucketMid(int index)
{
    const quint64 lo = Histogram::bucketLower(index);
    const quint64 hi = Histogram::bucketUpper(index);
    if (hi - lo <= 1)
        return double(lo);
    return (double(lo) + double(hi - 1)) / 2.0;
}

} // namespace

Histogram::Histogram()
    : m_min(std::numeric_limits<qint64>::max()), m_viewMin(std::numeric_limits<qint64>::max())
{
    for (auto &b : m_buckets)
        b.store(0, std::memory_order_relaxed);
    m_baseline.buckets.assign(kBuckets, 0);
}

int Histogram::bucketIndex(quint64 value)
{
    if (value < quint64(kLinear))
        return int(value);
    const int exponent = 63 - __builtin_clzll(value); // >= 7
    const int shift = exponent - 6;
    const int mantissa = int(value >> shift); // 64..127
    const int index = kLinear + (exponent - 7) * kSubBuckets + (mantissa - kSubBuckets);
    return std::min(index, kBuckets - 1);
}

quint64 Histogram::bucketLower(int index)
{
    if (index < kLinear)
        return quint64(index);
    const int rel = index - kLinear;
    const int exponent = rel / kSubBuckets + 7;
    const int mantissa = rel % kSubBuckets + kSubBuckets;
    return quint64(mantissa) << (exponent - 6);
}

quint64 Histogram::bucketUpper(int index)
{
    if (index < kLinear)
        return quint64(index) + 1;
    const int rel = index - kLinear;
    const int exponent = rel / kSubBuckets + 7;
    const int mantissa = rel % kSubBuckets + kSubBuckets;
    return quint64(mantissa + 1) << (exponent - 6);
}

void Histogram::record(qint64 value)
{
    if (value < 0)
        value = 0;
    const int index = bucketIndex(quint64(value));
    m_buckets[size_t(index)].fetch_add(1, std::memory_order_relaxed);
    m_count.fetch_add(1, std::memory_order_relaxed);
    atomicAdd(m_sum, double(value));
    atomicMin(m_min, value);
    atomicMax(m_max, value);
    atomicMin(m_viewMin, value);
    atomicMax(m_viewMax, value);
    int highest = m_highest.load(std::memory_order_relaxed);
    while (index > highest && !m_highest.compare_exchange_weak(highest, index, std::memory_order_relaxed)) {
    }
}

HistogramCounts Histogram::cumulative() const
{
    HistogramCounts c;
    c.buckets.assign(kBuckets, 0);
    const int highest = m_highest.load(std::memory_order_relaxed);
    quint64 total = 0;
    for (int i = 0; i <= highest; ++i) {
        const quint64 n = m_buckets[size_t(i)].load(std::memory_order_relaxed);
        c.buckets[size_t(i)] = n;
        total += n;
    }
    // Use the bucket total so that count and buckets always agree even while recording.
    c.count = total;
    c.sum = m_sum.load(std::memory_order_relaxed);
    c.min = total ? m_min.load(std::memory_order_relaxed) : 0;
    c.max = total ? m_max.load(std::memory_order_relaxed) : 0;
    return c;
}

HistogramCounts Histogram::sinceReset() const
{
    HistogramCounts c = cumulative().minus(m_baseline);
    if (c.count) {
        c.min = m_viewMin.load(std::memory_order_relaxed);
        c.max = m_viewMax.load(std::memory_order_relaxed);
        if (c.min > c.max)
            c.min = c.max;
    }
    return c;
}

void Histogram::resetView()
{
    m_baseline = cumulative();
    m_viewMin.store(std::numeric_limits<qint64>::max(), std::memory_order_relaxed);
    m_viewMax.store(0, std::memory_order_relaxed);
}

HistogramCounts HistogramCounts::minus(const HistogramCounts &older) const
{
    HistogramCounts d;
    d.buckets.assign(buckets.size(), 0);
    int first = -1;
    int last = -1;
    for (size_t i = 0; i < buckets.size(); ++i) {
        const quint64 o = i < older.buckets.size() ? older.buckets[i] : 0;
        const quint64 n = buckets[i] > o ? buckets[i] - o : 0;
        d.buckets[i] = n;
        d.count += n;
        if (n) {
            if (first < 0)
                first = int(i);
            last = int(i);
        }
    }
    d.sum = std::max(0.0, sum - older.sum);
    if (d.count) {
        d.min = qint64(Histogram::bucketLower(first));
        d.max = qint64(Histogram::bucketUpper(last) - 1);
        // Exact extremes are known when the whole range is this interval's.
        if (older.count == 0) {
            d.min = min;
            d.max = max;
        }
    }
    return d;
}

double HistogramCounts::quantile(double q) const
{
    if (count == 0)
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    // Rank of the wanted value, 1-based, "nearest rank" definition.
    const quint64 rank = std::max<quint64>(1, quint64(std::ceil(q * double(count))));
    quint64 seen = 0;
    for (size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= rank) {
            const double mid = bucketMid(int(i));
            // The true extremes are known exactly; never report beyond them.
            return std::clamp(mid, double(min), double(max));
        }
    }
    return double(max);
}

HistogramSummary HistogramCounts::summary() const
{
    HistogramSummary s;
    s.count = count;
    s.sum = sum;
    s.min = min;
    s.max = max;
    if (count) {
        s.mean = sum / double(count);
        s.p50 = quantile(0.50);
        s.p90 = quantile(0.90);
        s.p99 = quantile(0.99);
        s.p999 = quantile(0.999);
    }
    return s;
}

} // namespace vega
