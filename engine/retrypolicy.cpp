#include "retrypolicy.h"

#include "metrics.h"

#include <QDateTime>
#include <QList>
#include <QMutexLocker>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vega {

namespace {
constexpr qint64 kNsPerSecond = 1000000000;
constexpr qint64 kMaxRetryAfterSeconds = std::numeric_limits<qint64>::max() / 1000;

Labels policyLabels(const QString &name)
{
    return {{QStringLiteral("policy"), name}};
}

std::optional<int> parseDigits(const QByteArray &s, int minLen, int maxLen)
{
    if (s.size() < minLen || s.size() > maxLen)
        return std::nullopt;
    int v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

int monthFromName(const QByteArray &s)
{
    static const char *const names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (s == names[i])
            return i + 1;
    return 0;
}

bool isShortDayName(const QByteArray &s)
{
    static const char *const names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    return std::any_of(std::begin(names), std::end(names), [&](const char *n) { return s == n; });
}

bool isLongDayName(const QByteArray &s)
{
    static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                        "Friday", "Saturday", "Sunday"};
    return std::any_of(std::begin(names), std::end(names), [&](const char *n) { return s == n; });
}

// "HH:MM:SS", exactly two digits each.
QTime parseClock(const QByteArray &s)
{
    const QList<QByteArray> parts = s.split(':');
    if (parts.size() != 3)
        return {};
    const auto h = parseDigits(parts[0], 2, 2);
    const auto m = parseDigits(parts[1], 2, 2);
    const auto sec = parseDigits(parts[2], 2, 2);
    if (!h || !m || !sec)
        return {};
    return QTime(*h, *m, *sec); // invalid (so rejected) when out of range
}

// HTTP-date, RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms that a
// recipient must still accept. Returns UTC ms since epoch.
std::optional<qint64> parseHttpDate(const QByteArray &value, qint64 nowWallMs)
{
    QList<QByteArray> tokens;
    for (const QByteArray &t : value.split(' '))
        if (!t.isEmpty())
            tokens.append(t);

    QDate date;
    QTime time;
    if (tokens.size() == 6 && tokens[0].endsWith(',') && isShortDayName(tokens[0].chopped(1))) {
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        const auto day = parseDigits(tokens[1], 2, 2);
        const int month = monthFromName(tokens[2]);
        const auto year = parseDigits(tokens[3], 4, 4);
        if (!day || !month || !year || tokens[5] != "GMT")
            return std::nullopt;
        date = QDate(*year, month, *day);
        time = parseClock(tokens[4]);
    } else if (tokens.size() == 4 && tokens[0].endsWith(',') && isLongDayName(tokens[0].chopped(1))) {
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        const QList<QByteArray> dmy = tokens[1].split('-');
        if (dmy.size() != 3 || tokens[3] != "GMT")
            return std::nullopt;
        const auto day = parseDigits(dmy[0], 2, 2);
        const int month = monthFromName(dmy[1]);
        const auto yy = parseDigits(dmy[2], 2, 2);
        if (!day || !month || !yy)
            return std::nullopt;
        // A two-digit year more than 50 years ahead means the most recent past such year.
        const int nowYear = QDateTime::fromMSecsSinceEpoch(nowWallMs, Qt::UTC).date().year();
        int year = nowYear - nowYear % 100 + *yy;
        if (year > nowYear + 50)
            year -= 100;
        date = QDate(year, month, *day);
        time = parseClock(tokens[2]);
    } else if (tokens.size() == 5 && isShortDayName(tokens[0])) {
        // asctime: Sun Nov  6 08:49:37 1994
        const int month = monthFromName(tokens[1]);
        const auto day = parseDigits(tokens[2], 1, 2);
        const auto year = parseDigits(tokens[4], 4, 4);
        if (!month || !day || !year)
            return std::nullopt;
        date = QDate(*year, month, *day);
        time = parseClock(tokens[3]);
    } else {
        return std::nullopt;
    }
    if (!date.isValid() || !time.isValid())
        return std::nullopt;
    return QDateTime(date, time, Qt::UTC).toMSecsSinceEpoch();
}
} // namespace

