#include "engine.h"

#include "configvalidator.h"
#include "demobackend.h"
#include "demostreams.h"
#include "demoworkload.h"
#include "eventloopmonitor.h"
#include "historystore.h"
#include "httpclient.h"
#include "integrations.h"
#include "liveobjects.h"
#include "memorymonitor.h"
#include "sqlprofiler.h"
#include "streamrelay.h"
#include "systemdiagnostics.h"
#include "vega_version.h"

#include <QDateTime>
#include <QDebug>

namespace vega {

Engine::Engine(const EngineConfig &config, const EngineOptions &options, Clock *clock, QObject *parent)
    : SnapshotSource(parent), m_config(config), m_options(options), m_clock(clock),
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
    if (options.demo) {
        DemoWorkloadOptions demoOptions;
        if (options.demoRequestsPerSecond > 0)
            demoOptions.requestsPerSecond = options.demoRequestsPerSecond;
        m_demo = std::make_unique<DemoWorkload>(m_http.get(), &m_registry, demoOptions);
    }
    QList<IntegrationConfig> integrations = config.integrations.values();
    if (m_demo && integrations.isEmpty()) {
        m_demo->startBackend();
        integrations = demoIntegrations(options.dataDir);
    }
    m_integrations = std::make_unique<IntegrationMonitor>(integrations, m_http.get(), &m_registry, clock);
    m_memory = std::make_unique<MemoryMonitor>(&m_registry, config.memory.sanitized(), clock);
    // Leak suspects count only while the workload is steady: the HTTP request rate.
    m_memory->setWorkloadSignal([this]() -> std::optional<double> {
        const SnapshotPtr snap = latest();
        if (!snap || !snap->metrics)
            return std::nullopt;
        double rate = 0;
        bool any = false;
        const QList<const MetricSnapshot *> requests = snap->metrics->findAll(QStringLiteral("http_requests"));
        for (const MetricSnapshot *m : requests) {
            rate += m->rate;
            any = true;
        }
        return any ? std::optional<double>(rate) : std::nullopt;
    });
    m_streams = std::make_unique<StreamRelay>(&m_registry, clock);
    QString streamError;
    if (!m_streams->setConfig(config.streaming, &streamError))
        qWarning().noquote() << "streaming configuration not applied:" << streamError;
    if (options.demo)
        m_demoStreams = std::make_unique<DemoStreams>(m_streams.get());
    // What the engine can leak, released on the memory monitor's schedule and counted. (Coalescer
    // entries go with their backend call, streams with their last subscriber: nothing lingers.)
    // The response cache is bounded by its entry and byte limits: filling up to them is
    // warm-up, not a leak, so its count is shown but never raises a suspect.
    m_memory->setTypeThreshold(QStringLiteral("CacheEntry"), 1e12);
    m_memory->addCleanup(QStringLiteral("idle_connections"), [this] { return m_http->releaseIdleConnections(); });
    m_validator = std::make_unique<ConfigValidator>(&m_registry);
    m_validator->setDataDir(options.dataDir);
    connect(m_validator.get(), &ConfigValidator::finished, this, [this](const ValidationReport &report) {
        m_validating = false;
        acceptValidation(report);
    });
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
        so.sqliteCacheKib = config.storage.sqliteCacheKib;
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
    m_integrations->start();
    m_memory->start();
    if (m_demoStreams)
        m_demoStreams->start();
    m_publishTimer.start();
}

