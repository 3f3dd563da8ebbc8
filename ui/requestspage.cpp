#include "requestspage.h"

#include "snapshotsource.h"
#include "format.h"
#include "stattile.h"
#include "timechart.h"
#include "topkeysmodel.h"

#include <QAbstractAxis>
#include <QChart>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

namespace vega::ui {

namespace {
constexpr double kNsPerMs = 1e6;
constexpr qint64 kTileWindowMs = 10000;

const QColor kRequestColor(0x3b, 0x82, 0xf6);
const QColor kBackendColor(0xa8, 0x55, 0xf7);
const QColor kCoalesceColor(0x0d, 0x94, 0x88);
const QColor kCacheColor(0x16, 0xa3, 0x4a);
const QColor kP50Color(0x3b, 0x82, 0xf6);
const QColor kP99Color(0xf5, 0x9e, 0x0b);

/// p50/p99 colours of the n-th host in the latency chart.
QPair<QColor, QColor> hostColors(int n)
{
    static const QList<QPair<QColor, QColor>> pairs = {
        {kP50Color, kP99Color},
        {QColor(0x10, 0xb9, 0x81), QColor(0xd6, 0x3c, 0x3c)},
        {QColor(0x8b, 0x5c, 0xf6), QColor(0xb4, 0x53, 0x09)},
        {QColor(0x06, 0xb6, 0xd4), QColor(0xdb, 0x27, 0x77)},
    };
    return pairs.at(n % pairs.size());
}

const QString kHost = QStringLiteral("host");
const Labels kHttpCache{{QStringLiteral("cache"), QStringLiteral("http")}};

bool hasLabels(const MetricSnapshot &m, const Labels &wanted)
{
    for (const auto &l : wanted)
        if (m.label(l.first) != l.second)
            return false;
    return true;
}

/// Per capture instant after `fromMs`, the sum of the rate series of every metric `name`
/// carrying `labels`. The registry captures all metrics at the same instants, so the points
/// of different hosts line up.
std::map<qint64, double> rateSums(const MetricsSnapshot &metrics, const QString &name, qint64 fromMs,
                                  const Labels &labels = {})
{
    std::map<qint64, double> sums;
    const QList<const MetricSnapshot *> all = metrics.findAll(name);
    for (const MetricSnapshot *m : all) {
        if (!hasLabels(*m, labels))
            continue;
        const QVector<SeriesPoint> points = m->seriesFor(SeriesField::Rate).pointsSince(fromMs);
        for (const SeriesPoint &p : points)
            sums[p.tMs] += p.value;
    }
    return sums;
}

quint64 sinceResetSum(const MetricsSnapshot &metrics, const QString &name, const Labels &labels = {})
{
    quint64 sum = 0;
    const QList<const MetricSnapshot *> all = metrics.findAll(name);
    for (const MetricSnapshot *m : all)
        if (hasLabels(*m, labels))
            sum += m->sinceReset;
    return sum;
}

/// Sum of the series' values over the last `windowMs` before `endMs`, and how many points.
QPair<double, int> windowSum(const TimeSeries &series, qint64 endMs, qint64 windowMs)
{
    double sum = 0;
    int count = 0;
    const QVector<SeriesPoint> points = series.pointsSince(endMs - windowMs + 1);
    for (const SeriesPoint &p : points) {
        sum += p.value;
        ++count;
    }
    return {sum, count};
}

std::optional<double> windowAverage(const TimeSeries &series, qint64 endMs)
{
    const auto [sum, count] = windowSum(series, endMs, kTileWindowMs);
    return count > 0 ? std::optional<double>(sum / count) : std::nullopt;
}

std::optional<double> windowRatio(const TimeSeries &part, const TimeSeries &whole, qint64 endMs)
{
    const double p = windowSum(part, endMs, kTileWindowMs).first;
    const double w = windowSum(whole, endMs, kTileWindowMs).first;
    return w > 0 ? std::optional<double>(p / w) : std::nullopt;
}

QString ratioText(std::optional<double> ratio)
{
    return ratio ? formatRatioPercent(*ratio) : missingValueText();
}

QString ratioText(quint64 part, quint64 whole)
{
    return whole > 0 ? formatRatioPercent(double(part) / double(whole)) : missingValueText();
}
} // namespace

RequestsPage::RequestsPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("HTTP requests"), m_updated);

    struct TileSpec {
        QString id;
        QString title;
        QString toolTip;
        QColor accent;
    };
    const QList<TileSpec> specs = {
        {QStringLiteral("requests"), tr("Requests"),
         tr("Requests callers sent through the engine, per second"), kRequestColor},
        {QStringLiteral("backend"), tr("Backend"),
         tr("Requests written to the network, retries included, per second"), kBackendColor},
        {QStringLiteral("coalesced"), tr("Coalesced"),
         tr("Share of requests that joined an identical request already in flight"), kCoalesceColor},
        {QStringLiteral("cacheHits"), tr("Cache hits"), tr("Share of cache lookups answered from the cache"),
         kCacheColor},
        {QStringLiteral("latencyP50"), tr("Latency p50"), tr("Median time from send() to the answer"),
         kP50Color},
        {QStringLiteral("latencyP99"), tr("Latency p99"),
         tr("99th percentile of the time from send() to the answer"), kP99Color},
    };
    auto *tileRow = new QWidget(this);
    auto *tileLayout = new QHBoxLayout(tileRow);
    tileLayout->setContentsMargins(0, 0, 0, 0);
    tileLayout->setSpacing(8);
    for (const TileSpec &spec : specs) {
        auto *tile = new StatTile(spec.id, spec.title, spec.toolTip, this);
        tile->setAccent(spec.accent);
        m_tiles.append(tile);
        tileLayout->addWidget(tile);
    }

    m_rateChart = new TimeChart(tr("Requests vs backend (req/s)"), this);
    m_rateChart->setObjectName(QStringLiteral("rateChart"));
    m_rateChart->addSeries(tr("requests"), kRequestColor);
    m_rateChart->addSeries(tr("backend"), kBackendColor);
    m_rateChart->setValueAxisTitle(tr("req/s"));
    m_rateChart->setValueSuffix(QStringLiteral(" req/s"));
    m_rateChart->setMinimumValueSpan(1);

    m_ratioChart = new TimeChart(tr("Coalesced and cache hits per interval (%)"), this);
    m_ratioChart->setObjectName(QStringLiteral("ratioChart"));
    m_ratioChart->addSeries(tr("coalesced / requests"), kCoalesceColor);
    m_ratioChart->addSeries(tr("cache hits / lookups"), kCacheColor);
    m_ratioChart->setValueAxisTitle(tr("%"));
    m_ratioChart->setValueSuffix(QStringLiteral(" %"));
    m_ratioChart->setMinimumValueSpan(100);

    m_latencyChart = new TimeChart(tr("Latency per interval (ms)"), this);
    m_latencyChart->setObjectName(QStringLiteral("latencyChart"));
    m_latencyChart->setValueAxisTitle(tr("ms"));
    m_latencyChart->setValueSuffix(QStringLiteral(" ms"));
    m_latencyChart->setMinimumValueSpan(1);

    m_topKeys = new TopKeysModel(this);
    m_topKeysProxy = new QSortFilterProxyModel(this);
    auto *proxy = m_topKeysProxy;
    proxy->setSourceModel(m_topKeys);
    proxy->setSortRole(TopKeysModel::SortRole);
    // Sorted again at each snapshot, but not while the pointer is over the rows (resortUnlessHovered).
    proxy->setDynamicSortFilter(false);
    m_topKeysView = new QTreeView(this);
    m_topKeysView->setObjectName(QStringLiteral("topKeysView"));
    m_topKeysView->setModel(proxy);
    m_topKeysView->setRootIsDecorated(false);
    m_topKeysView->setUniformRowHeights(true);
    m_topKeysView->setAlternatingRowColors(true);
    m_topKeysView->setSortingEnabled(true);
    m_topKeysView->sortByColumn(TopKeysModel::RankColumn, Qt::AscendingOrder);
    m_topKeysView->header()->setStretchLastSection(false);
    m_topKeysView->header()->setSectionResizeMode(TopKeysModel::KeyColumn, QHeaderView::Stretch);
    m_topKeysView->setColumnWidth(TopKeysModel::RankColumn, 50);
    m_topKeysView->setColumnWidth(TopKeysModel::CoalescedColumn, 90);
    m_topKeysView->setToolTip(
        tr("Sorted live by the chosen column; rows hold still while the pointer is over them."));
    m_inFlight = new QLabel(this);
    m_inFlight->setObjectName(QStringLiteral("inFlightKeys"));
    auto *keysBox = new QGroupBox(tr("Top coalesced keys"), this);
    auto *keysLayout = new QVBoxLayout(keysBox);
    keysLayout->setContentsMargins(4, 4, 4, 4);
    keysLayout->addWidget(m_topKeysView, 1);
    keysLayout->addWidget(m_inFlight);

    auto *top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(m_rateChart);
    top->addWidget(m_ratioChart);
    auto *bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(m_latencyChart);
    bottom->addWidget(keysBox);
    for (QSplitter *s : {top, bottom}) {
        s->setChildrenCollapsible(false);
        s->setStretchFactor(0, 1);
        s->setStretchFactor(1, 1);
    }
    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(top);
    vertical->addWidget(bottom);
    vertical->setChildrenCollapsible(false);

    // The pane sizes the operator chose are kept across runs.
    top->setObjectName(QStringLiteral("topSplitter"));
    bottom->setObjectName(QStringLiteral("bottomSplitter"));
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("requests"), {top, bottom, vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(tileRow);
    layout->addWidget(vertical, 1);

    if (engine) {
        setUpCharts(engine, {m_rateChart, m_ratioChart, m_latencyChart});
        m_seriesCapacity = std::max(1, engine->config().metrics.seriesCapacity);
        setSnapshot(engine->latest());
    }
}

