#include "integrations.h"

#include "database.h"
#include "httpclient.h"
#include "metrics.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace vega {

QString integrationStateName(Health state)
{
    switch (state) {
    case Health::Ok: return QStringLiteral("healthy");
    case Health::Warning: return QStringLiteral("degraded");
    case Health::Critical: return QStringLiteral("unhealthy");
    case Health::Unknown: break;
    }
    return QStringLiteral("unknown");
}

namespace detail {

struct DatabaseCheckSpec {
    QString connectionName; // unique per check
    DatabaseLocation location;
    QString password; // expanded auth.token; lives only for the check
    int timeoutMs = 5000;
};

/// Runs database checks on its own thread: one fresh connection per check.
class DatabaseCheckWorker : public QObject {
    Q_OBJECT
public:
    explicit DatabaseCheckWorker(Clock *clock) : m_clock(clock) {}

    // Runs on the worker's thread.
    void check(quint64 serial, const DatabaseCheckSpec &spec)
    {
        const qint64 startNs = m_clock->nowNs();
        const QString error = run(spec);
        QSqlDatabase::removeDatabase(spec.connectionName);
        Q_EMIT checked(serial, error, m_clock->nowNs() - startNs);
    }

Q_SIGNALS:
    /// `error` is empty when the database answered.
    void checked(quint64 serial, const QString &error, qint64 durationNs);

private:
    static QString run(const DatabaseCheckSpec &spec)
    {
        const DatabaseLocation &loc = spec.location;
        const bool sqlite = loc.dialect == DatabaseDialect::Sqlite;
        const QString driver = sqlite ? QStringLiteral("QSQLITE") : QStringLiteral("QPSQL");
        if (sqlite) {
            // Read-only: a health check must never create the file it checks.
            const QFileInfo file(loc.path);
            if (!file.exists())
                return file.dir().exists()
                           ? QStringLiteral("SQLite file %1 does not exist").arg(loc.path)
                           : QStringLiteral("SQLite file %1 does not exist (no directory %2)")
                                 .arg(loc.path, file.absolutePath());
        }
        QSqlDatabase db = QSqlDatabase::addDatabase(driver, spec.connectionName);
        if (!db.isValid())
            return QStringLiteral("the Qt Sql driver %1 is not available").arg(driver);
        if (sqlite) {
            db.setDatabaseName(loc.path);
            db.setConnectOptions(QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=%1").arg(spec.timeoutMs));
        } else {
            db.setHostName(loc.host);
            db.setPort(loc.port);
            db.setUserName(loc.user);
            db.setDatabaseName(loc.database);
            if (!spec.password.isEmpty())
                db.setPassword(spec.password);
            const int seconds = std::max(1, (spec.timeoutMs + 999) / 1000);
            db.setConnectOptions(QStringLiteral("connect_timeout=%1").arg(seconds));
        }
        QString error;
        if (!db.open()) {
            error = QStringLiteral("cannot connect to %1: %2").arg(loc.describe(), db.lastError().text());
        } else {
            QSqlQuery one(db);
            if (!one.exec(QStringLiteral("SELECT 1")) || !one.next() || one.value(0).toInt() != 1) {
                error = QStringLiteral("SELECT 1 failed on %1: %2").arg(loc.describe(), one.lastError().text());
            } else if (sqlite) {
                // SELECT 1 needs no page of the file; reading the schema proves it is a database.
                QSqlQuery schema(db);
                if (!schema.exec(QStringLiteral("SELECT count(*) FROM sqlite_master")))
                    error = QStringLiteral("%1 is not a readable SQLite database: %2")
                                .arg(loc.path, schema.lastError().text());
            }
        }
        db.close();
        return error;
    }

    Clock *m_clock;
};

} // namespace detail

namespace {

constexpr int kFirstCheckWindowMs = 2000;

/// `base` joined with `path` ("auth.test", "/api/", "?q=x", ""), as text.
QString joinText(const QString &base, const QString &path)
{
    if (path.isEmpty())
        return base;
    if (path.startsWith(QLatin1Char('?')))
        return base + path;
    QString left = base;
    while (left.endsWith(QLatin1Char('/')))
        left.chop(1);
    return left + (path.startsWith(QLatin1Char('/')) ? path : QLatin1Char('/') + path);
}

QUrl joinUrl(const QString &base, const QString &path)
{
    QUrl url(base.trimmed(), QUrl::StrictMode);
    if (path.isEmpty())
        return url;
    QString p = path;
    QString query;
    const qsizetype q = p.indexOf(QLatin1Char('?'));
    if (q >= 0) {
        query = p.mid(q + 1);
        p.truncate(q);
    }
    if (!p.isEmpty()) {
        QString basePath = url.path(QUrl::FullyEncoded);
        while (basePath.endsWith(QLatin1Char('/')))
            basePath.chop(1);
        url.setPath(basePath + (p.startsWith(QLatin1Char('/')) ? p : QLatin1Char('/') + p), QUrl::TolerantMode);
    }
    if (!query.isEmpty())
        url.setQuery(url.hasQuery() ? url.query(QUrl::FullyEncoded) + QLatin1Char('&') + query : query,
                     QUrl::TolerantMode);
    return url;
}

QString formatMs(double ms)
{
    return ms < 10 ? QString::number(ms, 'f', 1) : QString::number(qRound64(ms));
}

QString missingText(const QStringList &names)
{
    return names.size() == 1
               ? QStringLiteral("environment variable %1 is not set").arg(names.first())
               : QStringLiteral("environment variables %1 are not set").arg(names.join(QStringLiteral(", ")));
}

} // namespace

class IntegrationMonitor::Private {
public:
    struct Entry {
        IntegrationConfig config;
        IntegrationStatus status;
        QTimer timer; // the next scheduled check
        QPointer<HttpCall> call;
        QStringList secrets; // strings scrubbed from error texts (expanded at dispatch)
        // Database kind.
        std::unique_ptr<QThread> thread;
        std::unique_ptr<detail::DatabaseCheckWorker> worker; // lives on `thread`
        QTimer dbTimeout;
        quint64 awaited = 0; // serial of the database check whose answer counts (0: none)
        bool dbBusy = false; // the worker still runs a check (perhaps an abandoned one)
        // Metrics (null without a registry).
        Counter *outcome[3] = {nullptr, nullptr, nullptr}; // healthy, degraded, unhealthy
        Histogram *duration = nullptr;
        Gauge *up = nullptr;
    };

