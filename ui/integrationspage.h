#pragma once

#include "snapshotpage.h"

#include <QHash>
#include <QList>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class IntegrationModel;
class StatTile;
class TimeChart;

/**
 * The external systems the engine depends on: how many are healthy, degraded, unhealthy or
 * not checked yet, the slowest check, one row per integration (state, latency, HTTP status,
 * last check and success, failures in a row, the reason), a filter box, "Check now", and
 * each integration's check latency (p50) over time.
 */
class IntegrationsPage : public SnapshotPage {
    Q_OBJECT
public:
    explicit IntegrationsPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~IntegrationsPage() override;

    /// Tile ids: "healthy", "degraded", "unhealthy", "unknown", "slowest".
    static QStringList tileIds();
    StatTile *tile(const QString &id) const;
    IntegrationModel *model() const { return m_model; }
    /// What the view shows: the model filtered and sorted.
    QSortFilterProxyModel *proxy() const { return m_proxy; }
    QTreeView *view() const { return m_view; }
    QLineEdit *filterEdit() const { return m_filter; }
    QPushButton *checkNowButton() const { return m_checkNow; }
    TimeChart *latencyChart() const { return m_latencyChart; }
    /// Shown instead of the table when no integration is configured.
    QLabel *emptyStateLabel() const { return m_empty; }
    /// The chart series of an integration's check latency; -1 before it was seen.
    int seriesOf(const QString &integration) const { return m_seriesByName.value(integration, -1); }

    /// Names of the selected integrations (empty: none selected).
    QStringList selectedIntegrations() const;

public Q_SLOTS:
    /// Checks the selected integrations now, or every one when none is selected.
    void checkNow();
    /// Shows only the rows whose name, kind or state contains `text` (case-insensitive).
    void setFilterText(const QString &text);

Q_SIGNALS:
    /// A check was started by the operator ("Checking ha, slack now").
    void checkRequested(const QString &description);

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void updateTiles(const Snapshot &snapshot);
    void updateChart(const Snapshot &snapshot);
    void updateCheckButton();

    SnapshotSource *m_engine;
    QList<StatTile *> m_tiles;
    QLabel *m_updated = nullptr;
    QLabel *m_empty = nullptr;
    QLineEdit *m_filter = nullptr;
    QPushButton *m_checkNow = nullptr;
    IntegrationModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_view = nullptr;
    QWidget *m_content = nullptr;
    TimeChart *m_latencyChart = nullptr;
    QHash<QString, int> m_seriesByName;
};

} // namespace vega::ui
