// The snapshot wire format: lossless round trips (a live demo engine and a hand-filled
// snapshot), series continuation across messages, and hostile input.
#include "engine.h"
#include "snapshotjson.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

using namespace vega;

namespace {

QString S(const char *text)
{
    return QString::fromUtf8(text);
}

constexpr qint64 kAllPoints = std::numeric_limits<qint64>::min();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

bool sameDouble(double a, double b)
{
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

QString doubleMismatch(const char *expr, double a, double b)
{
    return QStringLiteral("%1: %2 != %3").arg(QLatin1String(expr)).arg(a, 0, 'g', 17).arg(b, 0, 'g', 17);
}

} // namespace

#define SAME_D(a, b) QVERIFY2(sameDouble((a), (b)), qPrintable(doubleMismatch(#a, (a), (b))))
#define COMPARE_E(a, b) QCOMPARE(int(a), int(b))
#define CALL(x)                                                                                              \
    do {                                                                                                     \
        x;                                                                                                   \
        if (QTest::currentTestFailed())                                                                      \
            return;                                                                                          \
    } while (0)
#define CALL_AT(x, what, i)                                                                                  \
    do {                                                                                                     \
        x;                                                                                                   \
        if (QTest::currentTestFailed()) {                                                                    \
            qWarning("  at %s[%d]", what, int(i));                                                           \
            return;                                                                                          \
        }                                                                                                    \
    } while (0)

namespace {

enum class SeriesCheck { Exact, Skip };

// ---- field-by-field comparisons, written out so that a field the format forgets fails here.

void compareSummary(const HistogramSummary &a, const HistogramSummary &b)
{
    QCOMPARE(a.count, b.count);
    SAME_D(a.sum, b.sum);
    QCOMPARE(a.min, b.min);
    QCOMPARE(a.max, b.max);
    SAME_D(a.mean, b.mean);
    SAME_D(a.p50, b.p50);
    SAME_D(a.p90, b.p90);
    SAME_D(a.p99, b.p99);
    SAME_D(a.p999, b.p999);
}

void compareSeries(const TimeSeries &a, const TimeSeries &b)
{
    QCOMPARE(a.size(), b.size());
    for (int i = 0; i < a.size(); ++i) {
        QCOMPARE(a.at(i).tMs, b.at(i).tMs);
        SAME_D(a.at(i).value, b.at(i).value);
    }
}

void compareMetric(const MetricSnapshot &a, const MetricSnapshot &b, SeriesCheck series, bool buckets)
{
    QCOMPARE(a.name, b.name);
    QCOMPARE(a.labels, b.labels);
    QCOMPARE(a.help, b.help);
    COMPARE_E(a.type, b.type);
    COMPARE_E(a.unit, b.unit);
    QCOMPARE(a.total, b.total);
    QCOMPARE(a.sinceReset, b.sinceReset);
    SAME_D(a.rate, b.rate);
    SAME_D(a.value, b.value);
    CALL(compareSummary(a.summary, b.summary));
    CALL(compareSummary(a.interval, b.interval));
    if (buckets) {
        QCOMPARE(bool(a.cumulative), bool(b.cumulative));
        if (a.cumulative) {
            QVERIFY(a.cumulative->buckets == b.cumulative->buckets);
            QCOMPARE(a.cumulative->count, b.cumulative->count);
            SAME_D(a.cumulative->sum, b.cumulative->sum);
            QCOMPARE(a.cumulative->min, b.cumulative->min);
            QCOMPARE(a.cumulative->max, b.cumulative->max);
        }
    }
    if (series == SeriesCheck::Exact) {
        for (int f = 0; f < int(SeriesField::Count_); ++f)
            CALL_AT(compareSeries(a.series[size_t(f)], b.series[size_t(f)]), "series", f);
    }
}

void compareMetrics(const MetricsSnapshot &a, const MetricsSnapshot &b, SeriesCheck series,
                    bool buckets = true)
{
    QCOMPARE(a.sequence, b.sequence);
    QCOMPARE(a.wallMs, b.wallMs);
    QCOMPARE(a.monotonicMs, b.monotonicMs);
    QCOMPARE(a.lastResetWallMs, b.lastResetWallMs);
    QCOMPARE(a.resetCount, b.resetCount);
    QCOMPARE(a.intervalMs, b.intervalMs);
    QCOMPARE(a.metrics.size(), b.metrics.size());
    for (int i = 0; i < a.metrics.size(); ++i)
        CALL_AT(compareMetric(a.metrics.at(i), b.metrics.at(i), series, buckets), "metrics", i);
    QCOMPARE(a.events.size(), b.events.size());
    for (int i = 0; i < a.events.size(); ++i) {
        const EngineEvent &x = a.events.at(i);
        const EngineEvent &y = b.events.at(i);
        QCOMPARE(x.wallMs, y.wallMs);
        QCOMPARE(x.kind, y.kind);
        QCOMPARE(x.source, y.source);
        QCOMPARE(x.message, y.message);
        SAME_D(x.durationMs, y.durationMs);
    }
}

void compareDiagnostics(const DiagnosticsReport &a, const DiagnosticsReport &b)
{
    QCOMPARE(a.wallMs, b.wallMs);
    COMPARE_E(a.overall, b.overall);
    QCOMPARE(a.categories.size(), b.categories.size());
    for (int i = 0; i < a.categories.size(); ++i) {
        const DiagnosticCategory &x = a.categories.at(i);
        const DiagnosticCategory &y = b.categories.at(i);
        QCOMPARE(x.id, y.id);
        QCOMPARE(x.title, y.title);
        COMPARE_E(x.health, y.health);
        QCOMPARE(x.reason, y.reason);
        QCOMPARE(x.values.size(), y.values.size());
        for (int k = 0; k < x.values.size(); ++k) {
            const DiagnosticValue &u = x.values.at(k);
            const DiagnosticValue &v = y.values.at(k);
            QCOMPARE(u.key, v.key);
            QCOMPARE(u.label, v.label);
            SAME_D(u.number, v.number);
            QCOMPARE(u.text, v.text);
            COMPARE_E(u.unit, v.unit);
            QCOMPARE(u.available, v.available);
        }
    }
}

void compareEventLoop(const EventLoopSummary &a, const EventLoopSummary &b)
{
    QCOMPARE(a.thread, b.thread);
    QCOMPARE(a.intervalMs, b.intervalMs);
    QCOMPARE(a.stallThresholdMs, b.stallThresholdMs);
    CALL(compareSummary(a.lagNs, b.lagNs));
    QCOMPARE(a.stallsOver100ms, b.stallsOver100ms);
    QCOMPARE(a.stallsOver1s, b.stallsOver1s);
    QCOMPARE(a.stalledNow, b.stalledNow);
    SAME_D(a.currentStallMs, b.currentStallMs);
    QCOMPARE(a.recentStalls.size(), b.recentStalls.size());
    for (int i = 0; i < a.recentStalls.size(); ++i) {
        QCOMPARE(a.recentStalls.at(i).startWallMs, b.recentStalls.at(i).startWallMs);
        SAME_D(a.recentStalls.at(i).durationMs, b.recentStalls.at(i).durationMs);
        QCOMPARE(a.recentStalls.at(i).ongoing, b.recentStalls.at(i).ongoing);
    }
}

void compareHttp(const HttpClientSummary &a, const HttpClientSummary &b)
{
    const HttpTotals &t = a.totals;
    const HttpTotals &u = b.totals;
    QCOMPARE(t.requests, u.requests);
    QCOMPARE(t.succeeded, u.succeeded);
    QCOMPARE(t.failed, u.failed);
    QCOMPARE(t.leaders, u.leaders);
    QCOMPARE(t.coalesced, u.coalesced);
    QCOMPARE(t.cacheHits, u.cacheHits);
    QCOMPARE(t.cacheMisses, u.cacheMisses);
    QCOMPARE(t.backendRequests, u.backendRequests);
    QCOMPARE(t.connectionsOpened, u.connectionsOpened);
    QCOMPARE(t.breakerRejections, u.breakerRejections);
    QCOMPARE(t.retries, u.retries);
    QCOMPARE(t.rateLimited, u.rateLimited);
    QCOMPARE(a.pools.size(), b.pools.size());
    for (int i = 0; i < a.pools.size(); ++i) {
        const HostPoolStats &x = a.pools.at(i);
        const HostPoolStats &y = b.pools.at(i);
        QCOMPARE(x.host, y.host);
        QCOMPARE(x.requests, y.requests);
        QCOMPARE(x.connectionsOpened, y.connectionsOpened);
        SAME_D(x.reuseRatio, y.reuseRatio);
        QCOMPARE(x.active, y.active);
        QCOMPARE(x.pending, y.pending);
        QCOMPARE(x.maxConnections, y.maxConnections);
        QCOMPARE(x.idleCleanups, y.idleCleanups);
    }
    QCOMPARE(a.breakers.size(), b.breakers.size());
    for (int i = 0; i < a.breakers.size(); ++i) {
        const BreakerInfo &x = a.breakers.at(i);
        const BreakerInfo &y = b.breakers.at(i);
        QCOMPARE(x.name, y.name);
        QCOMPARE(x.state, y.state);
        SAME_D(x.failureRate, y.failureRate);
        SAME_D(x.slowCallRate, y.slowCallRate);
        QCOMPARE(x.callsInWindow, y.callsInWindow);
        QCOMPARE(x.rejected, y.rejected);
        QCOMPARE(x.openRemainingMs, y.openRemainingMs);
    }
    QCOMPARE(a.topCoalescedKeys.size(), b.topCoalescedKeys.size());
    for (int i = 0; i < a.topCoalescedKeys.size(); ++i) {
        QCOMPARE(a.topCoalescedKeys.at(i).key, b.topCoalescedKeys.at(i).key);
        QCOMPARE(a.topCoalescedKeys.at(i).coalesced, b.topCoalescedKeys.at(i).coalesced);
    }
    QCOMPARE(a.inFlightKeys, b.inFlightKeys);
}

void compareDatabase(const DatabaseSummary &a, const DatabaseSummary &b)
{
    QCOMPARE(a.enabled, b.enabled);
    COMPARE_E(a.storage.health, b.storage.health);
    QCOMPARE(a.storage.error, b.storage.error);
    QCOMPARE(a.storage.fatal, b.storage.fatal);
    QCOMPARE(a.storage.location, b.storage.location);
    QCOMPARE(a.storage.schemaVersion, b.storage.schemaVersion);
    QCOMPARE(a.storage.migratedFrom, b.storage.migratedFrom);
    QCOMPARE(a.storage.outageSinceMs, b.storage.outageSinceMs);
    QCOMPARE(a.storage.retries, b.storage.retries);
    QCOMPARE(a.queueDepth, b.queueDepth);
    QCOMPARE(a.queueCapacity, b.queueCapacity);
    QCOMPARE(a.slowThresholdMs, b.slowThresholdMs);
    QCOMPARE(a.statements.size(), b.statements.size());
    for (int i = 0; i < a.statements.size(); ++i) {
        const StatementStats &x = a.statements.at(i);
        const StatementStats &y = b.statements.at(i);
        QCOMPARE(x.normalized, y.normalized);
        QCOMPARE(x.calls, y.calls);
        SAME_D(x.totalMs, y.totalMs);
        SAME_D(x.meanMs, y.meanMs);
        SAME_D(x.p95Ms, y.p95Ms);
        SAME_D(x.maxMs, y.maxMs);
        QCOMPARE(x.rows, y.rows);
        QCOMPARE(x.errors, y.errors);
        QCOMPARE(x.lastCallWallMs, y.lastCallWallMs);
    }
    QCOMPARE(a.slowLog.size(), b.slowLog.size());
    for (int i = 0; i < a.slowLog.size(); ++i) {
        const SlowQuery &x = a.slowLog.at(i);
        const SlowQuery &y = b.slowLog.at(i);
        QCOMPARE(x.wallMs, y.wallMs);
        QCOMPARE(x.normalized, y.normalized);
        SAME_D(x.durationMs, y.durationMs);
        QCOMPARE(x.correlationId, y.correlationId);
        QCOMPARE(x.connection, y.connection);
        QCOMPARE(x.error, y.error);
        QCOMPARE(x.rows, y.rows);
    }
    QCOMPARE(a.connections.size(), b.connections.size());
    for (int i = 0; i < a.connections.size(); ++i) {
        QCOMPARE(a.connections.at(i).connection, b.connections.at(i).connection);
        QCOMPARE(a.connections.at(i).queries, b.connections.at(i).queries);
        SAME_D(a.connections.at(i).totalMs, b.connections.at(i).totalMs);
        QCOMPARE(a.connections.at(i).errors, b.connections.at(i).errors);
    }
    QCOMPARE(a.statementEvictions, b.statementEvictions);
}

void compareIntegrations(const QList<IntegrationStatus> &a, const QList<IntegrationStatus> &b)
{
    QCOMPARE(a.size(), b.size());
    for (int i = 0; i < a.size(); ++i) {
        const IntegrationStatus &x = a.at(i);
        const IntegrationStatus &y = b.at(i);
        QCOMPARE(x.name, y.name);
        COMPARE_E(x.kind, y.kind);
        QCOMPARE(x.target, y.target);
        COMPARE_E(x.state, y.state);
        QCOMPARE(x.reason, y.reason);
        SAME_D(x.latencyMs, y.latencyMs);
        QCOMPARE(x.httpStatus, y.httpStatus);
        QCOMPARE(x.lastCheckWallMs, y.lastCheckWallMs);
        QCOMPARE(x.lastSuccessWallMs, y.lastSuccessWallMs);
        QCOMPARE(x.lastError, y.lastError);
        QCOMPARE(x.lastErrorWallMs, y.lastErrorWallMs);
        QCOMPARE(x.consecutiveFailures, y.consecutiveFailures);
        QCOMPARE(x.checksRun, y.checksRun);
        QCOMPARE(x.checking, y.checking);
    }
}

void compareProcessMemory(const ProcessMemoryStatus &a, const ProcessMemoryStatus &b)
{
    QCOMPARE(a.available, b.available);
    QCOMPARE(a.unavailableReason, b.unavailableReason);
    QCOMPARE(a.bytes, b.bytes);
    SAME_D(a.slopeBytesPerMinute, b.slopeBytesPerMinute);
    SAME_D(a.confidence, b.confidence);
    COMPARE_E(a.trend, b.trend);
    QCOMPARE(a.suspect, b.suspect);
}

void compareMemory(const MemorySummary &a, const MemorySummary &b)
{
    QCOMPARE(a.sampleWallMs, b.sampleWallMs);
    QCOMPARE(a.samplesInWindow, b.samplesInWindow);
    QCOMPARE(a.lastSampleDurationNs, b.lastSampleDurationNs);
    CALL(compareProcessMemory(a.rss, b.rss));
    CALL(compareProcessMemory(a.heap, b.heap));
    QCOMPARE(a.workloadKnown, b.workloadKnown);
    QCOMPARE(a.workloadSteady, b.workloadSteady);
    SAME_D(a.workloadDriftPerMinute, b.workloadDriftPerMinute);
    QCOMPARE(a.types.size(), b.types.size());
    for (int i = 0; i < a.types.size(); ++i) {
        const TrackedTypeStatus &x = a.types.at(i);
        const TrackedTypeStatus &y = b.types.at(i);
        QCOMPARE(x.name, y.name);
        QCOMPARE(x.live, y.live);
        SAME_D(x.slopePerMinute, y.slopePerMinute);
        SAME_D(x.confidence, y.confidence);
        SAME_D(x.thresholdPerMinute, y.thresholdPerMinute);
        COMPARE_E(x.trend, y.trend);
        QCOMPARE(x.suspect, y.suspect);
    }
    QCOMPARE(a.suspects.size(), b.suspects.size());
    for (int i = 0; i < a.suspects.size(); ++i) {
        const LeakSuspect &x = a.suspects.at(i);
        const LeakSuspect &y = b.suspects.at(i);
        QCOMPARE(x.type, y.type);
        COMPARE_E(x.kind, y.kind);
        COMPARE_E(x.unit, y.unit);
        SAME_D(x.growthPerMinute, y.growthPerMinute);
        SAME_D(x.confidence, y.confidence);
        SAME_D(x.thresholdPerMinute, y.thresholdPerMinute);
        QCOMPARE(x.firstSeenWallMs, y.firstSeenWallMs);
        QCOMPARE(x.raisedWallMs, y.raisedWallMs);
        QCOMPARE(x.clearedWallMs, y.clearedWallMs);
        SAME_D(x.current, y.current);
    }
}

void compareStreams(const StreamRelaySummary &a, const StreamRelaySummary &b)
{
    QCOMPARE(a.streams.size(), b.streams.size());
    for (int i = 0; i < a.streams.size(); ++i) {
        const StreamInfo &x = a.streams.at(i);
        const StreamInfo &y = b.streams.at(i);
        QCOMPARE(x.request, y.request);
        QCOMPARE(x.url, y.url);
        QCOMPARE(x.shared, y.shared);
        QCOMPARE(x.paused, y.paused);
        QCOMPARE(x.replayAvailable, y.replayAvailable);
        QCOMPARE(x.status, y.status);
        QCOMPARE(x.subscribers, y.subscribers);
        QCOMPARE(x.bufferedBytes, y.bufferedBytes);
        QCOMPARE(x.maxSubscriberBuffered, y.maxSubscriberBuffered);
        QCOMPARE(x.replayBytes, y.replayBytes);
        QCOMPARE(x.upstreamBufferedBytes, y.upstreamBufferedBytes);
        QCOMPARE(x.peakUpstreamBufferedBytes, y.peakUpstreamBufferedBytes);
        QCOMPARE(x.bytesIn, y.bytesIn);
        QCOMPARE(x.bytesOut, y.bytesOut);
        QCOMPARE(x.pauses, y.pauses);
        SAME_D(x.inBytesPerSecond, y.inBytesPerSecond);
        SAME_D(x.outBytesPerSecond, y.outBytesPerSecond);
        QCOMPARE(x.ageMs, y.ageMs);
        QCOMPARE(x.timeToFirstByteMs, y.timeToFirstByteMs);
    }
    QCOMPARE(a.activeStreams, b.activeStreams);
    QCOMPARE(a.subscribers, b.subscribers);
    QCOMPARE(a.bufferedBytes, b.bufferedBytes);
    QCOMPARE(a.streamsOpened, b.streamsOpened);
    QCOMPARE(a.pauses, b.pauses);
    QCOMPARE(a.resumes, b.resumes);
    QCOMPARE(a.droppedChunks, b.droppedChunks);
    QCOMPARE(a.disconnects, b.disconnects);
    QCOMPARE(a.sharedJoins, b.sharedJoins);
    QCOMPARE(a.bytesIn, b.bytesIn);
    QCOMPARE(a.bytesOut, b.bytesOut);
}

void compareValidation(const ValidationReport *a, const ValidationReport *b)
{
    QCOMPARE(bool(a), bool(b));
    if (!a)
        return;
    QCOMPARE(a->configPath, b->configPath);
    QCOMPARE(a->startedWallMs, b->startedWallMs);
    QCOMPARE(a->durationMs, b->durationMs);
    QCOMPARE(a->hostsLookedUp, b->hostsLookedUp);
    QCOMPARE(a->findings.size(), b->findings.size());
    for (int i = 0; i < a->findings.size(); ++i) {
        const ConfigFinding &x = a->findings.at(i);
        const ConfigFinding &y = b->findings.at(i);
        COMPARE_E(x.severity, y.severity);
        QCOMPARE(x.file, y.file);
        QCOMPARE(x.path, y.path);
        QCOMPARE(x.line, y.line);
        QCOMPARE(x.column, y.column);
        QCOMPARE(x.value, y.value);
        QCOMPARE(x.message, y.message);
    }
}

void compareInfo(const EngineInfo &a, const EngineInfo &b)
{
    QCOMPARE(a.version, b.version);
    QCOMPARE(a.configPath, b.configPath);
    QCOMPARE(a.dataDir, b.dataDir);
    QCOMPARE(a.startedWallMs, b.startedWallMs);
    QCOMPARE(a.mode, b.mode);
    QCOMPARE(a.demo, b.demo);
    QCOMPARE(a.effectiveConfig, b.effectiveConfig);
}

void compareSnapshots(const Snapshot &a, const Snapshot &b, SeriesCheck series, bool buckets = true)
{
    QCOMPARE(bool(a.metrics), bool(b.metrics));
    if (a.metrics)
        CALL(compareMetrics(*a.metrics, *b.metrics, series, buckets));
    CALL(compareDiagnostics(a.diagnostics, b.diagnostics));
    CALL(compareEventLoop(a.eventLoop, b.eventLoop));
    CALL(compareHttp(a.http, b.http));
    CALL(compareDatabase(a.database, b.database));
    CALL(compareIntegrations(a.integrations, b.integrations));
    CALL(compareMemory(a.memory, b.memory));
    CALL(compareStreams(a.streams, b.streams));
    CALL(compareValidation(a.validation.get(), b.validation.get()));
    CALL(compareInfo(a.info, b.info));
}

/// Through the bytes a WebSocket would carry.
SnapshotPtr roundTrip(const Snapshot &snapshot, const SnapshotWireOptions &options, const Snapshot *previous,
                      int capacity, QString *error, qsizetype *bytes = nullptr)
{
    const QByteArray json = QJsonDocument(snapshotToWire(snapshot, options)).toJson(QJsonDocument::Compact);
    if (bytes)
        *bytes = json.size();
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (!doc.isObject()) {
        *error = parseError.errorString();
        return nullptr;
    }
    return snapshotFromWire(doc.object(), previous, capacity, error);
}

TimeSeries seriesOf(std::initializer_list<SeriesPoint> points, int capacity = 3600)
{
    TimeSeries s(capacity);
    for (const SeriesPoint &p : points)
        s.append(p.tMs, p.value);
    return s;
}

/// A snapshot where every field of every section has a distinct, non-default value.
std::shared_ptr<Snapshot> filledSnapshot()
{
    auto snap = std::make_shared<Snapshot>();
    auto metrics = std::make_shared<MetricsSnapshot>();
    const qint64 t0 = 1700000000000;
    metrics->sequence = 42;
    metrics->wallMs = t0 + 10000;
    metrics->monotonicMs = 123456789;
    metrics->lastResetWallMs = t0 - 5;
    metrics->resetCount = 3;
    metrics->intervalMs = 1000;

    MetricSnapshot counter;
    counter.name = S("http_requests");
    counter.labels = {{S("host"), S("127.0.0.1:8080")}, {S("method"), S("GET")}};
    counter.help = S("Requests sent");
    counter.type = MetricType::Counter;
    counter.total = std::numeric_limits<quint64>::max();
    counter.sinceReset = 9007199254740993ULL; // 2^53 + 1: not a double
    counter.rate = 12.345678901234567;
    counter.series[size_t(SeriesField::Rate)] = seriesOf(
        {{t0, 1.5}, {t0 + 1000, kNaN}, {t0 + 2000, kInf}, {t0 + 3000, -kInf}, {t0 + 4000, 0.1 + 0.2}});
    metrics->metrics.append(counter);

    MetricSnapshot gauge;
    gauge.name = S("temperature");
    gauge.labels = {{S("room"), S("ünïcødé \"quoted\" \\ / \u2603")}};
    gauge.type = MetricType::Gauge;
    gauge.unit = Unit::Percent;
    gauge.value = -3.25e-300;
    gauge.series[size_t(SeriesField::Value)] =
        seriesOf({{t0 + 1000, -1}, {t0 + 1000, -2}, {t0 + 9000, 1e300}});
    metrics->metrics.append(gauge);

    MetricSnapshot nanGauge;
    nanGauge.name = S("temperature"); // same name, no labels: another metric
    nanGauge.type = MetricType::Gauge;
    nanGauge.unit = Unit::BytesPerSecond;
    nanGauge.value = kNaN;
    metrics->metrics.append(nanGauge);

    MetricSnapshot histogram;
    histogram.name = S("http_latency");
    histogram.labels = {{S("host"), S("a")}};
    histogram.help = S("Latency");
    histogram.type = MetricType::Histogram;
    histogram.unit = Unit::Nanoseconds;
    histogram.total = 77;
    histogram.rate = 3.5;
    histogram.summary = {77, 1234.5, 3, 900000, 16.03, 10, 20, 30, 40};
    histogram.interval = {4, 12.5, 1, 9, 3.125, 2, 8, 9, 9};
    auto counts = std::make_shared<HistogramCounts>();
    counts->buckets.assign(Histogram::bucketCount(), 0);
    counts->buckets[0] = 1;
    counts->buckets[7] = 70;
    counts->buckets[size_t(Histogram::bucketCount() - 1)] = 6;
    counts->count = 77;
    counts->sum = 1234.5;
    counts->min = 3;
    counts->max = 900000;
    histogram.cumulative = counts;
    for (SeriesField f : {SeriesField::Rate, SeriesField::P50, SeriesField::P90, SeriesField::P99,
                          SeriesField::Max, SeriesField::Mean})
        histogram.series[size_t(f)] =
            seriesOf({{t0 + 8000, double(int(f))}, {t0 + 9000, double(int(f)) + 0.5}});
    metrics->metrics.append(histogram);
    metrics->events = {{t0 + 1, S("reset"), S("operator"), S("Statistics reset by operator"), 0},
                       {t0 + 2, S("stall"), S("event_loop:gui"), S("stalled"), 123.456}};
    metrics->rebuildIndex();
    snap->metrics = metrics;

    DiagnosticCategory cpu{S("cpu"), S("CPU"), Health::Warning, S("process CPU 91.0% ≥ warning 80%"), {}};
    cpu.values = {{S("process_cpu_percent"), S("Process CPU"), 91.0, {}, Unit::Percent, true},
                  {S("platform"), S("Platform"), 0, S("linux"), Unit::None, true},
                  {S("cores"), S("Cores"), kNaN, {}, Unit::None, false}};
    snap->diagnostics = {
        t0 + 3, Health::Critical, {cpu, {S("disk"), S("Disk"), Health::Critical, S("full"), {}}}};

    snap->eventLoop = {S("gui"), 10,   100,   {5, 50.5, 1, 30, 10.1, 9, 20, 29, 30},          4,
                       1,        true, 250.5, {{t0 + 4, 150.25, false}, {t0 + 5, 1500, true}}};

    snap->http.totals = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    snap->http.pools = {{S("127.0.0.1:1"), 13, 14, 0.75, 15, 16, 17, 18},
                        {S("b:2"), 19, 20, 0, 21, 22, 23, 24}};
    snap->http.breakers = {{S("127.0.0.1:1"), S("half_open"), 0.5, 0.25, 25, 26, 27},
                           {S("b:2 GET /x"), S("forced_open"), 1, 0, 28, 29, -1}};
    snap->http.topCoalescedKeys = {{S("GET http://a/"), 30}};
    snap->http.inFlightKeys = 31;

    snap->database.enabled = true;
    snap->database.storage = {
        Health::Critical, S("disk I/O error"), true, S("sqlite:/data/vega.db"), 4, 2, t0 + 6, 32};
    snap->database.queueDepth = 33;
    snap->database.queueCapacity = 34;
    snap->database.slowThresholdMs = 35;
    snap->database.statements = {{S("SELECT ? FROM t"), 36, 37.5, 1.04, 2.5, 9.75, 38, 39, t0 + 7}};
    snap->database.slowLog = {
        {t0 + 8, S("UPDATE t SET a = ?"), 140.5, S("corr-1"), S("vega_history"), S("locked"), 40}};
    snap->database.connections = {{S("vega_history"), 41, 42.5, 43}};
    snap->database.statementEvictions = 44;

    IntegrationStatus integration;
    integration.name = S("slack");
    integration.kind = IntegrationKind::HomeAssistant;
    integration.target = S("GET http://ha.local:8123/api/");
    integration.state = Health::Warning;
    integration.reason = S("slow: 900 ms");
    integration.latencyMs = 900.5;
    integration.httpStatus = 503;
    integration.lastCheckWallMs = t0 + 9;
    integration.lastSuccessWallMs = t0 + 10;
    integration.lastError = S("HTTP 503");
    integration.lastErrorWallMs = t0 + 11;
    integration.consecutiveFailures = 45;
    integration.checksRun = 46;
    integration.checking = true;
    IntegrationStatus unchecked;
    unchecked.name = S("db");
    unchecked.kind = IntegrationKind::Database;
    snap->integrations = {integration, unchecked};

    snap->memory.sampleWallMs = t0 + 12;
    snap->memory.samplesInWindow = 47;
    snap->memory.lastSampleDurationNs = 48;
    snap->memory.rss = {true, {}, 49, 50.5, 0.95, Trend::Growing, true};
    snap->memory.heap = {false, S("no mallinfo2"), 0, 0, 0.5, Trend::Unknown, false};
    snap->memory.workloadKnown = true;
    snap->memory.workloadSteady = false;
    snap->memory.workloadDriftPerMinute = 0.03;
    snap->memory.types = {{S("HttpCall"), 51, 52.5, 0.875, 10, Trend::Shrinking, false},
                          {S("StreamSubscriber"), 53, 0, 0.5, 10, Trend::Flat, true}};
    snap->memory.suspects = {{S("heap_in_use"), MemorySeriesKind::Heap, Unit::Bytes, 54.5, 0.99, 1048576,
                              t0 + 13, t0 + 14, t0 + 15, 55}};

    StreamInfo stream;
    stream.request = S("GET http://127.0.0.1:9/events?q=…");
    stream.url = QUrl(S("http://127.0.0.1:9/events"));
    stream.shared = true;
    stream.paused = true;
    stream.replayAvailable = true;
    stream.status = 200;
    stream.subscribers = 56;
    stream.bufferedBytes = 57;
    stream.maxSubscriberBuffered = 58;
    stream.replayBytes = 59;
    stream.upstreamBufferedBytes = 60;
    stream.peakUpstreamBufferedBytes = 61;
    stream.bytesIn = 62;
    stream.bytesOut = 63;
    stream.pauses = 64;
    stream.inBytesPerSecond = 65.5;
    stream.outBytesPerSecond = 66.5;
    stream.ageMs = 67;
    stream.timeToFirstByteMs = 68;
    snap->streams = {{stream, StreamInfo{}}, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79};

    auto validation = std::make_shared<ValidationReport>();
    validation->configPath = S("/etc/vega.json");
    validation->startedWallMs = t0 + 16;
    validation->durationMs = 80;
    validation->hostsLookedUp = 81;
    validation->findings = {{Severity::Warning, S("/etc/vega.json"), S("$.integrations.a.url"), 82, 83,
                             S("\"http://x\""), S("plain http")},
                            {Severity::Info, {}, S("$"), 0, 0, {}, S("ok")}};
    snap->validation = validation;

    snap->info = {S("1.2.3"),
                  S("/etc/vega.json"),
                  S("/data"),
                  t0 + 17,
                  S("headless"),
                  true,
                  QJsonObject{{S("metrics"), QJsonObject{{S("series_capacity"), 3600}}},
                              {S("token"), S("<redacted>")}}};
    return snap;
}

/// Sets (or, with an undefined value, removes) the value at `path` ("a.b.0.c"; numbers index arrays).
QJsonValue setAt(const QJsonValue &root, const QStringList &path, const QJsonValue &value)
{
    if (path.isEmpty())
        return value;
    const QStringList rest = path.mid(1);
    if (root.isArray()) {
        QJsonArray a = root.toArray();
        const int i = path.first().toInt();
        if (value.isUndefined() && rest.isEmpty())
            a.removeAt(i);
        else
            a[i] = setAt(a.at(i), rest, value);
        return a;
    }
    QJsonObject o = root.toObject();
    if (value.isUndefined() && rest.isEmpty())
        o.remove(path.first());
    else
        o[path.first()] = setAt(o.value(path.first()), rest, value);
    return o;
}

QJsonObject withValue(const QJsonObject &wire, const QByteArray &path, const QJsonValue &value)
{
    return setAt(wire, QString::fromUtf8(path).split(QLatin1Char('.')), value).toObject();
}

int indexOfMetric(const QJsonObject &wire, const QString &name)
{
    const QJsonArray metrics = wire.value(S("metrics")).toObject().value(S("metrics")).toArray();
    for (int i = 0; i < metrics.size(); ++i)
        if (metrics.at(i).toObject().value(S("name")).toString() == name)
            return i;
    return -1;
}

/// Replaces a random value somewhere in `v` with junk, or removes a key.
QJsonValue mutate(const QJsonValue &v, QRandomGenerator &rng, int depth)
{
    const bool descend = depth < 12 && rng.bounded(10) < 8;
    if (descend && v.isObject() && !v.toObject().isEmpty()) {
        QJsonObject o = v.toObject();
        const QString key = o.keys().at(int(rng.bounded(int(o.size()))));
        if (rng.bounded(20) == 0)
            o.remove(key);
        else
            o[key] = mutate(o.value(key), rng, depth + 1);
        return o;
    }
    if (descend && v.isArray() && !v.toArray().isEmpty()) {
        QJsonArray a = v.toArray();
        const int i = int(rng.bounded(int(a.size())));
        a[i] = mutate(a.at(i), rng, depth + 1);
        return a;
    }
    switch (rng.bounded(10)) {
    case 0:
        return QJsonValue();
    case 1:
        return S("junk");
    case 2:
        return 1.5;
    case 3:
        return -1;
    case 4:
        return QJsonArray{1, S("x"), QJsonValue()};
    case 5:
        return QJsonObject{{S("t"), QJsonArray{1, -5}}, {S("v"), QJsonArray{1}}};
    case 6:
        return 1e300;
    case 7:
        return true;
    case 8:
        return S("nan");
    default:
        return qint64(std::numeric_limits<qint64>::max());
    }
}

} // namespace

class TestSnapshotJson : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::unique_ptr<Engine> m_engine;
    SnapshotPtr m_demo; // a populated demo snapshot with a validation report

