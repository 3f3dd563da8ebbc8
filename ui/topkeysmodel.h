#pragma once

#include "httpclient.h"
#include "keyedtablemodel.h"

#include <QHash>

namespace vega::ui {

/**
 * The request keys that were coalesced most (HttpClientSummary::topCoalescedKeys): rank, key
 * and how many callers joined an identical in-flight call. A key keeps its row while it stays
 * in the top list; a new key is appended, so the rank column, not the row, says who leads.
 */
class TopKeysModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column { RankColumn, KeyColumn, CoalescedColumn, ColumnCount };
    enum Role {
        CoalescedRole = Qt::UserRole + 1, // quint64
        RankRole,                         // int, 1 = most coalesced
        SortRole,                         // numbers for numeric columns, the key otherwise
    };

    explicit TopKeysModel(QObject *parent = nullptr);
    ~TopKeysModel() override;

    /// `keys` most coalesced first, as the client reports them.
    void setKeys(const QList<TopKey> &keys);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Entry {
        int rank = 0;
        quint64 coalesced = 0;
    };
    QHash<QString, Entry> m_entries;
};

} // namespace vega::ui
