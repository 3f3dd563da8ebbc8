#pragma once

#include "eventloopmonitor.h"
#include "httpclient.h"
#include "metrics.h"
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

/// Everything the engine publishes at one instant. Immutable once published; the UI,
/// reports, and (later) the admin API and exporters all read this one object.
struct Snapshot {
    std::shared_ptr<const MetricsSnapshot> metrics;
    DiagnosticsReport diagnostics;
    EventLoopSummary eventLoop;
    HttpClientSummary http; // the engine's HTTP pipeline: totals, pools, breakers, top keys
    EngineInfo info;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

} // namespace vega

Q_DECLARE_METATYPE(vega::SnapshotPtr)
