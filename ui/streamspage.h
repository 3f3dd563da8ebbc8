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

class StatTile;
class StreamModel;
class TimeChart;

/**
 * The stream relay: how many streams and subscribers, how much is buffered, backpressure
 * (pauses and resumes), losses (dropped chunks, disconnected slow subscribers) and sharing;
 * buffered bytes and throughput over time; and every open stream (sortable, rows keep their
 * place) with its state, buffers, rates and time to first byte.
 */
class StreamsPage : public SnapshotPage {
    Q_OBJECT
public:
    enum BufferSeries { BufferedSeries };
    enum ThroughputSeries { InSeries, OutSeries };

    explicit StreamsPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~StreamsPage() override;

    /// Tile ids: "active", "subscribers", "buffered", "pauses", "dropped", "disconnects", "joins".
    static QStringList tileIds();
    StatTile *tile(const QString &id) const;
    TimeChart *bufferChart() const { return m_bufferChart; }
    TimeChart *throughputChart() const { return m_throughputChart; }
    StreamModel *streamModel() const { return m_streams; }
    QTreeView *streamView() const { return m_view; }

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void updateTiles(const Snapshot &snapshot);

    QList<StatTile *> m_tiles;
    QLabel *m_updated = nullptr;
    TimeChart *m_bufferChart = nullptr;
    TimeChart *m_throughputChart = nullptr;
    StreamModel *m_streams = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_view = nullptr;
};

} // namespace vega::ui
