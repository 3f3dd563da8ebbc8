#include "adminapi.h"

#include "engine.h"
#include "historystore.h"
#include "httpclient.h"
#include "metrics.h"
#include "prometheus.h"
#include "report.h"
#include "reportbuilder.h"
#include "sqlprofiler.h"
#include "snapshotstream.h"
#include "statusjson.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QEventLoop>
#include <QFile>
#include <QHttpServer>
#include <QHttpServerRequest>
#include <QHttpServerResponder>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QMutex>
#include <QPointer>
#include <QSemaphore>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QSysInfo>
#include <QThread>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcAdmin, "vega.adminapi", QtWarningMsg)

constexpr int kStartTimeoutMs = 10000;
constexpr int kMaxReasonChars = 200;
constexpr size_t kMaxFailuresKept = 64; // per address; the delay is capped long before
constexpr int kMaxTrackedAddresses = 1024;
// Room for the request line and headers on top of the body limit (QHttpServer 6.4 itself
// refuses a head over 80 KiB).
constexpr qint64 kHeadAllowanceBytes = 64 * 1024;
// After refusing an oversized request we keep reading (and dropping) the client's input a
// while before closing: closing with unread data makes the kernel send RST, which can
// destroy the 413 before the client has read it.
constexpr int kLingerMs = 2000;

/// QHttpServer 6.4 buffers a whole request before any handler sees it; this hands every
/// accepted socket to `accepted` first, so the server can bound what it buffers.
class GuardedTcpServer final : public QTcpServer {
public:
    std::function<void(QTcpSocket *)> accepted;
    QTcpSocket *nextPendingConnection() override
    {
        QTcpSocket *socket = QTcpServer::nextPendingConnection();
        if (socket && accepted)
            accepted(socket);
        return socket;
    }
};

QString isoUtc(qint64 wallMs)
{
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC).toString(Qt::ISODateWithMs);
}

QJsonValue isoOrNull(qint64 wallMs)
{
    return wallMs ? QJsonValue(isoUtc(wallMs)) : QJsonValue();
}

QJsonValue textOrNull(const QString &text)
{
    return text.isEmpty() ? QJsonValue() : QJsonValue(text);
}

double ratio(quint64 part, quint64 whole)
{
    return whole ? double(part) / double(whole) : 0.0;
}

/// The worst of two grades, where Unknown never beats a known one.
Health worse(Health a, Health b)
{
    if (a == Health::Unknown)
        return b;
    if (b == Health::Unknown)
        return a;
    return std::max(a, b);
}

QByteArray methodName(QHttpServerRequest::Method method)
{
    switch (method) {
    case QHttpServerRequest::Method::Get:
        return QByteArrayLiteral("GET");
    case QHttpServerRequest::Method::Put:
        return QByteArrayLiteral("PUT");
    case QHttpServerRequest::Method::Delete:
        return QByteArrayLiteral("DELETE");
    case QHttpServerRequest::Method::Post:
        return QByteArrayLiteral("POST");
    case QHttpServerRequest::Method::Head:
        return QByteArrayLiteral("HEAD");
    case QHttpServerRequest::Method::Options:
        return QByteArrayLiteral("OPTIONS");
    case QHttpServerRequest::Method::Patch:
        return QByteArrayLiteral("PATCH");
    case QHttpServerRequest::Method::Connect:
        return QByteArrayLiteral("CONNECT");
    case QHttpServerRequest::Method::Trace:
        return QByteArrayLiteral("TRACE");
    default:
        return QByteArrayLiteral("UNKNOWN");
    }
}

bool isKnownMethod(const QByteArray &method)
{
    static const QList<QByteArray> known{"GET", "PUT", "DELETE", "POST", "PATCH", "OPTIONS"};
    return known.contains(method);
}

// QHttpServerResponder (6.4) looks the reason phrase up in a fixed table and throws for a
// code it does not know: only these are sent.
bool isSendableStatus(int status)
{
    static const int known[] = {200, 201, 202, 204, 400, 401, 403, 404, 405, 409,
                                413, 415, 422, 429, 500, 501, 502, 503, 504};
    return std::find(std::begin(known), std::end(known), status) != std::end(known);
}

bool bodyAllowed(const QByteArray &method)
{
    return method == "POST" || method == "PUT" || method == "PATCH";
}

QString clientAddress(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4); // also unmaps ::ffff:a.b.c.d
    return isV4 ? QHostAddress(v4).toString() : address.toString();
}

QStringList splitSegments(const QString &path)
{
    QStringList segments = path.split(QLatin1Char('/'));
    if (!segments.isEmpty())
        segments.removeFirst(); // before the leading '/'
    return segments;
}

bool isParameter(const QString &segment)
{
    return segment.size() > 2 && segment.startsWith(QLatin1Char('{')) && segment.endsWith(QLatin1Char('}'));
}

// --- Built-in handlers ---------------------------------------------------------------------

QJsonArray metricsWithPrefix(const QJsonObject &report, const QStringList &prefixes)
{
    QJsonArray out;
    const QJsonArray metrics = report.value(QStringLiteral("metrics")).toArray();
    for (const QJsonValue &v : metrics) {
        const QString name = v.toObject().value(QStringLiteral("name")).toString();
        for (const QString &prefix : prefixes) {
            if (name.startsWith(prefix)) {
                out.append(v);
                break;
            }
        }
    }
    return out;
}

qint64 snapshotSequence(const Snapshot &snap)
{
    return snap.metrics ? qint64(snap.metrics->sequence) : 0;
}

QJsonObject storageToJson(const Engine &engine)
{
    QJsonObject o;
    HistoryStore *history = engine.history();
    o.insert(QStringLiteral("enabled"), history != nullptr);
    if (!history)
        return o;
    const StorageStatus s = history->status();
    o.insert(QStringLiteral("health"), healthName(s.health));
    o.insert(QStringLiteral("error"), textOrNull(s.error));
    o.insert(QStringLiteral("fatal"), s.fatal);
    o.insert(QStringLiteral("location"), s.location);
    o.insert(QStringLiteral("schema_version"), s.schemaVersion);
    o.insert(QStringLiteral("migrated_from"), s.migratedFrom);
    o.insert(QStringLiteral("outage_since"), isoOrNull(s.outageSinceMs));
    o.insert(QStringLiteral("retries"), s.retries);
    o.insert(QStringLiteral("queue_depth"), history->queueDepth());
    return o;
}

Health storageHealth(const Engine &engine)
{
    return engine.history() ? engine.history()->status().health : Health::Unknown;
}

AdminResponse healthz(Engine &engine, const AdminRequest &)
{
    const SnapshotPtr snap = engine.latest();
    // A broken database loses history, not the engine: it degrades, it is not critical.
    const Health storage =
        storageHealth(engine) == Health::Critical ? Health::Warning : storageHealth(engine);
    QList<DiagnosticCategory> system = snap->diagnostics.categories;
    system.removeIf([](const DiagnosticCategory &c) { return c.id == QLatin1String("database"); });
    const Health overall = worse(overallHealth(system), storage);
    QString status = QStringLiteral("ok");
    if (overall == Health::Warning)
        status = QStringLiteral("degraded");
    else if (overall == Health::Critical)
        status = QStringLiteral("critical");
    QJsonObject o;
    o.insert(QStringLiteral("status"), status);
    o.insert(QStringLiteral("health"), healthName(overall));
    o.insert(QStringLiteral("uptime_s"),
             double(QDateTime::currentMSecsSinceEpoch() - snap->info.startedWallMs) / 1000.0);
    o.insert(QStringLiteral("version"), snap->info.version);
    return AdminResponse::ok(o);
}

