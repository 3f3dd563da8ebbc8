#pragma once

#include "httppolicy.h"
#include "memorymonitor.h"
#include "streamrelay.h"

#include <QHash>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QMap>
#include <QPair>
#include <QString>
#include <QStringList>

namespace vega {

enum class Severity { Info, Warning, Error };
QString severityName(Severity s);

/// One problem found in a configuration file.
struct ConfigFinding {
    Severity severity = Severity::Error;
    QString file;
    QString path; // JSON path, e.g. "$.event_loop.interval_ms"
    int line = 0;
    int column = 0;
    QString value; // the offending value as written (JSON text), empty when not applicable
    QString message;

    /// "file:line:column: error: $.path: message (value: X)"
    QString toString() const;
};

struct MetricsConfig {
    int snapshotIntervalMs = 1000;
    int seriesCapacity = 3600;
};

struct EventLoopConfig {
    int intervalMs = 10;
    int stallThresholdMs = 100;
    int stallHistory = 100;
};

/// Warning/critical levels of one health check. For "lower is worse" checks (free memory,
/// free disk) critical < warning; otherwise warning < critical.
struct Threshold {
    double warning = 0;
    double critical = 0;
};

struct DiagnosticsConfig {
    int intervalMs = 1000;
    Threshold cpuPercent{80, 95};                // process CPU, % of one core
    Threshold systemCpuPercent{85, 97};          // whole machine
    Threshold memoryAvailablePercent{15, 5};     // lower is worse
    Threshold processRssMb{2048, 4096};
    Threshold diskFreePercent{10, 5};            // lower is worse
    Threshold fdUsagePercent{80, 95};            // open fds / soft limit
    Threshold loadPerCore{1.5, 3.0};             // 1-minute load / cores
    Threshold eventLoopP99Ms{16, 100};
};

struct UiConfig {
    int refreshIntervalMs = 1000;
    int defaultWindowSeconds = 300;
};

/// Where history and the journal are kept (see HistoryStoreOptions for the meaning).
struct StorageConfig {
    bool enabled = true;
    QString url; // empty: SQLite at <data-dir>/vega.db; or sqlite:<path>; or postgresql://user@host:port/db
    QString passwordEnv = QStringLiteral("VEGA_DB_PASSWORD");
    int batchSize = 500;
    int flushIntervalMs = 1000;
    int queueCapacity = 100000;
    int rawRetentionHours = 24;
    int minuteRetentionDays = 30;
    int journalRetentionDays = 30;
    int slowQueryMs = 100;
    int sqliteCacheKib = 256; // SQLite page cache per connection (fixed memory footprint)
};

/// The admin HTTP API (see AdminApi and docs/ADMIN_API.md).
struct AdminConfig {
    bool gui = false;     // serve it while the console window runs
    bool headless = true; // serve it in headless runs (when a key exists)
    QString bind = QStringLiteral("127.0.0.1");
    int port = 9470; // 0: any free port
    /// Accepted keys as SHA-256 hex digests, separated by commas or spaces (the key itself
    /// may also come from the VEGA_API_KEY environment variable).
    QString keySha256;
    QStringList keyHashes() const;
};

struct HeadlessConfig {
    int defaultDurationSeconds = 0; // 0 = until SIGINT/SIGTERM
};

/// What an integration is; decides the health-check contract (see IntegrationMonitor).
enum class IntegrationKind { Slack, HomeAssistant, Llm, Search, Fetch, ExternalApi, Database };
/// Stable id as written in the configuration: "slack", "home_assistant", "llm", "search",
/// "fetch", "external_api", "database".
QString integrationKindName(IntegrationKind kind);
/// Parses a kind id; false when it is none of the seven.
bool parseIntegrationKind(const QString &text, IntegrationKind *kind);
/// Every kind id, in declaration order.
QStringList integrationKindNames();

/// One external system the engine depends on and health-checks (`integrations.<name>`).
/// String values may reference environment variables as ${NAME}; they are kept unexpanded
/// here and expanded only when used (see expandEnvironment()).
struct IntegrationConfig {
    QString name;
    IntegrationKind kind = IntegrationKind::ExternalApi;
    /// Base URL (http/https), or for Database a Qt Sql URL: sqlite:<path> or
    /// postgresql://user@host[:port]/db.
    QString url;
    /// Health-check path joined to the URL; empty: the kind's default (defaultHealthPath()).
    QString healthPath;
    int healthIntervalS = 30;
    int healthTimeoutMs = 5000;
    /// A healthy check slower than this makes the integration degraded.
    int healthLatencyThresholdMs = 1000;
    /// Bearer token (for Database: the password), normally "${ENV_NAME}".
    QString authToken;
    /// Attempt timeout of every request to the integration's host; 0 keeps the host policy.
    int timeoutMs = 0;
    /// Pipeline overrides as written, by http policy key ("retry.max_attempts" -> 2); the
    /// loader has already applied them to config.http.hosts[policyHostKey()].
    QMap<QString, double> policyOverrides;

