#include "engine.h"

#include "demoworkload.h"
#include "eventloopmonitor.h"
#include "historystore.h"
#include "httpclient.h"
#include "sqlprofiler.h"
#include "systemdiagnostics.h"
#include "vega_version.h"

#include <QDateTime>

namespace vega {

Engine::Engine(const EngineConfig &config, const EngineOptions &options, Clock *clock, QObject *parent)
    : QObject(parent), m_config(config), m_options(options), m_clock(clock),
      m_registry(clock, config.metrics.seriesCapacity)
{
    qRegisterMetaType<vega::SnapshotPtr>();
    m_registry.setIntervalMs(config.metrics.snapshotIntervalMs);
    m_startedWallMs = QDateTime::currentMSecsSinceEpoch();
    m_effectiveConfig = ConfigLoader::toJson(config);
    m_loopMonitor = std::make_unique<EventLoopMonitor>(&m_registry, config.eventLoop, QStringLiteral("gui"),
                                                       nullptr, clock);
    m_diagnostics = std::make_unique<SystemDiagnostics>(&m_registry, config.diagnostics, options.dataDir,
                                                        m_loopMonitor.get());
    m_http = std::make_unique<HttpClient>(&m_registry, config.http, clock);
    if (options.demo)
        m_demo = std::make_unique<DemoWorkload>(m_http.get(), &m_registry);
    SqlProfilerOptions profilerOptions;
    profilerOptions.slowThresholdMs = config.storage.slowQueryMs;
    m_sqlProfiler = std::make_unique<SqlProfiler>(&m_registry, profilerOptions, clock);
    if (config.storage.enabled && !options.dataDir.isEmpty()) {
        HistoryStoreOptions so;
        so.url = config.storage.url;
        so.dataDir = options.dataDir;
        so.passwordEnv = config.storage.passwordEnv;
        so.batchSize = config.storage.batchSize;
        so.flushIntervalMs = config.storage.flushIntervalMs;
        so.queueCapacity = config.storage.queueCapacity;
        so.rawRetentionHours = config.storage.rawRetentionHours;
        so.minuteRetentionDays = config.storage.minuteRetentionDays;
        so.journalRetentionDays = config.storage.journalRetentionDays;
        m_history = std::make_unique<HistoryStore>(so, &m_registry, m_sqlProfiler.get(), clock);
    }
    m_publishTimer.setInterval(config.metrics.snapshotIntervalMs);
    connect(&m_publishTimer, &QTimer::timeout, this, &Engine::publishNow);
    publishNow();
}

Engine::~Engine()
{
    stop();
    // Last: the final snapshot's rows are flushed before the database closes.
    if (m_history) {
        m_history->recordSnapshot(latest()->metrics);
        m_history->stop();
    }
}

void Engine::start()
{
    m_loopMonitor->start();
    m_diagnostics->start();
    // Storage runs for the engine's whole life (stop() may be a pause); it stops at destruction.
    if (m_history && !m_history->isRunning())
        m_history->start();
    if (m_demo)
        m_demo->start();
    m_publishTimer.start();
}

void Engine::stop()
{
    m_publishTimer.stop();
    if (m_demo)
        m_demo->stop();
    if (m_diagnostics)
        m_diagnostics->stop();
    if (m_loopMonitor)
        m_loopMonitor->stop();
}

SnapshotPtr Engine::publishNow()
{
    auto snap = std::make_shared<Snapshot>();
    snap->metrics = m_registry.capture();
    snap->diagnostics = m_diagnostics->latest();
    snap->eventLoop = m_loopMonitor->summary();
    snap->http = m_http->summary();
    snap->database = databaseSummary();
    // Storage is graded beside the system categories, so its health reaches the overall
    // grade, the Overview and reports.
    snap->diagnostics.categories.append(gradeDatabase(snap->database, snap->metrics.get()));
    snap->diagnostics.overall = overallHealth(snap->diagnostics.categories);
    snap->info.demo = m_demo != nullptr;
    snap->info.version = QStringLiteral(VEGA_VERSION_STRING);
    snap->info.configPath = m_options.configPath;
    snap->info.dataDir = m_options.dataDir;
    snap->info.startedWallMs = m_startedWallMs;
    snap->info.mode = m_options.mode;
    snap->info.effectiveConfig = m_effectiveConfig;
    SnapshotPtr published = std::move(snap);
    std::atomic_store(&m_latest, published);
    if (m_history && m_history->isRunning())
        m_history->recordSnapshot(published->metrics);
    Q_EMIT snapshotAvailable(published);
    return published;
}

DatabaseSummary Engine::databaseSummary() const
{
    DatabaseSummary d;
    d.enabled = m_history != nullptr;
    if (m_history) {
        d.storage = m_history->status();
        d.queueDepth = m_history->queueDepth();
        d.queueCapacity = m_history->options().queueCapacity;
    }
    d.slowThresholdMs = m_sqlProfiler->options().slowThresholdMs;
    d.statements = m_sqlProfiler->statements();
    if (d.statements.size() > DatabaseSummary::kMaxStatements)
        d.statements.resize(DatabaseSummary::kMaxStatements);
    d.slowLog = m_sqlProfiler->slowLog();
    d.connections = m_sqlProfiler->connections();
    d.statementEvictions = m_sqlProfiler->evictions();
    return d;
}

DiagnosticCategory gradeDatabase(const DatabaseSummary &db, const MetricsSnapshot *metrics)
{
    DiagnosticCategory c;
    c.id = QStringLiteral("database");
    c.title = QStringLiteral("Database");
    auto number = [&c](const char *key, const char *label, double value, Unit unit = Unit::None) {
        DiagnosticValue v;
        v.key = QString::fromLatin1(key);
        v.label = QString::fromLatin1(label);
        v.number = value;
        v.unit = unit;
        c.values.append(v);
    };
    auto text = [&c](const char *key, const char *label, const QString &value) {
        DiagnosticValue v;
        v.key = QString::fromLatin1(key);
        v.label = QString::fromLatin1(label);
        v.text = value;
        c.values.append(v);
    };
    if (!db.enabled) {
        c.reason = QStringLiteral("storage is off (storage.enabled is false or there is no data directory)");
        return c;
    }
    auto sinceReset = [metrics](const char *name) -> quint64 {
        const MetricSnapshot *m = metrics ? metrics->find(QString::fromLatin1(name)) : nullptr;
        return m ? m->sinceReset : 0;
    };
    const quint64 dropped = sinceReset("storage_dropped_rows");
    const quint64 slow = sinceReset("sql_slow_queries");
    const double fill = db.queueCapacity > 0 ? 100.0 * db.queueDepth / db.queueCapacity : 0;
    text("location", "Database", db.storage.location);
    number("queue_depth", "Write queue", db.queueDepth);
    number("queue_fill_percent", "Write queue fill", fill, Unit::Percent);
    number("dropped_rows", "Dropped samples", double(dropped));
    number("slow_queries", "Slow queries", double(slow));
    number("schema_version", "Schema version", db.storage.schemaVersion);
    if (db.storage.outageSinceMs > 0) {
        number("outage_retries", "Retries", db.storage.retries);
        text("outage_since", "Outage since",
             QDateTime::fromMSecsSinceEpoch(db.storage.outageSinceMs, Qt::UTC).toString(Qt::ISODate));
    }

    switch (db.storage.health) {
    case Health::Unknown:
        c.health = Health::Unknown;
        c.reason = QStringLiteral("connecting to %1").arg(db.storage.location);
        return c;
    case Health::Critical:
    case Health::Warning:
        c.health = db.storage.health;
        c.reason = db.storage.fatal ? QStringLiteral("unusable: %1").arg(db.storage.error)
                                    : QStringLiteral("writes failing, retrying (%1 retries): %2")
                                          .arg(db.storage.retries)
                                          .arg(db.storage.error);
        return c;
    case Health::Ok:
        break;
    }
    if (fill >= 80) {
        c.health = Health::Warning;
        c.reason = QStringLiteral("write queue %1% full: the database is not keeping up").arg(qRound(fill));
    } else if (dropped > 0) {
        c.health = Health::Warning;
        c.reason = QStringLiteral("%1 metric samples dropped under queue pressure since the last reset").arg(dropped);
    } else {
        c.health = Health::Ok;
        c.reason = QStringLiteral("writing to %1").arg(db.storage.location);
    }
    return c;
}

void Engine::resetStats(const QString &who)
{
    m_registry.resetStats(who);
    m_http->resetStats();
    m_sqlProfiler->resetStats();
    publishNow();
}

} // namespace vega
