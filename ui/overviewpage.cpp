#include "overviewpage.h"

#include "snapshotsource.h"
#include "eventsmodel.h"
#include "format.h"
#include "healthstyle.h"
#include "healthtile.h"

#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTreeView>
#include <QVBoxLayout>

#include <cmath>

namespace vega::ui {

namespace {

struct TileSpec {
    QString id;
    QString title;
    QString primaryKey;
    QStringList detailKeys;
};

QList<TileSpec> tileSpecs()
{
    auto s = [](const char *text) { return QString::fromLatin1(text); };
    return {
        {s("cpu"), OverviewPage::tr("CPU"), s("process_cpu_percent"), {s("system_cpu_percent"), s("cores")}},
        {s("memory"), OverviewPage::tr("Memory"), s("process_rss_bytes"), {s("memory_available_percent")}},
        {s("disk"), OverviewPage::tr("Disk"), s("disk_free_percent"), {s("disk_available_bytes")}},
        {s("network"), OverviewPage::tr("Network"), QString(), {s("interfaces")}},
        {s("process"), OverviewPage::tr("Process"), s("fd_usage_percent"), {s("open_fds"), s("threads")}},
        {s("event_loop"),
         OverviewPage::tr("Event loop"),
         s("lag_p99_ms"),
         {s("lag_p50_ms"), s("stalls_over_100ms")}},
        {s("runtime"), OverviewPage::tr("Runtime"), s("qt_version"), {s("platform")}},
        {s("load"), OverviewPage::tr("Load"), s("load_1m"), {s("load_per_core")}},
        {s("database"), OverviewPage::tr("Database"), s("queue_depth"), {s("dropped_rows"), s("slow_queries")}},
        {s("shared_cache"), OverviewPage::tr("Shared cache"), s("state"), {s("hit_ratio_percent"), s("fallbacks")}},
        // Not diagnostics categories: computed from the snapshot's breakers, integrations and memory.
        {OverviewPage::breakersTileId(), OverviewPage::tr("Breakers"), QString(), {}},
        {OverviewPage::integrationsTileId(), OverviewPage::tr("Integrations"), QString(), {}},
        {OverviewPage::memoryTrendTileId(), OverviewPage::tr("Memory trend"), QString(), {}},
    };
}

// The system's eight on two rows of four, the application's (database, shared cache, breakers,
// integrations, memory trend) on a row of five below; every row as wide as the others.
constexpr int kSystemTiles = 8;
constexpr int kSystemColumns = 4;
constexpr int kApplicationColumns = 5;
constexpr int kGridColumns = kSystemColumns * kApplicationColumns;

QString labelOf(const DiagnosticValue &value)
{
    return value.label.isEmpty() ? value.key : value.label;
}

/// Received and transmitted bytes per second summed over the interfaces other than
/// loopback; empty when no interface has a rate yet.
/// "+1.5 MiB/min", "-512 B/min".
QString bytesPerMinute(double slope)
{
    return (slope < 0 ? QStringLiteral("-") : QStringLiteral("+")) + formatBytes(std::abs(slope)) +
           QStringLiteral("/min");
}

/// "growing +1.5 MiB/min", "flat", "trend unknown", "unavailable".
QString trendSummary(const ProcessMemoryStatus &status)
{
    if (!status.available)
        return unavailableText();
    switch (status.trend) {
    case Trend::Growing:
    case Trend::Shrinking:
        return trendName(status.trend) + QStringLiteral(" ") + bytesPerMinute(status.slopeBytesPerMinute);
    case Trend::Flat:
        return trendName(status.trend);
    case Trend::Unknown:
        break;
    }
    return OverviewPage::tr("trend unknown");
}

QString networkSummary(const DiagnosticCategory &category)
{
    static const QString rxPrefix = QStringLiteral("receive_bytes_per_second:");
    static const QString txPrefix = QStringLiteral("transmit_bytes_per_second:");
    double rx = 0;
    double tx = 0;
    bool any = false;
    for (const DiagnosticValue &v : category.values) {
        const bool isRx = v.key.startsWith(rxPrefix);
        const bool isTx = v.key.startsWith(txPrefix);
        if ((!isRx && !isTx) || !v.available || v.key.endsWith(QStringLiteral(":lo")))
            continue;
        any = true;
        (isRx ? rx : tx) += v.number;
    }
    if (!any)
        return {};
    return QStringLiteral("↓ ") + formatValue(rx, Unit::BytesPerSecond) + QStringLiteral("  ↑ ") +
           formatValue(tx, Unit::BytesPerSecond);
}

} // namespace

OverviewPage::OverviewPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    auto *title = new QLabel(tr("System health"), this);
    QFont titleFont = title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.5);
    titleFont.setBold(true);
    title->setFont(titleFont);

    m_overall = new QLabel(this);
    m_overall->setObjectName(QStringLiteral("overallHealth"));
    m_updated = new QLabel(this);
    m_updated->setObjectName(QStringLiteral("updatedLabel"));
    m_stale = new QLabel(tr("STALE"), this);
    m_stale->setObjectName(QStringLiteral("staleBadge"));
    m_stale->setStyleSheet(staleBadgeStyleSheet());
    m_stale->setToolTip(tr("No snapshot arrived for more than three intervals: what is shown is old."));
    m_stale->hide();

    auto *headerRow = new QWidget(this);
    auto *header = new QHBoxLayout(headerRow);
    header->setContentsMargins(0, 0, 0, 0);
    header->addWidget(title);
    header->addSpacing(12);
    header->addWidget(m_overall);
    header->addStretch(1);
    header->addWidget(m_stale);
    header->addSpacing(8);
    header->addWidget(m_updated);

    auto *tiles = new QWidget(this);
    auto *grid = new QGridLayout(tiles);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setSpacing(10);
    const QList<TileSpec> specs = tileSpecs();
    for (int i = 0; i < specs.size(); ++i) {
        auto *tile = new HealthTile(specs.at(i).id, specs.at(i).title, this);
        m_tiles.append(tile);
        if (i < kSystemTiles) {
            const int span = kGridColumns / kSystemColumns;
            grid->addWidget(tile, i / kSystemColumns, (i % kSystemColumns) * span, 1, span);
        } else {
            const int j = i - kSystemTiles;
            const int span = kGridColumns / kApplicationColumns;
            grid->addWidget(tile, kSystemTiles / kSystemColumns + j / kApplicationColumns,
                            (j % kApplicationColumns) * span, 1, span);
        }
    }
    for (int c = 0; c < kGridColumns; ++c)
        grid->setColumnStretch(c, 1);

    // What the colours mean.
    auto *legendRow = new QWidget(this);
    auto *legend = new QHBoxLayout(legendRow);
    legend->setContentsMargins(0, 0, 0, 0);
    legend->addWidget(new QLabel(tr("Colours:"), this));
    for (Health h : {Health::Ok, Health::Warning, Health::Critical, Health::Unknown}) {
        auto *chip = new QLabel(healthLabel(h), this);
        chip->setStyleSheet(healthBadgeStyleSheet(h));
        chip->setToolTip(healthDescription(h));
        legend->addWidget(chip);
        auto *meaning = new QLabel(healthDescription(h), this);
        legend->addWidget(meaning);
        legend->addSpacing(10);
    }
    legend->addStretch(1);

    auto *eventsTitle = new QLabel(tr("Recent events"), this);
    QFont sectionFont = eventsTitle->font();
    sectionFont.setBold(true);
    eventsTitle->setFont(sectionFont);
    m_eventsModel = new EventsModel(this);
    m_eventsView = new QTreeView(this);
    m_eventsView->setModel(m_eventsModel);
    m_eventsView->setRootIsDecorated(false);
    m_eventsView->setUniformRowHeights(true);
    m_eventsView->setAlternatingRowColors(true);
    m_eventsView->setMinimumHeight(110);
    m_eventsView->header()->setStretchLastSection(true);
    m_eventsView->setColumnWidth(EventsModel::TimeColumn, 80);
    m_eventsView->setColumnWidth(EventsModel::KindColumn, 80);
    m_eventsView->setColumnWidth(EventsModel::SourceColumn, 110);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->setSpacing(10);
    layout->addWidget(headerRow);
    layout->addWidget(tiles);
    layout->addWidget(legendRow);
    layout->addWidget(eventsTitle);
    layout->addWidget(m_eventsView, 1);

    if (engine)
        setSnapshot(engine->latest());
}

