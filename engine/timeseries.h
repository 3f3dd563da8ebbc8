#pragma once

#include <QList>
#include <QVector>
#include <QtGlobal>

#include <memory>
#include <vector>

namespace vega {

struct SeriesPoint {
    qint64 tMs = 0; // UTC milliseconds since the epoch
    double value = 0;
};

/**
 * A bounded time series (oldest points fall off) that is cheap to copy: points live in
 * immutable chunks shared between copies, so putting a series into every snapshot costs a
 * few reference counts, not a copy of an hour of points. Only the newest, partial chunk is
 * copied when a shared series is appended to.
 */
class TimeSeries {
public:
    explicit TimeSeries(int capacity = 3600);

    void append(qint64 tMs, double value);
    void clear();

    int size() const { return m_size; }
    int capacity() const { return m_capacity; }
    bool isEmpty() const { return m_size == 0; }
    SeriesPoint at(int i) const; // 0 = oldest
    SeriesPoint last() const { return at(m_size - 1); }

    /// All points, oldest first.
    QVector<SeriesPoint> points() const;
    /// Points with tMs >= fromMs, oldest first.
    QVector<SeriesPoint> pointsSince(qint64 fromMs) const;

private:
    static constexpr int kChunk = 64;
    using Chunk = std::vector<SeriesPoint>;
    QList<std::shared_ptr<Chunk>> m_chunks;
    int m_capacity;
    int m_size = 0;
    int m_offset = 0; // first live point within m_chunks.first()
};

} // namespace vega
