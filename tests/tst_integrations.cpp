#include "config.h"
#include "demobackend.h"
#include "httpclient.h"
#include "integrations.h"
#include "localhttpserver.h"
#include "metrics.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMutex>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace vega;

namespace {

const QByteArray kSecret = "xoxb-planted-secret-4711";
const char *const kTokenVar = "VEGA_TST_INTEGRATION_TOKEN";
const char *const kUnsetVar = "VEGA_TST_INTEGRATION_UNSET";

/// A real server whose behaviour the test swaps, recording what it received.
class Backend {
public:
    struct Seen {
        QByteArray method;
        QByteArray path;
        QByteArray authorization;
    };

    Backend()
        : m_state(std::make_shared<State>()), m_thread([state = m_state](const HttpServerRequest &request) {
              QMutexLocker lock(&state->mutex);
              state->seen.append({request.method, request.path, request.header("Authorization")});
              return state->handler ? state->handler(request) : HttpServerResponse::make(404, "no handler");
          })
    {
    }

    void answer(LocalHttpServer::Handler handler)
    {
        QMutexLocker lock(&m_state->mutex);
        m_state->handler = std::move(handler);
    }
    void answerJson(int status, const QJsonObject &body, int delayMs = 0)
    {
        const QByteArray bytes = QJsonDocument(body).toJson(QJsonDocument::Compact);
        answer([status, bytes, delayMs](const HttpServerRequest &) {
            HttpServerResponse r = HttpServerResponse::make(status, bytes, "application/json");
            // A cacheable answer: health checks must still reach the server every time.
            r.setHeader("Cache-Control", "public, max-age=300");
            r.delayMs = delayMs;
            return r;
        });
    }
    QList<Seen> seen() const
    {
        QMutexLocker lock(&m_state->mutex);
        return m_state->seen;
    }
    QString base() const { return m_thread.baseUrl().toString(); }
    quint64 served() const { return m_thread.server()->requestsServed(); }

private:
    struct State {
        QMutex mutex; // protects handler and seen
        LocalHttpServer::Handler handler;
        QList<Seen> seen;
    };
    std::shared_ptr<State> m_state;
    LocalHttpServerThread m_thread;
};

/// The configuration of one integration, written as a user would.
QJsonObject integration(const QString &kind, const QString &url, const QJsonObject &extra = {})
{
    QJsonObject o = extra;
    o.insert(QStringLiteral("kind"), kind);
    o.insert(QStringLiteral("url"), url);
    return o;
}

struct Harness {
    /// Loads {"integrations": {<name>: <object>}} through the real loader.
    bool load(const QJsonObject &integrations, QString *error = nullptr)
    {
        const QJsonObject root{{QStringLiteral("integrations"), integrations}};
        const ConfigLoadResult r =
            ConfigLoader::loadText(QJsonDocument(root).toJson(), QStringLiteral("integrations.json"));
        if (!r.ok()) {
            if (error)
                *error = r.findings.first().toString();
            return false;
        }
        config = r.config;
        findings = r.findings;
        client = std::make_unique<HttpClient>(&registry, config.http);
        monitor = std::make_unique<IntegrationMonitor>(config.integrations.values(), client.get(), &registry);
        return true;
    }

    /// Runs one check and waits for its result.
    IntegrationStatus check(const QString &name, int timeoutMs = 15000)
    {
        const quint64 before = monitor->status(name).checksRun;
        monitor->checkNow(name);
        if (!QTest::qWaitFor([&] { return monitor->status(name).checksRun > before; }, timeoutMs))
            qWarning("no check result for %s within %d ms", qPrintable(name), timeoutMs);
        return monitor->status(name);
    }

    QList<EngineEvent> integrationEvents()
    {
        QList<EngineEvent> out;
        const auto snapshot = registry.capture(); // keeps the events alive for the loop
        for (const EngineEvent &e : snapshot->events) {
            if (e.kind == QLatin1String("integration"))
                out.append(e);
        }
        return out;
    }

