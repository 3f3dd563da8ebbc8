#include "report.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>

namespace vega {

namespace {

QString isoUtc(qint64 wallMs)
{
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC).toString(Qt::ISODateWithMs);
}

QJsonObject labelsToJson(const Labels &labels)
{
    QJsonObject o;
    for (const auto &l : labels)
        o.insert(l.first, l.second);
    return o;
}

QJsonObject summaryToJson(const HistogramSummary &s, double scale)
{
    // scale converts the recorded unit into the unit named by the caller's key.
    QJsonObject o;
    o.insert(QStringLiteral("count"), qint64(s.count));
    o.insert(QStringLiteral("min"), double(s.min) * scale);
    o.insert(QStringLiteral("max"), double(s.max) * scale);
    o.insert(QStringLiteral("mean"), s.mean * scale);
    o.insert(QStringLiteral("p50"), s.p50 * scale);
    o.insert(QStringLiteral("p90"), s.p90 * scale);
    o.insert(QStringLiteral("p99"), s.p99 * scale);
    o.insert(QStringLiteral("p999"), s.p999 * scale);
    return o;
}

QJsonObject eventLoopToJson(const EventLoopSummary &loop)
{
    QJsonObject o;
    o.insert(QStringLiteral("thread"), loop.thread);
    o.insert(QStringLiteral("interval_ms"), loop.intervalMs);
    o.insert(QStringLiteral("stall_threshold_ms"), loop.stallThresholdMs);
    o.insert(QStringLiteral("lag_ms"), summaryToJson(loop.lagNs, 1e-6));
    o.insert(QStringLiteral("stalls_over_100ms"), qint64(loop.stallsOver100ms));
    o.insert(QStringLiteral("stalls_over_1s"), qint64(loop.stallsOver1s));
    o.insert(QStringLiteral("stalled_now"), loop.stalledNow);
    o.insert(QStringLiteral("current_stall_ms"), loop.currentStallMs);
    QJsonArray stalls;
    for (const StallRecord &s : loop.recentStalls) {
        QJsonObject st;
        st.insert(QStringLiteral("start"), isoUtc(s.startWallMs));
        st.insert(QStringLiteral("duration_ms"), s.durationMs);
        st.insert(QStringLiteral("ongoing"), s.ongoing);
        stalls.append(st);
    }
    o.insert(QStringLiteral("recent_stalls"), stalls);
    return o;
}

QJsonObject diagnosticsToJson(const DiagnosticsReport &report)
{
    QJsonObject o;
    o.insert(QStringLiteral("sampled_at"), report.wallMs ? QJsonValue(isoUtc(report.wallMs)) : QJsonValue());
    o.insert(QStringLiteral("overall"), healthName(report.overall));
    QJsonArray categories;
    for (const DiagnosticCategory &c : report.categories) {
        QJsonObject co;
        co.insert(QStringLiteral("id"), c.id);
        co.insert(QStringLiteral("title"), c.title);
        co.insert(QStringLiteral("health"), healthName(c.health));
        co.insert(QStringLiteral("reason"), c.reason);
        QJsonArray values;
        for (const DiagnosticValue &v : c.values) {
            QJsonObject vo;
            vo.insert(QStringLiteral("key"), v.key);
            vo.insert(QStringLiteral("label"), v.label);
            vo.insert(QStringLiteral("available"), v.available);
            if (!v.available)
                vo.insert(QStringLiteral("value"), QJsonValue());
            else if (!v.text.isEmpty())
                vo.insert(QStringLiteral("value"), v.text);
            else
                vo.insert(QStringLiteral("value"), v.number);
            const QString unit = unitSymbol(v.unit);
            if (!unit.isEmpty())
                vo.insert(QStringLiteral("unit"), unit);
            values.append(vo);
        }
        co.insert(QStringLiteral("values"), values);
        categories.append(co);
    }
    o.insert(QStringLiteral("categories"), categories);
    return o;
}

QJsonObject httpToJson(const HttpClientSummary &http)
{
    QJsonObject o;
    const HttpTotals &t = http.totals;
    QJsonObject totals;
    totals.insert(QStringLiteral("requests"), qint64(t.requests));
    totals.insert(QStringLiteral("succeeded"), qint64(t.succeeded));
    totals.insert(QStringLiteral("failed"), qint64(t.failed));
    totals.insert(QStringLiteral("backend_requests"), qint64(t.backendRequests));
    totals.insert(QStringLiteral("coalesced"), qint64(t.coalesced));
    totals.insert(QStringLiteral("cache_hits"), qint64(t.cacheHits));
    totals.insert(QStringLiteral("cache_misses"), qint64(t.cacheMisses));
    totals.insert(QStringLiteral("connections_opened"), qint64(t.connectionsOpened));
    totals.insert(QStringLiteral("connection_reuse_ratio"), t.reuseRatio());
    totals.insert(QStringLiteral("breaker_rejections"), qint64(t.breakerRejections));
    totals.insert(QStringLiteral("retries"), qint64(t.retries));
    totals.insert(QStringLiteral("rate_limited"), qint64(t.rateLimited));
    o.insert(QStringLiteral("totals"), totals);
    o.insert(QStringLiteral("in_flight_keys"), http.inFlightKeys);
    QJsonArray pools;
    for (const HostPoolStats &p : http.pools) {
        QJsonObject po;
        po.insert(QStringLiteral("host"), p.host);
        po.insert(QStringLiteral("requests"), qint64(p.requests));
        po.insert(QStringLiteral("connections_opened"), qint64(p.connectionsOpened));
        po.insert(QStringLiteral("reuse_ratio"), p.reuseRatio);
        po.insert(QStringLiteral("active"), p.active);
        po.insert(QStringLiteral("pending"), p.pending);
        po.insert(QStringLiteral("max_connections"), p.maxConnections);
        po.insert(QStringLiteral("idle_cleanups"), qint64(p.idleCleanups));
        pools.append(po);
    }
    o.insert(QStringLiteral("pools"), pools);
    QJsonArray breakers;
    for (const BreakerInfo &b : http.breakers) {
        QJsonObject bo;
        bo.insert(QStringLiteral("name"), b.name);
        bo.insert(QStringLiteral("state"), b.state);
        bo.insert(QStringLiteral("failure_rate"), b.failureRate);
        bo.insert(QStringLiteral("slow_call_rate"), b.slowCallRate);
        bo.insert(QStringLiteral("calls_in_window"), b.callsInWindow);
        bo.insert(QStringLiteral("rejected"), qint64(b.rejected));
        bo.insert(QStringLiteral("open_remaining_ms"), b.openRemainingMs);
        breakers.append(bo);
    }
    o.insert(QStringLiteral("breakers"), breakers);
    QJsonArray keys;
    for (const TopKey &k : http.topCoalescedKeys) {
        QJsonObject ko;
        ko.insert(QStringLiteral("key"), k.key);
        ko.insert(QStringLiteral("coalesced"), qint64(k.coalesced));
        keys.append(ko);
    }
    o.insert(QStringLiteral("top_coalesced_keys"), keys);
    return o;
}

QJsonArray metricsToJson(const MetricsSnapshot &m)
{
    QJsonArray out;
    for (const MetricSnapshot &ms : m.metrics) {
        QJsonObject o;
        o.insert(QStringLiteral("name"), ms.name);
        if (!ms.labels.isEmpty())
            o.insert(QStringLiteral("labels"), labelsToJson(ms.labels));
        o.insert(QStringLiteral("type"), metricTypeName(ms.type));
        const QString unit = unitSymbol(ms.unit);
        if (!unit.isEmpty())
            o.insert(QStringLiteral("unit"), unit);
        if (!ms.help.isEmpty())
            o.insert(QStringLiteral("help"), ms.help);
        switch (ms.type) {
        case MetricType::Counter:
            o.insert(QStringLiteral("total"), qint64(ms.total));
            o.insert(QStringLiteral("since_reset"), qint64(ms.sinceReset));
            o.insert(QStringLiteral("rate_per_second"), ms.rate);
            break;
        case MetricType::Gauge:
            o.insert(QStringLiteral("value"), ms.value);
            break;
        case MetricType::Histogram:
            o.insert(QStringLiteral("total_count"), qint64(ms.total));
            o.insert(QStringLiteral("since_reset"), summaryToJson(ms.summary, 1.0));
            o.insert(QStringLiteral("last_interval"), summaryToJson(ms.interval, 1.0));
            break;
        }
        out.append(o);
    }
    return out;
}

QJsonObject databaseToJson(const DatabaseSummary &db)
{
    QJsonObject o;
    o.insert(QStringLiteral("enabled"), db.enabled);
    QJsonObject storage;
    storage.insert(QStringLiteral("health"), healthName(db.storage.health));
    storage.insert(QStringLiteral("error"), db.storage.error.isEmpty() ? QJsonValue() : QJsonValue(db.storage.error));
    storage.insert(QStringLiteral("fatal"), db.storage.fatal);
    storage.insert(QStringLiteral("location"), db.storage.location);
    storage.insert(QStringLiteral("schema_version"), db.storage.schemaVersion);
    storage.insert(QStringLiteral("outage_since"),
                   db.storage.outageSinceMs ? QJsonValue(isoUtc(db.storage.outageSinceMs)) : QJsonValue());
    storage.insert(QStringLiteral("retries"), db.storage.retries);
    storage.insert(QStringLiteral("queue_depth"), db.queueDepth);
    storage.insert(QStringLiteral("queue_capacity"), db.queueCapacity);
    o.insert(QStringLiteral("storage"), storage);
    o.insert(QStringLiteral("slow_threshold_ms"), db.slowThresholdMs);
    o.insert(QStringLiteral("statement_evictions"), qint64(db.statementEvictions));
    QJsonArray statements;
    for (const StatementStats &st : db.statements) {
        QJsonObject so;
        so.insert(QStringLiteral("statement"), st.normalized);
        so.insert(QStringLiteral("calls"), qint64(st.calls));
        so.insert(QStringLiteral("total_ms"), st.totalMs);
        so.insert(QStringLiteral("mean_ms"), st.meanMs);
        so.insert(QStringLiteral("p95_ms"), st.p95Ms);
        so.insert(QStringLiteral("max_ms"), st.maxMs);
        so.insert(QStringLiteral("rows"), qint64(st.rows));
        so.insert(QStringLiteral("errors"), qint64(st.errors));
        so.insert(QStringLiteral("last_call"), isoUtc(st.lastCallWallMs));
        statements.append(so);
    }
    o.insert(QStringLiteral("statements"), statements);
    QJsonArray slow;
    for (const SlowQuery &q : db.slowLog) {
        QJsonObject qo;
        qo.insert(QStringLiteral("time"), isoUtc(q.wallMs));
        qo.insert(QStringLiteral("statement"), q.normalized);
        qo.insert(QStringLiteral("duration_ms"), q.durationMs);
        qo.insert(QStringLiteral("correlation_id"), q.correlationId);
        qo.insert(QStringLiteral("connection"), q.connection);
        qo.insert(QStringLiteral("rows"), qint64(q.rows));
        qo.insert(QStringLiteral("error"), q.error.isEmpty() ? QJsonValue() : QJsonValue(q.error));
        slow.append(qo);
    }
    o.insert(QStringLiteral("slow_queries"), slow);
    QJsonArray connections;
    for (const ConnectionUsage &c : db.connections) {
        QJsonObject co;
        co.insert(QStringLiteral("connection"), c.connection);
        co.insert(QStringLiteral("queries"), qint64(c.queries));
        co.insert(QStringLiteral("total_ms"), c.totalMs);
        co.insert(QStringLiteral("errors"), qint64(c.errors));
        connections.append(co);
    }
    o.insert(QStringLiteral("connections"), connections);
    return o;
}

} // namespace

