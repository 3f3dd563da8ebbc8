#include "ratelimiter.h"

#include "metrics.h"

#include <QMutexLocker>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace vega {

namespace {
constexpr qint64 kNsPerMs = 1000000;
constexpr double kNsPerSecond = 1e9;
// Floating-point refill can land a hair below a whole token exactly when one is due.
constexpr double kTokenEpsilon = 1e-6;
constexpr double kLatencyFastAlpha = 0.3;
constexpr double kLatencyBaselineAlpha = 0.02;
constexpr int kLatencyWarmupSamples = 10;

RateLimiterOptions sanitized(RateLimiterOptions o)
{
    o.ratePerSecond = std::max(0.001, o.ratePerSecond);
    if (o.burst <= 0)
        o.burst = o.ratePerSecond;
    o.burst = std::max(1.0, o.burst);
    o.minRate = std::clamp(o.minRate, 0.001, o.ratePerSecond);
    if (o.maxRate <= 0)
        o.maxRate = 10 * o.ratePerSecond;
    o.maxRate = std::max(o.maxRate, o.ratePerSecond);
    o.additiveIncrease = std::max(0.0, o.additiveIncrease);
    o.increaseIntervalMs = std::max<qint64>(1, o.increaseIntervalMs);
    o.multiplicativeDecrease = std::clamp(o.multiplicativeDecrease, 0.01, 1.0);
    o.decreaseCooldownMs = std::max<qint64>(0, o.decreaseCooldownMs);
    o.latencyIncreaseFactor = std::max(0.0, o.latencyIncreaseFactor);
    o.maxQueue = std::max(0, o.maxQueue);
    o.queueTimeoutMs = std::max<qint64>(0, o.queueTimeoutMs);
    return o;
}

qint64 ceilMs(qint64 ns)
{
    return ns <= 0 ? 0 : (ns + kNsPerMs - 1) / kNsPerMs;
}

void bump(Counter *c, quint64 &mirror)
{
    ++mirror;
    if (c)
        c->inc();
}
} // namespace

RateLimiter::RateLimiter(const QString &host, const RateLimiterOptions &options, MetricsRegistry *registry,
                         Clock *clock, QObject *parent)
    : QObject(parent), m_host(host), m_options(sanitized(options)), m_clock(clock), m_timer(this),
      m_rate(m_options.ratePerSecond), m_tokens(m_options.burst), m_lastRefillNs(clock->nowNs()),
      m_windowStartNs(m_lastRefillNs), m_lastDecreaseNs(std::numeric_limits<qint64>::min() / 2)
{
    m_timer.setSingleShot(true);
    m_timer.setTimerType(Qt::PreciseTimer); // a coarse timer may fire 5% late: a lower real rate
    connect(&m_timer, &QTimer::timeout, this, &RateLimiter::pump);

    if (registry) {
        const Labels labels{{QStringLiteral("host"), m_host}};
        const auto with = [&](const QString &reason) {
            return Labels{{QStringLiteral("host"), m_host}, {QStringLiteral("reason"), reason}};
        };
        m_rateGauge = registry->gauge(QStringLiteral("ratelimit_rate"), labels,
                                      QStringLiteral("Current token rate (requests per second)"));
        m_queueGauge = registry->gauge(QStringLiteral("ratelimit_queue_depth"), labels,
                                       QStringLiteral("Requests waiting for a token"));
        m_granted =
            registry->counter(QStringLiteral("ratelimit_granted"), labels, QStringLiteral("Tokens granted"));
        m_delayed = registry->counter(QStringLiteral("ratelimit_delayed"), labels,
                                      QStringLiteral("Requests queued to wait for a token"));
        const QString rejectedHelp = QStringLiteral("Requests refused a token, by reason");
        m_rejectedFull = registry->counter(QStringLiteral("ratelimit_rejected"),
                                           with(QStringLiteral("queue_full")), rejectedHelp);
        m_rejectedTimeout = registry->counter(QStringLiteral("ratelimit_rejected"),
                                              with(QStringLiteral("timeout")), rejectedHelp);
        m_decreases =
            registry->counter(QStringLiteral("ratelimit_decreases"), labels,
                              QStringLiteral("Adaptive rate decreases (overload or rising latency)"));
        m_increases = registry->counter(QStringLiteral("ratelimit_increases"), labels,
                                        QStringLiteral("Adaptive rate increases"));
        m_rateGauge->set(m_rate);
    }
}

RateLimiter::~RateLimiter() = default;

double RateLimiter::burstLocked() const
{
    if (!m_options.adaptive)
        return m_options.burst;
    return std::max(1.0, m_options.burst * m_rate / m_options.ratePerSecond);
}

