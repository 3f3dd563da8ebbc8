#pragma once

#include "clock.h"

#include <QByteArray>
#include <QMutex>
#include <QSet>
#include <QString>

#include <optional>
#include <random>
#include <vector>

namespace vega {

class Counter;
class MetricsRegistry;

struct RetryOptions {
    /// Attempts in all, the first one included.
    int maxAttempts = 3;
    /// Full-jitter backoff: retry n (0-based) sleeps uniform [0, min(capMs, baseMs * 2^n)].
    qint64 baseMs = 100;
    qint64 capMs = 5000;
    /// A Retry-After longer than this is not waited for: the retry gives up instead.
    qint64 maxRetryAfterMs = 10000;

    /// Retry budget: retries in the window may reach budgetRatio of the original requests
    /// (at most ~20% extra load by default), but never fewer than minRetriesPerSecond per
    /// second of window, so that callers with little traffic can still retry.
    double budgetRatio = 0.2;
    int minRetriesPerSecond = 3;
    int budgetWindowSeconds = 10;

    /// Statuses worth another attempt. Other 4xx are the caller's fault and would fail again.
    QSet<int> retryableStatuses{408, 429, 502, 503, 504};
    bool retryConnectionErrors = true;
    bool retryTimeouts = true;
};

/// What one attempt ended with, as far as retrying is concerned.
struct AttemptResult {
    enum class Kind {
        Response,        ///< an HTTP response arrived (see httpStatus)
        ConnectFailed,   ///< nothing was sent: DNS failure, connection refused, TLS handshake
        ConnectionError, ///< the connection broke after the request may have been sent
        Timeout,
        CircuitOpen, ///< rejected by our own breaker: retrying would only be rejected again
        RateLimited, ///< rejected by our own rate limiter (queue full or queue timeout)
        Cancelled
    };
    Kind kind = Kind::Response;
    int httpStatus = 0;

    static AttemptResult response(int status) { return {Kind::Response, status}; }
    static AttemptResult of(Kind kind) { return {kind, 0}; }
};

/// The answer of RetryPolicy::decide().
struct RetryDecision {
    bool retry = false;
    qint64 delayMs = 0; ///< wait this long before the next attempt
    QString reason;     ///< why not (or "retry n of m"), for logs and the console
};

/**
 * Limits retries to a share of the original traffic over a sliding window (1-second buckets),
 * as Envoy's retry budget does, so that retries cannot multiply the load on an upstream that
 * is already failing. Thread-safe.
 *
 * Metrics (label policy=<name>): counter retry_budget_exhausted.
 */
class RetryBudget {
public:
    /// `registry` (may be null) and `clock` must outlive the budget.
    explicit RetryBudget(const QString &name, const RetryOptions &options = {},
                         MetricsRegistry *registry = nullptr, Clock *clock = Clock::system());

    /// Call for every original request (not for retries).
    void recordRequest();
    /// Takes one retry from the budget; false (and counted as an exhaustion) when the retries
    /// in the window already reached max(minRetriesPerSecond * window, budgetRatio * requests).
    bool tryAcquireRetry();

    /// Retries the budget would still allow now.
    int remaining();
    int requestsInWindow();
    int retriesInWindow();
    quint64 retriesGranted() const;
    quint64 exhaustions() const;

private:
    struct Bucket {
        qint64 second = -1;
        int requests = 0;
        int retries = 0;
    };
    Bucket &currentBucket(qint64 nowNs);
    void expire(qint64 nowNs);
    int allowedLocked() const;

    const QString m_name;
    const double m_ratio;
    const int m_floor;
    Clock *const m_clock;
    Counter *m_exhaustedCounter = nullptr;

    mutable QMutex m_mutex; // protects everything below
    std::vector<Bucket> m_buckets;
    int m_requests = 0;
    int m_retries = 0;
    quint64 m_granted = 0;
    quint64 m_exhaustions = 0;
};

/**
 * Decides whether and when a failed HTTP attempt is tried again. Pure policy: it sleeps and
 * sends nothing; the pipeline waits decide()'s delayMs and tries again. Thread-safe; the
 * random generator is passed in so that each caller (and each test) controls its sequence.
 *
 * Backoff is "full jitter" (AWS Architecture blog): it spreads competing clients best and
 * does the least total work. A Retry-After from the server replaces the backoff when longer.
 *
 * Metrics (label policy=<name>): counters retry_attempts (retries granted), retry_gave_up
 * (retryable failures not retried: attempts, budget or Retry-After exhausted) and, from its
 * budget, retry_budget_exhausted.
 */
class RetryPolicy {
public:
    /// `registry` (may be null) and `clock` must outlive the policy.
    explicit RetryPolicy(const QString &name, const RetryOptions &options = {},
                         MetricsRegistry *registry = nullptr, Clock *clock = Clock::system());

    QString name() const { return m_name; }
    const RetryOptions &options() const { return m_options; }
    RetryBudget &budget() { return m_budget; }

    /// Full jitter: uniform in [0, min(capMs, baseMs * 2^retryNumber)], retryNumber 0 for the
    /// first retry.
    qint64 backoffMs(int retryNumber, std::mt19937_64 &rng) const;

    /// Whether another attempt could succeed and is safe. Idempotent methods (RFC 9110
    /// §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE; case-sensitive) are retried after
    /// connection errors, timeouts and retryable statuses; POST, PATCH and unknown methods only
    /// when `idempotentOptIn` says the caller made them safe (e.g. an idempotency key).
    /// Whatever the method, a ConnectFailed attempt (nothing was sent) is retryable, and
    /// CircuitOpen, RateLimited, Cancelled, 2xx/3xx and other 4xx never are.
    bool isRetryable(const QByteArray &method, bool idempotentOptIn, const AttemptResult &result) const;

    /// Call once per original request: feeds the budget.
    void recordRequest() { m_budget.recordRequest(); }

    /// The full decision after attempt number `attemptsMade` (1 = the first) failed: retryable,
    /// attempts left, Retry-After acceptable and budget available. Counts the metrics.
    RetryDecision decide(int attemptsMade, const QByteArray &method, bool idempotentOptIn,
                         const AttemptResult &result, std::optional<qint64> retryAfterMs,
                         std::mt19937_64 &rng);

    /// Parses a Retry-After value (RFC 9110 §10.2.3: delta-seconds or an HTTP-date in any of
    /// its three formats) into ms from `nowWallMs` (UTC ms since epoch). A date in the past
    /// gives 0; huge delays saturate; anything else (negative, garbage) gives nullopt.
    static std::optional<qint64> parseRetryAfterMs(const QByteArray &value, qint64 nowWallMs);

private:
    const QString m_name;
    const RetryOptions m_options;
    RetryBudget m_budget;
    Counter *m_attempts = nullptr;
    Counter *m_gaveUp = nullptr;
};

} // namespace vega
