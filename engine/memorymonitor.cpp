#include "memorymonitor.h"

#include "liveobjects.h"

#include <QLoggingCategory>
#include <QMutex>
#include <QMutexLocker>
#include <QTimer>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VEGA_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VEGA_ASAN 1
#endif

#ifdef VEGA_ASAN
// From the sanitizer runtime (sanitizer/allocator_interface.h, not installed with every
// compiler): bytes currently allocated through the sanitizer's malloc.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#elif defined(__GLIBC__)
#include <malloc.h>
#endif

#ifdef Q_OS_LINUX
#include <fcntl.h>
#include <unistd.h>
#endif

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcMemory, "vega.memory", QtInfoMsg)

constexpr double kNsPerMinute = 60e9;
constexpr qint64 kNsPerMs = 1000000;
constexpr double kMiB = 1024.0 * 1024.0;
// A hard bound on a series, whatever the window and however often sampleNow() is called.
constexpr size_t kMaxPointsPerSeries = 8192;
// How far below MemoryMonitorConfig::confidence a raised suspect's confidence may fall.
constexpr double kClearConfidenceMargin = 0.05;

const QString kHeapName = QStringLiteral("heap_in_use");
const QString kRssName = QStringLiteral("process_rss");

double median(std::vector<double> &values)
{
    if (values.empty())
        return 0;
    const size_t mid = values.size() / 2;
    std::nth_element(values.begin(), values.begin() + qptrdiff(mid), values.end());
    const double upper = values[mid];
    if (values.size() % 2 == 1)
        return upper;
    const double lower = *std::max_element(values.begin(), values.begin() + qptrdiff(mid));
    return lower + (upper - lower) / 2;
}

QString formatBytes(double bytes)
{
    const double a = std::abs(bytes);
    if (a >= 1024.0 * kMiB)
        return QString::number(bytes / (1024.0 * kMiB), 'f', 2) + QStringLiteral(" GiB");
    if (a >= kMiB)
        return QString::number(bytes / kMiB, 'f', 1) + QStringLiteral(" MiB");
    if (a >= 1024.0)
        return QString::number(bytes / 1024.0, 'f', 1) + QStringLiteral(" KiB");
    return QString::number(qint64(std::llround(bytes))) + QStringLiteral(" B");
}

QString formatAmount(double v, Unit unit)
{
    if (unit == Unit::Bytes)
        return formatBytes(v);
    if (std::abs(v) >= 100 || v == std::round(v))
        return QString::number(qint64(std::llround(v)));
    return QString::number(v, 'f', 1);
}

QString formatMinutes(qint64 ns)
{
    const double minutes = double(ns) / kNsPerMinute;
    return minutes >= 10 || minutes == std::round(minutes) ? QString::number(qint64(std::llround(minutes)))
                                                           : QString::number(minutes, 'f', 1);
}

#ifdef Q_OS_LINUX
/// Resident pages from /proc/self/statm (field 2), read with plain syscalls: no allocation
/// beyond the result, a few microseconds.
std::optional<qint64> readStatmRss()
{
    const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return std::nullopt;
    char buf[128];
    const ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0)
        return std::nullopt;
    buf[n] = '\0';
    const char *p = buf;
    // Skip the first field (total program size).
    while (*p && *p != ' ')
        ++p;
    if (*p != ' ')
        return std::nullopt;
    ++p;
    if (*p < '0' || *p > '9')
        return std::nullopt;
    qint64 pages = 0;
    for (; *p >= '0' && *p <= '9'; ++p)
        pages = pages * 10 + (*p - '0');
    const long pageSize = sysconf(_SC_PAGESIZE);
    if (pageSize <= 0)
        return std::nullopt;
    return pages * qint64(pageSize);
}
#endif

QString subjectOf(const LeakSuspect &s)
{
    switch (s.kind) {
    case MemorySeriesKind::Heap:
        return QStringLiteral("Heap in use");
    case MemorySeriesKind::Rss:
        return QStringLiteral("Resident memory");
    case MemorySeriesKind::TrackedType:
        break;
    }
    return QStringLiteral("Live %1 objects").arg(s.type);
}

} // namespace

// ---- configuration ----