void RateLimiter::refillLocked(qint64 nowNs)
{
    // m_lastRefillNs lies in the future while a Retry-After block lasts: no refill until then.
    if (nowNs <= m_lastRefillNs)
        return;
    m_tokens = std::min(burstLocked(), m_tokens + double(nowNs - m_lastRefillNs) * m_rate / kNsPerSecond);
    m_lastRefillNs = nowNs;
}

bool RateLimiter::tokenAvailableLocked(qint64 nowNs) const
{
    return nowNs >= m_blockedUntilNs && m_tokens >= 1.0 - kTokenEpsilon;
}

qint64 RateLimiter::nsUntilTokensLocked(qint64 nowNs, double tokens) const
{
    const qint64 start = std::max(nowNs, m_blockedUntilNs);
    const double missing = tokens - m_tokens;
    if (missing <= kTokenEpsilon)
        return start - nowNs;
    return start - nowNs + qint64(std::llround(missing * kNsPerSecond / m_rate));
}

void RateLimiter::takeTokenLocked()
{
    m_tokens = std::max(0.0, m_tokens - 1.0);
    bump(m_granted, m_counts.granted);
}

qint64 RateLimiter::tryAcquire()
{
    QMutexLocker lock(&m_mutex);
    const qint64 now = m_clock->nowNs();
    refillLocked(now);
    if (m_queue.empty() && tokenAvailableLocked(now)) {
        takeTokenLocked();
        return 0;
    }
    if (now >= m_blockedUntilNs)
        m_windowSaturated = true; // demand exceeds the rate, not a Retry-After block
    const double needed = double(m_queue.size()) + 1.0;
    return std::max<qint64>(1, ceilMs(nsUntilTokensLocked(now, needed)));
}

void RateLimiter::setRateLocked(qint64 nowNs, double rate)
{
    refillLocked(nowNs); // tokens earned so far were earned at the old rate
    m_rate = std::clamp(rate, m_options.minRate, m_options.maxRate);
    m_tokens = std::min(m_tokens, burstLocked());
    if (m_rateGauge)
        m_rateGauge->set(m_rate);
}

void RateLimiter::decreaseLocked(qint64 nowNs)
{
    if (nowNs - m_lastDecreaseNs < m_options.decreaseCooldownMs * kNsPerMs)
        return;
    m_lastDecreaseNs = nowNs;
    m_windowDecreased = true;
    const double before = m_rate;
    setRateLocked(nowNs, m_rate * m_options.multiplicativeDecrease);
    if (m_rate < before)
        bump(m_decreases, m_counts.decreases);
}

void RateLimiter::rolloverIncreaseWindowLocked(qint64 nowNs)
{
    if (nowNs - m_windowStartNs < m_options.increaseIntervalMs * kNsPerMs)
        return;
    // Growing only under demand keeps an idle host from drifting up to maxRate and then
    // meeting a burst with a rate nobody ever tested.
    if (m_windowSuccesses > 0 && m_windowSaturated && !m_windowDecreased) {
        const double before = m_rate;
        setRateLocked(nowNs, m_rate + m_options.additiveIncrease);
        if (m_rate > before)
            bump(m_increases, m_counts.increases);
    }
    m_windowStartNs = nowNs;
    m_windowSuccesses = 0;
    m_windowSaturated = !m_queue.empty();
    m_windowDecreased = false;
}

void RateLimiter::onResponse(int status, qint64 latencyNs, std::optional<qint64> retryAfterMs)
{
    bool blocked = false;
    {
        QMutexLocker lock(&m_mutex);
        const qint64 now = m_clock->nowNs();
        refillLocked(now);
        const bool overload = status == 429 || status == 503;

        if (overload && retryAfterMs && *retryAfterMs > 0) {
            const qint64 until = now + *retryAfterMs * kNsPerMs;
            if (until > m_blockedUntilNs) {
                m_blockedUntilNs = until;
                // One token waits at the end of the block, and the bucket refills only after
                // it, so the block does not end with a burst that provokes the next 429.
                m_tokens = std::min(1.0, burstLocked());
                m_lastRefillNs = until;
                blocked = true;
            }
        }

        if (m_options.adaptive) {
            rolloverIncreaseWindowLocked(now);
            if (overload) {
                decreaseLocked(now);
            } else if (status > 0 && status < 500) {
                ++m_windowSuccesses;
            }
            if (status > 0 && latencyNs > 0) {
                const double sample = double(latencyNs);
                if (m_latencySamples == 0) {
                    m_latencyEwmaNs = m_latencyBaselineNs = sample;
                } else {
                    m_latencyEwmaNs += kLatencyFastAlpha * (sample - m_latencyEwmaNs);
                    m_latencyBaselineNs += kLatencyBaselineAlpha * (sample - m_latencyBaselineNs);
                }
                ++m_latencySamples;
                if (m_options.latencyIncreaseFactor > 0 && m_latencySamples > kLatencyWarmupSamples &&
                    m_latencyEwmaNs > m_options.latencyIncreaseFactor * m_latencyBaselineNs)
                    decreaseLocked(now);
            }
        }
    }
    if (blocked)
        rearm(); // queued waiters now wait for the end of the block
}

