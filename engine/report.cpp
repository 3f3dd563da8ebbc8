#include "report.h"

#include "reportbuilder.h"
#include "statusjson.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSysInfo>

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

QJsonObject diagnosticsToJsonImpl(const DiagnosticsReport &report, bool withValues)
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
        if (!withValues) {
            categories.append(co);
            continue;
        }
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

QJsonArray metricsToJsonImpl(const MetricsSnapshot &m)
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

QJsonObject databaseToJsonImpl(const DatabaseSummary &db)
{
    QJsonObject o;
    o.insert(QStringLiteral("enabled"), db.enabled);
    QJsonObject storage;
    storage.insert(QStringLiteral("health"), healthName(db.storage.health));
    storage.insert(QStringLiteral("error"),
                   db.storage.error.isEmpty() ? QJsonValue() : QJsonValue(db.storage.error));
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
        qo.insert(QStringLiteral("error"),
                  q.error.isEmpty() ? QJsonValue() : QJsonValue(scrubSecrets(q.error)));
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

QJsonObject topKeysAndTotals(const HttpClientSummary &http)
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

struct SectionInfo {
    ReportSection section;
    const char *id;
    const char *title;
};

// The order reports show them in.
constexpr SectionInfo kSections[] = {
    {ReportSection::Summary, "summary", "Summary"},
    {ReportSection::Health, "health", "Health"},
    {ReportSection::History, "history", "Charts and history"},
    {ReportSection::EventLoop, "event_loop", "Event loop"},
    {ReportSection::Requests, "requests", "Requests"},
    {ReportSection::Breakers, "breakers", "Circuit breakers"},
    {ReportSection::Pools, "pools", "Connection pools"},
    {ReportSection::Sql, "sql", "Database and SQL"},
    {ReportSection::Journal, "journal", "Events and journal"},
    {ReportSection::System, "system", "System"},
    {ReportSection::Metrics, "metrics", "Metrics"},
    {ReportSection::Config, "config", "Configuration"},
    {ReportSection::Validation, "validation", "Configuration validation"},
};

// Words that make a configuration key a secret (compared lowercased, whole words).
const QStringList &secretWords()
{
    static const QStringList words{
        QStringLiteral("token"),  QStringLiteral("tokens"),        QStringLiteral("password"),
        QStringLiteral("passwd"), QStringLiteral("pwd"),           QStringLiteral("passphrase"),
        QStringLiteral("secret"), QStringLiteral("secrets"),       QStringLiteral("key"),
        QStringLiteral("apikey"), QStringLiteral("credential"),    QStringLiteral("credentials"),
        QStringLiteral("auth"),   QStringLiteral("authorization"), QStringLiteral("cookie"),
        QStringLiteral("bearer"),
    };
    return words;
}

// "apiKey" -> {"api", "key"}; "X-Api-Token" -> {"x", "api", "token"}; "api_key" -> {"api", "key"}.
QStringList keyWords(const QString &key)
{
    QStringList words;
    QString current;
    for (int i = 0; i < key.size(); ++i) {
        const QChar c = key.at(i);
        if (!c.isLetterOrNumber()) {
            if (!current.isEmpty())
                words.append(current.toLower());
            current.clear();
            continue;
        }
        const bool boundary = c.isUpper() && !current.isEmpty() &&
                              (current.back().isLower() || (i + 1 < key.size() && key.at(i + 1).isLower()));
        if (boundary) {
            words.append(current.toLower());
            current.clear();
        }
        current.append(c);
    }
    if (!current.isEmpty())
        words.append(current.toLower());
    return words;
}

const QRegularExpression &envReferenceOnly()
{
    // Optional scheme word, then one or more ${NAME} references and nothing else.
    static const QRegularExpression re(
        QStringLiteral("^\\s*(?:(?:bearer|basic|token)\\s+)?(?:\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}\\s*)+$"),
        QRegularExpression::CaseInsensitiveOption);
    return re;
}

const QRegularExpression &envName()
{
    static const QRegularExpression re(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]*$"));
    return re;
}

const QRegularExpression &secretValue()
{
    static const QRegularExpression re(
        QStringLiteral("^\\s*(?:(?:bearer|basic|token)\\s+[A-Za-z0-9._~+/=-]{6,}"
                       "|eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*"
                       "|(?:sk|pk|rk)[-_](?:live[-_]|test[-_])?[A-Za-z0-9]{12,}"
                       "|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
                       "|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{20,})\\s*$"),
        QRegularExpression::CaseInsensitiveOption);
    return re;
}

const QRegularExpression &secretInText()
{
    static const QRegularExpression re(
        QStringLiteral("((?:bearer|basic)\\s+)(?!\\$\\{)[A-Za-z0-9._~+/=-]{6,}"
                       "|eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*"),
        QRegularExpression::CaseInsensitiveOption);
    return re;
}

const QRegularExpression &urlPassword()
{
    // scheme://user:password@ -> the password part.
    static const QRegularExpression re(
        QStringLiteral("([A-Za-z][A-Za-z0-9+.-]*://[^\\s/:@]*:)([^\\s/@]+)(@)"));
    return re;
}

QJsonValue redactValue(const QJsonValue &value, const QString &path, bool secretKey, bool envKey,
                       QStringList *paths)
{
    const QString redacted = QString::fromLatin1(kRedacted);
    if (value.isObject()) {
        const QJsonObject in = value.toObject();
        QJsonObject out;
        for (auto it = in.begin(); it != in.end(); ++it) {
            const QString childPath = path.isEmpty() ? it.key() : path + QLatin1Char('.') + it.key();
            const QStringList words = keyWords(it.key());
            bool childSecret = secretKey;
            for (const QString &w : words)
                childSecret = childSecret || secretWords().contains(w);
            const bool childEnv = !words.isEmpty() && words.last() == QLatin1String("env");
            out.insert(it.key(), redactValue(it.value(), childPath, childSecret, childEnv, paths));
        }
        return out;
    }
    if (value.isArray()) {
        const QJsonArray in = value.toArray();
        QJsonArray out;
        for (int i = 0; i < in.size(); ++i)
            out.append(redactValue(in.at(i), path + QStringLiteral("[%1]").arg(i), secretKey, envKey, paths));
        return out;
    }
    if (value.isNull() || value.isUndefined())
        return value;
    if (value.isString()) {
        const QString text = value.toString();
        if (text.isEmpty())
            return value;
        if (secretKey) {
            if (envReferenceOnly().match(text).hasMatch() || (envKey && envName().match(text).hasMatch()))
                return value;
        } else if (!looksLikeSecret(text)) {
            const QString scrubbed = scrubSecrets(text);
            if (scrubbed != text && paths)
                paths->append(path);
            return scrubbed;
        }
    } else if (!secretKey) {
        return value; // numbers and booleans are never secrets unless their key says so
    }
    if (paths)
        paths->append(path);
    return redacted;
}

QString suffixOf(const QString &path)
{
    return QFileInfo(path).suffix().toLower();
}

} // namespace