    static QString missing(const Snapshot &s)
    {
        QStringList out;
        if (!s.metrics || s.metrics->sequence < 4)
            out << S("4 snapshots");
        if (s.http.pools.isEmpty() || s.http.breakers.isEmpty() || s.http.totals.succeeded == 0)
            out << S("http pools/breakers/traffic");
        if (s.integrations.isEmpty())
            out << S("integrations");
        for (const IntegrationStatus &i : s.integrations)
            if (i.lastCheckWallMs == 0)
                out << S("integration ") + i.name;
        if (s.memory.sampleWallMs == 0 || s.memory.types.isEmpty())
            out << S("memory sample");
        if (s.streams.streams.isEmpty())
            out << S("streams");
        if (!s.database.enabled || s.database.statements.isEmpty())
            out << S("database statements");
        if (s.diagnostics.categories.isEmpty() || s.diagnostics.overall == Health::Unknown)
            out << S("diagnostics");
        return out.join(S(", "));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        EngineOptions options;
        options.dataDir = m_dir.path();
        options.demo = true;
        options.mode = S("headless");
        m_engine = std::make_unique<Engine>(EngineConfig{}, options);
        m_engine->start();
        QTRY_VERIFY2_WITH_TIMEOUT(missing(*m_engine->latest()).isEmpty(),
                                  qPrintable(missing(*m_engine->latest())), 30000);
        QSignalSpy validated(m_engine.get(), &Engine::validationFinished);
        m_engine->validateConfig(S("test"));
        QTRY_VERIFY_WITH_TIMEOUT(!validated.isEmpty(), 30000);
        m_demo = m_engine->publishNow();
        QVERIFY(m_demo->validation);
    }