void Engine::stop()
{
    m_publishTimer.stop();
    if (m_integrations)
        m_integrations->stop();
    if (m_memory)
        m_memory->stop();
    if (m_demoStreams)
        m_demoStreams->stop();
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
    snap->integrations = m_integrations->statuses();
    snap->memory = m_memory->summary();
    snap->streams = m_streams->summary();
    updateLiveCounts(*snap);
    snap->validation = m_lastValidation;
    // Storage is graded beside the system categories, so its health reaches the overall
    // grade, the Overview and reports.
    snap->diagnostics.categories.append(gradeDatabase(snap->database, snap->metrics.get()));
    snap->diagnostics.categories.append(gradeSharedCache(snap->http.sharedCache));
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

void Engine::updateLiveCounts(const Snapshot &snap)
{
    // Objects the engine holds that are not QObjects of their own, counted as live types for
    // the memory monitor (HttpCall counts itself with VEGA_TRACK_TYPE).
    static LiveCounter *const coalescer = LiveObjects::counter(QStringLiteral("CoalescerEntry"));
    static LiveCounter *const cacheEntries = LiveObjects::counter(QStringLiteral("CacheEntry"));
    static LiveCounter *const upstreams = LiveObjects::counter(QStringLiteral("StreamUpstream"));
    static LiveCounter *const subscriptions = LiveObjects::counter(QStringLiteral("StreamSubscription"));
    auto setTo = [](LiveCounter *c, qint64 value) { c->add(value - c->live()); };
    setTo(coalescer, snap.http.inFlightKeys);
    qint64 entries = 0;
    if (snap.metrics) {
        const QList<const MetricSnapshot *> caches = snap.metrics->findAll(QStringLiteral("cache_entries"));
        for (const MetricSnapshot *m : caches)
            entries += qint64(m->value);
    }
    setTo(cacheEntries, entries);
    setTo(upstreams, StreamRelay::liveStreamCount());
    setTo(subscriptions, StreamRelay::liveSubscriptionCount());
}

void Engine::validateConfig(const QString &who, const ActionCallback &done)
{
    if (m_validating) {
        if (done)
            done({true, QStringLiteral("A validation is already running")});
        return;
    }
    m_validating = true;
    m_registry.recordEvent(QStringLiteral("validation"), who, QStringLiteral("Configuration validation started"));
    m_validator->run(m_config, m_options.configPath);
    if (done)
        done({true, QStringLiteral("Validation started")});
}

void Engine::acceptValidation(const ValidationReport &report)
{
    m_lastValidation = std::make_shared<const ValidationReport>(report);
    publishNow();
    Q_EMIT validationFinished(report);
}

QList<IntegrationConfig> demoIntegrations(const DemoBackend *backend, const QString &dataDir)
{
    QList<IntegrationConfig> out;
    if (!backend || !backend->isListening())
        return out;
    const QString base = backend->baseUrl().toString();
    const QString token = QString::fromLatin1(backend->token());
    auto add = [&](const char *name, IntegrationKind kind, const QString &url, const QString &path = {},
                   bool auth = false) {
        IntegrationConfig c;
        c.name = QString::fromLatin1(name);
        c.kind = kind;
        c.url = url;
        c.healthPath = path;
        c.healthIntervalS = 10;
        if (auth)
            c.authToken = token;
        out.append(c);
    };
    add("slack", IntegrationKind::Slack, base + QStringLiteral("/slack/api"), {}, true);
    add("home-assistant", IntegrationKind::HomeAssistant, base + QStringLiteral("/homeassistant"), {}, true);
    add("llm", IntegrationKind::Llm, base + QStringLiteral("/llm"), {}, true);
    add("search", IntegrationKind::Search, base + QStringLiteral("/search"), QStringLiteral("?q=health"));
    add("fetch", IntegrationKind::Fetch, base + QStringLiteral("/fetch/health"));
    add("external-api", IntegrationKind::ExternalApi, base + QStringLiteral("/external/items/1"));
    add("orders-api", IntegrationKind::ExternalApi, base + QStringLiteral("/dbapi/orders/1"));
    if (!dataDir.isEmpty())
        add("history-db", IntegrationKind::Database, QStringLiteral("sqlite:") + dataDir + QStringLiteral("/vega.db"));
    return out;
}

QList<IntegrationConfig> Engine::demoIntegrations(const QString &dataDir) const
{
    return vega::demoIntegrations(m_demo ? m_demo->backend() : nullptr, dataDir);
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

namespace {
void addNumber(DiagnosticCategory *c, const char *key, const char *label, double value, Unit unit)
{
    DiagnosticValue v;
    v.key = QString::fromLatin1(key);
    v.label = QString::fromLatin1(label);
    v.number = value;
    v.unit = unit;
    c->values.append(v);
}

void addText(DiagnosticCategory *c, const char *key, const char *label, const QString &value)
{
    DiagnosticValue v;
    v.key = QString::fromLatin1(key);
    v.label = QString::fromLatin1(label);
    v.text = value;
    c->values.append(v);
}
} // namespace

DiagnosticCategory gradeSharedCache(const SharedCacheStatus &status)
{
    DiagnosticCategory c;
    c.id = QStringLiteral("shared_cache");
    c.title = QStringLiteral("Shared cache");
    auto number = [&c](const char *key, const char *label, double value, Unit unit = Unit::None) {
        addNumber(&c, key, label, value, unit);
    };
    auto text = [&c](const char *key, const char *label, const QString &value) { addText(&c, key, label, value); };
    text("state", "State", status.enabled ? status.state : QStringLiteral("off"));
    if (!status.enabled) {
        c.reason = QStringLiteral("off (redis.enabled is false): each instance caches alone");
        return c;
    }
    text("endpoint", "Redis", status.endpoint);
    const quint64 lookups = status.hits + status.misses;
    if (lookups > 0)
        number("hit_ratio_percent", "Hit ratio", 100.0 * double(status.hits) / double(lookups), Unit::Percent);
    number("hits", "Hits", double(status.hits));
    number("misses", "Misses", double(status.misses));
    number("fallbacks", "Served without Redis", double(status.fallbacks));
    number("errors", "Errors", double(status.errors));
    if (status.downSinceMs > 0)
        text("down_since", "Down since",
             QDateTime::fromMSecsSinceEpoch(status.downSinceMs, Qt::UTC).toString(Qt::ISODate));
    if (status.state == QLatin1String("up")) {
        c.health = Health::Ok;
        c.reason = QStringLiteral("%1 up").arg(status.endpoint);
    } else if (status.state == QLatin1String("connecting")) {
        c.reason = QStringLiteral("connecting to %1").arg(status.endpoint);
    } else {
        c.health = Health::Warning;
        c.reason = QStringLiteral("%1 %2%3; requests use the local cache only")
                       .arg(status.endpoint,
                            status.state == QLatin1String("open-breaker") ? QStringLiteral("too slow or failing (breaker open)")
                                                                          : QStringLiteral("down"),
                            status.lastError.isEmpty() ? QString() : QStringLiteral(": ") + status.lastError);
    }
    return c;
}

DiagnosticCategory gradeDatabase(const DatabaseSummary &db, const MetricsSnapshot *metrics)
{
    DiagnosticCategory c;
    c.id = QStringLiteral("database");
    c.title = QStringLiteral("Database");
    auto number = [&c](const char *key, const char *label, double value, Unit unit = Unit::None) {
        addNumber(&c, key, label, value, unit);
    };
    auto text = [&c](const char *key, const char *label, const QString &value) { addText(&c, key, label, value); };
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

void Engine::resetStats(const QString &who, const ActionCallback &done)
{
    m_registry.resetStats(who);
    m_http->resetStats();
    m_sqlProfiler->resetStats();
    publishNow();
    if (done)
        done({true, QStringLiteral("Statistics reset")});
}

void Engine::commandBreaker(const QString &name, BreakerCommand command, const ActionCallback &done)
{
    const bool ok = m_http->commandBreaker(name, command);
    if (done)
        done({ok, ok ? QStringLiteral("Circuit breaker \u201c%1\u201d: %2").arg(name, breakerCommandDescription(command))
                     : QStringLiteral("No circuit breaker named \u201c%1\u201d").arg(name)});
}

void Engine::checkIntegrations(const QString &name, const ActionCallback &done)
{
    const bool any = m_integrations && !latest()->integrations.isEmpty();
    const bool ok = any && m_integrations->checkNow(name);
    if (done)
        done({ok, ok ? (name.isEmpty() ? QStringLiteral("Checking every integration")
                                       : QStringLiteral("Checking %1").arg(name))
                     : (name.isEmpty() ? QStringLiteral("No integration to check")
                                       : QStringLiteral("No integration named \u201c%1\u201d").arg(name))});
}

} // namespace vega