// ---------------------------------------------------------------------------------------------

RetryBudget::RetryBudget(const QString &name, const RetryOptions &options, MetricsRegistry *registry,
                         Clock *clock)
    : m_name(name), m_ratio(std::max(0.0, options.budgetRatio)),
      m_floor(std::max(0, options.minRetriesPerSecond) * std::max(1, options.budgetWindowSeconds)),
      m_clock(clock), m_buckets(size_t(std::max(1, options.budgetWindowSeconds)))
{
    if (registry)
        m_exhaustedCounter =
            registry->counter(QStringLiteral("retry_budget_exhausted"), policyLabels(name),
                              QStringLiteral("Retries refused because the retry budget was spent"));
}

void RetryBudget::expire(qint64 nowNs)
{
    const qint64 oldestKept = nowNs / kNsPerSecond - qint64(m_buckets.size()) + 1;
    for (Bucket &b : m_buckets) {
        if (b.second >= 0 && b.second < oldestKept) {
            m_requests -= b.requests;
            m_retries -= b.retries;
            b = Bucket{};
        }
    }
}

RetryBudget::Bucket &RetryBudget::currentBucket(qint64 nowNs)
{
    expire(nowNs);
    const qint64 second = nowNs / kNsPerSecond;
    Bucket &b = m_buckets[size_t(second % qint64(m_buckets.size()))];
    if (b.second != second) {
        m_requests -= b.requests;
        m_retries -= b.retries;
        b = Bucket{second, 0, 0};
    }
    return b;
}

int RetryBudget::allowedLocked() const
{
    // The epsilon keeps 0.2 * 100 at 20 despite binary rounding.
    const int proportional = int(std::floor(m_ratio * m_requests + 1e-9));
    return std::max(m_floor, proportional);
}

void RetryBudget::recordRequest()
{
    QMutexLocker lock(&m_mutex);
    ++currentBucket(m_clock->nowNs()).requests;
    ++m_requests;
}

bool RetryBudget::tryAcquireRetry()
{
    QMutexLocker lock(&m_mutex);
    Bucket &b = currentBucket(m_clock->nowNs());
    if (m_retries >= allowedLocked()) {
        ++m_exhaustions;
        if (m_exhaustedCounter)
            m_exhaustedCounter->inc();
        return false;
    }
    ++b.retries;
    ++m_retries;
    ++m_granted;
    return true;
}

int RetryBudget::remaining()
{
    QMutexLocker lock(&m_mutex);
    expire(m_clock->nowNs());
    return std::max(0, allowedLocked() - m_retries);
}

int RetryBudget::requestsInWindow()
{
    QMutexLocker lock(&m_mutex);
    expire(m_clock->nowNs());
    return m_requests;
}

int RetryBudget::retriesInWindow()
{
    QMutexLocker lock(&m_mutex);
    expire(m_clock->nowNs());
    return m_retries;
}

quint64 RetryBudget::retriesGranted() const
{
    QMutexLocker lock(&m_mutex);
    return m_granted;
}

quint64 RetryBudget::exhaustions() const
{
    QMutexLocker lock(&m_mutex);
    return m_exhaustions;
}

// ---------------------------------------------------------------------------------------------

RetryPolicy::RetryPolicy(const QString &name, const RetryOptions &options, MetricsRegistry *registry,
                         Clock *clock)
    : m_name(name), m_options(options), m_budget(name, options, registry, clock)
{
    if (registry) {
        m_attempts = registry->counter(QStringLiteral("retry_attempts"), policyLabels(name),
                                       QStringLiteral("Retries granted (attempts after the first)"));
        m_gaveUp = registry->counter(QStringLiteral("retry_gave_up"), policyLabels(name),
                                     QStringLiteral("Retryable failures not retried: attempts, budget or "
                                                    "Retry-After exhausted"));
    }
}

