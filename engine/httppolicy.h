#pragma once

#include <QMap>
#include <QString>
#include <QUrl>

namespace vega {

/// Every knob of the HTTP pipeline for one host (or integration). Defaults follow
/// docs/CONFIG.md; `http.defaults` in the config changes them for every host and
/// `http.hosts.<host>` overrides them for one.
struct HttpPolicy {
    // Coalescing: identical in-flight GET/HEAD requests share one backend call.
    bool coalescing = true;

    // Response cache.
    bool cache = true;
    int cacheTtlMs = 30000;          // when the response gives no max-age
    int cacheMaxEntries = 10000;     // client-wide bounds (taken from the defaults)
    int cacheMaxMb = 64;

    // Token-bucket rate limiter per host.
    bool rateLimit = false;
    double ratePerSecond = 50;
    double burst = 50;
    bool adaptive = false;
    int rateQueueMax = 100;
    int rateQueueTimeoutMs = 5000;

    // Circuit breaker (per host, and per endpoint inside it).
    bool breaker = true;
    bool breakerTimeWindow = false;  // false: last N calls; true: last N seconds
    int breakerWindow = 100;         // calls, or seconds with a time window
    int breakerMinimumCalls = 20;
    double breakerFailureRatePercent = 50;
    double breakerSlowCallRatePercent = 100;
    int breakerSlowCallMs = 5000;
    int breakerOpenBaseMs = 5000;
    double breakerOpenMultiplier = 2.0;
    int breakerOpenCapMs = 300000;
    double breakerOpenJitter = 0.1;
    int breakerHalfOpenCalls = 5;

    // Retry with exponential backoff and full jitter.
    int retryMaxAttempts = 3;        // including the first
    int retryBaseMs = 100;
    int retryCapMs = 5000;
    double retryBudgetPercent = 20;  // retries at most this share of requests
    int retryMinPerSecond = 3;

    // Connection pool and timeouts.
    int maxConnections = 6;
    int idleTimeoutMs = 60000;
    int cleanupIntervalMs = 30000;
    int attemptTimeoutMs = 10000;
    int deadlineMs = 30000;
};

/// The optional Redis tier behind the response cache (section `redis`; see docs/REDIS.md).
struct RedisConfig {
    bool enabled = false;
    /// redis://[[user]:password@]host[:port][/db]; the password may be a ${NAME} reference.
    QString url = QStringLiteral("redis://127.0.0.1:6379");
    QString keyPrefix = QStringLiteral("vega:");
    int connectTimeoutMs = 1000;
    int commandTimeoutMs = 50;
    int reconnectBaseMs = 100;
    int reconnectCapMs = 5000;
    int lockTtlMs = 2000;
    int waitPollMs = 10;
    int maxValueKb = 1024;
    int breakerWindow = 20;
    int breakerMinimumCalls = 5;
    double breakerFailureRatePercent = 50;
    int breakerOpenBaseMs = 1000;
    int breakerOpenCapMs = 30000;
    int breakerHalfOpenCalls = 3;
};

/// Policies for every host: defaults, and overrides keyed by "host" or "host:port".
struct HttpConfig {
    HttpPolicy defaults;
    QMap<QString, HttpPolicy> hosts;
    RedisConfig redis;
    HttpPolicy policyFor(const QUrl &url) const;
};

} // namespace vega