bool RateLimiter::enqueue(Waiter waiter)
{
    {
        QMutexLocker lock(&m_mutex);
        if (int(m_queue.size()) >= m_options.maxQueue) {
            bump(m_rejectedFull, m_counts.rejectedQueueFull);
            return false;
        }
        const qint64 now = m_clock->nowNs();
        const qint64 latest = now + m_options.queueTimeoutMs * kNsPerMs;
        const qint64 deadline = waiter.deadlineNs > 0 ? std::min(waiter.deadlineNs, latest) : latest;
        m_queue.push_back(Queued{deadline, std::move(waiter.callback), waiter.id});
        if (now >= m_blockedUntilNs)
            m_windowSaturated = true;
        bump(m_delayed, m_counts.delayed);
        if (m_queueGauge)
            m_queueGauge->set(double(m_queue.size()));
    }
    rearm();
    return true;
}

bool RateLimiter::cancel(quint64 id)
{
    if (id == 0)
        return false;
    {
        QMutexLocker lock(&m_mutex);
        const auto it =
            std::find_if(m_queue.begin(), m_queue.end(), [id](const Queued &q) { return q.id == id; });
        if (it == m_queue.end())
            return false;
        m_queue.erase(it);
        if (m_queueGauge)
            m_queueGauge->set(double(m_queue.size()));
    }
    rearm();
    return true;
}

void RateLimiter::pump()
{
    std::vector<std::pair<std::function<void(bool)>, bool>> calls;
    {
        QMutexLocker lock(&m_mutex);
        const qint64 now = m_clock->nowNs();
        refillLocked(now);
        std::deque<Queued> kept;
        for (Queued &q : m_queue) {
            if (q.deadlineNs <= now) {
                bump(m_rejectedTimeout, m_counts.rejectedTimeout);
                calls.emplace_back(std::move(q.callback), false);
            } else if (kept.empty() && tokenAvailableLocked(now)) {
                takeTokenLocked();
                calls.emplace_back(std::move(q.callback), true);
            } else {
                kept.push_back(std::move(q));
            }
        }
        m_queue.swap(kept);
        if (m_queueGauge)
            m_queueGauge->set(double(m_queue.size()));
    }
    for (auto &[callback, granted] : calls)
        if (callback)
            callback(granted);
    rearm();
}

void RateLimiter::rearm()
{
    if (QThread::currentThread() != thread()) {
        // QTimer may only be started from its own thread.
        QMetaObject::invokeMethod(this, &RateLimiter::rearm, Qt::QueuedConnection);
        return;
    }
    qint64 delayMs = -1;
    {
        QMutexLocker lock(&m_mutex);
        if (!m_queue.empty()) {
            const qint64 now = m_clock->nowNs();
            refillLocked(now);
            qint64 nextNs = nsUntilTokensLocked(now, 1.0);
            for (const Queued &q : m_queue)
                nextNs = std::min(nextNs, q.deadlineNs - now);
            delayMs = ceilMs(nextNs);
        }
    }
    if (delayMs < 0)
        m_timer.stop();
    else
        m_timer.start(int(std::min<qint64>(delayMs, std::numeric_limits<int>::max())));
}

double RateLimiter::currentRate() const
{
    QMutexLocker lock(&m_mutex);
    return m_rate;
}

int RateLimiter::queueDepth() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_queue.size());
}

qint64 RateLimiter::blockedForMs() const
{
    QMutexLocker lock(&m_mutex);
    return ceilMs(m_blockedUntilNs - m_clock->nowNs());
}

RateLimiterStats RateLimiter::stats() const
{
    QMutexLocker lock(&m_mutex);
    const qint64 now = m_clock->nowNs();
    RateLimiterStats s = m_counts;
    s.ratePerSecond = m_rate;
    // Computed without refilling: stats() is const and must not move the bucket's clock.
    s.tokens = now > m_lastRefillNs
                   ? std::min(burstLocked(), m_tokens + double(now - m_lastRefillNs) * m_rate / kNsPerSecond)
                   : m_tokens;
    s.queueDepth = int(m_queue.size());
    s.blockedForMs = ceilMs(m_blockedUntilNs - now);
    s.latencyEwmaMs = m_latencyEwmaNs / kNsPerMs;
    s.latencyBaselineMs = m_latencyBaselineNs / kNsPerMs;
    return s;
}

} // namespace vega
