#include "databasemodels.h"

#include "format.h"

#include <QColor>
#include <QDateTime>
#include <QLocale>

namespace vega::ui {

namespace {
bool sameStats(const StatementStats &a, const StatementStats &b)
{
    return a.calls == b.calls && a.totalMs == b.totalMs && a.maxMs == b.maxMs && a.p95Ms == b.p95Ms &&
           a.rows == b.rows && a.errors == b.errors;
}

bool sameSlow(const SlowQuery &a, const SlowQuery &b)
{
    return a.wallMs == b.wallMs && a.normalized == b.normalized && a.durationMs == b.durationMs &&
           a.correlationId == b.correlationId && a.connection == b.connection;
}

QString ms(double value)
{
    return QLocale().toString(value, 'f', value < 10 ? 2 : 1);
}

const QColor kErrorColor(0xb9, 0x1c, 0x1c);
} // namespace

// ---- StatementModel ----

StatementModel::StatementModel(QObject *parent) : KeyedTableModel(parent) {}

StatementModel::~StatementModel() = default;

void StatementModel::setStatements(const QList<StatementStats> &statements)
{
    replaceRows(&m_stats, statements, [](const StatementStats &s) { return s.normalized; }, sameStats);
}

int StatementModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant StatementModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_stats.constFind(keyAt(index.row()));
    if (it == m_stats.constEnd())
        return {};
    const StatementStats &s = *it;
    const QLocale locale;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case StatementColumn:
            return s.normalized;
        case CallsColumn:
            return locale.toString(s.calls);
        case TotalColumn:
            return ms(s.totalMs);
        case MeanColumn:
            return ms(s.meanMs);
        case P95Column:
            return ms(s.p95Ms);
        case MaxColumn:
            return ms(s.maxMs);
        case RowsColumn:
            return locale.toString(s.rows);
        case ErrorsColumn:
            return locale.toString(s.errors);
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == StatementColumn)
            return tr("%1\nLast run %2").arg(s.normalized, formatClockTime(s.lastCallWallMs));
        break;
    case Qt::TextAlignmentRole:
        if (index.column() != StatementColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        if (index.column() == ErrorsColumn && s.errors > 0)
            return kErrorColor;
        break;
    case DatabaseSortRole:
        switch (index.column()) {
        case StatementColumn:
            return s.normalized;
        case CallsColumn:
            return s.calls;
        case TotalColumn:
            return s.totalMs;
        case MeanColumn:
            return s.meanMs;
        case P95Column:
            return s.p95Ms;
        case MaxColumn:
            return s.maxMs;
        case RowsColumn:
            return s.rows;
        case ErrorsColumn:
            return s.errors;
        }
        break;
    }
    return {};
}

QVariant StatementModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case StatementColumn:
            return tr("Statement");
        case CallsColumn:
            return tr("Calls");
        case TotalColumn:
            return tr("Total ms");
        case MeanColumn:
            return tr("Mean ms");
        case P95Column:
            return tr("p95 ms");
        case MaxColumn:
            return tr("Max ms");
        case RowsColumn:
            return tr("Rows");
        case ErrorsColumn:
            return tr("Errors");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case StatementColumn:
            return tr("The statement with its values replaced by ?; executions of the same shape are grouped");
        case TotalColumn:
            return tr("Time spent in this statement since the last reset: where the database time goes");
        case P95Column:
            return tr("95% of the executions were at least this fast");
        case RowsColumn:
            return tr("Rows returned or affected");
        }
    }
    return {};
}

// ---- SlowQueryModel ----

SlowQueryModel::SlowQueryModel(QObject *parent) : QAbstractTableModel(parent) {}

SlowQueryModel::~SlowQueryModel() = default;

