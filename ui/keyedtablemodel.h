#pragma once

#include <QAbstractTableModel>
#include <QHash>
#include <QStringList>

QT_BEGIN_NAMESPACE
class QAbstractItemView;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega::ui {

/// Sorts a keyed table again by its sort column unless the pointer is over its rows: the
/// order follows the numbers, but a row the operator points at does not move away.
void resortUnlessHovered(QAbstractItemView *view, QSortFilterProxyModel *proxy);

/// The pages' table view: no tree decoration, uniform rows, alternating colours, sortable.
QTreeView *makeTableView(QAbstractItemModel *model, const QString &objectName, QWidget *parent);
/// A sort proxy over `source` by `sortRole` that sorts only when asked (resortUnlessHovered),
/// so rows never move by themselves.
QSortFilterProxyModel *makeSortProxy(QAbstractItemModel *source, int sortRole, QObject *parent);

/**
 * Base of tables whose rows are identified by a key (a host, a request key) and keep their
 * place across updates, so they do not jump under the cursor: a row whose key goes away is
 * removed, a new key is appended at the end, every other row stays where it is. Sorting is
 * left to the view, on the operator's request.
 */
class KeyedTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    explicit KeyedTableModel(QObject *parent = nullptr);
    ~KeyedTableModel() override;

    int rowCount(const QModelIndex &parent = {}) const override;
    /// -1 when the key has no row.
    int rowOfKey(const QString &key) const { return int(m_keys.indexOf(key)); }
    QString keyAt(int row) const { return m_keys.value(row); }
    QStringList keys() const { return m_keys; }

protected:
    /// Brings the rows in line with `keys`: removes the rows of keys not in it and appends
    /// the new keys in the order given. Call it before storing the new values, then
    /// notifyRowsChanged() for the rows whose values changed.
    void syncKeys(const QStringList &keys);
    /// dataChanged over every column of each row in `rows` (ascending), one signal per run.
    void notifyRowsChanged(const QList<int> &rows);

    /// Replaces the values behind the rows with `items`, keyed by keyOf(item) (the first of a
    /// duplicated key wins; an empty key is skipped): rows whose key went away are removed, new
    /// keys appended, and dataChanged is sent for each row whose value changed
    /// (!same(before, now)). `values` is the model's own store of the values by key.
    template <typename T, typename KeyOf, typename Same>
    void replaceRows(QHash<QString, T> *values, const QList<T> &items, KeyOf keyOf, Same same)
    {
        QStringList order;
        QHash<QString, T> next;
        for (const T &item : items) {
            const QString key = keyOf(item);
            if (key.isEmpty() || next.contains(key))
                continue;
            order.append(key);
            next.insert(key, item);
        }
        syncKeys(order);
        QList<int> changed;
        for (int row = 0; row < rowCount(); ++row) {
            const auto before = values->constFind(keyAt(row));
            if (before == values->constEnd() || !same(*before, next.value(keyAt(row))))
                changed.append(row);
        }
        *values = std::move(next);
        notifyRowsChanged(changed);
    }

private:
    QStringList m_keys;
};

} // namespace vega::ui