QJsonObject snapshotToJson(const Snapshot &snapshot)
{
    QJsonObject root;
    root.insert(QStringLiteral("format"), QStringLiteral("vega-console-report"));
    root.insert(QStringLiteral("format_version"), kReportFormatVersion);
    root.insert(QStringLiteral("generated_at"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs));

    QJsonObject engine;
    engine.insert(QStringLiteral("version"), snapshot.info.version);
    engine.insert(QStringLiteral("mode"), snapshot.info.mode);
    engine.insert(QStringLiteral("demo_workload"), snapshot.info.demo);
    engine.insert(QStringLiteral("config_path"),
                  snapshot.info.configPath.isEmpty() ? QJsonValue() : QJsonValue(snapshot.info.configPath));
    engine.insert(QStringLiteral("data_dir"), snapshot.info.dataDir);
    engine.insert(QStringLiteral("started_at"), isoUtc(snapshot.info.startedWallMs));
    engine.insert(QStringLiteral("effective_config"), snapshot.info.effectiveConfig);
    root.insert(QStringLiteral("engine"), engine);

    if (snapshot.metrics) {
        const MetricsSnapshot &m = *snapshot.metrics;
        QJsonObject meta;
        meta.insert(QStringLiteral("sequence"), qint64(m.sequence));
        meta.insert(QStringLiteral("taken_at"), isoUtc(m.wallMs));
        meta.insert(QStringLiteral("interval_ms"), m.intervalMs);
        meta.insert(QStringLiteral("reset_count"), m.resetCount);
        meta.insert(QStringLiteral("last_reset_at"), m.lastResetWallMs ? QJsonValue(isoUtc(m.lastResetWallMs)) : QJsonValue());
        root.insert(QStringLiteral("snapshot"), meta);
        root.insert(QStringLiteral("metrics"), metricsToJson(m));
        QJsonArray events;
        for (const EngineEvent &e : m.events) {
            QJsonObject eo;
            eo.insert(QStringLiteral("time"), isoUtc(e.wallMs));
            eo.insert(QStringLiteral("kind"), e.kind);
            eo.insert(QStringLiteral("source"), e.source);
            eo.insert(QStringLiteral("message"), e.message);
            if (e.durationMs > 0)
                eo.insert(QStringLiteral("duration_ms"), e.durationMs);
            events.append(eo);
        }
        root.insert(QStringLiteral("events"), events);
    }
    root.insert(QStringLiteral("event_loop"), eventLoopToJson(snapshot.eventLoop));
    root.insert(QStringLiteral("diagnostics"), diagnosticsToJson(snapshot.diagnostics));
    root.insert(QStringLiteral("http"), httpToJson(snapshot.http));
    root.insert(QStringLiteral("database"), databaseToJson(snapshot.database));
    return root;
}

