#pragma once

#include "keyedtablemodel.h"
#include "snapshotsource.h"

#include <QElapsedTimer>
#include <QHash>
#include <QPointer>

#include <cmath>
#include <deque>
#include <limits>

namespace vega::ui {

/// One source's figures for the fleet view. Ratios and rates are over the last `windowMs` of
/// its snapshots; NaN when that window saw nothing to divide (no requests, no lookups).
struct FleetRow {
    QString name;
    bool remote = false;
    SnapshotSource::Link link = SnapshotSource::Link::Local;
    QString linkError;
    bool hasSnapshot = false;
    bool stale = false;     // no snapshot for three intervals
    qint64 ageMs = -1;      // since the last snapshot arrived (-1: none yet)
    Health health = Health::Unknown;
    double requestRate = std::numeric_limits<double>::quiet_NaN(); // callers' requests per second
    double errorRatio = std::numeric_limits<double>::quiet_NaN();  // failed / finished
    double cacheHitRatio = std::numeric_limits<double>::quiet_NaN();
    double coalesceRatio = std::numeric_limits<double>::quiet_NaN();
    double reuseRatio = std::numeric_limits<double>::quiet_NaN();
    double lagP99Ms = std::numeric_limits<double>::quiet_NaN();
    int openBreakers = 0;
    int breakers = 0;
    double rssBytes = std::numeric_limits<double>::quiet_NaN();
    qint64 snapshotWallMs = 0;
};

/// The fleet as one: summed rates, ratios over summed counts, the worst health.
struct FleetTotals {
    int sources = 0;
    int connected = 0; // local, or a remote with a live link and a fresh snapshot
    int lost = 0;      // remote sources whose link is lost, or stale
    double requestRate = 0;
    double errorRatio = std::numeric_limits<double>::quiet_NaN();
    double cacheHitRatio = std::numeric_limits<double>::quiet_NaN();
    double coalesceRatio = std::numeric_limits<double>::quiet_NaN();
    double reuseRatio = std::numeric_limits<double>::quiet_NaN();
    Health worstHealth = Health::Unknown;
    int openBreakers = 0;
};

/**
 * The fleet view's table: one row per source (the local engine and every agent), keyed by
 * source so rows keep their place. Rates come from the HTTP totals of successive snapshots of
 * each source (exact counts, not sampled series), over a sliding window.
 */
class FleetModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column {
        NameColumn,
        LinkColumn,
        HealthColumn,
        RequestsColumn,
        ErrorsColumn,
        CacheHitColumn,
        CoalescedColumn,
        ReuseColumn,
        LagColumn,
        BreakersColumn,
        RssColumn,
        UpdatedColumn,
        ColumnCount
    };
    static constexpr int SortRole = Qt::UserRole + 1;
    static constexpr int HealthRole = Qt::UserRole + 2;

    explicit FleetModel(QObject *parent = nullptr);
    ~FleetModel() override;

    void addSource(SnapshotSource *source);
    void removeSource(SnapshotSource *source);
    QList<SnapshotSource *> sources() const;
    SnapshotSource *sourceAt(int row) const;
    /// Recomputes every row from the sources' latest snapshots.
    void refresh();
    const FleetRow &rowData(int row) const { return m_rows.at(row); }
    FleetTotals totals() const { return m_totals; }
    void setWindowMs(qint64 ms) { m_windowMs = ms; }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    struct Sample {
        qint64 wallMs = 0;
        HttpTotals totals;
    };
    struct Tracked {
        QPointer<SnapshotSource> source;
        QString key;
        std::deque<Sample> samples;
        QElapsedTimer sinceArrival;
        quint64 lastSequence = 0;
        bool any = false;
    };
    /// Counts over a source's window (newest sample minus the oldest within the window).
    struct Delta {
        double seconds = 0;
        double requests = 0, succeeded = 0, failed = 0, coalesced = 0;
        double hits = 0, misses = 0, backend = 0, opened = 0;
    };
    void noteSnapshot(Tracked *tracked, const SnapshotPtr &snapshot);
    FleetRow compute(const Tracked &tracked, Delta *delta) const;

    std::vector<std::unique_ptr<Tracked>> m_tracked;
    QList<FleetRow> m_rows; // in KeyedTableModel key order
    FleetTotals m_totals;
    qint64 m_windowMs = 10000;
    int m_nextKey = 0;
};

} // namespace vega::ui
