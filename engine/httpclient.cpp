#include "httpclient.h"

#include "circuitbreaker.h"
#include "metrics.h"
#include "ratelimiter.h"
#include "responsecache.h"
#include "retrypolicy.h"

#include <QBasicTimer>
#include <QDateTime>
#include <QDeadlineTimer>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QTimerEvent>

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <utility>

namespace vega {

QString httpErrorName(HttpError error)
{
    switch (error) {
    case HttpError::None:
        return QStringLiteral("none");
    case HttpError::Network:
        return QStringLiteral("network");
    case HttpError::Timeout:
        return QStringLiteral("timeout");
    case HttpError::DeadlineExceeded:
        return QStringLiteral("deadline_exceeded");
    case HttpError::CircuitOpen:
        return QStringLiteral("circuit_open");
    case HttpError::RateLimited:
        return QStringLiteral("rate_limited");
    case HttpError::Cancelled:
        return QStringLiteral("cancelled");
    case HttpError::InvalidRequest:
        return QStringLiteral("invalid_request");
    }
    return {};
}

namespace {

constexpr int kTopKeys = 20;
constexpr int kTopKeysTracked = 200;
constexpr qint64 kNsPerMs = 1000000;

QString hostKey(const QUrl &url)
{
    return url.host().toLower() + QLatin1Char(':') +
           QString::number(url.port(url.scheme() == QLatin1String("https") ? 443 : 80));
}

// An endpoint is a route, not one resource: ids in the path (numbers, UUIDs, long hex)
// become "{id}" so one breaker covers /items/1 and /items/2.
bool isIdSegment(QByteArrayView segment)
{
    bool allDigits = true;
    bool allHex = true;
    for (const char c : segment) {
        const bool digit = c >= '0' && c <= '9';
        allDigits = allDigits && digit;
        allHex = allHex && (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-');
    }
    return !segment.isEmpty() && (allDigits || (allHex && segment.size() >= 8));
}

// "METHOD /items/{id}" from a request key ("METHOD scheme://authority/items/42?..."), in one
// pass over bytes: it runs for every request.
QByteArray routeOfKey(const QByteArray &key)
{
    const qsizetype space = key.indexOf(' ');
    qsizetype i = key.indexOf("://", space);
    i = i < 0 ? space + 1 : i + 3;
    while (i < key.size() && key.at(i) != '/' && key.at(i) != '?' && key.at(i) != '\n')
        ++i;
    QByteArray route;
    route.reserve(key.size());
    route.append(key.constData(), space + 1);
    qsizetype start = i;
    for (; i <= key.size(); ++i) {
        const bool end = i == key.size() || key.at(i) == '?' || key.at(i) == '\n';
        if (!end && key.at(i) != '/')
            continue;
        const QByteArrayView segment = QByteArrayView(key).sliced(start, i - start);
        if (isIdSegment(segment))
            route += "{id}";
        else
            route += segment;
        if (end)
            break;
        route += '/';
        start = i + 1;
    }
    if (route.size() == space + 1)
        route += '/';
    return route;
}

bool isCoalescableByDefault(const QByteArray &method)
{
    return method == "GET" || method == "HEAD";
}

QByteArray upperMethod(const QByteArray &method)
{
    const bool upper =
        std::none_of(method.begin(), method.end(), [](char c) { return c >= 'a' && c <= 'z'; });
    return upper ? method : method.toUpper();
}

CircuitBreakerOptions breakerOptions(const HttpPolicy &p)
{
    CircuitBreakerOptions o;
    o.windowType = p.breakerTimeWindow ? CircuitBreakerOptions::WindowType::Time
                                       : CircuitBreakerOptions::WindowType::Count;
    o.windowCalls = p.breakerWindow;
    o.windowSeconds = p.breakerWindow;
    o.minimumCalls = p.breakerMinimumCalls;
    o.failureRateThreshold = p.breakerFailureRatePercent;
    o.slowCallRateThreshold = p.breakerSlowCallRatePercent;
    o.slowCallDurationMs = p.breakerSlowCallMs;
    o.openBaseMs = p.breakerOpenBaseMs;
    o.openMultiplier = p.breakerOpenMultiplier;
    o.openCapMs = p.breakerOpenCapMs;
    o.openJitter = p.breakerOpenJitter;
    o.halfOpenPermittedCalls = p.breakerHalfOpenCalls;
    return o;
}

// Qt reports HTTP error statuses as errors too (ContentNotFoundError for 404,
// InternalServerError for 500...); those are responses, not transport failures.
bool isHttpStatusError(QNetworkReply::NetworkError e)
{
    const int code = int(e);
    return (code >= 201 && code <= 299) || (code >= 401 && code <= 499);
}

// Outcome counters by index: HttpError values, then a cache hit, then status classes.
constexpr int kOutcomeCacheHit = 8;
constexpr int kOutcomeStatusBase = 9; // + status / 100, 0..5
constexpr int kOutcomes = kOutcomeStatusBase + 6;

int outcomeIndex(const HttpResponse &r)
{
    if (r.error != HttpError::None)
        return int(r.error);
    if (r.fromCache)
        return kOutcomeCacheHit;
    return kOutcomeStatusBase + std::clamp(r.status / 100, 0, 5);
}

QString outcomeName(int index)
{
    if (index < kOutcomeCacheHit)
        return httpErrorName(HttpError(index));
    if (index == kOutcomeCacheHit)
        return QStringLiteral("cache_hit");
    return QStringLiteral("%1xx").arg(index - kOutcomeStatusBase);
}

} // namespace

// ---------------------------------------------------------------------------------------

namespace detail {

struct HttpHost {
    QString name;
    HttpPolicy policy;
    std::unique_ptr<QNetworkAccessManager> nam;
    std::unique_ptr<RateLimiter> limiter;
    std::unique_ptr<CircuitBreaker> breaker;
    QHash<QString, CircuitBreaker *> endpointBreakers; // owned by `endpointOwner`
    QHash<QByteArray, CircuitBreaker *> routeBreakers; // "GET /items/{id}" -> endpoint breaker
    std::vector<std::unique_ptr<CircuitBreaker>> endpointOwner;
    std::unique_ptr<RetryPolicy> retry; // owns the host's retry budget
    int active = 0;                     // pool slots taken (requests on the wire)
    std::deque<HttpFlight *> pending;   // waiting for a slot; a flight leaves it when it ends
    qint64 lastActivityNs = 0;
    qint64 lastCleanupNs = 0;
    quint64 idleCleanups = 0;
    quint64 requests = 0;
    quint64 opened = 0;

