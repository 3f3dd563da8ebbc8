#include "topkeysmodel.h"

#include "format.h"

#include <QLocale>

namespace vega::ui {

TopKeysModel::TopKeysModel(QObject *parent) : KeyedTableModel(parent) {}

TopKeysModel::~TopKeysModel() = default;

void TopKeysModel::setKeys(const QList<TopKey> &keys)
{
    QStringList order;
    QHash<QString, Entry> entries;
    for (const TopKey &k : keys) {
        if (entries.contains(k.key))
            continue;
        order.append(k.key);
        entries.insert(k.key, Entry{int(order.size()), k.coalesced});
    }
    syncKeys(order); // new keys show empty until their values are in, a moment later
    QList<int> changed;
    for (int row = 0; row < rowCount(); ++row) {
        const Entry before = m_entries.value(keyAt(row));
        const Entry after = entries.value(keyAt(row));
        if (before.rank != after.rank || before.coalesced != after.coalesced)
            changed.append(row);
    }
    m_entries = std::move(entries);
    notifyRowsChanged(changed);
}

int TopKeysModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TopKeysModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const QString key = keyAt(index.row());
    const auto it = m_entries.constFind(key);
    if (it == m_entries.constEnd())
        return {};
    const Entry &e = *it;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case RankColumn:
            return e.rank;
        case KeyColumn:
            return key;
        case CoalescedColumn:
            return QLocale().toString(e.coalesced);
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == KeyColumn)
            return key;
        break;
    case Qt::TextAlignmentRole:
        if (index.column() != KeyColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case CoalescedRole:
        return e.coalesced;
    case RankRole:
        return e.rank;
    case SortRole:
        switch (index.column()) {
        case RankColumn:
            return e.rank;
        case KeyColumn:
            return key;
        case CoalescedColumn:
            return e.coalesced;
        }
        break;
    }
    return {};
}

QVariant TopKeysModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::ToolTipRole && section == CoalescedColumn)
        return tr("Callers that joined an identical in-flight call instead of sending their own");
    if (role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case RankColumn:
        return tr("Rank");
    case KeyColumn:
        return tr("Request key");
    case CoalescedColumn:
        return tr("Coalesced");
    }
    return {};
}

} // namespace vega::ui
