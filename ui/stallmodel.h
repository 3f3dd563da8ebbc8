#pragma once

#include "eventloopmonitor.h"

#include <QAbstractTableModel>
#include <QList>

namespace vega::ui {

/// The monitor's recent stalls, newest first: start time, duration, whether it goes on.
class StallModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { StartColumn, DurationColumn, StateColumn, ColumnCount };
    enum Role { StartWallMsRole = Qt::UserRole + 1, DurationMsRole };

    explicit StallModel(QObject *parent = nullptr);
    ~StallModel() override;

    /// `stalls` oldest first, as EventLoopSummary::recentStalls.
    void setStalls(const QList<StallRecord> &stalls);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<StallRecord> m_rows; // newest first
};

} // namespace vega::ui
