#include "databasepage.h"

#include "databasemodels.h"
#include "snapshotsource.h"
#include "format.h"
#include "healthstyle.h"
#include "stattile.h"
#include "timechart.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTabWidget>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace vega::ui {

namespace {
constexpr double kNsPerMs = 1e6;
const QColor kWriteColor(0x0d, 0x94, 0x88);
const QColor kQueueColor(0xf5, 0x9e, 0x0b);
const QColor kP50Color(0x3b, 0x82, 0xf6);
const QColor kP99Color(0xd6, 0x3c, 0x3c);
const QColor kQueryColor(0x8b, 0x5c, 0xf6);
const QColor kGrey(0x7d, 0x84, 0x8f);

quint64 sinceReset(const MetricsSnapshot &metrics, const char *name)
{
    const MetricSnapshot *m = metrics.find(QString::fromLatin1(name));
    return m ? m->sinceReset : 0;
}
} // namespace

DatabasePage::DatabasePage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Database"), m_updated);

    struct TileSpec {
        QString id;
        QString title;
        QString toolTip;
        QColor accent;
    };
    const QList<TileSpec> specs = {
        {QStringLiteral("status"), tr("Storage"), tr("Health of the history database"), kGrey},
        {QStringLiteral("queue"), tr("Write queue"), tr("Rows waiting for the batch writer"), kQueueColor},
        {QStringLiteral("written"), tr("Rows written"), tr("Rows stored since the last reset"), kWriteColor},
        {QStringLiteral("dropped"), tr("Dropped samples"),
         tr("Metric samples dropped oldest-first because the queue was full (journal events are never "
            "dropped)"),
         kGrey},
        {QStringLiteral("slow"), tr("Slow queries"), tr("Queries at or over the slow-query threshold"), kP99Color},
        {QStringLiteral("statements"), tr("Statements"), tr("Distinct statement shapes the profiler tracks"),
         kQueryColor},
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
    m_statusDetail = new QLabel(this);
    m_statusDetail->setObjectName(QStringLiteral("storageDetail"));
    m_statusDetail->setWordWrap(true);
    m_statusDetail->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_writeChart = new TimeChart(tr("Batch writer (rows/s, queue depth)"), this);
    m_writeChart->setObjectName(QStringLiteral("writeChart"));
    m_writeChart->setValueAxisTitle(tr("rows"));
    m_writeChart->setMinimumValueSpan(10);
    m_writeChart->addSeries(tr("written rows/s"), kWriteColor);
    m_writeChart->addSeries(tr("queue depth"), kQueueColor);

    m_latencyChart = new TimeChart(tr("Database latency (ms)"), this);
    m_latencyChart->setObjectName(QStringLiteral("latencyChart"));
    m_latencyChart->setValueAxisTitle(tr("ms"));
    m_latencyChart->setValueSuffix(QStringLiteral(" ms"));
    m_latencyChart->setMinimumValueSpan(1);
    m_latencyChart->addSeries(tr("flush p50"), kP50Color);
    m_latencyChart->addSeries(tr("flush p99"), kP99Color);
    m_latencyChart->addSeries(tr("query p99"), kQueryColor);

    m_statements = new StatementModel(this);
    m_statementProxy = makeSortProxy(m_statements, DatabaseSortRole, this);
    m_statementView = makeTableView(m_statementProxy, QStringLiteral("statementView"), this);
    m_statementView->sortByColumn(StatementModel::TotalColumn, Qt::DescendingOrder);
    m_statementView->header()->setStretchLastSection(false);
    m_statementView->header()->setSectionResizeMode(StatementModel::StatementColumn, QHeaderView::Stretch);
    for (int c = StatementModel::CallsColumn; c < StatementModel::ColumnCount; ++c)
        m_statementView->setColumnWidth(c, 72);

    m_slow = new SlowQueryModel(this);
    // Newest first as the model gives it; no sorting, so new entries always land on top.
    m_slowView = makeTableView(m_slow, QStringLiteral("slowQueryView"), this);
    m_slowView->setSortingEnabled(false);
    m_slowView->setColumnWidth(SlowQueryModel::TimeColumn, 80);
    m_slowView->setColumnWidth(SlowQueryModel::DurationColumn, 90);
    m_slowView->setColumnWidth(SlowQueryModel::StatementColumn, 420);
    m_slowView->setColumnWidth(SlowQueryModel::CorrelationColumn, 150);

    m_connections = new ConnectionUsageModel(this);
    m_connectionProxy = makeSortProxy(m_connections, DatabaseSortRole, this);
    m_connectionView = makeTableView(m_connectionProxy, QStringLiteral("connectionUsageView"), this);
    m_connectionView->sortByColumn(ConnectionUsageModel::TotalColumn, Qt::DescendingOrder);
    m_connectionView->header()->setSectionResizeMode(ConnectionUsageModel::ConnectionColumn,
                                                     QHeaderView::ResizeToContents);

    m_tables = new QTabWidget(this);
    m_tables->setObjectName(QStringLiteral("databaseTables"));
    m_tables->addTab(m_statementView, tr("Statements"));
    m_tables->addTab(m_slowView, tr("Slow queries"));
    m_tables->addTab(m_connectionView, tr("Connections"));

    auto *charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(m_writeChart);
    charts->addWidget(m_latencyChart);
    charts->setChildrenCollapsible(false);
    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(charts);
    vertical->addWidget(m_tables);
    vertical->setChildrenCollapsible(false);
    vertical->setStretchFactor(0, 2);
    vertical->setStretchFactor(1, 3);

    // The pane sizes the operator chose are kept across runs.
    charts->setObjectName(QStringLiteral("chartsSplitter"));
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("database"), {charts, vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(tileRow);
    layout->addWidget(m_statusDetail);
    layout->addWidget(vertical, 1);

    if (engine) {
        setUpCharts(engine, {m_writeChart, m_latencyChart});
        setSnapshot(engine->latest());
    }
}

DatabasePage::~DatabasePage() = default;

QStringList DatabasePage::tileIds()
{
    return {QStringLiteral("status"),  QStringLiteral("queue"), QStringLiteral("written"),
            QStringLiteral("dropped"), QStringLiteral("slow"),  QStringLiteral("statements")};
}

StatTile *DatabasePage::tile(const QString &id) const
{
    for (StatTile *t : m_tiles)
        if (t->id() == id)
            return t;
    return nullptr;
}

void DatabasePage::applySnapshot(const Snapshot &snapshot)
{
    const DatabaseSummary &db = snapshot.database;
    m_statements->setStatements(db.statements);
    resortUnlessHovered(m_statementView, m_statementProxy);
    m_slow->setSlowLog(db.slowLog);
    m_connections->setConnections(db.connections);
    resortUnlessHovered(m_connectionView, m_connectionProxy);
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(metrics.wallMs)));

    if (const MetricSnapshot *m = metrics.find(QStringLiteral("storage_rows")))
        m_writeChart->setSeriesData(RowsWrittenSeries, *m, SeriesField::Rate);
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("storage_queue_depth")))
        m_writeChart->setSeriesData(QueueDepthSeries, *m, SeriesField::Value);
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("storage_flush_duration"))) {
        m_latencyChart->setSeriesData(FlushP50Series, *m, SeriesField::P50, 1.0 / kNsPerMs);
        m_latencyChart->setSeriesData(FlushP99Series, *m, SeriesField::P99, 1.0 / kNsPerMs);
    }
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("sql_query_duration")))
        m_latencyChart->setSeriesData(QueryP99Series, *m, SeriesField::P99, 1.0 / kNsPerMs);
    for (TimeChart *chart : {m_writeChart, m_latencyChart})
        chart->setEndTime(metrics.wallMs);
    updateTiles(snapshot);
}

