#pragma once

#include "batchwriter.h"
#include "metrics.h"

#include <QAbstractTableModel>
#include <QColor>
#include <QList>

namespace vega::ui {

/// The colour of a journal kind's chip ("reset", "breaker", "stall", ...); grey for others.
QColor journalKindColor(const QString &kind);
/// The text colour that reads on journalKindColor(kind).
QColor journalKindTextColor(const QString &kind);
/// Registry events (MetricsSnapshot::events) as journal entries, in the same order.
QList<JournalEntry> journalEntriesFromEvents(const QList<EngineEvent> &events);

/**
 * The event journal, newest first: time (local clock; tooltip ISO-8601 UTC), kind (with its
 * colour in KindColorRole, drawn as a chip by the page), source, message and duration.
 *
 * Updates that only add newer entries at the top and drop older ones at the bottom (what a
 * moving window gives) insert and remove rows, so the rows shown do not jump; anything else
 * resets the model.
 */
class JournalModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { TimeColumn, KindColumn, SourceColumn, MessageColumn, DurationColumn, ColumnCount };
    enum Role {
        WallMsRole = Qt::UserRole + 1, // UTC ms of the entry
        KindColorRole,                 // QColor of the kind's chip
    };

    explicit JournalModel(QObject *parent = nullptr);
    ~JournalModel() override;

    /// `entries` in any order (the store and the registry give them oldest first); shown
    /// newest first, entries of the same millisecond in reverse of the given order.
    void setEntries(const QList<JournalEntry> &entries);
    const JournalEntry &entry(int row) const { return m_rows.at(row); }
    QList<JournalEntry> entries() const { return m_rows; }

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<JournalEntry> m_rows; // newest first
};

} // namespace vega::ui