RequestsPage::~RequestsPage() = default;

QStringList RequestsPage::tileIds()
{
    return {QStringLiteral("requests"),  QStringLiteral("backend"),    QStringLiteral("coalesced"),
            QStringLiteral("cacheHits"), QStringLiteral("latencyP50"), QStringLiteral("latencyP99")};
}

StatTile *RequestsPage::tile(const QString &id) const
{
    for (StatTile *t : m_tiles)
        if (t->id() == id)
            return t;
    return nullptr;
}

void RequestsPage::applySnapshot(const Snapshot &snapshot)
{
    m_topKeys->setKeys(snapshot.http.topCoalescedKeys);
    resortUnlessHovered(m_topKeysView, m_topKeysProxy);
    m_inFlight->setText(snapshot.http.inFlightKeys == 1
                            ? tr("1 request key in flight now")
                            : tr("%1 request keys in flight now").arg(snapshot.http.inFlightKeys));
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(metrics.wallMs)));
    updateDerived(metrics);
    m_rateChart->setSeriesData(RequestRateSeries, m_derived.requests);
    m_rateChart->setSeriesData(BackendRateSeries, m_derived.backend);
    m_rateChart->setEndTime(metrics.wallMs);
    m_ratioChart->setSeriesData(CoalesceRatioSeries, m_derived.coalesceRatio, 100.0);
    m_ratioChart->setSeriesData(CacheHitRatioSeries, m_derived.cacheHitRatio, 100.0);
    m_ratioChart->setEndTime(metrics.wallMs);
    updateLatencyChart(metrics);
    updateTiles(snapshot);
}