QStringList MemoryMonitorConfig::validate() const
{
    QStringList problems;
    const auto minimum = [&](const char *key, double value, double min) {
        if (!(value >= min)) // also catches NaN
            problems << QStringLiteral("memory.%1: %2 is below the minimum of %3")
                            .arg(QLatin1String(key), QString::number(value), QString::number(min));
    };
    const auto positive = [&](const char *key, double value) {
        if (!std::isfinite(value) || value <= 0)
            problems << QStringLiteral("memory.%1: %2 must be a positive number")
                            .arg(QLatin1String(key), QString::number(value));
    };
    minimum("sample_interval_ms", sampleIntervalMs, 100);
    minimum("analysis_interval_ms", analysisIntervalMs, 100);
    minimum("window_seconds", windowSeconds, 30);
    minimum("min_samples", minSamples, 3);
    if (!(confidence > 0.5 && confidence <= 1))
        problems << QStringLiteral("memory.confidence: %1 must be above 0.5 and at most 1")
                        .arg(QString::number(confidence));
    minimum("suspect_after_seconds", suspectAfterSeconds, 0);
    positive("objects_per_minute", objectsPerMinute);
    positive("heap_bytes_per_minute", heapBytesPerMinute);
    positive("rss_bytes_per_minute", rssBytesPerMinute);
    if (!std::isfinite(workloadDriftPerMinute) || workloadDriftPerMinute < 0)
        problems << QStringLiteral("memory.workload_drift_per_minute: %1 must be a number >= 0")
                        .arg(QString::number(workloadDriftPerMinute));
    minimum("cleanup_interval_ms", cleanupIntervalMs, 100);
    if (sampleIntervalMs >= 100 && windowSeconds >= 30 && minSamples >= 3) {
        const qint64 fit = qint64(windowSeconds) * 1000 / sampleIntervalMs + 1;
        if (fit < minSamples)
            problems << QStringLiteral("memory.min_samples: %1 samples never fit in a window of %2 s "
                                       "sampled every %3 ms (at most %4)")
                            .arg(minSamples)
                            .arg(windowSeconds)
                            .arg(sampleIntervalMs)
                            .arg(fit);
    }
    return problems;
}

MemoryMonitorConfig MemoryMonitorConfig::sanitized() const
{
    const MemoryMonitorConfig defaults;
    MemoryMonitorConfig c = *this;
    if (c.sampleIntervalMs < 100)
        c.sampleIntervalMs = defaults.sampleIntervalMs;
    if (c.analysisIntervalMs < 100)
        c.analysisIntervalMs = defaults.analysisIntervalMs;
    if (c.windowSeconds < 30)
        c.windowSeconds = defaults.windowSeconds;
    if (c.minSamples < 3)
        c.minSamples = defaults.minSamples;
    if (!(c.confidence > 0.5 && c.confidence <= 1))
        c.confidence = defaults.confidence;
    if (c.suspectAfterSeconds < 0)
        c.suspectAfterSeconds = defaults.suspectAfterSeconds;
    if (!std::isfinite(c.objectsPerMinute) || c.objectsPerMinute <= 0)
        c.objectsPerMinute = defaults.objectsPerMinute;
    if (!std::isfinite(c.heapBytesPerMinute) || c.heapBytesPerMinute <= 0)
        c.heapBytesPerMinute = defaults.heapBytesPerMinute;
    if (!std::isfinite(c.rssBytesPerMinute) || c.rssBytesPerMinute <= 0)
        c.rssBytesPerMinute = defaults.rssBytesPerMinute;
    if (!std::isfinite(c.workloadDriftPerMinute) || c.workloadDriftPerMinute < 0)
        c.workloadDriftPerMinute = defaults.workloadDriftPerMinute;
    if (c.cleanupIntervalMs < 100)
        c.cleanupIntervalMs = defaults.cleanupIntervalMs;
    const qint64 fit = qint64(c.windowSeconds) * 1000 / c.sampleIntervalMs + 1;
    c.minSamples = int(std::max<qint64>(3, std::min<qint64>(c.minSamples, fit)));
    return c;
}

// ---- statistics ----

