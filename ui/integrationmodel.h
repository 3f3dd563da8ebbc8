#pragma once

#include "integrations.h"
#include "keyedtablemodel.h"

#include <QHash>
#include <QList>

namespace vega::ui {

/// Roles of the integrations table.
enum IntegrationRole {
    IntegrationSortRole = Qt::UserRole + 1, // numbers for numeric columns, text otherwise
    IntegrationFilterRole,                  // "name kind state" on every column: what the filter box matches
};

/// "12 s ago", "3 min ago", "2 h ago", "4 d ago" from `nowWallMs`; "never" when `thenWallMs`
/// is 0; "just now" under a second (and for a moment after now, from clock skew).
QString formatTimeAgo(qint64 thenWallMs, qint64 nowWallMs);

/// Rank of an integration state for sorting: healthy 0, unknown 1, degraded 2, unhealthy 3.
int integrationStateRank(Health state);

/**
 * The integrations (Snapshot::integrations), one row per integration keyed by name: kind,
 * state (coloured), latency, HTTP status, last check, last success (relative to the snapshot
 * time), consecutive failures, checks run and the reason or last error. Rows keep their place
 * across updates (KeyedTableModel); the view sorts on request with IntegrationSortRole.
 */
class IntegrationModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column {
        NameColumn,
        KindColumn,
        StateColumn,
        LatencyColumn,
        HttpStatusColumn,
        LastCheckColumn,
        LastSuccessColumn,
        FailuresColumn,
        ChecksColumn,
        ReasonColumn,
        ColumnCount
    };

    explicit IntegrationModel(QObject *parent = nullptr);
    ~IntegrationModel() override;

    /// `nowWallMs` (UTC ms, normally the snapshot time) is what "ago" is counted from.
    void setIntegrations(const QList<IntegrationStatus> &integrations, qint64 nowWallMs);
    /// The status of the row's integration; an empty-named status for a row out of range.
    IntegrationStatus status(int row) const { return m_status.value(keyAt(row)); }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QString reasonText(const IntegrationStatus &s) const;

    QHash<QString, IntegrationStatus> m_status;
    qint64 m_nowWallMs = 0;
};

} // namespace vega::ui
