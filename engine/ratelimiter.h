#pragma once

#include "clock.h"

#include <QMutex>
#include <QObject>
#include <QString>
#include <QTimer>

#include <deque>
#include <functional>
#include <optional>

namespace vega {

class Counter;
class Gauge;
class MetricsRegistry;

struct RateLimiterOptions {
    double ratePerSecond = 50;
    /// Bucket size: requests that may go at once after an idle spell. 0 = ratePerSecond.
    double burst = 0;

    /// AIMD: overload (429/503, rising latency) multiplies the rate by multiplicativeDecrease;
    /// every increaseIntervalMs that saw successes, no decrease, and demand above the rate
    /// (a caller had to wait), the rate grows by additiveIncrease. The burst scales with the
    /// rate so that a cut rate is not undone by a full bucket.
    bool adaptive = false;
    double minRate = 1;
    double maxRate = 0; ///< 0 = 10 × ratePerSecond
    double additiveIncrease = 1;
    qint64 increaseIntervalMs = 1000;
    double multiplicativeDecrease = 0.5;
    /// At most one decrease per cooldown: the responses already in flight when the rate was
    /// cut report the same overload, and counting each would collapse the rate at once.
    qint64 decreaseCooldownMs = 1000;
    /// Decrease when the latency EWMA exceeds this multiple of its slow baseline. 0 = off.
    double latencyIncreaseFactor = 2.0;

    int maxQueue = 100;
    /// Longest wait in the queue; a waiter's own deadline can only make it shorter.
    qint64 queueTimeoutMs = 5000;
};

struct RateLimiterStats {
    double ratePerSecond = 0;
    double tokens = 0;
    int queueDepth = 0;
    qint64 blockedForMs = 0; ///< remaining Retry-After block
    quint64 granted = 0;
    quint64 delayed = 0;
    quint64 rejectedQueueFull = 0;
    quint64 rejectedTimeout = 0;
    quint64 decreases = 0;
    quint64 increases = 0;
    double latencyEwmaMs = 0;
    double latencyBaselineMs = 0;
};

/**
 * Token bucket for one upstream host, with an optional AIMD-adaptive rate, Retry-After
 * blocking and a bounded FIFO wait queue. Pure policy: it sends nothing; the HTTP pipeline
 * asks it for a token before each request and reports each response.
 *
 * All methods are thread-safe. The limiter arms one QTimer on its own thread for the next
 * moment a queued waiter can be granted or expires; with a ManualClock, tests call pump()
 * after advancing time instead. Waiter callbacks run without the limiter's lock held (they may
 * call back into it) on the thread that ran pump(), normally the limiter's thread.
 * Waiters still queued when the limiter is destroyed are dropped without a callback.
 *
 * Metrics (label host=<host>): gauges ratelimit_rate (tokens/s) and ratelimit_queue_depth;
 * counters ratelimit_granted, ratelimit_delayed (waiters queued),
 * ratelimit_rejected{reason=queue_full|timeout}, ratelimit_decreases, ratelimit_increases.
 */
class RateLimiter : public QObject {
    Q_OBJECT
public:
    /// One request waiting for a token.
    struct Waiter {
        /// On the limiter's clock (Clock::nowNs()); 0 = now + queueTimeoutMs.
        qint64 deadlineNs = 0;
        /// true: a token was taken for it; false: it timed out (a "rate limited" error).
        std::function<void(bool granted)> callback;
        /// Caller-chosen, non-zero to allow cancel().
        quint64 id = 0;
    };

    /// `registry` (may be null) and `clock` must outlive the limiter.
    explicit RateLimiter(const QString &host, const RateLimiterOptions &options = {},
                         MetricsRegistry *registry = nullptr, Clock *clock = Clock::system(),
                         QObject *parent = nullptr);
    ~RateLimiter() override;

    QString host() const { return m_host; }
    const RateLimiterOptions &options() const { return m_options; }

    /// Takes a token: returns 0 when taken, else the ms until one will be available (queued
    /// waiters go first, so with a non-empty queue this never takes a token).
    qint64 tryAcquire();

    /// Reports a response. 429/503 with a Retry-After block every token until then, adaptive
    /// or not; when adaptive, 429/503 and rising latency decrease the rate and successes
    /// (other statuses below 500) let it grow. `status` 0 (no response) only feeds nothing.
    void onResponse(int status, qint64 latencyNs, std::optional<qint64> retryAfterMs = std::nullopt);

    /// Queues a waiter; false at once (no callback) when the queue is full.
    bool enqueue(Waiter waiter);
    /// Removes a queued waiter without calling it back; false when it is not queued.
    bool cancel(quint64 id);
    /// Grants queued waiters in FIFO order while tokens last and fails the expired ones.
    void pump();

    double currentRate() const;
    int queueDepth() const;
    /// Remaining Retry-After block in ms (0 when not blocked).
    qint64 blockedForMs() const;
    RateLimiterStats stats() const;

private:
    struct Queued {
        qint64 deadlineNs = 0;
        std::function<void(bool)> callback;
        quint64 id = 0;
    };

    void refillLocked(qint64 nowNs);
    bool tokenAvailableLocked(qint64 nowNs) const;
    qint64 nsUntilTokensLocked(qint64 nowNs, double tokens) const;
    double burstLocked() const;
    void setRateLocked(qint64 nowNs, double rate);
    void decreaseLocked(qint64 nowNs);
    void rolloverIncreaseWindowLocked(qint64 nowNs);
    void takeTokenLocked();
    void rearm();

    const QString m_host;
    const RateLimiterOptions m_options;
    Clock *const m_clock;
    QTimer m_timer;

    Counter *m_granted = nullptr;
    Counter *m_delayed = nullptr;
    Counter *m_rejectedFull = nullptr;
    Counter *m_rejectedTimeout = nullptr;
    Counter *m_decreases = nullptr;
    Counter *m_increases = nullptr;
    Gauge *m_rateGauge = nullptr;
    Gauge *m_queueGauge = nullptr;

    mutable QMutex m_mutex; // protects everything below
    double m_rate;
    double m_tokens;
    qint64 m_lastRefillNs;
    qint64 m_blockedUntilNs = 0;
    std::deque<Queued> m_queue;

    // AIMD state
    qint64 m_windowStartNs;
    int m_windowSuccesses = 0;
    bool m_windowSaturated = false;
    bool m_windowDecreased = false;
    qint64 m_lastDecreaseNs;
    double m_latencyEwmaNs = 0;
    double m_latencyBaselineNs = 0;
    int m_latencySamples = 0;

    RateLimiterStats m_counts; // cumulative counters only
};

} // namespace vega