void RequestsPage::updateDerived(const MetricsSnapshot &metrics)
{
    QStringList hosts;
    const QList<const MetricSnapshot *> requestMetrics = metrics.findAll(QStringLiteral("http_requests"));
    for (const MetricSnapshot *m : requestMetrics)
        hosts.append(m->label(kHost));
    hosts.sort();
    // Only the points captured since the last update are added; a reset (which clears the
    // registry's series) or a new host starts again from the whole history.
    const bool rebuild = !m_hasDerived || metrics.resetCount != m_derivedResetCount ||
                         hosts != m_derivedHosts || metrics.wallMs < m_derivedUntilMs;
    if (rebuild) {
        const TimeSeries empty(m_seriesCapacity);
        m_derived = Derived{empty, empty, empty, empty, empty, empty, empty};
        m_derivedResetCount = metrics.resetCount;
        m_derivedHosts = hosts;
        m_hasDerived = true;
    }
    const qint64 from = rebuild ? std::numeric_limits<qint64>::min() : m_derivedUntilMs + 1;
    const std::map<qint64, double> requests = rateSums(metrics, QStringLiteral("http_requests"), from);
    const std::map<qint64, double> backend = rateSums(metrics, QStringLiteral("http_backend_requests"), from);
    const std::map<qint64, double> waiters = rateSums(metrics, QStringLiteral("coalescer_waiters"), from);
    const std::map<qint64, double> hits = rateSums(metrics, QStringLiteral("cache_hits"), from, kHttpCache);
    const std::map<qint64, double> misses =
        rateSums(metrics, QStringLiteral("cache_misses"), from, kHttpCache);

    for (const auto &[t, rate] : requests) {
        m_derived.requests.append(t, rate);
        const auto w = waiters.find(t);
        const double coalesced = w != waiters.end() ? w->second : 0.0;
        m_derived.coalesced.append(t, coalesced);
        if (rate > 0)
            m_derived.coalesceRatio.append(t, coalesced / rate);
    }
    for (const auto &[t, rate] : backend)
        m_derived.backend.append(t, rate);
    for (const auto &[t, hitRate] : hits) {
        const auto m = misses.find(t);
        const double lookups = hitRate + (m != misses.end() ? m->second : 0.0);
        m_derived.cacheHits.append(t, hitRate);
        m_derived.cacheLookups.append(t, lookups);
        if (lookups > 0)
            m_derived.cacheHitRatio.append(t, hitRate / lookups);
    }
    m_derivedUntilMs = metrics.wallMs;
}