bool checkReportPath(const QString &path, QString *error)
{
    const QFileInfo info(path);
    const QString suffix = info.suffix().toLower();
    if (suffix != QLatin1String("json")) {
        *error = QStringLiteral("cannot write report %1: unsupported format \"%2\" (supported: .json)")
                     .arg(path, suffix.isEmpty() ? QStringLiteral("(no extension)") : QLatin1Char('.') + suffix);
        return false;
    }
    if (info.isDir()) {
        *error = QStringLiteral("cannot write report %1: it is a directory").arg(path);
        return false;
    }
    const QFileInfo dir(info.absolutePath());
    if (!dir.exists()) {
        *error = QStringLiteral("cannot write report %1: directory %2 does not exist").arg(path, dir.filePath());
        return false;
    }
    if (!dir.isWritable() || (info.exists() && !info.isWritable())) {
        *error = QStringLiteral("cannot write report %1: permission denied").arg(path);
        return false;
    }
    return true;
}

bool writeReport(const Snapshot &snapshot, const QString &path, QString *error)
{
    if (!checkReportPath(path, error))
        return false;
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write report %1: %2").arg(path, file.errorString());
        return false;
    }
    file.write(QJsonDocument(snapshotToJson(snapshot)).toJson(QJsonDocument::Indented));
    if (!file.commit()) {
        *error = QStringLiteral("cannot write report %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace vega