    Counter *httpRequests = nullptr;
    Counter *backendRequests = nullptr;
    Counter *connectionsOpened = nullptr;
    Counter *retries = nullptr;
    Counter *idleCleanupCounter = nullptr;
    Counter *coalescedCounter = nullptr;
    Counter *leaderCounter = nullptr;
    Gauge *reuse = nullptr;
    Gauge *activeGauge = nullptr;
    Gauge *pendingGauge = nullptr;
    Histogram *connectTime = nullptr;
    Histogram *duration = nullptr;
    std::array<Counter *, kOutcomes> outcomes{};

    Counter *outcome(MetricsRegistry *registry, int index)
    {
        Counter *&c = outcomes[size_t(index)];
        if (!c)
            c = registry->counter(
                QStringLiteral("http_responses"),
                {{QStringLiteral("host"), name}, {QStringLiteral("outcome"), outcomeName(index)}},
                QStringLiteral("Responses delivered to callers by outcome"));
        return c;
    }

    CircuitBreaker *endpointBreaker(const QString &endpoint, const CircuitBreakerOptions &options,
                                    MetricsRegistry *registry, Clock *clock)
    {
        if (CircuitBreaker *b = endpointBreakers.value(endpoint))
            return b;
        auto b = std::make_unique<CircuitBreaker>(endpoint, options, registry, clock);
        CircuitBreaker *raw = b.get();
        endpointOwner.push_back(std::move(b));
        endpointBreakers.insert(endpoint, raw);
        return raw;
    }

    void publishPool()
    {
        activeGauge->set(active);
        pendingGauge->set(double(pending.size()));
    }
};

} // namespace detail

// ---------------------------------------------------------------------------------------

/// One backend call shared by every caller with the same key. Internal to the client.
/// Lives from send() until it delivered (or was abandoned), then deletes itself.
class HttpFlight : public QObject {
    Q_OBJECT
public:
    using Host = detail::HttpHost;

    HttpFlight(HttpClient *client, Host *host, const HttpRequest &request, QByteArray method, QByteArray key,
               bool coalescable)
        : QObject(client), m_client(client), m_host(host), m_request(request), m_key(std::move(key)),
          m_coalescable(coalescable)
    {
        m_request.method = std::move(method);
        const HttpPolicy &p = host->policy;
        m_attemptTimeoutMs = request.attemptTimeoutMs > 0 ? request.attemptTimeoutMs : p.attemptTimeoutMs;
        m_deadlineMs = request.deadlineMs > 0 ? request.deadlineMs : p.deadlineMs;
        m_deadline = QDeadlineTimer(qint64(m_deadlineMs), Qt::PreciseTimer);
        m_retryOptIn = request.retry.value_or(false);
        m_retryDisabled = request.retry.has_value() && !*request.retry;
        ++client->m_liveFlights;
    }

    ~HttpFlight() override
    {
        stopNetwork();
        for (HttpCall *call : std::as_const(m_waiters))
            call->m_flight = nullptr;
        if (m_phase != Phase::Done)
            m_client->unregisterFlight(this);
        --m_client->m_liveFlights;
    }

    void addWaiter(HttpCall *call)
    {
        call->m_flight = this;
        m_waiters.append(call);
    }

    /// A caller left (cancelled or deleted). The last one leaving abandons the backend call.
    void removeWaiter(HttpCall *call)
    {
        call->m_flight = nullptr;
        m_waiters.removeOne(call);
        if (!m_waiters.isEmpty() || m_phase == Phase::Done)
            return;
        // Later callers start a new flight, so this cancellation never leaks into them.
        m_phase = Phase::Done;
        stopNetwork();
        m_client->unregisterFlight(this);
        m_client->retire(this);
    }

    bool isCoalescable() const { return m_coalescable; }
    const QByteArray &key() const { return m_key; }

    void start()
    {
        m_host->retry->recordRequest();
        nextAttempt();
    }

    /// Asks the Redis tier first (a GET that missed the local cache); any answer other than
    /// a value continues with start(), at once when Redis cannot be asked.
    void startShared(SharedCacheTier *tier)
    {
        m_phase = Phase::Shared;
        QPointer<HttpFlight> self(this);
        const bool asked = tier->lookup(m_key, m_coalescable, this, [self](const SharedLookup &result) {
            if (self)
                self->onSharedLookup(result);
        });
        if (!asked)
            startAfterShared();
    }

    /// The pool gave this flight a slot: put the attempt on the wire.
    void send()
    {
        Host *host = m_host;
        m_holdsSlot = true;
        m_phase = Phase::Wire;
        QNetworkRequest req(m_request.url);
        for (const auto &h : std::as_const(m_request.headers))
            req.setRawHeader(h.first, h.second);
        ++m_attempts;
        ++host->requests;
        ++m_client->m_totals.backendRequests;
        host->backendRequests->inc();
        host->lastActivityNs = m_client->m_clock->nowNs();
        m_attemptStartNs = host->lastActivityNs;
        m_connectStartNs = 0;
        if (m_request.method == "GET" && m_request.body.isEmpty())
            m_reply = host->nam->get(req);
        else if (m_request.method == "HEAD")
            m_reply = host->nam->head(req);
        else
            m_reply = host->nam->sendCustomRequest(req, m_request.method, m_request.body);
        connect(m_reply, &QNetworkReply::socketStartedConnecting, this, &HttpFlight::onConnecting);
        connect(m_reply, &QNetworkReply::finished, this, &HttpFlight::onReplyFinished);
        // Our own timer rather than QNetworkRequest::setTransferTimeout(): that one only
        // measures inactivity, and reports itself as OperationCanceledError.
        const qint64 remaining = remainingMs();
        m_attemptClipped = remaining < m_attemptTimeoutMs;
        armTimer(std::max<qint64>(1, std::min<qint64>(m_attemptTimeoutMs, remaining)));
        host->publishPool();
    }

protected:
    void timerEvent(QTimerEvent *event) override
    {
        if (event->timerId() != m_timer.timerId())
            return QObject::timerEvent(event);
        m_timer.stop();
        switch (m_phase) {
        case Phase::Backoff:
            nextAttempt();
            break;
        case Phase::Wire:
            onAttemptTimeout();
            break;
        case Phase::RateLimit:
        case Phase::Pool:
            deadlineExceeded();
            break;
        case Phase::Idle:
        case Phase::Shared:
        case Phase::Done:
            break;
        }
    }

private:
    enum class Phase { Idle, Shared, RateLimit, Pool, Wire, Backoff, Done };