    void cleanupTestCase()
    {
        m_demo.reset();
        m_engine.reset();
    }

    void demoSnapshotRoundTrip()
    {
        QString error;
        const SnapshotPtr all = roundTrip(*m_demo, {kAllPoints}, nullptr, 3600, &error);
        QVERIFY2(all, qPrintable(error));
        QVERIFY(error.isEmpty());
        CALL(compareSnapshots(*m_demo, *all, SeriesCheck::Exact));

        const SnapshotPtr current = roundTrip(*m_demo, {}, nullptr, 3600, &error);
        QVERIFY2(current, qPrintable(error));
        CALL(compareSnapshots(*m_demo, *current, SeriesCheck::Skip));

        // Something of every kind made it across (the demo populated it).
        QVERIFY(!all->http.pools.isEmpty());
        QVERIFY(!all->http.breakers.isEmpty());
        QVERIFY(!all->integrations.isEmpty());
        QVERIFY(!all->memory.types.isEmpty());
        QVERIFY(!all->streams.streams.isEmpty());
        QVERIFY(!all->database.statements.isEmpty());
        QVERIFY(!all->diagnostics.categories.isEmpty());
        QVERIFY(all->validation);
        QVERIFY(!all->info.effectiveConfig.isEmpty());
        QCOMPARE(all->info.mode, S("headless"));
        QVERIFY(all->info.demo);
    }

