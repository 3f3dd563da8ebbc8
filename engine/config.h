#pragma once

#include "httppolicy.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>

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
};

struct HeadlessConfig {
    int defaultDurationSeconds = 0; // 0 = until SIGINT/SIGTERM
};

/// The whole configuration; every field has the default documented in docs/CONFIG.md.
struct EngineConfig {
    MetricsConfig metrics;
    EventLoopConfig eventLoop;
    DiagnosticsConfig diagnostics;
    UiConfig ui;
    HeadlessConfig headless;
    HttpConfig http;
    StorageConfig storage;
};

struct ConfigLoadResult {
    EngineConfig config;
    QList<ConfigFinding> findings;
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
    /// Every key (the per-host http.hosts.<host>.* keys mirror http.defaults.* and are not
    /// listed separately).
    static QList<ConfigKeyInfo> schema();
    /// The configuration as JSON (defaults filled in).
    static QJsonObject toJson(const EngineConfig &config);
};

} // namespace vega