AdminResponse databaseStats(Engine &engine, const AdminRequest &)
{
    const SqlProfiler *profiler = engine.sqlProfiler();
    QJsonArray statements;
    for (const StatementStats &s : profiler->statements()) {
        QJsonObject o;
        o.insert(QStringLiteral("statement"), s.normalized);
        o.insert(QStringLiteral("calls"), qint64(s.calls));
        o.insert(QStringLiteral("total_ms"), s.totalMs);
        o.insert(QStringLiteral("mean_ms"), s.meanMs);
        o.insert(QStringLiteral("p95_ms"), s.p95Ms);
        o.insert(QStringLiteral("max_ms"), s.maxMs);
        o.insert(QStringLiteral("rows"), qint64(s.rows));
        o.insert(QStringLiteral("errors"), qint64(s.errors));
        o.insert(QStringLiteral("last_call_at"), isoOrNull(s.lastCallWallMs));
        statements.append(o);
    }
    QJsonArray slow;
    for (const SlowQuery &q : profiler->slowLog()) {
        QJsonObject o;
        o.insert(QStringLiteral("time"), isoUtc(q.wallMs));
        o.insert(QStringLiteral("statement"), q.normalized);
        o.insert(QStringLiteral("duration_ms"), q.durationMs);
        o.insert(QStringLiteral("correlation_id"), textOrNull(q.correlationId));
        o.insert(QStringLiteral("connection"), q.connection);
        o.insert(QStringLiteral("error"), textOrNull(q.error));
        o.insert(QStringLiteral("rows"), qint64(q.rows));
        slow.append(o);
    }
    QJsonArray connections;
    for (const ConnectionUsage &c : profiler->connections()) {
        QJsonObject o;
        o.insert(QStringLiteral("connection"), c.connection);
        o.insert(QStringLiteral("queries"), qint64(c.queries));
        o.insert(QStringLiteral("total_ms"), c.totalMs);
        o.insert(QStringLiteral("errors"), qint64(c.errors));
        connections.append(o);
    }
    QJsonObject o;
    o.insert(QStringLiteral("statements"), statements);
    o.insert(QStringLiteral("slow_queries"), slow);
    o.insert(QStringLiteral("connections"), connections);
    o.insert(QStringLiteral("statements_evicted"), qint64(profiler->evictions()));
    o.insert(QStringLiteral("slow_threshold_ms"), profiler->options().slowThresholdMs);
    o.insert(QStringLiteral("storage"), storageToJson(engine));
    return AdminResponse::ok(o);
}

AdminResponse resetDatabaseStats(Engine &engine, const AdminRequest &)
{
    engine.sqlProfiler()->resetStats();
    QJsonObject o;
    o.insert(QStringLiteral("reset"), true);
    return AdminResponse::ok(o);
}

AdminResponse diagnosticsSystem(Engine &engine, const AdminRequest &)
{
    const SnapshotPtr snap = engine.latest();
    QJsonObject o = snapshotToJson(*snap).value(QStringLiteral("diagnostics")).toObject();
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*snap));
    return AdminResponse::ok(o);
}

AdminResponse healthSummary(Engine &engine, const AdminRequest &)
{
    const SnapshotPtr snap = engine.latest();
    const DiagnosticsReport &report = snap->diagnostics;
    QJsonArray categories;
    for (const DiagnosticCategory &c : report.categories) {
        QJsonObject co;
        co.insert(QStringLiteral("id"), c.id);
        co.insert(QStringLiteral("title"), c.title);
        co.insert(QStringLiteral("health"), healthName(c.health));
        co.insert(QStringLiteral("reason"), c.reason);
        categories.append(co);
    }
    const QJsonObject storage = storageToJson(engine);
    QJsonObject o;
    o.insert(QStringLiteral("overall"), healthName(worse(report.overall, storageHealth(engine))));
    o.insert(QStringLiteral("system"), healthName(report.overall));
    o.insert(QStringLiteral("sampled_at"), isoOrNull(report.wallMs));
    o.insert(QStringLiteral("categories"), categories);
    QJsonObject so;
    so.insert(QStringLiteral("enabled"), storage.value(QStringLiteral("enabled")));
    so.insert(QStringLiteral("health"), healthName(storageHealth(engine)));
    so.insert(QStringLiteral("error"), storage.value(QStringLiteral("error")));
    o.insert(QStringLiteral("storage"), so);
    return AdminResponse::ok(o);
}

// The performance views slice the report (snapshotToJson), so names and units match it.
struct ReportSlice {
    SnapshotPtr snap;
    QJsonObject report;
    QJsonObject http;
    QJsonObject totals;
};

ReportSlice reportSlice(Engine &engine)
{
    ReportSlice s;
    s.snap = engine.latest();
    s.report = snapshotToJson(*s.snap);
    s.http = s.report.value(QStringLiteral("http")).toObject();
    s.totals = s.http.value(QStringLiteral("totals")).toObject();
    return s;
}

AdminResponse requestCoalescing(Engine &engine, const AdminRequest &)
{
    const ReportSlice s = reportSlice(engine);
    const HttpTotals &t = s.snap->http.totals;
    QJsonObject o;
    o.insert(QStringLiteral("requests"), qint64(t.requests));
    o.insert(QStringLiteral("leaders"), qint64(t.leaders));
    o.insert(QStringLiteral("coalesced"), qint64(t.coalesced));
    o.insert(QStringLiteral("coalesced_ratio"), ratio(t.coalesced, t.requests));
    o.insert(QStringLiteral("backend_requests"), qint64(t.backendRequests));
    o.insert(QStringLiteral("in_flight_keys"), s.http.value(QStringLiteral("in_flight_keys")));
    o.insert(QStringLiteral("top_coalesced_keys"), s.http.value(QStringLiteral("top_coalesced_keys")));
    o.insert(QStringLiteral("metrics"), metricsWithPrefix(s.report, {QStringLiteral("coalescer_")}));
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*s.snap));
    return AdminResponse::ok(o);
}

AdminResponse connectionPool(Engine &engine, const AdminRequest &)
{
    const ReportSlice s = reportSlice(engine);
    QJsonObject o;
    o.insert(QStringLiteral("backend_requests"), s.totals.value(QStringLiteral("backend_requests")));
    o.insert(QStringLiteral("connections_opened"), s.totals.value(QStringLiteral("connections_opened")));
    o.insert(QStringLiteral("connection_reuse_ratio"),
             s.totals.value(QStringLiteral("connection_reuse_ratio")));
    o.insert(QStringLiteral("pools"), s.http.value(QStringLiteral("pools")));
    o.insert(QStringLiteral("metrics"), metricsWithPrefix(s.report, {QStringLiteral("pool_")}));
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*s.snap));
    return AdminResponse::ok(o);
}

AdminResponse circuitBreakers(Engine &engine, const AdminRequest &)
{
    const ReportSlice s = reportSlice(engine);
    QJsonObject o;
    o.insert(QStringLiteral("breakers"), s.http.value(QStringLiteral("breakers")));
    o.insert(QStringLiteral("breaker_rejections"), s.totals.value(QStringLiteral("breaker_rejections")));
    o.insert(QStringLiteral("metrics"), metricsWithPrefix(s.report, {QStringLiteral("breaker_")}));
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*s.snap));
    return AdminResponse::ok(o);
}

