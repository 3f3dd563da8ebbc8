#include "streamspage.h"

#include "snapshotsource.h"
#include "format.h"
#include "healthstyle.h"
#include "stattile.h"
#include "streammodel.h"
#include "timechart.h"

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
constexpr double kKiB = 1024.0;
const QColor kActiveColor(0x3b, 0x82, 0xf6);
const QColor kSubscriberColor(0x8b, 0x5c, 0xf6);
const QColor kBufferedColor(0xf5, 0x9e, 0x0b);
const QColor kInColor(0x0d, 0x94, 0x88);
const QColor kOutColor(0x3b, 0x82, 0xf6);
const QColor kGrey(0x7d, 0x84, 0x8f);

const Labels kIn{{QStringLiteral("direction"), QStringLiteral("in")}};
const Labels kOut{{QStringLiteral("direction"), QStringLiteral("out")}};

/// A relay counter as the console shows it: since the last reset when the metric is in the
/// snapshot, else the relay's own total.
struct Count {
    quint64 value = 0;
    bool sinceReset = false;
};

Count countOf(const MetricsSnapshot *metrics, const char *name, quint64 total)
{
    if (metrics) {
        if (const MetricSnapshot *m = metrics->find(QString::fromLatin1(name)))
            return {m->sinceReset, true};
    }
    return {total, false};
}
} // namespace

StreamsPage::StreamsPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Streams"), m_updated);

    struct TileSpec {
        QString id;
        QString title;
        QString toolTip;
        QColor accent;
    };
    const QList<TileSpec> specs = {
        {QStringLiteral("active"), tr("Active streams"), tr("Upstream streams open now"), kActiveColor},
        {QStringLiteral("subscribers"), tr("Subscribers"), tr("Consumers attached to the open streams"),
         kSubscriberColor},
        {QStringLiteral("buffered"), tr("Buffered"), tr("Bytes waiting in the subscribers' buffers"),
         kBufferedColor},
        {QStringLiteral("pauses"), tr("Pauses / resumes"),
         tr("Times a stream stopped reading its upstream because a subscriber was at its high watermark "
            "(backpressure), and times it resumed"),
         kGrey},
        {QStringLiteral("dropped"), tr("Dropped chunks"),
         tr("Chunks dropped for lossy (DropOldest) subscribers that fell behind"), kGrey},
        {QStringLiteral("disconnects"), tr("Disconnects"),
         tr("Slow subscribers disconnected (Disconnect policy)"), kGrey},
        {QStringLiteral("joins"), tr("Shared joins"),
         tr("Subscribers that joined a shared stream in progress instead of opening their own upstream"),
         kGrey},
    };
    auto *tileRow = new QWidget(this);
    auto *tileLayout = new QHBoxLayout(tileRow);
    tileLayout->setContentsMargins(0, 0, 0, 0);
    tileLayout->setSpacing(8);
    for (const TileSpec &spec : specs) {
        auto *tile = new StatTile(spec.id, spec.title, spec.toolTip, this);
        tile->setAccent(spec.accent);
        tile->setMinimumWidth(120);
        m_tiles.append(tile);
        tileLayout->addWidget(tile);
    }

    m_bufferChart = new TimeChart(tr("Buffered in subscribers (KiB)"), this);
    m_bufferChart->setObjectName(QStringLiteral("bufferChart"));
    m_bufferChart->setValueAxisTitle(tr("KiB"));
    m_bufferChart->setValueSuffix(QStringLiteral(" KiB"));
    m_bufferChart->setMinimumValueSpan(64);
    m_bufferChart->addSeries(tr("buffered"), kBufferedColor);

    m_throughputChart = new TimeChart(tr("Throughput (KiB/s)"), this);
    m_throughputChart->setObjectName(QStringLiteral("throughputChart"));
    m_throughputChart->setValueAxisTitle(tr("KiB/s"));
    m_throughputChart->setValueSuffix(QStringLiteral(" KiB/s"));
    m_throughputChart->setMinimumValueSpan(10);
    m_throughputChart->addSeries(tr("in (from upstreams)"), kInColor);
    m_throughputChart->addSeries(tr("out (to subscribers)"), kOutColor);

    m_streams = new StreamModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_streams);
    m_proxy->setSortRole(StreamSortRole);
    // Sorted again at each snapshot, but not while the pointer is over the rows.
    m_proxy->setDynamicSortFilter(false);
    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("streamView"));
    m_view->setModel(m_proxy);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(StreamModel::AgeColumn, Qt::DescendingOrder);
    m_view->header()->setStretchLastSection(false);
    m_view->header()->setSectionResizeMode(StreamModel::RequestColumn, QHeaderView::Stretch);
    for (int c = StreamModel::SharedColumn; c < StreamModel::ColumnCount; ++c)
        m_view->setColumnWidth(c, 84);

    auto *charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(m_bufferChart);
    charts->addWidget(m_throughputChart);
    charts->setChildrenCollapsible(false);
    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(charts);
    vertical->addWidget(m_view);
    vertical->setChildrenCollapsible(false);
    vertical->setStretchFactor(0, 2);
    vertical->setStretchFactor(1, 3);

    // The pane sizes the operator chose are kept across runs.
    charts->setObjectName(QStringLiteral("chartsSplitter"));
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("streams"), {charts, vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(tileRow);
    layout->addWidget(vertical, 1);

    if (engine) {
        setUpCharts(engine, {m_bufferChart, m_throughputChart});
        setSnapshot(engine->latest());
    }
}

