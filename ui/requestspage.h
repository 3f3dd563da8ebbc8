#pragma once

#include "snapshotpage.h"
#include "timeseries.h"

#include <QHash>
#include <QList>

QT_BEGIN_NAMESPACE
class QLabel;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
struct MetricsSnapshot;
} // namespace vega

namespace vega::ui {

class StatTile;
class TimeChart;
class TopKeysModel;

/**
 * The HTTP pipeline's requests: what callers asked for against what reached the backend,
 * how much the coalescer and the cache saved, latency, and the most coalesced keys.
 *
 * Rates are summed over hosts; the ratios are computed per snapshot interval from the rate
 * series (no point where there was no request: a ratio of nothing is not zero).
 */
class RequestsPage : public SnapshotPage {
    Q_OBJECT
public:
    enum RateSeries { RequestRateSeries, BackendRateSeries };
    enum RatioSeries { CoalesceRatioSeries, CacheHitRatioSeries };

    explicit RequestsPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~RequestsPage() override;

    /// Tile ids: "requests", "backend", "coalesced", "cacheHits", "latencyP50", "latencyP99".
    static QStringList tileIds();
    StatTile *tile(const QString &id) const;
    TimeChart *rateChart() const { return m_rateChart; }
    TimeChart *ratioChart() const { return m_ratioChart; }
    TimeChart *latencyChart() const { return m_latencyChart; }
    TopKeysModel *topKeysModel() const { return m_topKeys; }
    /// Index in latencyChart() of the host's p50 series (its p99 follows); -1 when not shown.
    int latencySeriesIndex(const QString &host) const { return m_latencySeries.value(host, -1); }

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    /// Series derived from the registry's: sums over hosts and per-interval ratios.
    struct Derived {
        TimeSeries requests{1};
        TimeSeries backend{1};
        TimeSeries coalesced{1};
        TimeSeries cacheHits{1};
        TimeSeries cacheLookups{1};
        TimeSeries coalesceRatio{1};
        TimeSeries cacheHitRatio{1};
    };

    void updateDerived(const MetricsSnapshot &metrics);
    void updateTiles(const Snapshot &snapshot);
    void updateLatencyChart(const MetricsSnapshot &metrics);

    int m_seriesCapacity = 3600;
    Derived m_derived;
    qint64 m_derivedUntilMs = 0;
    int m_derivedResetCount = -1;
    QStringList m_derivedHosts;
    bool m_hasDerived = false;

    QList<StatTile *> m_tiles;
    QLabel *m_updated = nullptr;
    TimeChart *m_rateChart = nullptr;
    TimeChart *m_ratioChart = nullptr;
    TimeChart *m_latencyChart = nullptr;
    QHash<QString, int> m_latencySeries;
    TopKeysModel *m_topKeys = nullptr;
    QSortFilterProxyModel *m_topKeysProxy = nullptr;
    QTreeView *m_topKeysView = nullptr;
    QLabel *m_inFlight = nullptr;
};

} // namespace vega::ui