TrendFit fitTrend(const std::vector<TrendPoint> &points, int exactLimit)
{
    TrendFit fit;
    fit.samples = int(points.size());
    const size_t limit = size_t(std::max(exactLimit, 2));

    std::vector<TrendPoint> chosen;
    const std::vector<TrendPoint> *use = &points;
    if (points.size() > limit) {
        // Evenly spaced by index, first and last included: deterministic and spread over the
        // whole window.
        chosen.reserve(limit);
        const size_t last = points.size() - 1;
        for (size_t k = 0; k < limit; ++k)
            chosen.push_back(points[(k * last + (limit - 1) / 2) / (limit - 1)]);
        use = &chosen;
        fit.subsampled = true;
    }
    const std::vector<TrendPoint> &p = *use;
    const size_t n = p.size();
    fit.used = int(n);

    std::vector<double> values;
    values.reserve(n);
    for (const TrendPoint &pt : p)
        values.push_back(pt.value);
    fit.median = median(values);

    std::vector<double> slopes(n * (n - (n > 0 ? 1 : 0)) / 2);
    double *out = slopes.data();
    quint64 rising = 0;
    quint64 falling = 0;
    for (size_t i = 0; i < n; ++i) {
        const qint64 ti = p[i].tNs;
        const double vi = p[i].value;
        for (size_t j = i + 1; j < n; ++j) {
            const qint64 dt = p[j].tNs - ti;
            if (dt == 0)
                continue;
            const double slope = (p[j].value - vi) / double(dt);
            *out++ = slope;
            rising += slope > 0;
            falling += slope < 0;
        }
    }
    slopes.resize(size_t(out - slopes.data()));
    if (slopes.empty())
        return fit;
    fit.valid = true;
    fit.slopePerMinute = median(slopes) * kNsPerMinute;
    fit.confidence = rising + falling > 0 ? double(rising) / double(rising + falling) : 0.5;
    return fit;
}

QString trendName(Trend trend)
{
    switch (trend) {
    case Trend::Unknown:
        return QStringLiteral("unknown");
    case Trend::Flat:
        return QStringLiteral("flat");
    case Trend::Growing:
        return QStringLiteral("growing");
    case Trend::Shrinking:
        return QStringLiteral("shrinking");
    }
    return QStringLiteral("unknown");
}

// ---- reading the process ----

ProcessMemoryReading readProcessMemory()
{
    ProcessMemoryReading r;
#ifdef Q_OS_LINUX
    r.rssBytes = readStatmRss();
    if (!r.rssBytes)
        r.rssUnavailableReason = QStringLiteral("/proc/self/statm could not be read");
#else
    r.rssUnavailableReason = QStringLiteral("resident memory is only read on Linux");
#endif
#if defined(VEGA_ASAN)
    r.heapInUseBytes = qint64(__sanitizer_get_current_allocated_bytes());
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 info = mallinfo2();
    r.heapInUseBytes = qint64(info.uordblks + info.hblkhd);
#else
    r.heapUnavailableReason = QStringLiteral("heap statistics need glibc 2.33 or later (mallinfo2)");
#endif
    return r;
}

// ---- the monitor ----

namespace {

struct Series {
    QString name;
    MemorySeriesKind kind = MemorySeriesKind::TrackedType;
    Unit unit = Unit::None;
    Gauge *gauge = nullptr;
    std::vector<TrendPoint> points; // oldest first
    bool available = false;
    QString unavailableReason;
    double current = 0;
    TrendFit fit;
    Trend trend = Trend::Unknown;
    double threshold = 0;
    std::optional<qint64> growingSinceNs;
    qint64 growingSinceWallMs = 0;
    std::optional<LeakSuspect> suspect;
};

struct Cleanup {
    QString name;
    std::function<int()> run;
    Counter *released = nullptr;
};

} // namespace

class MemoryMonitor::Private {
public:
    Private(MetricsRegistry *registry, const MemoryMonitorConfig &config, Clock *clock)
        : registry(registry), clock(clock), config(config)
    {
        heap.name = kHeapName;
        heap.kind = MemorySeriesKind::Heap;
        heap.unit = Unit::Bytes;
        rss.name = kRssName;
        rss.kind = MemorySeriesKind::Rss;
        rss.unit = Unit::Bytes;
        suspectGauge = registry->gauge(QStringLiteral("memory_leak_suspects"), {},
                                       QStringLiteral("Series currently suspected of leaking"));
        sampleDuration =
            registry->histogram(QStringLiteral("memory_sample_duration"), {},
                                QStringLiteral("Real time one memory sample took"), Unit::Nanoseconds);
        heapReleased = registry->counter(QStringLiteral("memory_heap_released"), {},
                                         QStringLiteral("Resident memory handed back to the system by the "
                                                        "allocator after cleanups (malloc_trim)"),
                                         Unit::Bytes);
        heapReleaseDuration = registry->histogram(QStringLiteral("memory_heap_release_duration"), {},
                                                  QStringLiteral("Real time one heap release took"),
                                                  Unit::Nanoseconds);
    }

