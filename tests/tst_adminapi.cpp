// The admin HTTP API over real HTTP, against a real engine.
#include "adminapi.h"
#include "engine.h"
#include "httpclient.h"
#include "localhttpserver.h"
#include "sqlprofiler.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>
#include <QtTest>

#include <atomic>
#include <memory>

using namespace vega;

namespace {

const QByteArray kEnvKey = QByteArrayLiteral("env-key-7c1f0b2e9d");
const QByteArray kHashedKey = QByteArrayLiteral("hashed-key-41aa93");

struct Reply {
    int status = 0;
    QByteArray body;
    QJsonObject json;
    bool jsonObject = false;
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    QList<QNetworkReply::RawHeaderPair> headers;
    qint64 elapsedMs = 0;
    bool finished = false;

    QByteArray header(const QByteArray &name) const
    {
        for (const auto &h : headers) {
            if (h.first.compare(name, Qt::CaseInsensitive) == 0)
                return h.second;
        }
        return {};
    }
};

/// A real engine (defaults, no demo, a temporary data directory) with an AdminApi on it.
struct Fixture {
    QTemporaryDir dir;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<AdminApi> api;
    QNetworkAccessManager nam;

    explicit Fixture(const AdminApiOptions &options = {})
    {
        EngineOptions eo;
        eo.dataDir = dir.path();
        engine = std::make_unique<Engine>(EngineConfig{}, eo);
        engine->start();
        api = std::make_unique<AdminApi>(engine.get(), options);
        nam.setProxy(QNetworkProxy::NoProxy);
    }
    ~Fixture()
    {
        api.reset(); // before the engine, as the contract says
    }

    bool start()
    {
        QString error;
        const bool ok = api->start(&error);
        if (!ok)
            qWarning() << "start failed:" << error;
        return ok;
    }

    QUrl url(const QString &pathAndQuery) const
    {
        return QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(api->port()).arg(pathAndQuery));
    }

    QNetworkReply *send(const QByteArray &method, const QString &path, const QByteArray &key,
                        const QByteArray &body = {})
    {
        QNetworkRequest request(url(path));
        if (!key.isEmpty())
            request.setRawHeader("X-API-Key", key);
        if (!body.isEmpty())
            request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        return nam.sendCustomRequest(request, method, body);
    }

    Reply call(const QByteArray &method, const QString &path, const QByteArray &key = kEnvKey,
               const QByteArray &body = {}, int timeoutMs = 20000)
    {
        QElapsedTimer timer;
        timer.start();
        QNetworkReply *reply = send(method, path, key, body);
        QSignalSpy spy(reply, &QNetworkReply::finished);
        Reply r;
        r.finished = reply->isFinished() || spy.wait(timeoutMs);
        r.elapsedMs = timer.elapsed();
        r.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        r.body = reply->readAll();
        r.error = reply->error();
        r.headers = reply->rawHeaderPairs();
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(r.body, &parseError);
        r.jsonObject = parseError.error == QJsonParseError::NoError && doc.isObject();
        r.json = doc.object();
        reply->deleteLater();
        return r;
    }

    Reply get(const QString &path, const QByteArray &key = kEnvKey) { return call("GET", path, key); }
    Reply post(const QString &path, const QByteArray &body = {}, const QByteArray &key = kEnvKey)
    {
        return call("POST", path, key, body);
    }
};

bool responseComplete(const QByteArray &data)
{
    const int headEnd = data.indexOf("\r\n\r\n");
    if (headEnd < 0)
        return false;
    const QByteArray head = data.left(headEnd).toLower();
    const int at = head.indexOf("content-length:");
    if (at < 0)
        return true;
    const int lineEnd = head.indexOf('\r', at);
    const qint64 length = head.mid(at + 15, lineEnd < 0 ? -1 : lineEnd - at - 15).trimmed().toLongLong();
    return data.size() - (headEnd + 4) >= length;
}

/// Sends raw bytes on a fresh connection and reads one response (or until the timeout / the
/// server closes). Blocking; usable from any thread.
QByteArray rawExchange(quint16 port, const QByteArray &data, int timeoutMs = 10000,
                       bool closeAfterWrite = false)
{
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(timeoutMs))
        return QByteArrayLiteral("CONNECT FAILED");
    socket.write(data);
    socket.waitForBytesWritten(timeoutMs);
    if (closeAfterWrite) {
        socket.disconnectFromHost();
        return {};
    }
    QByteArray out;
    QElapsedTimer timer;
    timer.start();
    while (timer.elapsed() < timeoutMs && !responseComplete(out)) {
        if (socket.waitForReadyRead(100))
            out += socket.readAll();
        else if (socket.state() != QAbstractSocket::ConnectedState)
            break;
    }
    return out;
}

int rawStatus(const QByteArray &response)
{
    if (!response.startsWith("HTTP/1.1 "))
        return 0;
    return response.mid(9, 3).toInt();
}

QByteArray rawGet(const QString &path, const QByteArray &key)
{
    return "GET " + path.toUtf8() + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + key + "\r\n\r\n";
}

const MetricSnapshot *findMetric(const SnapshotPtr &snap, const QString &name)
{
    return snap->metrics->find(name);
}

