#pragma once

#include "clock.h"
#include "httppolicy.h"
#include "redisclient.h"
#include "responsecache.h"

#include <QByteArray>
#include <QObject>
#include <QPointer>
#include <QString>

#include <functional>
#include <memory>

namespace vega {

class CircuitBreaker;
class Counter;
class Gauge;
class Histogram;
class MetricsRegistry;

/// What the console, the admin API and reports show about the Redis tier.
struct SharedCacheStatus {
    bool enabled = false;
    /// "disabled", "up", "down", "connecting", or "open-breaker" (connected, but the breaker
    /// keeps requests off Redis).
    QString state = QStringLiteral("disabled");
    QString endpoint; // redis://host:port/db, never with credentials
    QString lastError;
    qint64 downSinceMs = 0; // UTC ms since epoch when the tier stopped being usable; 0 when up
    QString breakerState;   // closed, open, half_open, ...
    quint64 hits = 0;
    quint64 misses = 0;
    quint64 errors = 0;   // failed commands, timeouts included
    quint64 timeouts = 0;
    quint64 fallbacks = 0; // lookups that went on without Redis (down, open breaker, error)
    quint64 writes = 0;
    quint64 lockAcquired = 0;
    quint64 lockWaits = 0;
    quint64 waitHits = 0;
    quint64 connects = 0; // connections established, reconnects included
};

/// The answer of a shared-cache lookup.
struct SharedLookup {
    enum class Outcome {
        Hit,          ///< `response` holds the value, fresh for `ttlMs` more
        Miss,         ///< nothing there (or a wait ended without a value): fetch
        LockAcquired, ///< nothing there and this caller holds the fetch lock (`lockToken`)
        Locked,       ///< nothing there and another instance is fetching: wait for it
        Unavailable,  ///< Redis failed or timed out: go on without it
    };
    Outcome outcome = Outcome::Miss;
    CachedResponse response;
    qint64 ttlMs = 0;
    QByteArray lockToken;
};

/**
 * The optional Redis tier behind the in-process response cache, shared by every instance
 * that points at the same Redis and key prefix (docs/REDIS.md).
 *
 * Lookups are one round trip (a Lua script): the value, or else the fetch lock
 * (SET lock token NX PX lockTtl), or else "locked by another instance". A caller that did
 * not get the lock polls (waitFor) every waitPollMs until the value appears, the lock is
 * released without a value, or its wait bound passes. The lock holder writes the value and
 * deletes its own lock (only if the token still matches) in one script.
 *
 * Redis never makes a request fail: when the connection is not up or the breaker is open,
 * lookup()/waitFor() return false at once (a fallback is counted) and the caller goes on
 * down its normal pipeline; when a command fails or times out, the callback gets
 * Unavailable. The breaker (the engine's CircuitBreaker, named "redis") counts command
 * failures and timeouts; once open it lets half-open probe commands through after its open
 * period. The connection reconnects by itself with backoff.
 *
 * Metrics (no labels): counters redis_commands{result=ok|error|timeout}, redis_hits,
 * redis_misses, redis_errors, redis_timeouts, redis_fallbacks, redis_writes,
 * redis_lock_acquired, redis_lock_waits, redis_wait_hits, redis_wait_giveups; gauges
 * redis_up and redis_breaker_state (as breaker_state); histogram redis_command_duration.
 *
 * Callbacks run on the tier's thread, asynchronously, and only while `context` lives; a lock
 * granted to a context that has gone is released by the tier.
 */
class SharedCacheTier : public QObject {
    Q_OBJECT
public:
    using Callback = std::function<void(const SharedLookup &result)>;

    /// Builds a tier from the configuration (parsing the URL) and starts connecting; null
    /// with *error set when the URL is unusable.
    static std::unique_ptr<SharedCacheTier> create(const RedisConfig &config, MetricsRegistry *registry,
                                                   Clock *clock = Clock::system(), QString *error = nullptr);

    SharedCacheTier(const RedisEndpoint &endpoint, const RedisConfig &config, MetricsRegistry *registry,
                    Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~SharedCacheTier() override;

    /// Connected and the breaker would let a command through (takes no permit).
    bool isAvailable();

    /// Looks `key` (a request key) up; with tryLock, takes the fetch lock on a miss. Returns
    /// false (and counts a fallback) when Redis cannot be asked now; the callback then never
    /// runs.
    bool lookup(const QByteArray &key, bool tryLock, const QObject *context, Callback callback);
    /// Waits for another instance's value: Hit, or Miss when the lock was released without a
    /// value or maxWaitMs passed, or Unavailable. Returns false like lookup().
    bool waitFor(const QByteArray &key, int maxWaitMs, const QObject *context, Callback callback);
    /// Writes a response for ttlMs (if it fits redis.max_value_kb) and releases the lock
    /// (when lockToken is not empty). Fire and forget.
    void store(const QByteArray &key, const CachedResponse &response, qint64 ttlMs, const QByteArray &lockToken);
    /// Deletes the fetch lock if it is still ours. Fire and forget.
    void release(const QByteArray &key, const QByteArray &lockToken);

    SharedCacheStatus status();
    RedisClient *client() const { return m_client.get(); }
    const RedisConfig &config() const { return m_config; }

    /// Redis key names: <prefix>{<hash of the request key>}:v and ...:l. The hash tag keeps
    /// both in one cluster slot.
    QByteArray valueKey(const QByteArray &requestKey) const;
    QByteArray lockKey(const QByteArray &requestKey) const;
    /// The stored value: "VGR1", then the request key, status, headers and body
    /// (QDataStream, Qt 6.0 format). decode() checks the key, so a hash collision is a miss.
    static QByteArray encode(const QByteArray &requestKey, const CachedResponse &response);
    static bool decode(const QByteArray &value, const QByteArray &requestKey, CachedResponse *response);

private:
    using ReplyHandler = std::function<void(const RedisReply &reply, bool failed)>;
    bool run(const QList<QByteArray> &args, ReplyHandler handler);
    void poll(const QByteArray &key, qint64 untilNs, QPointer<const QObject> context, Callback callback);
    void fallback();
    void publishState();
    void onStateChanged(RedisClient::State state);

    RedisConfig m_config;
    MetricsRegistry *m_registry;
    Clock *m_clock;
    std::unique_ptr<RedisClient> m_client;
    std::unique_ptr<CircuitBreaker> m_breaker;
    qint64 m_downSinceMs = 0;
    bool m_lastReportedUp = false;
    QString m_lastError; // of the last failed command
    SharedCacheStatus m_counts; // the counters part of the status

    Counter *m_commandsOk = nullptr;
    Counter *m_commandsError = nullptr;
    Counter *m_commandsTimeout = nullptr;
    Counter *m_hits = nullptr;
    Counter *m_misses = nullptr;
    Counter *m_errors = nullptr;
    Counter *m_timeouts = nullptr;
    Counter *m_fallbacks = nullptr;
    Counter *m_writes = nullptr;
    Counter *m_lockAcquired = nullptr;
    Counter *m_lockWaits = nullptr;
    Counter *m_waitHits = nullptr;
    Counter *m_waitGiveups = nullptr;
    Gauge *m_up = nullptr;
    Gauge *m_breakerState = nullptr;
    Histogram *m_duration = nullptr;
};

} // namespace vega
