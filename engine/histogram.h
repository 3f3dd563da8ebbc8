#pragma once

#include <QtGlobal>

#include <array>
#include <atomic>
#include <vector>

namespace vega {

/// Summary of a histogram at one moment: what charts, reports and exports read.
struct HistogramSummary {
    quint64 count = 0;
    double sum = 0;
    qint64 min = 0;
    qint64 max = 0;
    double mean = 0;
    double p50 = 0;
    double p90 = 0;
    double p99 = 0;
    double p999 = 0;
};

/// Frozen bucket counts of a histogram, used to compute percentiles of any interval
/// (difference of two frozen states) without touching the live histogram.
struct HistogramCounts {
    std::vector<quint64> buckets; // sparse-friendly: size == Histogram::bucketCount()
    quint64 count = 0;
    double sum = 0;
    qint64 min = 0;
    qint64 max = 0;

    /// Value at quantile q (0..1) as the midpoint of its bucket; relative error < 0.8%.
    double quantile(double q) const;
    HistogramSummary summary() const;
    /// this - older, bucket by bucket (min/max of the interval are bucket bounds).
    HistogramCounts minus(const HistogramCounts &older) const;
};

/**
 * Log-bucketed histogram of non-negative integer values (HdrHistogram-style layout):
 * values below 128 are exact; above, each power of two is split into 64 linear
 * sub-buckets, so a bucket's width is at most 1/64 of its lower bound and its midpoint is
 * within 0.8% of any value in it. Recording is lock-free (a few relaxed atomic adds) and
 * safe from any thread.
 *
 * It keeps cumulative counts that never go backwards (for export) and a reset baseline so
 * that what is shown can be reset without touching the exported totals.
 */
class Histogram {
public:
    static constexpr int kLinear = 128;
    static constexpr int kSubBuckets = 64;
    static constexpr int kBuckets = kLinear + (63 - 7) * kSubBuckets;

    Histogram();

    void record(qint64 value);

    static int bucketIndex(quint64 value);
    static quint64 bucketLower(int index);
    static quint64 bucketUpper(int index); // exclusive
    static constexpr int bucketCount() { return kBuckets; }

    /// Cumulative counts since construction (never reset).
    HistogramCounts cumulative() const;
    /// Counts since the last resetView().
    HistogramCounts sinceReset() const;
    /// Starts a new shown window; cumulative counts are unaffected.
    void resetView();

private:
    std::array<std::atomic<quint64>, kBuckets> m_buckets;
    std::atomic<quint64> m_count{0};
    std::atomic<double> m_sum{0};
    std::atomic<qint64> m_min;
    std::atomic<qint64> m_max{0};
    std::atomic<int> m_highest{-1};

    // Reset baseline; min/max since reset. Guarded by being written only by resetView(),
    // which the registry calls on its own thread.
    HistogramCounts m_baseline;
    std::atomic<qint64> m_viewMin;
    std::atomic<qint64> m_viewMax{0};
};

} // namespace vega
