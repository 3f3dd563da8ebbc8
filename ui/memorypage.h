#pragma once

#include "snapshotpage.h"

#include <QList>

QT_BEGIN_NAMESPACE
class QLabel;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class LeakSuspectModel;
class StatTile;
class TimeChart;
class TrackedTypeModel;

/**
 * The memory monitor: RSS and heap in use with their trends, RSS and heap over time, every
 * tracked type (live objects, growth, confidence, trend, threshold; sortable, rows keep their
 * place) and the current leak suspects with what to do about them.
 */
class MemoryPage : public SnapshotPage {
    Q_OBJECT
public:
    enum MemorySeries { RssSeries, HeapSeries };

    explicit MemoryPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~MemoryPage() override;

    /// Tile ids: "rss", "heap", "types", "suspects", "workload".
    static QStringList tileIds();
    StatTile *tile(const QString &id) const;
    TimeChart *memoryChart() const { return m_chart; }
    TrackedTypeModel *typeModel() const { return m_types; }
    LeakSuspectModel *suspectModel() const { return m_suspects; }
    QTreeView *typeView() const { return m_typeView; }
    QTreeView *suspectView() const { return m_suspectView; }
    /// The "what to do" text under the suspects.
    QLabel *suspectHint() const { return m_hint; }

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void updateTiles(const MemorySummary &memory);
    void updateHint(const MemorySummary &memory);

    QList<StatTile *> m_tiles;
    QLabel *m_updated = nullptr;
    QLabel *m_hint = nullptr;
    TimeChart *m_chart = nullptr;
    TrackedTypeModel *m_types = nullptr;
    LeakSuspectModel *m_suspects = nullptr;
    QSortFilterProxyModel *m_typeProxy = nullptr;
    QTreeView *m_typeView = nullptr;
    QTreeView *m_suspectView = nullptr;
    QString m_criteria; // when a suspect is raised, from the monitor's configuration
};

} // namespace vega::ui
