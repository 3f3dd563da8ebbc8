#include "memorypage.h"

#include "snapshotsource.h"
#include "format.h"
#include "healthstyle.h"
#include "memorymodels.h"
#include "stattile.h"
#include "timechart.h"

#include <QCoreApplication>
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
constexpr double kMiB = 1024.0 * 1024.0;
const QColor kRssColor(0x3b, 0x82, 0xf6);
const QColor kHeapColor(0x0d, 0x94, 0x88);
const QColor kTypesColor(0x8b, 0x5c, 0xf6);
const QColor kGrey(0x7d, 0x84, 0x8f);

/// "growing ↑ · +1.20 MiB/min (95 %)": the trend line of the RSS and heap tiles.
QString trendCaption(const ProcessMemoryStatus &status)
{
    if (status.trend == Trend::Unknown)
        return QCoreApplication::translate("vega::ui::MemoryPage", "trend unknown: collecting samples");
    return QStringLiteral("%1 %2 · %3 (%4)")
        .arg(trendName(status.trend), trendArrow(status.trend),
             formatGrowthPerMinute(status.slopeBytesPerMinute, Unit::Bytes),
             formatRatioPercent(status.confidence));
}
} // namespace

MemoryPage::MemoryPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Memory"), m_updated);

    struct TileSpec {
        QString id;
        QString title;
        QString toolTip;
        QColor accent;
    };
    const QList<TileSpec> specs = {
        {QStringLiteral("rss"), tr("RSS"),
         tr("Resident set size of the process, its trend and growth per minute"), kRssColor},
        {QStringLiteral("heap"), tr("Heap in use"),
         tr("Bytes allocated on the heap, its trend and growth per minute"), kHeapColor},
        {QStringLiteral("types"), tr("Tracked types"), tr("Types whose live objects are counted"),
         kTypesColor},
        {QStringLiteral("suspects"), tr("Leak suspects"),
         tr("Series that kept growing faster than their threshold while the workload was steady"), kGrey},
        {QStringLiteral("workload"), tr("Workload"),
         tr("Suspects are only raised while the workload (HTTP request rate) is steady: a ramping load "
            "legitimately holds more objects"),
         kGrey},
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

    m_chart = new TimeChart(tr("Process memory (MiB)"), this);
    m_chart->setObjectName(QStringLiteral("memoryChart"));
    m_chart->setValueAxisTitle(tr("MiB"));
    m_chart->setValueSuffix(QStringLiteral(" MiB"));
    m_chart->setMinimumValueSpan(1);
    m_chart->addSeries(tr("RSS"), kRssColor);
    m_chart->addSeries(tr("heap in use"), kHeapColor);

    m_types = new TrackedTypeModel(this);
    m_typeProxy = makeSortProxy(m_types, MemorySortRole, this);
    m_typeView = makeTableView(m_typeProxy, QStringLiteral("trackedTypeView"), this);
    m_typeView->sortByColumn(TrackedTypeModel::LiveColumn, Qt::DescendingOrder);
    m_typeView->header()->setStretchLastSection(false);
    m_typeView->header()->setSectionResizeMode(TrackedTypeModel::TypeColumn, QHeaderView::Stretch);
    for (int c = TrackedTypeModel::LiveColumn; c < TrackedTypeModel::ColumnCount; ++c)
        m_typeView->setColumnWidth(c, 86);
    m_typeView->setColumnWidth(TrackedTypeModel::TrendColumn, 52);

    m_suspects = new LeakSuspectModel(this);
    // Few rows, in the monitor's order (by name): no sorting needed.
    m_suspectView = makeTableView(m_suspects, QStringLiteral("suspectView"), this);
    m_suspectView->setSortingEnabled(false);
    m_suspectView->header()->setSectionResizeMode(LeakSuspectModel::TypeColumn, QHeaderView::Stretch);
    m_suspectView->header()->setStretchLastSection(false);

    m_hint = new QLabel(this);
    m_hint->setObjectName(QStringLiteral("suspectHint"));
    m_hint->setWordWrap(true);
    m_hint->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto *suspectBox = new QGroupBox(tr("Leak suspects"), this);
    auto *suspectLayout = new QVBoxLayout(suspectBox);
    suspectLayout->addWidget(m_suspectView, 1);
    suspectLayout->addWidget(m_hint);

    auto *tables = new QSplitter(Qt::Horizontal, this);
    tables->addWidget(m_typeView);
    tables->addWidget(suspectBox);
    tables->setChildrenCollapsible(false);
    tables->setStretchFactor(0, 3);
    tables->setStretchFactor(1, 2);
    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(m_chart);
    vertical->addWidget(tables);
    vertical->setChildrenCollapsible(false);
    vertical->setStretchFactor(0, 2);
    vertical->setStretchFactor(1, 3);

    // The pane sizes the operator chose are kept across runs.
    tables->setObjectName(QStringLiteral("tablesSplitter"));
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("memory"), {tables, vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(tileRow);
    layout->addWidget(vertical, 1);

    MemoryMonitorConfig monitorConfig;
    if (engine) {
        setUpCharts(engine, {m_chart});
        monitorConfig = engine->config().memory.sanitized();
    }
    m_criteria = tr("A suspect is raised when a series grows faster than its threshold with at least %1 "
                    "confidence for %2 while the workload is steady.")
                     .arg(formatRatioPercent(monitorConfig.confidence),
                          formatDurationMs(monitorConfig.suspectAfterSeconds * 1000.0));
    if (engine)
        setSnapshot(engine->latest());
}

MemoryPage::~MemoryPage() = default;

QStringList MemoryPage::tileIds()
{
    return {QStringLiteral("rss"), QStringLiteral("heap"), QStringLiteral("types"),
            QStringLiteral("suspects"), QStringLiteral("workload")};
}

StatTile *MemoryPage::tile(const QString &id) const
{
    for (StatTile *t : m_tiles)
        if (t->id() == id)
            return t;
    return nullptr;
}

void MemoryPage::applySnapshot(const Snapshot &snapshot)
{
    const MemorySummary &memory = snapshot.memory;
    m_types->setTypes(memory.types);
    resortUnlessHovered(m_typeView, m_typeProxy);
    m_suspects->setSuspects(memory.suspects);
    updateTiles(memory);
    updateHint(memory);
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    m_updated->setText(memory.sampleWallMs > 0
                           ? tr("Sampled %1 · updated %2")
                                 .arg(formatClockTime(memory.sampleWallMs), formatClockTime(metrics.wallMs))
                           : tr("Updated %1").arg(formatClockTime(metrics.wallMs)));
    // The gauges exist from the first available reading on; never drawn as made-up zeros.
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("process_rss")))
        m_chart->setSeriesData(RssSeries, *m, SeriesField::Value, 1.0 / kMiB);
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("heap_in_use")))
        m_chart->setSeriesData(HeapSeries, *m, SeriesField::Value, 1.0 / kMiB);
    m_chart->setEndTime(metrics.wallMs);
}