    /// Caller holds mutex.
    static void push(Series &s, qint64 nowNs, double value, qint64 windowNs)
    {
        s.points.push_back(TrendPoint{nowNs, value});
        trim(s, nowNs, windowNs);
    }

    static void trim(Series &s, qint64 nowNs, qint64 windowNs)
    {
        const qint64 oldest = nowNs - windowNs;
        auto keepFrom = std::find_if(s.points.begin(), s.points.end(),
                                     [oldest](const TrendPoint &p) { return p.tNs >= oldest; });
        if (s.points.end() - keepFrom > qptrdiff(kMaxPointsPerSeries))
            keepFrom = s.points.end() - qptrdiff(kMaxPointsPerSeries);
        s.points.erase(s.points.begin(), keepFrom);
    }

    void recordProcess(Series &s, const std::optional<qint64> &bytes, const QString &reason, qint64 nowNs,
                       qint64 windowNs, const QString &help)
    {
        if (!bytes) {
            s.available = false;
            s.unavailableReason = reason.isEmpty() ? QStringLiteral("unavailable") : reason;
            trim(s, nowNs, windowNs);
            return;
        }
        s.available = true;
        s.unavailableReason.clear();
        s.current = double(*bytes);
        if (!s.gauge)
            s.gauge = registry->gauge(s.name, {}, help, Unit::Bytes);
        s.gauge->set(s.current);
        push(s, nowNs, s.current, windowNs);
    }

    Series &typeSeries(LiveCounter *counter)
    {
        auto it = types.find(counter);
        if (it != types.end())
            return *it->second;
        auto s = std::make_unique<Series>();
        s->name = counter->name();
        s->gauge = registry->gauge(QStringLiteral("live_objects"), {{QStringLiteral("type"), s->name}},
                                   QStringLiteral("Live objects of a tracked type"));
        Series &ref = *s;
        types.emplace(counter, std::move(s));
        typeOrder.push_back(counter);
        return ref;
    }

    double thresholdFor(const Series &s) const
    {
        switch (s.kind) {
        case MemorySeriesKind::Heap:
            return config.heapBytesPerMinute;
        case MemorySeriesKind::Rss:
            return config.rssBytesPerMinute;
        case MemorySeriesKind::TrackedType:
            break;
        }
        return typeThresholds.value(s.name, config.objectsPerMinute);
    }

    static TrackedTypeStatus typeStatus(const Series &s)
    {
        TrackedTypeStatus t;
        t.name = s.name;
        t.live = qint64(s.current);
        t.slopePerMinute = s.trend == Trend::Unknown ? 0 : s.fit.slopePerMinute;
        t.confidence = s.fit.confidence;
        t.thresholdPerMinute = s.threshold;
        t.trend = s.trend;
        t.suspect = s.suspect.has_value();
        return t;
    }

    static ProcessMemoryStatus processStatus(const Series &s)
    {
        ProcessMemoryStatus p;
        p.available = s.available;
        p.unavailableReason = s.unavailableReason;
        p.bytes = s.available ? qint64(s.current) : 0;
        p.slopeBytesPerMinute = s.trend == Trend::Unknown ? 0 : s.fit.slopePerMinute;
        p.confidence = s.fit.confidence;
        p.trend = s.trend;
        p.suspect = s.suspect.has_value();
        return p;
    }

    MetricsRegistry *const registry;
    Clock *const clock;
    const MemoryMonitorConfig config;
    Gauge *suspectGauge = nullptr;
    Histogram *sampleDuration = nullptr;
    Counter *heapReleased = nullptr;
    Histogram *heapReleaseDuration = nullptr;

    // Owner thread only.
    ProcessMemorySampler sampler;
    WorkloadSignal workload;
    std::vector<Cleanup> cleanups;
    QTimer sampleTimer;
    QTimer cleanupTimer;
    std::optional<qint64> lastAnalysisNs;

