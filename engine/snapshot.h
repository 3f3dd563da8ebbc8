#pragma once

#include "eventloopmonitor.h"
#include "configvalidator.h"
#include "historystore.h"
#include "httpclient.h"
#include "integrations.h"
#include "memorymonitor.h"
#include "streamrelay.h"
#include "metrics.h"
#include "sqlprofiler.h"
#include "systemdiagnostics.h"

#include <QJsonObject>
#include <QString>

#include <memory>

namespace vega {

/// Facts about the running engine that reports carry.
struct EngineInfo {
    QString version;
    QString configPath; // empty when running on defaults
    QString dataDir;
    qint64 startedWallMs = 0;
    QString mode; // "gui" or "headless"
    bool demo = false; // the built-in demo workload is running
    QJsonObject effectiveConfig; // the configuration in force, defaults filled in
};

/// The storage layer and the SQL profiler at one instant (the Database page, reports and the
/// admin API read it).
struct DatabaseSummary {
    bool enabled = false;  // a history store runs (storage.enabled and a data directory)
    StorageStatus storage; // health, location (never a password), schema, current outage
    int queueDepth = 0;    // rows waiting to be written
    int queueCapacity = 0;
    int slowThresholdMs = 100;
    QList<StatementStats> statements; // by total time, largest first, at most kMaxStatements
    QList<SlowQuery> slowLog;         // newest last
    QList<ConnectionUsage> connections;
    quint64 statementEvictions = 0;
    static constexpr int kMaxStatements = 200;
};

/// Everything the engine publishes at one instant. Immutable once published; the UI,
/// reports, and (later) the admin API and exporters all read this one object.
struct Snapshot {
    std::shared_ptr<const MetricsSnapshot> metrics;
    DiagnosticsReport diagnostics;
    EventLoopSummary eventLoop;
    HttpClientSummary http; // the engine's HTTP pipeline: totals, pools, breakers, top keys
    DatabaseSummary database;
    QList<IntegrationStatus> integrations; // by name
    MemorySummary memory;
    StreamRelaySummary streams;
    /// The latest config validation run (null until one ran).
    std::shared_ptr<const ValidationReport> validation;
    EngineInfo info;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

} // namespace vega

Q_DECLARE_METATYPE(vega::SnapshotPtr)
