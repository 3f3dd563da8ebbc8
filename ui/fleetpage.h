#pragma once

#include <QHash>
#include <QTimer>
#include <QWidget>

QT_BEGIN_NAMESPACE
class QGridLayout;
class QLabel;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class FleetModel;
class HealthTile;
class StatTile;

/**
 * Every source at once, like Hystrix's Turbine view: summed rates and fleet-wide ratios at the
 * top, the worst health, one tile per source (health colour, request rate, errors, cache,
 * coalescing, reuse, loop lag, open breakers; a lost or stale agent says so and keeps its last
 * figures), and the same as a sortable table. Clicking a tile or a row opens that source's
 * pages (sourceActivated()).
 */
class FleetPage : public QWidget {
    Q_OBJECT
public:
    explicit FleetPage(QWidget *parent = nullptr);
    ~FleetPage() override;

    FleetModel *model() const { return m_model; }
    void addSource(vega::SnapshotSource *source);
    void removeSource(vega::SnapshotSource *source);
    /// Redraws now (also done every refresh interval while visible).
    void refresh();
    void setRefreshIntervalMs(int ms);
    HealthTile *tileFor(const vega::SnapshotSource *source) const;
    StatTile *summaryTile(const QString &id) const;
    HealthTile *worstHealthTile() const { return m_worst; }
    QTreeView *tableView() const { return m_view; }

Q_SIGNALS:
    void sourceActivated(vega::SnapshotSource *source);
    void connectRequested();

protected:
    bool eventFilter(QObject *watched, QEvent *event) override;
    void showEvent(QShowEvent *event) override;

private:
    void layoutTiles();

    FleetModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_view = nullptr;
    QHash<QString, StatTile *> m_summary;
    HealthTile *m_worst = nullptr;
    QWidget *m_tileArea = nullptr;
    QWidget *m_tileScroll = nullptr;
    QGridLayout *m_tileGrid = nullptr;
    QHash<const vega::SnapshotSource *, HealthTile *> m_tiles;
    QList<const vega::SnapshotSource *> m_tileOrder;
    QLabel *m_updated = nullptr;
    QTimer m_timer;
};

} // namespace vega::ui