    void startAfterShared()
    {
        m_phase = Phase::Idle;
        start();
    }

    void onSharedLookup(const SharedLookup &result)
    {
        SharedCacheTier *tier = m_client->m_shared.get();
        if (m_phase != Phase::Shared) {
            // Abandoned while asking: a lock granted now must not block the other instances.
            if (result.outcome == SharedLookup::Outcome::LockAcquired && tier)
                tier->release(m_key, result.lockToken);
            return;
        }
        switch (result.outcome) {
        case SharedLookup::Outcome::Hit:
            answerFromShared(result);
            return;
        case SharedLookup::Outcome::LockAcquired:
            m_lockToken = result.lockToken;
            break;
        case SharedLookup::Outcome::Locked: {
            // Another instance is fetching: wait for its value, but never so long that the
            // wait alone could make this request miss its deadline.
            const int waitMs = int(std::min<qint64>(tier->config().lockTtlMs, remainingMs() / 2));
            QPointer<HttpFlight> self(this);
            if (waitMs > 0 && tier->waitFor(m_key, waitMs, this, [self](const SharedLookup &r) {
                    if (!self || self->m_phase != Phase::Shared)
                        return;
                    if (r.outcome == SharedLookup::Outcome::Hit)
                        self->answerFromShared(r);
                    else
                        self->startAfterShared();
                }))
                return;
            break;
        }
        case SharedLookup::Outcome::Miss:
        case SharedLookup::Outcome::Unavailable:
            break;
        }
        startAfterShared();
    }

    void answerFromShared(const SharedLookup &result)
    {
        if (result.ttlMs > 0)
            m_client->m_cache->put(m_key, result.response, result.ttlMs);
        ++m_client->m_totals.sharedCacheHits;
        HttpResponse r;
        r.status = result.response.status;
        r.headers = result.response.headers;
        r.body = result.response.body;
        r.fromCache = true;
        finish(std::move(r));
    }

    qint64 remainingMs() const
    {
        const qint64 ns = m_deadline.remainingTimeNSecs();
        return ns <= 0 ? 0 : (ns + kNsPerMs - 1) / kNsPerMs;
    }
    // Within a millisecond of the deadline counts as past it: timers have ms resolution.
    bool deadlinePassed() const { return m_deadline.remainingTimeNSecs() < kNsPerMs; }

    void armTimer(qint64 ms)
    {
        m_timer.start(int(std::min<qint64>(ms, std::numeric_limits<int>::max())), Qt::PreciseTimer, this);
    }

    void nextAttempt()
    {
        if (m_phase == Phase::Done)
            return;
        m_phase = Phase::Idle;
        if (deadlinePassed()) {
            deadlineExceeded();
            return;
        }
        if (!m_host->policy.rateLimit || !m_host->limiter) {
            afterRateLimit();
            return;
        }
        RateLimiter *limiter = m_host->limiter.get();
        if (limiter->tryAcquire() == 0) {
            afterRateLimit();
            return;
        }
        const qint64 waitMs = std::min<qint64>(remainingMs(), m_host->policy.rateQueueTimeoutMs);
        QPointer<HttpFlight> self(this);
        RateLimiter::Waiter waiter;
        waiter.deadlineNs = m_client->m_clock->nowNs() + std::max<qint64>(1, waitMs) * kNsPerMs;
        waiter.id = ++s_waiterIds;
        waiter.callback = [self](bool granted) {
            if (!self || self->m_phase != Phase::RateLimit)
                return;
            self->m_waiterId = 0;
            if (granted)
                self->afterRateLimit();
            else if (self->deadlinePassed())
                self->deadlineExceeded();
            else
                self->rateLimited(QStringLiteral("waited %1 ms for the rate limiter of %2")
                                      .arg(self->m_host->policy.rateQueueTimeoutMs)
                                      .arg(self->m_host->name));
        };
        const quint64 id = waiter.id;
        if (!limiter->enqueue(std::move(waiter))) {
            rateLimited(QStringLiteral("rate limiter queue of %1 is full (%2 waiting)")
                            .arg(m_host->name)
                            .arg(m_host->policy.rateQueueMax));
            return;
        }
        m_waiterId = id;
        m_phase = Phase::RateLimit;
        armTimer(std::max<qint64>(1, remainingMs()));
    }

    void rateLimited(const QString &why)
    {
        ++m_client->m_totals.rateLimited;
        fail(HttpError::RateLimited, why);
    }

    void afterRateLimit()
    {
        if (m_phase == Phase::Done)
            return;
        m_timer.stop();
        m_phase = Phase::Idle;
        if (m_host->policy.breaker) {
            if (!m_endpoint)
                m_endpoint = endpointBreaker();
            m_hostPermit = m_host->breaker->tryAcquire();
            if (!m_hostPermit.permitted) {
                breakerRejected(m_host->name, m_hostPermit.remainingOpenMs);
                return;
            }
            m_endpointPermit = m_endpoint->tryAcquire();
            if (!m_endpointPermit.permitted) {
                m_host->breaker->onIgnored(m_hostPermit); // give back the host's trial slot
                breakerRejected(m_endpoint->name(), m_endpointPermit.remainingOpenMs);
                return;
            }
            m_holdsBreakerPermits = true;
        }
        // Pool: at most maxConnections requests on the wire per host; the rest wait in order.
        if (m_host->active < std::max(1, m_host->policy.maxConnections) && m_host->pending.empty()) {
            ++m_host->active;
            send();
        } else {
            m_phase = Phase::Pool;
            m_host->pending.push_back(this);
            m_host->publishPool();
            armTimer(std::max<qint64>(1, remainingMs()));
        }
    }