AdminResponse cacheStats(Engine &engine, const AdminRequest &)
{
    const ReportSlice s = reportSlice(engine);
    const HttpTotals &t = s.snap->http.totals;
    QJsonObject o;
    o.insert(QStringLiteral("cache_hits"), qint64(t.cacheHits));
    o.insert(QStringLiteral("cache_misses"), qint64(t.cacheMisses));
    o.insert(QStringLiteral("hit_ratio"), ratio(t.cacheHits, t.cacheHits + t.cacheMisses));
    o.insert(QStringLiteral("metrics"), metricsWithPrefix(s.report, {QStringLiteral("cache_"), QStringLiteral("redis_")}));
    const SharedCacheStatus &r = s.snap->http.sharedCache;
    QJsonObject shared{{QStringLiteral("enabled"), r.enabled},
                       {QStringLiteral("state"), r.state},
                       {QStringLiteral("endpoint"), r.endpoint},
                       {QStringLiteral("breaker_state"), r.breakerState.isEmpty() ? QJsonValue() : QJsonValue(r.breakerState)},
                       {QStringLiteral("last_error"), r.lastError.isEmpty() ? QJsonValue() : QJsonValue(r.lastError)},
                       {QStringLiteral("writes"), qint64(r.writes)},
                       {QStringLiteral("connects"), qint64(r.connects)},
                       {QStringLiteral("hits"), qint64(r.hits)},
                       {QStringLiteral("misses"), qint64(r.misses)},
                       {QStringLiteral("hit_ratio"), ratio(r.hits, r.hits + r.misses)},
                       {QStringLiteral("fallbacks"), qint64(r.fallbacks)},
                       {QStringLiteral("errors"), qint64(r.errors)},
                       {QStringLiteral("timeouts"), qint64(r.timeouts)},
                       {QStringLiteral("lock_acquired"), qint64(r.lockAcquired)},
                       {QStringLiteral("lock_waits"), qint64(r.lockWaits)},
                       {QStringLiteral("wait_hits"), qint64(r.waitHits)}};
    if (r.downSinceMs > 0)
        shared.insert(QStringLiteral("down_since"),
                      QDateTime::fromMSecsSinceEpoch(r.downSinceMs, Qt::UTC).toString(Qt::ISODateWithMs));
    o.insert(QStringLiteral("shared_cache"), shared);
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*s.snap));
    return AdminResponse::ok(o);
}

AdminResponse asyncMonitor(Engine &engine, const AdminRequest &)
{
    const ReportSlice s = reportSlice(engine);
    QJsonObject o;
    o.insert(QStringLiteral("event_loop"), s.report.value(QStringLiteral("event_loop")));
    o.insert(QStringLiteral("metrics"), metricsWithPrefix(s.report, {QStringLiteral("event_loop_")}));
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*s.snap));
    return AdminResponse::ok(o);
}

AdminResponse batchStats(Engine &engine, const AdminRequest &)
{
    const ReportSlice s = reportSlice(engine);
    QJsonObject o;
    o.insert(QStringLiteral("storage"), storageToJson(engine));
    o.insert(QStringLiteral("metrics"), metricsWithPrefix(s.report, {QStringLiteral("storage_")}));
    o.insert(QStringLiteral("snapshot_sequence"), snapshotSequence(*s.snap));
    return AdminResponse::ok(o);
}

AdminResponse resetPerformanceStats(Engine &engine, const AdminRequest &request)
{
    engine.resetStats(QStringLiteral("admin API (%1)").arg(request.client));
    QJsonObject o;
    o.insert(QStringLiteral("reset"), true);
    o.insert(QStringLiteral("reset_count"), engine.latest()->metrics->resetCount);
    return AdminResponse::ok(o);
}

AdminHandler breakerAction(BreakerCommand command, const QString &action)
{
    return [command, action](Engine &engine, const AdminRequest &request) {
        const QString name = request.param(QStringLiteral("name"));
        if (!engine.http()->commandBreaker(name, command)) {
            AdminResponse r =
                AdminResponse::error(404, QStringLiteral("unknown circuit breaker \"%1\"").arg(name));
            r.body.insert(QStringLiteral("known_breakers"),
                          QJsonArray::fromStringList(engine.http()->breakerNames()));
            return r;
        }
        QString state;
        for (const BreakerInfo &b : engine.http()->summary().breakers) {
            if (b.name == name)
                state = b.state;
        }
        QJsonObject o;
        o.insert(QStringLiteral("breaker"), name);
        o.insert(QStringLiteral("action"), action);
        o.insert(QStringLiteral("state"), state);
        return AdminResponse::ok(o);
    };
}

/// GET /admin/stream without an upgrade: say what the endpoint is.
AdminResponse streamWithoutUpgrade(Engine &, const AdminRequest &)
{
    return AdminResponse::error(400, QStringLiteral("%1 is the live snapshot stream, a WebSocket: open it with "
                                                    "\"Upgrade: websocket\" and the X-API-Key header")
                                         .arg(snapshotStreamPath()));
}

/// POST /admin/integrations/check, body {"name": "..."} (optional): health-checks now.
AdminResponse checkIntegrations(Engine &engine, const AdminRequest &request)
{
    const QJsonValue nameValue = request.json.value(QStringLiteral("name"));
    if (!nameValue.isUndefined() && !nameValue.isString())
        return AdminResponse::error(400, QStringLiteral("field \"name\" must be a string"));
    const QString name = nameValue.toString();
    if (!engine.integrations() || engine.latest()->integrations.isEmpty())
        return AdminResponse::error(409, QStringLiteral("this engine has no integrations to check"));
    ActionResult outcome;
    engine.checkIntegrations(name, [&outcome](const ActionResult &r) { outcome = r; });
    if (!outcome.ok) {
        AdminResponse r = AdminResponse::error(404, name.isEmpty() ? QStringLiteral("no integration to check")
                                                                   : QStringLiteral("unknown integration \"%1\"").arg(name));
        QJsonArray known;
        for (const IntegrationStatus &s : engine.latest()->integrations)
            known.append(s.name);
        r.body.insert(QStringLiteral("known_integrations"), known);
        return r;
    }
    QJsonObject o;
    o.insert(QStringLiteral("checking"), name.isEmpty() ? QJsonValue(QStringLiteral("all")) : QJsonValue(name));
    return AdminResponse::ok(o);
}

AdminResponse integrationsHealth(Engine &engine, const AdminRequest &)
{
    const SnapshotPtr snap = engine.latest();
    Health worst = Health::Unknown;
    for (const IntegrationStatus &s : snap->integrations)
        worst = worse(worst, s.state);
    QJsonObject o;
    o.insert(QStringLiteral("overall"), healthName(worst));
    o.insert(QStringLiteral("integrations"), integrationsToJson(snap->integrations));
    return AdminResponse::ok(o);
}

AdminResponse memoryLeaks(Engine &engine, const AdminRequest &)
{
    return AdminResponse::ok(memoryToJson(engine.latest()->memory));
}

AdminResponse streamingStats(Engine &engine, const AdminRequest &)
{
    return AdminResponse::ok(streamsToJson(engine.latest()->streams));
}

AdminResponse prometheusMetrics(Engine &engine, const AdminRequest &)
{
    const SnapshotPtr snap = engine.latest();
    if (!snap->metrics)
        return AdminResponse::error(503, QStringLiteral("no snapshot yet"));
    return AdminResponse::text(prometheusText(*snap->metrics),
                               QByteArrayLiteral("text/plain; version=0.0.4; charset=utf-8"));
}

