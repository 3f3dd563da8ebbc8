#include "config.h"

#include "database.h"
#include "jsonparser.h"
#include "redisclient.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonObject>
#include <QMap>
#include <QHostAddress>
#include <QRegularExpression>
#include <QSet>
#include <QUrl>

#include <algorithm>
#include <cmath>
#include <functional>

namespace vega {

namespace {

enum class Kind { Integer, Number, Boolean, String };

struct Leaf {
    QString path;
    Kind kind;
    double min;
    double max;
    QString description;
    std::function<void(EngineConfig &, double)> set;
    std::function<double(const EngineConfig &)> get;
    // Leaves under a "*" segment (http.hosts.*.x) set a per-key HttpPolicy instead.
    std::function<void(HttpPolicy &, double)> policySet;
    // String keys: value setter/getter and a check returning an error message or "".
    std::function<void(EngineConfig &, const QString &)> setString = {};
    std::function<QString(const EngineConfig &)> getString = {};
    std::function<QString(const QString &)> checkString = {};
    // Leaves under integrations.* set a field of one IntegrationConfig (or, with
    // integrationPolicy, record a pipeline override by http policy key).
    std::function<void(IntegrationConfig &, double)> integrationSet = {};
    std::function<double(const IntegrationConfig &)> integrationGet = {};
    std::function<void(IntegrationConfig &, const QString &)> integrationSetString = {};
    std::function<QString(const IntegrationConfig &)> integrationGetString = {};
    QString integrationPolicy = {};
    QString range = {};    // for docs, when the numeric range does not say it
    bool required = false; // integration keys that must be given
    bool secret = false;   // never echoed back
};

bool isIntegrationLeaf(const Leaf &leaf)
{
    return leaf.path.startsWith(QLatin1String("integrations."));
}

struct PolicyLeaf {
    QString suffix;
    Kind kind;
    double min;
    double max;
    QString description;
    std::function<void(HttpPolicy &, double)> set;
    std::function<double(const HttpPolicy &)> get;
};

#define VEGA_POLICY(suffix, member, kind, lo, hi, desc)                                                      \
    PolicyLeaf{QStringLiteral(suffix), kind, lo, hi, QStringLiteral(desc),                                    \
               [](HttpPolicy &p, double v) { p.member = decltype(p.member)(v); },                             \
               [](const HttpPolicy &p) { return double(p.member); }}

const QList<PolicyLeaf> &policyLeaves()
{
    static const QList<PolicyLeaf> table = {
        VEGA_POLICY("coalescing.enabled", coalescing, Kind::Boolean, 0, 1,
                    "Identical in-flight GET/HEAD requests share one backend call."),
        VEGA_POLICY("cache.enabled", cache, Kind::Boolean, 0, 1, "Serve and store GET responses in the response cache."),
        VEGA_POLICY("cache.ttl_ms", cacheTtlMs, Kind::Integer, 0, 86400000,
                    "Time to live of a cached response without Cache-Control max-age."),
        VEGA_POLICY("cache.max_entries", cacheMaxEntries, Kind::Integer, 1, 10000000,
                    "Entries the response cache holds (client-wide; read from http.defaults)."),
        VEGA_POLICY("cache.max_mb", cacheMaxMb, Kind::Integer, 1, 65536,
                    "Bytes the response cache holds, in MiB (client-wide; read from http.defaults)."),
        VEGA_POLICY("rate_limit.enabled", rateLimit, Kind::Boolean, 0, 1, "Token-bucket rate limiting per host."),
        VEGA_POLICY("rate_limit.rate_per_second", ratePerSecond, Kind::Number, 0.001, 1000000,
                    "Tokens added per second (the starting rate in adaptive mode)."),
        VEGA_POLICY("rate_limit.burst", burst, Kind::Number, 1, 1000000, "Bucket size: requests allowed at once."),
        VEGA_POLICY("rate_limit.adaptive", adaptive, Kind::Boolean, 0, 1,
                    "Halve the rate on 429/503 or rising latency, raise it additively on success."),
        VEGA_POLICY("rate_limit.queue_max", rateQueueMax, Kind::Integer, 0, 1000000,
                    "Requests that may wait for a token; beyond it they fail as rate limited."),
        VEGA_POLICY("rate_limit.queue_timeout_ms", rateQueueTimeoutMs, Kind::Integer, 0, 3600000,
                    "Longest wait for a token before failing as rate limited."),
        VEGA_POLICY("breaker.enabled", breaker, Kind::Boolean, 0, 1, "Circuit breakers per host and per endpoint."),
        VEGA_POLICY("breaker.time_window", breakerTimeWindow, Kind::Boolean, 0, 1,
                    "false: the window is the last `window` calls; true: the last `window` seconds."),
        VEGA_POLICY("breaker.window", breakerWindow, Kind::Integer, 1, 100000, "Sliding window size (calls or seconds)."),
        VEGA_POLICY("breaker.minimum_calls", breakerMinimumCalls, Kind::Integer, 1, 100000,
                    "Calls needed in the window before rates are judged."),
        VEGA_POLICY("breaker.failure_rate_percent", breakerFailureRatePercent, Kind::Number, 0, 100,
                    "Open when failures reach this share of calls."),
        VEGA_POLICY("breaker.slow_call_rate_percent", breakerSlowCallRatePercent, Kind::Number, 0, 100,
                    "Open when slow calls reach this share (100 = only when every call is slow)."),
        VEGA_POLICY("breaker.slow_call_ms", breakerSlowCallMs, Kind::Integer, 1, 3600000, "A call slower than this is slow."),
        VEGA_POLICY("breaker.open_base_ms", breakerOpenBaseMs, Kind::Integer, 1, 86400000, "First open period."),
        VEGA_POLICY("breaker.open_multiplier", breakerOpenMultiplier, Kind::Number, 1, 100,
                    "Each consecutive trip multiplies the open period by this."),
        VEGA_POLICY("breaker.open_cap_ms", breakerOpenCapMs, Kind::Integer, 1, 86400000, "Longest open period."),
        VEGA_POLICY("breaker.open_jitter", breakerOpenJitter, Kind::Number, 0, 1,
                    "Random spread of the open period (0.1 = ±10%)."),
        VEGA_POLICY("breaker.half_open_calls", breakerHalfOpenCalls, Kind::Integer, 1, 10000,
                    "Trial calls let through when half-open."),
        VEGA_POLICY("retry.max_attempts", retryMaxAttempts, Kind::Integer, 1, 100, "Attempts per request, the first included."),
        VEGA_POLICY("retry.base_ms", retryBaseMs, Kind::Integer, 1, 3600000,
                    "Backoff base: retry n waits random(0, min(cap, base × 2^n))."),
        VEGA_POLICY("retry.cap_ms", retryCapMs, Kind::Integer, 1, 3600000, "Longest backoff."),
        VEGA_POLICY("retry.budget_percent", retryBudgetPercent, Kind::Number, 0, 100,
                    "Retries may add at most this share of extra load (10 s window)."),
        VEGA_POLICY("retry.min_per_second", retryMinPerSecond, Kind::Integer, 0, 100000,
                    "Retries always allowed per second, so quiet clients can still retry."),
        VEGA_POLICY("pool.max_connections", maxConnections, Kind::Integer, 1, 1000,
                    "Requests on the wire per host (each on its own connection)."),
        VEGA_POLICY("pool.idle_timeout_ms", idleTimeoutMs, Kind::Integer, 1000, 86400000,
                    "An idle connection is closed after this."),
        VEGA_POLICY("pool.cleanup_interval_ms", cleanupIntervalMs, Kind::Integer, 100, 86400000,
                    "How often idle connections are swept (client-wide; read from http.defaults)."),
        VEGA_POLICY("timeouts.attempt_ms", attemptTimeoutMs, Kind::Integer, 1, 86400000,
                    "Transfer timeout of one attempt."),
        VEGA_POLICY("timeouts.deadline_ms", deadlineMs, Kind::Integer, 1, 86400000,
                    "Deadline over all attempts of a request."),
    };
    return table;
}

#undef VEGA_POLICY

// Pairs of policy keys that must be ordered low <= high.
const QList<QPair<QString, QString>> &policyOrder()
{
    static const QList<QPair<QString, QString>> pairs = {
        {QStringLiteral("retry.base_ms"), QStringLiteral("retry.cap_ms")},
        {QStringLiteral("breaker.open_base_ms"), QStringLiteral("breaker.open_cap_ms")},
        {QStringLiteral("timeouts.attempt_ms"), QStringLiteral("timeouts.deadline_ms")},
    };
    return pairs;
}

struct ThresholdPair {
    QString path; // e.g. diagnostics.thresholds.cpu_percent
    bool lowerIsWorse;
};

#define VEGA_INT(path, member, lo, hi, desc)                                                                  \
    Leaf{QStringLiteral(path), Kind::Integer, lo, hi, QStringLiteral(desc),                                   \
         [](EngineConfig &c, double v) { c.member = int(v); },                                                \
         [](const EngineConfig &c) { return double(c.member); }, {}}
#define VEGA_NUM(path, member, lo, hi, desc)                                                                  \
    Leaf{QStringLiteral(path), Kind::Number, lo, hi, QStringLiteral(desc),                                    \
         [](EngineConfig &c, double v) { c.member = v; }, [](const EngineConfig &c) { return c.member; }, {}}
#define VEGA_BOOL(path, member, desc)                                                                          \
    Leaf{QStringLiteral(path), Kind::Boolean, 0, 1, QStringLiteral(desc),                                     \
         [](EngineConfig &c, double v) { c.member = v != 0; },                                                \
         [](const EngineConfig &c) { return c.member ? 1.0 : 0.0; }, {}}
#define VEGA_STRING(path, member, check, desc)                                                                \
    Leaf{QStringLiteral(path), Kind::String, 0, 0, QStringLiteral(desc), [](EngineConfig &, double) {},       \
         [](const EngineConfig &) { return 0.0; }, {},                                                        \
         [](EngineConfig &c, const QString &v) { c.member = v; },                                             \
         [](const EngineConfig &c) { return c.member; }, check}
#define VEGA_THRESHOLD(name, member, lo, hi, what)                                                            \
    VEGA_NUM("diagnostics.thresholds." name ".warning", diagnostics.member.warning, lo, hi,                   \
             "Warning level of " what "."),                                                                   \
        VEGA_NUM("diagnostics.thresholds." name ".critical", diagnostics.member.critical, lo, hi,             \
                 "Critical level of " what ".")

QString checkStorageUrl(const QString &url)
{
    if (url.isEmpty() || url.startsWith(QLatin1String("sqlite:")) || url.startsWith(QLatin1String("postgresql://")) ||
        url.startsWith(QLatin1String("postgres://")))
        return url.contains(QLatin1Char(':')) && QUrl(url).password().size() > 0
                   ? QStringLiteral("a password must not be written in the URL; put it in the variable named by "
                                    "storage.password_env")
                   : QString();
    return QStringLiteral("expected an empty string, sqlite:<path> or postgresql://user@host:port/db");
}

QString checkEnvName(const QString &name)
{
    static const QRegularExpression pattern(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    return pattern.match(name).hasMatch() ? QString() : QStringLiteral("not an environment variable name");
}

QString checkAddress(const QString &text)
{
    return QHostAddress().setAddress(text) ? QString() : QStringLiteral("not an IP address (e.g. 127.0.0.1 or ::1)");
}

QString checkKeyHashes(const QString &text)
{
    static const QRegularExpression hex(QStringLiteral("^[0-9a-fA-F]{64}$"));
    const QStringList hashes = text.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    for (int i = 0; i < hashes.size(); ++i)
        if (!hex.match(hashes.at(i)).hasMatch())
            return QStringLiteral("hash %1 is not 64 hex digits (a SHA-256 of the key, e.g. from "
                                  "`printf %%s \"$KEY\" | sha256sum`)")
                .arg(i + 1);
    return {};
}

int editDistance(const QString &a, const QString &b);
QString formatNumber(double v);

// redis.url: structure, and no literal password (only ${NAME} references). Environment
// references are checked for syntax here; unset variables are reported by checkRedis().
QString checkRedisUrl(const QString &url)
{
    const QString syntax = environmentSyntaxError(url);
    if (!syntax.isEmpty())
        return syntax;
    const qsizetype scheme = url.indexOf(QLatin1String("://"));
    if (scheme >= 0) {
        const qsizetype slash = url.indexOf(QLatin1Char('/'), scheme + 3);
        const QString authority = url.mid(scheme + 3, slash < 0 ? -1 : slash - scheme - 3);
        const qsizetype at = authority.lastIndexOf(QLatin1Char('@'));
        if (at >= 0) {
            const QString userInfo = authority.left(at);
            const qsizetype colon = userInfo.indexOf(QLatin1Char(':'));
            const QString password = colon < 0 ? userInfo : userInfo.mid(colon + 1);
            if (!password.isEmpty() && !isPureEnvironmentReference(password))
                return QStringLiteral("a password must not be written in the URL; reference an environment "
                                      "variable instead (redis://:${REDIS_PASSWORD}@host:6379)");
        }
    }
    static const QRegularExpression reference(QStringLiteral("\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}"));
    QString probe = url;
    probe.replace(reference, QStringLiteral("x"));
    QString error;
    return parseRedisUrl(probe, nullptr, &error) ? QString() : error;
}

QString checkRedisKeyPrefix(const QString &prefix)
{
    if (prefix.size() > 64)
        return QStringLiteral("at most 64 characters");
    for (const QChar c : prefix) {
        if (c.isSpace() || c == QLatin1Char('{') || c == QLatin1Char('}') || c.unicode() < 0x20)
            return QStringLiteral("must not contain spaces, control characters, '{' or '}' (the tier adds its own "
                                  "hash tag)");
    }
    return {};
}

QString checkIntegrationKind(const QString &text)
{
    IntegrationKind kind;
    if (parseIntegrationKind(text, &kind))
        return {};
    const QStringList names = integrationKindNames();
    QString message = QStringLiteral("unknown integration kind \"%1\"; expected one of %2")
                          .arg(text, names.join(QStringLiteral(", ")));
    QString best;
    int bestDistance = 1 << 30;
    for (const QString &name : names) {
        const int d = editDistance(text, name);
        if (d < bestDistance) {
            bestDistance = d;
            best = name;
        }
    }
    if (bestDistance <= std::max(2, int(text.size()) / 3))
        message += QStringLiteral("; did you mean \"%1\"?").arg(best);
    return message;
}

QString checkHealthPath(const QString &path)
{
    if (path.contains(QLatin1String("://")))
        return QStringLiteral("expected a path joined to the integration's url (e.g. \"/health\"), not a URL");
    if (path.contains(QLatin1Char(' ')) || path.contains(QLatin1Char('#')))
        return QStringLiteral("a path must not contain spaces or '#'");
    return {};
}

QList<Leaf> integrationLeaves()
{
    QList<Leaf> out;
    auto text = [&](const char *key, const char *desc, std::function<void(IntegrationConfig &, const QString &)> set,
                    std::function<QString(const IntegrationConfig &)> get,
                    std::function<QString(const QString &)> check, const QString &range, bool required, bool secret) {
        Leaf leaf{QStringLiteral("integrations.*.") + QLatin1String(key), Kind::String, 0, 0,
                  QString::fromUtf8(desc), [](EngineConfig &, double) {}, [](const EngineConfig &) { return 0.0; },
                  {}};
        leaf.checkString = std::move(check);
        leaf.integrationSetString = std::move(set);
        leaf.integrationGetString = std::move(get);
        leaf.range = range;
        leaf.required = required;
        leaf.secret = secret;
        out.append(leaf);
    };
    auto integer = [&](const char *key, double lo, double hi, const char *desc,
                       std::function<void(IntegrationConfig &, double)> set,
                       std::function<double(const IntegrationConfig &)> get) {
        Leaf leaf{QStringLiteral("integrations.*.") + QLatin1String(key), Kind::Integer, lo, hi,
                  QString::fromUtf8(desc), [](EngineConfig &, double) {}, [](const EngineConfig &) { return 0.0; },
                  {}};
        leaf.integrationSet = std::move(set);
        leaf.integrationGet = std::move(get);
        out.append(leaf);
    };
    text("kind", "What the integration is; decides the health-check contract.",
         [](IntegrationConfig &c, const QString &v) { parseIntegrationKind(v, &c.kind); },
         [](const IntegrationConfig &c) { return integrationKindName(c.kind); }, checkIntegrationKind,
         integrationKindNames().join(QStringLiteral(", ")), true, false);
    text("url",
         "Base URL (http or https); for database a Qt Sql URL: sqlite:<path> or postgresql://user@host[:port]/db.",
         [](IntegrationConfig &c, const QString &v) { c.url = v; }, [](const IntegrationConfig &c) { return c.url; },
         {}, QStringLiteral("URL"), true, false);
    text("health.path",
         "Path joined to the url for the health check; empty: slack auth.test, home_assistant /api/, llm "
         "/v1/models, others the url itself.",
         [](IntegrationConfig &c, const QString &v) { c.healthPath = v; },
         [](const IntegrationConfig &c) { return c.healthPath; }, checkHealthPath, QStringLiteral("path"), false,
         false);
    integer("health.interval_s", 1, 86400, "Seconds between health checks (each spread by ±10%).",
            [](IntegrationConfig &c, double v) { c.healthIntervalS = int(v); },
            [](const IntegrationConfig &c) { return double(c.healthIntervalS); });
    integer("health.timeout_ms", 1, 600000, "A health check that has not answered after this is unhealthy.",
            [](IntegrationConfig &c, double v) { c.healthTimeoutMs = int(v); },
            [](const IntegrationConfig &c) { return double(c.healthTimeoutMs); });
    integer("health.latency_threshold_ms", 1, 600000, "A passing health check slower than this is degraded.",
            [](IntegrationConfig &c, double v) { c.healthLatencyThresholdMs = int(v); },
            [](const IntegrationConfig &c) { return double(c.healthLatencyThresholdMs); });
    text("auth.token",
         "Bearer token (database: the password), normally \"${ENV_NAME}\"; never shown, a literal is redacted.",
         [](IntegrationConfig &c, const QString &v) { c.authToken = v; },
         [](const IntegrationConfig &c) { return c.authToken; }, {}, QStringLiteral("text or ${NAME}"), false,
         true);
    integer("timeout_ms", 0, 86400000,
            "Attempt timeout of every request to the integration's host (its timeouts.attempt_ms); 0 keeps the "
            "host policy.",
            [](IntegrationConfig &c, double v) { c.timeoutMs = int(v); },
            [](const IntegrationConfig &c) { return double(c.timeoutMs); });
    for (const PolicyLeaf &p : policyLeaves()) {
        Leaf leaf{QStringLiteral("integrations.*.") + p.suffix, p.kind, p.min, p.max,
                  QStringLiteral("Override of http.defaults.%1 for the integration's host.").arg(p.suffix),
                  [](EngineConfig &, double) {}, [](const EngineConfig &) { return 0.0; }, {}};
        leaf.integrationPolicy = p.suffix;
        out.append(leaf);
    }
    return out;
}

const QList<Leaf> &leaves()
{
    static const QList<Leaf> table = {
        VEGA_INT("metrics.snapshot_interval_ms", metrics.snapshotIntervalMs, 50, 60000,
                 "How often the engine publishes a snapshot (UI, reports and exports read it)."),
        VEGA_INT("metrics.series_capacity", metrics.seriesCapacity, 10, 86400,
                 "Points kept per metric time series (3600 = 1 h at 1 s)."),
        VEGA_INT("event_loop.interval_ms", eventLoop.intervalMs, 1, 1000,
                 "Sampling interval of the event-loop lag timer."),
        VEGA_INT("event_loop.stall_threshold_ms", eventLoop.stallThresholdMs, 10, 600000,
                 "The loop is stalled when it has not ticked for longer than this."),
        VEGA_INT("event_loop.stall_history", eventLoop.stallHistory, 1, 10000, "Stalls kept for display."),
        VEGA_INT("diagnostics.interval_ms", diagnostics.intervalMs, 100, 600000,
                 "How often system diagnostics are sampled (on a worker thread)."),
        VEGA_THRESHOLD("cpu_percent", cpuPercent, 0, 100000, "process CPU, percent of one core"),
        VEGA_THRESHOLD("system_cpu_percent", systemCpuPercent, 0, 100, "whole-machine CPU percent"),
        VEGA_THRESHOLD("memory_available_percent", memoryAvailablePercent, 0, 100,
                       "available system memory percent (lower is worse)"),
        VEGA_THRESHOLD("process_rss_mb", processRssMb, 1, 1048576, "the process's resident memory in MiB"),
        VEGA_THRESHOLD("disk_free_percent", diskFreePercent, 0, 100,
                       "free space percent on the data directory's volume (lower is worse)"),
        VEGA_THRESHOLD("fd_usage_percent", fdUsagePercent, 0, 100,
                       "open file descriptors as a percent of the soft limit"),
        VEGA_THRESHOLD("load_per_core", loadPerCore, 0, 1000, "1-minute load average divided by the cores"),
        VEGA_THRESHOLD("event_loop_p99_ms", eventLoopP99Ms, 0, 600000, "GUI event-loop lag p99 in ms"),
        VEGA_INT("ui.refresh_interval_ms", ui.refreshIntervalMs, 100, 60000,
                 "How often the console redraws the visible page."),
        VEGA_INT("ui.default_window_seconds", ui.defaultWindowSeconds, 60, 86400,
                 "Time window charts open with (60, 300, 900, 3600 or 86400)."),
        VEGA_BOOL("storage.enabled", storage.enabled,
                  "Keep metric history and the event journal in a database."),
        VEGA_STRING("storage.url", storage.url, checkStorageUrl,
                    "Empty: SQLite at <data-dir>/vega.db; sqlite:<path>; or postgresql://user@host:port/db."),
        VEGA_STRING("storage.password_env", storage.passwordEnv, checkEnvName,
                    "Environment variable holding the PostgreSQL password (never written anywhere)."),
        VEGA_INT("storage.batch_size", storage.batchSize, 1, 100000, "Rows written per transaction."),
        VEGA_INT("storage.flush_interval_ms", storage.flushIntervalMs, 10, 600000,
                 "A partial batch waits at most this long."),
        VEGA_INT("storage.queue_capacity", storage.queueCapacity, 100, 100000000,
                 "Rows queued before the oldest metric samples are dropped (journal events never are)."),
        VEGA_INT("storage.raw_retention_hours", storage.rawRetentionHours, 1, 8760, "How long 1 s points are kept."),
        VEGA_INT("storage.minute_retention_days", storage.minuteRetentionDays, 1, 3650,
                 "How long 1-minute rollups are kept."),
        VEGA_INT("storage.journal_retention_days", storage.journalRetentionDays, 1, 3650,
                 "How long journal events are kept."),
        VEGA_INT("storage.slow_query_ms", storage.slowQueryMs, 0, 3600000,
                 "Queries at least this slow go to the SQL profiler's slow-query log."),
        VEGA_INT("storage.sqlite_cache_kib", storage.sqliteCacheKib, 64, 1048576,
                 "SQLite page cache of the history connection, in KiB (SQLite's own default is 2000); "
                 "it fills within minutes and then stays this size."),
        VEGA_INT("headless.default_duration_seconds", headless.defaultDurationSeconds, 0, 31536000,
                 "Headless run time when --duration is not given; 0 runs until SIGINT/SIGTERM."),
        VEGA_BOOL("admin.gui", admin.gui, "Serve the admin HTTP API while the console window runs."),
        VEGA_BOOL("admin.headless", admin.headless,
                  "Serve the admin HTTP API in headless runs (needs a key: VEGA_API_KEY or admin.key_sha256)."),
        VEGA_STRING("admin.bind", admin.bind, checkAddress, "Address the admin API listens on."),
        VEGA_INT("admin.port", admin.port, 0, 65535, "Port of the admin API; 0 picks a free one."),
        VEGA_STRING("admin.key_sha256", admin.keySha256, checkKeyHashes,
                    "Accepted API keys as SHA-256 hex digests, separated by commas."),
        VEGA_INT("memory.sample_interval_ms", memory.sampleIntervalMs, 100, 3600000,
                 "How often RSS, heap and live objects are sampled."),
        VEGA_INT("memory.analysis_interval_ms", memory.analysisIntervalMs, 100, 3600000,
                 "How often growth trends are analysed."),
        VEGA_INT("memory.window_seconds", memory.windowSeconds, 30, 86400, "Window the growth trends are fitted over."),
        VEGA_INT("memory.min_samples", memory.minSamples, 3, 100000, "Samples needed in the window for a trend."),
        VEGA_NUM("memory.confidence", memory.confidence, 0.5, 1, "Growth confidence needed for a leak suspect."),
        VEGA_INT("memory.suspect_after_seconds", memory.suspectAfterSeconds, 0, 86400,
                 "Growth must hold this long before a suspect is raised."),
        VEGA_NUM("memory.objects_per_minute", memory.objectsPerMinute, 0, 1e12,
                 "Growth of a tracked type (objects per minute) that makes it a suspect."),
        VEGA_NUM("memory.heap_bytes_per_minute", memory.heapBytesPerMinute, 0, 1e15,
                 "Heap growth (bytes per minute) that makes it a suspect."),
        VEGA_NUM("memory.rss_bytes_per_minute", memory.rssBytesPerMinute, 0, 1e15,
                 "Resident memory growth (bytes per minute) that makes it a suspect."),
        VEGA_NUM("memory.workload_drift_per_minute", memory.workloadDriftPerMinute, 0, 100,
                 "The workload counts as steady when its rate drifts less than this fraction per minute."),
        VEGA_INT("streaming.high_watermark_bytes", streaming.highWatermarkBytes, 1024, 1073741824,
                 "A subscriber's buffer at which the relay stops reading upstream (Wait policy) or acts."),
        VEGA_INT("streaming.low_watermark_bytes", streaming.lowWatermarkBytes, 0, 1073741824,
                 "Reading resumes once every waiting subscriber is at or below this."),
        VEGA_INT("streaming.read_chunk_bytes", streaming.readChunkBytes, 1024, 16777216,
                 "Most bytes read from an upstream at once (and its socket buffer bound)."),
        VEGA_INT("streaming.replay_limit_bytes", streaming.replayLimitBytes, 0, 1073741824,
                 "Bytes of a shared stream kept for late joiners."),
        VEGA_INT("streaming.slow_timeout_ms", streaming.slowTimeoutMs, 1, 3600000,
                 "Disconnect policy: a subscriber above its high watermark this long is cut off."),
        VEGA_INT("streaming.first_byte_timeout_ms", streaming.firstByteTimeoutMs, 1, 3600000,
                 "An upstream that sends nothing for this long after the request fails."),
        VEGA_INT("streaming.idle_timeout_ms", streaming.idleTimeoutMs, 0, 86400000,
                 "An upstream silent this long mid-stream fails; 0 waits forever."),
        VEGA_INT("memory.cleanup_interval_ms", memory.cleanupIntervalMs, 100, 3600000,
                 "How often the engine releases what it can leak (abandoned entries, idle connections)."),
        VEGA_BOOL("memory.release_free_heap", memory.releaseFreeHeap,
                  "After each cleanup, hand the allocator's free pages back to the system (malloc_trim)."),
        VEGA_BOOL("redis.enabled", http.redis.enabled,
                  "Share cached GET responses and coalesce fetches across instances through Redis (docs/REDIS.md)."),
        Leaf{QStringLiteral("redis.url"), Kind::String, 0, 0,
             QStringLiteral("redis://[[user]:password@]host[:port][/db]; the password only as a ${NAME} reference."),
             [](EngineConfig &, double) {}, [](const EngineConfig &) { return 0.0; }, {},
             [](EngineConfig &c, const QString &v) { c.http.redis.url = v; },
             [](const EngineConfig &c) { return redactUrlPassword(c.http.redis.url); }, checkRedisUrl},
        VEGA_STRING("redis.key_prefix", http.redis.keyPrefix, checkRedisKeyPrefix,
                    "Prepended to every Redis key; instances share entries only under the same prefix."),
        VEGA_INT("redis.connect_timeout_ms", http.redis.connectTimeoutMs, 1, 600000,
                 "Connecting (with AUTH, SELECT and a PING) must finish within this."),
        VEGA_INT("redis.command_timeout_ms", http.redis.commandTimeoutMs, 1, 60000,
                 "A Redis command not answered within this fails; the request goes on without Redis."),
        VEGA_INT("redis.reconnect_base_ms", http.redis.reconnectBaseMs, 1, 600000,
                 "First delay before reconnecting; doubles per failed attempt."),
        VEGA_INT("redis.reconnect_cap_ms", http.redis.reconnectCapMs, 1, 3600000, "Longest delay between reconnects."),
        VEGA_INT("redis.lock_ttl_ms", http.redis.lockTtlMs, 10, 600000,
                 "Lifetime of a fetch lock; bounds how long other instances wait for the fetching one."),
        VEGA_INT("redis.wait_poll_ms", http.redis.waitPollMs, 1, 60000,
                 "How often a waiting instance looks for the fetching instance's value."),
        VEGA_INT("redis.max_value_kb", http.redis.maxValueKb, 1, 524288,
                 "Larger responses are cached locally only, not in Redis (KiB, encoded)."),
        VEGA_INT("redis.breaker.window", http.redis.breakerWindow, 1, 100000,
                 "Redis commands the breaker judges (the last N)."),
        VEGA_INT("redis.breaker.minimum_calls", http.redis.breakerMinimumCalls, 1, 100000,
                 "Commands needed in the window before the breaker may open."),
        VEGA_NUM("redis.breaker.failure_rate_percent", http.redis.breakerFailureRatePercent, 1, 100,
                 "Open when failed or timed-out commands reach this share of the window."),
        VEGA_INT("redis.breaker.open_base_ms", http.redis.breakerOpenBaseMs, 1, 86400000,
                 "First open period; then half-open probe commands decide."),
        VEGA_INT("redis.breaker.open_cap_ms", http.redis.breakerOpenCapMs, 1, 86400000,
                 "Longest open period (it doubles per consecutive trip)."),
        VEGA_INT("redis.breaker.half_open_calls", http.redis.breakerHalfOpenCalls, 1, 10000,
                 "Probe commands let through when half-open."),
    };
    static const QList<Leaf> withPolicies = [] {
        QList<Leaf> all = table;
        for (const PolicyLeaf &p : policyLeaves()) {
            const auto set = p.set;
            const auto get = p.get;
            all.append(Leaf{QStringLiteral("http.defaults.") + p.suffix, p.kind, p.min, p.max, p.description,
                            [set](EngineConfig &c, double v) { set(c.http.defaults, v); },
                            [get](const EngineConfig &c) { return get(c.http.defaults); }, {}});
        }
        for (const PolicyLeaf &p : policyLeaves()) {
            const auto get = p.get;
            all.append(Leaf{QStringLiteral("http.hosts.*.") + p.suffix, p.kind, p.min, p.max,
                            QStringLiteral("Override of http.defaults.%1 for one host.").arg(p.suffix),
                            [](EngineConfig &, double) {}, [get](const EngineConfig &c) { return get(c.http.defaults); },
                            p.set});
        }
        all.append(integrationLeaves());
        return all;
    }();
    return withPolicies;
}

#undef VEGA_INT
#undef VEGA_NUM
#undef VEGA_BOOL
#undef VEGA_STRING
#undef VEGA_THRESHOLD

const QList<ThresholdPair> &thresholdPairs()
{
    static const QList<ThresholdPair> pairs = {
        {QStringLiteral("diagnostics.thresholds.cpu_percent"), false},
        {QStringLiteral("diagnostics.thresholds.system_cpu_percent"), false},
        {QStringLiteral("diagnostics.thresholds.memory_available_percent"), true},
        {QStringLiteral("diagnostics.thresholds.process_rss_mb"), false},
        {QStringLiteral("diagnostics.thresholds.disk_free_percent"), true},
        {QStringLiteral("diagnostics.thresholds.fd_usage_percent"), false},
        {QStringLiteral("diagnostics.thresholds.load_per_core"), false},
        {QStringLiteral("diagnostics.thresholds.event_loop_p99_ms"), false},
    };
    return pairs;
}

int editDistance(const QString &a, const QString &b)
{
    std::vector<int> prev(size_t(b.size()) + 1);
    std::vector<int> cur(size_t(b.size()) + 1);
    for (int j = 0; j <= b.size(); ++j)
        prev[size_t(j)] = j;
    for (int i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (int j = 1; j <= b.size(); ++j) {
            const int cost = a.at(i - 1).toLower() == b.at(j - 1).toLower() ? 0 : 1;
            cur[size_t(j)] = std::min({prev[size_t(j)] + 1, cur[size_t(j - 1)] + 1, prev[size_t(j - 1)] + cost});
        }
        std::swap(prev, cur);
    }
    return prev[size_t(b.size())];
}

QString formatNumber(double v)
{
    return QString::number(v, 'g', 12);
}

class Checker {
public:
    Checker(const QString &file, ConfigLoadResult *result) : m_file(file), m_result(result)
    {
        for (const Leaf &leaf : leaves()) {
            m_leafByPath.insert(leaf.path, &leaf);
            const QStringList parts = leaf.path.split(QLatin1Char('.'));
            QString prefix;
            for (int i = 0; i < parts.size(); ++i) {
                m_children[prefix].insert(parts.at(i));
                prefix = prefix.isEmpty() ? parts.at(i) : prefix + QLatin1Char('.') + parts.at(i);
            }
        }
    }

    void checkRoot(const JsonNode &root)
    {
        if (root.type != JsonNode::Type::Object) {
            add(Severity::Error, QString(), root.line, root.column, root.raw,
                QStringLiteral("the configuration must be a JSON object, not %1").arg(root.typeName()));
            return;
        }
        checkObject(root, QString(), QString(), QString());
        checkThresholdOrder();
        resolveHosts();
        checkPolicyOrder();
        checkRedis();
        finishIntegrations();
        for (auto it = m_positions.constBegin(); it != m_positions.constEnd(); ++it)
            m_result->positions.insert(jsonPath(it.key()), it.value());
    }

    void checkPolicyOrder()
    {
        checkPolicyOrderOf(m_result->config.http.defaults, QStringLiteral("http.defaults."));
        for (auto it = m_result->config.http.hosts.constBegin(); it != m_result->config.http.hosts.constEnd(); ++it) {
            if (!m_integrationHostKeys.contains(it.key()))
                checkPolicyOrderOf(it.value(), QStringLiteral("http.hosts.") + it.key() + QLatin1Char('.'));
        }
    }

    /// Orderings of the redis section, and unset variables its URL references.
    void checkRedis()
    {
        const RedisConfig &r = m_result->config.http.redis;
        const struct {
            const char *low;
            const char *high;
            double lo;
            double hi;
        } pairs[] = {
            {"redis.reconnect_base_ms", "redis.reconnect_cap_ms", double(r.reconnectBaseMs), double(r.reconnectCapMs)},
            {"redis.breaker.open_base_ms", "redis.breaker.open_cap_ms", double(r.breakerOpenBaseMs),
             double(r.breakerOpenCapMs)},
            {"redis.wait_poll_ms", "redis.lock_ttl_ms", double(r.waitPollMs), double(r.lockTtlMs)},
            {"redis.command_timeout_ms", "redis.lock_ttl_ms", double(r.commandTimeoutMs), double(r.lockTtlMs)},
        };
        for (const auto &p : pairs) {
            if (p.lo <= p.hi)
                continue;
            const QString low = QString::fromLatin1(p.low);
            const QString high = QString::fromLatin1(p.high);
            const QString at = m_positions.contains(high) || !m_positions.contains(low) ? high : low;
            const auto pos = m_positions.value(at, {0, 0});
            add(Severity::Error, at, pos.first, pos.second, m_raw.value(at),
                QStringLiteral("%1 (%2) must not exceed %3 (%4)")
                    .arg(low.section(QLatin1Char('.'), 1), formatNumber(p.lo), high.section(QLatin1Char('.'), 1),
                         formatNumber(p.hi)));
        }
        const QString urlPath = QStringLiteral("redis.url");
        if (r.enabled && m_positions.contains(urlPath)) {
            QStringList missing;
            expandEnvironment(r.url, &missing);
            const auto pos = m_positions.value(urlPath);
            for (const QString &name : std::as_const(missing))
                add(Severity::Warning, urlPath, pos.first, pos.second, QString(),
                    QStringLiteral("environment variable %1 is not set: the Redis tier will stay down").arg(name));
        }
        if (r.breakerMinimumCalls > r.breakerWindow) {
            const QString at = QStringLiteral("redis.breaker.minimum_calls");
            const auto pos = m_positions.value(at, {0, 0});
            add(Severity::Warning, at, pos.first, pos.second, m_raw.value(at),
                QStringLiteral("minimum_calls (%1) is larger than window (%2); the window's size is used")
                    .arg(r.breakerMinimumCalls)
                    .arg(r.breakerWindow));
        }
    }

    void checkThresholdOrder()
    {
        for (const ThresholdPair &pair : thresholdPairs()) {
            const Leaf *warning = m_leafByPath.value(pair.path + QStringLiteral(".warning"));
            const Leaf *critical = m_leafByPath.value(pair.path + QStringLiteral(".critical"));
            const double w = warning->get(m_result->config);
            const double c = critical->get(m_result->config);
            const bool ordered = pair.lowerIsWorse ? c < w : w < c;
            if (ordered)
                continue;
            // Point at whichever of the two the file set (the critical one when both).
            QString at = critical->path;
            if (!m_positions.contains(at) && m_positions.contains(warning->path))
                at = warning->path;
            const auto pos = m_positions.value(at, {0, 0});
            const QString relation = pair.lowerIsWorse ? QStringLiteral("below") : QStringLiteral("above");
            add(Severity::Error, at, pos.first, pos.second, m_raw.value(at),
                QStringLiteral("critical (%1) must be %2 warning (%3) for %4")
                    .arg(formatNumber(c), relation, formatNumber(w), pair.path.section(QLatin1Char('.'), -1)));
        }
    }

private:
    static QString jsonPath(const QString &dotted)
    {
        return dotted.isEmpty() ? QStringLiteral("$") : QStringLiteral("$.") + dotted;
    }

    void add(Severity severity, const QString &dotted, int line, int column, const QString &value,
             const QString &message)
    {
        ConfigFinding f;
        f.severity = severity;
        f.file = m_file;
        f.path = jsonPath(dotted);
        f.line = line;
        f.column = column;
        f.value = value;
        f.message = message;
        m_result->findings.append(f);
    }

    QString suggestion(const QString &parent, const QString &key) const
    {
        QString best;
        int bestDistance = 1 << 30;
        for (const QString &candidate : m_children.value(parent)) {
            if (candidate == QLatin1String("*"))
                continue;
            const int d = editDistance(key, candidate);
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        const int allowed = std::max(2, int(key.size()) / 3);
        if (!best.isEmpty() && bestDistance <= allowed)
            return best;
        // The key may be valid but misplaced: look for it anywhere in the schema, and
        // suggest it only when the name is unambiguous.
        QStringList places;
        for (const Leaf &leaf : leaves()) {
            if (!leaf.policySet && !isIntegrationLeaf(leaf) && leaf.path.section(QLatin1Char('.'), -1) == key)
                places.append(QStringLiteral("$.") + leaf.path);
        }
        return places.size() == 1 ? places.first() : QString();
    }

    void checkObject(const JsonNode &node, const QString &prefix, const QString &schemaPrefix,
                     const QString &wildcard)
    {
        QSet<QString> seen;
        const QSet<QString> children = m_children.value(schemaPrefix);
        for (int i = 0; i < node.members.size(); ++i) {
            const QString &key = node.members.at(i).first;
            const JsonNode &value = node.members.at(i).second;
            const auto keyPos = node.keyPositions.at(i);
            const QString path = prefix.isEmpty() ? key : prefix + QLatin1Char('.') + key;
            if (prefix.isEmpty() && key == QLatin1String("$schema"))
                continue;
            if (seen.contains(key)) {
                add(Severity::Error, path, keyPos.first, keyPos.second, value.raw,
                    QStringLiteral("duplicate key \"%1\"; only one is allowed").arg(key));
                continue;
            }
            seen.insert(key);
            QString schemaKey = key;
            QString childWildcard = wildcard;
            if (children.contains(QStringLiteral("*")) && (key == QLatin1String("*") || !children.contains(key))) {
                schemaKey = QStringLiteral("*");
                childWildcard = key;
                if (!checkWildcardKey(schemaPrefix, key, path, keyPos))
                    continue;
            }
            const QString schemaPath = schemaPrefix.isEmpty() ? schemaKey : schemaPrefix + QLatin1Char('.') + schemaKey;
            if (const Leaf *leaf = m_leafByPath.value(schemaPath)) {
                checkLeaf(*leaf, value, path, childWildcard);
            } else if (m_children.contains(schemaPath)) {
                if (value.type != JsonNode::Type::Object) {
                    add(Severity::Error, path, value.line, value.column, value.raw,
                        QStringLiteral("expected an object but found %1").arg(value.typeName()));
                } else {
                    checkObject(value, path, schemaPath, childWildcard);
                }
            } else {
                const QString hint = suggestion(schemaPrefix, key);
                QString message = QStringLiteral("unknown key \"%1\"").arg(key);
                if (!hint.isEmpty())
                    message += QStringLiteral("; did you mean \"%1\"?").arg(hint);
                add(Severity::Error, path, keyPos.first, keyPos.second, QString(), message);
            }
        }
    }

    bool checkWildcardKey(const QString &schemaPrefix, const QString &key, const QString &path, QPair<int, int> pos)
    {
        if (schemaPrefix == QLatin1String("http.hosts")) {
            // "host" or "host:port", as the request URL names it.
            static const QRegularExpression hostPattern(QStringLiteral("^[A-Za-z0-9._\\-\\[\\]]+(:[0-9]{1,5})?$"));
            if (!hostPattern.match(key).hasMatch()) {
                QString message = QStringLiteral("\"%1\" is not a host name or host:port").arg(key);
                const QUrl asUrl(key);
                if (key.contains(QStringLiteral("://")) && !asUrl.host().isEmpty())
                    message += QStringLiteral("; did you mean \"%1\"?")
                                   .arg(asUrl.port() > 0 ? asUrl.host() + QLatin1Char(':') + QString::number(asUrl.port())
                                                         : asUrl.host());
                add(Severity::Error, path, pos.first, pos.second, QString(), message);
                return false;
            }
            const int colon = key.lastIndexOf(QLatin1Char(':'));
            if (colon > 0 && !key.contains(QLatin1Char(']'))) {
                const int port = key.mid(colon + 1).toInt();
                if (port < 1 || port > 65535) {
                    add(Severity::Error, path, pos.first, pos.second, QString(),
                        QStringLiteral("port %1 is out of range 1-65535").arg(key.mid(colon + 1)));
                    return false;
                }
            }
            m_hostOverrides[key]; // a host may be listed with no overrides
            m_positions.insert(path, pos);
        }
        if (schemaPrefix == QLatin1String("integrations")) {
            // The name becomes a metric label and part of JSON paths: keep it plain.
            static const QRegularExpression namePattern(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"));
            if (!namePattern.match(key).hasMatch()) {
                add(Severity::Error, path, pos.first, pos.second, QString(),
                    QStringLiteral("\"%1\" is not an integration name (letters, digits, '_' and '-', at most 64)")
                        .arg(key));
                return false;
            }
            m_result->config.integrations[key].name = key;
            m_positions.insert(path, pos);
        }
        return true;
    }

    void checkLeaf(const Leaf &leaf, const JsonNode &value, const QString &path, const QString &wildcard)
    {
        m_seen.insert(path);
        if (leaf.kind == Kind::String) {
            if (value.type != JsonNode::Type::String) {
                add(Severity::Error, path, value.line, value.column, leaf.secret ? QString() : value.raw,
                    QStringLiteral("expected a string but found %1").arg(value.typeName()));
                return;
            }
            if (leaf.integrationSetString) {
                checkIntegrationString(leaf, value, path, wildcard);
                return;
            }
            const QString problem = leaf.checkString ? leaf.checkString(value.string) : QString();
            if (!problem.isEmpty()) {
                // Never echo a value that may hold a secret.
                add(Severity::Error, path, value.line, value.column,
                    problem.contains(QLatin1String("password")) ? QString() : value.raw, problem);
                return;
            }
            leaf.setString(m_result->config, value.string);
            m_positions.insert(path, {value.line, value.column});
            return;
        }
        if (leaf.kind == Kind::Boolean) {
            if (value.type != JsonNode::Type::Bool) {
                add(Severity::Error, path, value.line, value.column, value.raw,
                    QStringLiteral("expected true or false but found %1").arg(value.typeName()));
                return;
            }
            apply(leaf, value.boolean ? 1.0 : 0.0, path, wildcard, value);
            return;
        }
        const QString expected = leaf.kind == Kind::Integer ? QStringLiteral("an integer") : QStringLiteral("a number");
        if (value.type != JsonNode::Type::Number) {
            add(Severity::Error, path, value.line, value.column, value.raw,
                QStringLiteral("expected %1 but found %2").arg(expected, value.typeName()));
            return;
        }
        if (leaf.kind == Kind::Integer && (!value.integral || value.number != std::floor(value.number))) {
            add(Severity::Error, path, value.line, value.column, value.raw,
                QStringLiteral("expected an integer but found a fractional number"));
            return;
        }
        if (value.number < leaf.min || value.number > leaf.max) {
            add(Severity::Error, path, value.line, value.column, value.raw,
                QStringLiteral("out of range: must be between %1 and %2").arg(formatNumber(leaf.min),
                                                                               formatNumber(leaf.max)));
            return;
        }
        apply(leaf, value.number, path, wildcard, value);
    }

    void checkIntegrationString(const Leaf &leaf, const JsonNode &value, const QString &path, const QString &wildcard)
    {
        // A secret is shown only when it is a pure ${NAME} reference.
        const QString shown = !leaf.secret || isPureEnvironmentReference(value.string) ? value.raw
                                                                                      : QStringLiteral("<redacted>");
        const QString syntax = environmentSyntaxError(value.string);
        if (!syntax.isEmpty()) {
            add(Severity::Error, path, value.line, value.column, shown, syntax);
            return;
        }
        const QString problem = leaf.checkString ? leaf.checkString(value.string) : QString();
        if (!problem.isEmpty()) {
            add(Severity::Error, path, value.line, value.column, shown, problem);
            return;
        }
        leaf.integrationSetString(m_result->config.integrations[wildcard], value.string);
        m_positions.insert(path, {value.line, value.column});
        m_raw.insert(path, shown);
        QStringList missing;
        expandEnvironment(value.string, &missing);
        for (const QString &name : std::as_const(missing))
            add(Severity::Warning, path, value.line, value.column, shown,
                QStringLiteral("environment variable %1 is not set").arg(name));
        if (leaf.secret && !value.string.isEmpty() && !isPureEnvironmentReference(value.string))
            add(Severity::Warning, path, value.line, value.column, shown,
                QStringLiteral("the secret is written in the file; reference an environment variable instead "
                               "(\"${NAME}\")"));
    }

    void apply(const Leaf &leaf, double v, const QString &path, const QString &wildcard, const JsonNode &value)
    {
        if (leaf.integrationSet)
            leaf.integrationSet(m_result->config.integrations[wildcard], v);
        else if (!leaf.integrationPolicy.isEmpty())
            m_result->config.integrations[wildcard].policyOverrides.insert(leaf.integrationPolicy, v);
        else if (leaf.policySet)
            m_hostOverrides[wildcard].append({leaf.policySet, v});
        else
            leaf.set(m_result->config, v);
        m_positions.insert(path, {value.line, value.column});
        m_raw.insert(path, value.raw);
    }

    void resolveHosts()
    {
        for (auto it = m_hostOverrides.constBegin(); it != m_hostOverrides.constEnd(); ++it) {
            HttpPolicy policy = m_result->config.http.defaults;
            for (const auto &o : it.value())
                o.first(policy, o.second);
            m_result->config.http.hosts.insert(it.key().toLower(), policy);
        }
    }

    // `prefix` ends with '.'. With `onlyIf`, a pair is reported only when one of its keys is
    // in it (an integration reports what it set, not what it inherited); `aliases` names the
    // key actually written for a policy key (integrations.<name>.timeout_ms).
    void checkPolicyOrderOf(const HttpPolicy &policy, const QString &prefix, const QSet<QString> *onlyIf = nullptr,
                            const QHash<QString, QString> &aliases = {})
    {
        for (const auto &pair : policyOrder()) {
            if (onlyIf && !onlyIf->contains(pair.first) && !onlyIf->contains(pair.second))
                continue;
            const PolicyLeaf *low = nullptr;
            const PolicyLeaf *high = nullptr;
            for (const PolicyLeaf &p : policyLeaves()) {
                if (p.suffix == pair.first)
                    low = &p;
                if (p.suffix == pair.second)
                    high = &p;
            }
            const double lo = low->get(policy);
            const double hi = high->get(policy);
            if (lo <= hi)
                continue;
            QString at = prefix + high->suffix;
            for (const QString &candidate : {high->suffix, low->suffix, aliases.value(high->suffix),
                                             aliases.value(low->suffix)}) {
                if (!candidate.isEmpty() && m_positions.contains(prefix + candidate)) {
                    at = prefix + candidate;
                    break;
                }
            }
            const auto pos = m_positions.value(at, {0, 0});
            add(Severity::Error, at, pos.first, pos.second, m_raw.value(at),
                QStringLiteral("%1 (%2) must not exceed %3 (%4)")
                    .arg(low->suffix, formatNumber(lo), high->suffix, formatNumber(hi)));
        }
    }

    void finishIntegrations()
    {
        QHash<QString, QHash<QString, QPair<QString, double>>> mergedBy; // host key -> policy key -> (integration, value)
        for (auto it = m_result->config.integrations.begin(); it != m_result->config.integrations.end(); ++it) {
            IntegrationConfig &c = it.value();
            const QString prefix = QStringLiteral("integrations.") + it.key();
            const auto keyPos = m_positions.value(prefix, {0, 0});
            if (!m_seen.contains(prefix + QStringLiteral(".kind")))
                add(Severity::Error, prefix, keyPos.first, keyPos.second, QString(),
                    QStringLiteral("missing required key \"kind\" (one of %1)")
                        .arg(integrationKindNames().join(QStringLiteral(", "))));
            if (!m_seen.contains(prefix + QStringLiteral(".url")))
                add(Severity::Error, prefix, keyPos.first, keyPos.second, QString(),
                    QStringLiteral("missing required key \"url\""));
            const bool kindKnown = m_positions.contains(prefix + QStringLiteral(".kind"));
            const QString urlPath = prefix + QStringLiteral(".url");
            if (kindKnown && m_positions.contains(urlPath)) {
                QStringList missing;
                const QString expanded = expandEnvironment(c.url, &missing);
                const QString problem = missing.isEmpty() ? integrationUrlProblem(c.kind, expanded) : QString();
                if (!problem.isEmpty()) {
                    const auto pos = m_positions.value(urlPath);
                    const bool secret = problem.contains(QLatin1String("password"));
                    add(Severity::Error, urlPath, pos.first, pos.second, secret ? QString() : m_raw.value(urlPath),
                        problem);
                }
            }
            if (!kindKnown)
                continue;
            const QString timeoutPath = prefix + QStringLiteral(".timeout_ms");
            if (c.kind == IntegrationKind::Database) {
                QStringList ignored = c.policyOverrides.keys();
                if (c.timeoutMs > 0)
                    ignored.prepend(QStringLiteral("timeout_ms"));
                if (!ignored.isEmpty())
                    add(Severity::Warning, prefix, keyPos.first, keyPos.second, QString(),
                        QStringLiteral("pipeline overrides (%1) are ignored: a database integration sends no HTTP "
                                       "requests; its check is bounded by health.timeout_ms")
                            .arg(ignored.join(QStringLiteral(", "))));
                continue;
            }
            QMap<QString, double> overrides = c.policyOverrides;
            if (c.timeoutMs > 0) {
                if (overrides.contains(QStringLiteral("timeouts.attempt_ms"))) {
                    const auto pos = m_positions.value(timeoutPath);
                    add(Severity::Error, timeoutPath, pos.first, pos.second, m_raw.value(timeoutPath),
                        QStringLiteral("set timeout_ms or timeouts.attempt_ms, not both"));
                    continue;
                }
                overrides.insert(QStringLiteral("timeouts.attempt_ms"), c.timeoutMs);
            }
            if (overrides.isEmpty())
                continue;
            const QString hostKey = c.policyHostKey();
            if (hostKey.isEmpty()) {
                add(Severity::Warning, prefix, keyPos.first, keyPos.second, QString(),
                    QStringLiteral("pipeline overrides are not applied: the url names no usable host"));
                continue;
            }
            HttpConfig &http = m_result->config.http;
            const QString bareHost = hostKey.left(hostKey.lastIndexOf(QLatin1Char(':')));
            HttpPolicy policy = http.hosts.contains(hostKey)    ? http.hosts.value(hostKey)
                                : http.hosts.contains(bareHost) ? http.hosts.value(bareHost)
                                                                : http.defaults;
            bool conflict = false;
            QSet<QString> set;
            for (auto o = overrides.constBegin(); o != overrides.constEnd(); ++o) {
                const QString written = c.timeoutMs > 0 && o.key() == QLatin1String("timeouts.attempt_ms")
                                            ? timeoutPath
                                            : prefix + QLatin1Char('.') + o.key();
                const auto previous = mergedBy.value(hostKey).value(o.key(), {QString(), 0.0});
                if (!previous.first.isEmpty() && previous.second != o.value()) {
                    const auto pos = m_positions.value(written, {0, 0});
                    add(Severity::Error, written, pos.first, pos.second, m_raw.value(written),
                        QStringLiteral("conflicts with integrations.%1 (%2) on the same host %3")
                            .arg(previous.first, formatNumber(previous.second), hostKey));
                    conflict = true;
                    continue;
                }
                mergedBy[hostKey].insert(o.key(), {it.key(), o.value()});
                set.insert(o.key());
                for (const PolicyLeaf &p : policyLeaves()) {
                    if (p.suffix == o.key())
                        p.set(policy, o.value());
                }
            }
            if (conflict)
                continue;
            http.hosts.insert(hostKey, policy);
            m_integrationHostKeys.insert(hostKey);
            checkPolicyOrderOf(policy, prefix + QLatin1Char('.'), &set,
                               {{QStringLiteral("timeouts.attempt_ms"), QStringLiteral("timeout_ms")}});
        }
    }

    QString m_file;
    ConfigLoadResult *m_result;
    QHash<QString, const Leaf *> m_leafByPath;
    QHash<QString, QSet<QString>> m_children; // object path -> child keys ("" = root)
    QHash<QString, QPair<int, int>> m_positions;
    QHash<QString, QString> m_raw;
    QMap<QString, QList<QPair<std::function<void(HttpPolicy &, double)>, double>>> m_hostOverrides;
    QSet<QString> m_seen;                // leaf paths present in the file (valid or not)
    QSet<QString> m_integrationHostKeys; // http.hosts keys integrations' overrides were applied to
};

} // namespace

QString severityName(Severity s)
{
    switch (s) {
    case Severity::Info: return QStringLiteral("info");
    case Severity::Warning: return QStringLiteral("warning");
    case Severity::Error: return QStringLiteral("error");
    }
    return {};
}

QString ConfigFinding::toString() const
{
    QString where = file;
    if (line > 0)
        where += QStringLiteral(":%1:%2").arg(line).arg(column);
    QString text = where + QStringLiteral(": ") + severityName(severity) + QStringLiteral(": ");
    if (!path.isEmpty())
        text += path + QStringLiteral(": ");
    text += message;
    if (!value.isEmpty())
        text += QStringLiteral(" (value: %1)").arg(value);
    return text;
}

namespace {

const QRegularExpression &referencePattern()
{
    static const QRegularExpression pattern(QStringLiteral("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}"));
    return pattern;
}

} // namespace

QStringList environmentReferences(const QString &value)
{
    QStringList names;
    auto it = referencePattern().globalMatch(value);
    while (it.hasNext()) {
        const QString name = it.next().captured(1);
        if (!names.contains(name))
            names.append(name);
    }
    return names;
}

QString expandEnvironment(const QString &value, QStringList *missing)
{
    if (!value.contains(QLatin1String("${")))
        return value;
    QString out;
    qsizetype last = 0;
    auto it = referencePattern().globalMatch(value);
    while (it.hasNext()) {
        const QRegularExpressionMatch m = it.next();
        out += QStringView(value).mid(last, m.capturedStart() - last);
        const QString name = m.captured(1);
        const QByteArray key = name.toLocal8Bit();
        if (qEnvironmentVariableIsSet(key.constData()))
            out += qEnvironmentVariable(key.constData());
        else if (missing && !missing->contains(name))
            missing->append(name);
        last = m.capturedEnd();
    }
    out += QStringView(value).mid(last);
    return out;
}

QString environmentSyntaxError(const QString &value)
{
    qsizetype from = 0;
    while (true) {
        const qsizetype start = value.indexOf(QLatin1String("${"), from);
        if (start < 0)
            return {};
        const qsizetype end = value.indexOf(QLatin1Char('}'), start);
        if (end < 0)
            return QStringLiteral("unterminated environment reference: \"${\" without \"}\"");
        const QString name = value.mid(start + 2, end - start - 2);
        static const QRegularExpression namePattern(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
        if (!namePattern.match(name).hasMatch())
            return QStringLiteral("\"${%1}\" is not an environment reference: a name is letters, digits and '_', "
                                  "not starting with a digit")
                .arg(name);
        from = end + 1;
    }
}

bool isPureEnvironmentReference(const QString &value)
{
    if (value.isEmpty())
        return false;
    QString rest = value;
    rest.remove(referencePattern());
    return rest.isEmpty();
}

QString redactSecret(const QString &value)
{
    if (value.isEmpty() || isPureEnvironmentReference(value))
        return value;
    return QStringLiteral("<redacted>");
}

QString redactUrlPassword(const QString &url)
{
    // scheme://user:password@host...: only the text between ':' and '@' of the authority.
    const qsizetype authority = url.indexOf(QLatin1String("://"));
    if (authority < 0)
        return url;
    const qsizetype start = authority + 3;
    qsizetype end = url.indexOf(QLatin1Char('/'), start);
    if (end < 0)
        end = url.size();
    const qsizetype at = url.lastIndexOf(QLatin1Char('@'), end - 1);
    if (at < start)
        return url;
    const qsizetype colon = url.indexOf(QLatin1Char(':'), start);
    if (colon < 0 || colon > at)
        return url;
    const QString password = url.mid(colon + 1, at - colon - 1);
    if (password.isEmpty() || isPureEnvironmentReference(password))
        return url;
    return url.left(colon + 1) + QStringLiteral("<redacted>") + url.mid(at);
}

QString integrationKindName(IntegrationKind kind)
{
    switch (kind) {
    case IntegrationKind::Slack: return QStringLiteral("slack");
    case IntegrationKind::HomeAssistant: return QStringLiteral("home_assistant");
    case IntegrationKind::Llm: return QStringLiteral("llm");
    case IntegrationKind::Search: return QStringLiteral("search");
    case IntegrationKind::Fetch: return QStringLiteral("fetch");
    case IntegrationKind::ExternalApi: return QStringLiteral("external_api");
    case IntegrationKind::Database: return QStringLiteral("database");
    }
    return {};
}

QStringList integrationKindNames()
{
    QStringList names;
    for (int k = int(IntegrationKind::Slack); k <= int(IntegrationKind::Database); ++k)
        names.append(integrationKindName(IntegrationKind(k)));
    return names;
}

bool parseIntegrationKind(const QString &text, IntegrationKind *kind)
{
    for (int k = int(IntegrationKind::Slack); k <= int(IntegrationKind::Database); ++k) {
        if (text == integrationKindName(IntegrationKind(k))) {
            *kind = IntegrationKind(k);
            return true;
        }
    }
    return false;
}

QString IntegrationConfig::defaultHealthPath(IntegrationKind kind)
{
    switch (kind) {
    case IntegrationKind::Slack: return QStringLiteral("auth.test");
    case IntegrationKind::HomeAssistant: return QStringLiteral("/api/");
    case IntegrationKind::Llm: return QStringLiteral("/v1/models");
    default: return {};
    }
}

QString IntegrationConfig::policyHostKey() const
{
    if (kind == IntegrationKind::Database)
        return {};
    QStringList missing;
    const QUrl u(expandEnvironment(url, &missing), QUrl::StrictMode);
    if (!missing.isEmpty() || !u.isValid() || u.host().isEmpty())
        return {};
    const QString scheme = u.scheme().toLower();
    if (scheme != QLatin1String("http") && scheme != QLatin1String("https"))
        return {};
    return u.host().toLower() + QLatin1Char(':') + QString::number(u.port(scheme == QLatin1String("https") ? 443 : 80));
}

QString integrationUrlProblem(IntegrationKind kind, const QString &url)
{
    const QString text = url.trimmed();
    if (text.isEmpty())
        return QStringLiteral("the url is empty");
    if (kind == IntegrationKind::Database) {
        const bool sqlite = text.startsWith(QLatin1String("sqlite:"), Qt::CaseInsensitive);
        const bool pg = text.startsWith(QLatin1String("postgresql://"), Qt::CaseInsensitive) ||
                        text.startsWith(QLatin1String("postgres://"), Qt::CaseInsensitive);
        if (!sqlite && !pg)
            return QStringLiteral("expected sqlite:<path> or postgresql://user@host[:port]/db");
        if (pg) {
            const QUrl u(text, QUrl::StrictMode);
            if (u.isValid() && !u.password().isEmpty())
                return QStringLiteral("a password must not be written in the url; put it in auth.token as "
                                      "\"${NAME}\"");
        }
        const DatabaseLocationResult parsed = parseDatabaseUrl(text, QString());
        if (!parsed.ok())
            return QString(parsed.error).replace(QLatin1String("storage URL"), QLatin1String("database url"));
        if (parsed.location.dialect == DatabaseDialect::Postgres && (parsed.location.port < 1 || parsed.location.port > 65535))
            return QStringLiteral("the port %1 is out of range 1-65535").arg(parsed.location.port);
        return {};
    }
    const QUrl u(text, QUrl::StrictMode);
    const QString scheme = u.scheme().toLower();
    if (scheme != QLatin1String("http") && scheme != QLatin1String("https")) {
        if (scheme.isEmpty())
            return QStringLiteral("expected an http:// or https:// URL (no scheme given)");
        return QStringLiteral("the scheme \"%1\" is not supported; use http or https").arg(u.scheme());
    }
    if (!u.isValid()) {
        // QUrl refuses ports above 65535 and non-numeric ports as a whole.
        static const QRegularExpression portPattern(QStringLiteral("^[A-Za-z]+://[^/]*:([^/@]*)(/|$)"));
        const QRegularExpressionMatch m = portPattern.match(text);
        if (m.hasMatch() && !m.captured(1).isEmpty())
            return QStringLiteral("the port \"%1\" is not a number between 1 and 65535").arg(m.captured(1));
        return QStringLiteral("not a valid URL");
    }
    if (u.host().isEmpty())
        return QStringLiteral("the URL names no host");
    if (u.port() == 0)
        return QStringLiteral("the port 0 is out of range 1-65535");
    if (!u.password().isEmpty())
        return QStringLiteral("a password must not be written in the url; put the credential in auth.token as "
                              "\"${NAME}\"");
    if (u.hasFragment())
        return QStringLiteral("a URL fragment (#...) is not sent to the server; remove it");
    return {};
}

bool ConfigLoadResult::ok() const
{
    return errorCount() == 0;
}

int ConfigLoadResult::errorCount() const
{
    return int(std::count_if(findings.begin(), findings.end(),
                             [](const ConfigFinding &f) { return f.severity == Severity::Error; }));
}

ConfigLoadResult ConfigLoader::loadFile(const QString &path)
{
    QFile file(path);
    if (!QFileInfo(path).isFile() || !file.open(QIODevice::ReadOnly)) {
        ConfigLoadResult result;
        ConfigFinding f;
        f.file = path;
        f.message = QFileInfo::exists(path) && !QFileInfo(path).isFile()
                        ? QStringLiteral("cannot read the configuration: it is not a regular file")
                        : QStringLiteral("cannot read the configuration: %1").arg(
                              QFileInfo::exists(path) ? file.errorString() : QStringLiteral("no such file"));
        result.findings.append(f);
        return result;
    }
    // A configuration file is small; refuse something that clearly is not one.
    constexpr qint64 kMaxSize = 16 * 1024 * 1024;
    if (file.size() > kMaxSize) {
        ConfigLoadResult result;
        ConfigFinding f;
        f.file = path;
        f.message = QStringLiteral("the file is %1 bytes; a configuration is at most 16 MiB").arg(file.size());
        result.findings.append(f);
        return result;
    }
    return loadText(file.readAll(), path);
}

ConfigLoadResult ConfigLoader::loadText(const QByteArray &text, const QString &fileName)
{
    ConfigLoadResult result;
    JsonNode root;
    JsonSyntaxError syntax;
    if (!parseJson(text, &root, &syntax)) {
        ConfigFinding f;
        f.file = fileName;
        f.line = syntax.line;
        f.column = syntax.column;
        f.message = QStringLiteral("syntax error: ") + syntax.message;
        result.findings.append(f);
        return result;
    }
    Checker checker(fileName, &result);
    checker.checkRoot(root);
    std::stable_sort(result.findings.begin(), result.findings.end(),
                     [](const ConfigFinding &a, const ConfigFinding &b) { return a.line < b.line; });
    return result;
}

QList<ConfigKeyInfo> ConfigLoader::schema()
{
    const EngineConfig defaults;
    const IntegrationConfig integrationDefaults;
    QList<ConfigKeyInfo> out;
    for (const Leaf &leaf : leaves()) {
        if (leaf.policySet || !leaf.integrationPolicy.isEmpty())
            continue; // http.hosts.<host>.* and integrations.<name>.* mirror http.defaults.*; documented once
        ConfigKeyInfo info;
        info.path = leaf.path;
        if (isIntegrationLeaf(leaf)) {
            info.path.replace(QStringLiteral("integrations.*."), QStringLiteral("integrations.<name>."));
            info.type = leaf.kind == Kind::String ? QStringLiteral("string") : QStringLiteral("integer");
            info.defaultValue = leaf.required ? QStringLiteral("required")
                                : leaf.kind == Kind::String
                                    ? QLatin1Char('"') + leaf.integrationGetString(integrationDefaults) + QLatin1Char('"')
                                    : formatNumber(leaf.integrationGet(integrationDefaults));
            info.range = !leaf.range.isEmpty() ? leaf.range
                                                : formatNumber(leaf.min) + QStringLiteral(" to ") + formatNumber(leaf.max);
            info.description = leaf.description;
            out.append(info);
            continue;
        }
        info.type = leaf.kind == Kind::Integer  ? QStringLiteral("integer")
                    : leaf.kind == Kind::Number ? QStringLiteral("number")
                    : leaf.kind == Kind::String ? QStringLiteral("string")
                                                : QStringLiteral("boolean");
        info.defaultValue = leaf.kind == Kind::Boolean
                                ? (leaf.get(defaults) != 0 ? QStringLiteral("true") : QStringLiteral("false"))
                            : leaf.kind == Kind::String ? QLatin1Char('"') + leaf.getString(defaults) + QLatin1Char('"')
                                                        : formatNumber(leaf.get(defaults));
        info.range = leaf.kind == Kind::Boolean  ? QStringLiteral("true or false")
                     : leaf.kind == Kind::String ? QStringLiteral("text")
                                                : formatNumber(leaf.min) + QStringLiteral(" to ") + formatNumber(leaf.max);
        info.description = leaf.description;
        out.append(info);
    }
    return out;
}

QJsonObject ConfigLoader::toJson(const EngineConfig &config)
{
    // Build nested objects from dotted paths.
    QJsonObject root;
    for (const Leaf &leaf : leaves()) {
        if (leaf.policySet || isIntegrationLeaf(leaf))
            continue; // per-host overrides and integrations are written below
        const QStringList parts = leaf.path.split(QLatin1Char('.'));
        std::function<void(QJsonObject &, int)> put = [&](QJsonObject &obj, int i) {
            if (i == parts.size() - 1 && leaf.kind == Kind::String) {
                obj.insert(parts.at(i), leaf.getString(config));
                return;
            }
            if (i == parts.size() - 1) {
                const double v = leaf.get(config);
                obj.insert(parts.at(i), leaf.kind == Kind::Integer   ? QJsonValue(qint64(v))
                                        : leaf.kind == Kind::Boolean ? QJsonValue(v != 0)
                                                                     : QJsonValue(v));
                return;
            }
            QJsonObject child = obj.value(parts.at(i)).toObject();
            put(child, i + 1);
            obj.insert(parts.at(i), child);
        };
        put(root, 0);
    }
    if (!config.http.hosts.isEmpty()) {
        QJsonObject http = root.value(QStringLiteral("http")).toObject();
        QJsonObject hosts;
        for (auto it = config.http.hosts.constBegin(); it != config.http.hosts.constEnd(); ++it) {
            // Only what differs from the defaults, as a user would write it.
            QJsonObject host;
            for (const PolicyLeaf &p : policyLeaves()) {
                const double v = p.get(it.value());
                if (v == p.get(config.http.defaults))
                    continue;
                const QString section = p.suffix.section(QLatin1Char('.'), 0, 0);
                const QString key = p.suffix.section(QLatin1Char('.'), 1);
                QJsonObject sec = host.value(section).toObject();
                sec.insert(key, p.kind == Kind::Integer   ? QJsonValue(qint64(v))
                                : p.kind == Kind::Boolean ? QJsonValue(v != 0)
                                                          : QJsonValue(v));
                host.insert(section, sec);
            }
            hosts.insert(it.key(), host);
        }
        http.insert(QStringLiteral("hosts"), hosts);
        root.insert(QStringLiteral("http"), http);
    }
    if (!config.integrations.isEmpty()) {
        QJsonObject integrations;
        for (auto it = config.integrations.constBegin(); it != config.integrations.constEnd(); ++it) {
            const IntegrationConfig &c = it.value();
            QJsonObject o;
            o.insert(QStringLiteral("kind"), integrationKindName(c.kind));
            o.insert(QStringLiteral("url"), redactUrlPassword(c.url));
            o.insert(QStringLiteral("health"),
                     QJsonObject{{QStringLiteral("path"), c.healthPath},
                                 {QStringLiteral("interval_s"), c.healthIntervalS},
                                 {QStringLiteral("timeout_ms"), c.healthTimeoutMs},
                                 {QStringLiteral("latency_threshold_ms"), c.healthLatencyThresholdMs}});
            if (!c.authToken.isEmpty())
                o.insert(QStringLiteral("auth"), QJsonObject{{QStringLiteral("token"), redactSecret(c.authToken)}});
            o.insert(QStringLiteral("timeout_ms"), c.timeoutMs);
            for (auto p = c.policyOverrides.constBegin(); p != c.policyOverrides.constEnd(); ++p) {
                Kind kind = Kind::Number;
                for (const PolicyLeaf &leaf : policyLeaves()) {
                    if (leaf.suffix == p.key())
                        kind = leaf.kind;
                }
                const QString section = p.key().section(QLatin1Char('.'), 0, 0);
                const QString key = p.key().section(QLatin1Char('.'), 1);
                QJsonObject sec = o.value(section).toObject();
                sec.insert(key, kind == Kind::Integer   ? QJsonValue(qint64(p.value()))
                                : kind == Kind::Boolean ? QJsonValue(p.value() != 0)
                                                        : QJsonValue(p.value()));
                o.insert(section, sec);
            }
            integrations.insert(it.key(), o);
        }
        root.insert(QStringLiteral("integrations"), integrations);
    }
    return root;
}

QList<ConfigFinding> ConfigLoader::checkOrdering(const EngineConfig &config)
{
    ConfigLoadResult result;
    result.config = config;
    Checker checker(QString(), &result);
    checker.checkThresholdOrder();
    checker.checkPolicyOrder();
    checker.checkRedis();
    return result.findings;
}

QStringList AdminConfig::keyHashes() const
{
    QStringList out;
    const QStringList parts = keySha256.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    for (const QString &p : parts)
        out.append(p.toLower());
    return out;
}

} // namespace vega