    mutable QMutex mutex; // protects everything below
    Series heap;
    Series rss;
    Series workloadSeries;
    std::map<LiveCounter *, std::unique_ptr<Series>> types;
    std::vector<LiveCounter *> typeOrder;
    QHash<QString, double> typeThresholds;
    qint64 sampleWallMs = 0;
    qint64 lastSampleDurationNs = 0;
    bool workloadKnown = false;
    bool workloadSteady = true;
    double workloadDrift = 0;
};

MemoryMonitor::MemoryMonitor(MetricsRegistry *registry, const MemoryMonitorConfig &config, Clock *clock,
                             QObject *parent)
    : QObject(parent)
{
    Q_ASSERT(registry);
    Q_ASSERT(clock);
    qRegisterMetaType<vega::LeakSuspect>();
    const QStringList problems = config.validate();
    for (const QString &problem : problems)
        qCWarning(lcMemory).noquote() << problem << "- using the default";
    d = std::make_unique<Private>(registry, config.sanitized(), clock);
    d->sampleTimer.setInterval(d->config.sampleIntervalMs);
    d->cleanupTimer.setInterval(d->config.cleanupIntervalMs);
    connect(&d->sampleTimer, &QTimer::timeout, this, [this] {
        sampleNow();
        const qint64 now = d->clock->nowNs();
        if (!d->lastAnalysisNs || now - *d->lastAnalysisNs >= qint64(d->config.analysisIntervalMs) * kNsPerMs)
            analyseNow();
    });
    connect(&d->cleanupTimer, &QTimer::timeout, this, [this] {
        runCleanupNow();
        if (d->config.releaseFreeHeap)
            releaseFreeHeapNow();
    });
}

MemoryMonitor::~MemoryMonitor() = default;

MemoryMonitorConfig MemoryMonitor::config() const
{
    return d->config;
}

void MemoryMonitor::setSampler(ProcessMemorySampler sampler)
{
    d->sampler = std::move(sampler);
}

void MemoryMonitor::setWorkloadSignal(WorkloadSignal signal)
{
    d->workload = std::move(signal);
    QMutexLocker lock(&d->mutex);
    d->workloadSeries.points.clear();
}

bool MemoryMonitor::setTypeThreshold(const QString &type, double objectsPerMinute)
{
    if (type.trimmed().isEmpty()) {
        qCWarning(lcMemory) << "setTypeThreshold: empty type name";
        return false;
    }
    if (!std::isfinite(objectsPerMinute) || objectsPerMinute <= 0) {
        qCWarning(lcMemory).noquote()
            << QStringLiteral("setTypeThreshold: %1: threshold %2 must be a positive number")
                   .arg(type, QString::number(objectsPerMinute));
        return false;
    }
    QMutexLocker lock(&d->mutex);
    d->typeThresholds.insert(type.trimmed(), objectsPerMinute);
    return true;
}

bool MemoryMonitor::addCleanup(const QString &name, std::function<int()> cleanup)
{
    const QString key = name.trimmed();
    if (key.isEmpty()) {
        qCWarning(lcMemory) << "addCleanup: empty name";
        return false;
    }
    if (!cleanup) {
        qCWarning(lcMemory).noquote() << QStringLiteral("addCleanup: %1: no function").arg(key);
        return false;
    }
    for (const Cleanup &c : d->cleanups) {
        if (c.name == key) {
            qCWarning(lcMemory).noquote() << QStringLiteral("addCleanup: %1: already registered").arg(key);
            return false;
        }
    }
    Counter *released =
        d->registry->counter(QStringLiteral("memory_cleanup_released"), {{QStringLiteral("what"), key}},
                             QStringLiteral("Things released by a memory cleanup hook"));
    d->cleanups.push_back(Cleanup{key, std::move(cleanup), released});
    return true;
}

bool MemoryMonitor::removeCleanup(const QString &name)
{
    const QString key = name.trimmed();
    const auto it = std::find_if(d->cleanups.begin(), d->cleanups.end(),
                                 [&key](const Cleanup &c) { return c.name == key; });
    if (it == d->cleanups.end())
        return false;
    d->cleanups.erase(it);
    return true;
}

QStringList MemoryMonitor::cleanupNames() const
{
    QStringList names;
    for (const Cleanup &c : d->cleanups)
        names << c.name;
    return names;
}

