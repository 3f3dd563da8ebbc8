#pragma once

#include "snapshotpage.h"

#include <QList>

QT_BEGIN_NAMESPACE
class QLabel;
class QSortFilterProxyModel;
class QTabWidget;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class ConnectionUsageModel;
class SlowQueryModel;
class StatementModel;
class StatTile;
class TimeChart;

/**
 * The storage layer and the SQL profiler: is the history database healthy and keeping up
 * (status, write queue, rows written, samples dropped), the batch writer's throughput and
 * flush latency over time, and where database time goes: the statement table (sortable,
 * rows keep their place), the slow-query log with correlation ids, and per-connection usage.
 */
class DatabasePage : public SnapshotPage {
    Q_OBJECT
public:
    enum WriteSeries { RowsWrittenSeries, QueueDepthSeries };
    enum LatencySeries { FlushP50Series, FlushP99Series, QueryP99Series };

    explicit DatabasePage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~DatabasePage() override;

    /// Tile ids: "status", "queue", "written", "dropped", "slow", "statements".
    static QStringList tileIds();
    StatTile *tile(const QString &id) const;
    TimeChart *writeChart() const { return m_writeChart; }
    TimeChart *latencyChart() const { return m_latencyChart; }
    StatementModel *statementModel() const { return m_statements; }
    SlowQueryModel *slowQueryModel() const { return m_slow; }
    ConnectionUsageModel *connectionModel() const { return m_connections; }
    QTreeView *statementView() const { return m_statementView; }
    QTabWidget *tables() const { return m_tables; }

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void updateTiles(const Snapshot &snapshot);

    QList<StatTile *> m_tiles;
    QLabel *m_updated = nullptr;
    QLabel *m_statusDetail = nullptr;
    TimeChart *m_writeChart = nullptr;
    TimeChart *m_latencyChart = nullptr;
    StatementModel *m_statements = nullptr;
    SlowQueryModel *m_slow = nullptr;
    ConnectionUsageModel *m_connections = nullptr;
    QSortFilterProxyModel *m_statementProxy = nullptr;
    QSortFilterProxyModel *m_connectionProxy = nullptr;
    QTreeView *m_statementView = nullptr;
    QTreeView *m_slowView = nullptr;
    QTreeView *m_connectionView = nullptr;
    QTabWidget *m_tables = nullptr;
};

} // namespace vega::ui