qint64 RetryPolicy::backoffMs(int retryNumber, std::mt19937_64 &rng) const
{
    const qint64 cap = std::max<qint64>(0, m_options.capMs);
    const qint64 base = std::max<qint64>(0, m_options.baseMs);
    qint64 bound = cap;
    // base * 2^n without overflow: stop doubling once the cap is reached.
    if (retryNumber >= 0 && retryNumber < 62) {
        qint64 v = base;
        for (int i = 0; i < retryNumber && v < cap; ++i)
            v *= 2;
        bound = std::min(cap, v);
    }
    std::uniform_int_distribution<qint64> dist(0, bound);
    return dist(rng);
}

bool RetryPolicy::isRetryable(const QByteArray &method, bool idempotentOptIn,
                              const AttemptResult &result) const
{
    using Kind = AttemptResult::Kind;
    switch (result.kind) {
    case Kind::CircuitOpen:
    case Kind::RateLimited:
    case Kind::Cancelled:
        return false;
    case Kind::ConnectFailed:
        // Nothing reached the upstream, so even a POST cannot be applied twice.
        return m_options.retryConnectionErrors;
    case Kind::ConnectionError:
    case Kind::Timeout:
    case Kind::Response:
        break;
    }

    static const QByteArray idempotent[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
    const bool safe = idempotentOptIn || std::any_of(std::begin(idempotent), std::end(idempotent),
                                                     [&](const QByteArray &m) { return method == m; });
    if (!safe)
        return false;

    switch (result.kind) {
    case Kind::ConnectionError:
        return m_options.retryConnectionErrors;
    case Kind::Timeout:
        return m_options.retryTimeouts;
    default:
        return m_options.retryableStatuses.contains(result.httpStatus);
    }
}

RetryDecision RetryPolicy::decide(int attemptsMade, const QByteArray &method, bool idempotentOptIn,
                                  const AttemptResult &result, std::optional<qint64> retryAfterMs,
                                  std::mt19937_64 &rng)
{
    if (!isRetryable(method, idempotentOptIn, result))
        return {false, 0, QStringLiteral("not retryable")};

    const auto giveUp = [this](const QString &why) {
        if (m_gaveUp)
            m_gaveUp->inc();
        return RetryDecision{false, 0, why};
    };
    if (attemptsMade >= m_options.maxAttempts)
        return giveUp(
            QStringLiteral("attempts exhausted (%1 of %2)").arg(attemptsMade).arg(m_options.maxAttempts));
    if (retryAfterMs && *retryAfterMs > m_options.maxRetryAfterMs)
        return giveUp(QStringLiteral("Retry-After %1 ms exceeds %2 ms")
                          .arg(*retryAfterMs)
                          .arg(m_options.maxRetryAfterMs));
    if (!m_budget.tryAcquireRetry())
        return giveUp(QStringLiteral("retry budget exhausted"));

    qint64 delay = backoffMs(attemptsMade - 1, rng);
    if (retryAfterMs)
        delay = std::max(delay, *retryAfterMs);
    if (m_attempts)
        m_attempts->inc();
    return {true, delay, QStringLiteral("retry %1 of %2").arg(attemptsMade).arg(m_options.maxAttempts - 1)};
}

std::optional<qint64> RetryPolicy::parseRetryAfterMs(const QByteArray &value, qint64 nowWallMs)
{
    const QByteArray v = value.trimmed();
    if (v.isEmpty())
        return std::nullopt;

    if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        qint64 seconds = 0;
        for (char c : v) {
            if (seconds > (kMaxRetryAfterSeconds - 9) / 10) {
                seconds = kMaxRetryAfterSeconds;
                break;
            }
            seconds = seconds * 10 + (c - '0');
        }
        return seconds * 1000;
    }

    const auto when = parseHttpDate(v, nowWallMs);
    if (!when)
        return std::nullopt;
    return std::max<qint64>(0, *when - nowWallMs);
}

} // namespace vega