void MemoryMonitor::start()
{
    if (d->sampleTimer.isActive())
        return;
    d->sampleTimer.start();
    d->cleanupTimer.start();
    sampleNow();
}

void MemoryMonitor::stop()
{
    d->sampleTimer.stop();
    d->cleanupTimer.stop();
}

bool MemoryMonitor::isRunning() const
{
    return d->sampleTimer.isActive();
}

void MemoryMonitor::sampleNow()
{
    const auto started = std::chrono::steady_clock::now();
    // Callbacks run without the lock: they may call back into the monitor.
    const ProcessMemoryReading reading = d->sampler ? d->sampler() : readProcessMemory();
    std::optional<double> rate;
    if (d->workload)
        rate = d->workload();
    const QList<LiveCounter *> counters = LiveObjects::counters();

    {
        QMutexLocker lock(&d->mutex);
        const qint64 now = d->clock->nowNs();
        const qint64 windowNs = qint64(d->config.windowSeconds) * 1000 * kNsPerMs;
        d->recordProcess(d->heap, reading.heapInUseBytes, reading.heapUnavailableReason, now, windowNs,
                         QStringLiteral("Bytes in allocated heap blocks (malloc)"));
        d->recordProcess(d->rss, reading.rssBytes, reading.rssUnavailableReason, now, windowNs,
                         QStringLiteral("Resident memory of this process"));
        for (LiveCounter *counter : counters) {
            Series &s = d->typeSeries(counter);
            s.available = true;
            s.current = double(counter->live());
            s.gauge->set(s.current);
            Private::push(s, now, s.current, windowNs);
        }
        if (rate && std::isfinite(*rate))
            Private::push(d->workloadSeries, now, *rate, windowNs);
        else
            Private::trim(d->workloadSeries, now, windowNs);
        d->sampleWallMs = d->registry->wallNowMs();
    }
    const qint64 took =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started)
            .count();
    d->sampleDuration->record(took);
    QMutexLocker lock(&d->mutex);
    d->lastSampleDurationNs = took;
}