bool reportFormatForPath(const QString &path, ReportFormat *format)
{
    const QString suffix = suffixOf(path);
    if (suffix == QLatin1String("json"))
        *format = ReportFormat::Json;
    else if (suffix == QLatin1String("html") || suffix == QLatin1String("htm"))
        *format = ReportFormat::Html;
    else if (suffix == QLatin1String("pdf"))
        *format = ReportFormat::Pdf;
    else if (suffix == QLatin1String("zip"))
        *format = ReportFormat::Zip;
    else
        return false;
    return true;
}

QString reportFormatExtension(ReportFormat format)
{
    switch (format) {
    case ReportFormat::Json:
        return QStringLiteral("json");
    case ReportFormat::Html:
        return QStringLiteral("html");
    case ReportFormat::Pdf:
        return QStringLiteral("pdf");
    case ReportFormat::Zip:
        return QStringLiteral("zip");
    }
    return {};
}

QString reportFormatTitle(ReportFormat format)
{
    switch (format) {
    case ReportFormat::Json:
        return QStringLiteral("JSON");
    case ReportFormat::Html:
        return QStringLiteral("HTML");
    case ReportFormat::Pdf:
        return QStringLiteral("PDF");
    case ReportFormat::Zip:
        return QStringLiteral("ZIP support bundle");
    }
    return {};
}

QList<ReportSection> allReportSections()
{
    QList<ReportSection> all;
    for (const SectionInfo &s : kSections)
        all.append(s.section);
    return all;
}