    MetricsRegistry registry;
    EngineConfig config;
    QList<ConfigFinding> findings;
    std::unique_ptr<HttpClient> client;
    std::unique_ptr<IntegrationMonitor> monitor; // destroyed before the client
};

QByteArray describe(const IntegrationStatus &s)
{
    return QStringLiteral("%1: %2 (%3) http %4 latency %5 ms")
        .arg(s.name, integrationStateName(s.state), s.reason)
        .arg(s.httpStatus)
        .arg(s.latencyMs)
        .toUtf8();
}

QJsonObject bearer()
{
    return {{QStringLiteral("auth"), QJsonObject{{QStringLiteral("token"), QStringLiteral("${%1}").arg(QLatin1String(kTokenVar))}}}};
}

} // namespace

class TestIntegrations : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        qputenv(kTokenVar, kSecret);
        qunsetenv(kUnsetVar);
    }

    void contracts_data()
    {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("basePath");
        QTest::addColumn<QByteArray>("expectedMethod");
        QTest::addColumn<QByteArray>("expectedPath");
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<int>("expectedState");
        QTest::addColumn<QString>("reasonPart");

        const int ok = int(Health::Ok);
        const int bad = int(Health::Critical);
        QTest::newRow("slack ok") << "slack" << "/slack/api" << QByteArray("POST") << QByteArray("/slack/api/auth.test")
                                  << 200 << QByteArray("{\"ok\": true, \"team\": \"T\"}") << ok << QString();
        QTest::newRow("slack ok:false") << "slack" << "/slack/api" << QByteArray("POST")
                                        << QByteArray("/slack/api/auth.test") << 200
                                        << QByteArray("{\"ok\": false, \"error\": \"invalid_auth\"}") << bad
                                        << QStringLiteral("Slack error: invalid_auth");
        QTest::newRow("slack 401") << "slack" << "/slack/api" << QByteArray("POST") << QByteArray("/slack/api/auth.test")
                                   << 401 << QByteArray("{\"ok\": false, \"error\": \"not_authed\"}") << bad
                                   << QStringLiteral("HTTP 401 (not_authed)");
        QTest::newRow("home assistant ok")
            << "home_assistant" << "/homeassistant" << QByteArray("GET") << QByteArray("/homeassistant/api/") << 200
            << QByteArray("{\"message\": \"API running.\"}") << ok << QString();
        QTest::newRow("home assistant wrong message")
            << "home_assistant" << "/homeassistant" << QByteArray("GET") << QByteArray("/homeassistant/api/") << 200
            << QByteArray("{\"message\": \"Starting\"}") << bad << QStringLiteral("unexpected message \"Starting\"");
        QTest::newRow("llm ok") << "llm" << "/llm" << QByteArray("GET") << QByteArray("/llm/v1/models") << 200
                                << QByteArray("{\"object\": \"list\", \"data\": [{\"id\": \"m\"}]}") << ok << QString();
        QTest::newRow("llm 500") << "llm" << "/llm" << QByteArray("GET") << QByteArray("/llm/v1/models") << 500
                                 << QByteArray("{}") << bad << QStringLiteral("HTTP 500");
        QTest::newRow("llm no data") << "llm" << "/llm" << QByteArray("GET") << QByteArray("/llm/v1/models") << 200
                                     << QByteArray("{\"models\": []}") << bad << QStringLiteral("\"data\" array");
        QTest::newRow("search 2xx") << "search" << "/search" << QByteArray("GET") << QByteArray("/search") << 204
                                    << QByteArray() << ok << QString();
        QTest::newRow("external 503") << "external_api" << "/external" << QByteArray("GET") << QByteArray("/external")
                                      << 503 << QByteArray("busy") << bad << QStringLiteral("HTTP 503");
    }

    void contracts()
    {
        QFETCH(QString, kind);
        QFETCH(QString, basePath);
        QFETCH(QByteArray, expectedMethod);
        QFETCH(QByteArray, expectedPath);
        QFETCH(int, status);
        QFETCH(QByteArray, body);
        QFETCH(int, expectedState);
        QFETCH(QString, reasonPart);

        Backend backend;
        backend.answer([status, body](const HttpServerRequest &) {
            return HttpServerResponse::make(status, body, "application/json");
        });
        Harness h;
        QString error;
        QVERIFY2(h.load({{QStringLiteral("it"), integration(kind, backend.base() + basePath, bearer())}}, &error),
                 qPrintable(error));
        const IntegrationStatus s = h.check(QStringLiteral("it"));
        QCOMPARE(s.checksRun, 1u);
        QVERIFY2(int(s.state) == expectedState, describe(s));
        if (!reasonPart.isEmpty())
            QVERIFY2(s.reason.contains(reasonPart), describe(s));
        QCOMPARE(s.consecutiveFailures, expectedState == int(Health::Critical) ? 1 : 0);
        QCOMPARE(s.httpStatus, status);
        QVERIFY(s.latencyMs >= 0);

        // The contract's request, with the token from ${VAR} as a bearer header.
        const auto seen = backend.seen();
        QCOMPARE(seen.size(), 1);
        QCOMPARE(seen.first().method, expectedMethod);
        QCOMPARE(seen.first().path, expectedPath);
        QCOMPARE(seen.first().authorization, QByteArray("Bearer ") + kSecret);
        QVERIFY(!s.reason.contains(QString::fromLatin1(kSecret)));
        QVERIFY(!s.lastError.contains(QString::fromLatin1(kSecret)));
    }

    void slowAnswerIsDegraded()
    {
        Backend backend;
        backend.answerJson(200, {{QStringLiteral("ok"), true}}, 400);
        Harness h;
        QVERIFY(h.load({{QStringLiteral("slow"),
                         integration(QStringLiteral("fetch"), backend.base() + QStringLiteral("/fetch/1"),
                                     {{QStringLiteral("health"),
                                       QJsonObject{{QStringLiteral("latency_threshold_ms"), 100}}}})}}));
        const IntegrationStatus s = h.check(QStringLiteral("slow"));
        QVERIFY2(s.state == Health::Warning, describe(s));
        QVERIFY2(s.reason.contains(QStringLiteral("over the threshold of 100 ms")), describe(s));
        QVERIFY(s.latencyMs >= 100);
        QVERIFY(s.lastSuccessWallMs > 0); // degraded still answered
        QCOMPARE(s.consecutiveFailures, 0);
    }

    void timeoutIsUnhealthy()
    {
        Backend backend;
        backend.answerJson(200, {}, 3000);
        Harness h;
        QVERIFY(h.load({{QStringLiteral("hang"),
                         integration(QStringLiteral("external_api"), backend.base(),
                                     {{QStringLiteral("health"), QJsonObject{{QStringLiteral("timeout_ms"), 200}}}})}}));
        const IntegrationStatus s = h.check(QStringLiteral("hang"));
        QVERIFY2(s.state == Health::Critical, describe(s));
        QVERIFY2(s.reason.startsWith(QStringLiteral("timeout")) || s.reason.startsWith(QStringLiteral("deadline")),
                 describe(s));
        QCOMPARE(s.httpStatus, 0);
    }

    void unsetVariableIsUnhealthyWithoutARequest()
    {
        Backend backend;
        backend.answerJson(200, {{QStringLiteral("ok"), true}});
        Harness h;
        QVERIFY(h.load({{QStringLiteral("slack"),
                         integration(QStringLiteral("slack"), backend.base(),
                                     {{QStringLiteral("auth"),
                                       QJsonObject{{QStringLiteral("token"),
                                                    QStringLiteral("${%1}").arg(QLatin1String(kUnsetVar))}}}})}}));
        // The loader warned about it already.
        QVERIFY(std::any_of(h.findings.begin(), h.findings.end(), [](const ConfigFinding &f) {
            return f.severity == Severity::Warning && f.path == QLatin1String("$.integrations.slack.auth.token") &&
                   f.message.contains(QLatin1String(kUnsetVar));
        }));
        const IntegrationStatus s = h.check(QStringLiteral("slack"));
        QCOMPARE(s.state, Health::Critical);
        QCOMPARE(s.reason, QStringLiteral("environment variable %1 is not set").arg(QLatin1String(kUnsetVar)));
        QCOMPARE(s.lastError, s.reason);
        QCOMPARE(backend.served(), 0u);
    }

    void checksBypassCacheAndCoalescing()
    {
        Backend backend;
        backend.answerJson(200, {{QStringLiteral("data"), QJsonArray{}}});
        Harness h;
        QVERIFY(h.load({{QStringLiteral("llm"), integration(QStringLiteral("llm"), backend.base())}}));
        QCOMPARE(h.check(QStringLiteral("llm")).state, Health::Ok);
        QCOMPARE(h.check(QStringLiteral("llm")).state, Health::Ok);
        QCOMPARE(backend.served(), 2u); // the max-age=300 answer was not served from the cache
        QCOMPARE(h.client->totals().cacheHits, 0u);
        QVERIFY(backend.seen().first().authorization.isEmpty()); // no token configured: no header
    }

    void stateChangesGoToTheJournalAndMetrics()
    {
        Backend backend;
        backend.answerJson(200, {{QStringLiteral("message"), QStringLiteral("API running.")}});
        Harness h;
        QVERIFY(h.load({{QStringLiteral("ha"), integration(QStringLiteral("home_assistant"), backend.base(), bearer())}}));
        QSignalSpy changed(h.monitor.get(), &IntegrationMonitor::statusChanged);
        QCOMPARE(h.check(QStringLiteral("ha")).state, Health::Ok);
        QCOMPARE(changed.size(), 1);
        QCOMPARE(changed.first().first().value<IntegrationStatus>().name, QStringLiteral("ha"));
        auto events = h.integrationEvents();
        QCOMPARE(events.size(), 1);
        QCOMPARE(events.first().source, QStringLiteral("ha"));
        QCOMPARE(events.first().message, QStringLiteral("unknown -> healthy"));

        backend.answerJson(503, {});
        QCOMPARE(h.check(QStringLiteral("ha")).state, Health::Critical);
        QCOMPARE(h.check(QStringLiteral("ha")).consecutiveFailures, 2);
        events = h.integrationEvents();
        QCOMPARE(events.size(), 2); // the second failure is no change
        QCOMPARE(events.last().message, QStringLiteral("healthy -> unhealthy: HTTP 503"));

        const auto snap = h.registry.capture();
        const Labels up{{QStringLiteral("integration"), QStringLiteral("ha")}, {QStringLiteral("kind"), QStringLiteral("home_assistant")}};
        QVERIFY(snap->find(QStringLiteral("integration_up"), up));
        QCOMPARE(snap->find(QStringLiteral("integration_up"), up)->value, 0.0);
        const auto *unhealthy = snap->find(QStringLiteral("integration_checks"),
                                           {{QStringLiteral("integration"), QStringLiteral("ha")},
                                            {QStringLiteral("outcome"), QStringLiteral("unhealthy")}});
        QVERIFY(unhealthy);
        QCOMPARE(unhealthy->total, 2u);
        const auto *duration = snap->find(QStringLiteral("integration_check_duration"),
                                          {{QStringLiteral("integration"), QStringLiteral("ha")}});
        QVERIFY(duration);
        QCOMPARE(duration->summary.count, 3u);

        backend.answerJson(200, {{QStringLiteral("message"), QStringLiteral("API running.")}});
        const IntegrationStatus back = h.check(QStringLiteral("ha"));
        QCOMPARE(back.state, Health::Ok);
        QCOMPARE(back.lastError, QStringLiteral("HTTP 503")); // kept after recovery
        QCOMPARE(h.integrationEvents().last().message, QStringLiteral("unhealthy -> healthy"));
    }

    void secretNeverAppears()
    {
        Backend backend;
        // A backend that echoes the token it received in its error.
        backend.answer([](const HttpServerRequest &request) {
            const QByteArray body = "{\"ok\": false, \"error\": \"token " + request.header("Authorization") + " revoked\"}";
            return HttpServerResponse::make(200, body, "application/json");
        });
        Harness h;
        QJsonObject integrations{{QStringLiteral("slack"), integration(QStringLiteral("slack"), backend.base(), bearer())}};
        QVERIFY(h.load(integrations));
        const IntegrationStatus s = h.check(QStringLiteral("slack"));
        QCOMPARE(s.state, Health::Critical);
        QVERIFY2(s.reason.contains(QStringLiteral("<redacted>")), describe(s));
        for (const IntegrationStatus &st : h.monitor->statuses()) {
            QVERIFY(!st.reason.contains(QString::fromLatin1(kSecret)));
            QVERIFY(!st.lastError.contains(QString::fromLatin1(kSecret)));
            QVERIFY(!st.target.contains(QString::fromLatin1(kSecret)));
        }
        for (const EngineEvent &e : h.integrationEvents())
            QVERIFY(!e.message.contains(QString::fromLatin1(kSecret)));
        // The effective configuration keeps the reference, never the value.
        QByteArray effective = QJsonDocument(ConfigLoader::toJson(h.config)).toJson();
        QVERIFY(!effective.contains(kSecret));
        QVERIFY(effective.contains(QByteArray(QByteArray("${") + kTokenVar + "}")));

        // A literal token is redacted in the effective configuration and in findings.
        QJsonObject literal = integration(QStringLiteral("slack"), backend.base());
        literal.insert(QStringLiteral("auth"), QJsonObject{{QStringLiteral("token"), QString::fromLatin1(kSecret)}});
        Harness h2;
        QVERIFY(h2.load({{QStringLiteral("slack"), literal}}));
        effective = QJsonDocument(ConfigLoader::toJson(h2.config)).toJson();
        QVERIFY(!effective.contains(kSecret));
        QVERIFY(effective.contains("<redacted>"));
        QVERIFY(!h2.findings.isEmpty()); // the literal secret is a warning...
        for (const ConfigFinding &f : h2.findings)
            QVERIFY(!f.toString().contains(QString::fromLatin1(kSecret))); // ...that does not repeat it
    }

    void databaseSqlite()
    {
        QTemporaryDir dir;
        const QString good = dir.filePath(QStringLiteral("app.db"));
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tst-create"));
            db.setDatabaseName(good);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("CREATE TABLE t (x INTEGER)")));
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("tst-create"));
        const QString text = dir.filePath(QStringLiteral("notes.txt"));
        {
            QFile f(text);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(QByteArray(4096, 'x'));
        }
        const QString missingDir = dir.filePath(QStringLiteral("no/such/dir/app.db"));

        Harness h;
        QVERIFY(h.load({{QStringLiteral("good"), integration(QStringLiteral("database"), QStringLiteral("sqlite:") + good)},
                        {QStringLiteral("nodir"), integration(QStringLiteral("database"), QStringLiteral("sqlite:") + missingDir)},
                        {QStringLiteral("text"), integration(QStringLiteral("database"), QStringLiteral("sqlite:") + text)}}));
        QVERIFY(h.monitor->checkNow());
        QTRY_VERIFY_WITH_TIMEOUT(h.monitor->status(QStringLiteral("good")).checksRun == 1 &&
                                     h.monitor->status(QStringLiteral("nodir")).checksRun == 1 &&
                                     h.monitor->status(QStringLiteral("text")).checksRun == 1,
                                 15000);
        const IntegrationStatus ok = h.monitor->status(QStringLiteral("good"));
        QVERIFY2(ok.state == Health::Ok, describe(ok));
        QVERIFY(ok.latencyMs >= 0);
        const IntegrationStatus nodir = h.monitor->status(QStringLiteral("nodir"));
        QVERIFY2(nodir.state == Health::Critical, describe(nodir));
        QVERIFY2(nodir.reason.contains(QStringLiteral("does not exist")), describe(nodir));
        QVERIFY(!QFileInfo::exists(missingDir)); // a check never creates anything
        const IntegrationStatus notDb = h.monitor->status(QStringLiteral("text"));
        QVERIFY2(notDb.state == Health::Critical, describe(notDb));
        QVERIFY2(notDb.reason.contains(QStringLiteral("not a readable SQLite database")), describe(notDb));
        QVERIFY(h.monitor->status(QStringLiteral("good")).target.startsWith(QStringLiteral("SELECT 1 on sqlite:")));
    }

    void scheduleRunsChecksAndStopEndsThem()
    {
        Backend backend;
        backend.answerJson(200, {});
        Harness h;
        QVERIFY(h.load({{QStringLiteral("a"), integration(QStringLiteral("search"), backend.base(),
                                                          {{QStringLiteral("health"), QJsonObject{{QStringLiteral("interval_s"), 1}}}})},
                        {QStringLiteral("b"), integration(QStringLiteral("fetch"), backend.base(),
                                                          {{QStringLiteral("health"), QJsonObject{{QStringLiteral("interval_s"), 1}}}})}}));
        h.monitor->setRandomSeed(7);
        QCOMPARE(h.monitor->status(QStringLiteral("a")).state, Health::Unknown);
        h.monitor->start();
        QVERIFY(h.monitor->isRunning());
        // The first checks come soon (within the 1 s window), then about every second.
        QTRY_VERIFY_WITH_TIMEOUT(h.monitor->status(QStringLiteral("a")).checksRun >= 1 &&
                                     h.monitor->status(QStringLiteral("b")).checksRun >= 1,
                                 5000);
        QTRY_VERIFY_WITH_TIMEOUT(h.monitor->status(QStringLiteral("a")).checksRun >= 3, 10000);
        h.monitor->stop();
        QTest::qWait(100);
        const quint64 served = backend.served();
        QTest::qWait(1500);
        QCOMPARE(backend.served(), served);
        QVERIFY(!h.monitor->checkNow(QStringLiteral("nope")));
    }

    void pipelineOverridesApplyToTheHost()
    {
        Backend backend;
        backend.answerJson(503, {});
        Harness h;
        const QJsonObject breaker{{QStringLiteral("window"), 2},
                                  {QStringLiteral("minimum_calls"), 2},
                                  {QStringLiteral("failure_rate_percent"), 50},
                                  {QStringLiteral("open_base_ms"), 60000}};
        QVERIFY(h.load({{QStringLiteral("api"), integration(QStringLiteral("external_api"), backend.base(),
                                                            {{QStringLiteral("breaker"), breaker}})}}));
        const QUrl url(backend.base());
        QCOMPARE(h.config.http.policyFor(url).breakerMinimumCalls, 2);
        QCOMPARE(h.config.http.defaults.breakerMinimumCalls, HttpPolicy().breakerMinimumCalls);
        QCOMPARE(h.check(QStringLiteral("api")).reason, QStringLiteral("HTTP 503"));
        QCOMPARE(h.check(QStringLiteral("api")).reason, QStringLiteral("HTTP 503"));
        // The host's breaker opened: the third check never reaches the server.
        const IntegrationStatus third = h.check(QStringLiteral("api"));
        QVERIFY2(third.reason.startsWith(QStringLiteral("circuit_open")), describe(third));
        QCOMPARE(backend.served(), 2u);
    }

    void demoBackendSpeaksEveryContract()
    {
        DemoBackendOptions options;
        options.latencyScale = 0;
        options.faultPeriodSeconds = 0;
        DemoBackend demo(options);
        QVERIFY(demo.isListening());
        qputenv("VEGA_TST_DEMO_TOKEN", demo.token());
        const QString base = demo.baseUrl().toString();
        const QJsonObject auth{{QStringLiteral("auth"), QJsonObject{{QStringLiteral("token"), QStringLiteral("${VEGA_TST_DEMO_TOKEN}")}}}};
        QJsonObject search = integration(QStringLiteral("search"), base + QStringLiteral("/search"));
        search.insert(QStringLiteral("health"), QJsonObject{{QStringLiteral("path"), QStringLiteral("?q=health")}});
        Harness h;
        QVERIFY(h.load({{QStringLiteral("slack"), integration(QStringLiteral("slack"), base + QStringLiteral("/slack/api"), auth)},
                        {QStringLiteral("ha"), integration(QStringLiteral("home_assistant"), base + QStringLiteral("/homeassistant"), auth)},
                        {QStringLiteral("llm"), integration(QStringLiteral("llm"), base + QStringLiteral("/llm"), auth)},
                        {QStringLiteral("search"), search},
                        {QStringLiteral("fetch"), integration(QStringLiteral("fetch"), base + QStringLiteral("/fetch/health"))},
                        {QStringLiteral("external"), integration(QStringLiteral("external_api"), base + QStringLiteral("/external/items/1"))},
                        {QStringLiteral("dbapi"), integration(QStringLiteral("external_api"), base + QStringLiteral("/dbapi/orders/1"))}}));
        QVERIFY(h.monitor->checkNow());
        const auto allChecked = [&h] {
            const QList<IntegrationStatus> all = h.monitor->statuses();
            return std::all_of(all.cbegin(), all.cend(), [](const IntegrationStatus &s) { return s.checksRun == 1; });
        };
        QTRY_VERIFY_WITH_TIMEOUT(allChecked(), 15000);
        for (const IntegrationStatus &s : h.monitor->statuses())
            QVERIFY2(s.state == Health::Ok, describe(s));
        QCOMPARE(demo.unauthorizedCount(), 0u);
        QCOMPARE(demo.unmatchedCount(), 0u);
        QCOMPARE(h.monitor->names().size(), 7);
    }
};

QTEST_GUILESS_MAIN(TestIntegrations)
#include "tst_integrations.moc"