StreamsPage::~StreamsPage() = default;

QStringList StreamsPage::tileIds()
{
    return {QStringLiteral("active"), QStringLiteral("subscribers"), QStringLiteral("buffered"),
            QStringLiteral("pauses"), QStringLiteral("dropped"),     QStringLiteral("disconnects"),
            QStringLiteral("joins")};
}

StatTile *StreamsPage::tile(const QString &id) const
{
    for (StatTile *t : m_tiles)
        if (t->id() == id)
            return t;
    return nullptr;
}

void StreamsPage::applySnapshot(const Snapshot &snapshot)
{
    const qint64 wallMs = snapshot.metrics ? snapshot.metrics->wallMs : 0;
    m_streams->setStreams(snapshot.streams.streams, wallMs);
    resortUnlessHovered(m_view, m_proxy);
    updateTiles(snapshot);
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(metrics.wallMs)));
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("stream_buffered_bytes")))
        m_bufferChart->setSeriesData(BufferedSeries, *m, SeriesField::Value, 1.0 / kKiB);
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("stream_bytes"), kIn))
        m_throughputChart->setSeriesData(InSeries, *m, SeriesField::Rate, 1.0 / kKiB);
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("stream_bytes"), kOut))
        m_throughputChart->setSeriesData(OutSeries, *m, SeriesField::Rate, 1.0 / kKiB);
    for (TimeChart *chart : {m_bufferChart, m_throughputChart})
        chart->setEndTime(metrics.wallMs);
}

void StreamsPage::updateTiles(const Snapshot &snapshot)
{
    const QLocale locale;
    const StreamRelaySummary &summary = snapshot.streams;
    const MetricsSnapshot *metrics = snapshot.metrics.get();
    auto since = [](const Count &c) { return c.sinceReset ? tr("since reset") : tr("since start"); };

    int paused = 0;
    qint64 mostBehind = 0;
    int shared = 0;
    for (const StreamInfo &s : summary.streams) {
        if (s.paused)
            ++paused;
        if (s.shared)
            ++shared;
        mostBehind = std::max(mostBehind, s.maxSubscriberBuffered);
    }
    tile(QStringLiteral("active"))
        ->setContent(locale.toString(summary.activeStreams),
                     paused > 0 ? tr("%1 paused (backpressure)").arg(paused)
                                : tr("%1 opened since start").arg(locale.toString(summary.streamsOpened)));
    tile(QStringLiteral("subscribers"))
        ->setContent(locale.toString(summary.subscribers),
                     shared > 0 ? tr("%1 shared streams").arg(shared) : tr("no shared streams"));
    tile(QStringLiteral("buffered"))
        ->setContent(formatBytes(double(summary.bufferedBytes)),
                     summary.activeStreams > 0 ? tr("most behind: %1").arg(formatBytes(double(mostBehind)))
                                               : tr("nothing open"));

    const Count pauses = countOf(metrics, "stream_pauses", summary.pauses);
    const Count resumes = countOf(metrics, "stream_resumes", summary.resumes);
    tile(QStringLiteral("pauses"))
        ->setContent(locale.toString(pauses.value) + QStringLiteral(" / ") + locale.toString(resumes.value),
                     since(pauses));

    const Count dropped = countOf(metrics, "stream_dropped_chunks", summary.droppedChunks);
    StatTile *droppedTile = tile(QStringLiteral("dropped"));
    droppedTile->setAccent(dropped.value > 0 ? healthColor(Health::Warning) : kGrey);
    droppedTile->setContent(locale.toString(dropped.value), since(dropped));

    const Count disconnects = countOf(metrics, "stream_disconnects", summary.disconnects);
    StatTile *disconnectTile = tile(QStringLiteral("disconnects"));
    disconnectTile->setAccent(disconnects.value > 0 ? healthColor(Health::Warning) : kGrey);
    disconnectTile->setContent(locale.toString(disconnects.value), since(disconnects));

    const Count joins = countOf(metrics, "stream_shared_joins", summary.sharedJoins);
    tile(QStringLiteral("joins"))->setContent(locale.toString(joins.value), since(joins));
}

} // namespace vega::ui