    void findWorksOnRebuiltMetrics()
    {
        QString error;
        const SnapshotPtr r = roundTrip(*m_demo, {}, nullptr, 3600, &error);
        QVERIFY2(r, qPrintable(error));
        QVERIFY(m_demo->metrics->metrics.size() > 50);
        for (const MetricSnapshot &m : m_demo->metrics->metrics) {
            const MetricSnapshot *found = r->metrics->find(m.name, m.labels);
            QVERIFY2(found, qPrintable(m.name));
            QCOMPARE(found->name, m.name);
            QCOMPARE(found->labels, m.labels);
            // Label order does not matter to find(), as with the registry's snapshots.
            Labels reversed(m.labels.crbegin(), m.labels.crend());
            QCOMPARE(r->metrics->find(m.name, reversed), found);
            QCOMPARE(r->metrics->findAll(m.name).size(), m_demo->metrics->findAll(m.name).size());
        }
        QVERIFY(!r->metrics->find(S("no_such_metric")));
    }

    void filledSnapshotRoundTripsExactly()
    {
        const auto filled = filledSnapshot();
        QString error;
        const SnapshotPtr r = roundTrip(*filled, {kAllPoints}, nullptr, 3600, &error);
        QVERIFY2(r, qPrintable(error));
        CALL(compareSnapshots(*filled, *r, SeriesCheck::Exact));
        QVERIFY(r->metrics->find(S("temperature")));
        QVERIFY(std::isnan(r->metrics->find(S("temperature"))->value));
        QCOMPARE(r->metrics->find(S("http_requests"), filled->metrics->metrics.at(0).labels)->total,
                 std::numeric_limits<quint64>::max());

        // Without buckets the receiver's cumulative is null, nothing else changes.
        SnapshotWireOptions noBuckets;
        noBuckets.histogramBuckets = false;
        const SnapshotPtr nb = roundTrip(*filled, noBuckets, nullptr, 3600, &error);
        QVERIFY2(nb, qPrintable(error));
        CALL(compareSnapshots(*filled, *nb, SeriesCheck::Skip, false));
        QVERIFY(!nb->metrics->find(S("http_latency"), {{S("host"), S("a")}})->cumulative);
    }

