#include "metrics.h"

#include <QMutexLocker>

#include <algorithm>

namespace vega {

namespace {
constexpr size_t kMaxEvents = 500;

Labels sortedLabels(Labels labels)
{
    std::sort(labels.begin(), labels.end(),
              [](const auto &a, const auto &b) { return a.first < b.first; });
    return labels;
}
} // namespace

QString unitSymbol(Unit unit)
{
    switch (unit) {
    case Unit::None: return {};
    case Unit::Nanoseconds: return QStringLiteral("ns");
    case Unit::Milliseconds: return QStringLiteral("ms");
    case Unit::Seconds: return QStringLiteral("s");
    case Unit::Bytes: return QStringLiteral("bytes");
    case Unit::BytesPerSecond: return QStringLiteral("bytes/s");
    case Unit::Percent: return QStringLiteral("%");
    case Unit::Ratio: return QStringLiteral("ratio");
    }
    return {};
}

QString metricTypeName(MetricType type)
{
    switch (type) {
    case MetricType::Counter: return QStringLiteral("counter");
    case MetricType::Gauge: return QStringLiteral("gauge");
    case MetricType::Histogram: return QStringLiteral("histogram");
    }
    return {};
}

QString seriesFieldName(SeriesField field)
{
    switch (field) {
    case SeriesField::Value: return QStringLiteral("value");
    case SeriesField::Rate: return QStringLiteral("rate");
    case SeriesField::P50: return QStringLiteral("p50");
    case SeriesField::P90: return QStringLiteral("p90");
    case SeriesField::P99: return QStringLiteral("p99");
    case SeriesField::Max: return QStringLiteral("max");
    case SeriesField::Mean: return QStringLiteral("mean");
    case SeriesField::Count_: break;
    }
    return {};
}

void Gauge::add(double delta)
{
    double current = m_value.load(std::memory_order_relaxed);
    while (!m_value.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
    }
}

QString MetricSnapshot::label(const QString &key) const
{
    for (const auto &l : labels)
        if (l.first == key)
            return l.second;
    return {};
}

const MetricSnapshot *MetricsSnapshot::find(const QString &name, const Labels &labels) const
{
    const auto it = m_index.constFind(MetricsRegistry::key(name, labels));
    return it == m_index.constEnd() ? nullptr : &metrics.at(*it);
}

void MetricsSnapshot::rebuildIndex()
{
    m_index.clear();
    m_index.reserve(metrics.size());
    for (int i = 0; i < metrics.size(); ++i)
        m_index.insert(MetricsRegistry::key(metrics.at(i).name, metrics.at(i).labels), i);
}

QList<const MetricSnapshot *> MetricsSnapshot::findAll(const QString &name) const
{
    QList<const MetricSnapshot *> out;
    for (const auto &m : metrics)
        if (m.name == name)
            out.append(&m);
    return out;
}

struct MetricsRegistry::Entry {
    QString name;
    Labels labels;
    QString help;
    MetricType type;
    Unit unit;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    quint64 counterBaseline = 0;
    quint64 lastTotal = 0;
    HistogramCounts lastCounts;
    std::array<TimeSeries, int(SeriesField::Count_)> series;
};

MetricsRegistry::MetricsRegistry(Clock *clock, int seriesCapacity)
    : m_clock(clock), m_seriesCapacity(seriesCapacity), m_wallOriginMs(QDateTime::currentMSecsSinceEpoch()),
      m_monoOriginNs(clock->nowNs())
{
    m_lastCaptureNs = m_monoOriginNs;
}

MetricsRegistry::~MetricsRegistry() = default;

QString MetricsRegistry::key(const QString &name, const Labels &labels)
{
    QString k = name;
    for (const auto &l : sortedLabels(labels))
        k += QLatin1Char('\x1f') + l.first + QLatin1Char('=') + l.second;
    return k;
}

qint64 MetricsRegistry::wallNowMs() const
{
    return m_wallOriginMs + (m_clock->nowNs() - m_monoOriginNs) / 1000000;
}

MetricsRegistry::Entry *MetricsRegistry::findOrCreate(const QString &name, const Labels &labels,
                                                      const QString &help, MetricType type, Unit unit)
{
    QMutexLocker lock(&m_mutex);
    const QString k = key(name, labels);
    if (Entry *e = m_index.value(k)) {
        Q_ASSERT_X(e->type == type, "MetricsRegistry", "metric re-registered with another type");
        return e;
    }
    auto e = std::make_unique<Entry>();
    e->name = name;
    e->labels = sortedLabels(labels);
    e->help = help;
    e->type = type;
    e->unit = unit;
    for (auto &s : e->series)
        s = TimeSeries(m_seriesCapacity, TimeSeries::Storage::Preallocated);
    switch (type) {
    case MetricType::Counter: e->counter = std::make_unique<Counter>(); break;
    case MetricType::Gauge: e->gauge = std::make_unique<Gauge>(); break;
    case MetricType::Histogram:
        e->histogram = std::make_unique<Histogram>();
        e->lastCounts.buckets.assign(Histogram::bucketCount(), 0);
        break;
    }
    Entry *raw = e.get();
    m_entries.push_back(std::move(e));
    m_index.insert(k, raw);
    return raw;
}

Counter *MetricsRegistry::counter(const QString &name, const Labels &labels, const QString &help, Unit unit)
{
    Entry *e = findOrCreate(name, labels, help, MetricType::Counter, unit);
    return e->counter.get();
}

Gauge *MetricsRegistry::gauge(const QString &name, const Labels &labels, const QString &help, Unit unit)
{
    Entry *e = findOrCreate(name, labels, help, MetricType::Gauge, unit);
    return e->gauge.get();
}

Histogram *MetricsRegistry::histogram(const QString &name, const Labels &labels, const QString &help,
                                      Unit unit)
{
    Entry *e = findOrCreate(name, labels, help, MetricType::Histogram, unit);
    return e->histogram.get();
}

void MetricsRegistry::recordEvent(const QString &kind, const QString &source, const QString &message,
                                  double durationMs)
{
    EngineEvent ev{wallNowMs(), kind, source, message, durationMs};
    QMutexLocker lock(&m_mutex);
    m_events.push_back(std::move(ev));
    while (m_events.size() > kMaxEvents)
        m_events.pop_front();
}

void MetricsRegistry::resetStats(const QString &who)
{
    {
        QMutexLocker lock(&m_mutex);
        for (auto &e : m_entries) {
            if (e->counter)
                e->counterBaseline = e->counter->total();
            if (e->histogram)
                e->histogram->resetView();
        }
        m_lastResetWallMs = wallNowMs();
        ++m_resetCount;
    }
    recordEvent(QStringLiteral("reset"), who, QStringLiteral("Statistics reset by %1").arg(who));
}

int MetricsRegistry::metricCount() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_entries.size());
}

