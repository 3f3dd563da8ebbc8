#include "keyedtablemodel.h"

#include <QAbstractItemView>
#include <QSortFilterProxyModel>
#include <QTreeView>

#include <QSet>

namespace vega::ui {

void resortUnlessHovered(QAbstractItemView *view, QSortFilterProxyModel *proxy)
{
    if (!view->viewport()->underMouse() && proxy->sortColumn() >= 0)
        proxy->sort(proxy->sortColumn(), proxy->sortOrder());
}

KeyedTableModel::KeyedTableModel(QObject *parent) : QAbstractTableModel(parent) {}

KeyedTableModel::~KeyedTableModel() = default;

int KeyedTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_keys.size());
}

void KeyedTableModel::syncKeys(const QStringList &keys)
{
    const QSet<QString> wanted(keys.cbegin(), keys.cend());
    // Remove gone keys, a run of adjacent rows at a time, from the end so rows before stay put.
    for (int row = int(m_keys.size()) - 1; row >= 0; --row) {
        if (wanted.contains(m_keys.at(row)))
            continue;
        int first = row;
        while (first > 0 && !wanted.contains(m_keys.at(first - 1)))
            --first;
        beginRemoveRows({}, first, row);
        m_keys.remove(first, row - first + 1);
        endRemoveRows();
        row = first;
    }
    const QSet<QString> present(m_keys.cbegin(), m_keys.cend());
    QStringList added;
    QSet<QString> addedSet;
    for (const QString &key : keys) {
        if (present.contains(key) || addedSet.contains(key))
            continue;
        added.append(key);
        addedSet.insert(key);
    }
    if (added.isEmpty())
        return;
    const int first = int(m_keys.size());
    beginInsertRows({}, first, first + int(added.size()) - 1);
    m_keys.append(added);
    endInsertRows();
}

void KeyedTableModel::notifyRowsChanged(const QList<int> &rows)
{
    const int lastColumn = columnCount() - 1;
    for (int i = 0; i < rows.size();) {
        int j = i;
        while (j + 1 < rows.size() && rows.at(j + 1) == rows.at(j) + 1)
            ++j;
        Q_EMIT dataChanged(index(rows.at(i), 0), index(rows.at(j), lastColumn));
        i = j + 1;
    }
}

QTreeView *makeTableView(QAbstractItemModel *model, const QString &objectName, QWidget *parent)
{
    auto *view = new QTreeView(parent);
    view->setObjectName(objectName);
    view->setModel(model);
    view->setRootIsDecorated(false);
    view->setUniformRowHeights(true);
    view->setAlternatingRowColors(true);
    view->setSortingEnabled(true);
    return view;
}

QSortFilterProxyModel *makeSortProxy(QAbstractItemModel *source, int sortRole, QObject *parent)
{
    auto *proxy = new QSortFilterProxyModel(parent);
    proxy->setSourceModel(source);
    proxy->setSortRole(sortRole);
    proxy->setDynamicSortFilter(false);
    return proxy;
}

} // namespace vega::ui