ReportSections allReportSectionFlags()
{
    ReportSections all;
    for (const SectionInfo &s : kSections)
        all |= s.section;
    return all;
}

QString reportSectionId(ReportSection section)
{
    for (const SectionInfo &s : kSections)
        if (s.section == section)
            return QString::fromLatin1(s.id);
    return {};
}

QString reportSectionTitle(ReportSection section)
{
    for (const SectionInfo &s : kSections)
        if (s.section == section)
            return QString::fromLatin1(s.title);
    return {};
}

QStringList reportSectionIds(ReportSections sections)
{
    QStringList ids;
    for (const SectionInfo &s : kSections)
        if (sections.testFlag(s.section))
            ids.append(QString::fromLatin1(s.id));
    return ids;
}

bool parseReportSections(const QString &text, ReportSections *sections, QString *error)
{
    ReportSections out;
    const QStringList parts = text.split(QLatin1Char(','), Qt::SkipEmptyParts);
    if (parts.isEmpty()) {
        *error = QStringLiteral("no report section given (expected a comma-separated list of: all, %1)")
                     .arg(reportSectionIds(allReportSectionFlags()).join(QStringLiteral(", ")));
        return false;
    }
    for (const QString &raw : parts) {
        const QString id = raw.trimmed().toLower();
        if (id == QLatin1String("all")) {
            out |= allReportSectionFlags();
            continue;
        }
        bool known = false;
        for (const SectionInfo &s : kSections) {
            if (id == QLatin1String(s.id)) {
                out |= s.section;
                known = true;
            }
        }
        if (!known) {
            *error =
                QStringLiteral("unknown report section \"%1\" (known: all, %2)")
                    .arg(raw.trimmed(), reportSectionIds(allReportSectionFlags()).join(QStringLiteral(", ")));
            return false;
        }
    }
    *sections = out;
    return true;
}

bool isSecretKeyName(const QString &key)
{
    const QStringList words = keyWords(key);
    for (const QString &w : words)
        if (secretWords().contains(w))
            return true;
    return false;
}

bool looksLikeSecret(const QString &value)
{
    return secretValue().match(value).hasMatch();
}

QString scrubSecrets(const QString &text)
{
    QString out = text;
    out.replace(urlPassword(), QStringLiteral("\\1") + QLatin1String(kRedacted) + QStringLiteral("\\3"));
    // Bearer/Basic values keep their scheme word; JWTs go whole.
    QString result;
    qsizetype last = 0;
    QRegularExpressionMatchIterator it = secretInText().globalMatch(out);
    while (it.hasNext()) {
        const QRegularExpressionMatch m = it.next();
        result += QStringView(out).mid(last, m.capturedStart() - last);
        result += m.captured(1) + QLatin1String(kRedacted);
        last = m.capturedEnd();
    }
    result += QStringView(out).mid(last);
    return result;
}

QJsonValue redactSecrets(const QJsonValue &value, QStringList *redactedPaths)
{
    return redactValue(value, QString(), false, false, redactedPaths);
}

QString reportIsoUtc(qint64 wallMs)
{
    return isoUtc(wallMs);
}

QJsonObject diagnosticsToJson(const DiagnosticsReport &report, bool withValues)
{
    return diagnosticsToJsonImpl(report, withValues);
}

QJsonObject databaseToJson(const DatabaseSummary &database)
{
    return databaseToJsonImpl(database);
}