void MemoryMonitor::analyseNow()
{
    QList<LeakSuspect> raised;
    QList<LeakSuspect> cleared;
    {
        QMutexLocker lock(&d->mutex);
        const qint64 now = d->clock->nowNs();
        d->lastAnalysisNs = now;
        const qint64 windowNs = qint64(d->config.windowSeconds) * 1000 * kNsPerMs;
        const qint64 suspectAfterNs = qint64(d->config.suspectAfterSeconds) * 1000 * kNsPerMs;
        const qint64 wallNow = d->registry->wallNowMs();

        // The workload first: it gates new suspects.
        Private::trim(d->workloadSeries, now, windowNs);
        d->workloadKnown = false;
        d->workloadSteady = true;
        d->workloadDrift = 0;
        if (d->workload && int(d->workloadSeries.points.size()) >= d->config.minSamples) {
            const TrendFit w = fitTrend(d->workloadSeries.points);
            if (w.valid) {
                const double slope = std::abs(w.slopePerMinute);
                d->workloadKnown = true;
                d->workloadDrift =
                    slope == 0 ? 0 : slope / std::max(std::abs(w.median), std::numeric_limits<double>::min());
                d->workloadSteady = d->workloadDrift <= d->config.workloadDriftPerMinute;
            }
        }

        const auto analyse = [&](Series &s) {
            Private::trim(s, now, windowNs);
            s.threshold = d->thresholdFor(s);
            const bool constant = std::all_of(s.points.begin(), s.points.end(), [&s](const TrendPoint &p) {
                return p.value == s.points.front().value;
            });
            if (int(s.points.size()) < d->config.minSamples) {
                s.fit = TrendFit{};
                s.trend = Trend::Unknown;
            } else if (constant) {
                // The common case for idle types: no need for the O(n²) fit.
                s.fit = TrendFit{};
                s.fit.valid = true;
                s.fit.samples = s.fit.used = int(s.points.size());
                s.fit.median = s.points.front().value;
                s.trend = Trend::Flat;
            } else {
                s.fit = fitTrend(s.points);
                const double c = d->config.confidence;
                if (!s.fit.valid)
                    s.trend = Trend::Unknown;
                else if (s.fit.slopePerMinute > 0 && s.fit.confidence >= c)
                    s.trend = Trend::Growing;
                else if (s.fit.slopePerMinute < 0 && s.fit.confidence <= 1 - c)
                    s.trend = Trend::Shrinking;
                else
                    s.trend = Trend::Flat;
            }
            const bool aboveThreshold =
                s.trend != Trend::Unknown && s.fit.valid && s.fit.slopePerMinute > s.threshold;
            const bool growing = aboveThreshold && s.fit.confidence >= d->config.confidence;
            // A raised suspect keeps a little slack on the confidence, so that a leak whose
            // confidence hovers at the threshold is not cleared and raised over and over.
            const double keepConfidence = std::max(0.5, d->config.confidence - kClearConfidenceMargin);
            const bool stillGrowing = aboveThreshold && s.fit.confidence >= keepConfidence;

            if (s.suspect) {
                if (stillGrowing) {
                    s.suspect->growthPerMinute = s.fit.slopePerMinute;
                    s.suspect->confidence = s.fit.confidence;
                    s.suspect->thresholdPerMinute = s.threshold;
                    s.suspect->current = s.current;
                } else {
                    LeakSuspect done = *s.suspect;
                    done.growthPerMinute = s.fit.slopePerMinute;
                    done.confidence = s.fit.confidence;
                    done.current = s.current;
                    done.clearedWallMs = wallNow;
                    cleared << done;
                    s.suspect.reset();
                    s.growingSinceNs.reset();
                }
                return;
            }
            if (!growing || !d->workloadSteady) {
                s.growingSinceNs.reset();
                return;
            }
            if (!s.growingSinceNs) {
                s.growingSinceNs = now;
                s.growingSinceWallMs = wallNow;
            }
            if (now - *s.growingSinceNs < suspectAfterNs)
                return;
            LeakSuspect suspect;
            suspect.type = s.name;
            suspect.kind = s.kind;
            suspect.unit = s.unit;
            suspect.growthPerMinute = s.fit.slopePerMinute;
            suspect.confidence = s.fit.confidence;
            suspect.thresholdPerMinute = s.threshold;
            suspect.firstSeenWallMs = s.growingSinceWallMs;
            suspect.raisedWallMs = wallNow;
            suspect.current = s.current;
            s.suspect = suspect;
            raised << suspect;
        };

        if (d->heap.available || !d->heap.points.empty())
            analyse(d->heap);
        if (d->rss.available || !d->rss.points.empty())
            analyse(d->rss);
        for (LiveCounter *counter : d->typeOrder)
            analyse(*d->types.at(counter));

        int count = int(d->heap.suspect.has_value()) + int(d->rss.suspect.has_value());
        for (const auto &entry : d->types)
            count += int(entry.second->suspect.has_value());
        d->suspectGauge->set(count);
    }

    const double minConfidence = d->config.confidence;
    for (const LeakSuspect &s : std::as_const(cleared)) {
        const qint64 lastedNs = (s.clearedWallMs - s.raisedWallMs) * kNsPerMs;
        const bool slow = s.growthPerMinute <= s.thresholdPerMinute;
        const QString why =
            slow ? QStringLiteral("%1/min is not above %2/min")
                       .arg(formatAmount(s.growthPerMinute, s.unit),
                            formatAmount(s.thresholdPerMinute, s.unit))
                 : QStringLiteral("%1/min but confidence %2 is below %3")
                       .arg(formatAmount(s.growthPerMinute, s.unit), QString::number(s.confidence, 'f', 3),
                            QString::number(std::max(0.5, minConfidence - kClearConfidenceMargin), 'f', 2));
        const QString message = QStringLiteral("%1 no longer %2 (%3) after %4 min as a suspect; %5 now")
                                    .arg(subjectOf(s),
                                         s.kind == MemorySeriesKind::TrackedType ? QStringLiteral("grow")
                                                                                 : QStringLiteral("grows"),
                                         why, formatMinutes(lastedNs), formatAmount(s.current, s.unit));
        d->registry->recordEvent(QStringLiteral("leak"), s.type, message);
        qCInfo(lcMemory).noquote() << message;
        Q_EMIT suspectCleared(s);
    }
    for (const LeakSuspect &s : std::as_const(raised)) {
        const qint64 forNs = (s.raisedWallMs - s.firstSeenWallMs) * kNsPerMs;
        const QString message =
            QStringLiteral("%1 %2 %3/min (confidence %4) for %5 min; %6 now")
                .arg(subjectOf(s),
                     s.kind == MemorySeriesKind::TrackedType ? QStringLiteral("grow")
                                                             : QStringLiteral("grows"),
                     formatAmount(s.growthPerMinute, s.unit), QString::number(s.confidence, 'f', 2),
                     formatMinutes(forNs), formatAmount(s.current, s.unit));
        d->registry->recordEvent(QStringLiteral("leak"), s.type, message);
        qCWarning(lcMemory).noquote() << "possible leak:" << message;
        Q_EMIT suspectRaised(s);
    }
}