/// Runs a validation on the API's thread (the engine's loop never waits for it) and hands
/// the outcome to the engine, so the console and the journal see it too.
AdminResponse validateConfig(Engine &engine, const AdminRequest &request)
{
    ConfigValidator validator(&engine.metrics());
    validator.setDataDir(engine.options().dataDir);
    std::optional<ValidationReport> result;
    QEventLoop loop;
    QObject::connect(&validator, &ConfigValidator::finished, &loop, [&](const ValidationReport &report) {
        result = report;
        loop.quit();
    });
    QTimer::singleShot(30000, &loop, &QEventLoop::quit); // the validator bounds itself; this is a backstop
    engine.metrics().recordEvent(QStringLiteral("validation"), QStringLiteral("admin ") + request.client,
                                 QStringLiteral("Configuration validation requested through the admin API"));
    validator.run(engine.config(), engine.options().configPath);
    if (!result)
        loop.exec();
    if (!result)
        return AdminResponse::error(503, QStringLiteral("validation did not finish in time"));
    const ValidationReport report = *result;
    QMetaObject::invokeMethod(&engine, [&engine, report] { engine.acceptValidation(report); }, Qt::QueuedConnection);
    QJsonObject o = validationToJson(&report).toObject();
    return AdminResponse::ok(o);
}

AdminResponse report(Engine &engine, const AdminRequest &request)
{
    const QString format = request.query.hasQueryItem(QStringLiteral("format"))
                               ? request.query.queryItemValue(QStringLiteral("format"), QUrl::FullyDecoded).toLower()
                               : QStringLiteral("json");
    if (format == QLatin1String("json"))
        return AdminResponse::ok(snapshotToJson(*engine.latest()));
    if (format != QLatin1String("html") && format != QLatin1String("zip"))
        return AdminResponse::error(400, QStringLiteral("format %1 is not supported: use json, html or zip (PDF is "
                                                        "written by the console and --report)")
                                             .arg(format));
    // HTML and ZIP go through the ReportBuilder (history from the store, work on its own
    // worker thread); this thread waits in a local event loop, so other requests are still
    // served meanwhile.
    QTemporaryDir dir;
    if (!dir.isValid())
        return AdminResponse::error(500, QStringLiteral("cannot create a temporary directory for the report"));
    const QString path = dir.filePath(QStringLiteral("vega-report.") + format);
    ReportBuilder builder;
    ReportRequest r;
    r.path = path;
    r.snapshot = engine.latest();
    r.history = engine.history();
    if (const auto validation = engine.lastValidation())
        r.validation = configFindingsToJson(validation->findings);
    bool ok = false;
    QString message;
    QEventLoop loop;
    QObject::connect(&builder, &ReportBuilder::finished, &loop, [&](bool success, const QString &text) {
        ok = success;
        message = text;
        loop.quit();
    });
    QTimer::singleShot(120000, &loop, &QEventLoop::quit); // a backstop: the builder bounds its own waits
    if (!builder.start(r))
        return AdminResponse::error(500, QStringLiteral("the report could not be started"));
    loop.exec();
    if (!ok)
        return AdminResponse::error(503, message.isEmpty() ? QStringLiteral("the report did not finish in time") : message);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return AdminResponse::error(500, QStringLiteral("cannot read the report just written: %1").arg(file.errorString()));
    AdminResponse response = AdminResponse::text(file.readAll(), format == QLatin1String("zip")
                                                                     ? QByteArrayLiteral("application/zip")
                                                                     : QByteArrayLiteral("text/html; charset=utf-8"));
    response.headers.append({QByteArrayLiteral("Content-Disposition"),
                             QByteArrayLiteral("attachment; filename=\"vega-report.") + format.toLatin1() + '"'});
    return response;
}

} // namespace

// --- AdminResponse ---------------------------------------------------------------------------

AdminResponse AdminResponse::ok(const QJsonObject &body)
{
    AdminResponse r;
    r.body = body;
    return r;
}

AdminResponse AdminResponse::text(const QByteArray &body, const QByteArray &contentType)
{
    AdminResponse r;
    r.raw = body;
    r.contentType = contentType;
    return r;
}

AdminResponse AdminResponse::error(int status, const QString &message)
{
    AdminResponse r;
    r.status = status;
    r.body.insert(QStringLiteral("error"), message);
    r.body.insert(QStringLiteral("status"), status);
    return r;
}

// --- The server on its own thread ------------------------------------------------------------

struct AdminApi::Route {
    QByteArray method;
    QString pattern;
    QStringList segments;
    int parameters = 0;
    AdminHandler handler;
    AdminThread thread = AdminThread::Api;
};

namespace detail {

/// What links queued engine-thread actions to the server: once the server is gone, the
/// receiver is null and nothing is posted to it any more.
struct ServerLink {
    QMutex mutex; // protects receiver and every ActionTicket's flags
    AdminServer *receiver = nullptr;
};

struct ActionTicket {
    std::shared_ptr<ServerLink> link;
    bool started = false;   // the engine began running it
    bool cancelled = false; // it must not run (timed out before starting, or the server stopped)
};

class AdminServer : public QObject {
public:
    AdminServer(AdminApi *api, std::vector<std::shared_ptr<const AdminApi::Route>> routes,
                QList<QByteArray> keyHashes);
    ~AdminServer() override;

    /// On the server's thread. Returns the bound port, or 0 with `error` set.
    quint16 listen(QString *error);
    /// On the server's thread: drops everything in progress and the QHttpServer.
    void shutdown();
    /// On the server's thread: an action's answer came back from the engine.
    void finishAction(quint64 id, const AdminResponse &response);

private:
    struct Held {
        std::unique_ptr<QHttpServerResponder> responder;
        QPointer<QTcpSocket> socket;
    };
    struct Delayed {
        Held held;
        AdminResponse response;
        std::unique_ptr<QTimer> timer;
    };
    struct PendingAction {
        Held held;
        std::shared_ptr<ActionTicket> ticket;
        std::unique_ptr<QTimer> timer;
        int timeoutMs = 0;
    };

    void handle(const QHttpServerRequest &request, QHttpServerResponder &&responder);
    void dispatch(const QHttpServerRequest &request, Held held);
    void runAction(const std::shared_ptr<const AdminApi::Route> &route, AdminRequest request, Held held);
    void actionTimedOut(quint64 id);
    void send(Held &held, AdminResponse response);
    void countResponse(int status);
    /// Bounds what one connection can make the server buffer (see guardSocket()).
    void guardSocket(QTcpSocket *socket);
    void rejectOversized(QTcpSocket *socket, qint64 received);
    void closeIdleConnections();
    bool isAwaitingAnswer(const QTcpSocket *socket) const;
    bool keyAccepted(const QByteArray &key) const;
    /// Records a failure and returns how long to delay its 401 (ms; 0: not at all).
    int noteFailure(const QString &client);

