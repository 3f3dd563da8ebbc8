#include "connectionspage.h"

#include "snapshotsource.h"
#include "format.h"
#include "poolmodel.h"
#include "stattile.h"
#include "timechart.h"

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

namespace vega::ui {

namespace {
constexpr double kNsPerMs = 1e6;
const QString kHost = QStringLiteral("host");

struct HostColors {
    QColor main;   // reuse ratio, p50, active
    QColor second; // p99, pending
};

HostColors hostColors(int n)
{
    static const QList<HostColors> colors = {
        {QColor(0x0d, 0x94, 0x88), QColor(0xf5, 0x9e, 0x0b)},
        {QColor(0x3b, 0x82, 0xf6), QColor(0xd6, 0x3c, 0x3c)},
        {QColor(0x8b, 0x5c, 0xf6), QColor(0xb4, 0x53, 0x09)},
        {QColor(0x06, 0xb6, 0xd4), QColor(0xdb, 0x27, 0x77)},
    };
    return colors.at(n % colors.size());
}

quint64 sinceResetSum(const MetricsSnapshot &metrics, const QString &name)
{
    quint64 sum = 0;
    const QList<const MetricSnapshot *> all = metrics.findAll(name);
    for (const MetricSnapshot *m : all)
        sum += m->sinceReset;
    return sum;
}
} // namespace

ConnectionsPage::ConnectionsPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Connections"), m_updated);