    CircuitBreaker *endpointBreaker()
    {
        const QByteArray route = routeOfKey(m_key);
        if (CircuitBreaker *b = m_host->routeBreakers.value(route))
            return b;
        const QString name =
            m_host->name + QLatin1Char(' ') + QString::fromUtf8(QByteArray::fromPercentEncoding(route));
        CircuitBreakerOptions o = breakerOptions(m_host->policy);
        if (m_client->m_seed)
            o.seed = *m_client->m_seed + qHash(name, 0);
        CircuitBreaker *b = m_host->endpointBreaker(name, o, m_client->m_registry, m_client->m_clock);
        m_host->routeBreakers.insert(route, b);
        return b;
    }

    void breakerRejected(const QString &name, qint64 remainingOpenMs)
    {
        ++m_client->m_totals.breakerRejections;
        const QString when = remainingOpenMs < 0 ? QStringLiteral("until an operator resets it (forced open)")
                             : remainingOpenMs == 0 ? QStringLiteral("while its half-open trial calls run")
                                                    : QStringLiteral("for %1 ms more").arg(remainingOpenMs);
        fail(HttpError::CircuitOpen,
             QStringLiteral("circuit breaker %1 is open; calls are rejected %2").arg(name, when));
    }

    void onConnecting()
    {
        ++m_host->opened;
        ++m_client->m_totals.connectionsOpened;
        m_host->connectionsOpened->inc();
        m_connectStartNs = m_client->m_clock->nowNs();
        // Only connections need the connect time, so only they pay for this connection.
        connect(m_reply, &QNetworkReply::requestSent, this, [this] {
            if (m_connectStartNs)
                m_host->connectTime->record(m_client->m_clock->nowNs() - m_connectStartNs);
            m_connectStartNs = 0;
        });
    }

    void updateReuse()
    {
        m_host->reuse->set(m_host->requests ? 1.0 - double(m_host->opened) / double(m_host->requests) : 0.0);
    }

    /// Gives the pool slot back and lets the next waiting flight have it.
    void releaseSlot()
    {
        if (!m_holdsSlot)
            return;
        m_holdsSlot = false;
        --m_host->active;
        m_host->lastActivityNs = m_client->m_clock->nowNs();
        m_host->publishPool();
        m_client->pumpPending(m_host);
    }

    /// The reply still running, detached from this flight: the caller aborts it.
    QNetworkReply *takeReply()
    {
        QNetworkReply *reply = m_reply;
        m_reply = nullptr;
        if (reply) {
            reply->disconnect(this); // abort() emits finished()
            reply->deleteLater();
        }
        return reply;
    }

    void onReplyFinished()
    {
        m_timer.stop();
        QNetworkReply *reply = m_reply; // finished: it emits nothing more, no need to disconnect
        m_reply = nullptr;
        reply->deleteLater();
        const qint64 durationNs = m_client->m_clock->nowNs() - m_attemptStartNs;
        releaseSlot();
        updateReuse();

        HttpResponse r;
        const QNetworkReply::NetworkError error = reply->error();
        const QVariant statusAttr = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
        const int status = statusAttr.isValid() ? statusAttr.toInt() : 0;
        AttemptResult result = AttemptResult::response(status);
        if (error == QNetworkReply::NoError || (status > 0 && isHttpStatusError(error))) {
            r.status = status;
            r.headers = reply->rawHeaderPairs(); // shared, not copied
            r.body = reply->readAll();
            if (isTruncated(r)) {
                // Qt reports a connection reset after part of a Content-Length body as success.
                HttpResponse broken;
                broken.error = HttpError::Network;
                broken.errorString =
                    QStringLiteral("connection closed after %1 of %2 body bytes")
                        .arg(r.body.size())
                        .arg(QString::fromLatin1(r.header(QByteArrayLiteral("Content-Length"))));
                r = std::move(broken);
                result = AttemptResult::of(AttemptResult::Kind::ConnectionError);
            }
        } else {
            // No response, or the status line arrived but the rest did not (reset mid-body).
            const bool timedOut =
                error == QNetworkReply::OperationCanceledError || error == QNetworkReply::TimeoutError;
            r.error = timedOut ? HttpError::Timeout : HttpError::Network;
            r.errorString = reply->errorString();
            if (timedOut)
                result = AttemptResult::of(AttemptResult::Kind::Timeout);
            else if (status == 0 && (error == QNetworkReply::ConnectionRefusedError ||
                                     error == QNetworkReply::HostNotFoundError))
                result = AttemptResult::of(AttemptResult::Kind::ConnectFailed); // nothing reached the server
            else
                result = AttemptResult::of(AttemptResult::Kind::ConnectionError);
        }
        attemptDone(std::move(r), result, durationNs);
    }

    bool isTruncated(const HttpResponse &r) const
    {
        if (m_request.method == "HEAD" || r.status == 204 || r.status == 304 || r.status < 200)
            return false;
        // Qt inflates compressed bodies, so their size says nothing about Content-Length.
        const QByteArray encoding = r.header(QByteArrayLiteral("Content-Encoding"));
        if (!encoding.isEmpty() && encoding.compare("identity", Qt::CaseInsensitive) != 0)
            return false;
        bool valid = false;
        const qint64 length = r.header(QByteArrayLiteral("Content-Length")).trimmed().toLongLong(&valid);
        return valid && r.body.size() < length;
    }