    void emptySnapshotRoundTrips()
    {
        const Snapshot empty;
        QString error;
        const SnapshotPtr r = roundTrip(empty, {}, nullptr, 10, &error);
        QVERIFY2(r, qPrintable(error));
        QVERIFY(!r->metrics);
        QVERIFY(!r->validation);
        CALL(compareSnapshots(empty, *r, SeriesCheck::Exact));
    }

    void specialNumbersAreStringsInTheText()
    {
        const auto filled = filledSnapshot();
        const QByteArray json =
            QJsonDocument(snapshotToWire(*filled, {kAllPoints})).toJson(QJsonDocument::Compact);
        QVERIFY(json.contains("\"nan\""));
        QVERIFY(json.contains("\"inf\""));
        QVERIFY(json.contains("\"-inf\""));
        QVERIFY(json.contains("\"18446744073709551615\"")); // quint64 max
        QVERIFY(json.contains("9007199254740993"));         // exact integer, not a rounded double
        QVERIFY(json.startsWith("{"));
        QCOMPARE(snapshotToWire(*filled).value(S("version")).toInt(), kSnapshotWireVersion);
    }

    void firstMessageReproducesSeriesThenCurrentValuesContinueThem()
    {
        // Every snapshot the engine publishes for a while, demo traffic flowing in between,
        // plus a few published right after one another.
        QList<SnapshotPtr> published;
        const QMetaObject::Connection connection =
            connect(m_engine.get(), &Engine::snapshotAvailable, this,
                    [&published](const SnapshotPtr &s) { published.append(s); });
        QTRY_VERIFY_WITH_TIMEOUT(published.size() >= 3, 30000);
        QTest::qWait(50);
        m_engine->publishNow();
        QThread::msleep(20);
        m_engine->publishNow();
        disconnect(connection);
        for (int i = 1; i < published.size(); ++i)
            QCOMPARE(published.at(i)->metrics->sequence, published.at(i - 1)->metrics->sequence + 1);

        QString error;
        SnapshotPtr received = roundTrip(*published.first(), {kAllPoints}, nullptr, 3600, &error);
        QVERIFY2(received, qPrintable(error));
        CALL(compareSnapshots(*published.first(), *received, SeriesCheck::Exact));

        // Messages without points: the receiver appends the current values as capture() did,
        // so its series equal the engine's own.
        int histogramPoints = 0;
        for (int i = 1; i < published.size(); ++i) {
            const SnapshotPtr previous = received;
            const Snapshot &sent = *published.at(i);
            received = roundTrip(sent, {}, previous.get(), 3600, &error);
            QVERIFY2(received, qPrintable(error));
            CALL_AT(compareSnapshots(sent, *received, SeriesCheck::Exact), "published", i);

            // One point per series that had one appended, with the right value.
            for (const MetricSnapshot &m : received->metrics->metrics) {
                const MetricSnapshot *before = previous->metrics->find(m.name, m.labels);
                if (!before)
                    continue; // created since
                const SeriesField f = m.type == MetricType::Gauge ? SeriesField::Value : SeriesField::Rate;
                QCOMPARE(m.seriesFor(f).size(), std::min(3600, before->seriesFor(f).size() + 1));
                QCOMPARE(m.seriesFor(f).last().tMs, sent.metrics->wallMs);
                SAME_D(m.seriesFor(f).last().value, m.type == MetricType::Gauge ? m.value : m.rate);
                if (m.type == MetricType::Histogram && m.interval.count) {
                    QCOMPARE(m.seriesFor(SeriesField::Max).size(),
                             std::min(3600, before->seriesFor(SeriesField::Max).size() + 1));
                    SAME_D(m.seriesFor(SeriesField::Max).last().value, double(m.interval.max));
                    SAME_D(m.seriesFor(SeriesField::P99).last().value, m.interval.p99);
                    ++histogramPoints;
                }
            }
        }
        QVERIFY(histogramPoints > 0); // the histogram rule was exercised

        // An incremental message with the points since the one before gives the same.
        const Snapshot &last = *published.last();
        const Snapshot &beforeLast = *published.at(published.size() - 2);
        const SnapshotPtr upToBeforeLast = [&] {
            SnapshotPtr r = roundTrip(*published.first(), {kAllPoints}, nullptr, 3600, &error);
            for (int i = 1; r && i < published.size() - 1; ++i)
                r = roundTrip(*published.at(i), {}, r.get(), 3600, &error);
            return r;
        }();
        QVERIFY2(upToBeforeLast, qPrintable(error));
        SnapshotWireOptions since;
        since.seriesSinceMs = beforeLast.metrics->wallMs;
        const SnapshotPtr incremental = roundTrip(last, since, upToBeforeLast.get(), 3600, &error);
        QVERIFY2(incremental, qPrintable(error));
        CALL(compareSnapshots(last, *incremental, SeriesCheck::Exact));

        // The same message twice (a redelivery) adds nothing.
        const SnapshotPtr again = roundTrip(last, {}, received.get(), 3600, &error);
        QVERIFY2(again, qPrintable(error));
        CALL(compareSnapshots(last, *again, SeriesCheck::Exact));
    }

