// No secret ever appears in any export, log or API answer: a token is planted in the
// environment, used by a real integration against a real server, and every output the engine
// produces is searched for it.
#include "adminapi.h"
#include "config.h"
#include "engine.h"
#include "integrations.h"
#include "localhttpserver.h"
#include "prometheus.h"
#include "report.h"
#include "reportbuilder.h"

#include <QFile>
#include <QMutex>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace vega;

namespace {
const QByteArray kSecret = QByteArrayLiteral("sk-planted-4f9b27c1d8e3a6");
const QByteArray kApiKey = QByteArrayLiteral("secrets-test-admin-key-77");

QMutex g_logMutex;
QByteArray g_log;
QtMessageHandler g_previous = nullptr;

void captureLog(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    {
        QMutexLocker lock(&g_logMutex);
        g_log += message.toUtf8() + '\n';
    }
    if (g_previous)
        g_previous(type, context, message);
}
} // namespace

class TestSecrets : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        qputenv("VEGA_TST_PLANTED_TOKEN", kSecret);
        qputenv("VEGA_API_KEY", kApiKey);
        g_previous = qInstallMessageHandler(captureLog);
    }

    void cleanupTestCase()
    {
        qInstallMessageHandler(g_previous);
        qunsetenv("VEGA_TST_PLANTED_TOKEN");
        qunsetenv("VEGA_API_KEY");
    }

    void noOutputCarriesTheToken()
    {
        // Answers 200 for the right token and 401 (echoing what it got, as careless servers
        // do) otherwise; the second integration's token is wrong on purpose.
        LocalHttpServerThread server([](const HttpServerRequest &request) {
            const QByteArray auth = request.header("Authorization");
            if (auth == "Bearer " + kSecret)
                return HttpServerResponse::make(200, "{\"message\": \"API running.\"}", "application/json");
            return HttpServerResponse::make(401, "bad token: " + auth, "text/plain");
        });
        QVERIFY(server.isListening());
        const QByteArray base = server.baseUrl().toString().toUtf8();
        const QByteArray token = "${VEGA_TST_PLANTED_TOKEN}";
        const QByteArray json = "{\"integrations\": {"
                                "\"ha\": {\"kind\": \"home_assistant\", \"url\": \"" + base +
                                "\", \"auth\": {\"token\": \"" + token + "\"}, \"health\": {\"interval_s\": 1}},"
                                "\"ha-wrong\": {\"kind\": \"home_assistant\", \"url\": \"" + base +
                                "/x\", \"auth\": {\"token\": \"Bearer-" + token + "-x\"}, \"health\": {\"interval_s\": 1}}"
                                "}}";
        const ConfigLoadResult loaded = ConfigLoader::loadText(json, QStringLiteral("secrets.json"));
        QVERIFY2(loaded.ok(), loaded.findings.isEmpty() ? "" : qPrintable(loaded.findings.first().toString()));

        QTemporaryDir dir;
        EngineOptions options;
        options.dataDir = dir.path();
        Engine engine(loaded.config, options);
        engine.start();
        AdminApi api(&engine);
        QString error;
        QVERIFY2(api.start(&error), qPrintable(error));

        // Both checks ran: one healthy, one refused (its error text is where a token would leak).
        QTRY_VERIFY_WITH_TIMEOUT(engine.integrations()->status(QStringLiteral("ha")).state == Health::Ok, 15000);
        QTRY_VERIFY_WITH_TIMEOUT(engine.integrations()->status(QStringLiteral("ha-wrong")).state == Health::Critical,
                                 15000);
        QSignalSpy validated(&engine, &Engine::validationFinished);
        engine.validateConfig();
        QTRY_COMPARE_WITH_TIMEOUT(validated.count(), 1, 15000);
        const SnapshotPtr snap = engine.publishNow();

        QList<QPair<QString, QByteArray>> outputs;
        // Every admin API answer.
        QNetworkAccessManager nam;
        nam.setProxy(QNetworkProxy::NoProxy);
        const QList<QPair<QString, QString>> routes = [&] {
            QList<QPair<QString, QString>> out;
            const auto all = api.routes();
            for (const auto &r : all)
                if (r.first == "GET")
                    out.append({QString::fromLatin1(r.first), r.second});
            return out;
        }();
        QVERIFY(routes.size() >= 15);
        for (const auto &route : routes) {
            QNetworkRequest request(QUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(api.port()).arg(route.second)));
            request.setRawHeader("X-API-Key", kApiKey);
            QNetworkReply *reply = nam.get(request);
            QSignalSpy done(reply, &QNetworkReply::finished);
            QVERIFY(done.wait(20000));
            outputs.append({QStringLiteral("GET ") + route.second, reply->readAll()});
            reply->deleteLater();
        }
        // The snapshot as JSON, Prometheus text, and report files in every engine format.
        outputs.append({QStringLiteral("snapshotToJson"), QJsonDocument(snapshotToJson(*snap)).toJson()});
        outputs.append({QStringLiteral("prometheus"), prometheusText(*snap->metrics)});
        for (const char *name : {"r.json", "r.html", "r.zip"}) {
            const QString path = dir.filePath(QString::fromLatin1(name));
            ReportBuilder builder;
            ReportRequest request;
            request.path = path;
            request.snapshot = snap;
            request.history = engine.history();
            QSignalSpy finished(&builder, &ReportBuilder::finished);
            QVERIFY(builder.start(request));
            QVERIFY(finished.wait(30000));
            QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(finished.at(0).at(1).toString()));
            QFile file(path);
            QVERIFY(file.open(QIODevice::ReadOnly));
            outputs.append({QString::fromLatin1(name), file.readAll()});
            if (QByteArray(name).endsWith(".zip") && QFile::exists(QStringLiteral("/usr/bin/unzip"))) {
                // Stored files are compressed: search them unpacked too.
                QProcess unzip;
                unzip.start(QStringLiteral("/usr/bin/unzip"), {QStringLiteral("-p"), path});
                QVERIFY(unzip.waitForFinished(30000));
                outputs.append({QStringLiteral("r.zip (unpacked)"), unzip.readAllStandardOutput()});
            }
        }
        // The stored journal.
        bool flushed = false;
        engine.history()->flush(this, [&](bool ok) { flushed = ok; });
        QTRY_VERIFY_WITH_TIMEOUT(flushed, 15000);
        QFile db(dir.filePath(QStringLiteral("vega.db")));
        QVERIFY(db.open(QIODevice::ReadOnly));
        outputs.append({QStringLiteral("vega.db"), db.readAll()});
        // Everything logged so far.
        {
            QMutexLocker lock(&g_logMutex);
            outputs.append({QStringLiteral("log"), g_log});
        }

        for (const auto &o : outputs) {
            QVERIFY2(!o.second.isEmpty() || o.first == QLatin1String("log"), qPrintable(o.first + QStringLiteral(" is empty")));
            QVERIFY2(!o.second.contains(kSecret), qPrintable(QStringLiteral("the token leaked into ") + o.first));
        }
        // The references are kept, so an operator can still see which variable is used.
        QVERIFY(outputs.at(0).second.size() > 0);
        const QByteArray report = QJsonDocument(snapshotToJson(*snap)).toJson();
        QVERIFY(report.contains("${VEGA_TST_PLANTED_TOKEN}"));
    }
};

QTEST_GUILESS_MAIN(TestSecrets)
#include "tst_secrets.moc"