OverviewPage::~OverviewPage() = default;

QStringList OverviewPage::categoryIds()
{
    QStringList ids;
    const QList<TileSpec> specs = tileSpecs();
    for (const TileSpec &spec : specs)
        ids.append(spec.id);
    return ids;
}

HealthTile *OverviewPage::tile(const QString &categoryId) const
{
    for (HealthTile *t : m_tiles)
        if (t->categoryId() == categoryId)
            return t;
    return nullptr;
}

QString OverviewPage::updatedText() const
{
    return m_updated->text();
}

bool OverviewPage::isStaleShown() const
{
    return !m_stale->isHidden();
}

void OverviewPage::setStale(bool stale)
{
    m_stale->setVisible(stale);
}

void OverviewPage::applySnapshot(const Snapshot &snapshot)
{
    const qint64 wallMs = snapshot.metrics ? snapshot.metrics->wallMs : snapshot.diagnostics.wallMs;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(wallMs)));
    m_overall->setText(healthLabel(snapshot.diagnostics.overall));
    m_overall->setStyleSheet(healthBadgeStyleSheet(snapshot.diagnostics.overall));
    m_overall->setToolTip(tr("Worst of the categories"));
    for (HealthTile *t : std::as_const(m_tiles)) {
        if (t->categoryId() == integrationsTileId())
            updateIntegrationsTile(t, snapshot.integrations);
        else if (t->categoryId() == breakersTileId())
            updateBreakersTile(t, snapshot.http.breakers);
        else if (t->categoryId() == memoryTrendTileId())
            updateMemoryTile(t, snapshot.memory);
        else
            updateTile(t, snapshot.diagnostics.category(t->categoryId()));
    }
    if (snapshot.metrics)
        m_eventsModel->setEvents(snapshot.metrics->events);
}

