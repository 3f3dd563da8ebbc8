#pragma once

#include "keyedtablemodel.h"
#include "memorymonitor.h"

#include <QHash>
#include <QList>

namespace vega::ui {

/// Roles shared by the memory tables.
enum MemoryRole {
    MemorySortRole = Qt::UserRole + 1, // numbers for numeric columns, text otherwise
};

/// "↑", "↓", "→" or "?" for a trend.
QString trendArrow(Trend trend);
/// A growth rate in its unit: "+12.5 /min" (objects) or "+1.20 MiB/min" (bytes).
QString formatGrowthPerMinute(double perMinute, Unit unit);

/**
 * The memory monitor's tracked types (MemorySummary::types), one row per type name: live
 * objects, growth per minute, confidence, trend, threshold and whether it is a leak suspect.
 * Rows keep their place across updates (KeyedTableModel); the view sorts on request with
 * MemorySortRole.
 */
class TrackedTypeModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column {
        TypeColumn,
        LiveColumn,
        GrowthColumn,
        ConfidenceColumn,
        TrendColumn,
        ThresholdColumn,
        SuspectColumn,
        ColumnCount
    };

    explicit TrackedTypeModel(QObject *parent = nullptr);
    ~TrackedTypeModel() override;

    void setTypes(const QList<TrackedTypeStatus> &types);
    /// The status of `name`'s row (a default one when there is none).
    TrackedTypeStatus type(const QString &name) const { return m_types.value(name); }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QHash<QString, TrackedTypeStatus> m_types;
};

/**
 * The current leak suspects (MemorySummary::suspects), one row per series (a tracked type,
 * heap_in_use or process_rss): growth per minute, confidence, when the growth began and the
 * current count or size. Rows keep their place across updates.
 */
class LeakSuspectModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column { TypeColumn, GrowthColumn, ConfidenceColumn, FirstSeenColumn, CurrentColumn, ColumnCount };

    explicit LeakSuspectModel(QObject *parent = nullptr);
    ~LeakSuspectModel() override;

    void setSuspects(const QList<LeakSuspect> &suspects);

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QHash<QString, LeakSuspect> m_suspects;
};

} // namespace vega::ui
