#include "timeseries.h"

#include <algorithm>
#include <atomic>
#include <limits>

namespace vega {

TimeSeries::TimeSeries(int capacity, Storage storage)
    : m_capacity(std::max(1, capacity)), m_preallocate(storage == Storage::Preallocated)
{
}

TimeSeries::TimeSeries(const TimeSeries &other)
    : m_chunks(other.m_chunks), m_capacity(other.m_capacity), m_size(other.m_size), m_offset(other.m_offset)
{
}

TimeSeries &TimeSeries::operator=(const TimeSeries &other)
{
    if (this != &other) {
        m_chunks = other.m_chunks;
        m_spare.clear();
        m_capacity = other.m_capacity;
        m_preallocate = false;
        m_reserved = false;
        m_size = other.m_size;
        m_offset = other.m_offset;
    }
    return *this;
}

int TimeSeries::allocatedPoints() const
{
    return int(m_chunks.size() + qsizetype(m_spare.size())) * kChunk;
}

std::shared_ptr<TimeSeries::Chunk> TimeSeries::takeChunk()
{
    if (m_preallocate && !m_reserved) {
        // The most chunks a full series spans: capacity points starting anywhere in a chunk.
        const int needed = (m_capacity + kChunk - 1) / kChunk + 1 - int(m_chunks.size());
        m_spare.reserve(size_t(std::max(0, needed)));
        for (int i = 0; i < needed; ++i) {
            auto chunk = std::make_shared<Chunk>();
            chunk->reserve(kChunk);
            m_spare.push_back(std::move(chunk));
        }
        m_reserved = true;
    }
    if (!m_spare.empty()) {
        auto chunk = std::move(m_spare.back());
        m_spare.pop_back();
        return chunk;
    }
    auto chunk = std::make_shared<Chunk>();
    chunk->reserve(kChunk);
    return chunk;
}

void TimeSeries::recycle(std::shared_ptr<Chunk> chunk)
{
    // Only a chunk nobody else reads can be reused; one a snapshot still holds is freed
    // with that snapshot, and takeChunk() allocates its replacement.
    if (m_preallocate && chunk.use_count() == 1) {
        // use_count() is a relaxed load: the fence orders the last other holder's reads
        // (before its release decrement) before our writes to the chunk.
        std::atomic_thread_fence(std::memory_order_acquire);
        chunk->clear(); // keeps its storage
        m_spare.push_back(std::move(chunk));
    }
}

void TimeSeries::append(qint64 tMs, double value)
{
    if (m_chunks.isEmpty() || int(m_chunks.last()->size()) == kChunk) {
        m_chunks.append(takeChunk());
    } else if (m_chunks.last().use_count() > 1) {
        // A snapshot still reads this chunk: copy before writing (copy-on-write).
        m_chunks.last() = std::make_shared<Chunk>(*m_chunks.last());
        m_chunks.last()->reserve(kChunk);
    } else {
        // Ours alone (snapshots on other threads may just have dropped it): see recycle().
        std::atomic_thread_fence(std::memory_order_acquire);
    }
    m_chunks.last()->push_back(SeriesPoint{tMs, value});
    ++m_size;
    while (m_size > m_capacity) {
        ++m_offset;
        --m_size;
        if (m_offset == kChunk) {
            recycle(m_chunks.takeFirst());
            m_offset = 0;
        }
    }
}

void TimeSeries::clear()
{
    for (auto &chunk : m_chunks)
        recycle(std::move(chunk));
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