    void onAttemptTimeout()
    {
        takeReply()->abort();
        const qint64 durationNs = m_client->m_clock->nowNs() - m_attemptStartNs;
        releaseSlot();
        if (m_attemptClipped && deadlinePassed()) {
            // Cut short by the deadline, not by the attempt timeout: it says nothing about
            // the upstream being slow, so the breaker does not count it.
            recordBreaker(CallOutcome::Ignored, durationNs);
            deadlineExceeded();
            return;
        }
        HttpResponse r;
        r.error = HttpError::Timeout;
        r.errorString =
            QStringLiteral("no response within %1 ms (attempt %2)").arg(m_attemptTimeoutMs).arg(m_attempts);
        attemptDone(std::move(r), AttemptResult::of(AttemptResult::Kind::Timeout), durationNs);
    }

    void recordBreaker(CallOutcome outcome, qint64 durationNs)
    {
        if (!m_holdsBreakerPermits)
            return;
        m_holdsBreakerPermits = false;
        m_host->breaker->record(m_hostPermit, outcome, durationNs);
        m_endpoint->record(m_endpointPermit, outcome, durationNs);
    }

    void attemptDone(HttpResponse r, const AttemptResult &result, qint64 durationNs)
    {
        recordBreaker(
            m_host->breaker->classify(r.status, r.error == HttpError::Network, r.error == HttpError::Timeout),
            durationNs);
        std::optional<qint64> retryAfterMs;
        if (r.status == 429 || r.status == 503) {
            const QByteArray retryAfter = r.header(QByteArrayLiteral("Retry-After"));
            if (!retryAfter.isEmpty())
                retryAfterMs =
                    RetryPolicy::parseRetryAfterMs(retryAfter, QDateTime::currentMSecsSinceEpoch());
        }
        if (m_host->limiter && r.status)
            m_host->limiter->onResponse(r.status, durationNs, retryAfterMs);

        const bool failed =
            r.error != HttpError::None || (result.kind == AttemptResult::Kind::Response && r.status >= 400);
        if (failed && retry(result, retryAfterMs))
            return;
        r.attempts = m_attempts;
        if (r.error == HttpError::None)
            store(r);
        finish(std::move(r));
    }

    bool retry(const AttemptResult &result, std::optional<qint64> retryAfterMs)
    {
        if (m_retryDisabled)
            return false;
        // Never retry into an open breaker: the attempt would be rejected anyway, and asking
        // first keeps the retry budget for retries that can happen.
        if (m_host->policy.breaker && (isOpen(m_host->breaker.get()) || (m_endpoint && isOpen(m_endpoint))))
            return false;
        const RetryDecision decision = m_host->retry->decide(m_attempts, m_request.method, m_retryOptIn,
                                                             result, retryAfterMs, m_client->m_rng);
        if (!decision.retry || decision.delayMs >= remainingMs())
            return false;
        ++m_client->m_totals.retries;
        m_host->retries->inc();
        m_phase = Phase::Backoff;
        if (decision.delayMs <= 0)
            nextAttempt();
        else
            armTimer(decision.delayMs);
        return true;
    }

    static bool isOpen(CircuitBreaker *b)
    {
        const CircuitState st = b->state();
        return st == CircuitState::Open || st == CircuitState::ForcedOpen;
    }

    void store(const HttpResponse &r)
    {
        if (m_request.method != "GET" || !m_request.useCache || !m_host->policy.cache)
            return;
        const bool authorized = !headerValue(m_request.headers, QByteArrayLiteral("Authorization")).isEmpty();
        const CacheDecision decision =
            decideCaching(r.status, r.headers, m_host->policy.cacheTtlMs, authorized);
        if (!decision.store)
            return;
        CachedResponse c;
        c.status = r.status;
        c.headers = r.headers;
        c.body = r.body;
        if (SharedCacheTier *tier = m_client->m_shared.get())
            tier->store(m_key, c, decision.ttlMs, std::exchange(m_lockToken, {}));
        m_client->m_cache->put(m_key, std::move(c), decision.ttlMs);
    }

    void deadlineExceeded()
    {
        fail(HttpError::DeadlineExceeded,
             QStringLiteral("no answer within the %1 ms deadline after %2 attempt(s)")
                 .arg(m_deadlineMs)
                 .arg(m_attempts));
    }

    void fail(HttpError error, const QString &message)
    {
        HttpResponse r;
        r.error = error;
        r.errorString = message;
        r.attempts = m_attempts;
        finish(std::move(r));
    }

    /// Releases everything this flight holds: timer, reply, pool slot or queue place, breaker
    /// permits, rate limiter place. Idempotent.
    void stopNetwork()
    {
        m_timer.stop();
        if (QNetworkReply *reply = takeReply())
            reply->abort();
        releaseSlot();
        if (m_phase == Phase::Pool || !m_host->pending.empty()) {
            auto &q = m_host->pending;
            const auto it = std::find(q.begin(), q.end(), this);
            if (it != q.end()) {
                q.erase(it);
                m_host->publishPool();
            }
        }
        recordBreaker(CallOutcome::Ignored, 0);
        if (m_waiterId) {
            m_host->limiter->cancel(m_waiterId);
            m_waiterId = 0;
        }
        // No value is coming from this instance: let the others stop waiting for it.
        if (!m_lockToken.isEmpty() && m_client->m_shared && !m_client->m_destroying)
            m_client->m_shared->release(m_key, std::exchange(m_lockToken, {}));
    }

    void finish(HttpResponse r)
    {
        if (m_phase == Phase::Done)
            return;
        m_phase = Phase::Done;
        stopNetwork();
        m_client->unregisterFlight(this);
        const QList<HttpCall *> waiters = std::exchange(m_waiters, {});
        // Set-Cookie is for the caller whose request the server answered; callers that
        // merely joined never receive another caller's session.
        const bool perCaller = !r.header(QByteArrayLiteral("Set-Cookie")).isEmpty();
        HeaderList shared;
        if (perCaller) {
            shared = r.headers;
            shared.removeIf(
                [](const auto &h) { return h.first.compare("Set-Cookie", Qt::CaseInsensitive) == 0; });
        }
        for (HttpCall *call : waiters) {
            call->m_flight = nullptr;
            HttpResponse copy = r;
            copy.coalesced = call->m_joined;
            if (perCaller && call->m_joined)
                copy.headers = shared;
            call->deliver(std::move(copy));
        }
        m_client->retire(this);
    }