    struct Result {
        Health state = Health::Critical;
        QString reason;
        double latencyMs = -1; // -1: nothing was measured (no request sent)
        int httpStatus = 0;
    };

    Private(IntegrationMonitor *q, HttpClient *http, MetricsRegistry *registry, Clock *clock)
        : q(q), http(http), registry(registry), clock(clock)
    {
    }

    void dispatch(Entry *e);
    void dispatchDatabase(Entry *e, const QString &url, const QString &password);
    void onHttpFinished(Entry *e, const HttpResponse &response);
    Result evaluate(const Entry *e, const HttpResponse &response) const;
    void onDatabaseChecked(Entry *e, quint64 serial, const QString &error, qint64 durationNs);
    void finishLater(Entry *e, const Result &result);
    void finish(Entry *e, Result result);
    void scheduleNext(Entry *e);
    QString scrub(const Entry *e, QString text) const;
    qint64 wallNowMs() const { return registry ? registry->wallNowMs() : QDateTime::currentMSecsSinceEpoch(); }
    double uniform(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

    IntegrationMonitor *q;
    HttpClient *http;
    MetricsRegistry *registry;
    Clock *clock;
    std::vector<std::unique_ptr<Entry>> entries; // sorted by name; never resized after construction
    std::mt19937_64 rng{std::random_device{}()};
    quint64 nextSerial = 0;
    bool running = false;
};

IntegrationMonitor::IntegrationMonitor(const QList<IntegrationConfig> &integrations, HttpClient *http,
                                       MetricsRegistry *registry, Clock *clock, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this, http, registry, clock ? clock : Clock::system()))
{
    qRegisterMetaType<vega::IntegrationStatus>();
    QList<IntegrationConfig> sorted = integrations;
    std::sort(sorted.begin(), sorted.end(),
              [](const IntegrationConfig &a, const IntegrationConfig &b) { return a.name < b.name; });
    for (const IntegrationConfig &config : std::as_const(sorted)) {
        auto entry = std::make_unique<Private::Entry>();
        Private::Entry *e = entry.get();
        e->config = config;
        e->status.name = config.name;
        e->status.kind = config.kind;
        e->status.target = config.kind == IntegrationKind::Database
                               ? QStringLiteral("SELECT 1 on ") + redactUrlPassword(config.url)
                               : (config.kind == IntegrationKind::Slack ? QStringLiteral("POST ") : QStringLiteral("GET ")) +
                                     redactUrlPassword(joinText(config.url, config.effectiveHealthPath()));
        e->timer.setSingleShot(true);
        connect(&e->timer, &QTimer::timeout, this, [this, e] { d->dispatch(e); });
        if (registry) {
            const QString outcomes[3] = {QStringLiteral("healthy"), QStringLiteral("degraded"),
                                         QStringLiteral("unhealthy")};
            for (int i = 0; i < 3; ++i)
                e->outcome[i] = registry->counter(QStringLiteral("integration_checks"),
                                                  {{QStringLiteral("integration"), config.name},
                                                   {QStringLiteral("outcome"), outcomes[i]}},
                                                  QStringLiteral("Integration health checks by outcome"));
            e->duration = registry->histogram(QStringLiteral("integration_check_duration"),
                                              {{QStringLiteral("integration"), config.name}},
                                              QStringLiteral("Duration of one integration health check"));
        }
        if (config.kind == IntegrationKind::Database) {
            e->dbTimeout.setSingleShot(true);
            connect(&e->dbTimeout, &QTimer::timeout, this, [this, e] {
                e->awaited = 0; // its answer, if it ever comes, no longer counts
                d->finish(e, {Health::Critical,
                              QStringLiteral("no answer within %1 ms").arg(e->config.healthTimeoutMs), -1, 0});
            });
        }
        d->entries.push_back(std::move(entry));
    }
}

IntegrationMonitor::~IntegrationMonitor()
{
    stop();
    for (auto &e : d->entries) {
        if (e->thread) {
            e->thread->quit();
            e->thread->wait(); // a check in progress is bounded by its connect/busy timeout
            e->worker.reset();
        }
    }
}

void IntegrationMonitor::start()
{
    if (d->running)
        return;
    d->running = true;
    const int n = int(d->entries.size());
    for (int i = 0; i < n; ++i) {
        Private::Entry *e = d->entries[size_t(i)].get();
        if (e->status.checking)
            continue; // rescheduled when it completes
        // Stratified: integration i starts somewhere in its own slice of the first window.
        const int window = std::min(kFirstCheckWindowMs, e->config.healthIntervalS * 1000);
        const double at = window * (i + d->uniform(0, 1)) / n;
        e->timer.start(int(at));
    }
}

void IntegrationMonitor::stop()
{
    d->running = false;
    for (auto &e : d->entries) {
        e->timer.stop();
        if (e->call) {
            disconnect(e->call, nullptr, this, nullptr); // its "cancelled" answer is not a result
            e->call->cancel();
            e->call = nullptr;
        }
        if (e->awaited) {
            e->dbTimeout.stop();
            e->awaited = 0;
        }
        e->status.checking = false;
    }
}

bool IntegrationMonitor::isRunning() const
{
    return d->running;
}

QList<IntegrationStatus> IntegrationMonitor::statuses() const
{
    QList<IntegrationStatus> out;
    out.reserve(qsizetype(d->entries.size()));
    for (const auto &e : d->entries)
        out.append(e->status);
    return out;
}

IntegrationStatus IntegrationMonitor::status(const QString &name) const
{
    for (const auto &e : d->entries) {
        if (e->config.name == name)
            return e->status;
    }
    return {};
}

QStringList IntegrationMonitor::names() const
{
    QStringList out;
    for (const auto &e : d->entries)
        out.append(e->config.name);
    return out;
}

bool IntegrationMonitor::checkNow(const QString &name)
{
    bool found = name.isEmpty();
    for (auto &e : d->entries) {
        if (!name.isEmpty() && e->config.name != name)
            continue;
        found = true;
        d->dispatch(e.get());
    }
    return found;
}

void IntegrationMonitor::setRandomSeed(quint64 seed)
{
    d->rng.seed(seed);
}

void IntegrationMonitor::Private::dispatch(Entry *e)
{
    if (e->status.checking)
        return;
    e->timer.stop();
    e->status.checking = true;
    const IntegrationConfig &c = e->config;
    QStringList missing;
    const QString url = expandEnvironment(c.url, &missing);
    const QString path = expandEnvironment(c.effectiveHealthPath(), &missing);
    const QString token = expandEnvironment(c.authToken, &missing);

    // What must never appear in an error text: the token, the variables it references, and
    // variables in the url or path whose name says they hold a credential (an API key in a
    // query string ends up in Qt's network error texts).
    e->secrets.clear();
    if (!token.isEmpty())
        e->secrets.append(token);
    static const QRegularExpression credentialName(QStringLiteral("TOKEN|KEY|SECRET|PASS|AUTH|CRED"),
                                                   QRegularExpression::CaseInsensitiveOption);
    const QStringList tokenNames = environmentReferences(c.authToken);
    for (const QString &name : environmentReferences(c.url) + environmentReferences(c.effectiveHealthPath()) + tokenNames) {
        const QString value = qEnvironmentVariable(name.toLocal8Bit().constData());
        if (value.size() >= 3 && (tokenNames.contains(name) || credentialName.match(name).hasMatch()))
            e->secrets.append(value);
    }

    if (!missing.isEmpty()) {
        finishLater(e, {Health::Critical, missingText(missing), -1, 0});
        return;
    }
    const QString problem = integrationUrlProblem(c.kind, url);
    if (!problem.isEmpty()) {
        finishLater(e, {Health::Critical, QStringLiteral("bad url: ") + problem, -1, 0});
        return;
    }
    if (c.kind == IntegrationKind::Database) {
        dispatchDatabase(e, url, token);
        return;
    }
    HttpRequest request;
    request.method = c.kind == IntegrationKind::Slack ? QByteArrayLiteral("POST") : QByteArrayLiteral("GET");
    request.url = joinUrl(url, path);
    if (!token.isEmpty())
        request.headers.append({QByteArrayLiteral("Authorization"), QByteArrayLiteral("Bearer ") + token.toUtf8()});
    request.headers.append({QByteArrayLiteral("Accept"), QByteArrayLiteral("application/json")});
    if (c.kind == IntegrationKind::Slack)
        request.headers.append({QByteArrayLiteral("Content-Type"), QByteArrayLiteral("application/x-www-form-urlencoded")});
    // What the backend answers now, in one attempt: no cache, no shared call, no retry.
    request.useCache = false;
    request.coalesce = false;
    request.retry = false;
    request.attemptTimeoutMs = c.healthTimeoutMs;
    request.deadlineMs = c.healthTimeoutMs;
    HttpCall *call = http->send(request);
    e->call = call;
    QObject::connect(call, &HttpCall::finished, q, [this, e](const HttpResponse &response) {
        e->call = nullptr;
        onHttpFinished(e, response);
    });
}

void IntegrationMonitor::Private::dispatchDatabase(Entry *e, const QString &url, const QString &password)
{
    if (e->dbBusy) {
        // The worker is still inside an earlier check that timed out: do not queue behind it.
        finishLater(e, {Health::Critical,
                        QStringLiteral("the previous check has not finished after %1 ms").arg(e->config.healthTimeoutMs),
                        -1, 0});
        return;
    }
    const DatabaseLocationResult parsed = parseDatabaseUrl(url, QString());
    if (!parsed.ok()) {
        finishLater(e, {Health::Critical, QStringLiteral("bad url: ") + parsed.error, -1, 0});
        return;
    }
    if (!e->thread) {
        e->thread = std::make_unique<QThread>();
        e->thread->setObjectName(QStringLiteral("vega-integration-db"));
        e->worker = std::make_unique<detail::DatabaseCheckWorker>(clock);
        e->worker->moveToThread(e->thread.get());
        QObject::connect(e->worker.get(), &detail::DatabaseCheckWorker::checked, q,
                         [this, e](quint64 serial, const QString &error, qint64 durationNs) {
                             onDatabaseChecked(e, serial, error, durationNs);
                         });
        e->thread->start();
    }
    detail::DatabaseCheckSpec spec;
    const quint64 serial = ++nextSerial;
    spec.connectionName = QStringLiteral("vega-integration-%1-%2").arg(e->config.name).arg(serial);
    spec.location = parsed.location;
    spec.password = password;
    spec.timeoutMs = e->config.healthTimeoutMs;
    e->awaited = serial;
    e->dbBusy = true;
    detail::DatabaseCheckWorker *worker = e->worker.get();
    QMetaObject::invokeMethod(worker, [worker, serial, spec] { worker->check(serial, spec); }, Qt::QueuedConnection);
    e->dbTimeout.start(e->config.healthTimeoutMs);
}

void IntegrationMonitor::Private::onDatabaseChecked(Entry *e, quint64 serial, const QString &error, qint64 durationNs)
{
    e->dbBusy = false;
    if (serial != e->awaited)
        return; // timed out or abandoned by stop()
    e->awaited = 0;
    e->dbTimeout.stop();
    Result r;
    r.latencyMs = double(durationNs) / 1e6;
    if (error.isEmpty()) {
        r.state = Health::Ok;
    } else {
        r.state = Health::Critical;
        r.reason = error;
    }
    if (r.state == Health::Ok && r.latencyMs > e->config.healthLatencyThresholdMs) {
        r.state = Health::Warning;
        r.reason = QStringLiteral("latency %1 ms is over the threshold of %2 ms")
                       .arg(formatMs(r.latencyMs))
                       .arg(e->config.healthLatencyThresholdMs);
    }
    if (e->duration)
        e->duration->record(durationNs);
    finish(e, r);
}

void IntegrationMonitor::Private::onHttpFinished(Entry *e, const HttpResponse &response)
{
    Result r = evaluate(e, response);
    if (e->duration && response.latencyNs > 0)
        e->duration->record(response.latencyNs);
    finish(e, r);
}

IntegrationMonitor::Private::Result IntegrationMonitor::Private::evaluate(const Entry *e,
                                                                          const HttpResponse &response) const
{
    Result r;
    r.latencyMs = double(response.latencyNs) / 1e6;
    r.httpStatus = response.status;
    if (response.error != HttpError::None) {
        r.reason = httpErrorName(response.error) + QStringLiteral(": ") + response.errorString;
        return r;
    }
    QJsonParseError parseError;
    const QJsonDocument json = QJsonDocument::fromJson(response.body, &parseError);
    const QJsonObject object = json.object();
    const bool isJsonObject = parseError.error == QJsonParseError::NoError && json.isObject();
    switch (e->config.kind) {
    case IntegrationKind::Slack:
        if (response.status != 200) {
            r.reason = QStringLiteral("HTTP %1").arg(response.status);
            if (isJsonObject && object.value(QStringLiteral("error")).isString())
                r.reason += QStringLiteral(" (%1)").arg(object.value(QStringLiteral("error")).toString());
        } else if (!isJsonObject) {
            r.reason = QStringLiteral("the answer of auth.test is not a JSON object");
        } else if (object.value(QStringLiteral("ok")).toBool(false)) {
            r.state = Health::Ok;
        } else {
            const QString error = object.value(QStringLiteral("error")).toString();
            r.reason = error.isEmpty() ? QStringLiteral("auth.test answered \"ok\": false")
                                       : QStringLiteral("Slack error: %1").arg(error);
        }
        break;
    case IntegrationKind::HomeAssistant: {
        const QString expected = QStringLiteral("API running.");
        if (response.status != 200) {
            r.reason = QStringLiteral("HTTP %1").arg(response.status);
        } else if (!isJsonObject || !object.value(QStringLiteral("message")).isString()) {
            r.reason = QStringLiteral("the answer is not a JSON object with a \"message\"");
        } else if (object.value(QStringLiteral("message")).toString() != expected) {
            r.reason = QStringLiteral("unexpected message \"%1\" (expected \"%2\")")
                           .arg(object.value(QStringLiteral("message")).toString().left(200), expected);
        } else {
            r.state = Health::Ok;
        }
        break;
    }
    case IntegrationKind::Llm:
        if (response.status != 200)
            r.reason = QStringLiteral("HTTP %1").arg(response.status);
        else if (!isJsonObject || !object.value(QStringLiteral("data")).isArray())
            r.reason = QStringLiteral("the models list has no JSON \"data\" array");
        else
            r.state = Health::Ok;
        break;
    case IntegrationKind::Search:
    case IntegrationKind::Fetch:
    case IntegrationKind::ExternalApi:
    case IntegrationKind::Database:
        if (response.status >= 200 && response.status < 300)
            r.state = Health::Ok;
        else
            r.reason = QStringLiteral("HTTP %1").arg(response.status);
        break;
    }
    if (r.state == Health::Ok && r.latencyMs > e->config.healthLatencyThresholdMs) {
        r.state = Health::Warning;
        r.reason = QStringLiteral("latency %1 ms is over the threshold of %2 ms")
                       .arg(formatMs(r.latencyMs))
                       .arg(e->config.healthLatencyThresholdMs);
    }
    return r;
}

void IntegrationMonitor::Private::finishLater(Entry *e, const Result &result)
{
    // Results are always delivered from the event loop, never from inside checkNow().
    QMetaObject::invokeMethod(
        q,
        [this, e, result] {
            if (e->status.checking)
                finish(e, result);
        },
        Qt::QueuedConnection);
}

QString IntegrationMonitor::Private::scrub(const Entry *e, QString text) const
{
    for (const QString &secret : e->secrets)
        text.replace(secret, QStringLiteral("<redacted>"));
    return text;
}

void IntegrationMonitor::Private::finish(Entry *e, Result result)
{
    result.reason = scrub(e, result.reason);
    IntegrationStatus &s = e->status;
    const Health before = s.state;
    const qint64 now = wallNowMs();
    s.checking = false;
    ++s.checksRun;
    s.lastCheckWallMs = now;
    s.latencyMs = result.latencyMs;
    s.httpStatus = result.httpStatus;
    s.state = result.state;
    s.reason = result.reason;
    if (result.state == Health::Critical) {
        ++s.consecutiveFailures;
        s.lastError = result.reason;
        s.lastErrorWallMs = now;
    } else {
        s.consecutiveFailures = 0;
        s.lastSuccessWallMs = now;
    }
    if (registry) {
        const int outcome = result.state == Health::Ok ? 0 : result.state == Health::Warning ? 1 : 2;
        e->outcome[outcome]->inc();
        if (!e->up)
            e->up = registry->gauge(QStringLiteral("integration_up"),
                                    {{QStringLiteral("integration"), e->config.name},
                                     {QStringLiteral("kind"), integrationKindName(e->config.kind)}},
                                    QStringLiteral("1 when the integration's last health check passed"));
        e->up->set(result.state == Health::Critical ? 0 : 1);
        if (before != result.state) {
            QString message = integrationStateName(before) + QStringLiteral(" -> ") + integrationStateName(result.state);
            if (!result.reason.isEmpty())
                message += QStringLiteral(": ") + result.reason;
            registry->recordEvent(QStringLiteral("integration"), e->config.name, message,
                                  std::max(0.0, result.latencyMs));
        }
    }
    if (running)
        scheduleNext(e);
    Q_EMIT q->statusChanged(s);
}

void IntegrationMonitor::Private::scheduleNext(Entry *e)
{
    const double intervalMs = e->config.healthIntervalS * 1000.0;
    e->timer.start(int(std::llround(intervalMs * uniform(0.9, 1.1))));
}

} // namespace vega

#include "integrations.moc"