bool hasAdminEvent(const SnapshotPtr &snap, const QString &message)
{
    for (const EngineEvent &e : snap->metrics->events) {
        if (e.kind == QLatin1String("admin") && e.source == QLatin1String("127.0.0.1") &&
            e.message == message)
            return true;
    }
    return false;
}

} // namespace

class TestAdminApi : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { qputenv("VEGA_API_KEY", kEnvKey); }
    void cleanup() { qunsetenv("VEGA_API_KEY"); }

    void startFailsWithoutAnyKey()
    {
        qunsetenv("VEGA_API_KEY");
        Fixture f;
        QString error;
        QVERIFY(!f.api->start(&error));
        QVERIFY2(error.contains(QLatin1String("no admin API key configured")), qPrintable(error));
        QVERIFY2(error.contains(QLatin1String("VEGA_API_KEY")), qPrintable(error));
        QVERIFY(!f.api->isRunning());
        QCOMPARE(f.api->port(), quint16(0));
    }

    void startFailsOnMalformedHash()
    {
        AdminApiOptions options;
        options.keySha256 = {AdminApi::sha256Hex(kHashedKey), QStringLiteral("not-a-hash")};
        Fixture f(options);
        QString error;
        QVERIFY(!f.api->start(&error));
        QVERIFY2(error.contains(QLatin1String("admin.key_sha256[1]")), qPrintable(error));
        QVERIFY2(error.contains(QLatin1String("not-a-hash")), qPrintable(error));
    }

    void startFailsWhenPortTaken()
    {
        QTcpServer taken;
        QVERIFY(taken.listen(QHostAddress::LocalHost, 0));
        AdminApiOptions options;
        options.port = taken.serverPort();
        Fixture f(options);
        QString error;
        QVERIFY(!f.api->start(&error));
        QVERIFY2(error.contains(QStringLiteral("127.0.0.1:%1").arg(taken.serverPort())), qPrintable(error));
        QVERIFY2(error.contains(QLatin1String("in use")), qPrintable(error));
        QVERIFY(!f.api->isRunning());
        // The same object starts once the port is free.
        taken.close();
        QVERIFY(f.start());
        QCOMPARE(f.api->port(), options.port);
        QVERIFY(!f.api->start(&error)); // already running
        QVERIFY2(error.contains(QLatin1String("already running")), qPrintable(error));
    }

    void authMatrix()
    {
        AdminApiOptions options;
        options.keySha256 = {AdminApi::sha256Hex(kHashedKey).toUpper()};
        Fixture f(options);
        QVERIFY(f.start());
        QVERIFY(f.api->port() != 0);

        const Reply none = f.get(QStringLiteral("/healthz"), {});
        QCOMPARE(none.status, 401);
        QVERIFY(none.jsonObject);
        QCOMPARE(none.json.value(QStringLiteral("status")).toInt(), 401);
        QVERIFY(
            none.json.value(QStringLiteral("error")).toString().contains(QLatin1String("missing X-API-Key")));
        QCOMPARE(none.header("Content-Type"), QByteArray("application/json"));

        const Reply wrong = f.get(QStringLiteral("/healthz"), QByteArrayLiteral("wrong-key"));
        QCOMPARE(wrong.status, 401);
        QCOMPARE(wrong.json.value(QStringLiteral("error")).toString(), QStringLiteral("invalid API key"));
        // Auth comes before routing: an unknown path without a key says nothing about paths.
        QCOMPARE(f.get(QStringLiteral("/no/such/path"), {}).status, 401);

        const Reply env = f.get(QStringLiteral("/healthz"), kEnvKey);
        QCOMPARE(env.status, 200);
        const Reply hashed = f.get(QStringLiteral("/healthz"), kHashedKey);
        QCOMPARE(hashed.status, 200);
        QVERIFY(hashed.json.contains(QStringLiteral("uptime_s")));
        QVERIFY(f.api->authFailures() >= 3);

        // A prefix or a longer key is not the key.
        QCOMPARE(f.get(QStringLiteral("/healthz"), kEnvKey.left(kEnvKey.size() - 1)).status, 401);
        QCOMPARE(f.get(QStringLiteral("/healthz"), kEnvKey + "x").status, 401);
    }

    void envKeyIsReadAtStart()
    {
        // Changing the environment after start() changes nothing: the key was hashed then.
        Fixture f;
        QVERIFY(f.start());
        qputenv("VEGA_API_KEY", "another-key");
        QCOMPARE(f.get(QStringLiteral("/healthz"), QByteArrayLiteral("another-key")).status, 401);
        QCOMPARE(f.get(QStringLiteral("/healthz"), kEnvKey).status, 200);
    }

    void repeatedFailuresAreSlowedDown()
    {
        AdminApiOptions options;
        options.failureThreshold = 2;
        options.failureDelayBaseMs = 600;
        options.failureDelayMaxMs = 1000;
        Fixture f(options);
        QVERIFY(f.start());
        for (int i = 0; i < 2; ++i) {
            const Reply r = f.get(QStringLiteral("/healthz"), QByteArrayLiteral("bad"));
            QCOMPARE(r.status, 401);
            QVERIFY(!r.json.contains(QStringLiteral("delayed_ms")));
        }
        const Reply third = f.get(QStringLiteral("/healthz"), QByteArrayLiteral("bad"));
        QCOMPARE(third.status, 401);
        QCOMPARE(third.json.value(QStringLiteral("delayed_ms")).toInt(), 600);
        QVERIFY2(third.elapsedMs >= 550, qPrintable(QString::number(third.elapsedMs)));
        const Reply fourth = f.get(QStringLiteral("/healthz"), {});
        QCOMPARE(fourth.status, 401);
        QCOMPARE(fourth.json.value(QStringLiteral("delayed_ms")).toInt(), 1000); // doubled, capped
        QVERIFY2(fourth.elapsedMs >= 950, qPrintable(QString::number(fourth.elapsedMs)));
        QCOMPARE(f.api->delayedResponses(), quint64(2));
    }

    void rightKeyIsNotSlowed()
    {
        // Every failure is held a minute: a right key answered quickly proves it is not
        // delayed, and that holding a response does not block the server's thread.
        AdminApiOptions options;
        options.failureThreshold = 0;
        options.failureDelayBaseMs = 60000;
        options.failureDelayMaxMs = 60000;
        Fixture f(options);
        QVERIFY(f.start());
        QNetworkReply *held = f.send("GET", QStringLiteral("/healthz"), QByteArrayLiteral("bad"));
        QTRY_COMPARE_WITH_TIMEOUT(f.api->delayedResponses(), quint64(1), 10000);
        const Reply good = f.get(QStringLiteral("/healthz"), kEnvKey);
        QVERIFY(good.finished);
        QCOMPARE(good.status, 200);
        QVERIFY(!held->isFinished());
        // Destroying the API with the response held neither hangs nor crashes.
        f.api.reset();
        QTRY_VERIFY_WITH_TIMEOUT(held->isFinished(), 10000);
        QVERIFY(held->error() != QNetworkReply::NoError);
        held->deleteLater();
    }

    void delayedFloodGets429()
    {
        AdminApiOptions options;
        options.failureThreshold = 0;
        options.failureDelayBaseMs = 60000;
        options.failureDelayMaxMs = 60000;
        options.maxDelayedResponses = 1;
        Fixture f(options);
        QVERIFY(f.start());
        QNetworkReply *held = f.send("GET", QStringLiteral("/healthz"), QByteArrayLiteral("bad"));
        QTRY_COMPARE_WITH_TIMEOUT(f.api->delayedResponses(), quint64(1), 10000);
        const Reply r = f.get(QStringLiteral("/healthz"), QByteArrayLiteral("bad"));
        QCOMPARE(r.status, 429);
        QCOMPARE(r.header("Retry-After"), QByteArray("60"));
        QCOMPARE(r.json.value(QStringLiteral("status")).toInt(), 429);
        held->abort();
        held->deleteLater();
    }

    void everyEndpointAnswersJson_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QStringList>("fields");
        QTest::newRow("healthz") << QStringLiteral("/healthz")
                                 << QStringList{QStringLiteral("status"), QStringLiteral("uptime_s"),
                                                QStringLiteral("health"), QStringLiteral("version")};
        QTest::newRow("database") << QStringLiteral("/admin/database/stats")
                                  << QStringList{QStringLiteral("statements"), QStringLiteral("slow_queries"),
                                                 QStringLiteral("connections"), QStringLiteral("storage"),
                                                 QStringLiteral("slow_threshold_ms")};
        QTest::newRow("system") << QStringLiteral("/admin/diagnostics/system")
                                << QStringList{QStringLiteral("overall"), QStringLiteral("categories"),
                                               QStringLiteral("sampled_at")};
        QTest::newRow("health-summary")
            << QStringLiteral("/admin/diagnostics/health-summary")
            << QStringList{QStringLiteral("overall"), QStringLiteral("categories"),
                           QStringLiteral("storage")};
        QTest::newRow("coalescing") << QStringLiteral("/admin/performance/request-coalescing")
                                    << QStringList{QStringLiteral("requests"), QStringLiteral("coalesced"),
                                                   QStringLiteral("coalesced_ratio"),
                                                   QStringLiteral("top_coalesced_keys"),
                                                   QStringLiteral("metrics")};
        QTest::newRow("pool") << QStringLiteral("/admin/performance/connection-pool")
                              << QStringList{QStringLiteral("pools"),
                                             QStringLiteral("connection_reuse_ratio"),
                                             QStringLiteral("connections_opened")};
        QTest::newRow("breakers") << QStringLiteral("/admin/performance/circuit-breakers")
                                  << QStringList{QStringLiteral("breakers"),
                                                 QStringLiteral("breaker_rejections")};
        QTest::newRow("cache") << QStringLiteral("/admin/performance/cache-stats")
                               << QStringList{QStringLiteral("cache_hits"), QStringLiteral("cache_misses"),
                                              QStringLiteral("hit_ratio")};
        QTest::newRow("async") << QStringLiteral("/admin/performance/async-monitor")
                               << QStringList{QStringLiteral("event_loop"), QStringLiteral("metrics")};
        QTest::newRow("batch") << QStringLiteral("/admin/performance/batch-stats")
                               << QStringList{QStringLiteral("storage"), QStringLiteral("metrics")};
        QTest::newRow("report") << QStringLiteral("/admin/report?format=json")
                                << QStringList{QStringLiteral("format"),  QStringLiteral("engine"),
                                               QStringLiteral("metrics"), QStringLiteral("events"),
                                               QStringLiteral("http"),    QStringLiteral("diagnostics")};
        QTest::newRow("report-default") << QStringLiteral("/admin/report")
                                        << QStringList{QStringLiteral("format"), QStringLiteral("metrics")};
        QTest::newRow("integrations") << QStringLiteral("/admin/integrations/health")
                                      << QStringList{QStringLiteral("overall"), QStringLiteral("integrations")};
        QTest::newRow("memory") << QStringLiteral("/admin/performance/memory-leaks")
                                << QStringList{QStringLiteral("rss"), QStringLiteral("heap_in_use"),
                                               QStringLiteral("tracked_types"), QStringLiteral("suspects")};
        QTest::newRow("streaming") << QStringLiteral("/admin/performance/streaming-stats")
                                   << QStringList{QStringLiteral("active_streams"), QStringLiteral("subscribers"),
                                                  QStringLiteral("buffered_bytes"), QStringLiteral("streams")};
        QTest::newRow("validate") << QStringLiteral("/admin/config/validate")
                                  << QStringList{QStringLiteral("ok"), QStringLiteral("findings"),
                                                 QStringLiteral("errors"), QStringLiteral("warnings")};
    }

    void prometheusMetricsAreText()
    {
        Fixture f;
        QVERIFY(f.start());
        f.engine->metrics().counter(QStringLiteral("admin_probe"))->inc(3);
        f.engine->publishNow();
        const Reply r = f.get(QStringLiteral("/metrics"));
        QCOMPARE(r.status, 200);
        QVERIFY2(r.header("Content-Type").startsWith("text/plain; version=0.0.4"), r.header("Content-Type").constData());
        QVERIFY2(r.body.contains("# TYPE vega_admin_probe_total counter\nvega_admin_probe_total 3\n"), r.body.left(2000).constData());
        // Still behind the key.
        QCOMPARE(f.get(QStringLiteral("/metrics"), QByteArrayLiteral("wrong")).status, 401);
    }

    void reportFormats()
    {
        Fixture f;
        QVERIFY(f.start());
        const Reply html = f.get(QStringLiteral("/admin/report?format=html"));
        QCOMPARE(html.status, 200);
        QVERIFY(html.header("Content-Type").startsWith("text/html"));
        QVERIFY(html.body.contains("<html") || html.body.contains("<!DOCTYPE html"));
        const Reply zip = f.get(QStringLiteral("/admin/report?format=zip"));
        QCOMPARE(zip.status, 200);
        QCOMPARE(zip.header("Content-Type"), QByteArray("application/zip"));
        QVERIFY(zip.body.startsWith("PK\x03\x04"));
        QVERIFY(zip.header("Content-Disposition").contains("vega-report.zip"));
        QCOMPARE(f.get(QStringLiteral("/admin/report?format=pdf")).status, 400);
    }

    void validationReachesTheEngine()
    {
        Fixture f;
        QVERIFY(f.start());
        QSignalSpy finished(f.engine.get(), &Engine::validationFinished);
        const Reply r = f.get(QStringLiteral("/admin/config/validate"));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json.value(QStringLiteral("ok")).toBool(), true);
        QTRY_COMPARE(finished.count(), 1);
        QVERIFY(f.engine->lastValidation());
        QVERIFY(f.engine->latest()->validation);
    }

    void everyEndpointAnswersJson()
    {
        QFETCH(QString, path);
        QFETCH(QStringList, fields);
        Fixture f;
        QVERIFY(f.start());
        const Reply r = f.get(path);
        QCOMPARE(r.status, 200);
        QVERIFY2(r.jsonObject, r.body.constData());
        for (const QString &field : fields)
            QVERIFY2(r.json.contains(field),
                     qPrintable(field + QStringLiteral(" missing in ") + QString::fromUtf8(r.body)));
    }

    void batchStatsHoldOnlyStorageMetrics()
    {
        Fixture f;
        QVERIFY(f.start());
        f.engine->publishNow();
        const Reply r = f.get(QStringLiteral("/admin/performance/batch-stats"));
        const QJsonArray metrics = r.json.value(QStringLiteral("metrics")).toArray();
        QVERIFY(!metrics.isEmpty());
        for (const QJsonValue &m : metrics)
            QVERIFY(
                m.toObject().value(QStringLiteral("name")).toString().startsWith(QLatin1String("storage_")));
        QCOMPARE(r.json.value(QStringLiteral("storage")).toObject().value(QStringLiteral("enabled")).toBool(),
                 true);
    }

    void errorCases()
    {
        Fixture f;
        QVERIFY(f.start());

        const Reply missing = f.get(QStringLiteral("/admin/nothing-here"));
        QCOMPARE(missing.status, 404);
        QVERIFY(missing.jsonObject);
        QCOMPARE(missing.json.value(QStringLiteral("status")).toInt(), 404);
        QVERIFY(missing.json.value(QStringLiteral("error"))
                    .toString()
                    .contains(QLatin1String("/admin/nothing-here")));
        QCOMPARE(f.get(QStringLiteral("/admin/report/")).status, 404); // paths are exact

        const Reply wrongMethod = f.post(QStringLiteral("/admin/report"));
        QCOMPARE(wrongMethod.status, 405);
        QCOMPARE(wrongMethod.header("Allow"), QByteArray("GET"));
        QCOMPARE(wrongMethod.json.value(QStringLiteral("status")).toInt(), 405);
        const Reply getAction = f.get(QStringLiteral("/admin/performance/reset-stats"));
        QCOMPARE(getAction.status, 405);
        QCOMPARE(getAction.header("Allow"), QByteArray("POST"));
        QCOMPARE(f.call("DELETE", QStringLiteral("/healthz")).status, 405);

        const Reply tooLarge = f.post(QStringLiteral("/admin/performance/reset-stats"),
                                      "{\"reason\": \"" + QByteArray(70 * 1024, 'x') + "\"}");
        QCOMPARE(tooLarge.status, 413);
        QCOMPARE(tooLarge.json.value(QStringLiteral("max_body_bytes")).toInt(), 64 * 1024);

        const Reply malformed = f.post(QStringLiteral("/admin/performance/reset-stats"), "{\"reason\": ");
        QCOMPARE(malformed.status, 400);
        QVERIFY2(malformed.json.value(QStringLiteral("error"))
                     .toString()
                     .startsWith(QLatin1String("malformed JSON body")),
                 malformed.body.constData());
        QCOMPARE(f.post(QStringLiteral("/admin/performance/reset-stats"), "[1, 2]").status, 400);
        const Reply badReason = f.post(QStringLiteral("/admin/performance/reset-stats"), "{\"reason\": 5}");
        QCOMPARE(badReason.status, 400);
        QVERIFY(badReason.json.value(QStringLiteral("error")).toString().contains(QLatin1String("reason")));
        // None of the refused actions reached the engine.
        QTest::qWait(100);
        QCOMPARE(f.engine->latest()->metrics->resetCount, 0);

        const Reply csv = f.get(QStringLiteral("/admin/report?format=csv"));
        QCOMPARE(csv.status, 400);
        QCOMPARE(csv.json.value(QStringLiteral("error")).toString(),
                 QStringLiteral("format csv is not supported: use json, html or zip (PDF is written by the console and --report)"));

        // The server still serves after all of it.
        QCOMPARE(f.get(QStringLiteral("/healthz")).status, 200);
    }

    void hugeBodyIsRefusedWhileArriving()
    {
        // Far beyond the limit: refused as it arrives, not after buffering all of it.
        Fixture f;
        QVERIFY(f.start());
        const QByteArray head =
            "POST /admin/performance/reset-stats HTTP/1.1\r\nHost: x\r\nX-API-Key: " + kEnvKey +
            "\r\nContent-Length: 99999999999\r\n\r\n";
        const QByteArray answer = rawExchange(f.api->port(), head + QByteArray(1024 * 1024, 'z'), 20000);
        QCOMPARE(rawStatus(answer), 413);
        QVERIFY(answer.contains("Connection: close"));
        const QJsonObject json = QJsonDocument::fromJson(answer.mid(answer.indexOf("\r\n\r\n") + 4)).object();
        QCOMPARE(json.value(QStringLiteral("status")).toInt(), 413);
        QCOMPARE(json.value(QStringLiteral("max_body_bytes")).toInt(), 64 * 1024);

        const Reply viaNam =
            f.post(QStringLiteral("/admin/performance/reset-stats"), QByteArray(2 * 1024 * 1024, '{'));
        QCOMPARE(viaNam.status, 413);
        QCOMPARE(viaNam.json.value(QStringLiteral("status")).toInt(), 413);

        QTest::qWait(100);
        QCOMPARE(f.engine->latest()->metrics->resetCount, 0);
        QCOMPARE(f.get(QStringLiteral("/healthz")).status, 200);
    }

    void hostileInputNeverBreaksTheServer()
    {
        Fixture f;
        QVERIFY(f.start());
        const quint16 port = f.api->port();

        // Garbage: whatever the answer (an error or a closed connection), the server lives.
        rawExchange(port, QByteArrayLiteral("\x16\x03\x01 garbage \0\xff\r\n\r\n"), 1000);
        rawExchange(port, QByteArrayLiteral("NOT HTTP AT ALL\r\n\r\n"), 1000);
        // A 64 KiB header line, with and without the right key.
        const QByteArray filler(64 * 1024, 'a');
        const QByteArray bigHeader = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + kEnvKey +
                                     "\r\nX-Filler: " + filler + "\r\n\r\n";
        const int bigStatus = rawStatus(rawExchange(port, bigHeader, 5000));
        QVERIFY2(bigStatus == 0 || bigStatus == 200 || bigStatus == 431,
                 qPrintable(QString::number(bigStatus)));
        // A head beyond the limits is refused as it arrives.
        QCOMPARE(rawStatus(rawExchange(
                     port, "GET /healthz HTTP/1.1\r\nX-Filler: " + QByteArray(200 * 1024, 'b') + "\r\n\r\n",
                     5000)),
                 413);
        // Truncated requests: the client goes away mid-head and mid-body.
        rawExchange(port, QByteArrayLiteral("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-"), 1000,
                    true);
        rawExchange(port,
                    "POST /admin/performance/reset-stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " +
                        kEnvKey + "\r\nContent-Length: 100\r\n\r\n{\"rea",
                    1000, true);
        // A declared body far beyond the limit, never sent.
        rawExchange(port,
                    QByteArrayLiteral("POST /admin/performance/reset-stats HTTP/1.1\r\nHost: x\r\n"
                                      "Content-Length: 99999999999\r\n\r\n"),
                    1000, true);

        const QByteArray normal = rawExchange(port, rawGet(QStringLiteral("/healthz"), kEnvKey));
        QCOMPARE(rawStatus(normal), 200);
        QCOMPARE(f.get(QStringLiteral("/admin/report")).status, 200);
        QCOMPARE(f.engine->latest()->metrics->resetCount, 0); // the truncated POST never ran
    }

    void idleAndAbandonedConnectionsAreClosed()
    {
        AdminApiOptions options;
        options.idleTimeoutMs = 1000;
        Fixture f(options);
        QVERIFY(f.start());
        // One connection QHttpServer gave up on (malformed input), one idle keep-alive one.
        QTcpSocket garbage;
        garbage.connectToHost(QHostAddress::LocalHost, f.api->port());
        QVERIFY(garbage.waitForConnected(10000));
        garbage.write("NOT HTTP AT ALL\r\n\r\n");
        QTcpSocket idle;
        idle.connectToHost(QHostAddress::LocalHost, f.api->port());
        QVERIFY(idle.waitForConnected(10000));
        idle.write(rawGet(QStringLiteral("/healthz"), kEnvKey));
        QByteArray answer;
        QTRY_VERIFY_WITH_TIMEOUT((answer += idle.readAll(), responseComplete(answer)), 10000);
        QCOMPARE(rawStatus(answer), 200);
        QTRY_COMPARE_WITH_TIMEOUT(garbage.state(), QAbstractSocket::UnconnectedState, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(idle.state(), QAbstractSocket::UnconnectedState, 10000);
        QCOMPARE(f.get(QStringLiteral("/healthz")).status, 200);
    }

    void resetStatsReachesTheEngine()
    {
        Fixture f;
        QVERIFY(f.start());
        Counter *counter = f.engine->metrics().counter(QStringLiteral("test_admin_counter"));
        counter->inc(3);
        QCOMPARE(findMetric(f.engine->publishNow(), QStringLiteral("test_admin_counter"))->sinceReset,
                 quint64(3));

        const Reply r = f.post(QStringLiteral("/admin/performance/reset-stats"));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json.value(QStringLiteral("reset")).toBool(), true);
        QCOMPARE(r.json.value(QStringLiteral("reset_count")).toInt(), 1);
        const SnapshotPtr after = f.engine->latest();
        const MetricSnapshot *m = findMetric(after, QStringLiteral("test_admin_counter"));
        QVERIFY(m);
        QCOMPARE(m->sinceReset, quint64(0));
        QCOMPARE(m->total, quint64(3));
        QVERIFY(hasAdminEvent(after, QStringLiteral("POST /admin/performance/reset-stats")));

        // A reason goes to the journal with the action.
        QCOMPARE(f.post(QStringLiteral("/admin/database/reset-stats"), "{\"reason\": \"before load test\"}")
                     .status,
                 200);
        QVERIFY(hasAdminEvent(f.engine->latest(),
                              QStringLiteral("POST /admin/database/reset-stats (reason: before load test)")));
        // The report the API serves shows the journal too.
        const Reply report = f.get(QStringLiteral("/admin/report"));
        bool found = false;
        for (const QJsonValue &e : report.json.value(QStringLiteral("events")).toArray())
            found = found || e.toObject().value(QStringLiteral("kind")).toString() == QLatin1String("admin");
        QVERIFY(found);
    }

    void databaseResetClearsProfiler()
    {
        Fixture f;
        QVERIFY(f.start());
        f.engine->sqlProfiler()->record(QStringLiteral("SELECT 1 FROM t WHERE a = 5"), QStringLiteral("test"),
                                        2000000, 1, false);
        Reply stats = f.get(QStringLiteral("/admin/database/stats"));
        bool seen = false;
        for (const QJsonValue &s : stats.json.value(QStringLiteral("statements")).toArray())
            seen = seen || s.toObject().value(QStringLiteral("statement")).toString() ==
                               QLatin1String("SELECT ? FROM t WHERE a = ?");
        QVERIFY2(seen, stats.body.constData());
        QCOMPARE(f.post(QStringLiteral("/admin/database/reset-stats")).status, 200);
        stats = f.get(QStringLiteral("/admin/database/stats"));
        seen = false;
        for (const QJsonValue &s : stats.json.value(QStringLiteral("statements")).toArray())
            seen = seen || s.toObject().value(QStringLiteral("statement")).toString() ==
                               QLatin1String("SELECT ? FROM t WHERE a = ?");
        QVERIFY(!seen);
    }

    void breakerCommands()
    {
        LocalHttpServerThread backend(
            [](const HttpServerRequest &) { return HttpServerResponse::make(200, "ok", "text/plain"); });
        QVERIFY(backend.isListening());
        Fixture f;
        QVERIFY(f.start());
        HttpRequest request;
        request.url = backend.baseUrl();
        request.url.setPath(QStringLiteral("/x"));
        bool done = false;
        connect(f.engine->http()->send(request), &HttpCall::finished, this, [&done] { done = true; });
        QTRY_VERIFY_WITH_TIMEOUT(done, 10000);
        const QString name = QStringLiteral("127.0.0.1:%1").arg(backend.port());
        QVERIFY2(f.engine->http()->breakerNames().contains(name),
                 qPrintable(f.engine->http()->breakerNames().join(u',')));
        const QString encoded = QString::fromLatin1(QUrl::toPercentEncoding(name));

        auto stateOf = [&]() {
            for (const BreakerInfo &b : f.engine->http()->summary().breakers) {
                if (b.name == name)
                    return b.state;
            }
            return QString();
        };
        const Reply open = f.post(QStringLiteral("/admin/circuit-breakers/%1/force-open").arg(encoded));
        QCOMPARE(open.status, 200);
        QCOMPARE(open.json.value(QStringLiteral("state")).toString(), QStringLiteral("forced_open"));
        QCOMPARE(stateOf(), QStringLiteral("forced_open"));
        QVERIFY(hasAdminEvent(f.engine->latest(),
                              QStringLiteral("POST /admin/circuit-breakers/%1/force-open").arg(name)));
        // The published snapshot, and so the read endpoint, shows it at once.
        const Reply list = f.get(QStringLiteral("/admin/performance/circuit-breakers"));
        bool listed = false;
        for (const QJsonValue &b : list.json.value(QStringLiteral("breakers")).toArray()) {
            listed = listed ||
                     (b.toObject().value(QStringLiteral("name")).toString() == name &&
                      b.toObject().value(QStringLiteral("state")).toString() == QLatin1String("forced_open"));
        }
        QVERIFY2(listed, list.body.constData());

        QCOMPARE(f.post(QStringLiteral("/admin/circuit-breakers/%1/force-closed").arg(encoded)).status, 200);
        QCOMPARE(stateOf(), QStringLiteral("forced_closed"));
        QCOMPARE(f.post(QStringLiteral("/admin/circuit-breakers/%1/reset").arg(encoded)).status, 200);
        QCOMPARE(stateOf(), QStringLiteral("closed"));

        const Reply unknown = f.post(QStringLiteral("/admin/circuit-breakers/no-such-host%3A1/force-open"));
        QCOMPARE(unknown.status, 404);
        QCOMPARE(unknown.json.value(QStringLiteral("error")).toString(),
                 QStringLiteral("unknown circuit breaker \"no-such-host:1\""));
        QVERIFY(unknown.json.value(QStringLiteral("known_breakers")).toArray().contains(name));
        QVERIFY(
            hasAdminEvent(f.engine->latest(),
                          QStringLiteral("POST /admin/circuit-breakers/no-such-host:1/force-open failed: 404 "
                                         "unknown circuit breaker \"no-such-host:1\"")));
    }

    void routesAreExtensible()
    {
        Fixture f;
        QThread *served = nullptr;
        QString error;
        QVERIFY(f.api->addRoute(
            "GET", QStringLiteral("/admin/custom/{id}/echo"), [&served](Engine &, const AdminRequest &r) {
                served = QThread::currentThread();
                QJsonObject o;
                o.insert(QStringLiteral("id"), r.param(QStringLiteral("id")));
                o.insert(QStringLiteral("q"), r.query.queryItemValue(QStringLiteral("q")));
                return AdminResponse::ok(o);
            }));
        QVERIFY(!f.api->addRoute(
            "GET", QStringLiteral("/admin/custom/{id}/echo"),
            [](Engine &, const AdminRequest &) { return AdminResponse::ok({}); }, AdminThread::Api, &error));
        QVERIFY2(error.contains(QLatin1String("already defined")), qPrintable(error));
        QVERIFY(!f.api->addRoute(
            "GET", QStringLiteral("admin/x"),
            [](Engine &, const AdminRequest &) { return AdminResponse::ok({}); }, AdminThread::Api, &error));
        QVERIFY(!f.api->addRoute(
            "BREW", QStringLiteral("/admin/x"),
            [](Engine &, const AdminRequest &) { return AdminResponse::ok({}); }, AdminThread::Api, &error));
        QVERIFY(f.api->routes().contains({QByteArray("GET"), QStringLiteral("/admin/custom/{id}/echo")}));
        QVERIFY(f.start());
        QVERIFY(!f.api->addRoute(
            "GET", QStringLiteral("/admin/late"),
            [](Engine &, const AdminRequest &) { return AdminResponse::ok({}); }, AdminThread::Api, &error));
        QVERIFY2(error.contains(QLatin1String("running")), qPrintable(error));

        const Reply r = f.get(QStringLiteral("/admin/custom/a%20b%2Fc/echo?q=1"));
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json.value(QStringLiteral("id")).toString(), QStringLiteral("a b/c"));
        QCOMPARE(r.json.value(QStringLiteral("q")).toString(), QStringLiteral("1"));
        QVERIFY(served && served != QThread::currentThread()); // reads run on the API's thread
        QCOMPARE(f.get(QStringLiteral("/admin/custom/x/other")).status, 404);
    }

    void engineStaysResponsiveDuringBurst()
    {
        Fixture f;
        QVERIFY(f.start());
        QElapsedTimer sinceTick;
        sinceTick.start();
        qint64 maxGapMs = 0;
        int ticks = 0;
        QTimer timer;
        timer.setInterval(10);
        connect(&timer, &QTimer::timeout, this, [&] {
            maxGapMs = std::max(maxGapMs, sinceTick.restart());
            ++ticks;
        });
        timer.start();
        const QStringList paths{QStringLiteral("/healthz"), QStringLiteral("/admin/report"),
                                QStringLiteral("/admin/performance/connection-pool"),
                                QStringLiteral("/admin/diagnostics/system")};
        int ok = 0;
        int finished = 0;
        for (int i = 0; i < 200; ++i) {
            QNetworkReply *reply = f.send("GET", paths.at(i % paths.size()), kEnvKey);
            connect(reply, &QNetworkReply::finished, this, [reply, &ok, &finished] {
                ++finished;
                if (reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() == 200)
                    ++ok;
                reply->deleteLater();
            });
        }
        QTRY_COMPARE_WITH_TIMEOUT(finished, 200, 60000);
        timer.stop();
        QCOMPARE(ok, 200);
        QVERIFY(ticks > 0);
        QVERIFY2(maxGapMs < 5000, qPrintable(QString::number(maxGapMs)));
        QVERIFY(f.api->requestsServed() >= 200);
    }

    void stalledEngineGets503AndReadsStillWork()
    {
        AdminApiOptions options;
        options.actionTimeoutMs = 300;
        Fixture f(options);
        QVERIFY(f.start());
        const quint16 port = f.api->port();
        std::atomic<bool> clientDone{false};
        QByteArray actionAnswer;
        QByteArray readAnswer;
        std::unique_ptr<QThread> client(QThread::create([&] {
            actionAnswer = rawExchange(
                port,
                "POST /admin/performance/reset-stats HTTP/1.1\r\nHost: x\r\nX-API-Key: " + kEnvKey +
                    "\r\nContent-Length: 0\r\n\r\n",
                20000);
            readAnswer = rawExchange(port, rawGet(QStringLiteral("/healthz"), kEnvKey), 20000);
            clientDone = true;
        }));
        client->start();
        // The engine's thread (this one) stalls until the client has both answers.
        QElapsedTimer stall;
        stall.start();
        while (!clientDone && stall.elapsed() < 30000)
            QThread::msleep(10);
        QVERIFY(client->wait(30000));
        QCOMPARE(rawStatus(actionAnswer), 503);
        QVERIFY2(actionAnswer.contains("engine busy"), actionAnswer.constData());
        QVERIFY(actionAnswer.contains("\"applied\": false"));
        QCOMPARE(rawStatus(readAnswer), 200);
        // Once the engine runs again, the timed-out action is not applied late.
        QTest::qWait(300);
        QCOMPARE(f.engine->latest()->metrics->resetCount, 0);
        QCOMPARE(f.post(QStringLiteral("/admin/performance/reset-stats")).status, 200);
        QCOMPARE(f.engine->latest()->metrics->resetCount, 1);
    }

    void stopFromEngineThreadWithQueuedActionDoesNotDeadlock()
    {
        Fixture f;
        QVERIFY(f.start());
        const quint16 port = f.api->port();
        std::atomic<bool> sent{false};
        QByteArray answer;
        std::unique_ptr<QThread> client(QThread::create([&] {
            QTcpSocket socket;
            socket.connectToHost(QHostAddress::LocalHost, port);
            socket.waitForConnected(10000);
            socket.write("POST /admin/performance/reset-stats HTTP/1.1\r\nHost: x\r\nX-API-Key: " + kEnvKey +
                         "\r\nContent-Length: 0\r\n\r\n");
            socket.waitForBytesWritten(10000);
            sent = true;
            while (socket.state() == QAbstractSocket::ConnectedState && socket.waitForReadyRead(10000))
                answer += socket.readAll();
        }));
        client->start();
        QElapsedTimer t;
        t.start();
        while (!sent && t.elapsed() < 10000)
            QThread::msleep(5);
        QThread::msleep(300); // the server posts the action to this (blocked) thread meanwhile
        // Stop while the action waits in this thread's queue: must return, not deadlock.
        f.api->stop();
        QVERIFY(!f.api->isRunning());
        QVERIFY(client->wait(20000));
        QVERIFY(answer.isEmpty()); // the connection was dropped unanswered
        QTest::qWait(200);         // the queued action runs now, and must do nothing
        QCOMPARE(f.engine->latest()->metrics->resetCount, 0);
        // It starts again afterwards.
        QVERIFY(f.start());
        QCOMPARE(f.get(QStringLiteral("/healthz")).status, 200);
    }

    void destroyWhileRequestsInFlight()
    {
        for (int round = 0; round < 3; ++round) {
            Fixture f;
            QVERIFY(f.start());
            QList<QNetworkReply *> replies;
            for (int i = 0; i < 30; ++i) {
                replies.append(f.send("GET", QStringLiteral("/admin/report"), kEnvKey));
                replies.append(f.send("POST", QStringLiteral("/admin/performance/reset-stats"), kEnvKey));
                replies.append(f.send("GET", QStringLiteral("/healthz"), QByteArrayLiteral("bad")));
            }
            QTest::qWait(round * 20); // sometimes before anything arrived, sometimes mid-way
            f.api.reset();
            for (QNetworkReply *r : std::as_const(replies))
                QTRY_VERIFY_WITH_TIMEOUT(r->isFinished(), 20000);
            qDeleteAll(replies);
            QTest::qWait(50); // queued actions meet a stopped server
        }
    }
};

QTEST_GUILESS_MAIN(TestAdminApi)
#include "tst_adminapi.moc"