void RequestsPage::updateLatencyChart(const MetricsSnapshot &metrics)
{
    const QList<const MetricSnapshot *> durations = metrics.findAll(QStringLiteral("http_request_duration"));
    for (const MetricSnapshot *m : durations) {
        const QString host = m->label(kHost);
        int index = m_latencySeries.value(host, -1);
        if (index < 0) {
            const auto colors = hostColors(int(m_latencySeries.size()));
            index = m_latencyChart->addSeries(tr("p50 %1").arg(host), colors.first);
            m_latencyChart->addSeries(tr("p99 %1").arg(host), colors.second);
            m_latencySeries.insert(host, index);
        }
        m_latencyChart->setSeriesData(index, *m, SeriesField::P50, 1.0 / kNsPerMs);
        m_latencyChart->setSeriesData(index + 1, *m, SeriesField::P99, 1.0 / kNsPerMs);
    }
    m_latencyChart->setEndTime(metrics.wallMs);
}

void RequestsPage::updateTiles(const Snapshot &snapshot)
{
    const MetricsSnapshot &metrics = *snapshot.metrics;
    const qint64 end = metrics.wallMs;
    const QLocale locale;
    const QString lastWindow = tr("last 10 s");

    const auto requestRate = windowAverage(m_derived.requests, end);
    const quint64 requests = sinceResetSum(metrics, QStringLiteral("http_requests"));
    tile(QStringLiteral("requests"))
        ->setContent(requestRate ? formatRate(*requestRate) : missingValueText(),
                     tr("%1 · %2 since reset").arg(lastWindow, locale.toString(requests)));

    const auto backendRate = windowAverage(m_derived.backend, end);
    const quint64 backend = sinceResetSum(metrics, QStringLiteral("http_backend_requests"));
    const quint64 retries = sinceResetSum(metrics, QStringLiteral("http_retries"));
    tile(QStringLiteral("backend"))
        ->setContent(backendRate ? formatRate(*backendRate) : missingValueText(),
                     tr("%1 · %2 since reset, %3 retries")
                         .arg(lastWindow, locale.toString(backend), locale.toString(retries)));

    const quint64 waiters = sinceResetSum(metrics, QStringLiteral("coalescer_waiters"));
    tile(QStringLiteral("coalesced"))
        ->setContent(ratioText(windowRatio(m_derived.coalesced, m_derived.requests, end)),
                     tr("%1 · %2 since reset").arg(lastWindow, ratioText(waiters, requests)));

    const quint64 hits = sinceResetSum(metrics, QStringLiteral("cache_hits"), kHttpCache);
    const quint64 misses = sinceResetSum(metrics, QStringLiteral("cache_misses"), kHttpCache);
    const MetricSnapshot *entries = metrics.find(QStringLiteral("cache_entries"), kHttpCache);
    const MetricSnapshot *bytes = metrics.find(QStringLiteral("cache_bytes"), kHttpCache);
    QString cacheCaption = tr("%1 · %2 since reset").arg(lastWindow, ratioText(hits, hits + misses));
    if (entries && bytes)
        cacheCaption +=
            QStringLiteral("\n") +
            tr("%1 entries, %2").arg(locale.toString(qint64(entries->value)), formatBytes(bytes->value));
    tile(QStringLiteral("cacheHits"))
        ->setContent(ratioText(windowRatio(m_derived.cacheHits, m_derived.cacheLookups, end)), cacheCaption);

    // Percentiles of different hosts cannot be merged: the tiles show the busiest host.
    const MetricSnapshot *busiest = nullptr;
    const QList<const MetricSnapshot *> durations = metrics.findAll(QStringLiteral("http_request_duration"));
    for (const MetricSnapshot *m : durations)
        if (!busiest || m->interval.count > busiest->interval.count)
            busiest = m;
    const bool hasInterval = busiest && busiest->interval.count > 0;
    const bool hasSinceReset = busiest && busiest->summary.count > 0;
    QString scope = tr("last interval");
    if (durations.size() > 1 && busiest)
        scope += QStringLiteral(", ") + busiest->label(kHost);
    auto latencyTile = [&](const QString &id, double intervalNs, double sinceResetNs) {
        tile(id)->setContent(hasInterval ? formatValue(intervalNs, Unit::Nanoseconds) : missingValueText(),
                             tr("%1 · %2 since reset")
                                 .arg(scope, hasSinceReset ? formatValue(sinceResetNs, Unit::Nanoseconds)
                                                           : missingValueText()));
    };
    latencyTile(QStringLiteral("latencyP50"), busiest ? busiest->interval.p50 : 0,
                busiest ? busiest->summary.p50 : 0);
    latencyTile(QStringLiteral("latencyP99"), busiest ? busiest->interval.p99 : 0,
                busiest ? busiest->summary.p99 : 0);
}

} // namespace vega::ui
