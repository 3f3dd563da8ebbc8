#pragma once

#include "clock.h"
#include "liveobjects.h"
#include "httppolicy.h"
#include "requestkey.h"
#include "sharedcache.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMap>
#include <QObject>
#include <QString>
#include <QTimer>
#include <QUrl>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace vega {

class HttpClient;
class HttpFlight;
class MetricsRegistry;
class ResponseCache;

/// Why a request produced no HTTP response. Each kind is distinct so callers (and the
/// console) can tell a sick backend from the engine protecting it.
enum class HttpError {
    None,
    Network,          // connection refused/reset/closed (also mid-body), DNS, TLS...
    Timeout,          // one attempt exceeded its attempt timeout
    DeadlineExceeded, // the deadline over all attempts passed
    CircuitOpen,      // rejected by an open breaker without touching the network
    RateLimited,      // the rate limiter's queue was full or its wait timed out
    Cancelled,        // this caller cancelled
    InvalidRequest,   // not an http(s) URL, empty method...
};
QString httpErrorName(HttpError error);

struct HttpRequest {
    QByteArray method = QByteArrayLiteral("GET");
    QUrl url;
    HeaderList headers;
    QByteArray body;
    /// Coalesce identical in-flight requests. Default: GET and HEAD only. A caller that joins
    /// a call in flight shares its attempts and deadline, and never receives its Set-Cookie.
    std::optional<bool> coalesce;
    /// Retry on failure. Default: idempotent methods only (POST/PATCH must opt in).
    std::optional<bool> retry;
    /// Read and fill the response cache (GET only).
    bool useCache = true;
    /// Headers besides Authorization and Cookie that change the response.
    QList<QByteArray> vary;
    /// Per-request overrides of the host policy (milliseconds; <= 0 = policy). The attempt
    /// timeout bounds each attempt from send to the last body byte; the deadline bounds
    /// everything from send(), queues and backoff included.
    int attemptTimeoutMs = 0;
    int deadlineMs = 0;
};

struct HttpResponse {
    int status = 0; // 0 when there was no HTTP response
    HeaderList headers;
    QByteArray body;
    HttpError error = HttpError::None;
    QString errorString;
    bool fromCache = false;
    bool coalesced = false; // this caller shared another caller's backend call
    int attempts = 0;       // network attempts made for this response (0 from cache/rejection)
    qint64 latencyNs = 0;   // from send() to delivery, for this caller

    bool ok() const { return error == HttpError::None && status >= 200 && status < 400; }
    QByteArray header(const QByteArray &name) const { return headerValue(headers, name); }
};

namespace detail {
struct HttpHost;
}

/// A caller's handle on one request. Emits finished() exactly once, always
/// asynchronously (never from inside HttpClient::send), and is deleted as soon as the slots
/// connected to finished() have returned: do not keep the pointer beyond that. Deleting it
/// earlier counts as cancel() without the signal.
class HttpCall : public QObject {
    Q_OBJECT
    VEGA_TRACK_TYPE(HttpCall) // live calls, for the memory monitor
public:
    ~HttpCall() override;
    /// This caller stops waiting; callers sharing the same backend call are unaffected.
    /// When the last caller of a backend call cancels, the call is abandoned (its connection
    /// closed). finished() still follows, with HttpError::Cancelled.
    void cancel();
    bool isFinished() const { return m_finished; }

Q_SIGNALS:
    void finished(const vega::HttpResponse &response);

private:
    friend class HttpClient;
    friend class HttpFlight;
    HttpCall(HttpClient *client, qint64 startNs);
    void deliver(HttpResponse response);
    HttpClient *m_client;
    HttpFlight *m_flight = nullptr;
    detail::HttpHost *m_host = nullptr;
    HttpResponse m_response;
    qint64 m_startNs = 0;
    bool m_finished = false;
    bool m_joined = false;         // shares a backend call another caller started
    bool *m_deletedFlag = nullptr; // set while finished() is emitted: a slot may delete the call
};

/// Totals kept exactly (not sampled) for the `load` command and tests.
struct HttpTotals {
    quint64 requests = 0;  // send() calls
    quint64 succeeded = 0; // delivered with ok()
    quint64 failed = 0;
    quint64 leaders = 0;   // distinct backend calls started by the coalescer
    quint64 coalesced = 0; // callers that joined an in-flight call
    quint64 cacheHits = 0;
    quint64 cacheMisses = 0;
    quint64 sharedCacheHits = 0; // answered from the Redis tier (also counted as cacheMisses)
    quint64 backendRequests = 0; // requests written to the network, retries included
    quint64 connectionsOpened = 0;
    quint64 breakerRejections = 0;
    quint64 retries = 0;
    quint64 rateLimited = 0;
    double reuseRatio() const
    {
        return backendRequests ? 1.0 - double(connectionsOpened) / double(backendRequests) : 0.0;
    }
};

/// What the console shows about one host's pool.
struct HostPoolStats {
    QString host;
    quint64 requests = 0;
    quint64 connectionsOpened = 0;
    double reuseRatio = 0;
    int active = 0;
    int pending = 0;
    int maxConnections = 0;
    quint64 idleCleanups = 0;
};

struct BreakerInfo {
    QString name;  // "host" or "host GET /path"
    QString state; // closed, open, half_open, forced_open, forced_closed
    double failureRate = 0;
    double slowCallRate = 0;
    int callsInWindow = 0;
    quint64 rejected = 0;
    qint64 openRemainingMs = 0;
};

struct TopKey {
    QString key;
    quint64 coalesced = 0;
};

