#pragma once

#include "httpclient.h"
#include "keyedtablemodel.h"

#include <QHash>

namespace vega::ui {

/**
 * The HTTP client's connection pools, one row per host (HttpClientSummary::pools): requests,
 * connections opened, reuse ratio, requests active and pending against the limit, idle
 * cleanups. Hosts keep their row; a new host is appended.
 */
class PoolModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column {
        HostColumn,
        RequestsColumn,
        OpenedColumn,
        ReuseColumn,
        ActiveColumn,
        PendingColumn,
        MaxColumn,
        IdleCleanupsColumn,
        ColumnCount
    };
    enum Role {
        RequestsRole = Qt::UserRole + 1, // quint64
        ReuseRatioRole,                  // double 0-1; invalid before the first request
        SortRole,                        // numbers for numeric columns, the host otherwise
    };

    explicit PoolModel(QObject *parent = nullptr);
    ~PoolModel() override;

    void setPools(const QList<HostPoolStats> &pools);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QHash<QString, HostPoolStats> m_pools;
};

} // namespace vega::ui
