#include "circuitbreaker.h"

#include "metrics.h"

#include <QDateTime>
#include <QMutexLocker>
#include <QRandomGenerator>

#include <algorithm>
#include <cmath>

namespace vega {

namespace {
constexpr qint64 kNsPerMs = 1000000;
constexpr qint64 kNsPerSecond = 1000000000;
constexpr size_t kMaxTransitions = 100;
constexpr quint8 kFailureFlag = 1;
constexpr quint8 kSlowFlag = 2;

constexpr CircuitState kAllStates[] = {CircuitState::Closed, CircuitState::Open, CircuitState::HalfOpen,
                                       CircuitState::ForcedOpen, CircuitState::ForcedClosed};

CircuitBreakerOptions sanitized(CircuitBreakerOptions o)
{
    o.windowCalls = std::max(1, o.windowCalls);
    o.windowSeconds = std::max(1, o.windowSeconds);
    o.minimumCalls = std::max(1, o.minimumCalls);
    o.failureRateThreshold = std::clamp(o.failureRateThreshold, 0.001, 100.0);
    o.slowCallRateThreshold = std::max(0.001, o.slowCallRateThreshold);
    o.slowCallDurationMs = std::max<qint64>(0, o.slowCallDurationMs);
    o.openBaseMs = std::max<qint64>(1, o.openBaseMs);
    o.openMultiplier = std::max(1.0, o.openMultiplier);
    o.openCapMs = std::max(o.openBaseMs, o.openCapMs);
    o.openJitter = std::clamp(o.openJitter, 0.0, 0.99);
    o.halfOpenPermittedCalls = std::max(1, o.halfOpenPermittedCalls);
    return o;
}

QString percent(double value)
{
    return QString::number(value, 'f', 1) + u'%';
}

QString threshold(double value)
{
    return QString::number(value) + u'%';
}

double stateGaugeValue(CircuitState s)
{
    return double(int(s)); // the enum order is the documented gauge encoding
}

qint64 ceilMs(qint64 ns)
{
    return ns <= 0 ? 0 : (ns + kNsPerMs - 1) / kNsPerMs;
}
} // namespace

QString circuitStateName(CircuitState state)
{
    switch (state) {
    case CircuitState::Closed:
        return QStringLiteral("closed");
    case CircuitState::Open:
        return QStringLiteral("open");
    case CircuitState::HalfOpen:
        return QStringLiteral("half_open");
    case CircuitState::ForcedOpen:
        return QStringLiteral("forced_open");
    case CircuitState::ForcedClosed:
        return QStringLiteral("forced_closed");
    }
    return {};
}

CircuitBreaker::CircuitBreaker(const QString &name, const CircuitBreakerOptions &options,
                               MetricsRegistry *registry, Clock *clock)
    : m_name(name), m_options(sanitized(options)), m_registry(registry), m_clock(clock),
      m_wallOriginMs(QDateTime::currentMSecsSinceEpoch()), m_monoOriginNs(clock->nowNs()),
      m_rng(options.seed ? *options.seed : QRandomGenerator::global()->generate64())
{
    if (m_options.windowType == CircuitBreakerOptions::WindowType::Count)
        m_ring.assign(size_t(m_options.windowCalls), 0);
    else
        m_buckets.assign(size_t(m_options.windowSeconds), Bucket{});

    if (m_registry) {
        const auto label = [&](const QString &key, const QString &value) {
            return Labels{{QStringLiteral("breaker"), m_name}, {key, value}};
        };
        const Labels labels{{QStringLiteral("breaker"), m_name}};
        const QString callsHelp = QStringLiteral("Calls that went through the breaker, by outcome");
        m_success =
            m_registry->counter(QStringLiteral("breaker_calls"),
                                label(QStringLiteral("outcome"), QStringLiteral("success")), callsHelp);
        m_failure =
            m_registry->counter(QStringLiteral("breaker_calls"),
                                label(QStringLiteral("outcome"), QStringLiteral("failure")), callsHelp);
        m_ignored =
            m_registry->counter(QStringLiteral("breaker_calls"),
                                label(QStringLiteral("outcome"), QStringLiteral("ignored")), callsHelp);
        m_rejectedCounter = m_registry->counter(QStringLiteral("breaker_rejected"), labels,
                                                QStringLiteral("Calls rejected by an open breaker"));
        for (CircuitState s : kAllStates)
            m_registry->counter(QStringLiteral("breaker_transitions"),
                                label(QStringLiteral("to"), circuitStateName(s)),
                                QStringLiteral("Breaker state transitions, by target state"));
        m_stateGauge = m_registry->gauge(
            QStringLiteral("breaker_state"), labels,
            QStringLiteral("0 closed, 1 open, 2 half-open, 3 forced open, 4 forced closed"));
        m_failureRateGauge = m_registry->gauge(QStringLiteral("breaker_failure_rate"), labels,
                                               QStringLiteral("Failure rate over the window"), Unit::Ratio);
        m_slowRateGauge = m_registry->gauge(QStringLiteral("breaker_slow_call_rate"), labels,
                                            QStringLiteral("Slow-call rate over the window"), Unit::Ratio);
        m_stateGauge->set(stateGaugeValue(m_state));
    }
}

CircuitBreaker::~CircuitBreaker() = default;

CircuitBreaker::Permit CircuitBreaker::tryAcquire()
{
    QMutexLocker lock(&m_mutex);
    const qint64 now = m_clock->nowNs();
    maybeHalfOpen(now);

    Permit p;
    p.state = m_state;
    p.generation = m_generation;
    switch (m_state) {
    case CircuitState::Closed:
    case CircuitState::ForcedClosed:
        p.permitted = true;
        break;
    case CircuitState::Open:
        p.remainingOpenMs = ceilMs(m_openUntilNs - now);
        break;
    case CircuitState::ForcedOpen:
        p.remainingOpenMs = -1;
        break;
    case CircuitState::HalfOpen:
        if (m_trialPermitted < m_options.halfOpenPermittedCalls) {
            ++m_trialPermitted;
            p.permitted = true;
        }
        break;
    }
    if (!p.permitted) {
        ++m_rejected;
        if (m_rejectedCounter)
            m_rejectedCounter->inc();
    }
    return p;
}

void CircuitBreaker::onSuccess(qint64 durationNs)
{
    QMutexLocker lock(&m_mutex);
    recordLocked(nullptr, Kind::Success, durationNs);
}

void CircuitBreaker::onFailure(qint64 durationNs)
{
    QMutexLocker lock(&m_mutex);
    recordLocked(nullptr, Kind::Failure, durationNs);
}

void CircuitBreaker::onIgnored()
{
    QMutexLocker lock(&m_mutex);
    recordLocked(nullptr, Kind::Ignored, 0);
}

void CircuitBreaker::onSuccess(const Permit &permit, qint64 durationNs)
{
    QMutexLocker lock(&m_mutex);
    recordLocked(&permit, Kind::Success, durationNs);
}

void CircuitBreaker::onFailure(const Permit &permit, qint64 durationNs)
{
    QMutexLocker lock(&m_mutex);
    recordLocked(&permit, Kind::Failure, durationNs);
}

void CircuitBreaker::onIgnored(const Permit &permit)
{
    QMutexLocker lock(&m_mutex);
    recordLocked(&permit, Kind::Ignored, 0);
}

void CircuitBreaker::record(CallOutcome outcome, qint64 durationNs)
{
    switch (outcome) {
    case CallOutcome::Success:
        onSuccess(durationNs);
        break;
    case CallOutcome::Failure:
        onFailure(durationNs);
        break;
    case CallOutcome::Ignored:
        onIgnored();
        break;
    }
}

void CircuitBreaker::record(const Permit &permit, CallOutcome outcome, qint64 durationNs)
{
    switch (outcome) {
    case CallOutcome::Success:
        onSuccess(permit, durationNs);
        break;
    case CallOutcome::Failure:
        onFailure(permit, durationNs);
        break;
    case CallOutcome::Ignored:
        onIgnored(permit);
        break;
    }
}

CallOutcome CircuitBreaker::classify(int httpStatus, bool networkError, bool timeout) const
{
    return classify(m_options.classification, httpStatus, networkError, timeout);
}

CallOutcome CircuitBreaker::classify(const CallClassification &rules, int httpStatus, bool networkError,
                                     bool timeout)
{
    if (httpStatus > 0 && rules.ignoredStatuses.contains(httpStatus))
        return CallOutcome::Ignored;
    if (networkError)
        return rules.networkErrorsAreFailures ? CallOutcome::Failure : CallOutcome::Ignored;
    if (timeout)
        return rules.timeoutsAreFailures ? CallOutcome::Failure : CallOutcome::Ignored;
    if (httpStatus <= 0)
        return CallOutcome::Ignored; // cancelled before any answer: nothing learnt
    if (rules.failureStatuses.contains(httpStatus))
        return CallOutcome::Failure;
    if (httpStatus >= 500 && httpStatus <= 599 && rules.serverErrorsAreFailures)
        return CallOutcome::Failure;
    return CallOutcome::Success;
}

void CircuitBreaker::forceOpen()
{
    QMutexLocker lock(&m_mutex);
    if (m_state != CircuitState::ForcedOpen)
        transition(CircuitState::ForcedOpen, QStringLiteral("forced open by operator"), m_clock->nowNs());
}

void CircuitBreaker::forceClosed()
{
    QMutexLocker lock(&m_mutex);
    if (m_state != CircuitState::ForcedClosed)
        transition(CircuitState::ForcedClosed, QStringLiteral("forced closed by operator"), m_clock->nowNs());
}

void CircuitBreaker::reset()
{
    QMutexLocker lock(&m_mutex);
    clearWindow();
    m_trips = 0;
    m_openPeriodMs = 0;
    m_openUntilNs = 0;
    transition(CircuitState::Closed, QStringLiteral("reset by operator"), m_clock->nowNs());
    updateRateGauges(m_totals);
}

CircuitState CircuitBreaker::state()
{
    QMutexLocker lock(&m_mutex);
    maybeHalfOpen(m_clock->nowNs());
    return m_state;
}

CircuitBreakerStats CircuitBreaker::stats()
{
    QMutexLocker lock(&m_mutex);
    const qint64 now = m_clock->nowNs();
    maybeHalfOpen(now);
    const WindowTotals t = windowTotals(now);
    updateRateGauges(t);

    CircuitBreakerStats s;
    s.state = m_state;
    s.callsInWindow = t.calls;
    s.failuresInWindow = t.failures;
    s.slowCallsInWindow = t.slow;
    s.failureRatePercent = t.calls ? 100.0 * t.failures / t.calls : 0;
    s.slowCallRatePercent = t.calls ? 100.0 * t.slow / t.calls : 0;
    s.rejected = m_rejected;
    s.trips = m_trips;
    s.openPeriodMs = m_openPeriodMs;
    if (m_state == CircuitState::Open) {
        s.openUntilWallMs = wallMsAt(m_openUntilNs);
        s.remainingOpenMs = ceilMs(m_openUntilNs - now);
    }
    if (m_state == CircuitState::HalfOpen) {
        s.halfOpenInFlight = m_trialPermitted - m_trialCompleted;
        s.halfOpenCompleted = m_trialCompleted;
    }
    return s;
}

QList<CircuitTransition> CircuitBreaker::transitions() const
{
    QMutexLocker lock(&m_mutex);
    return QList<CircuitTransition>(m_transitions.begin(), m_transitions.end());
}

void CircuitBreaker::recordLocked(const Permit *permit, Kind kind, qint64 durationNs)
{
    Counter *counter = kind == Kind::Success ? m_success : kind == Kind::Failure ? m_failure : m_ignored;
    if (counter)
        counter->inc();

    const qint64 now = m_clock->nowNs();
    maybeHalfOpen(now);
    if (permit && permit->generation != m_generation)
        return; // admitted under an earlier state: its result must not steer this one

    const bool slow = durationNs >= m_options.slowCallDurationMs * kNsPerMs;
    switch (m_state) {
    case CircuitState::Closed:
    case CircuitState::ForcedClosed:
        if (kind == Kind::Ignored)
            return;
        recordIntoWindow(now, kind == Kind::Failure, slow);
        if (m_state == CircuitState::Closed)
            evaluateClosed(now);
        else
            updateRateGauges(windowTotals(now));
        return;
    case CircuitState::Open:
    case CircuitState::ForcedOpen:
        return; // only calls admitted before the trip can finish now
    case CircuitState::HalfOpen:
        if (m_trialPermitted - m_trialCompleted <= 0)
            return; // not a trial: admitted before the breaker opened
        if (kind == Kind::Ignored) {
            --m_trialPermitted; // give the slot to another trial
            return;
        }
        ++m_trialCompleted;
        if (kind == Kind::Failure)
            ++m_trialFailures;
        if (slow)
            ++m_trialSlow;
        finishHalfOpenIfDone(now);
        return;
    }
}

void CircuitBreaker::recordIntoWindow(qint64 nowNs, bool failure, bool slow)
{
    const quint8 flags = quint8((failure ? kFailureFlag : 0) | (slow ? kSlowFlag : 0));
    if (m_options.windowType == CircuitBreakerOptions::WindowType::Count) {
        const int capacity = int(m_ring.size());
        if (m_ringSize == capacity) {
            const quint8 old = m_ring[size_t(m_ringHead)];
            m_totals.calls -= 1;
            m_totals.failures -= (old & kFailureFlag) ? 1 : 0;
            m_totals.slow -= (old & kSlowFlag) ? 1 : 0;
        } else {
            ++m_ringSize;
        }
        m_ring[size_t(m_ringHead)] = flags;
        m_ringHead = (m_ringHead + 1) % capacity;
    } else {
        windowTotals(nowNs); // expires old buckets
        const qint64 second = nowNs / kNsPerSecond;
        Bucket &b = m_buckets[size_t(second % qint64(m_buckets.size()))];
        if (b.second != second) {
            m_totals.calls -= b.totals.calls;
            m_totals.failures -= b.totals.failures;
            m_totals.slow -= b.totals.slow;
            b = Bucket{second, {}};
        }
        b.totals.calls += 1;
        b.totals.failures += failure ? 1 : 0;
        b.totals.slow += slow ? 1 : 0;
    }
    m_totals.calls += 1;
    m_totals.failures += failure ? 1 : 0;
    m_totals.slow += slow ? 1 : 0;
}

CircuitBreaker::WindowTotals CircuitBreaker::windowTotals(qint64 nowNs)
{
    if (m_options.windowType == CircuitBreakerOptions::WindowType::Time) {
        const qint64 oldestKept = nowNs / kNsPerSecond - qint64(m_buckets.size()) + 1;
        for (Bucket &b : m_buckets) {
            if (b.second >= 0 && b.second < oldestKept) {
                m_totals.calls -= b.totals.calls;
                m_totals.failures -= b.totals.failures;
                m_totals.slow -= b.totals.slow;
                b = Bucket{};
            }
        }
    }
    return m_totals;
}

void CircuitBreaker::clearWindow()
{
    std::fill(m_ring.begin(), m_ring.end(), quint8(0));
    m_ringHead = 0;
    m_ringSize = 0;
    std::fill(m_buckets.begin(), m_buckets.end(), Bucket{});
    m_totals = {};
}

int CircuitBreaker::effectiveMinimumCalls() const
{
    if (m_options.windowType == CircuitBreakerOptions::WindowType::Count)
        return std::min(m_options.minimumCalls, m_options.windowCalls);
    return m_options.minimumCalls;
}

void CircuitBreaker::evaluateClosed(qint64 nowNs)
{
    const WindowTotals t = windowTotals(nowNs);
    updateRateGauges(t);
    if (t.calls < effectiveMinimumCalls())
        return;
    const double failureRate = 100.0 * t.failures / t.calls;
    const double slowRate = 100.0 * t.slow / t.calls;
    const QString over = QStringLiteral(" over %1 calls").arg(t.calls);
    if (failureRate >= m_options.failureRateThreshold) {
        openLocked(nowNs, QStringLiteral("failure rate ") + percent(failureRate) + QStringLiteral(" ≥ ") +
                              threshold(m_options.failureRateThreshold) + over);
    } else if (m_options.slowCallRateThreshold < 100 && slowRate >= m_options.slowCallRateThreshold) {
        openLocked(nowNs, QStringLiteral("slow-call rate ") + percent(slowRate) + QStringLiteral(" ≥ ") +
                              threshold(m_options.slowCallRateThreshold) + over +
                              QStringLiteral(" (slower than %1 ms)").arg(m_options.slowCallDurationMs));
    }
}

void CircuitBreaker::finishHalfOpenIfDone(qint64 nowNs)
{
    const int n = m_options.halfOpenPermittedCalls;
    if (m_trialCompleted < n)
        return;
    const double failureRate = 100.0 * m_trialFailures / n;
    const double slowRate = 100.0 * m_trialSlow / n;
    const QString failed = QStringLiteral("%1 of %2 trial calls failed (").arg(m_trialFailures).arg(n);
    if (failureRate >= m_options.failureRateThreshold) {
        openLocked(nowNs, failed + percent(failureRate) + QStringLiteral(" ≥ ") +
                              threshold(m_options.failureRateThreshold) + u')');
    } else if (m_options.slowCallRateThreshold < 100 && slowRate >= m_options.slowCallRateThreshold) {
        openLocked(nowNs, QStringLiteral("%1 of %2 trial calls slow (").arg(m_trialSlow).arg(n) +
                              percent(slowRate) + QStringLiteral(" ≥ ") +
                              threshold(m_options.slowCallRateThreshold) + u')');
    } else {
        clearWindow();
        m_trips = 0;
        transition(CircuitState::Closed,
                   failed + percent(failureRate) + QStringLiteral(" < ") +
                       threshold(m_options.failureRateThreshold) + u')',
                   nowNs);
        updateRateGauges(m_totals);
    }
}

void CircuitBreaker::maybeHalfOpen(qint64 nowNs)
{
    if (m_state == CircuitState::Open && nowNs >= m_openUntilNs)
        transition(CircuitState::HalfOpen, QStringLiteral("open period of %1 ms elapsed").arg(m_openPeriodMs),
                   m_openUntilNs);
}

void CircuitBreaker::openLocked(qint64 nowNs, const QString &cause)
{
    ++m_trips;
    const double nominal =
        std::min(double(m_options.openCapMs),
                 double(m_options.openBaseMs) * std::pow(m_options.openMultiplier, m_trips - 1));
    double period = nominal;
    if (m_options.openJitter > 0) {
        std::uniform_real_distribution<double> jitter(-m_options.openJitter, m_options.openJitter);
        period = nominal * (1.0 + jitter(m_rng));
    }
    m_openPeriodMs = std::clamp<qint64>(qint64(std::llround(period)), 1, m_options.openCapMs);
    m_openUntilNs = nowNs + m_openPeriodMs * kNsPerMs;
    transition(CircuitState::Open,
               cause + QStringLiteral("; open for %1 ms (trip %2)").arg(m_openPeriodMs).arg(m_trips), nowNs);
}

void CircuitBreaker::transition(CircuitState to, const QString &reason, qint64 atNs)
{
    const CircuitState from = m_state;
    m_state = to;
    ++m_generation;
    m_trialPermitted = m_trialCompleted = m_trialFailures = m_trialSlow = 0;

    m_transitions.push_back(CircuitTransition{from, to, wallMsAt(atNs), reason});
    while (m_transitions.size() > kMaxTransitions)
        m_transitions.pop_front();

    if (!m_registry)
        return;
    m_stateGauge->set(stateGaugeValue(to));
    m_registry
        ->counter(QStringLiteral("breaker_transitions"),
                  {{QStringLiteral("breaker"), m_name}, {QStringLiteral("to"), circuitStateName(to)}})
        ->inc();
    m_registry->recordEvent(QStringLiteral("breaker"), QStringLiteral("breaker:") + m_name,
                            circuitStateName(from) + QStringLiteral(" → ") + circuitStateName(to) +
                                QStringLiteral(": ") + reason);
}

void CircuitBreaker::updateRateGauges(const WindowTotals &totals)
{
    if (!m_failureRateGauge)
        return;
    m_failureRateGauge->set(totals.calls ? double(totals.failures) / totals.calls : 0.0);
    m_slowRateGauge->set(totals.calls ? double(totals.slow) / totals.calls : 0.0);
}

qint64 CircuitBreaker::wallMsAt(qint64 monoNs) const
{
    if (m_registry)
        return m_registry->wallNowMs() + (monoNs - m_clock->nowNs()) / kNsPerMs;
    return m_wallOriginMs + (monoNs - m_monoOriginNs) / kNsPerMs;
}

} // namespace vega