struct HttpClientSummary {
    HttpTotals totals;
    QList<HostPoolStats> pools;
    QList<BreakerInfo> breakers;
    QList<TopKey> topCoalescedKeys;
    int inFlightKeys = 0;
    /// The Redis tier behind the cache (state "disabled" when there is none).
    SharedCacheStatus sharedCache;
};

enum class BreakerCommand { ForceOpen, ForceClosed, Reset };

/**
 * The engine's HTTP client: the one way the engine (and a program embedding it) sends HTTP.
 * Asynchronous on the caller's event loop; every request passes
 *
 *   coalescer -> response cache -> rate limiter -> circuit breaker -> retry -> pool -> network
 *
 * and every stage publishes its metrics to the registry (labels host=<host:port>).
 * Connection reuse is measured: a new TCP connection is counted when
 * QNetworkReply::socketStartedConnecting fires; a request without it reused one. Qt announces
 * that once per reply, so when Qt itself silently resends a request on a fresh connection (the
 * old one died before any response byte), that extra connection is not counted.
 *
 * With `redis.enabled`, a GET that misses the response cache asks the shared Redis tier next
 * (SharedCacheTier, docs/REDIS.md): a hit is answered from it (fromCache, and fills the local
 * cache); on a miss one instance takes a short fetch lock and the others wait for its value.
 * The coalescer stays first, so one client has at most one Redis lookup per key in flight.
 * Redis trouble never fails a request: the request goes on down the pipeline at once.
 *
 * The pool admits at most maxConnections requests per host to the wire (the rest wait in
 * order), so QNetworkAccessManager never opens more connections than that; Qt itself caps a
 * host at 6 connections. Timers (attempt timeout, deadline, backoff) run in real time; the
 * injected clock drives the policies (cache TTLs, breaker periods, rate and retry budget).
 */
class HttpClient : public QObject {
    Q_OBJECT
public:
    HttpClient(MetricsRegistry *registry, const HttpConfig &config, Clock *clock = Clock::system(),
               QObject *parent = nullptr);
    ~HttpClient() override;

    /// Starts a request. The returned call belongs to the client; connect to finished().
    HttpCall *send(const HttpRequest &request);

    HttpTotals totals() const { return m_totals; }
    HttpClientSummary summary() const;
    /// Closes the idle connections of pools quiet for longer than their idle timeout (what
    /// the client's own 30 s schedule does too); returns how many pools were cleaned.
    int releaseIdleConnections() { return cleanupIdle(); }

    /// Operator actions on a breaker by name ("host" or "host METHOD /path").
    bool commandBreaker(const QString &name, BreakerCommand command);
    QStringList breakerNames() const;
    /// "Reset stats": clears what is shown per client (top coalesced keys). Totals for export
    /// and the breakers' windows are left alone: resetting a view must not change behaviour.
    void resetStats() { m_topKeys.clear(); }
    /// Removes cached responses whose key starts with "<METHOD> <url-prefix>".
    int invalidateCache(const QByteArray &keyPrefix);
    /// Seeds the jitter of retries and of the open periods of breakers created afterwards
    /// (tests: call it before the first request).
    void setRandomSeed(quint64 seed)
    {
        m_rng.seed(seed);
        m_seed = seed;
    }
    const HttpConfig &config() const { return m_config; }

    /// Backend calls in progress (each may serve several coalesced callers).
    int activeFlights() const { return m_liveFlights; }

    /// The Redis tier's health and counts; `enabled` false when config.redis.enabled is not
    /// set. A redis.url that cannot be used leaves the tier down with the reason in lastError.
    SharedCacheStatus sharedCacheStatus() const;
    /// The tier, or null when disabled (or its URL was unusable).
    SharedCacheTier *sharedCache() const { return m_shared.get(); }

private:
    friend class HttpFlight;
    friend class HttpCall;
    using Host = detail::HttpHost;
    Host *hostFor(const QUrl &url);
    Host *createOrFindHost(const QUrl &url);
    void unregisterFlight(HttpFlight *flight);
    void retire(HttpFlight *flight);
    void scheduleDrain();
    void drain();
    void pumpPending(Host *host);
    int cleanupIdle();
    void noteCoalesced(const QByteArray &key);

    MetricsRegistry *m_registry;
    HttpConfig m_config;
    Clock *m_clock;
    std::unique_ptr<ResponseCache> m_cache;
    std::unique_ptr<SharedCacheTier> m_shared; // null unless config.redis.enabled
    QString m_sharedError;                      // why the configured tier could not be built
    std::map<QString, std::unique_ptr<Host>> m_hosts; // sorted: summaries list hosts in order
    QHash<QByteArray, HttpFlight *> m_flights;        // coalescable calls in progress, by key
    QHash<QByteArray, quint64> m_topKeys;             // bounded "space-saving" counts of coalesced keys
    HttpTotals m_totals;
    std::mt19937_64 m_rng{std::random_device{}()};
    std::optional<quint64> m_seed;
    QTimer m_cleanupTimer;
    int m_liveFlights = 0;
    bool m_destroying = false;
    std::vector<HttpCall *> m_deliveries; // answered, finished() not emitted yet
    std::vector<HttpFlight *> m_retired;  // done, deleted at the next drain
    bool m_drainScheduled = false;
    struct DrainGuard {
        bool clientDeleted;
        DrainGuard *outer;
    };
    DrainGuard *m_drainGuard = nullptr; // drain() calls in progress, innermost first
    Host *m_lastHost = nullptr;         // hostFor()'s one-entry cache
    int m_lastHostPort = -1;
    QString m_lastHostName;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::HttpResponse)