    void currentValuesFollowCaptureRules()
    {
        const auto filled = filledSnapshot();
        QString error;
        const SnapshotPtr r0 = roundTrip(*filled, {kAllPoints}, nullptr, 3600, &error);
        QVERIFY2(r0, qPrintable(error));

        auto next = std::make_shared<Snapshot>(*filled);
        auto metrics = std::make_shared<MetricsSnapshot>(*filled->metrics);
        metrics->wallMs += 1000;
        metrics->metrics[0].rate = 99.5; // counter
        metrics->metrics[1].value = -7;  // gauge
        metrics->metrics[3].rate = 4.25; // histogram with observations in the interval
        metrics->rebuildIndex();
        next->metrics = metrics;
        const qint64 t = metrics->wallMs;
        const SnapshotPtr r1 = roundTrip(*next, {}, r0.get(), 3600, &error);
        QVERIFY2(r1, qPrintable(error));

        const MetricSnapshot &c = r1->metrics->metrics.at(0);
        QCOMPARE(c.seriesFor(SeriesField::Rate).size(), 6);
        QCOMPARE(c.seriesFor(SeriesField::Rate).last().tMs, t);
        SAME_D(c.seriesFor(SeriesField::Rate).last().value, 99.5);
        QVERIFY(c.seriesFor(SeriesField::Value).isEmpty());

        const MetricSnapshot &g = r1->metrics->metrics.at(1);
        QCOMPARE(g.seriesFor(SeriesField::Value).size(), 4);
        SAME_D(g.seriesFor(SeriesField::Value).last().value, -7.0);
        QVERIFY(g.seriesFor(SeriesField::Rate).isEmpty());

        const MetricSnapshot &nanGauge = r1->metrics->metrics.at(2);
        QCOMPARE(nanGauge.seriesFor(SeriesField::Value).size(), 1);
        QVERIFY(std::isnan(nanGauge.seriesFor(SeriesField::Value).last().value));

        const MetricSnapshot &h = r1->metrics->metrics.at(3);
        const HistogramSummary &iv = filled->metrics->metrics.at(3).interval;
        const std::pair<SeriesField, double> expected[] = {
            {SeriesField::Rate, 4.25},  {SeriesField::P50, iv.p50},         {SeriesField::P90, iv.p90},
            {SeriesField::P99, iv.p99}, {SeriesField::Max, double(iv.max)}, {SeriesField::Mean, iv.mean}};
        for (const auto &[field, value] : expected) {
            QCOMPARE(h.seriesFor(field).size(), 3);
            QCOMPARE(h.seriesFor(field).last().tMs, t);
            SAME_D(h.seriesFor(field).last().value, value);
        }

        // A histogram whose interval saw nothing appends only its rate.
        auto quiet = std::make_shared<Snapshot>(*next);
        auto quietMetrics = std::make_shared<MetricsSnapshot>(*metrics);
        quietMetrics->wallMs += 1000;
        quietMetrics->metrics[3].interval = {};
        quietMetrics->rebuildIndex();
        quiet->metrics = quietMetrics;
        const SnapshotPtr r2 = roundTrip(*quiet, {}, r1.get(), 3600, &error);
        QVERIFY2(r2, qPrintable(error));
        const MetricSnapshot &hq = r2->metrics->metrics.at(3);
        QCOMPARE(hq.seriesFor(SeriesField::Rate).size(), 4);
        QCOMPARE(hq.seriesFor(SeriesField::P50).size(), 3);
        QCOMPARE(hq.seriesFor(SeriesField::Mean).size(), 3);

        // A metric whose type changed does not continue the old series.
        auto retyped = std::make_shared<Snapshot>(*quiet);
        auto retypedMetrics = std::make_shared<MetricsSnapshot>(*quietMetrics);
        retypedMetrics->wallMs += 1000;
        retypedMetrics->metrics[1].type = MetricType::Counter;
        retypedMetrics->metrics[1].rate = 2;
        retypedMetrics->rebuildIndex();
        retyped->metrics = retypedMetrics;
        const SnapshotPtr r3 = roundTrip(*retyped, {}, r2.get(), 3600, &error);
        QVERIFY2(r3, qPrintable(error));
        QVERIFY(r3->metrics->metrics.at(1).seriesFor(SeriesField::Value).isEmpty());
        QCOMPARE(r3->metrics->metrics.at(1).seriesFor(SeriesField::Rate).size(), 1);
    }

