#pragma once

#include "clock.h"
#include "metrics.h"

#include <QHash>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace vega {

/// Settings of the memory monitor; the defaults are the ones documented in docs/MEMORY.md.
struct MemoryMonitorConfig {
    int sampleIntervalMs = 5000;    // process sample (RSS, heap, live objects) period
    int analysisIntervalMs = 15000; // trend analysis period (done after a sample)
    int windowSeconds = 600;        // sliding window the trends are fitted over
    int minSamples = 12;            // fewer samples in the window: trend unknown
    double confidence = 0.9;        // minimum growth confidence for a suspect, in (0.5, 1]
    int suspectAfterSeconds = 300;  // growth must hold this long before a suspect is raised
    double objectsPerMinute = 10;   // default growth threshold of a tracked type
    double heapBytesPerMinute = 1024.0 * 1024.0;
    double rssBytesPerMinute = 1024.0 * 1024.0;
    double workloadDriftPerMinute = 0.02; // steady: |workload slope| <= this x its median, per minute
    int cleanupIntervalMs = 30000;        // period of the registered cleanup hooks
    /// After the cleanup hooks, hand the allocator's free pages back to the system
    /// (glibc malloc_trim). Freed memory otherwise stays resident in malloc's arenas, so RSS
    /// creeps up to each arena's high-water mark and drifts away from the heap in use.
    bool releaseFreeHeap = true;

    /// Every problem, one message each naming the key and the value, e.g.
    /// "memory.window_seconds: 5 is below the minimum of 30". Empty when valid.
    QStringList validate() const;
    /// A copy in which each invalid value is replaced by its default.
    MemoryMonitorConfig sanitized() const;
};

/// One observation of a series: when (monotonic ns) and what.
struct TrendPoint {
    qint64 tNs = 0;
    double value = 0;
};

/// The robust trend of a series (see fitTrend()).
struct TrendFit {
    bool valid = false;        // at least one pair of points at distinct times
    double slopePerMinute = 0; // Theil–Sen: median of the pairwise slopes, per minute
    /// Growth confidence in [0, 1]: among the pairs whose values differ, the fraction where the
    /// later value is the larger, i.e. (1 + Goodman–Kruskal gamma) / 2. 1 = only ever rises,
    /// 0 = only ever falls, 0.5 = no direction (also when every pair is tied).
    double confidence = 0.5;
    double median = 0; // median of the values used
    int samples = 0;   // points given
    int used = 0;      // points the pairs were formed from
    bool subsampled = false;
};

/// The Theil–Sen fit of no more than this many points is exact; above it, see fitTrend().
constexpr int kTrendExactLimit = 200;

/**
 * Theil–Sen slope and growth confidence of `points` (any order; points at equal times form no
 * pair). Exact, O(n²) in time and memory, for n <= `exactLimit`; for more points the pairs
 * are formed from `exactLimit` points evenly spaced by index, first and last included, so
 * the result is deterministic and the cost bounded. `exactLimit` is clamped to at least 2.
 */
TrendFit fitTrend(const std::vector<TrendPoint> &points, int exactLimit = kTrendExactLimit);

enum class MemorySeriesKind { TrackedType, Heap, Rss };
enum class Trend { Unknown, Flat, Growing, Shrinking };
/// Stable lowercase id: "unknown", "flat", "growing", "shrinking".
QString trendName(Trend trend);

/// A series whose growth looks like a leak: see MemoryMonitor for when one is raised.
struct LeakSuspect {
    QString type; // tracked type name, or "heap_in_use" / "process_rss"
    MemorySeriesKind kind = MemorySeriesKind::TrackedType;
    Unit unit = Unit::None;     // None: objects; Bytes: heap and RSS
    double growthPerMinute = 0; // objects or bytes per minute, at the latest analysis
    double confidence = 0;      // see TrendFit::confidence
    double thresholdPerMinute = 0;
    qint64 firstSeenWallMs = 0; // UTC ms: start of the continuous growth that raised it
    qint64 raisedWallMs = 0;    // UTC ms: when it became a suspect
    qint64 clearedWallMs = 0;   // UTC ms: set only in suspectCleared
    double current = 0;         // live objects or bytes at the latest sample
};

/// One tracked type as of the latest sample and analysis.
struct TrackedTypeStatus {
    QString name;
    qint64 live = 0;
    double slopePerMinute = 0; // objects per minute; 0 while the trend is unknown
    double confidence = 0.5;
    double thresholdPerMinute = 0;
    Trend trend = Trend::Unknown;
    bool suspect = false;
};

/// RSS or heap in use as of the latest sample and analysis.
struct ProcessMemoryStatus {
    bool available = false;
    QString unavailableReason; // set when not available
    qint64 bytes = 0;
    double slopeBytesPerMinute = 0;
    double confidence = 0.5;
    Trend trend = Trend::Unknown;
    bool suspect = false;
};

/// Everything the monitor knows at one moment (for the engine's snapshot).
struct MemorySummary {
    qint64 sampleWallMs = 0; // UTC ms of the latest sample; 0 before the first
    int samplesInWindow = 0;
    qint64 lastSampleDurationNs = 0; // real time the latest sample took
    ProcessMemoryStatus rss;
    ProcessMemoryStatus heap;
    bool workloadKnown = false;        // a workload signal is set and has enough samples
    bool workloadSteady = true;        // true when not known
    double workloadDriftPerMinute = 0; // |slope| / |median| of the workload, per minute
    QList<TrackedTypeStatus> types;    // sorted by name
    QList<LeakSuspect> suspects;       // sorted by name
};

