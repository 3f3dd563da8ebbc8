#pragma once

#include "clock.h"
#include "histogram.h"
#include "timeseries.h"

#include <QDateTime>
#include <QHash>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QPair>
#include <QString>
#include <QTimer>

#include <array>
#include <atomic>
#include <deque>
#include <memory>

namespace vega {

using Labels = QList<QPair<QString, QString>>;

enum class MetricType { Counter, Gauge, Histogram };

/// The unit a metric's raw values are in. Exporters convert to base units (seconds, bytes).
enum class Unit { None, Nanoseconds, Milliseconds, Seconds, Bytes, BytesPerSecond, Percent, Ratio };

QString unitSymbol(Unit unit);
QString metricTypeName(MetricType type);

/// Which chart series a metric keeps. Counters keep Rate (per second), gauges Value,
/// histograms the per-interval P50/P90/P99/Max/Mean and Rate (observations per second).
enum class SeriesField { Value, Rate, P50, P90, P99, Max, Mean, Count_ };
QString seriesFieldName(SeriesField field);

/// A monotonically increasing count. Thread-safe.
class Counter {
public:
    void inc(quint64 n = 1) { m_total.fetch_add(n, std::memory_order_relaxed); }
    quint64 total() const { return m_total.load(std::memory_order_relaxed); }

private:
    std::atomic<quint64> m_total{0};
};

/// A value that goes up and down. Thread-safe.
class Gauge {
public:
    void set(double v) { m_value.store(v, std::memory_order_relaxed); }
    void add(double delta);
    double value() const { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value{0};
};

/// One metric as it was when the snapshot was taken. Immutable once published.
struct MetricSnapshot {
    QString name;
    Labels labels;
    QString help;
    MetricType type = MetricType::Gauge;
    Unit unit = Unit::None;

    // Counter: cumulative total (never goes backwards; what exports use), the count since
    // the last "reset stats" (what the console shows) and the rate over the last interval.
    quint64 total = 0;
    quint64 sinceReset = 0;
    double rate = 0;
    // Gauge value.
    double value = 0;
    // Histogram: since the last reset, and over the last interval alone.
    HistogramSummary summary;
    HistogramSummary interval;
    // Histogram cumulative buckets for exporters (shared, immutable).
    std::shared_ptr<const HistogramCounts> cumulative;

    std::array<TimeSeries, int(SeriesField::Count_)> series;

    const TimeSeries &seriesFor(SeriesField f) const { return series[size_t(f)]; }
    QString label(const QString &key) const;
};

/// Something that happened in the engine: a reset, a stall, a config problem...
struct EngineEvent {
    qint64 wallMs = 0; // UTC ms since epoch
    QString kind;      // "reset", "stall", ...
    QString source;    // component that reported it
    QString message;
    double durationMs = 0;
};

/// Everything the registry publishes at one instant.
struct MetricsSnapshot {
    quint64 sequence = 0;
    qint64 wallMs = 0;
    qint64 monotonicMs = 0;
    qint64 lastResetWallMs = 0;
    int resetCount = 0;
    int intervalMs = 1000;
    QList<MetricSnapshot> metrics;
    QList<EngineEvent> events; // most recent last, bounded

    const MetricSnapshot *find(const QString &name, const Labels &labels = {}) const;
    QList<const MetricSnapshot *> findAll(const QString &name) const;

    /// Rebuilds the index find() reads from `metrics`, for a snapshot assembled outside the
    /// registry (e.g. decoded from the wire). When two metrics share a name and labels, find()
    /// returns the later one.
    void rebuildIndex();

private:
    friend class MetricsRegistry;
    QHash<QString, int> m_index;
};

/**
 * The engine's one metrics registry. Components create counters, gauges and histograms
 * (with labels) once and update them from any thread; capture() freezes everything into an
 * immutable MetricsSnapshot and appends a point to every metric's bounded time series.
 * The UI, reports, the admin API and exporters all read that one snapshot.
 */
class MetricsRegistry {
public:
    explicit MetricsRegistry(Clock *clock = Clock::system(), int seriesCapacity = 3600);
    ~MetricsRegistry();
    MetricsRegistry(const MetricsRegistry &) = delete;
    MetricsRegistry &operator=(const MetricsRegistry &) = delete;

    /// Returns the metric with that name and labels, creating it on first use. The
    /// pointer stays valid for the registry's lifetime.
    Counter *counter(const QString &name, const Labels &labels = {}, const QString &help = {},
                     Unit unit = Unit::None);
    Gauge *gauge(const QString &name, const Labels &labels = {}, const QString &help = {},
                 Unit unit = Unit::None);
    Histogram *histogram(const QString &name, const Labels &labels = {}, const QString &help = {},
                         Unit unit = Unit::Nanoseconds);

    /// Records an event (thread-safe); it appears in the next snapshot.
    void recordEvent(const QString &kind, const QString &source, const QString &message,
                     double durationMs = 0);

    /// "Reset stats": resets what is shown (since-reset counts, histograms, series) and
    /// records a reset event. Cumulative totals for export are untouched.
    void resetStats(const QString &who = QStringLiteral("operator"));

    /// Freezes the current state into a snapshot and appends one point per series.
    std::shared_ptr<const MetricsSnapshot> capture();

    int metricCount() const;
    qint64 wallNowMs() const;
    Clock *clock() const { return m_clock; }
    void setIntervalMs(int ms) { m_intervalMs = ms; }
    static QString key(const QString &name, const Labels &labels);

private:
    struct Entry;
    Entry *findOrCreate(const QString &name, const Labels &labels, const QString &help, MetricType type,
                        Unit unit);

    Clock *m_clock;
    const int m_seriesCapacity;
    const qint64 m_wallOriginMs;
    const qint64 m_monoOriginNs;
    int m_intervalMs = 1000;

    mutable QMutex m_mutex; // protects m_entries, m_index, m_events and reset state
    std::vector<std::unique_ptr<Entry>> m_entries;
    QHash<QString, Entry *> m_index;
    std::deque<EngineEvent> m_events;
    quint64 m_sequence = 0;
    qint64 m_lastCaptureNs = 0;
    qint64 m_lastResetWallMs = 0;
    int m_resetCount = 0;
};

} // namespace vega

Q_DECLARE_METATYPE(std::shared_ptr<const vega::MetricsSnapshot>)