qint64 MemoryMonitor::releaseFreeHeapNow()
{
#if defined(__GLIBC__) && !defined(VEGA_ASAN) && defined(Q_OS_LINUX)
    const auto started = std::chrono::steady_clock::now();
    const std::optional<qint64> before = readStatmRss();
    malloc_trim(0);
    const std::optional<qint64> after = readStatmRss();
    d->heapReleaseDuration->record(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
    const qint64 released = before && after ? std::max<qint64>(0, *before - *after) : 0;
    if (released > 0)
        d->heapReleased->inc(quint64(released));
    return released;
#else
    return -1;
#endif
}

int MemoryMonitor::runCleanupNow()
{
    // A copy: a hook may add or remove hooks.
    const std::vector<Cleanup> hooks = d->cleanups;
    int total = 0;
    for (const Cleanup &c : hooks) {
        int released = 0;
        try {
            released = c.run();
        } catch (const std::exception &e) {
            qCWarning(lcMemory).noquote()
                << QStringLiteral("cleanup %1 failed: %2").arg(c.name, QString::fromUtf8(e.what()));
            continue;
        } catch (...) {
            qCWarning(lcMemory).noquote() << QStringLiteral("cleanup %1 failed").arg(c.name);
            continue;
        }
        if (released < 0) {
            qCWarning(lcMemory).noquote()
                << QStringLiteral("cleanup %1 returned %2 released; counted as 0").arg(c.name).arg(released);
            continue;
        }
        if (released > 0) {
            c.released->inc(quint64(released));
            total += released;
            qCDebug(lcMemory).noquote() << "cleanup" << c.name << "released" << released;
        }
    }
    return total;
}

QList<LeakSuspect> MemoryMonitor::suspects() const
{
    QMutexLocker lock(&d->mutex);
    QList<LeakSuspect> out;
    if (d->heap.suspect)
        out << *d->heap.suspect;
    if (d->rss.suspect)
        out << *d->rss.suspect;
    for (const auto &entry : d->types) {
        if (entry.second->suspect)
            out << *entry.second->suspect;
    }
    std::sort(out.begin(), out.end(),
              [](const LeakSuspect &a, const LeakSuspect &b) { return a.type < b.type; });
    return out;
}

QList<TrackedTypeStatus> MemoryMonitor::trackedTypes() const
{
    QMutexLocker lock(&d->mutex);
    QList<TrackedTypeStatus> out;
    out.reserve(qsizetype(d->types.size()));
    for (const auto &entry : d->types)
        out << Private::typeStatus(*entry.second);
    std::sort(out.begin(), out.end(),
              [](const TrackedTypeStatus &a, const TrackedTypeStatus &b) { return a.name < b.name; });
    return out;
}

MemorySummary MemoryMonitor::summary() const
{
    MemorySummary s;
    s.types = trackedTypes();
    s.suspects = suspects();
    QMutexLocker lock(&d->mutex);
    s.sampleWallMs = d->sampleWallMs;
    s.samplesInWindow = int(std::max(d->heap.points.size(), d->rss.points.size()));
    for (const auto &entry : d->types)
        s.samplesInWindow = std::max(s.samplesInWindow, int(entry.second->points.size()));
    s.lastSampleDurationNs = d->lastSampleDurationNs;
    s.rss = Private::processStatus(d->rss);
    s.heap = Private::processStatus(d->heap);
    s.workloadKnown = d->workloadKnown;
    s.workloadSteady = d->workloadSteady;
    s.workloadDriftPerMinute = d->workloadDrift;
    return s;
}

} // namespace vega
