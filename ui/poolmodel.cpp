#include "poolmodel.h"

#include "format.h"

#include <QColor>
#include <QLocale>

namespace vega::ui {

namespace {
bool samePool(const HostPoolStats &a, const HostPoolStats &b)
{
    return a.host == b.host && a.requests == b.requests && a.connectionsOpened == b.connectionsOpened &&
           a.reuseRatio == b.reuseRatio && a.active == b.active && a.pending == b.pending &&
           a.maxConnections == b.maxConnections && a.idleCleanups == b.idleCleanups;
}
} // namespace

PoolModel::PoolModel(QObject *parent) : KeyedTableModel(parent) {}

PoolModel::~PoolModel() = default;

void PoolModel::setPools(const QList<HostPoolStats> &pools)
{
    replaceRows(&m_pools, pools, [](const HostPoolStats &p) { return p.host; }, samePool);
}

int PoolModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PoolModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_pools.constFind(keyAt(index.row()));
    if (it == m_pools.constEnd())
        return {};
    const HostPoolStats &p = *it;
    // The client reports a reuse ratio of 0 before any request: that is no reading.
    const bool hasReuse = p.requests > 0;
    const QLocale locale;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case HostColumn:
            return p.host;
        case RequestsColumn:
            return locale.toString(p.requests);
        case OpenedColumn:
            return locale.toString(p.connectionsOpened);
        case ReuseColumn:
            return hasReuse ? formatRatioPercent(p.reuseRatio) : missingValueText();
        case ActiveColumn:
            return p.active;
        case PendingColumn:
            return p.pending;
        case MaxColumn:
            return p.maxConnections;
        case IdleCleanupsColumn:
            return locale.toString(p.idleCleanups);
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() != HostColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        // Requests waiting for a connection slot: the pool is the bottleneck.
        if (index.column() == PendingColumn && p.pending > 0)
            return QColor(0xb4, 0x53, 0x09);
        break;
    case Qt::ToolTipRole:
        if (index.column() == ActiveColumn || index.column() == MaxColumn)
            return tr("%1 of at most %2 connections in use").arg(p.active).arg(p.maxConnections);
        break;
    case RequestsRole:
        return p.requests;
    case ReuseRatioRole:
        return hasReuse ? QVariant(p.reuseRatio) : QVariant();
    case SortRole:
        switch (index.column()) {
        case HostColumn:
            return p.host;
        case RequestsColumn:
            return p.requests;
        case OpenedColumn:
            return p.connectionsOpened;
        case ReuseColumn:
            return hasReuse ? p.reuseRatio : -1.0;
        case ActiveColumn:
            return p.active;
        case PendingColumn:
            return p.pending;
        case MaxColumn:
            return p.maxConnections;
        case IdleCleanupsColumn:
            return p.idleCleanups;
        }
        break;
    }
    return {};
}

QVariant PoolModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case RequestsColumn:
            return tr("Requests written to the network, retries included");
        case OpenedColumn:
            return tr("New TCP connections opened");
        case ReuseColumn:
            return tr("Share of requests sent on an already open connection");
        case ActiveColumn:
            return tr("Requests on the wire now");
        case PendingColumn:
            return tr("Requests waiting for a free connection slot");
        case MaxColumn:
            return tr("Connection limit of the host's policy");
        case IdleCleanupsColumn:
            return tr("Times the idle connections were closed");
        }
        return {};
    }
    if (role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case HostColumn:
        return tr("Host");
    case RequestsColumn:
        return tr("Requests");
    case OpenedColumn:
        return tr("Opened");
    case ReuseColumn:
        return tr("Reuse");
    case ActiveColumn:
        return tr("Active");
    case PendingColumn:
        return tr("Pending");
    case MaxColumn:
        return tr("Max");
    case IdleCleanupsColumn:
        return tr("Cleanups");
    }
    return {};
}

} // namespace vega::ui
