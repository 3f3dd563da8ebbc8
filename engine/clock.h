#pragma once

#include <QtGlobal>

#include <atomic>

namespace vega {

/// Monotonic time source. Every piece of timing logic in the engine takes a Clock so that
/// tests can step time instead of sleeping.
class Clock {
public:
    virtual ~Clock() = default;
    /// Nanoseconds on a monotonic timeline with an arbitrary origin.
    virtual qint64 nowNs() const = 0;
    qint64 nowMs() const { return nowNs() / 1000000; }

    /// The process-wide real clock (std::chrono::steady_clock).
    static Clock *system();
};

class SteadyClock final : public Clock {
public:
    qint64 nowNs() const override;
};

/// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(qint64 startNs = 1000000000) : m_ns(startNs) {}
    qint64 nowNs() const override { return m_ns.load(std::memory_order_acquire); }
    void advanceNs(qint64 ns) { m_ns.fetch_add(ns, std::memory_order_acq_rel); }
    void advanceMs(qint64 ms) { advanceNs(ms * 1000000); }
    void setNs(qint64 ns) { m_ns.store(ns, std::memory_order_release); }

private:
    std::atomic<qint64> m_ns;
};

} // namespace vega