QJsonArray breakersToJson(const QList<BreakerInfo> &list)
{
    QJsonArray breakers;
    for (const BreakerInfo &b : list) {
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
    return breakers;
}

QJsonArray poolsToJson(const QList<HostPoolStats> &list)
{
    QJsonArray pools;
    for (const HostPoolStats &p : list) {
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
    return pools;
}

QJsonObject configFindingsToJson(const QList<ConfigFinding> &findings)
{
    QJsonObject o;
    int errors = 0;
    QJsonArray list;
    for (const ConfigFinding &f : findings) {
        if (f.severity == Severity::Error)
            ++errors;
        QJsonObject fo;
        fo.insert(QStringLiteral("severity"), severityName(f.severity));
        fo.insert(QStringLiteral("file"), f.file);
        fo.insert(QStringLiteral("path"), f.path);
        fo.insert(QStringLiteral("line"), f.line);
        fo.insert(QStringLiteral("column"), f.column);
        const QString lastKey = f.path.section(QLatin1Char('.'), -1);
        QString value = f.value;
        if (!value.isEmpty() && (isSecretKeyName(lastKey) || looksLikeSecret(value)))
            value = QString::fromLatin1(kRedacted);
        fo.insert(QStringLiteral("value"), value.isEmpty() ? QJsonValue() : QJsonValue(scrubSecrets(value)));
        fo.insert(QStringLiteral("message"), scrubSecrets(f.message));
        list.append(fo);
    }
    o.insert(QStringLiteral("ran"), true);
    o.insert(QStringLiteral("ok"), errors == 0);
    o.insert(QStringLiteral("errors"), errors);
    o.insert(QStringLiteral("findings"), list);
    return o;
}

QJsonObject snapshotToJson(const Snapshot &snapshot)
{
    return snapshotToJson(snapshot, allReportSectionFlags());
}

QJsonObject snapshotToJson(const Snapshot &snapshot, ReportSections sections)
{
    QJsonObject root;
    root.insert(QStringLiteral("format"), QStringLiteral("vega-console-report"));
    root.insert(QStringLiteral("format_version"), kReportFormatVersion);
    root.insert(QStringLiteral("generated_at"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs));
    root.insert(QStringLiteral("sections"), QJsonArray::fromStringList(reportSectionIds(sections)));

    if (sections & (ReportSection::Summary | ReportSection::Config)) {
        QJsonObject engine;
        if (sections.testFlag(ReportSection::Summary)) {
            engine.insert(QStringLiteral("version"), snapshot.info.version);
            engine.insert(QStringLiteral("host"), QSysInfo::machineHostName());
            engine.insert(QStringLiteral("mode"), snapshot.info.mode);
            engine.insert(QStringLiteral("demo_workload"), snapshot.info.demo);
            engine.insert(QStringLiteral("config_path"), snapshot.info.configPath.isEmpty()
                                                             ? QJsonValue()
                                                             : QJsonValue(snapshot.info.configPath));
            engine.insert(QStringLiteral("data_dir"), snapshot.info.dataDir);
            engine.insert(QStringLiteral("started_at"), isoUtc(snapshot.info.startedWallMs));
            const qint64 nowMs =
                snapshot.metrics ? snapshot.metrics->wallMs : QDateTime::currentMSecsSinceEpoch();
            if (snapshot.info.startedWallMs > 0)
                engine.insert(QStringLiteral("uptime_seconds"),
                              double(nowMs - snapshot.info.startedWallMs) / 1000.0);
            engine.insert(QStringLiteral("overall_health"), healthName(snapshot.diagnostics.overall));
        }
        if (sections.testFlag(ReportSection::Config))
            engine.insert(QStringLiteral("effective_config"), redactSecrets(snapshot.info.effectiveConfig));
        root.insert(QStringLiteral("engine"), engine);
    }

    if (snapshot.metrics) {
        const MetricsSnapshot &m = *snapshot.metrics;
        if (sections.testFlag(ReportSection::Summary)) {
            QJsonObject meta;
            meta.insert(QStringLiteral("sequence"), qint64(m.sequence));
            meta.insert(QStringLiteral("taken_at"), isoUtc(m.wallMs));
            meta.insert(QStringLiteral("interval_ms"), m.intervalMs);
            meta.insert(QStringLiteral("reset_count"), m.resetCount);
            meta.insert(QStringLiteral("last_reset_at"),
                        m.lastResetWallMs ? QJsonValue(isoUtc(m.lastResetWallMs)) : QJsonValue());
            root.insert(QStringLiteral("snapshot"), meta);
        }
        if (sections.testFlag(ReportSection::Metrics))
            root.insert(QStringLiteral("metrics"), metricsToJsonImpl(m));
        if (sections.testFlag(ReportSection::Journal)) {
            QJsonArray events;
            for (const EngineEvent &e : m.events) {
                QJsonObject eo;
                eo.insert(QStringLiteral("time"), isoUtc(e.wallMs));
                eo.insert(QStringLiteral("kind"), e.kind);
                eo.insert(QStringLiteral("source"), e.source);
                eo.insert(QStringLiteral("message"), scrubSecrets(e.message));
                if (e.durationMs > 0)
                    eo.insert(QStringLiteral("duration_ms"), e.durationMs);
                events.append(eo);
            }
            root.insert(QStringLiteral("events"), events);
        }
    }
    if (sections.testFlag(ReportSection::EventLoop))
        root.insert(QStringLiteral("event_loop"), eventLoopToJson(snapshot.eventLoop));
    if (sections & (ReportSection::Health | ReportSection::System))
        root.insert(QStringLiteral("diagnostics"),
                    diagnosticsToJsonImpl(snapshot.diagnostics, sections.testFlag(ReportSection::System)));
    if (sections & (ReportSection::Requests | ReportSection::Pools | ReportSection::Breakers)) {
        QJsonObject http;
        if (sections.testFlag(ReportSection::Requests))
            http = topKeysAndTotals(snapshot.http);
        if (sections.testFlag(ReportSection::Pools))
            http.insert(QStringLiteral("pools"), poolsToJson(snapshot.http.pools));
        if (sections.testFlag(ReportSection::Breakers))
            http.insert(QStringLiteral("breakers"), breakersToJson(snapshot.http.breakers));
        root.insert(QStringLiteral("http"), http);
    }
    if (sections.testFlag(ReportSection::Sql))
        root.insert(QStringLiteral("database"), databaseToJsonImpl(snapshot.database));
    if (sections.testFlag(ReportSection::Health))
        root.insert(QStringLiteral("integrations"), redactSecrets(integrationsToJson(snapshot.integrations)));
    if (sections.testFlag(ReportSection::System)) {
        root.insert(QStringLiteral("memory"), memoryToJson(snapshot.memory));
        root.insert(QStringLiteral("streams"), streamsToJson(snapshot.streams));
    }
    if (sections.testFlag(ReportSection::Validation) && snapshot.validation)
        root.insert(QStringLiteral("validation"), redactSecrets(validationToJson(snapshot.validation.get())));
    return root;
}

bool checkReportPath(const QString &path, QString *error, bool pdfAvailable)
{
    const QFileInfo info(path);
    const QString suffix = info.suffix().toLower();
    ReportFormat format = ReportFormat::Json;
    const QString supported =
        pdfAvailable ? QStringLiteral(".json, .html, .pdf, .zip") : QStringLiteral(".json, .html, .zip");
    if (!reportFormatForPath(path, &format)) {
        *error =
            QStringLiteral("cannot write report %1: unsupported format \"%2\" (supported: %3)")
                .arg(path, suffix.isEmpty() ? QStringLiteral("(no extension)") : QLatin1Char('.') + suffix,
                     supported);
        return false;
    }
    if (format == ReportFormat::Pdf && !pdfAvailable) {
        *error = QStringLiteral("cannot write report %1: unsupported format \".pdf\" here: PDF needs the "
                                "console's PDF renderer (supported: %2)")
                     .arg(path, supported);
        return false;
    }
    if (info.isDir()) {
        *error = QStringLiteral("cannot write report %1: it is a directory").arg(path);
        return false;
    }
    const QFileInfo dir(info.absolutePath());
    if (!dir.exists()) {
        *error =
            QStringLiteral("cannot write report %1: directory %2 does not exist").arg(path, dir.filePath());
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
    ReportFormat format = ReportFormat::Json;
    reportFormatForPath(path, &format);
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write report %1: %2").arg(path, file.errorString());
        return false;
    }
    if (format == ReportFormat::Json) {
        file.write(QJsonDocument(snapshotToJson(snapshot)).toJson(QJsonDocument::Indented));
    } else {
        // The shared pointer does not own the caller's snapshot: the content lives only here.
        const SnapshotPtr borrowed(&snapshot, [](const Snapshot *) {});
        const ReportContent content =
            reportContentFromSnapshot(borrowed, allReportSectionFlags(), ReportRequest().historyWindowMs);
        if (format == ReportFormat::Html) {
            file.write(renderReportHtml(content).toUtf8());
        } else {
            QString zipError;
            const QList<BundleFile> files = supportBundleFiles(content);
            if (!writeSupportBundle(files, content.generatedWallMs, &file, &zipError)) {
                file.cancelWriting();
                *error = QStringLiteral("cannot write report %1: %2").arg(path, zipError);
                return false;
            }
        }
    }
    if (!file.commit()) {
        *error = QStringLiteral("cannot write report %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace vega