void SlowQueryModel::setSlowLog(const QList<SlowQuery> &log)
{
    // The log is a window over an append-only sequence: find where the newest shown entry
    // is in the new log; what follows it is new.
    qsizetype known = -1; // index in `log` of m_rows.first()
    if (!m_rows.isEmpty()) {
        for (qsizetype i = log.size() - 1; i >= 0; --i) {
            if (sameSlow(log.at(i), m_rows.first())) {
                known = i;
                break;
            }
        }
    }
    if (known < 0) {
        // Nothing in common (first fill, or a reset): replace everything.
        beginResetModel();
        m_rows.clear();
        for (qsizetype i = log.size() - 1; i >= 0; --i)
            m_rows.append(log.at(i));
        endResetModel();
        return;
    }
    const qsizetype added = log.size() - 1 - known;
    if (added > 0) {
        beginInsertRows({}, 0, int(added) - 1);
        QList<SlowQuery> fresh;
        for (qsizetype i = log.size() - 1; i > known; --i)
            fresh.append(log.at(i));
        m_rows = fresh + m_rows;
        endInsertRows();
    }
    // Entries dropped from the old end of the log.
    const qsizetype keep = log.size();
    if (m_rows.size() > keep) {
        beginRemoveRows({}, int(keep), int(m_rows.size()) - 1);
        m_rows.resize(keep);
        endRemoveRows();
    }
}

int SlowQueryModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SlowQueryModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant SlowQueryModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const SlowQuery &q = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return formatClockTime(q.wallMs);
        case DurationColumn:
            return ms(q.durationMs);
        case StatementColumn:
            return q.normalized;
        case CorrelationColumn:
            return q.correlationId.isEmpty() ? missingValueText() : q.correlationId;
        case ConnectionColumn:
            return q.connection;
        case RowsColumn:
            return QLocale().toString(q.rows);
        case ErrorColumn:
            return q.error;
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == StatementColumn || index.column() == ErrorColumn)
            return q.error.isEmpty() ? q.normalized : q.normalized + QLatin1Char('\n') + q.error;
        if (index.column() == TimeColumn)
            return QDateTime::fromMSecsSinceEpoch(q.wallMs).toString(Qt::ISODateWithMs);
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == DurationColumn || index.column() == RowsColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        if (!q.error.isEmpty())
            return kErrorColor;
        break;
    case DatabaseSortRole:
        switch (index.column()) {
        case TimeColumn:
            return q.wallMs;
        case DurationColumn:
            return q.durationMs;
        case RowsColumn:
            return q.rows;
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    return {};
}

QVariant SlowQueryModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case TimeColumn:
            return tr("Time");
        case DurationColumn:
            return tr("Duration ms");
        case StatementColumn:
            return tr("Statement");
        case CorrelationColumn:
            return tr("Correlation");
        case ConnectionColumn:
            return tr("Connection");
        case RowsColumn:
            return tr("Rows");
        case ErrorColumn:
            return tr("Error");
        }
    } else if (role == Qt::ToolTipRole && section == CorrelationColumn) {
        return tr("The request or operator action that ran the query");
    }
    return {};
}

// ---- ConnectionUsageModel ----

ConnectionUsageModel::ConnectionUsageModel(QObject *parent) : KeyedTableModel(parent) {}

ConnectionUsageModel::~ConnectionUsageModel() = default;

void ConnectionUsageModel::setConnections(const QList<ConnectionUsage> &connections)
{
    replaceRows(&m_usage, connections, [](const ConnectionUsage &c) { return c.connection; },
                [](const ConnectionUsage &before, const ConnectionUsage &now) {
                    return before.queries == now.queries && before.totalMs == now.totalMs && before.errors == now.errors;
                });
}

int ConnectionUsageModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ConnectionUsageModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_usage.constFind(keyAt(index.row()));
    if (it == m_usage.constEnd())
        return {};
    const ConnectionUsage &c = *it;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case ConnectionColumn:
            return c.connection;
        case QueriesColumn:
            return QLocale().toString(c.queries);
        case TotalColumn:
            return ms(c.totalMs);
        case ErrorsColumn:
            return QLocale().toString(c.errors);
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() != ConnectionColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        if (index.column() == ErrorsColumn && c.errors > 0)
            return kErrorColor;
        break;
    case DatabaseSortRole:
        switch (index.column()) {
        case ConnectionColumn:
            return c.connection;
        case QueriesColumn:
            return c.queries;
        case TotalColumn:
            return c.totalMs;
        case ErrorsColumn:
            return c.errors;
        }
        break;
    }
    return {};
}

QVariant ConnectionUsageModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case ConnectionColumn:
        return tr("Connection");
    case QueriesColumn:
        return tr("Queries");
    case TotalColumn:
        return tr("Total ms");
    case ErrorsColumn:
        return tr("Errors");
    }
    return {};
}

} // namespace vega::ui
