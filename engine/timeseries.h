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
    /// OnDemand: chunks are allocated as points arrive (copies, charts, remote sources).
    /// Preallocated: the first append allocates every chunk the full series will need, and
    /// chunks that fall off the front are reused when no snapshot still reads them, so the
    /// series' memory is fixed from its first point instead of growing until it is full
    /// (an hour at the default capacity). The engine's own metrics use this.
    enum class Storage { OnDemand, Preallocated };

    explicit TimeSeries(int capacity = 3600, Storage storage = Storage::OnDemand);
    /// A copy shares the points (cheap) but never the spare chunks, and allocates on demand.
    TimeSeries(const TimeSeries &other);
    TimeSeries &operator=(const TimeSeries &other);
    TimeSeries(TimeSeries &&other) noexcept = default;
    TimeSeries &operator=(TimeSeries &&other) noexcept = default;
    ~TimeSeries() = default;

    void append(qint64 tMs, double value);
    void clear();

    int size() const { return m_size; }
    int capacity() const { return m_capacity; }
    /// Chunks held for future points (Preallocated only); for tests and memory accounting.
    int spareChunks() const { return int(m_spare.size()); }
    /// Points the series' chunks can hold without another allocation: in use plus spare.
    int allocatedPoints() const;
    bool isEmpty() const { return m_size == 0; }
    SeriesPoint at(int i) const; // 0 = oldest
    SeriesPoint last() const { return at(m_size - 1); }

    /// All points, oldest first.
    QVector<SeriesPoint> points() const;
    /// Points with tMs >= fromMs, oldest first.
    QVector<SeriesPoint> pointsSince(qint64 fromMs) const;

    static constexpr int kChunk = 64;

private:
    using Chunk = std::vector<SeriesPoint>;
    std::shared_ptr<Chunk> takeChunk();
    void recycle(std::shared_ptr<Chunk> chunk);

    QList<std::shared_ptr<Chunk>> m_chunks;
    std::vector<std::shared_ptr<Chunk>> m_spare; // Preallocated: empty chunks owned by nobody else
    int m_capacity;
    bool m_preallocate = false;
    bool m_reserved = false; // the full set of chunks has been allocated
    int m_size = 0;
    int m_offset = 0; // first live point within m_chunks.first()
};

} // namespace vega
