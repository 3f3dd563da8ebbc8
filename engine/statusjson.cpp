#include "statusjson.h"

#include "systemdiagnostics.h"

#include <QDateTime>

namespace vega {

namespace {
QJsonValue isoOrNull(qint64 wallMs)
{
    if (wallMs <= 0)
        return QJsonValue();
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC).toString(Qt::ISODateWithMs);
}

QJsonObject processMemoryToJson(const ProcessMemoryStatus &s)
{
    QJsonObject o;
    o.insert(QStringLiteral("available"), s.available);
    if (!s.available) {
        o.insert(QStringLiteral("unavailable_reason"), s.unavailableReason);
        return o;
    }
    o.insert(QStringLiteral("bytes"), double(s.bytes));
    o.insert(QStringLiteral("growth_bytes_per_minute"), s.slopeBytesPerMinute);
    o.insert(QStringLiteral("confidence"), s.confidence);
    o.insert(QStringLiteral("trend"), trendName(s.trend));
    o.insert(QStringLiteral("suspect"), s.suspect);
    return o;
}
} // namespace

QJsonArray integrationsToJson(const QList<IntegrationStatus> &integrations)
{
    QJsonArray out;
    for (const IntegrationStatus &s : integrations) {
        QJsonObject o;
        o.insert(QStringLiteral("name"), s.name);
        o.insert(QStringLiteral("kind"), integrationKindName(s.kind));
        o.insert(QStringLiteral("target"), s.target);
        o.insert(QStringLiteral("state"), integrationStateName(s.state));
        o.insert(QStringLiteral("health"), healthName(s.state));
        o.insert(QStringLiteral("reason"), s.reason);
        o.insert(QStringLiteral("latency_ms"), s.latencyMs < 0 ? QJsonValue() : QJsonValue(s.latencyMs));
        o.insert(QStringLiteral("http_status"), s.httpStatus > 0 ? QJsonValue(s.httpStatus) : QJsonValue());
        o.insert(QStringLiteral("last_check"), isoOrNull(s.lastCheckWallMs));
        o.insert(QStringLiteral("last_success"), isoOrNull(s.lastSuccessWallMs));
        o.insert(QStringLiteral("last_error"), s.lastError.isEmpty() ? QJsonValue() : QJsonValue(s.lastError));
        o.insert(QStringLiteral("last_error_at"), isoOrNull(s.lastErrorWallMs));
        o.insert(QStringLiteral("consecutive_failures"), s.consecutiveFailures);
        o.insert(QStringLiteral("checks_run"), double(s.checksRun));
        out.append(o);
    }
    return out;
}

QJsonObject memoryToJson(const MemorySummary &m)
{
    QJsonObject o;
    o.insert(QStringLiteral("sampled_at"), isoOrNull(m.sampleWallMs));
    o.insert(QStringLiteral("samples_in_window"), m.samplesInWindow);
    o.insert(QStringLiteral("rss"), processMemoryToJson(m.rss));
    o.insert(QStringLiteral("heap_in_use"), processMemoryToJson(m.heap));
    QJsonObject workload;
    workload.insert(QStringLiteral("known"), m.workloadKnown);
    workload.insert(QStringLiteral("steady"), m.workloadSteady);
    workload.insert(QStringLiteral("drift_per_minute"), m.workloadDriftPerMinute);
    o.insert(QStringLiteral("workload"), workload);
    QJsonArray types;
    for (const TrackedTypeStatus &t : m.types) {
        QJsonObject to;
        to.insert(QStringLiteral("type"), t.name);
        to.insert(QStringLiteral("live"), double(t.live));
        to.insert(QStringLiteral("growth_per_minute"), t.slopePerMinute);
        to.insert(QStringLiteral("confidence"), t.confidence);
        to.insert(QStringLiteral("threshold_per_minute"), t.thresholdPerMinute);
        to.insert(QStringLiteral("trend"), trendName(t.trend));
        to.insert(QStringLiteral("suspect"), t.suspect);
        types.append(to);
    }
    o.insert(QStringLiteral("tracked_types"), types);
    QJsonArray suspects;
    for (const LeakSuspect &s : m.suspects) {
        QJsonObject so;
        so.insert(QStringLiteral("type"), s.type);
        so.insert(QStringLiteral("unit"), s.unit == Unit::Bytes ? QStringLiteral("bytes") : QStringLiteral("objects"));
        so.insert(QStringLiteral("growth_per_minute"), s.growthPerMinute);
        so.insert(QStringLiteral("confidence"), s.confidence);
        so.insert(QStringLiteral("threshold_per_minute"), s.thresholdPerMinute);
        so.insert(QStringLiteral("first_seen"), isoOrNull(s.firstSeenWallMs));
        so.insert(QStringLiteral("raised_at"), isoOrNull(s.raisedWallMs));
        so.insert(QStringLiteral("current"), s.current);
        suspects.append(so);
    }
    o.insert(QStringLiteral("suspects"), suspects);
    return o;
}