/// What one read of the process's memory gave. A missing value is unavailable, never 0.
struct ProcessMemoryReading {
    std::optional<qint64> rssBytes;
    std::optional<qint64> heapInUseBytes;
    QString rssUnavailableReason;
    QString heapUnavailableReason;
};

using ProcessMemorySampler = std::function<ProcessMemoryReading()>;
/// A workload rate (e.g. requests per second); nullopt when not known at this moment.
using WorkloadSignal = std::function<std::optional<double>()>;

/**
 * Reads this process's memory: RSS from /proc/self/statm (Linux) and the heap in use from
 * glibc's mallinfo2() (uordblks + hblkhd: bytes in allocated chunks of the main and thread
 * arenas plus mmapped blocks). Under AddressSanitizer, whose allocator replaces malloc, the
 * heap is the sanitizer's count of allocated bytes. Elsewhere a value is unavailable with a
 * reason. Costs a few tens of microseconds.
 */
ProcessMemoryReading readProcessMemory();

/**
 * Watches the process for memory leaks, on the thread it lives on (QTimer; no extra thread).
 *
 * Every sample (MemoryMonitorConfig::sampleIntervalMs) records RSS, the heap in use, the live
 * count of every type registered with LiveObjects and, if set, the workload rate. Every
 * analysis (analysisIntervalMs, right after a sample) fits each series over the sliding window
 * with fitTrend(). A series is *growing* when its slope exceeds its threshold
 * (objectsPerMinute or the type's own; heap/rssBytesPerMinute) with confidence >= confidence.
 * It becomes a suspect once it has been growing, with the workload steady, at every analysis
 * for suspectAfterSeconds; the suspect is cleared at the first analysis where the series is no
 * longer growing (a workload that stops being steady does not clear it). Raising and clearing
 * each record an event of kind "leak" (source: the series name) and emit a signal.
 *
 * The workload is steady when no signal is set, when it has fewer than minSamples points in
 * the window, or when |its Theil–Sen slope| <= workloadDriftPerMinute x |its median| per
 * minute: a ramping load legitimately holds more objects and must not raise a suspect.
 *
 * Cleanup hooks (addCleanup) run every cleanupIntervalMs; what each releases is counted. Then,
 * with releaseFreeHeap, the allocator's free pages go back to the system (releaseFreeHeapNow()).
 *
 * Metrics: gauges process_rss and heap_in_use (bytes; created at the first available reading,
 * never a made-up zero), live_objects{type}, memory_leak_suspects; counter
 * memory_cleanup_released{what}, memory_heap_released (bytes); histograms
 * memory_sample_duration and memory_heap_release_duration (ns, real time).
 *
 * Use from the object's thread; suspects(), trackedTypes() and summary() are thread-safe.
 */
class MemoryMonitor : public QObject {
    Q_OBJECT
public:
    /// `registry` and `clock` must outlive the monitor. An invalid `config` value is logged
    /// (see MemoryMonitorConfig::validate()) and replaced by its default.
    explicit MemoryMonitor(MetricsRegistry *registry, const MemoryMonitorConfig &config = {},
                           Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~MemoryMonitor() override;

    /// The configuration in force (sanitized).
    MemoryMonitorConfig config() const;

    /// Replaces the process reader (readProcessMemory() by default; null restores it).
    void setSampler(ProcessMemorySampler sampler);
    /// Sets the workload rate read at every sample; null: the workload counts as steady.
    void setWorkloadSignal(WorkloadSignal signal);
    /// Growth threshold of one tracked type, in objects per minute. Rejects (false, logged) an
    /// empty name or a threshold that is not a positive finite number.
    bool setTypeThreshold(const QString &type, double objectsPerMinute);

    /// Registers a cleanup hook; `cleanup` returns how many things it released (negative
    /// counts as 0 and is logged). Rejects (false, logged) an empty or already used name or a
    /// null function. Hooks run in registration order, on this object's thread.
    bool addCleanup(const QString &name, std::function<int()> cleanup);
    bool removeCleanup(const QString &name);
    QStringList cleanupNames() const;

    /// Takes a sample at once, then one per sample interval (analysing when due); runs the
    /// cleanup hooks every cleanup interval. Does nothing when already running.
    void start();
    void stop();
    bool isRunning() const;

    /// One sample now, on the calling thread, at the clock's current time.
    void sampleNow();
    /// One analysis now of what the window holds; raises and clears suspects.
    void analyseNow();
    /// Runs every cleanup hook now; returns the total released.
    int runCleanupNow();
    /// Returns the allocator's free pages to the system now (glibc malloc_trim(0), which
    /// also releases free pages in the middle of the heap and in thread arenas). Returns the
    /// drop in RSS in bytes (0 when nothing was released), or -1 where it is not supported
    /// (not glibc, or under AddressSanitizer, whose allocator keeps its own pools).
    qint64 releaseFreeHeapNow();

    QList<LeakSuspect> suspects() const;
    QList<TrackedTypeStatus> trackedTypes() const;
    MemorySummary summary() const;

Q_SIGNALS:
    void suspectRaised(const vega::LeakSuspect &suspect);
    void suspectCleared(const vega::LeakSuspect &suspect);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::LeakSuspect)
Q_DECLARE_METATYPE(vega::MemorySummary)
