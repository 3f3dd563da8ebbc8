#pragma once

#include "clock.h"
#include "config.h"
#include "metrics.h"
#include "snapshot.h"
#include "snapshotsource.h"

#include <QObject>
#include <QTimer>

#include <memory>

namespace vega {

class ConfigValidator;
class DemoStreams;
class DemoWorkload;
class HistoryStore;
class IntegrationMonitor;
class MemoryMonitor;
class StreamRelay;
class SqlProfiler;
class EventLoopMonitor;
class HttpClient;
class SystemDiagnostics;

/**
 * The "database" diagnostics category: Unknown while storage connects or when it is off,
 * Critical (or Warning) while writes fail or the database is unusable, Warning when the write
 * queue is 80% full or samples were dropped since the last reset, Ok otherwise. Values:
 * location (text), queue_depth, queue_fill_percent, dropped_rows and slow_queries (since the
 * last reset), schema_version, and outage_retries / outage_since during an outage.
 */
DiagnosticCategory gradeDatabase(const DatabaseSummary &database, const MetricsSnapshot *metrics);

/**
 * The "shared_cache" diagnostics category (the Redis tier): Unknown when it is off or still
 * connecting, Warning while Redis is down or its breaker is open (requests then use the local
 * cache only: slower, never failing), Ok otherwise. Values: state, endpoint (text),
 * hit_ratio_percent, hits, misses, fallbacks, errors, and down_since (text) while down.
 */
DiagnosticCategory gradeSharedCache(const SharedCacheStatus &status);

class DemoBackend;
struct IntegrationConfig;
/// The demo backend's seven integrations (checked every 10 s), plus the history database
/// (SELECT 1) when there is a data directory; empty when the backend is not listening.
QList<IntegrationConfig> demoIntegrations(const DemoBackend *backend, const QString &dataDir);

struct EngineOptions {
    QString configPath; // empty: defaults
    QString dataDir;
    QString mode = QStringLiteral("gui");
    /// Run the built-in demo workload (a local backend and traffic), as when no
    /// configuration is given.
    bool demo = false;
    /// Requests per second of the demo traffic (0: the demo's default).
    double demoRequestsPerSecond = 0;
};

/**
 * The engine: owns the metrics registry and every component, runs on the thread that
 * creates it (normally the GUI thread) and publishes one immutable Snapshot per interval.
 */
class Engine : public SnapshotSource {
    Q_OBJECT
public:
    Engine(const EngineConfig &config, const EngineOptions &options, Clock *clock = Clock::system(),
           QObject *parent = nullptr);
    ~Engine() override;

    void start();
    void stop();

    MetricsRegistry &metrics() { return m_registry; }
    EventLoopMonitor *eventLoopMonitor() const { return m_loopMonitor.get(); }
    SystemDiagnostics *diagnostics() const { return m_diagnostics.get(); }
    /// The engine's HTTP client: the one way the engine (and an embedding program) sends HTTP.
    HttpClient *http() const { return m_http.get(); }
    DemoWorkload *demo() const { return m_demo.get(); }
    /// Every query the engine runs goes through it; embedders route theirs with one call.
    SqlProfiler *sqlProfiler() const { return m_sqlProfiler.get(); }
    /// Metric history and the event journal; null when storage is disabled or there is no
    /// data directory.
    /// Health checks of the configured integrations (in the demo: the demo backend's seven).
    IntegrationMonitor *integrations() const { return m_integrations.get(); }
    MemoryMonitor *memory() const { return m_memory.get(); }
    /// Streamed responses with backpressure; an embedding program opens its streams here.
    StreamRelay *streams() const { return m_streams.get(); }
    const EngineOptions &options() const { return m_options; }

    /// The latest published snapshot (never null after construction). Safe to call from any
    /// thread (the admin API reads it from its own): the pointer is swapped atomically and
    /// a snapshot never changes once published.
    SnapshotPtr latest() const override { return std::atomic_load(&m_latest); }
    /// Captures and publishes a snapshot now (also what the interval timer does).
    SnapshotPtr publishNow();

    /// Operator action: reset what is shown; exported totals stay monotonic.
    void resetStats(const QString &who = QStringLiteral("operator"), const ActionCallback &done = {}) override;

    /// Operator action: validates the configuration now (re-reading the file when there is
    /// one), without blocking; validationFinished() tells the outcome, the journal records it
    /// and the next snapshots carry it. A run already in progress is not started twice.
    void validateConfig(const QString &who = QStringLiteral("operator"), const ActionCallback &done = {}) override;
    bool isValidating() const override { return m_validating; }
    /// Takes the outcome of a validation run made elsewhere (the admin API runs its own):
    /// it becomes lastValidation(), the next snapshot carries it, validationFinished() tells.
    void acceptValidation(const vega::ValidationReport &report);
    std::shared_ptr<const ValidationReport> lastValidation() const override { return m_lastValidation; }

    // SnapshotSource: the local engine.
    QString sourceName() const override { return QStringLiteral("local"); }
    const EngineConfig &config() const override { return m_config; }
    QString configPath() const override { return m_options.configPath; }
    bool isDemo() const override { return m_options.demo; }
    HistoryStore *history() const override { return m_history.get(); }
    qint64 wallNowMs() const override { return m_registry.wallNowMs(); }
    void commandBreaker(const QString &name, BreakerCommand command, const ActionCallback &done = {}) override;
    void checkIntegrations(const QString &name = {}, const ActionCallback &done = {}) override;
    bool canCheckIntegrations() const override { return m_integrations != nullptr; }

    /// What demoIntegrations() gives for this engine's demo backend.
    QList<IntegrationConfig> demoIntegrations(const QString &dataDir) const;
    /// The storage status and the SQL profiler's tables, now (thread-safe parts only).
    DatabaseSummary databaseSummary() const;

private:
    void updateLiveCounts(const Snapshot &snapshot);

    EngineConfig m_config;
    EngineOptions m_options;
    Clock *m_clock;
    MetricsRegistry m_registry;
    std::unique_ptr<EventLoopMonitor> m_loopMonitor;
    std::unique_ptr<SystemDiagnostics> m_diagnostics;
    std::unique_ptr<HttpClient> m_http;
    std::unique_ptr<IntegrationMonitor> m_integrations; // uses m_http: declared after it
    std::unique_ptr<DemoWorkload> m_demo;
    std::unique_ptr<SqlProfiler> m_sqlProfiler;
    std::unique_ptr<HistoryStore> m_history;
    std::unique_ptr<MemoryMonitor> m_memory;
    std::unique_ptr<StreamRelay> m_streams;
    std::unique_ptr<DemoStreams> m_demoStreams; // after m_streams: it opens streams there
    std::unique_ptr<ConfigValidator> m_validator;
    std::shared_ptr<const ValidationReport> m_lastValidation;
    bool m_validating = false;
    QTimer m_publishTimer;
    SnapshotPtr m_latest;
    qint64 m_startedWallMs = 0;
    QJsonObject m_effectiveConfig;
};

} // namespace vega