void MemoryPage::updateTiles(const MemorySummary &memory)
{
    const QLocale locale;
    const bool sampled = memory.sampleWallMs > 0;
    auto processTile = [&](const QString &id, const ProcessMemoryStatus &status, const QColor &accent) {
        StatTile *t = tile(id);
        if (!sampled) {
            t->setContent(missingValueText(), tr("no sample yet"));
        } else if (!status.available) {
            t->setContent(unavailableText(), tr("unavailable: %1").arg(status.unavailableReason));
        } else {
            t->setContent(formatBytes(double(status.bytes)), trendCaption(status));
        }
        t->setAccent(status.suspect ? healthColor(Health::Warning) : accent);
    };
    processTile(QStringLiteral("rss"), memory.rss, kRssColor);
    processTile(QStringLiteral("heap"), memory.heap, kHeapColor);

    qint64 live = 0;
    int growing = 0;
    for (const TrackedTypeStatus &t : memory.types) {
        live += t.live;
        if (t.trend == Trend::Growing)
            ++growing;
    }
    tile(QStringLiteral("types"))
        ->setContent(locale.toString(qint64(memory.types.size())),
                     growing > 0 ? tr("%1 live objects · %2 growing").arg(locale.toString(live)).arg(growing)
                                 : tr("%1 live objects").arg(locale.toString(live)));

    const int suspects = int(memory.suspects.size());
    StatTile *suspectTile = tile(QStringLiteral("suspects"));
    suspectTile->setAccent(suspects > 0 ? healthColor(Health::Warning) : healthColor(Health::Ok));
    suspectTile->setContent(locale.toString(suspects),
                            suspects > 0 ? tr("see the suspects below") : tr("nothing grows steadily"));

    StatTile *workload = tile(QStringLiteral("workload"));
    if (!memory.workloadKnown) {
        workload->setAccent(kGrey);
        workload->setContent(tr("Unknown"), tr("not enough samples: counted as steady"));
    } else {
        workload->setAccent(memory.workloadSteady ? healthColor(Health::Ok) : healthColor(Health::Warning));
        workload->setContent(memory.workloadSteady ? tr("Steady") : tr("Changing"),
                             tr("drift %1 per minute%2")
                                 .arg(formatRatioPercent(memory.workloadDriftPerMinute),
                                      memory.workloadSteady ? QString() : tr(" · no new suspects")));
    }
}

void MemoryPage::updateHint(const MemorySummary &memory)
{
    if (memory.suspects.isEmpty()) {
        m_hint->setText(tr("No leak suspects. %1").arg(m_criteria));
        m_hint->setStyleSheet(QString());
        return;
    }
    bool typeSuspect = false;
    bool processSuspect = false;
    for (const LeakSuspect &s : memory.suspects) {
        if (s.kind == MemorySeriesKind::TrackedType)
            typeSuspect = true;
        else
            processSuspect = true;
    }
    QStringList advice;
    if (typeSuspect)
        advice.append(
            tr("A type growing steadily while the workload is steady usually means objects are created "
               "and never deleted: check who owns them (a parent that lives forever, a container or "
               "cache without a bound, a connection that is never closed)."));
    if (processSuspect)
        advice.append(tr("Heap or RSS growing with no tracked type growing points at untracked allocations "
                         "(buffers, caches, strings): track the classes you suspect with vega::Tracked<T> or "
                         "VEGA_TRACK_TYPE to find which one."));
    m_hint->setText(tr("What to do: %1").arg(advice.join(QLatin1Char(' '))));
    m_hint->setStyleSheet(QStringLiteral("font-weight: 600;"));
}

} // namespace vega::ui
