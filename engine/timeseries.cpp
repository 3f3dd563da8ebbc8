#include "timeseries.h"

#include <algorithm>
#include <limits>

namespace vega {

TimeSeries::TimeSeries(int capacity) : m_capacity(std::max(1, capacity)) {}

void TimeSeries::append(qint64 tMs, double value)
{
    if (m_chunks.isEmpty() || int(m_chunks.last()->size()) == kChunk) {
        auto chunk = std::make_shared<Chunk>();
        chunk->reserve(kChunk);
        m_chunks.append(chunk);
    } else if (m_chunks.last().use_count() > 1) {
        // A snapshot still reads this chunk: copy before writing (copy-on-write).
        m_chunks.last() = std::make_shared<Chunk>(*m_chunks.last());
        m_chunks.last()->reserve(kChunk);
    }
    m_chunks.last()->push_back(SeriesPoint{tMs, value});
    ++m_size;
    while (m_size > m_capacity) {
        ++m_offset;
        --m_size;
        if (m_offset == kChunk) {
            m_chunks.removeFirst();
            m_offset = 0;
        }
    }
}

void TimeSeries::clear()
{
    m_chunks.clear();
    m_size = 0;
    m_offset = 0;
}

SeriesPoint TimeSeries::at(int i) const
{
    if (i < 0 || i >= m_size)
        return {};
    const int pos = m_offset + i;
    return (*m_chunks.at(pos / kChunk))[size_t(pos % kChunk)];
}

QVector<SeriesPoint> TimeSeries::points() const
{
    return pointsSince(std::numeric_limits<qint64>::min());
}

QVector<SeriesPoint> TimeSeries::pointsSince(qint64 fromMs) const
{
    // Points are appended in time order: binary search the first wanted one.
    int lo = 0;
    int hi = m_size;
    while (lo < hi) {
        const int mid = (lo + hi) / 2;
        if (at(mid).tMs < fromMs)
            lo = mid + 1;
        else
            hi = mid;
    }
    QVector<SeriesPoint> out;
    out.reserve(m_size - lo);
    for (int i = lo; i < m_size; ++i)
        out.append(at(i));
    return out;
}

} // namespace vega
