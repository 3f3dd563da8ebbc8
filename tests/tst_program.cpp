// The vega-console program as a user runs it: exit codes, messages, reports.
#include "localhttpserver.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

namespace {

struct Result {
    int exitCode = -1;
    QString out;
    QString err;
};

Result run(const QStringList &args, int timeoutMs = 60000, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment())
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.start(QStringLiteral(VEGA_CONSOLE_BINARY), args);
    Result r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = QStringLiteral("timed out");
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content)
{
    const QString path = dir.filePath(name);
    QFile f(path);
    if (f.open(QIODevice::WriteOnly))
        f.write(content);
    return path;
}

} // namespace

class TestProgram : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void versionAndHelp()
    {
        const Result v = run({QStringLiteral("--version")});
        QCOMPARE(v.exitCode, 0);
        QVERIFY(v.out.startsWith(QStringLiteral("vega-console ")));
        const Result h = run({QStringLiteral("--help")});
        QCOMPARE(h.exitCode, 0);
        for (const char *opt : {"--config", "--data-dir", "--headless", "--duration", "--report", "--validate-config",
                                "Exit codes"})
            QVERIFY2(h.out.contains(QLatin1String(opt)), opt);
    }

    void unknownOptionIsBadInput()
    {
        const Result r = run({QStringLiteral("--frobnicate")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("frobnicate")));
    }

    void validateGoodConfig()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("good.json"), R"({"event_loop": {"interval_ms": 20}})");
        const Result r = run({QStringLiteral("--validate-config"), path});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("valid")));
    }

    void validateBadConfigPrintsEveryFinding()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("bad.json"),
                                       "{\n  \"event_loop\": {\"interval_ms\": 0},\n  \"uii\": {}\n}\n");
        const Result r = run({QStringLiteral("--validate-config"), path});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.out.contains(path + QStringLiteral(":2:")), qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("$.event_loop.interval_ms")));
        QVERIFY(r.out.contains(QStringLiteral("(value: 0)")));
        QVERIFY(r.out.contains(QStringLiteral("did you mean \"ui\"?")));
        QVERIFY(r.out.contains(QStringLiteral("2 error(s)")));
    }

    void validateMissingFile()
    {
        const Result r = run({QStringLiteral("--validate-config"), QStringLiteral("/nonexistent/x.json")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.out.contains(QStringLiteral("no such file")));
    }

    void invalidConfigStopsBeforeAnythingRuns()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("bad.json"), "{\"metrics\": {\"series_capacity\": \"big\"}}");
        const QString report = dir.filePath(QStringLiteral("r.json"));
        const Result r = run({QStringLiteral("--headless"), QStringLiteral("--duration"), QStringLiteral("1"),
                              QStringLiteral("--config"), path, QStringLiteral("--report"), report,
                              QStringLiteral("--data-dir"), dir.filePath(QStringLiteral("data"))});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("$.metrics.series_capacity")));
        QVERIFY(r.err.contains(QStringLiteral("nothing was started")));
        QVERIFY(!QFile::exists(report));
    }

    void contradictoryDemoOptionsAreBadInput()
    {
        const Result r = run({QStringLiteral("--headless"), QStringLiteral("--demo"), QStringLiteral("--no-demo")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("--demo and --no-demo")));
        const Result rate = run({QStringLiteral("--headless"), QStringLiteral("--demo-rate"), QStringLiteral("fast")});
        QCOMPARE(rate.exitCode, 2);
        QVERIFY(rate.err.contains(QStringLiteral("--demo-rate 'fast'")));
    }

    void badDurationIsBadInput()
    {
        const Result r = run({QStringLiteral("--headless"), QStringLiteral("--duration"), QStringLiteral("soon")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("invalid --duration 'soon'")));
    }

    void unwritableReportIsRuntimeError_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("reason");
        QTest::newRow("missing directory") << QStringLiteral("/nonexistent/dir/report.json")
                                           << QStringLiteral("does not exist");
        QTest::newRow("unsupported format") << QStringLiteral("/tmp/report.docx") << QStringLiteral("unsupported format");
    }

    void unwritableReportIsRuntimeError()
    {
        QFETCH(QString, path);
        QFETCH(QString, reason);
        QTemporaryDir dir;
        const Result r = run({QStringLiteral("--headless"), QStringLiteral("--duration"), QStringLiteral("1"),
                              QStringLiteral("--report"), path, QStringLiteral("--data-dir"), dir.path()});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(path) && r.err.contains(reason), qPrintable(r.err));
    }

    void headlessRunWritesReport()
    {
        QTemporaryDir dir;
        const QString report = dir.filePath(QStringLiteral("report.json"));
        const Result r = run({QStringLiteral("--headless"), QStringLiteral("--duration"), QStringLiteral("3"),
                              QStringLiteral("--report"), report, QStringLiteral("--data-dir"),
                              dir.filePath(QStringLiteral("data"))});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.err.contains(QStringLiteral("report written to")));
        QFile f(report);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
        QCOMPARE(error.error, QJsonParseError::NoError);
        const QJsonObject root = doc.object();
        QCOMPARE(root.value(QStringLiteral("format_version")).toInt(), 1);
        QCOMPARE(root.value(QStringLiteral("engine")).toObject().value(QStringLiteral("mode")).toString(),
                 QStringLiteral("headless"));
        const QJsonObject lag = root.value(QStringLiteral("event_loop")).toObject().value(QStringLiteral("lag_ms")).toObject();
        // ~300 ticks at 10 ms in 3 s; allow a slow CI machine.
        QVERIFY2(lag.value(QStringLiteral("count")).toInt() > 100, qPrintable(QString::number(lag.value(QStringLiteral("count")).toInt())));
        for (const char *key : {"p50", "p90", "p99", "p999", "max", "mean"}) {
            QVERIFY2(lag.contains(QLatin1String(key)), key);
            QVERIFY(lag.value(QLatin1String(key)).toDouble() >= 0);
        }
        QVERIFY(lag.value(QStringLiteral("p99")).toDouble() >= lag.value(QStringLiteral("p50")).toDouble());
        const QJsonArray categories =
            root.value(QStringLiteral("diagnostics")).toObject().value(QStringLiteral("categories")).toArray();
        QCOMPARE(categories.size(), 10); // the system's eight, the database and the shared cache
        QCOMPARE(categories.at(8).toObject().value(QStringLiteral("id")).toString(), QStringLiteral("database"));
        const QJsonObject shared = categories.last().toObject();
        QCOMPARE(shared.value(QStringLiteral("id")).toString(), QStringLiteral("shared_cache"));
        QCOMPARE(shared.value(QStringLiteral("health")).toString(), QStringLiteral("unknown")); // off by default
        QCOMPARE(root.value(QStringLiteral("database")).toObject().value(QStringLiteral("enabled")).toBool(), true);
        QVERIFY(!root.value(QStringLiteral("metrics")).toArray().isEmpty());
    }

    void sigtermStopsCleanlyWithReport()
    {
        QTemporaryDir dir;
        const QString report = dir.filePath(QStringLiteral("report.json"));
        QProcess p;
        p.start(QStringLiteral(VEGA_CONSOLE_BINARY),
                {QStringLiteral("--headless"), QStringLiteral("--report"), report, QStringLiteral("--data-dir"), dir.path()});
        QVERIFY(p.waitForStarted());
        // Wait until it says it is running, then ask it to stop.
        QByteArray said;
        QTRY_VERIFY_WITH_TIMEOUT((said += p.readAllStandardError()).contains("running until SIGINT/SIGTERM") ||
                                     p.state() != QProcess::Running,
                                 60000);
        QCOMPARE(p.state(), QProcess::Running);
        QTest::qWait(300);
        ::kill(pid_t(p.processId()), SIGTERM);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(QFile::exists(report));
    }

    void headlessServesTheAdminApiAndWritesABundle()
    {
        QTemporaryDir dir;
        const QString bundle = dir.filePath(QStringLiteral("support.zip"));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("VEGA_API_KEY"), QStringLiteral("program-test-key-5e1d"));
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(VEGA_CONSOLE_BINARY),
                {QStringLiteral("--headless"), QStringLiteral("--admin-port"), QStringLiteral("0"), QStringLiteral("--report"),
                 bundle, QStringLiteral("--data-dir"), dir.path()});
        QVERIFY(p.waitForStarted());
        QByteArray said;
        QTRY_VERIFY_WITH_TIMEOUT((said += p.readAllStandardError()).contains("running until") ||
                                     p.state() != QProcess::Running,
                                 60000);
        const QRegularExpression portLine(QStringLiteral("admin API on http://127\\.0\\.0\\.1:(\\d+)"));
        const QRegularExpressionMatch m = portLine.match(QString::fromUtf8(said));
        QVERIFY2(m.hasMatch(), said.constData());
        const QString base = QStringLiteral("http://127.0.0.1:") + m.captured(1);

        QNetworkAccessManager nam;
        nam.setProxy(QNetworkProxy::NoProxy);
        auto get = [&](const QString &path, const QByteArray &key) {
            QNetworkRequest request{QUrl(base + path)};
            request.setRawHeader("X-API-Key", key);
            QNetworkReply *reply = nam.get(request);
            QSignalSpy done(reply, &QNetworkReply::finished);
            done.wait(20000);
            const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            const QByteArray body = reply->readAll();
            reply->deleteLater();
            return qMakePair(status, body);
        };
        const auto health = get(QStringLiteral("/healthz"), "program-test-key-5e1d");
        QCOMPARE(health.first, 200);
        QVERIFY(health.second.contains("\"status\""));
        QCOMPARE(get(QStringLiteral("/healthz"), "wrong").first, 401);
        const auto metrics = get(QStringLiteral("/metrics"), "program-test-key-5e1d");
        QCOMPARE(metrics.first, 200);
        QVERIFY(metrics.second.contains("# TYPE vega_"));

        ::kill(pid_t(p.processId()), SIGTERM);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY2(QFileInfo(bundle).size() > 1000, p.readAllStandardError().constData());
        // The key never reaches the bundle (checked on the raw archive and every stored file).
        QFile zip(bundle);
        QVERIFY(zip.open(QIODevice::ReadOnly));
        QVERIFY(!zip.readAll().contains("program-test-key-5e1d"));
    }

    void validateConfigChecksBeyondTheSchema()
    {
        QTemporaryDir dir;
        const QString path = writeFile(dir, QStringLiteral("c.json"),
                                       "{\"integrations\": {\"api\": {\"kind\": \"external_api\", "
                                       "\"url\": \"http://127.0.0.1:9/\", \"auth\": {\"token\": \"${VEGA_TST_UNSET_TOKEN}\"}}}}");
        const Result r = run({QStringLiteral("--validate-config"), path, QStringLiteral("--no-dns")});
        QVERIFY2(r.out.contains(QStringLiteral("VEGA_TST_UNSET_TOKEN")), qPrintable(r.out + r.err));
        QVERIFY(r.exitCode == 0 || r.exitCode == 2);
    }

    void loadCommandJsonIsExact()
    {
        // A real server on its own thread, counting what actually reaches it.
        vega::LocalHttpServerThread server([](const vega::HttpServerRequest &request) {
            vega::HttpServerResponse r = vega::HttpServerResponse::make(200, "item " + request.path, "text/plain");
            r.setHeader("Cache-Control", "max-age=60");
            r.delayMs = 20;
            return r;
        });
        QVERIFY(server.isListening());
        const QString url = server.baseUrl().toString() + QStringLiteral("/items/{i}");
        const Result r = run({QStringLiteral("load"), url, QStringLiteral("--requests"), QStringLiteral("200"),
                              QStringLiteral("--concurrency"), QStringLiteral("20"), QStringLiteral("--distinct"),
                              QStringLiteral("10"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QStringList lines = r.out.trimmed().split(QLatin1Char('\n'));
        QCOMPARE(lines.size(), 1); // exactly one JSON object
        const QJsonObject o = QJsonDocument::fromJson(lines.first().toUtf8()).object();
        const QStringList keys = {QStringLiteral("requests"), QStringLiteral("succeeded"), QStringLiteral("failed"),
                                  QStringLiteral("backend_requests"), QStringLiteral("coalesced"),
                                  QStringLiteral("cache_hits"), QStringLiteral("connections_opened"),
                                  QStringLiteral("connection_reuse_ratio"), QStringLiteral("breaker_rejections"),
                                  QStringLiteral("retries"), QStringLiteral("rate_limited"),
                                  QStringLiteral("latency_ms"), QStringLiteral("duration_s")};
        QCOMPARE(o.keys().size(), keys.size());
        for (const QString &k : keys)
            QVERIFY2(o.contains(k), qPrintable(k));
        QCOMPARE(o.value(QStringLiteral("requests")).toInt(), 200);
        QCOMPARE(o.value(QStringLiteral("succeeded")).toInt(), 200);
        QCOMPARE(o.value(QStringLiteral("failed")).toInt(), 0);
        // Ten distinct keys, cached for 60 s: the backend sees each once.
        QCOMPARE(o.value(QStringLiteral("backend_requests")).toInt(), 10);
        QCOMPARE(quint64(o.value(QStringLiteral("backend_requests")).toInt()), server.server()->requestsServed());
        QCOMPARE(o.value(QStringLiteral("coalesced")).toInt() + o.value(QStringLiteral("cache_hits")).toInt(), 190);
        QCOMPARE(quint64(o.value(QStringLiteral("connections_opened")).toInt()), server.server()->connectionsAccepted());
        const QJsonObject latency = o.value(QStringLiteral("latency_ms")).toObject();
        for (const char *k : {"p50", "p95", "p99", "max"})
            QVERIFY2(latency.contains(QLatin1String(k)), k);
    }

    void loadCommandBadInput_data()
    {
        QTest::addColumn<QStringList>("args");
        QTest::addColumn<QString>("message");
        QTest::newRow("not a URL") << QStringList{QStringLiteral("load"), QStringLiteral("nota url")}
                                   << QStringLiteral("invalid URL");
        QTest::newRow("ftp") << QStringList{QStringLiteral("load"), QStringLiteral("ftp://host/x")}
                             << QStringLiteral("invalid URL");
        QTest::newRow("no URL") << QStringList{QStringLiteral("load")} << QStringLiteral("expected exactly one URL");
        QTest::newRow("zero requests") << QStringList{QStringLiteral("load"), QStringLiteral("http://127.0.0.1:1/"),
                                                      QStringLiteral("--requests"), QStringLiteral("0")}
                                       << QStringLiteral("--requests");
    }

    void loadCommandBadInput()
    {
        QFETCH(QStringList, args);
        QFETCH(QString, message);
        const Result r = run(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
    }

    void loadCommandFailuresExitOne()
    {
        // Nothing listens on port 1: every request fails with a connection error.
        const Result r = run({QStringLiteral("load"), QStringLiteral("http://127.0.0.1:1/x"), QStringLiteral("--requests"),
                              QStringLiteral("3"), QStringLiteral("--json")});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(QJsonDocument::fromJson(r.out.toUtf8()).object().value(QStringLiteral("failed")).toInt(), 3);
    }

    void windowWithoutDisplaySaysSo()
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("DISPLAY"));
        env.remove(QStringLiteral("WAYLAND_DISPLAY"));
        env.remove(QStringLiteral("QT_QPA_PLATFORM"));
        const Result r = run({}, 30000, env);
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QStringLiteral("no display")));
        QVERIFY(r.err.contains(QStringLiteral("--headless")));
    }
};

QTEST_GUILESS_MAIN(TestProgram)
#include "tst_program.moc"