std::shared_ptr<const MetricsSnapshot> MetricsRegistry::capture()
{
    auto snap = std::make_shared<MetricsSnapshot>();
    QMutexLocker lock(&m_mutex);
    const qint64 nowNs = m_clock->nowNs();
    const double dtSeconds = std::max(1e-9, double(nowNs - m_lastCaptureNs) / 1e9);
    m_lastCaptureNs = nowNs;
    const qint64 wall = m_wallOriginMs + (nowNs - m_monoOriginNs) / 1000000;

    snap->sequence = ++m_sequence;
    snap->wallMs = wall;
    snap->monotonicMs = nowNs / 1000000;
    snap->lastResetWallMs = m_lastResetWallMs;
    snap->resetCount = m_resetCount;
    snap->intervalMs = m_intervalMs;
    snap->metrics.reserve(int(m_entries.size()));

    for (auto &e : m_entries) {
        MetricSnapshot m;
        m.name = e->name;
        m.labels = e->labels;
        m.help = e->help;
        m.type = e->type;
        m.unit = e->unit;
        switch (e->type) {
        case MetricType::Counter: {
            const quint64 total = e->counter->total();
            m.total = total;
            m.sinceReset = total - std::min(total, e->counterBaseline);
            m.rate = double(total - std::min(total, e->lastTotal)) / dtSeconds;
            e->lastTotal = total;
            e->series[size_t(SeriesField::Rate)].append(wall, m.rate);
            break;
        }
        case MetricType::Gauge:
            m.value = e->gauge->value();
            e->series[size_t(SeriesField::Value)].append(wall, m.value);
            break;
        case MetricType::Histogram: {
            auto cumulative = std::make_shared<HistogramCounts>(e->histogram->cumulative());
            const HistogramCounts interval = cumulative->minus(e->lastCounts);
            m.interval = interval.summary();
            m.summary = e->histogram->sinceReset().summary();
            m.total = cumulative->count;
            m.rate = double(interval.count) / dtSeconds;
            e->lastCounts = *cumulative;
            m.cumulative = std::move(cumulative);
            e->series[size_t(SeriesField::Rate)].append(wall, m.rate);
            if (interval.count) {
                e->series[size_t(SeriesField::P50)].append(wall, m.interval.p50);
                e->series[size_t(SeriesField::P90)].append(wall, m.interval.p90);
                e->series[size_t(SeriesField::P99)].append(wall, m.interval.p99);
                e->series[size_t(SeriesField::Max)].append(wall, double(m.interval.max));
                e->series[size_t(SeriesField::Mean)].append(wall, m.interval.mean);
            }
            break;
        }
        }
        m.series = e->series;
        snap->m_index.insert(key(m.name, m.labels), snap->metrics.size());
        snap->metrics.append(std::move(m));
    }
    snap->events.reserve(int(m_events.size()));
    for (const auto &ev : m_events)
        snap->events.append(ev);
    return snap;
}

} // namespace vega