void DatabasePage::updateTiles(const Snapshot &snapshot)
{
    const DatabaseSummary &db = snapshot.database;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    const QLocale locale;
    const DiagnosticCategory *graded = snapshot.diagnostics.category(QStringLiteral("database"));
    const Health health = graded ? graded->health : Health::Unknown;

    StatTile *status = tile(QStringLiteral("status"));
    status->setAccent(healthColor(health));
    if (!db.enabled) {
        status->setContent(tr("Off"), tr("no history is kept"));
    } else {
        status->setContent(healthLabel(health), db.storage.schemaVersion > 0
                                                    ? tr("schema v%1").arg(db.storage.schemaVersion)
                                                    : tr("not open yet"));
    }
    QString detail = db.enabled ? db.storage.location : QString();
    if (graded && !graded->reason.isEmpty())
        detail = graded->reason;
    m_statusDetail->setText(detail);
    m_statusDetail->setStyleSheet(health == Health::Critical || health == Health::Warning
                                      ? QStringLiteral("color: %1; font-weight: 600;")
                                            .arg(healthTextColor(health).name())
                                      : QString());

    const double fill = db.queueCapacity > 0 ? double(db.queueDepth) / db.queueCapacity : 0;
    tile(QStringLiteral("queue"))
        ->setContent(db.enabled ? locale.toString(db.queueDepth) : missingValueText(),
                     db.enabled ? tr("of %1 · %2").arg(locale.toString(db.queueCapacity), formatRatioPercent(fill))
                                : tr("storage off"));

    const MetricSnapshot *rows = metrics.find(QStringLiteral("storage_rows"));
    tile(QStringLiteral("written"))
        ->setContent(rows ? locale.toString(rows->sinceReset) : missingValueText(),
                     rows ? tr("since reset · %1 now").arg(formatRate(rows->rate, tr("rows/s")))
                          : tr("since reset"));

    const quint64 dropped = sinceReset(metrics, "storage_dropped_rows");
    StatTile *droppedTile = tile(QStringLiteral("dropped"));
    droppedTile->setAccent(dropped > 0 ? healthColor(Health::Warning) : kGrey);
    droppedTile->setContent(db.enabled ? locale.toString(dropped) : missingValueText(),
                            tr("since reset · queue full, oldest first"));

    tile(QStringLiteral("slow"))
        ->setContent(locale.toString(sinceReset(metrics, "sql_slow_queries")),
                     db.slowThresholdMs >= 0 ? tr("since reset · threshold %1 ms").arg(db.slowThresholdMs)
                                             : tr("slow log off"));

    tile(QStringLiteral("statements"))
        ->setContent(locale.toString(qint64(db.statements.size())),
                     db.statementEvictions > 0
                         ? tr("%1 evicted to stay bounded").arg(locale.toString(db.statementEvictions))
                         : tr("distinct shapes since reset"));
}

} // namespace vega::ui