void OverviewPage::updateTile(HealthTile *tile, const DiagnosticCategory *category)
{
    if (!category) {
        tile->setContent(Health::Unknown, missingValueText(), QString(), QString(), tr("not reported"));
        return;
    }
    TileSpec spec;
    const QList<TileSpec> specs = tileSpecs();
    for (const TileSpec &s : specs)
        if (s.id == tile->categoryId())
            spec = s;

    QString value = missingValueText();
    QString caption;
    if (category->id == QLatin1String("network")) {
        const QString summary = networkSummary(*category);
        value = summary.isEmpty() ? missingValueText() : summary;
        caption = tr("Receive / transmit (without loopback)");
    } else if (const DiagnosticValue *primary = category->value(spec.primaryKey)) {
        value = formatDiagnosticValue(*primary);
        caption = labelOf(*primary);
    } else if (!category->values.isEmpty()) {
        value = formatDiagnosticValue(category->values.first());
        caption = labelOf(category->values.first());
    }

    QStringList details;
    for (const QString &key : std::as_const(spec.detailKeys))
        if (const DiagnosticValue *v = category->value(key))
            details.append(labelOf(*v) + QStringLiteral(": ") + formatDiagnosticValue(*v));
    tile->setContent(category->health, value, caption, details.join(QStringLiteral(" · ")), category->reason);
}

QString OverviewPage::integrationsTileId()
{
    return QStringLiteral("integrations");
}

QString OverviewPage::breakersTileId()
{
    return QStringLiteral("breakers");
}

void OverviewPage::updateBreakersTile(HealthTile *tile, const QList<BreakerInfo> &breakers)
{
    if (breakers.isEmpty()) {
        tile->setContent(Health::Unknown, tr("None"), tr("no circuit breaker yet"), QString(),
                         tr("each host gets one with its first request"));
        return;
    }
    QStringList open;
    QStringList halfOpen;
    QStringList forced;
    for (const BreakerInfo &b : breakers) {
        if (b.state == QLatin1String("open"))
            open.append(b.name);
        else if (b.state == QLatin1String("half_open"))
            halfOpen.append(b.name);
        else if (b.state.startsWith(QLatin1String("forced")))
            forced.append(tr("%1 (%2)").arg(b.name, b.state == QLatin1String("forced_open") ? tr("forced open")
                                                                                          : tr("forced closed")));
    }
    const int total = int(breakers.size());
    const int closed = total - int(open.size() + halfOpen.size() + forced.size());
    const Health health = !open.isEmpty()                          ? Health::Critical
                          : !halfOpen.isEmpty() || !forced.isEmpty() ? Health::Warning
                                                                     : Health::Ok;
    QStringList details;
    if (!open.isEmpty())
        details.append(tr("%1 open").arg(open.size()));
    if (!halfOpen.isEmpty())
        details.append(tr("%1 half open").arg(halfOpen.size()));
    if (!forced.isEmpty())
        details.append(tr("%1 forced").arg(forced.size()));
    QStringList reasons;
    if (!open.isEmpty())
        reasons.append(tr("Open (calls rejected): %1").arg(open.join(QStringLiteral(", "))));
    if (!halfOpen.isEmpty())
        reasons.append(tr("Probing: %1").arg(halfOpen.join(QStringLiteral(", "))));
    if (!forced.isEmpty())
        reasons.append(tr("Forced by an operator: %1").arg(forced.join(QStringLiteral(", "))));
    if (reasons.isEmpty())
        reasons.append(tr("every breaker closed"));
    tile->setContent(health, tr("%1 of %2 closed").arg(closed).arg(total), tr("Circuit breakers"),
                     details.join(QStringLiteral(" · ")), reasons.join(QLatin1Char('\n')));
}

