#include "fleetmodel.h"

#include "format.h"
#include "healthstyle.h"

#include <QBrush>
#include <QLocale>

#include <algorithm>

namespace vega::ui {

namespace {
constexpr int kStaleIntervals = 3;

double ratio(double part, double whole)
{
    return whole > 0 ? part / whole : std::numeric_limits<double>::quiet_NaN();
}

QString percentText(double r)
{
    return std::isnan(r) ? missingValueText() : formatRatioPercent(r);
}

QString linkText(const FleetRow &row)
{
    switch (row.link) {
    case SnapshotSource::Link::Local:
        return FleetModel::tr("local");
    case SnapshotSource::Link::Connecting:
        return FleetModel::tr("connecting");
    case SnapshotSource::Link::Connected:
        return row.stale ? FleetModel::tr("stale") : FleetModel::tr("connected");
    case SnapshotSource::Link::Lost:
        break;
    }
    return FleetModel::tr("lost");
}

double nanToLowest(double v)
{
    return std::isnan(v) ? -1.0 : v;
}
} // namespace

FleetModel::FleetModel(QObject *parent) : KeyedTableModel(parent) {}

FleetModel::~FleetModel() = default;

void FleetModel::addSource(SnapshotSource *source)
{
    if (!source || sources().contains(source))
        return;
    auto tracked = std::make_unique<Tracked>();
    tracked->source = source;
    tracked->key = QStringLiteral("source-%1").arg(m_nextKey++);
    Tracked *raw = tracked.get();
    connect(source, &SnapshotSource::snapshotAvailable, this,
            [this, raw](const SnapshotPtr &snapshot) { noteSnapshot(raw, snapshot); });
    connect(source, &SnapshotSource::linkChanged, this, [this] { refresh(); });
    m_tracked.push_back(std::move(tracked));
    if (const SnapshotPtr latest = source->latest())
        noteSnapshot(raw, latest);
    refresh();
}

void FleetModel::removeSource(SnapshotSource *source)
{
    const auto it = std::find_if(m_tracked.begin(), m_tracked.end(),
                                 [source](const std::unique_ptr<Tracked> &t) { return t->source == source; });
    if (it == m_tracked.end())
        return;
    if (source)
        disconnect(source, nullptr, this, nullptr);
    m_tracked.erase(it);
    refresh();
}

QList<SnapshotSource *> FleetModel::sources() const
{
    QList<SnapshotSource *> out;
    for (const auto &t : m_tracked) {
        if (t->source)
            out.append(t->source.data());
    }
    return out;
}

SnapshotSource *FleetModel::sourceAt(int row) const
{
    const QString key = keyAt(row);
    for (const auto &t : m_tracked) {
        if (t->key == key)
            return t->source.data();
    }
    return nullptr;
}

void FleetModel::noteSnapshot(Tracked *tracked, const SnapshotPtr &snapshot)
{
    if (!snapshot || !snapshot->metrics)
        return;
    if (tracked->any && snapshot->metrics->sequence == tracked->lastSequence)
        return;
    tracked->any = true;
    tracked->lastSequence = snapshot->metrics->sequence;
    tracked->sinceArrival.start();
    const qint64 wallMs = snapshot->metrics->wallMs;
    // Totals only grow; a restarted agent starts again from zero: drop the older samples.
    if (!tracked->samples.empty() && snapshot->http.totals.requests < tracked->samples.back().totals.requests)
        tracked->samples.clear();
    tracked->samples.push_back({wallMs, snapshot->http.totals});
    while (tracked->samples.size() > 2 && wallMs - tracked->samples.front().wallMs > m_windowMs)
        tracked->samples.pop_front();
}

FleetRow FleetModel::compute(const Tracked &tracked, Delta *delta) const
{
    FleetRow row;
    SnapshotSource *source = tracked.source.data();
    if (!source)
        return row;
    row.name = source->sourceName();
    row.remote = source->isRemote();
    row.link = source->link();
    row.linkError = source->linkError();
    const SnapshotPtr snapshot = source->latest();
    row.hasSnapshot = snapshot && snapshot->metrics;
    if (!row.hasSnapshot)
        return row;
    const int intervalMs = std::max(50, snapshot->metrics->intervalMs);
    row.ageMs = tracked.sinceArrival.isValid() ? tracked.sinceArrival.elapsed() : -1;
    row.stale = row.ageMs < 0 || row.ageMs > qint64(kStaleIntervals) * intervalMs;
    row.snapshotWallMs = snapshot->metrics->wallMs;
    row.health = snapshot->diagnostics.overall;
    const HistogramSummary &lag = snapshot->eventLoop.lagNs;
    if (lag.count > 0)
        row.lagP99Ms = lag.p99 / 1e6;
    row.breakers = int(snapshot->http.breakers.size());
    for (const BreakerInfo &b : snapshot->http.breakers) {
        if (b.state == QLatin1String("open") || b.state == QLatin1String("forced_open") ||
            b.state == QLatin1String("half_open"))
            ++row.openBreakers;
    }
    if (snapshot->memory.rss.available)
        row.rssBytes = double(snapshot->memory.rss.bytes);

    if (tracked.samples.size() >= 2) {
        const Sample &a = tracked.samples.front();
        const Sample &b = tracked.samples.back();
        Delta d;
        d.seconds = double(b.wallMs - a.wallMs) / 1000.0;
        d.requests = double(b.totals.requests - a.totals.requests);
        d.succeeded = double(b.totals.succeeded - a.totals.succeeded);
        d.failed = double(b.totals.failed - a.totals.failed);
        d.coalesced = double(b.totals.coalesced - a.totals.coalesced);
        d.hits = double(b.totals.cacheHits - a.totals.cacheHits);
        d.misses = double(b.totals.cacheMisses - a.totals.cacheMisses);
        d.backend = double(b.totals.backendRequests - a.totals.backendRequests);
        d.opened = double(b.totals.connectionsOpened - a.totals.connectionsOpened);
        if (d.seconds > 0) {
            row.requestRate = d.requests / d.seconds;
            row.errorRatio = ratio(d.failed, d.succeeded + d.failed);
            row.cacheHitRatio = ratio(d.hits, d.hits + d.misses);
            row.coalesceRatio = ratio(d.coalesced, d.requests);
            row.reuseRatio = d.backend > 0 ? 1.0 - d.opened / d.backend : std::numeric_limits<double>::quiet_NaN();
            if (delta)
                *delta = d;
        }
    }
    return row;
}

void FleetModel::refresh()
{
    QStringList keys;
    QList<FleetRow> rows;
    FleetTotals totals;
    Delta sum;
    for (const auto &t : m_tracked) {
        if (!t->source)
            continue;
        Delta d;
        FleetRow row = compute(*t, &d);
        keys.append(t->key);
        ++totals.sources;
        const bool live = row.link == SnapshotSource::Link::Local ||
                          (row.link == SnapshotSource::Link::Connected && !row.stale);
        if (live)
            ++totals.connected;
        else if (row.remote && (row.link == SnapshotSource::Link::Lost || row.stale))
            ++totals.lost;
        if (row.hasSnapshot) {
            totals.worstHealth = std::max(totals.worstHealth, row.health);
            totals.openBreakers += row.openBreakers;
        }
        if (live && d.seconds > 0) {
            totals.requestRate += d.requests / d.seconds;
            sum.requests += d.requests;
            sum.succeeded += d.succeeded;
            sum.failed += d.failed;
            sum.coalesced += d.coalesced;
            sum.hits += d.hits;
            sum.misses += d.misses;
            sum.backend += d.backend;
            sum.opened += d.opened;
        }
        rows.append(row);
    }
    totals.errorRatio = ratio(sum.failed, sum.succeeded + sum.failed);
    totals.cacheHitRatio = ratio(sum.hits, sum.hits + sum.misses);
    totals.coalesceRatio = ratio(sum.coalesced, sum.requests);
    totals.reuseRatio = sum.backend > 0 ? 1.0 - sum.opened / sum.backend : std::numeric_limits<double>::quiet_NaN();
    m_totals = totals;

    syncKeys(keys);
    m_rows = rows;
    QList<int> changed;
    for (int i = 0; i < int(m_rows.size()); ++i)
        changed.append(i);
    if (!changed.isEmpty())
        notifyRowsChanged(changed);
}

int FleetModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FleetModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Source");
    case LinkColumn:
        return tr("Link");
    case HealthColumn:
        return tr("Health");
    case RequestsColumn:
        return tr("Requests");
    case ErrorsColumn:
        return tr("Errors");
    case CacheHitColumn:
        return tr("Cache hits");
    case CoalescedColumn:
        return tr("Coalesced");
    case ReuseColumn:
        return tr("Reuse");
    case LagColumn:
        return tr("Loop lag p99");
    case BreakersColumn:
        return tr("Open breakers");
    case RssColumn:
        return tr("RSS");
    case UpdatedColumn:
        return tr("Updated");
    default:
        return {};
    }
}

