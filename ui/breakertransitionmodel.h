#pragma once

#include "metrics.h"

#include <QAbstractTableModel>
#include <QList>

namespace vega::ui {

/**
 * Recent circuit breaker transitions, newest first, from the registry's events of kind
 * "breaker" ("closed → open: failure rate 60.0% ≥ 50% over 20 calls"). New transitions are
 * inserted at the top and the oldest dropped at the bottom, so a selected row stays on its
 * transition. Keeps at most maxRows().
 */
class BreakerTransitionModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { TimeColumn, BreakerColumn, FromColumn, ToColumn, ReasonColumn, ColumnCount };
    enum Role {
        WallMsRole = Qt::UserRole + 1,
        BreakerRole, // the breaker's name
        FromStateRole,
        ToStateRole, // closed, open, half_open, forced_open, forced_closed
    };

    explicit BreakerTransitionModel(QObject *parent = nullptr);
    ~BreakerTransitionModel() override;

    static int maxRows() { return 200; }

    /// The registry's journal, oldest first (MetricsSnapshot::events); other kinds are skipped.
    void setEvents(const QList<EngineEvent> &events);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        qint64 wallMs = 0;
        QString source; // "breaker:<name>", with the message what identifies the event
        QString message;
        QString breaker;
        QString from;
        QString to;
        QString reason;
    };
    static Row rowOf(const EngineEvent &event);

    QList<Row> m_rows; // newest first
};

} // namespace vega::ui
