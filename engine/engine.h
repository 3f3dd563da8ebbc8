#pragma once

#include "clock.h"
#include "config.h"
#include "metrics.h"
#include "snapshot.h"

#include <QObject>
#include <QTimer>

#include <memory>

namespace vega {

class DemoWorkload;
class HistoryStore;
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

struct EngineOptions {
    QString configPath; // empty: defaults
    QString dataDir;
    QString mode = QStringLiteral("gui");
    /// Run the built-in demo workload (a local backend and traffic), as when no
    /// configuration is given.
    bool demo = false;
};

/**
 * The engine: owns the metrics registry and every component, runs on the thread that
 * creates it (normally the GUI thread) and publishes one immutable Snapshot per interval.
 */
class Engine : public QObject {
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
    HistoryStore *history() const { return m_history.get(); }
    const EngineConfig &config() const { return m_config; }
    const EngineOptions &options() const { return m_options; }

    /// The latest published snapshot (never null after construction). Safe to call from any
    /// thread (the admin API reads it from its own): the pointer is swapped atomically and
    /// a snapshot never changes once published.
    SnapshotPtr latest() const { return std::atomic_load(&m_latest); }
    /// Captures and publishes a snapshot now (also what the interval timer does).
    SnapshotPtr publishNow();

    /// Operator action: reset what is shown; exported totals stay monotonic.
    void resetStats(const QString &who = QStringLiteral("operator"));

    /// The storage status and the SQL profiler's tables, now (thread-safe parts only).
    DatabaseSummary databaseSummary() const;

Q_SIGNALS:
    void snapshotAvailable(const vega::SnapshotPtr &snapshot);

private:
    EngineConfig m_config;
    EngineOptions m_options;
    Clock *m_clock;
    MetricsRegistry m_registry;
    std::unique_ptr<EventLoopMonitor> m_loopMonitor;
    std::unique_ptr<SystemDiagnostics> m_diagnostics;
    std::unique_ptr<HttpClient> m_http;
    std::unique_ptr<DemoWorkload> m_demo;
    std::unique_ptr<SqlProfiler> m_sqlProfiler;
    std::unique_ptr<HistoryStore> m_history;
    QTimer m_publishTimer;
    SnapshotPtr m_latest;
    qint64 m_startedWallMs = 0;
    QJsonObject m_effectiveConfig;
};

} // namespace vega