QVariant FleetModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()) || index.column() >= ColumnCount)
        return {};
    const FleetRow &row = m_rows.at(index.row());
    if (role == HealthRole)
        return int(row.health);
    if (role == Qt::ToolTipRole && index.column() == LinkColumn && !row.linkError.isEmpty())
        return row.linkError;
    if (role == Qt::BackgroundRole && index.column() == HealthColumn && row.hasSnapshot)
        return QBrush(healthColor(row.health));
    if (role == Qt::ForegroundRole && index.column() == HealthColumn && row.hasSnapshot)
        return QBrush(healthTextColor(row.health));
    if (role == Qt::TextAlignmentRole && index.column() >= RequestsColumn)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == SortRole) {
        switch (index.column()) {
        case NameColumn:
            return row.name;
        case LinkColumn:
            return linkText(row);
        case HealthColumn:
            return int(row.health);
        case RequestsColumn:
            return nanToLowest(row.requestRate);
        case ErrorsColumn:
            return nanToLowest(row.errorRatio);
        case CacheHitColumn:
            return nanToLowest(row.cacheHitRatio);
        case CoalescedColumn:
            return nanToLowest(row.coalesceRatio);
        case ReuseColumn:
            return nanToLowest(row.reuseRatio);
        case LagColumn:
            return nanToLowest(row.lagP99Ms);
        case BreakersColumn:
            return row.openBreakers;
        case RssColumn:
            return nanToLowest(row.rssBytes);
        case UpdatedColumn:
            return row.snapshotWallMs;
        default:
            return {};
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case NameColumn:
        return row.name;
    case LinkColumn:
        return linkText(row);
    case HealthColumn:
        return row.hasSnapshot ? healthLabel(row.health) : missingValueText();
    case RequestsColumn:
        return std::isnan(row.requestRate) ? missingValueText() : formatRate(row.requestRate);
    case ErrorsColumn:
        return percentText(row.errorRatio);
    case CacheHitColumn:
        return percentText(row.cacheHitRatio);
    case CoalescedColumn:
        return percentText(row.coalesceRatio);
    case ReuseColumn:
        return percentText(row.reuseRatio);
    case LagColumn:
        return std::isnan(row.lagP99Ms) ? missingValueText() : formatDurationMs(row.lagP99Ms);
    case BreakersColumn:
        return row.hasSnapshot ? QStringLiteral("%1 / %2").arg(row.openBreakers).arg(row.breakers) : missingValueText();
    case RssColumn:
        return std::isnan(row.rssBytes) ? missingValueText() : formatBytes(row.rssBytes);
    case UpdatedColumn:
        return row.hasSnapshot ? formatClockTime(row.snapshotWallMs) : missingValueText();
    default:
        return {};
    }
}

} // namespace vega::ui