    HttpClient *m_client;
    Host *m_host;
    HttpRequest m_request;
    QByteArray m_key;
    bool m_coalescable;
    QList<HttpCall *> m_waiters;
    QNetworkReply *m_reply = nullptr;
    CircuitBreaker *m_endpoint = nullptr;
    QBasicTimer m_timer; // one at a time: attempt timeout, backoff, or the deadline while queued
    QDeadlineTimer m_deadline;
    Phase m_phase = Phase::Idle;
    qint64 m_attemptStartNs = 0;
    qint64 m_connectStartNs = 0;
    int m_attemptTimeoutMs = 0;
    int m_deadlineMs = 0;
    int m_attempts = 0;
    bool m_retryOptIn = false;
    bool m_retryDisabled = false;
    bool m_attemptClipped = false;
    bool m_holdsBreakerPermits = false;
    bool m_holdsSlot = false;
    CircuitBreaker::Permit m_hostPermit;
    CircuitBreaker::Permit m_endpointPermit;
    quint64 m_waiterId = 0;
    QByteArray m_lockToken; // the Redis fetch lock this flight holds for every instance
    static inline quint64 s_waiterIds = 0;
};

// ---------------------------------------------------------------------------------------

HttpCall::HttpCall(HttpClient *client, qint64 startNs) : QObject(client), m_client(client), m_startNs(startNs)
{
}

HttpCall::~HttpCall()
{
    if (m_deletedFlag)
        *m_deletedFlag = true;
    if (m_finished || m_client->m_destroying)
        return;
    // Deleted by its caller before the answer: a cancellation nobody hears about.
    m_finished = true;
    ++m_client->m_totals.failed;
    if (m_host)
        m_host->outcome(m_client->m_registry, int(HttpError::Cancelled))->inc();
    if (m_flight)
        m_flight->removeWaiter(this);
}

void HttpCall::cancel()
{
    if (m_finished)
        return;
    HttpResponse r;
    r.error = HttpError::Cancelled;
    r.errorString = QStringLiteral("cancelled by the caller");
    deliver(std::move(r));
    if (m_flight)
        m_flight->removeWaiter(this);
}

void HttpCall::deliver(HttpResponse response)
{
    if (m_finished)
        return;
    m_finished = true;
    response.latencyNs = m_client->m_clock->nowNs() - m_startNs;
    if (response.ok())
        ++m_client->m_totals.succeeded;
    else
        ++m_client->m_totals.failed;
    if (m_host) {
        m_host->duration->record(response.latencyNs);
        m_host->outcome(m_client->m_registry, outcomeIndex(response))->inc();
    }
    m_response = std::move(response);
    // Always asynchronous, even for a cache hit, so callers can connect after send().
    m_client->m_deliveries.push_back(this);
    m_client->scheduleDrain();
}

// ---------------------------------------------------------------------------------------

HttpClient::HttpClient(MetricsRegistry *registry, const HttpConfig &config, Clock *clock, QObject *parent)
    : QObject(parent), m_registry(registry), m_config(config), m_clock(clock)
{
    qRegisterMetaType<vega::HttpResponse>();
    ResponseCache::Options cacheOptions;
    cacheOptions.maxEntries = config.defaults.cacheMaxEntries;
    cacheOptions.maxBytes = qint64(config.defaults.cacheMaxMb) * 1024 * 1024;
    m_cache = std::make_unique<ResponseCache>(cacheOptions, clock, registry, QStringLiteral("http"));
    if (config.redis.enabled) {
        m_shared = SharedCacheTier::create(config.redis, registry, clock, &m_sharedError);
        if (!m_shared)
            registry->recordEvent(QStringLiteral("redis"), QStringLiteral("redis"),
                                  QStringLiteral("shared cache disabled: ") + m_sharedError);
    }
    m_cleanupTimer.setInterval(config.defaults.cleanupIntervalMs);
    connect(&m_cleanupTimer, &QTimer::timeout, this, &HttpClient::cleanupIdle);
    m_cleanupTimer.start();
}

HttpClient::~HttpClient()
{
    // Flights first, while the hosts (their NAMs, breakers, limiters) still exist; they must
    // not hand their pool slots to waiting flights on the way out.
    m_destroying = true;
    for (DrainGuard *g = m_drainGuard; g; g = g->outer)
        g->clientDeleted = true;
    const auto flights = findChildren<HttpFlight *>(QString(), Qt::FindDirectChildrenOnly);
    qDeleteAll(flights);
    m_flights.clear();
    m_retired.clear();
    const auto calls = findChildren<HttpCall *>(QString(), Qt::FindDirectChildrenOnly);
    qDeleteAll(calls);
    m_deliveries.clear();
    m_hosts.clear();
}

HttpClient::Host *HttpClient::hostFor(const QUrl &url)
{
    // Most traffic goes to one host: compare before building the "host:port" key.
    const int port = url.port(url.scheme() == QLatin1String("https") ? 443 : 80);
    if (m_lastHost && port == m_lastHostPort && url.host() == m_lastHostName)
        return m_lastHost;
    Host *host = createOrFindHost(url);
    m_lastHost = host;
    m_lastHostPort = port;
    m_lastHostName = url.host();
    return host;
}

HttpClient::Host *HttpClient::createOrFindHost(const QUrl &url)
{
    const QString name = hostKey(url);
    const auto found = m_hosts.find(name);
    if (found != m_hosts.end())
        return found->second.get();
    auto owned = std::make_unique<Host>();
    Host *h = owned.get();
    h->name = name;
    h->policy = m_config.policyFor(url);
    h->nam = std::make_unique<QNetworkAccessManager>();
    h->nam->setAutoDeleteReplies(false);
    // Manager-wide rather than per-request attributes: every attribute set on a request makes
    // each of Qt's many attribute lookups for it slower. Idle connections are closed by
    // cleanupIdle() after idleTimeoutMs.
    h->nam->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
    const Labels labels{{QStringLiteral("host"), name}};
    RateLimiterOptions rl;
    rl.ratePerSecond = h->policy.ratePerSecond;
    rl.burst = h->policy.burst;
    rl.adaptive = h->policy.adaptive;
    rl.maxQueue = h->policy.rateQueueMax;
    rl.queueTimeoutMs = h->policy.rateQueueTimeoutMs;
    if (h->policy.rateLimit)
        h->limiter = std::make_unique<RateLimiter>(name, rl, m_registry, m_clock);
    CircuitBreakerOptions bo = breakerOptions(h->policy);
    if (m_seed)
        bo.seed = *m_seed + qHash(name, 0);
    h->breaker = std::make_unique<CircuitBreaker>(name, bo, m_registry, m_clock);
    RetryOptions ro;
    ro.maxAttempts = h->policy.retryMaxAttempts;
    ro.baseMs = h->policy.retryBaseMs;
    ro.capMs = h->policy.retryCapMs;
    ro.budgetRatio = h->policy.retryBudgetPercent / 100.0;
    ro.minRetriesPerSecond = h->policy.retryMinPerSecond;
    h->retry = std::make_unique<RetryPolicy>(name, ro, m_registry, m_clock);

    h->httpRequests = m_registry->counter(QStringLiteral("http_requests"), labels,
                                          QStringLiteral("Requests sent by callers"));
    h->backendRequests =
        m_registry->counter(QStringLiteral("http_backend_requests"), labels,
                            QStringLiteral("Requests written to the network, retries included"));
    h->connectionsOpened =
        m_registry->counter(QStringLiteral("pool_connections_opened"), labels,
                            QStringLiteral("New TCP connections (socketStartedConnecting)"));
    h->retries = m_registry->counter(QStringLiteral("http_retries"), labels, QStringLiteral("Retries sent"));
    h->idleCleanupCounter = m_registry->counter(QStringLiteral("pool_idle_cleanups"), labels,
                                                QStringLiteral("Idle connection sets closed by the cleanup"));
    h->coalescedCounter =
        m_registry->counter(QStringLiteral("coalescer_waiters"), labels,
                            QStringLiteral("Requests that joined an identical in-flight call"));
    h->leaderCounter = m_registry->counter(QStringLiteral("coalescer_leaders"), labels,
                                           QStringLiteral("Backend calls started by the coalescer"));
    h->reuse = m_registry->gauge(QStringLiteral("pool_reuse_ratio"), labels,
                                 QStringLiteral("1 - connections opened / requests"), Unit::Ratio);
    h->activeGauge = m_registry->gauge(QStringLiteral("pool_active_requests"), labels,
                                       QStringLiteral("Requests on the wire"));
    h->pendingGauge = m_registry->gauge(QStringLiteral("pool_pending_requests"), labels,
                                        QStringLiteral("Requests waiting for a connection slot"));
    h->connectTime =
        m_registry->histogram(QStringLiteral("pool_connect_time"), labels,
                              QStringLiteral("From starting a connection to the request being sent"));
    h->duration = m_registry->histogram(QStringLiteral("http_request_duration"), labels,
                                        QStringLiteral("Time from send() to delivery, per caller"));
    h->lastActivityNs = m_clock->nowNs();
    m_hosts.emplace(name, std::move(owned));
    return h;
}

HttpCall *HttpClient::send(const HttpRequest &request)
{
    auto *call = new HttpCall(this, m_clock->nowNs()); // parented: deletes itself after finished()
    ++m_totals.requests;
    const QString scheme = request.url.scheme().toLower();
    if (!request.url.isValid() || request.url.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("https")) || request.method.isEmpty()) {
        HttpResponse r;
        r.error = HttpError::InvalidRequest;
        r.errorString =
            request.method.isEmpty()
                ? QStringLiteral("empty HTTP method")
                : QStringLiteral("not an http(s) URL with a host: \"%1\"").arg(request.url.toString());
        call->deliver(std::move(r));
        return call;
    }
    QByteArray method = upperMethod(request.method);
    Host *host = hostFor(request.url);
    call->m_host = host;
    host->httpRequests->inc();
    QByteArray key = requestKey(method, request.url, request.body, request.headers, request.vary);
    const bool coalescable =
        host->policy.coalescing && request.coalesce.value_or(isCoalescableByDefault(method));

