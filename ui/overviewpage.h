#pragma once

#include "snapshotpage.h"

#include <QList>

QT_BEGIN_NAMESPACE
class QLabel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class EventsModel;
class HealthTile;

/// Health at a glance: one tile per diagnostics category, one for the integrations and one
/// for the memory trend, the last update time, a stale badge when snapshots stop, and the
/// engine's recent events.
class OverviewPage : public SnapshotPage {
    Q_OBJECT
public:
    explicit OverviewPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~OverviewPage() override;

    /// The tile ids in display order: the system's eight diagnostics categories, the
    /// database, the shared cache, then breakersTileId(), integrationsTileId() and
    /// memoryTrendTileId().
    static QStringList categoryIds();
    /// The circuit breakers' tile: Critical while one is open, Warning while one is half open
    /// or forced, "12 of 13 closed", the open ones named.
    static QString breakersTileId();
    /// The integrations tile: the worst state, "7 of 8 healthy", the unhealthy ones named.
    static QString integrationsTileId();
    /// The memory monitor's tile: RSS, heap and RSS trends, leak suspects (Warning when any).
    static QString memoryTrendTileId();

    int tileCount() const { return int(m_tiles.size()); }
    HealthTile *tile(const QString &categoryId) const;
    QString updatedText() const;
    bool isStaleShown() const;
    EventsModel *eventsModel() const { return m_eventsModel; }

public Q_SLOTS:
    void setStale(bool stale);

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void updateTile(HealthTile *tile, const DiagnosticCategory *category);
    void updateIntegrationsTile(HealthTile *tile, const QList<IntegrationStatus> &integrations);
    void updateBreakersTile(HealthTile *tile, const QList<BreakerInfo> &breakers);
    void updateMemoryTile(HealthTile *tile, const MemorySummary &memory);

    QList<HealthTile *> m_tiles;
    QLabel *m_overall = nullptr;
    QLabel *m_updated = nullptr;
    QLabel *m_stale = nullptr;
    EventsModel *m_eventsModel = nullptr;
    QTreeView *m_eventsView = nullptr;
};

} // namespace vega::ui