    AdminApi *const m_api;
    Engine *const m_engine;
    const AdminApiOptions m_options;
    Clock *const m_clock;
    const std::vector<std::shared_ptr<const AdminApi::Route>> m_routes;
    const QList<QByteArray> m_keyHashes; // raw 32-byte digests
    std::shared_ptr<ServerLink> m_link;
    std::unique_ptr<QHttpServer> m_http;
    std::unique_ptr<SnapshotStreamServer> m_stream;
    std::map<quint64, Delayed> m_delayed;
    std::map<quint64, PendingAction> m_actions;
    quint64 m_nextId = 0;
    QHash<QString, std::deque<qint64>> m_failures; // client address -> failure times (ms)
    struct Connection {
        QPointer<QTcpSocket> socket;
        std::shared_ptr<qint64> lastActivityMs;
    };
    // Every accepted connection. QPointer, not a destroyed() connection: after malformed
    // input QHttpServer 6.4 disconnects every signal of the socket, ours included.
    std::vector<Connection> m_connections;
    std::unique_ptr<QTimer> m_idleTimer;
    Counter *m_responses2xx;
    Counter *m_responses4xx;
    Counter *m_responses5xx;
    Counter *m_authFailureCounter;
};

AdminServer::AdminServer(AdminApi *api, std::vector<std::shared_ptr<const AdminApi::Route>> routes,
                         QList<QByteArray> keyHashes)
    : m_api(api), m_engine(api->m_engine), m_options(api->m_options), m_clock(api->m_clock),
      m_routes(std::move(routes)), m_keyHashes(std::move(keyHashes)), m_link(std::make_shared<ServerLink>())
{
    m_link->receiver = this;
    MetricsRegistry &registry = m_engine->metrics();
    const QString help = QStringLiteral("Admin API responses by status class");
    m_responses2xx = registry.counter(QStringLiteral("admin_responses"),
                                      {{QStringLiteral("class"), QStringLiteral("2xx")}}, help);
    m_responses4xx = registry.counter(QStringLiteral("admin_responses"),
                                      {{QStringLiteral("class"), QStringLiteral("4xx")}}, help);
    m_responses5xx = registry.counter(QStringLiteral("admin_responses"),
                                      {{QStringLiteral("class"), QStringLiteral("5xx")}}, help);
    m_authFailureCounter = registry.counter(QStringLiteral("admin_auth_failures"), {},
                                            QStringLiteral("Admin API requests without a valid key"));
}

AdminServer::~AdminServer()
{
    // shutdown() ran on the server's thread already; this only covers a failed start.
    QMutexLocker lock(&m_link->mutex);
    m_link->receiver = nullptr;
}

quint16 AdminServer::listen(QString *error)
{
    m_http = std::make_unique<QHttpServer>();
    // Every request goes through the missing handler: the route table, authentication and the
    // JSON errors (404 vs 405 with Allow) are ours, not QHttpServerRouter's.
    m_http->setMissingHandler([this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
        handle(request, std::move(responder));
    });
    auto tcp = std::make_unique<GuardedTcpServer>();
    tcp->accepted = [this](QTcpSocket *socket) { guardSocket(socket); };
    if (!tcp->listen(m_options.bindAddress, m_options.port)) {
        *error = QStringLiteral("admin API cannot listen on %1:%2: %3")
                     .arg(m_options.bindAddress.toString())
                     .arg(m_options.port)
                     .arg(tcp->errorString());
        m_http.reset();
        return 0;
    }
    const quint16 port = tcp->serverPort();
    m_http->bind(tcp.release()); // the QHttpServer takes it as a child

    SnapshotStreamServer::Options streamOptions;
    streamOptions.intervalMs = m_options.streamIntervalMs;
    streamOptions.maxQueuedBytes = m_options.streamMaxQueuedBytes;
    streamOptions.historySeconds = m_options.streamHistorySeconds;
    streamOptions.agentName = m_options.agentName.isEmpty() ? QSysInfo::machineHostName() : m_options.agentName;
    m_stream = std::make_unique<SnapshotStreamServer>(
        m_engine, [this](const QByteArray &key) { return keyAccepted(key); },
        [this](const QString &client, const QString &) {
            ++m_api->m_authFailures;
            m_authFailureCounter->inc();
            noteFailure(client);
        },
        streamOptions);
    // QHttpServer 6.4 upgrades a request to a WebSocket only when a route takes it and this
    // signal is connected. The route leaves an upgrade alone (the stream server checks its
    // key); any other request to the path goes the usual way (key, then a 400 that says so).
    m_http->route(snapshotStreamPath(), [this](const QHttpServerRequest &request, QHttpServerResponder &&responder) {
        if (request.value(QByteArrayLiteral("Upgrade")).compare(QByteArrayLiteral("websocket"), Qt::CaseInsensitive) == 0)
            return;
        handle(request, std::move(responder));
    });
    QObject::connect(m_http.get(), &QAbstractHttpServer::newWebSocketConnection, this, [this] {
        while (m_http && m_http->hasPendingWebSocketConnections()) {
            std::unique_ptr<QWebSocket> socket = m_http->nextPendingWebSocketConnection();
            if (!socket)
                continue;
            // The idle-connection sweep is for HTTP requests; a stream stays open while it streams.
            const QHostAddress peer = socket->peerAddress();
            const quint16 peerPort = socket->peerPort();
            m_connections.erase(std::remove_if(m_connections.begin(), m_connections.end(),
                                               [&](const Connection &c) {
                                                   return !c.socket || (c.socket->peerPort() == peerPort &&
                                                                        c.socket->peerAddress() == peer);
                                               }),
                                m_connections.end());
            m_stream->accept(std::move(socket));
        }
    });
    if (m_options.idleTimeoutMs > 0) {
        m_idleTimer = std::make_unique<QTimer>();
        m_idleTimer->setInterval(std::clamp(m_options.idleTimeoutMs / 4, 50, 15000));
        QObject::connect(m_idleTimer.get(), &QTimer::timeout, this, [this] { closeIdleConnections(); });
        m_idleTimer->start();
    }
    return port;
}

void AdminServer::guardSocket(QTcpSocket *socket)
{
    // Connected before QHttpServer's own readyRead handler, so this runs first. That handler
    // reads everything available inside a socket transaction it commits once a request is
    // complete: an open transaction therefore means "the same request goes on".
    const qint64 hardLimit = m_options.maxBodyBytes + kHeadAllowanceBytes;
    // Also caps what Qt buffers for a connection it gave up on (a parse error leaves the
    // socket open without a reader).
    socket->setReadBufferSize(hardLimit + kHeadAllowanceBytes);
    auto received = std::make_shared<qint64>(0);
    auto lastActivityMs = std::make_shared<qint64>(m_clock->nowMs());
    if (m_connections.size() >= 256) {
        m_connections.erase(std::remove_if(m_connections.begin(), m_connections.end(),
                                           [](const Connection &c) { return c.socket.isNull(); }),
                            m_connections.end());
    }
    m_connections.push_back({socket, lastActivityMs});
    QObject::connect(socket, &QTcpSocket::readyRead, this,
                     [this, socket, received, lastActivityMs, hardLimit] {
                         *lastActivityMs = m_clock->nowMs();
                         if (!socket->isTransactionStarted())
                             *received = 0;
                         *received += socket->bytesAvailable();
                         if (*received > hardLimit)
                             rejectOversized(socket, *received);
                     });
}

void AdminServer::rejectOversized(QTcpSocket *socket, qint64 received)
{
    // QHttpServer must not see the rest of this request: it would buffer all of it.
    QObject::disconnect(socket, &QTcpSocket::readyRead, nullptr, nullptr);
    if (socket->isTransactionStarted())
        socket->commitTransaction();
    socket->readAll();
    QObject::connect(socket, &QTcpSocket::readyRead, socket, [socket] { socket->readAll(); });
    QTimer::singleShot(kLingerMs, socket, [socket] { socket->disconnectFromHost(); });

    AdminResponse r = AdminResponse::error(
        413,
        QStringLiteral("request of more than %1 bytes exceeds the limit of %2 bytes (body limit %3 bytes "
                       "plus %4 bytes for the request line and headers)")
            .arg(received)
            .arg(m_options.maxBodyBytes + kHeadAllowanceBytes)
            .arg(m_options.maxBodyBytes)
            .arg(kHeadAllowanceBytes));
    r.body.insert(QStringLiteral("max_body_bytes"), m_options.maxBodyBytes);
    countResponse(r.status);
    const QByteArray body = QJsonDocument(r.body).toJson(QJsonDocument::Indented);
    socket->write("HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: " +
                  QByteArray::number(body.size()) +
                  "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + body);
}

bool AdminServer::isAwaitingAnswer(const QTcpSocket *socket) const
{
    for (const auto &entry : m_delayed) {
        if (entry.second.held.socket == socket)
            return true;
    }
    for (const auto &entry : m_actions) {
        if (entry.second.held.socket == socket)
            return true;
    }
    return false;
}

void AdminServer::closeIdleConnections()
{
    const qint64 now = m_clock->nowMs();
    std::vector<Connection> kept;
    kept.reserve(m_connections.size());
    for (Connection &c : m_connections) {
        QTcpSocket *socket = c.socket.data();
        if (!socket)
            continue;
        if (now - *c.lastActivityMs < m_options.idleTimeoutMs || isAwaitingAnswer(socket)) {
            kept.push_back(std::move(c));
            continue;
        }
        qCDebug(lcAdmin) << "closing idle connection from" << socket->peerAddress();
        socket->abort();
        socket->deleteLater();
    }
    m_connections = std::move(kept);
}

void AdminServer::countResponse(int status)
{
    if (status < 300)
        m_responses2xx->inc();
    else if (status < 500)
        m_responses4xx->inc();
    else
        m_responses5xx->inc();
    ++m_api->m_requestsServed;
}

void AdminServer::shutdown()
{
    {
        QMutexLocker lock(&m_link->mutex);
        m_link->receiver = nullptr;
        for (auto &entry : m_actions) {
            if (!entry.second.ticket->started)
                entry.second.ticket->cancelled = true;
        }
    }
    m_actions.clear();
    m_delayed.clear();
    m_idleTimer.reset();
    m_connections.clear();
    if (m_stream)
        m_stream->shutdown();
    m_stream.reset();
    m_http.reset(); // closes the listening socket and every connection
}

bool AdminServer::keyAccepted(const QByteArray &key) const
{
    const QByteArray digest = QCryptographicHash::hash(key, QCryptographicHash::Sha256);
    // Constant time: every byte of every accepted hash is compared, whatever matched.
    unsigned matches = 0;
    for (const QByteArray &accepted : m_keyHashes) {
        unsigned diff = 0;
        for (int i = 0; i < 32; ++i)
            diff |= unsigned(uchar(digest.at(i)) ^ uchar(accepted.at(i)));
        matches |= unsigned(diff == 0);
    }
    return matches != 0;
}

int AdminServer::noteFailure(const QString &client)
{
    const qint64 now = m_clock->nowMs();
    const qint64 window = m_options.failureWindowMs;
    if (m_failures.size() > kMaxTrackedAddresses) {
        for (auto it = m_failures.begin(); it != m_failures.end();) {
            if (it->empty() || now - it->back() >= window)
                it = m_failures.erase(it);
            else
                ++it;
        }
    }
    std::deque<qint64> &times = m_failures[client];
    while (!times.empty() && now - times.front() >= window)
        times.pop_front();
    times.push_back(now);
    if (times.size() > kMaxFailuresKept)
        times.pop_front();
    const int n = int(times.size());
    if (m_options.failureDelayBaseMs <= 0 || n <= m_options.failureThreshold)
        return 0;
    const int exponent = std::min(n - m_options.failureThreshold - 1, 30);
    const qint64 delay = qint64(m_options.failureDelayBaseMs) << exponent;
    return int(std::min<qint64>(delay, std::max(m_options.failureDelayMaxMs, 0)));
}

void AdminServer::send(Held &held, AdminResponse response)
{
    if (!isSendableStatus(response.status)) {
        qCWarning(lcAdmin) << "handler answered unsupported status" << response.status;
        response = AdminResponse::error(
            500, QStringLiteral("internal error: unsupported status %1").arg(response.status));
    }
    countResponse(response.status);
    QTcpSocket *socket = held.socket.data();
    if (!held.responder || !socket || socket->state() != QAbstractSocket::ConnectedState)
        return; // the client went away meanwhile
    const bool raw = !response.contentType.isEmpty();
    const QByteArray body = raw ? response.raw : QJsonDocument(response.body).toJson(QJsonDocument::Indented);
    QHttpServerResponder &r = *held.responder;
    r.writeStatusLine(static_cast<QHttpServerResponder::StatusCode>(response.status));
    r.writeHeader(QByteArrayLiteral("Content-Type"), raw ? response.contentType : QByteArrayLiteral("application/json"));
    r.writeHeader(QByteArrayLiteral("Content-Length"), QByteArray::number(body.size()));
    r.writeHeader(QByteArrayLiteral("Cache-Control"), QByteArrayLiteral("no-store"));
    for (const auto &h : response.headers) {
        if (h.first.compare("Content-Type", Qt::CaseInsensitive) == 0 ||
            h.first.compare("Content-Length", Qt::CaseInsensitive) == 0)
            continue;
        r.writeHeader(h.first, h.second);
    }
    r.writeBody(body);
    held.responder.reset();
}

void AdminServer::handle(const QHttpServerRequest &request, QHttpServerResponder &&responder)
{
    Held held;
    held.responder = std::make_unique<QHttpServerResponder>(std::move(responder));
    held.socket = held.responder->socket();

    const QByteArray key = request.value(QByteArrayLiteral("X-API-Key")).trimmed();
    if (key.isEmpty() || !keyAccepted(key)) {
        ++m_api->m_authFailures;
        m_authFailureCounter->inc();
        const QString client = clientAddress(request.remoteAddress());
        AdminResponse r = AdminResponse::error(401, key.isEmpty() ? QStringLiteral("missing X-API-Key header")
                                                                  : QStringLiteral("invalid API key"));
        const int delayMs = noteFailure(client);
        if (delayMs <= 0) {
            send(held, r);
            return;
        }
        if (int(m_delayed.size()) >= m_options.maxDelayedResponses) {
            AdminResponse busy =
                AdminResponse::error(429, QStringLiteral("too many failed authentication attempts"));
            busy.headers.append(
                {QByteArrayLiteral("Retry-After"), QByteArray::number((delayMs + 999) / 1000)});
            send(held, busy);
            return;
        }
        ++m_api->m_delayedResponses;
        r.body.insert(QStringLiteral("delayed_ms"), delayMs);
        const quint64 id = ++m_nextId;
        Delayed d;
        d.held = std::move(held);
        d.response = r;
        d.timer = std::make_unique<QTimer>();
        d.timer->setSingleShot(true);
        QObject::connect(d.timer.get(), &QTimer::timeout, this, [this, id] {
            auto it = m_delayed.find(id);
            if (it == m_delayed.end())
                return;
            send(it->second.held, it->second.response);
            // Not erased here: this lambda belongs to the timer being destroyed.
            it->second.timer.release()->deleteLater();
            m_delayed.erase(it);
        });
        d.timer->start(delayMs);
        m_delayed.emplace(id, std::move(d));
        return;
    }
    dispatch(request, std::move(held));
}

void AdminServer::dispatch(const QHttpServerRequest &request, Held held)
{
    const QByteArray method = methodName(request.method());
    const QString displayPath = request.url().path();
    const QStringList rawSegments = splitSegments(request.url().path(QUrl::FullyEncoded));
    QStringList segments;
    segments.reserve(rawSegments.size());
    for (const QString &s : rawSegments)
        segments.append(QUrl::fromPercentEncoding(s.toUtf8()));

    std::shared_ptr<const AdminApi::Route> route;
    QHash<QString, QString> params;
    QList<QByteArray> allowed;
    for (const auto &candidate : m_routes) {
        if (candidate->segments.size() != segments.size())
            continue;
        QHash<QString, QString> found;
        bool matches = true;
        for (int i = 0; i < segments.size() && matches; ++i) {
            const QString &p = candidate->segments.at(i);
            if (isParameter(p)) {
                if (segments.at(i).isEmpty())
                    matches = false;
                else
                    found.insert(p.mid(1, p.size() - 2), segments.at(i));
            } else if (p != segments.at(i)) {
                matches = false;
            }
        }
        if (!matches)
            continue;
        if (!allowed.contains(candidate->method))
            allowed.append(candidate->method);
        if (candidate->method == method && (!route || candidate->parameters < route->parameters)) {
            route = candidate;
            params = found;
        }
    }
    if (!route) {
        if (allowed.isEmpty()) {
            send(held, AdminResponse::error(404, QStringLiteral("no such endpoint: %1").arg(displayPath)));
            return;
        }
        std::sort(allowed.begin(), allowed.end());
        const QByteArray allow = allowed.join(", ");
        AdminResponse r = AdminResponse::error(
            405, QStringLiteral("method %1 not allowed on %2; allowed: %3")
                     .arg(QString::fromLatin1(method), displayPath, QString::fromLatin1(allow)));
        r.headers.append({QByteArrayLiteral("Allow"), allow});
        send(held, r);
        return;
    }

    const QByteArray body = request.body();
    if (body.size() > m_options.maxBodyBytes) {
        AdminResponse r =
            AdminResponse::error(413, QStringLiteral("request body of %1 bytes exceeds the limit of %2 bytes")
                                          .arg(body.size())
                                          .arg(m_options.maxBodyBytes));
        r.body.insert(QStringLiteral("max_body_bytes"), m_options.maxBodyBytes);
        send(held, r);
        return;
    }

    AdminRequest req;
    req.method = method;
    req.path = displayPath;
    req.params = params;
    req.query = request.query();
    req.body = body;
    req.client = clientAddress(request.remoteAddress());
    if (bodyAllowed(method) && !body.trimmed().isEmpty()) {
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(body, &parseError);
        if (parseError.error != QJsonParseError::NoError) {
            send(held, AdminResponse::error(400, QStringLiteral("malformed JSON body: %1 at offset %2")
                                                     .arg(parseError.errorString())
                                                     .arg(parseError.offset)));
            return;
        }
        if (!doc.isObject()) {
            send(held, AdminResponse::error(400, QStringLiteral("the JSON body must be an object")));
            return;
        }
        req.json = doc.object();
        const QJsonValue reason = req.json.value(QStringLiteral("reason"));
        if (!reason.isUndefined() && !reason.isString()) {
            send(held, AdminResponse::error(400, QStringLiteral("field \"reason\" must be a string")));
            return;
        }
        if (reason.toString().size() > kMaxReasonChars) {
            send(held,
                 AdminResponse::error(
                     400,
                     QStringLiteral("field \"reason\" is longer than %1 characters").arg(kMaxReasonChars)));
            return;
        }
    }

    if (route->thread == AdminThread::Engine) {
        runAction(route, std::move(req), std::move(held));
        return;
    }
    send(held, route->handler(*m_engine, req));
}

void AdminServer::runAction(const std::shared_ptr<const AdminApi::Route> &route, AdminRequest request,
                            Held held)
{
    const quint64 id = ++m_nextId;
    auto ticket = std::make_shared<ActionTicket>();
    ticket->link = m_link;
    PendingAction pending;
    pending.held = std::move(held);
    pending.ticket = ticket;
    pending.timeoutMs = m_options.actionTimeoutMs;
    pending.timer = std::make_unique<QTimer>();
    pending.timer->setSingleShot(true);
    QObject::connect(pending.timer.get(), &QTimer::timeout, this, [this, id] { actionTimedOut(id); });
    pending.timer->start(std::max(m_options.actionTimeoutMs, 1));
    m_actions.emplace(id, std::move(pending));

    qCDebug(lcAdmin) << "action posted to the engine:" << request.method << request.path;
    Engine *engine = m_engine;
    QMetaObject::invokeMethod(
        engine,
        [engine, route, request, ticket, id] {
            {
                QMutexLocker lock(&ticket->link->mutex);
                if (ticket->cancelled || !ticket->link->receiver) {
                    qCDebug(lcAdmin) << "action not run (timed out or the API stopped):" << request.method
                                     << request.path;
                    return;
                }
                ticket->started = true;
            }
            const AdminResponse response = route->handler(*engine, request);
            QString message = QString::fromLatin1(request.method) + QLatin1Char(' ') + request.path;
            const QString reason = request.json.value(QStringLiteral("reason")).toString();
            if (!reason.isEmpty())
                message += QStringLiteral(" (reason: %1)").arg(reason);
            if (response.status >= 300)
                message += QStringLiteral(" failed: %1 %2")
                               .arg(response.status)
                               .arg(response.body.value(QStringLiteral("error")).toString());
            engine->metrics().recordEvent(QStringLiteral("admin"), request.client, message);
            engine->publishNow(); // the action's effect and its journal entry show at once

            QMutexLocker lock(&ticket->link->mutex);
            if (AdminServer *receiver = ticket->link->receiver) {
                QMetaObject::invokeMethod(
                    receiver, [receiver, id, response] { receiver->finishAction(id, response); },
                    Qt::QueuedConnection);
            }
        },
        Qt::QueuedConnection);
}

void AdminServer::finishAction(quint64 id, const AdminResponse &response)
{
    auto it = m_actions.find(id);
    if (it == m_actions.end())
        return; // answered 503 already
    send(it->second.held, response);
    m_actions.erase(it);
}

void AdminServer::actionTimedOut(quint64 id)
{
    auto it = m_actions.find(id);
    if (it == m_actions.end())
        return;
    bool started;
    {
        QMutexLocker lock(&m_link->mutex);
        started = it->second.ticket->started;
        if (!started)
            it->second.ticket->cancelled = true;
    }
    const int timeoutMs = it->second.timeoutMs;
    AdminResponse r = AdminResponse::error(
        503, started
                 ? QStringLiteral("engine busy: the action started but did not finish within %1 ms; "
                                  "its outcome will show in the journal")
                       .arg(timeoutMs)
                 : QStringLiteral("engine busy: the action did not start within %1 ms and was not applied")
                       .arg(timeoutMs));
    r.body.insert(QStringLiteral("applied"), started ? QJsonValue() : QJsonValue(false));
    r.headers.append({QByteArrayLiteral("Retry-After"), QByteArrayLiteral("1")});
    send(it->second.held, r);
    // The timer that called us is deleted later, not from inside its own signal.
    it->second.timer.release()->deleteLater();
    m_actions.erase(it);
}

} // namespace detail

// --- AdminApi ----------------------------------------------------------------------------------

AdminApi::AdminApi(Engine *engine, const AdminApiOptions &options, Clock *clock, QObject *parent)
    : QObject(parent), m_engine(engine), m_options(options), m_clock(clock)
{
    // The route table: one line per endpoint.
    const struct {
        const char *method;
        const char *pattern;
        AdminHandler handler;
        AdminThread thread;
    } builtins[] = {
        {"GET", "/healthz", healthz, AdminThread::Api},
        {"GET", "/admin/database/stats", databaseStats, AdminThread::Api},
        {"POST", "/admin/database/reset-stats", resetDatabaseStats, AdminThread::Engine},
        {"GET", "/admin/diagnostics/system", diagnosticsSystem, AdminThread::Api},
        {"GET", "/admin/diagnostics/health-summary", healthSummary, AdminThread::Api},
        {"GET", "/admin/performance/request-coalescing", requestCoalescing, AdminThread::Api},
        {"GET", "/admin/performance/connection-pool", connectionPool, AdminThread::Api},
        {"GET", "/admin/performance/circuit-breakers", circuitBreakers, AdminThread::Api},
        {"GET", "/admin/performance/cache-stats", cacheStats, AdminThread::Api},
        {"GET", "/admin/performance/async-monitor", asyncMonitor, AdminThread::Api},
        {"GET", "/admin/performance/batch-stats", batchStats, AdminThread::Api},
        {"POST", "/admin/performance/reset-stats", resetPerformanceStats, AdminThread::Engine},
        {"POST", "/admin/circuit-breakers/{name}/force-open",
         breakerAction(BreakerCommand::ForceOpen, QStringLiteral("force_open")), AdminThread::Engine},
        {"POST", "/admin/circuit-breakers/{name}/force-closed",
         breakerAction(BreakerCommand::ForceClosed, QStringLiteral("force_closed")), AdminThread::Engine},
        {"POST", "/admin/circuit-breakers/{name}/reset",
         breakerAction(BreakerCommand::Reset, QStringLiteral("reset")), AdminThread::Engine},
        {"GET", "/admin/report", report, AdminThread::Api},
        {"GET", "/admin/integrations/health", integrationsHealth, AdminThread::Api},
        {"POST", "/admin/integrations/check", checkIntegrations, AdminThread::Engine},
        {"GET", "/admin/stream", streamWithoutUpgrade, AdminThread::Api},
        {"GET", "/admin/config/validate", validateConfig, AdminThread::Api},
        {"GET", "/admin/performance/memory-leaks", memoryLeaks, AdminThread::Api},
        {"GET", "/admin/performance/streaming-stats", streamingStats, AdminThread::Api},
        {"GET", "/metrics", prometheusMetrics, AdminThread::Api},
    };
    for (const auto &b : builtins) {
        QString error;
        if (!addRoute(QByteArray(b.method), QString::fromLatin1(b.pattern), b.handler, b.thread, &error))
            qCCritical(lcAdmin) << "built-in route rejected:" << error;
    }
}

AdminApi::~AdminApi()
{
    stop();
}

bool AdminApi::addRoute(const QByteArray &method, const QString &pattern, AdminHandler handler,
                        AdminThread thread, QString *error)
{
    auto fail = [error](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (isRunning())
        return fail(
            QStringLiteral("cannot add route %1 %2: the admin API is running (add routes before start())")
                .arg(QString::fromLatin1(method), pattern));
    if (!isKnownMethod(method))
        return fail(
            QStringLiteral("cannot add route %1 %2: unsupported method \"%1\" (use GET, POST, PUT, PATCH, "
                           "DELETE or OPTIONS)")
                .arg(QString::fromLatin1(method), pattern));
    if (!handler)
        return fail(QStringLiteral("cannot add route %1 %2: empty handler")
                        .arg(QString::fromLatin1(method), pattern));
    if (!pattern.startsWith(QLatin1Char('/')) || pattern.contains(QLatin1Char('?')) ||
        pattern.contains(QLatin1Char('%')))
        return fail(QStringLiteral("cannot add route %1 %2: the pattern must be a plain absolute path")
                        .arg(QString::fromLatin1(method), pattern));
    auto route = std::make_shared<Route>();
    route->method = method;
    route->pattern = pattern;
    route->segments = splitSegments(pattern);
    route->handler = std::move(handler);
    route->thread = thread;
    for (const QString &segment : std::as_const(route->segments)) {
        if (segment.isEmpty() && route->segments.size() > 1)
            return fail(QStringLiteral("cannot add route %1 %2: empty path segment")
                            .arg(QString::fromLatin1(method), pattern));
        if (isParameter(segment))
            ++route->parameters;
        else if (segment.contains(QLatin1Char('{')) || segment.contains(QLatin1Char('}')))
            return fail(
                QStringLiteral("cannot add route %1 %2: a parameter must be a whole segment like {name}")
                    .arg(QString::fromLatin1(method), pattern));
    }
    for (const auto &existing : m_routes) {
        if (existing->method == method && existing->pattern == pattern)
            return fail(QStringLiteral("cannot add route %1 %2: already defined")
                            .arg(QString::fromLatin1(method), pattern));
    }
    m_routes.push_back(std::move(route));
    return true;
}

QList<QPair<QByteArray, QString>> AdminApi::routes() const
{
    QList<QPair<QByteArray, QString>> out;
    for (const auto &r : m_routes)
        out.append({r->method, r->pattern});
    return out;
}

QString AdminApi::sha256Hex(const QByteArray &key)
{
    return QString::fromLatin1(QCryptographicHash::hash(key, QCryptographicHash::Sha256).toHex());
}

bool AdminApi::start(QString *error)
{
    auto fail = [error](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (isRunning())
        return fail(QStringLiteral("the admin API is already running on port %1").arg(port()));
    if (!m_engine)
        return fail(QStringLiteral("the admin API needs an engine"));

    QList<QByteArray> hashes;
    for (int i = 0; i < m_options.keySha256.size(); ++i) {
        const QString hex = m_options.keySha256.at(i).trimmed();
        const bool wellFormed =
            hex.size() == 64 && std::all_of(hex.cbegin(), hex.cend(), [](QChar c) {
                return c.isDigit() || (c.toLower() >= QLatin1Char('a') && c.toLower() <= QLatin1Char('f'));
            });
        if (!wellFormed)
            return fail(QStringLiteral("admin.key_sha256[%1]: \"%2\" is not a SHA-256 hash (64 hex digits)")
                            .arg(i)
                            .arg(hex));
        hashes.append(QByteArray::fromHex(hex.toLatin1()));
    }
    if (!m_options.keyEnvironmentVariable.isEmpty()) {
        QByteArray raw = qgetenv(m_options.keyEnvironmentVariable.constData());
        QByteArray key = raw.trimmed();
        if (!key.isEmpty())
            hashes.append(QCryptographicHash::hash(key, QCryptographicHash::Sha256));
        // The plain key is not kept in this object's memory.
        raw.fill('\0');
        key.fill('\0');
    }
    if (hashes.isEmpty())
        return fail(
            QStringLiteral("no admin API key configured: set the environment variable %1 or list SHA-256 "
                           "hashes of accepted keys in admin.key_sha256; the admin API does not run "
                           "without a key")
                .arg(QString::fromLatin1(m_options.keyEnvironmentVariable.isEmpty()
                                             ? QByteArrayLiteral("VEGA_API_KEY")
                                             : m_options.keyEnvironmentVariable)));

    m_thread = std::make_unique<QThread>();
    m_thread->setObjectName(QStringLiteral("vega-admin-api"));
    m_server = std::make_unique<detail::AdminServer>(this, m_routes, hashes);
    m_server->moveToThread(m_thread.get());
    m_thread->start();

    struct ListenResult {
        QSemaphore done;
        quint16 port = 0;
        QString error;
    };
    auto result = std::make_shared<ListenResult>();
    detail::AdminServer *server = m_server.get();
    QMetaObject::invokeMethod(
        server,
        [server, result] {
            result->port = server->listen(&result->error);
            result->done.release();
        },
        Qt::QueuedConnection);
    if (!result->done.tryAcquire(1, kStartTimeoutMs)) {
        stop();
        return fail(QStringLiteral("the admin API did not start within %1 ms").arg(kStartTimeoutMs));
    }
    if (result->port == 0) {
        const QString message = result->error;
        stop();
        return fail(message);
    }
    m_port = result->port;
    return true;
}

void AdminApi::stop()
{
    if (!m_server)
        return;
    detail::AdminServer *server = m_server.get();
    QThread *home = thread();
    // The server's thread never waits on the engine's, so this finishes even when called from
    // the engine's thread while actions are queued there.
    QMetaObject::invokeMethod(
        server,
        [server, home] {
            server->shutdown();
            server->moveToThread(home);
            QThread::currentThread()->quit();
        },
        Qt::QueuedConnection);
    m_thread->wait();
    m_server.reset();
    m_thread.reset();
    m_port = 0;
}

} // namespace vega
