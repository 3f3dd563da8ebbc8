#pragma once

#include "clock.h"

#include <QList>
#include <QMutex>
#include <QSet>
#include <QString>

#include <deque>
#include <optional>
#include <random>
#include <vector>

namespace vega {

class Counter;
class Gauge;
class MetricsRegistry;

/// State of a circuit breaker. ForcedOpen and ForcedClosed are operator overrides that only
/// reset() leaves.
enum class CircuitState { Closed, Open, HalfOpen, ForcedOpen, ForcedClosed };

/// "closed", "open", "half_open", "forced_open", "forced_closed" (also the metric label values).
QString circuitStateName(CircuitState state);

/// How one finished call counts for a breaker.
enum class CallOutcome {
    Success, ///< the upstream answered: counts as a healthy call
    Failure, ///< the upstream failed: counts towards the failure rate
    Ignored  ///< says nothing about the upstream (cancelled, 429...): not counted at all
};

/**
 * Which call results a breaker counts as failures. classify() applies it in this order:
 * status in ignoredStatuses -> Ignored; network error / timeout -> Failure (when enabled);
 * status in failureStatuses, or 5xx with serverErrorsAreFailures -> Failure; any other
 * status > 0 (1xx-4xx) -> Success; no status and no error (cancelled) -> Ignored.
 *
 * 4xx count as Success, as in Resilience4j: the upstream answered promptly and correctly, so
 * the call is evidence that it is healthy. Counting them as failures lets a misbehaving client
 * open the circuit for everyone, and a half-open trial answered with a 404 must close the
 * circuit rather than keep it open (Hystrix #2005). 429 is Ignored by default: it is the
 * rate limiter's business, and neither proves health nor failure of the upstream.
 */
struct CallClassification {
    bool networkErrorsAreFailures = true;
    bool timeoutsAreFailures = true;
    bool serverErrorsAreFailures = true; ///< all 5xx
    QSet<int> failureStatuses;           ///< extra statuses counted as failures
    QSet<int> ignoredStatuses{429};      ///< checked first, so it can also exempt a 5xx
};

struct CircuitBreakerOptions {
    enum class WindowType {
        Count, ///< the last windowCalls calls
        Time   ///< the calls of the last windowSeconds seconds, in 1-second buckets
    };
    WindowType windowType = WindowType::Count;
    int windowCalls = 100;
    int windowSeconds = 10;
    /// No trip before the window holds this many calls (capped at windowCalls for Count).
    int minimumCalls = 20;
    /// Trip when the failure rate over the window is >= this percentage (0-100].
    double failureRateThreshold = 50;
    /// Trip when the share of calls slower than slowCallDurationMs is >= this percentage.
    /// 100 or more disables slow-call tripping.
    double slowCallRateThreshold = 100;
    qint64 slowCallDurationMs = 5000;

    /// Open period after the n-th consecutive trip: min(cap, base * multiplier^(n-1)), then
    /// randomised by ±openJitter (a fraction) so that many breakers tripped by one outage do
    /// not all probe at the same instant; the jittered period never exceeds the cap.
    qint64 openBaseMs = 5000;
    double openMultiplier = 2.0;
    qint64 openCapMs = 300000;
    double openJitter = 0.1;

    /// Trial calls let through in HalfOpen; the breaker decides once all of them completed.
    int halfOpenPermittedCalls = 5;

    CallClassification classification;
    /// Seed of the jitter generator; unset = random. Tests set it.
    std::optional<quint64> seed;
};

/// One state change, as shown in the console and the admin API.
struct CircuitTransition {
    CircuitState from = CircuitState::Closed;
    CircuitState to = CircuitState::Closed;
    qint64 wallMs = 0; ///< UTC ms since epoch
    QString reason;    ///< e.g. "failure rate 60.0% ≥ 50% over 20 calls"
};

struct CircuitBreakerStats {
    CircuitState state = CircuitState::Closed;
    int callsInWindow = 0;
    int failuresInWindow = 0;
    int slowCallsInWindow = 0;
    double failureRatePercent = 0; ///< over the window; 0 when it is empty
    double slowCallRatePercent = 0;
    quint64 rejected = 0;       ///< cumulative
    int trips = 0;              ///< consecutive trips since the last successful close
    qint64 openPeriodMs = 0;    ///< period of the current (or last) open state, jitter included
    qint64 openUntilWallMs = 0; ///< when Open ends (UTC ms since epoch); 0 when not Open
    qint64 remainingOpenMs = 0; ///< 0 when not Open
    int halfOpenInFlight = 0;   ///< trial calls let through and not yet completed
    int halfOpenCompleted = 0;
};

/**
 * A circuit breaker for one upstream. Pure policy: it performs no I/O and never blocks, and
 * every method is thread-safe, so the HTTP pipeline can call it from several threads.
 *
 * Closed: calls pass and their outcomes fill a count- or time-based window; once it holds at
 * least minimumCalls calls and the failure (or slow-call) rate reaches its threshold, the
 * breaker opens. Open: calls are rejected until the open period has elapsed, then the breaker
 * becomes HalfOpen (lazily, on the next tryAcquire(), state() or stats()). HalfOpen: exactly
 * halfOpenPermittedCalls trial calls are let through; when all completed, a trial failure rate
 * at or above the threshold opens it again with a longer period, otherwise it closes, clearing
 * the window and the trip count.
 *
 * Calls admitted in an earlier state can finish after a transition. Passing their Permit to
 * onSuccess()/onFailure()/onIgnored() makes the breaker count them in the metrics only, so a
 * late result from before the trip is never taken for a half-open trial; the overloads without
 * a Permit attribute the result to the current state.
 *
 * Metrics (label breaker=<name>): counters breaker_calls{outcome=success|failure|ignored},
 * breaker_rejected, breaker_transitions{to=open|half_open|closed|forced_open|forced_closed};
 * gauges breaker_state (0 closed, 1 open, 2 half-open, 3 forced open, 4 forced closed),
 * breaker_failure_rate and breaker_slow_call_rate (ratios 0-1 over the window). Every
 * transition is also recorded as a registry event of kind "breaker" from "breaker:<name>".
 */
class CircuitBreaker {
public:
    /// The answer of tryAcquire().
    struct Permit {
        bool permitted = false;
        /// When rejected by an Open breaker: ms until trial calls are let through. -1 when
        /// forced open (only an operator ends it); 0 when half-open with every trial slot taken.
        qint64 remainingOpenMs = 0;
        CircuitState state = CircuitState::Closed; ///< the state that made the decision
        quint64 generation = 0;                    ///< identifies that state; see the class comment
        explicit operator bool() const { return permitted; }
    };