    void seriesCapacityIsABound()
    {
        const auto filled = filledSnapshot();
        QString error;
        // First message: all five points of the counter, but room for three.
        const SnapshotPtr r0 = roundTrip(*filled, {kAllPoints}, nullptr, 3, &error);
        QVERIFY2(r0, qPrintable(error));
        const TimeSeries &original = filled->metrics->metrics.at(0).seriesFor(SeriesField::Rate);
        const TimeSeries &kept = r0->metrics->metrics.at(0).seriesFor(SeriesField::Rate);
        QCOMPARE(kept.size(), 3);
        QCOMPARE(kept.capacity(), 3);
        for (int i = 0; i < 3; ++i) {
            QCOMPARE(kept.at(i).tMs, original.at(i + 2).tMs);
            SAME_D(kept.at(i).value, original.at(i + 2).value);
        }
        for (const MetricSnapshot &m : r0->metrics->metrics)
            for (const TimeSeries &s : m.series)
                QVERIFY(s.size() <= 3);

        // Continuing keeps the bound, the newest point last.
        auto next = std::make_shared<Snapshot>(*filled);
        auto metrics = std::make_shared<MetricsSnapshot>(*filled->metrics);
        metrics->wallMs += 1000;
        metrics->metrics[0].rate = 5;
        metrics->rebuildIndex();
        next->metrics = metrics;
        const SnapshotPtr r1 = roundTrip(*next, {}, r0.get(), 3, &error);
        QVERIFY2(r1, qPrintable(error));
        const TimeSeries &after = r1->metrics->metrics.at(0).seriesFor(SeriesField::Rate);
        QCOMPARE(after.size(), 3);
        QCOMPARE(after.last().tMs, metrics->wallMs);
        QCOMPARE(after.at(0).tMs, original.at(3).tMs);

        // A smaller capacity than the previous snapshot's series: trimmed to the newest.
        const SnapshotPtr big = roundTrip(*filled, {kAllPoints}, nullptr, 3600, &error);
        QVERIFY2(big, qPrintable(error));
        const SnapshotPtr small = roundTrip(*next, {}, big.get(), 2, &error);
        QVERIFY2(small, qPrintable(error));
        const TimeSeries &trimmed = small->metrics->metrics.at(0).seriesFor(SeriesField::Rate);
        QCOMPARE(trimmed.size(), 2);
        QCOMPARE(trimmed.capacity(), 2);
        QCOMPARE(trimmed.at(0).tMs, original.last().tMs);
        QCOMPARE(trimmed.last().tMs, metrics->wallMs);

        // A nonsensical capacity still bounds to at least one point.
        const SnapshotPtr one = roundTrip(*filled, {kAllPoints}, nullptr, -5, &error);
        QVERIFY2(one, qPrintable(error));
        QCOMPARE(one->metrics->metrics.at(0).seriesFor(SeriesField::Rate).size(), 1);
    }

    void rejectsMalformedInput_data()
    {
        QTest::addColumn<QJsonObject>("wire");
        QTest::addColumn<QStringList>("expected"); // substrings of the error

        const auto filled = filledSnapshot();
        const QJsonObject base = snapshotToWire(*filled);
        const QJsonObject withPoints = snapshotToWire(*filled, {kAllPoints});
        const int counter = indexOfMetric(base, S("http_requests"));
        const int histogram = indexOfMetric(base, S("http_latency"));
        QVERIFY(counter >= 0 && histogram >= 0);
        const QByteArray c = "metrics.metrics." + QByteArray::number(counter);
        const QByteArray h = "metrics.metrics." + QByteArray::number(histogram);

        QTest::newRow("empty object") << QJsonObject() << QStringList{S("version: missing")};
        QTest::newRow("newer version")
            << withValue(base, "version", 2) << QStringList{S("version"), S("unsupported"), S("2")};
        QTest::newRow("version as text") << withValue(base, "version", S("1"))
                                         << QStringList{S("version: expected an integer, got \"1\"")};
        QTest::newRow("missing section")
            << withValue(base, "http", QJsonValue(QJsonValue::Undefined)) << QStringList{S("http: missing")};
        QTest::newRow("missing validation")
            << withValue(base, "validation", QJsonValue(QJsonValue::Undefined))
            << QStringList{S("validation: missing")};
        QTest::newRow("section of wrong type")
            << withValue(base, "memory", QJsonArray()) << QStringList{S("memory: expected an object")};
        QTest::newRow("metrics of wrong type")
            << withValue(base, "metrics", S("x")) << QStringList{S("metrics: expected an object or null")};
        QTest::newRow("metric list missing")
            << withValue(base, "metrics.metrics", QJsonValue(QJsonValue::Undefined))
            << QStringList{S("metrics.metrics: missing")};
        QTest::newRow("unknown metric type")
            << withValue(base, c + ".type", S("bogus"))
            << QStringList{S("metrics.metrics[%1].type").arg(counter), S("\"bogus\""), S("counter")};
        QTest::newRow("metric without name")
            << withValue(base, c + ".name", QJsonValue(QJsonValue::Undefined))
            << QStringList{S("metrics.metrics[%1].name: missing").arg(counter)};
        QTest::newRow("unknown unit")
            << withValue(base, h + ".unit", S("parsecs")) << QStringList{S("unit"), S("\"parsecs\"")};
        QTest::newRow("odd labels") << withValue(base, c + ".labels", QJsonArray{S("host")})
                                    << QStringList{S("labels"), S("key/value")};
        QTest::newRow("label not a string")
            << withValue(base, c + ".labels.1", 5) << QStringList{S("labels[1]: expected a string, got 5")};
        QTest::newRow("count as text") << withValue(base, "http.totals.requests", S("abc"))
                                       << QStringList{S("http.totals.requests"), S("\"abc\"")};
        QTest::newRow("negative count") << withValue(base, "http.totals.requests", -1)
                                        << QStringList{S("http.totals.requests"), S("unsigned"), S("-1")};
        QTest::newRow("fractional int")
            << withValue(base, "eventLoop.intervalMs", 1.5)
            << QStringList{S("eventLoop.intervalMs: expected an integer, got 1.5")};
        QTest::newRow("int out of range") << withValue(base, "eventLoop.intervalMs", qint64(1) << 40)
                                          << QStringList{S("eventLoop.intervalMs"), S("out of range")};
        QTest::newRow("bool as number") << withValue(base, "eventLoop.stalledNow", 1)
                                        << QStringList{S("eventLoop.stalledNow: expected true or false")};
        QTest::newRow("NaN spelled otherwise") << withValue(base, "eventLoop.currentStallMs", S("NaN"))
                                               << QStringList{S("eventLoop.currentStallMs"), S("\"NaN\"")};
        QTest::newRow("unknown kind")
            << withValue(base, "integrations.0.kind", S("fax"))
            << QStringList{S("integrations[0].kind"), S("\"fax\""), S("home_assistant")};
        QTest::newRow("unknown health") << withValue(base, "diagnostics.categories.0.health", S("meh"))
                                        << QStringList{S("diagnostics.categories[0].health"), S("\"meh\"")};
        QTest::newRow("list of wrong type")
            << withValue(base, "diagnostics.categories.0.values", 7)
            << QStringList{S("diagnostics.categories[0].values: expected an array, got 7")};
        QTest::newRow("list item of wrong type") << withValue(base, "memory.types.1", S("x"))
                                                 << QStringList{S("memory.types[1]: expected an object")};
        QTest::newRow("unknown severity")
            << withValue(base, "validation.findings.0.severity", S("fatal"))
            << QStringList{S("validation.findings[0].severity"), S("\"fatal\"")};
        QTest::newRow("validation of wrong type")
            << withValue(base, "validation", 5) << QStringList{S("validation: expected an object, got 5")};
        QTest::newRow("bad url") << withValue(base, "streams.streams.0.url", S("http://[::1"))
                                 << QStringList{S("streams.streams[0].url"), S("invalid URL")};
        QTest::newRow("event of wrong type")
            << withValue(base, "metrics.events.0.wallMs", QJsonObject())
            << QStringList{S("metrics.events[0].wallMs: expected an integer, got an object")};
        QTest::newRow("config not an object") << withValue(base, "info.effectiveConfig", QJsonArray())
                                              << QStringList{S("info.effectiveConfig: expected an object")};
        QTest::newRow("duplicate metric")
            << withValue(base, "metrics.metrics",
                         base.value(S("metrics")).toObject().value(S("metrics")).toArray() +
                             base.value(S("metrics")).toObject().value(S("metrics")).toArray().at(counter))
            << QStringList{S("metrics.metrics[%1]").arg(counter), S("appears again")};
        QTest::newRow("bucket index out of range")
            << withValue(base, h + ".buckets.b.0", 99999) << QStringList{S("buckets.b[0]"), S("99999")};
        QTest::newRow("too many buckets")
            << withValue(base, h + ".buckets.size", 1 << 20) << QStringList{S("buckets.size")};
        QTest::newRow("points without seriesSinceMs") << withValue(base, c + ".series",
                                                                   withPoints.value(S("metrics"))
                                                                       .toObject()
                                                                       .value(S("metrics"))
                                                                       .toArray()
                                                                       .at(counter)
                                                                       .toObject()
                                                                       .value(S("series")))
                                                      << QStringList{S("series"), S("seriesSinceMs")};
        QTest::newRow("times and values differ")
            << withValue(withPoints, c + ".series.rate.v", QJsonArray{1})
            << QStringList{S("series.rate.v"), S("1 values for 5 times")};
        QTest::newRow("time goes backwards") << withValue(withPoints, c + ".series.rate.t.2", -1)
                                             << QStringList{S("series.rate.t[2]"), S("backwards")};
        QTest::newRow("time overflows")
            << withValue(withPoints, c + ".series.rate.t.2", std::numeric_limits<qint64>::max())
            << QStringList{S("series.rate.t[2]"), S("overflows")};
        QTest::newRow("unknown series field")
            << withValue(withPoints, c + ".series.speed",
                         QJsonObject{{S("t"), QJsonArray()}, {S("v"), QJsonArray()}})
            << QStringList{S("unknown series field \"speed\"")};
        QTest::newRow("series value of wrong type") << withValue(withPoints, c + ".series.rate.v.0", true)
                                                    << QStringList{S("series.rate.v[0]"), S("true")};
    }