QString OverviewPage::memoryTrendTileId()
{
    return QStringLiteral("memory_trend");
}

void OverviewPage::updateIntegrationsTile(HealthTile *tile, const QList<IntegrationStatus> &integrations)
{
    if (integrations.isEmpty()) {
        tile->setContent(Health::Unknown, tr("None"), tr("no integrations configured"), QString(),
                         tr("add them under integrations in the config"));
        return;
    }
    QStringList byState[4]; // indexed by Health
    for (const IntegrationStatus &s : integrations)
        byState[int(s.state)].append(
            s.reason.isEmpty() ? s.name
                               : tr("%1 (%2)").arg(s.name, s.reason.section(QLatin1Char('\n'), 0, 0)));
    const int total = int(integrations.size());
    const int healthy = int(byState[int(Health::Ok)].size());
    Health worst = Health::Ok;
    if (!byState[int(Health::Critical)].isEmpty())
        worst = Health::Critical;
    else if (!byState[int(Health::Warning)].isEmpty())
        worst = Health::Warning;
    else if (!byState[int(Health::Unknown)].isEmpty())
        worst = Health::Unknown;

    QStringList details;
    for (Health h : {Health::Warning, Health::Critical, Health::Unknown})
        if (!byState[int(h)].isEmpty())
            details.append(QStringLiteral("%1 %2").arg(byState[int(h)].size()).arg(integrationStateName(h)));
    QStringList reasons;
    if (!byState[int(Health::Critical)].isEmpty())
        reasons.append(tr("Unhealthy: %1").arg(byState[int(Health::Critical)].join(QStringLiteral(", "))));
    if (!byState[int(Health::Warning)].isEmpty())
        reasons.append(tr("Degraded: %1").arg(byState[int(Health::Warning)].join(QStringLiteral(", "))));
    if (reasons.isEmpty())
        reasons.append(
            byState[int(Health::Unknown)].isEmpty()
                ? tr("every check passing")
                : tr("not checked yet: %1").arg(byState[int(Health::Unknown)].join(QStringLiteral(", "))));
    tile->setContent(worst, tr("%1 of %2 healthy").arg(healthy).arg(total), tr("Health checks"),
                     details.join(QStringLiteral(" · ")), reasons.join(QLatin1Char('\n')));
}

void OverviewPage::updateMemoryTile(HealthTile *tile, const MemorySummary &memory)
{
    if (memory.sampleWallMs <= 0) {
        tile->setContent(Health::Unknown, missingValueText(), tr("Process RSS"), QString(),
                         tr("no sample yet"));
        return;
    }
    const QString value = memory.rss.available ? formatBytes(double(memory.rss.bytes)) : unavailableText();
    const QString heap =
        memory.heap.available
            ? tr("Heap %1, %2").arg(formatBytes(double(memory.heap.bytes)), trendSummary(memory.heap))
            : tr("Heap %1").arg(trendSummary(memory.heap));
    const QString detail = heap + QStringLiteral(" · ") + tr("RSS %1").arg(trendSummary(memory.rss));
    if (memory.suspects.isEmpty()) {
        tile->setContent(Health::Ok, value, tr("Process RSS"), detail, tr("no leak suspects"));
        return;
    }
    QStringList types;
    for (const LeakSuspect &suspect : memory.suspects)
        types.append(suspect.type);
    tile->setContent(Health::Warning, value, tr("Process RSS"), detail,
                     tr("Leak suspects: %1").arg(types.join(QStringLiteral(", "))));
}

} // namespace vega::ui