QJsonObject streamsToJson(const StreamRelaySummary &s)
{
    QJsonObject o;
    o.insert(QStringLiteral("active_streams"), s.activeStreams);
    o.insert(QStringLiteral("subscribers"), s.subscribers);
    o.insert(QStringLiteral("buffered_bytes"), double(s.bufferedBytes));
    o.insert(QStringLiteral("streams_opened"), double(s.streamsOpened));
    o.insert(QStringLiteral("pauses"), double(s.pauses));
    o.insert(QStringLiteral("resumes"), double(s.resumes));
    o.insert(QStringLiteral("dropped_chunks"), double(s.droppedChunks));
    o.insert(QStringLiteral("disconnects"), double(s.disconnects));
    o.insert(QStringLiteral("shared_joins"), double(s.sharedJoins));
    o.insert(QStringLiteral("bytes_in"), double(s.bytesIn));
    o.insert(QStringLiteral("bytes_out"), double(s.bytesOut));
    QJsonArray streams;
    for (const StreamInfo &i : s.streams) {
        QJsonObject so;
        so.insert(QStringLiteral("request"), i.request);
        so.insert(QStringLiteral("shared"), i.shared);
        so.insert(QStringLiteral("paused"), i.paused);
        so.insert(QStringLiteral("status"), i.status);
        so.insert(QStringLiteral("subscribers"), i.subscribers);
        so.insert(QStringLiteral("buffered_bytes"), double(i.bufferedBytes));
        so.insert(QStringLiteral("max_subscriber_buffered_bytes"), double(i.maxSubscriberBuffered));
        so.insert(QStringLiteral("replay_bytes"), double(i.replayBytes));
        so.insert(QStringLiteral("bytes_in"), double(i.bytesIn));
        so.insert(QStringLiteral("bytes_out"), double(i.bytesOut));
        so.insert(QStringLiteral("pauses"), double(i.pauses));
        so.insert(QStringLiteral("in_bytes_per_second"), i.inBytesPerSecond);
        so.insert(QStringLiteral("out_bytes_per_second"), i.outBytesPerSecond);
        so.insert(QStringLiteral("age_ms"), double(i.ageMs));
        so.insert(QStringLiteral("time_to_first_byte_ms"),
                  i.timeToFirstByteMs < 0 ? QJsonValue() : QJsonValue(double(i.timeToFirstByteMs)));
        streams.append(so);
    }
    o.insert(QStringLiteral("streams"), streams);
    return o;
}

QJsonValue validationToJson(const ValidationReport *report)
{
    if (!report)
        return QJsonValue();
    QJsonObject o;
    o.insert(QStringLiteral("config_path"), report->configPath.isEmpty() ? QJsonValue() : QJsonValue(report->configPath));
    o.insert(QStringLiteral("started_at"), isoOrNull(report->startedWallMs));
    o.insert(QStringLiteral("duration_ms"), double(report->durationMs));
    o.insert(QStringLiteral("hosts_looked_up"), report->hostsLookedUp);
    o.insert(QStringLiteral("errors"), report->errorCount());
    o.insert(QStringLiteral("warnings"), report->warningCount());
    o.insert(QStringLiteral("ok"), report->ok());
    QJsonArray findings;
    for (const ConfigFinding &f : report->findings) {
        QJsonObject fo;
        fo.insert(QStringLiteral("severity"), severityName(f.severity));
        fo.insert(QStringLiteral("path"), f.path);
        fo.insert(QStringLiteral("file"), f.file.isEmpty() ? QJsonValue() : QJsonValue(f.file));
        fo.insert(QStringLiteral("line"), f.line > 0 ? QJsonValue(f.line) : QJsonValue());
        fo.insert(QStringLiteral("column"), f.column > 0 ? QJsonValue(f.column) : QJsonValue());
        fo.insert(QStringLiteral("value"), f.value.isEmpty() ? QJsonValue() : QJsonValue(f.value));
        fo.insert(QStringLiteral("message"), f.message);
        findings.append(fo);
    }
    o.insert(QStringLiteral("findings"), findings);
    return o;
}

} // namespace vega