    /// `registry` (may be null) and `clock` must outlive the breaker.
    explicit CircuitBreaker(const QString &name, const CircuitBreakerOptions &options = {},
                            MetricsRegistry *registry = nullptr, Clock *clock = Clock::system());
    ~CircuitBreaker();
    CircuitBreaker(const CircuitBreaker &) = delete;
    CircuitBreaker &operator=(const CircuitBreaker &) = delete;

    QString name() const { return m_name; }
    const CircuitBreakerOptions &options() const { return m_options; }

    /// Asks to make a call. Every permitted call must later be reported exactly once through
    /// onSuccess(), onFailure() or onIgnored(), or a half-open trial slot stays taken.
    Permit tryAcquire();

    /// Reports a finished call; `durationNs` decides whether it was slow.
    void onSuccess(qint64 durationNs);
    void onFailure(qint64 durationNs);
    /// A call that says nothing about the upstream (cancelled, ignored status): releases its
    /// half-open slot without counting.
    void onIgnored();
    void onSuccess(const Permit &permit, qint64 durationNs);
    void onFailure(const Permit &permit, qint64 durationNs);
    void onIgnored(const Permit &permit);
    /// Dispatches to onSuccess()/onFailure()/onIgnored().
    void record(CallOutcome outcome, qint64 durationNs);
    void record(const Permit &permit, CallOutcome outcome, qint64 durationNs);

    /// Classifies a finished HTTP call with this breaker's CallClassification. `httpStatus`
    /// is 0 when no response arrived.
    CallOutcome classify(int httpStatus, bool networkError, bool timeout) const;
    static CallOutcome classify(const CallClassification &rules, int httpStatus, bool networkError,
                                bool timeout);

    /// Operator overrides: reject every call / permit every call (outcomes are still counted
    /// in the window and the metrics, but never trip). Left only through reset().
    void forceOpen();
    void forceClosed();
    /// Back to Closed with an empty window and no trips; also ends a forced state.
    void reset();

    /// Apply a due Open -> HalfOpen transition first, so that state, gauge and log agree.
    CircuitState state();
    CircuitBreakerStats stats();
    /// The most recent transitions (at most 100), oldest first.
    QList<CircuitTransition> transitions() const;

private:
    struct WindowTotals {
        int calls = 0;
        int failures = 0;
        int slow = 0;
    };
    struct Bucket {
        qint64 second = -1;
        WindowTotals totals;
    };

    enum class Kind { Success, Failure, Ignored };
    void recordLocked(const Permit *permit, Kind kind, qint64 durationNs);
    void recordIntoWindow(qint64 nowNs, bool failure, bool slow);
    WindowTotals windowTotals(qint64 nowNs);
    void clearWindow();
    void evaluateClosed(qint64 nowNs);
    void finishHalfOpenIfDone(qint64 nowNs);
    void maybeHalfOpen(qint64 nowNs);
    void openLocked(qint64 nowNs, const QString &cause);
    void transition(CircuitState to, const QString &reason, qint64 atNs);
    void updateRateGauges(const WindowTotals &totals);
    qint64 wallMsAt(qint64 monoNs) const;
    int effectiveMinimumCalls() const;

    const QString m_name;
    const CircuitBreakerOptions m_options;
    MetricsRegistry *const m_registry;
    Clock *const m_clock;
    const qint64 m_wallOriginMs;
    const qint64 m_monoOriginNs;

    Counter *m_success = nullptr;
    Counter *m_failure = nullptr;
    Counter *m_ignored = nullptr;
    Counter *m_rejectedCounter = nullptr;
    Gauge *m_stateGauge = nullptr;
    Gauge *m_failureRateGauge = nullptr;
    Gauge *m_slowRateGauge = nullptr;

    mutable QMutex m_mutex; // protects everything below
    CircuitState m_state = CircuitState::Closed;
    quint64 m_generation = 1;
    std::mt19937_64 m_rng;

    // Count window: a ring of outcome flags. Time window: one bucket per second.
    std::vector<quint8> m_ring;
    int m_ringHead = 0;
    int m_ringSize = 0;
    std::vector<Bucket> m_buckets;
    WindowTotals m_totals;

    int m_trips = 0;
    qint64 m_openPeriodMs = 0;
    qint64 m_openUntilNs = 0;
    int m_trialPermitted = 0; // slots handed out in this HalfOpen, completed ones included
    int m_trialCompleted = 0;
    int m_trialFailures = 0;
    int m_trialSlow = 0;
    quint64 m_rejected = 0;

    std::deque<CircuitTransition> m_transitions;
};

} // namespace vega