    void rejectsMalformedInput()
    {
        QFETCH(QJsonObject, wire);
        QFETCH(QStringList, expected);
        QString error = S("stale");
        const SnapshotPtr r = snapshotFromWire(wire, nullptr, 100, &error);
        QVERIFY(!r);
        for (const QString &part : expected)
            QVERIFY2(error.contains(part), qPrintable(S("\"") + error + S("\" lacks \"") + part + S("\"")));
    }

    void rejectsHugeArrays()
    {
        const auto filled = filledSnapshot();
        const QJsonObject base = snapshotToWire(*filled);
        const QJsonObject withPoints = snapshotToWire(*filled, {kAllPoints});
        const int counter = indexOfMetric(base, S("http_requests"));
        const QByteArray c = "metrics.metrics." + QByteArray::number(counter);

        QJsonArray nulls;
        for (int i = 0; i <= std::max({kSnapshotWireMaxMetrics, kSnapshotWireMaxListItems,
                                       kSnapshotWireMaxSeriesPoints});
             ++i)
            nulls.append(QJsonValue());
        QJsonArray manyLabels;
        for (int i = 0; i < 2 * kSnapshotWireMaxListItems + 2; ++i)
            manyLabels.append(S("k"));
        QJsonArray ones;
        for (int i = 0; i <= kSnapshotWireMaxSeriesPoints; ++i)
            ones.append(1);

        const std::pair<QJsonObject, QString> cases[] = {
            {withValue(base, "metrics.metrics", nulls),
             S("metrics.metrics: %1 metrics exceed the limit").arg(nulls.size())},
            {withValue(base, "metrics.events", nulls),
             S("metrics.events: %1 items exceed the limit").arg(nulls.size())},
            {withValue(base, "http.pools", nulls),
             S("http.pools: %1 items exceed the limit").arg(nulls.size())},
            {withValue(base, c + ".labels", manyLabels), S("labels")},
            {withValue(withPoints, c + ".series.rate", QJsonObject{{S("t"), ones}, {S("v"), ones}}),
             S("series.rate.t: %1 points exceed the limit").arg(ones.size())},
        };
        for (const auto &[wire, expected] : cases) {
            QString error;
            QVERIFY(!snapshotFromWire(wire, nullptr, 100, &error));
            QVERIFY2(error.contains(expected), qPrintable(error));
        }
    }

    void survivesRandomMutations()
    {
        const QJsonObject bases[] = {snapshotToWire(*m_demo), snapshotToWire(*m_demo, {kAllPoints}),
                                     snapshotToWire(*filledSnapshot(), {kAllPoints})};
        QRandomGenerator rng(20240611);
        int rejected = 0;
        int accepted = 0;
        for (int i = 0; i < 300; ++i) {
            const QJsonObject &base = bases[i % 3];
            QJsonValue mutated = base;
            const int mutations = 1 + int(rng.bounded(3));
            for (int m = 0; m < mutations; ++m)
                mutated = mutate(mutated, rng, 0);
            QString error;
            const SnapshotPtr r = snapshotFromWire(mutated.toObject(), m_demo.get(), 50, &error);
            if (r) {
                QVERIFY(error.isEmpty());
                ++accepted;
            } else {
                QVERIFY(!error.isEmpty());
                QVERIFY2(error.contains(QLatin1Char(':')), qPrintable(error)); // "<path>: <problem>"
                ++rejected;
            }
        }
        qInfo("random mutations: %d rejected, %d accepted (harmless)", rejected, accepted);
        QVERIFY(rejected > 50);
    }

    void reportsMessageSizes()
    {
        QElapsedTimer timer;
        timer.start();
        const QJsonObject current = snapshotToWire(*m_demo);
        const qint64 encodeNs = timer.nsecsElapsed();
        const QByteArray currentBytes = QJsonDocument(current).toJson(QJsonDocument::Compact);
        SnapshotWireOptions noBuckets;
        noBuckets.histogramBuckets = false;
        const QByteArray noBucketBytes =
            QJsonDocument(snapshotToWire(*m_demo, noBuckets)).toJson(QJsonDocument::Compact);
        const QByteArray allBytes =
            QJsonDocument(snapshotToWire(*m_demo, {kAllPoints})).toJson(QJsonDocument::Compact);
        QString error;
        SnapshotPtr r;
        timer.restart();
        for (int i = 0; i < 10; ++i)
            r = snapshotFromWire(current, m_demo.get(), 3600, &error);
        const qint64 decodeNs = timer.nsecsElapsed() / 10;
        QVERIFY2(r, qPrintable(error));
        QStringList sections;
        for (auto it = current.constBegin(); it != current.constEnd(); ++it) {
            const QJsonValue v = it.value();
            const qsizetype size =
                v.isObject()  ? QJsonDocument(v.toObject()).toJson(QJsonDocument::Compact).size()
                : v.isArray() ? QJsonDocument(v.toArray()).toJson(QJsonDocument::Compact).size()
                              : 0;
            sections << it.key() + QLatin1Char(' ') + QString::number(size);
        }
        const QJsonObject metricsSection = current.value(S("metrics")).toObject();
        sections << S("(events %1)")
                        .arg(QJsonDocument(metricsSection.value(S("events")).toArray())
                                 .toJson(QJsonDocument::Compact)
                                 .size());
        qInfo("bytes by section: %s", qPrintable(sections.join(S(", "))));
        int points = 0;
        for (const MetricSnapshot &m : m_demo->metrics->metrics)
            for (const TimeSeries &s : m.series)
                points += s.size();
        qInfo("demo snapshot: %d metrics, %d events, %d series points", int(m_demo->metrics->metrics.size()),
              int(m_demo->metrics->events.size()), points);
        qInfo("message without series points: %d bytes (%d without histogram buckets)",
              int(currentBytes.size()), int(noBucketBytes.size()));
        qInfo("message with every series point: %d bytes", int(allBytes.size()));
        qInfo("snapshotToWire without points: %.2f ms; snapshotFromWire continuing the previous: %.2f ms",
              double(encodeNs) / 1e6, double(decodeNs) / 1e6);
        QVERIFY(allBytes.size() > currentBytes.size());
    }
};

QTEST_GUILESS_MAIN(TestSnapshotJson)
#include "tst_snapshotjson.moc"
