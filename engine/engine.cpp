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

void Engine::resetStats(const QString &who)
{
    m_registry.resetStats(who);
    m_http->resetStats();
    m_sqlProfiler->resetStats();
    publishNow();
}

} // namespace vega
