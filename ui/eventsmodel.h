#pragma once

#include "metrics.h"

#include <QAbstractTableModel>
#include <QList>

namespace vega::ui {

/// The engine's journal (resets, stalls, ...), newest first.
class EventsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { TimeColumn, KindColumn, SourceColumn, MessageColumn, ColumnCount };
    enum Role { WallMsRole = Qt::UserRole + 1 };

    explicit EventsModel(QObject *parent = nullptr);
    ~EventsModel() override;

    /// `events` oldest first, as MetricsSnapshot::events.
    void setEvents(const QList<EngineEvent> &events);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<EngineEvent> m_rows; // newest first
};

} // namespace vega::ui
