#include "stallmodel.h"

#include "format.h"

#include <QColor>

#include <algorithm>

namespace vega::ui {

StallModel::StallModel(QObject *parent) : QAbstractTableModel(parent) {}

StallModel::~StallModel() = default;

void StallModel::setStalls(const QList<StallRecord> &stalls)
{
    QList<StallRecord> rows(stalls.crbegin(), stalls.crend());
    bool sameRows = rows.size() == m_rows.size();
    for (int i = 0; sameRows && i < rows.size(); ++i)
        sameRows = rows.at(i).startWallMs == m_rows.at(i).startWallMs;
    if (!sameRows) {
        beginResetModel();
        m_rows = std::move(rows);
        endResetModel();
        return;
    }
    // Same stalls: only an ongoing one can have changed.
    for (int i = 0; i < rows.size(); ++i) {
        const bool changed =
            rows.at(i).durationMs != m_rows.at(i).durationMs || rows.at(i).ongoing != m_rows.at(i).ongoing;
        m_rows[i] = rows.at(i);
        if (changed)
            Q_EMIT dataChanged(index(i, 0), index(i, ColumnCount - 1));
    }
}

int StallModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int StallModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant StallModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const StallRecord &stall = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case StartColumn:
            return formatClockTime(stall.startWallMs);
        case DurationColumn:
            return formatDurationMs(stall.durationMs);
        case StateColumn:
            return stall.ongoing ? tr("ongoing") : tr("ended");
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == DurationColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        if (index.column() == StateColumn && stall.ongoing)
            return QColor(0xd6, 0x3c, 0x3c);
        break;
    case StartWallMsRole:
        return stall.startWallMs;
    case DurationMsRole:
        return stall.durationMs;
    }
    return {};
}

QVariant StallModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case StartColumn:
        return tr("Started");
    case DurationColumn:
        return tr("Duration");
    case StateColumn:
        return tr("State");
    }
    return {};
}

} // namespace vega::ui