    /// The path checked when healthPath is empty: slack "auth.test", home_assistant "/api/",
    /// llm "/v1/models", others "" (the URL itself).
    static QString defaultHealthPath(IntegrationKind kind);
    QString effectiveHealthPath() const { return healthPath.isEmpty() ? defaultHealthPath(kind) : healthPath; }
    /// "host:port" of the (expanded) URL, the http.hosts key its overrides are applied to;
    /// empty for Database or an unusable URL.
    QString policyHostKey() const;
};

/// Environment references in configuration strings: "${NAME}", NAME = [A-Za-z_][A-Za-z0-9_]*.
/// Names referenced by `value`, in order, without duplicates.
QStringList environmentReferences(const QString &value);
/// `value` with every reference replaced by the variable's value. An unset variable expands
/// to "" and its name is appended to *missing (when given).
QString expandEnvironment(const QString &value, QStringList *missing = nullptr);
/// A description of the first malformed reference ("${" unterminated, bad name), or "".
QString environmentSyntaxError(const QString &value);
/// True when `value` consists of references only ("${SLACK_TOKEN}"), i.e. holds no secret.
bool isPureEnvironmentReference(const QString &value);
/// What reports may show of a secret: the value when it is a pure reference, "" when empty,
/// otherwise "<redacted>".
QString redactSecret(const QString &value);
/// `url` with a literal password in its authority replaced by "<redacted>".
QString redactUrlPassword(const QString &url);
/// Why `url` (already expanded) cannot serve an integration of that kind, or "": http kinds
/// need http/https with a host and a port in 1-65535, no password and no fragment; database
/// needs sqlite:<path> or postgresql://user@host[:port]/db without a password. Never
/// repeats the URL (it may hold an expanded secret).
QString integrationUrlProblem(IntegrationKind kind, const QString &url);

/// The whole configuration; every field has the default documented in docs/CONFIG.md.
struct EngineConfig {
    MetricsConfig metrics;
    EventLoopConfig eventLoop;
    DiagnosticsConfig diagnostics;
    UiConfig ui;
    HeadlessConfig headless;
    HttpConfig http;
    StorageConfig storage;
    AdminConfig admin;
    MemoryMonitorConfig memory;
    StreamConfig streaming;
    QMap<QString, IntegrationConfig> integrations; // by name
};

struct ConfigLoadResult {
    EngineConfig config;
    QList<ConfigFinding> findings;
    /// Where each value the file set was written: JSON path ("$.integrations.x.url") ->
    /// (line, column). Lets later checks (ConfigValidator) point into the file.
    QHash<QString, QPair<int, int>> positions;
    bool ok() const;
    int errorCount() const;
};

/// One key of the schema, for docs and "did you mean" suggestions.
struct ConfigKeyInfo {
    QString path; // dotted, e.g. "event_loop.interval_ms"
    QString type; // "integer", "number", "boolean", "string"
    QString defaultValue;
    QString range;
    QString description;
};

class ConfigLoader {
public:
    /// Parses and checks a file; reports every problem at once. A missing or unreadable
    /// file is one error finding.
    static ConfigLoadResult loadFile(const QString &path);
    /// Same, from text (fileName is only used in findings).
    static ConfigLoadResult loadText(const QByteArray &text, const QString &fileName);
    /// Every key (the per-host http.hosts.<host>.* and integrations.<name>.* pipeline keys
    /// mirror http.defaults.* and are not listed separately). Integration keys are listed
    /// as "integrations.<name>.key".
    static QList<ConfigKeyInfo> schema();
    /// The configuration as JSON (defaults filled in): the "effective config" reports and
    /// the admin API show. Secrets never appear: an auth.token that is a pure ${NAME}
    /// reference is written verbatim, any other is "<redacted>", as is a password in a URL.
    static QJsonObject toJson(const EngineConfig &config);
    /// The ordering checks of the loader (thresholds warning/critical, retry base/cap,
    /// breaker open base/cap, attempt/deadline, the redis section's), on a configuration built in code; findings
    /// carry paths but no file position.
    static QList<ConfigFinding> checkOrdering(const EngineConfig &config);
};

} // namespace vega
