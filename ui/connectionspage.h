#pragma once

#include "snapshotpage.h"

#include <QHash>
#include <QList>

QT_BEGIN_NAMESPACE
class QLabel;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class PoolModel;
class StatTile;
class TimeChart;

/**
 * The HTTP client's connection pools: how often a request found an open connection (reuse
 * ratio per host), how long opening one took (connect time p50/p99), how busy each pool is
 * (active and pending requests), and a table of every host's pool.
 */
class ConnectionsPage : public SnapshotPage {
    Q_OBJECT
public:
    explicit ConnectionsPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~ConnectionsPage() override;

    /// Tile ids: "reuse", "opened", "active", "connectP50", "connectP99", "cleanups".
    static QStringList tileIds();
    StatTile *tile(const QString &id) const;
    TimeChart *reuseChart() const { return m_reuseChart; }
    TimeChart *connectChart() const { return m_connectChart; }
    TimeChart *occupancyChart() const { return m_occupancyChart; }
    PoolModel *poolModel() const { return m_pools; }
    /// Index of the host's series in reuseChart(); -1 when not shown. In connectChart() and
    /// occupancyChart() the host has two series from hostSeriesIndex * 2 (p50, p99 / active, pending).
    int hostSeriesIndex(const QString &host) const { return m_hostIndex.value(host, -1); }

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    int ensureHost(const QString &host);
    void updateTiles(const Snapshot &snapshot);

    QList<StatTile *> m_tiles;
    QLabel *m_updated = nullptr;
    TimeChart *m_reuseChart = nullptr;
    TimeChart *m_connectChart = nullptr;
    TimeChart *m_occupancyChart = nullptr;
    QHash<QString, int> m_hostIndex;
    PoolModel *m_pools = nullptr;
    QSortFilterProxyModel *m_poolProxy = nullptr;
    QTreeView *m_poolView = nullptr;
};

} // namespace vega::ui
