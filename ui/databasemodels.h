#pragma once

#include "keyedtablemodel.h"
#include "sqlprofiler.h"

#include <QAbstractTableModel>
#include <QHash>
#include <QList>

namespace vega::ui {

/// Roles shared by the database tables.
enum DatabaseRole {
    DatabaseSortRole = Qt::UserRole + 1, // numbers for numeric columns, text otherwise
};

/**
 * The SQL profiler's statements (DatabaseSummary::statements), one row per normalised
 * statement: calls, total / mean / p95 / max time, rows, errors. Rows keep their place across
 * updates (KeyedTableModel); the view sorts on request with DatabaseSortRole.
 */
class StatementModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column {
        StatementColumn,
        CallsColumn,
        TotalColumn,
        MeanColumn,
        P95Column,
        MaxColumn,
        RowsColumn,
        ErrorsColumn,
        ColumnCount
    };

    explicit StatementModel(QObject *parent = nullptr);
    ~StatementModel() override;

    void setStatements(const QList<StatementStats> &statements);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QHash<QString, StatementStats> m_stats;
};

/**
 * The slow-query log, newest first: when, how long, the statement (normalised: no values),
 * the correlation id of the request or action that ran it, the connection, rows and the
 * redacted error. The profiler's log is append-only, so an update inserts the new entries
 * at the top and removes the ones that fell off the end; the others do not move.
 */
class SlowQueryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        TimeColumn,
        DurationColumn,
        StatementColumn,
        CorrelationColumn,
        ConnectionColumn,
        RowsColumn,
        ErrorColumn,
        ColumnCount
    };

    explicit SlowQueryModel(QObject *parent = nullptr);
    ~SlowQueryModel() override;

    /// `log` oldest first, as SqlProfiler::slowLog() gives it.
    void setSlowLog(const QList<SlowQuery> &log);
    const SlowQuery &entry(int row) const { return m_rows.at(row); }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<SlowQuery> m_rows; // newest first
};

/// Per-connection usage (DatabaseSummary::connections): queries, total time, errors.
class ConnectionUsageModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column { ConnectionColumn, QueriesColumn, TotalColumn, ErrorsColumn, ColumnCount };

    explicit ConnectionUsageModel(QObject *parent = nullptr);
    ~ConnectionUsageModel() override;

    void setConnections(const QList<ConnectionUsage> &connections);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QHash<QString, ConnectionUsage> m_usage;
};

} // namespace vega::ui