    // Coalescer, then cache: a key in flight cannot be fresh in the cache, and a hit needs
    // no flight at all.
    if (coalescable) {
        if (HttpFlight *flight = m_flights.value(key)) {
            ++m_totals.coalesced;
            host->coalescedCounter->inc();
            noteCoalesced(key);
            call->m_joined = true;
            flight->addWaiter(call);
            return call;
        }
    }
    const bool cacheable = method == "GET" && request.useCache && host->policy.cache;
    if (cacheable) {
        if (auto hit = m_cache->get(key)) {
            ++m_totals.cacheHits;
            HttpResponse r;
            r.status = hit->status;
            r.headers = std::move(hit->headers);
            r.body = std::move(hit->body);
            r.fromCache = true;
            call->deliver(std::move(r));
            return call;
        }
        ++m_totals.cacheMisses;
    }
    auto *flight =
        new HttpFlight(this, host, request, std::move(method), key, coalescable); // child of the client
    ++m_totals.leaders;
    host->leaderCounter->inc();
    flight->addWaiter(call);
    if (coalescable)
        m_flights.insert(std::move(key), flight);
    // Any outcome reaches the caller asynchronously.
    if (m_shared && cacheable)
        flight->startShared(m_shared.get());
    else
        flight->start();
    return call;
}

void HttpClient::retire(HttpFlight *flight)
{
    m_retired.push_back(flight);
    scheduleDrain();
}

// One posted event for every answer ready and every flight retired since the last one,
// instead of an invokeMethod() and two deleteLater() per request: each posted event costs a
// wake-up of the event loop (a syscall).
void HttpClient::scheduleDrain()
{
    if (m_drainScheduled)
        return;
    m_drainScheduled = true;
    QMetaObject::invokeMethod(this, &HttpClient::drain, Qt::QueuedConnection);
}

void HttpClient::drain()
{
    m_drainScheduled = false;
    const std::vector<HttpFlight *> retired = std::exchange(m_retired, {});
    qDeleteAll(retired);
    // Calls answered while these are emitted wait for the next drain.
    const std::vector<HttpCall *> calls = std::exchange(m_deliveries, {});
    // A slot may delete the client, or run a nested event loop that drains again.
    DrainGuard guard{false, m_drainGuard};
    m_drainGuard = &guard;
    for (HttpCall *call : calls) {
        bool callDeleted = false;
        call->m_deletedFlag = &callDeleted;
        Q_EMIT call->finished(call->m_response);
        if (guard.clientDeleted)
            return; // and every call with it
        if (!callDeleted)
            delete call; // its slots have run: nothing refers to it any more
    }
    m_drainGuard = guard.outer;
}

void HttpClient::unregisterFlight(HttpFlight *flight)
{
    if (!flight->isCoalescable())
        return;
    const auto it = m_flights.constFind(flight->key());
    if (it != m_flights.constEnd() && *it == flight)
        m_flights.erase(it);
}

void HttpClient::pumpPending(Host *host)
{
    if (m_destroying)
        return;
    // Synchronous: the reply that freed the slot already left its connection, so the next
    // request reuses it instead of opening another.
    while (!host->pending.empty() && host->active < std::max(1, host->policy.maxConnections)) {
        HttpFlight *next = host->pending.front();
        host->pending.pop_front();
        ++host->active;
        next->send();
    }
    host->publishPool();
}

void HttpClient::noteCoalesced(const QByteArray &key)
{
    auto it = m_topKeys.find(key);
    if (it != m_topKeys.end()) {
        ++*it;
        return;
    }
    if (m_topKeys.size() >= kTopKeysTracked) {
        // Space-saving: replace the smallest count, inheriting it, so heavy keys surface.
        auto smallest = std::min_element(m_topKeys.begin(), m_topKeys.end());
        const quint64 inherited = *smallest;
        m_topKeys.erase(smallest);
        m_topKeys.insert(key, inherited + 1);
        return;
    }
    m_topKeys.insert(key, 1);
}

int HttpClient::cleanupIdle()
{
    int cleaned = 0;
    const qint64 now = m_clock->nowNs();
    for (const auto &[hostName, h] : m_hosts) {
        if (h->active == 0 && h->pending.empty() &&
            now - h->lastActivityNs > qint64(h->policy.idleTimeoutMs) * kNsPerMs &&
            h->lastActivityNs > h->lastCleanupNs) {
            h->nam->clearConnectionCache();
            h->lastCleanupNs = now;
            ++h->idleCleanups;
            h->idleCleanupCounter->inc();
            ++cleaned;
        }
    }
    return cleaned;
}

HttpClientSummary HttpClient::summary() const
{
    HttpClientSummary s;
    s.totals = m_totals;
    s.sharedCache = sharedCacheStatus();
    s.inFlightKeys = int(m_flights.size());
    for (const auto &[hostName, h] : m_hosts) {
        HostPoolStats p;
        p.host = h->name;
        p.requests = h->requests;
        p.connectionsOpened = h->opened;
        p.reuseRatio = h->requests ? 1.0 - double(h->opened) / double(h->requests) : 0.0;
        p.active = h->active;
        p.pending = int(h->pending.size());
        p.maxConnections = h->policy.maxConnections;
        p.idleCleanups = h->idleCleanups;
        s.pools.append(p);
        auto addBreaker = [&s](CircuitBreaker *b) {
            BreakerInfo info;
            const auto st = b->stats();
            info.name = b->name();
            info.state = circuitStateName(st.state);
            info.failureRate = st.failureRatePercent / 100.0;
            info.slowCallRate = st.slowCallRatePercent / 100.0;
            info.callsInWindow = st.callsInWindow;
            info.rejected = st.rejected;
            info.openRemainingMs = st.remainingOpenMs;
            s.breakers.append(info);
        };
        addBreaker(h->breaker.get());
        for (const auto &b : h->endpointOwner)
            addBreaker(b.get());
    }
    // Keys differing only in per-caller headers show as one line.
    QHash<QString, quint64> shown;
    for (auto it = m_topKeys.constBegin(); it != m_topKeys.constEnd(); ++it)
        shown[displayKey(it.key())] += it.value();
    QList<QPair<QString, quint64>> keys;
    keys.reserve(shown.size());
    for (auto it = shown.constBegin(); it != shown.constEnd(); ++it)
        keys.append({it.key(), it.value()});
    std::sort(keys.begin(), keys.end(), [](const auto &a, const auto &b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    for (int i = 0; i < std::min<int>(kTopKeys, int(keys.size())); ++i)
        s.topCoalescedKeys.append({keys.at(i).first, keys.at(i).second});
    return s;
}

QStringList HttpClient::breakerNames() const
{
    QStringList names;
    for (const auto &[hostName, h] : m_hosts) {
        names.append(h->name);
        for (const auto &b : h->endpointOwner)
            names.append(b->name());
    }
    return names;
}

bool HttpClient::commandBreaker(const QString &name, BreakerCommand command)
{
    CircuitBreaker *target = nullptr;
    for (const auto &[hostName, h] : m_hosts) {
        if (h->name == name)
            target = h->breaker.get();
        else if (CircuitBreaker *b = h->endpointBreakers.value(name))
            target = b;
        if (target)
            break;
    }
    if (!target)
        return false;
    switch (command) {
    case BreakerCommand::ForceOpen:
        target->forceOpen();
        break;
    case BreakerCommand::ForceClosed:
        target->forceClosed();
        break;
    case BreakerCommand::Reset:
        target->reset();
        break;
    }
    return true;
}

SharedCacheStatus HttpClient::sharedCacheStatus() const
{
    if (m_shared)
        return m_shared->status();
    SharedCacheStatus s;
    if (m_config.redis.enabled) {
        s.enabled = true;
        s.state = QStringLiteral("down");
        s.lastError = m_sharedError;
    }
    return s;
}

int HttpClient::invalidateCache(const QByteArray &keyPrefix)
{
    return m_cache->invalidatePrefix(keyPrefix);
}

} // namespace vega

#include "httpclient.moc"