    struct TileSpec {
        QString id;
        QString title;
        QString toolTip;
        QColor accent;
    };
    const QList<TileSpec> specs = {
        {QStringLiteral("reuse"), tr("Connection reuse"),
         tr("Share of backend requests sent on an already open connection"), hostColors(0).main},
        {QStringLiteral("opened"), tr("Connections opened"), tr("New TCP connections since the last reset"),
         QColor(0x7d, 0x84, 0x8f)},
        {QStringLiteral("active"), tr("Active requests"), tr("Requests on the wire now, over every pool"),
         QColor(0x3b, 0x82, 0xf6)},
        {QStringLiteral("connectP50"), tr("Connect p50"), tr("Median time to open a connection"),
         hostColors(0).main},
        {QStringLiteral("connectP99"), tr("Connect p99"),
         tr("99th percentile of the time to open a connection"), hostColors(0).second},
        {QStringLiteral("cleanups"), tr("Idle cleanups"), tr("Times a pool's idle connections were closed"),
         QColor(0x7d, 0x84, 0x8f)},
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

    m_reuseChart = new TimeChart(tr("Connection reuse (%)"), this);
    m_reuseChart->setObjectName(QStringLiteral("reuseChart"));
    m_reuseChart->setValueAxisTitle(tr("%"));
    m_reuseChart->setValueSuffix(QStringLiteral(" %"));
    m_reuseChart->setMinimumValueSpan(100);

    m_connectChart = new TimeChart(tr("Connect time (ms)"), this);
    m_connectChart->setObjectName(QStringLiteral("connectChart"));
    m_connectChart->setValueAxisTitle(tr("ms"));
    m_connectChart->setValueSuffix(QStringLiteral(" ms"));
    m_connectChart->setMinimumValueSpan(0.05); // local connections take microseconds

    m_occupancyChart = new TimeChart(tr("Pool occupancy (requests)"), this);
    m_occupancyChart->setObjectName(QStringLiteral("occupancyChart"));
    m_occupancyChart->setValueAxisTitle(tr("requests"));
    m_occupancyChart->setMinimumValueSpan(2);

    m_pools = new PoolModel(this);
    m_poolProxy = new QSortFilterProxyModel(this);
    auto *proxy = m_poolProxy;
    proxy->setSourceModel(m_pools);
    proxy->setSortRole(PoolModel::SortRole);
    // Sorted again at each snapshot, but not while the pointer is over the rows (resortUnlessHovered).
    proxy->setDynamicSortFilter(false);
    m_poolView = new QTreeView(this);
    m_poolView->setObjectName(QStringLiteral("poolView"));
    m_poolView->setModel(proxy);
    m_poolView->setRootIsDecorated(false);
    m_poolView->setUniformRowHeights(true);
    m_poolView->setAlternatingRowColors(true);
    m_poolView->setSortingEnabled(true);
    m_poolView->sortByColumn(PoolModel::HostColumn, Qt::AscendingOrder);
    m_poolView->header()->setStretchLastSection(true);
    m_poolView->header()->setSectionResizeMode(PoolModel::HostColumn, QHeaderView::ResizeToContents);
    for (int c = PoolModel::RequestsColumn; c < PoolModel::ColumnCount; ++c)
        m_poolView->setColumnWidth(c, 66);
    auto *poolBox = new QGroupBox(tr("Pools"), this);
    auto *poolLayout = new QVBoxLayout(poolBox);
    poolLayout->setContentsMargins(4, 4, 4, 4);
    poolLayout->addWidget(m_poolView);

    // Two charts a row: three would be too narrow for the time axis' labels.
    auto *top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(m_reuseChart);
    top->addWidget(m_occupancyChart);
    auto *bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(m_connectChart);
    bottom->addWidget(poolBox);
    for (QSplitter *s : {top, bottom}) {
        s->setChildrenCollapsible(false);
        s->setStretchFactor(0, 1);
        s->setStretchFactor(1, 1);
    }
    bottom->setStretchFactor(0, 2); // the pool table needs the room more than the sparse chart
    bottom->setStretchFactor(1, 3);
    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(top);
    vertical->addWidget(bottom);
    vertical->setChildrenCollapsible(false);

    // The pane sizes the operator chose are kept across runs.
    top->setObjectName(QStringLiteral("topSplitter"));
    bottom->setObjectName(QStringLiteral("bottomSplitter"));
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("connections"), {top, bottom, vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(tileRow);
    layout->addWidget(vertical, 1);

    if (engine) {
        setUpCharts(engine, {m_reuseChart, m_connectChart, m_occupancyChart});
        setSnapshot(engine->latest());
    }
}

ConnectionsPage::~ConnectionsPage() = default;

QStringList ConnectionsPage::tileIds()
{
    return {QStringLiteral("reuse"),      QStringLiteral("opened"),     QStringLiteral("active"),
            QStringLiteral("connectP50"), QStringLiteral("connectP99"), QStringLiteral("cleanups")};
}

StatTile *ConnectionsPage::tile(const QString &id) const
{
    for (StatTile *t : m_tiles)
        if (t->id() == id)
            return t;
    return nullptr;
}

int ConnectionsPage::ensureHost(const QString &host)
{
    const auto found = m_hostIndex.constFind(host);
    if (found != m_hostIndex.constEnd())
        return *found;
    // Every chart gets the host's series at once, so the indexes follow one pattern.
    const int n = int(m_hostIndex.size());
    const HostColors colors = hostColors(n);
    m_reuseChart->addSeries(host, colors.main);
    // Connections are opened in few intervals: markers, not a line across the gaps.
    m_connectChart->addSeries(tr("p50 %1").arg(host), colors.main, TimeChart::SeriesKind::Markers);
    m_connectChart->addSeries(tr("p99 %1").arg(host), colors.second, TimeChart::SeriesKind::Markers);
    m_occupancyChart->addSeries(tr("active %1").arg(host), colors.main);
    m_occupancyChart->addSeries(tr("pending %1").arg(host), colors.second);
    m_hostIndex.insert(host, n);
    return n;
}

void ConnectionsPage::applySnapshot(const Snapshot &snapshot)
{
    m_pools->setPools(snapshot.http.pools);
    resortUnlessHovered(m_poolView, m_poolProxy);
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(metrics.wallMs)));

