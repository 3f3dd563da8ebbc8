#pragma once

#include "keyedtablemodel.h"
#include "streamrelay.h"

#include <QHash>
#include <QList>

namespace vega::ui {

/// Roles of the streams table.
enum StreamRole {
    StreamSortRole = Qt::UserRole + 1, // numbers for numeric columns, text otherwise
};

/**
 * The relay's open upstream streams (StreamRelaySummary::streams), one row per stream.
 *
 * Key: a stream has no id of its own and identical requests may run side by side, so a row's
 * key is the request text plus the stream's start time ("<request> @<start UTC ms>"), the start
 * being the snapshot time minus the stream's age when the row was created. Ages and snapshot
 * times are measured a few milliseconds apart, so a later snapshot's start estimate of the
 * same stream differs a little: it keeps its row when it is within kStartToleranceMs of the
 * row's start (the closest such row, each row taken once). Rows keep their place across
 * updates (KeyedTableModel); the view sorts on request with StreamSortRole.
 */
class StreamModel : public KeyedTableModel {
    Q_OBJECT
public:
    enum Column {
        RequestColumn,
        SharedColumn,
        PausedColumn,
        SubscribersColumn,
        BufferedColumn,
        MostBehindColumn,
        InRateColumn,
        OutRateColumn,
        FirstByteColumn,
        AgeColumn,
        ColumnCount
    };
    static constexpr qint64 kStartToleranceMs = 2000;

    explicit StreamModel(QObject *parent = nullptr);
    ~StreamModel() override;

    /// `streams` as StreamRelaySummary::streams (oldest first); `wallMs` the UTC ms of the
    /// snapshot they were taken with.
    void setStreams(const QList<StreamInfo> &streams, qint64 wallMs);
    /// The stream of `row` (a default one when out of range).
    StreamInfo stream(int row) const { return m_rows.value(keyAt(row)).info; }

    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        qint64 startMs = 0;
        StreamInfo info;
    };
    QHash<QString, Row> m_rows;
};

} // namespace vega::ui