    const QList<const MetricSnapshot *> reuse = metrics.findAll(QStringLiteral("pool_reuse_ratio"));
    for (const MetricSnapshot *m : reuse)
        m_reuseChart->setSeriesData(ensureHost(m->label(kHost)), *m, SeriesField::Value, 100.0);
    const QList<const MetricSnapshot *> connect = metrics.findAll(QStringLiteral("pool_connect_time"));
    for (const MetricSnapshot *m : connect) {
        const int n = ensureHost(m->label(kHost));
        m_connectChart->setSeriesData(2 * n, *m, SeriesField::P50, 1.0 / kNsPerMs);
        m_connectChart->setSeriesData(2 * n + 1, *m, SeriesField::P99, 1.0 / kNsPerMs);
    }
    const QList<const MetricSnapshot *> active = metrics.findAll(QStringLiteral("pool_active_requests"));
    for (const MetricSnapshot *m : active)
        m_occupancyChart->setSeriesData(2 * ensureHost(m->label(kHost)), *m, SeriesField::Value);
    const QList<const MetricSnapshot *> pending = metrics.findAll(QStringLiteral("pool_pending_requests"));
    for (const MetricSnapshot *m : pending)
        m_occupancyChart->setSeriesData(2 * ensureHost(m->label(kHost)) + 1, *m, SeriesField::Value);
    for (TimeChart *chart : {m_reuseChart, m_connectChart, m_occupancyChart})
        chart->setEndTime(metrics.wallMs);

    updateTiles(snapshot);
}

void ConnectionsPage::updateTiles(const Snapshot &snapshot)
{
    const MetricsSnapshot &metrics = *snapshot.metrics;
    const QLocale locale;

    const quint64 backend = sinceResetSum(metrics, QStringLiteral("http_backend_requests"));
    const quint64 opened = sinceResetSum(metrics, QStringLiteral("pool_connections_opened"));
    tile(QStringLiteral("reuse"))
        ->setContent(backend > 0 ? formatRatioPercent(1.0 - double(opened) / double(backend))
                                 : missingValueText(),
                     tr("since reset · %1 requests on %2 new connections")
                         .arg(locale.toString(backend), locale.toString(opened)));

    double openedRate = 0;
    const QList<const MetricSnapshot *> openedMetrics =
        metrics.findAll(QStringLiteral("pool_connections_opened"));
    for (const MetricSnapshot *m : openedMetrics)
        openedRate += m->rate;
    tile(QStringLiteral("opened"))
        ->setContent(openedMetrics.isEmpty() ? missingValueText() : locale.toString(opened),
                     openedMetrics.isEmpty()
                         ? tr("since reset")
                         : tr("since reset · %1 now").arg(formatRate(openedRate, tr("conn/s"))));

    int activeNow = 0;
    int pendingNow = 0;
    int limit = 0;
    for (const HostPoolStats &p : snapshot.http.pools) {
        activeNow += p.active;
        pendingNow += p.pending;
        limit += p.maxConnections;
    }
    const bool hasPools = !snapshot.http.pools.isEmpty();
    tile(QStringLiteral("active"))
        ->setContent(hasPools ? QString::number(activeNow) : missingValueText(),
                     hasPools ? tr("on the wire now, limit %1 · %2 waiting").arg(limit).arg(pendingNow)
                              : tr("no pool yet"));

    // Connections are opened rarely, so the tiles use everything since the reset; percentiles of
    // different hosts cannot be merged, so they show the host that opened the most.
    const MetricSnapshot *busiest = nullptr;
    const QList<const MetricSnapshot *> connect = metrics.findAll(QStringLiteral("pool_connect_time"));
    for (const MetricSnapshot *m : connect)
        if (!busiest || m->summary.count > busiest->summary.count)
            busiest = m;
    const bool hasConnects = busiest && busiest->summary.count > 0;
    QString scope = hasConnects
                        ? tr("since reset, %1 connections").arg(locale.toString(busiest->summary.count))
                        : tr("since reset, no connection yet");
    if (connect.size() > 1 && busiest)
        scope += QStringLiteral(" · ") + busiest->label(kHost);
    tile(QStringLiteral("connectP50"))
        ->setContent(hasConnects ? formatValue(busiest->summary.p50, Unit::Nanoseconds) : missingValueText(),
                     scope);
    tile(QStringLiteral("connectP99"))
        ->setContent(hasConnects ? formatValue(busiest->summary.p99, Unit::Nanoseconds) : missingValueText(),
                     scope);

    const QList<const MetricSnapshot *> cleanups = metrics.findAll(QStringLiteral("pool_idle_cleanups"));
    tile(QStringLiteral("cleanups"))
        ->setContent(cleanups.isEmpty()
                         ? missingValueText()
                         : locale.toString(sinceResetSum(metrics, QStringLiteral("pool_idle_cleanups"))),
                     tr("since reset · idle connections closed"));
}

} // namespace vega::ui
