#include "configvalidator.h"
#include "metrics.h"

#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

using namespace vega;

namespace {

const char *const kSetVar = "VEGA_TST_VALIDATOR_TOKEN";
const char *const kUnsetVar = "VEGA_TST_VALIDATOR_UNSET";
const QByteArray kSecret = "literal-secret-0815";

QJsonObject integration(const QString &kind, const QString &url, const QJsonObject &extra = {})
{
    QJsonObject o = extra;
    o.insert(QStringLiteral("kind"), kind);
    o.insert(QStringLiteral("url"), url);
    return o;
}

QJsonObject token(const QString &value)
{
    return {{QStringLiteral("auth"), QJsonObject{{QStringLiteral("token"), value}}}};
}

QString reference(const char *name)
{
    return QStringLiteral("${%1}").arg(QLatin1String(name));
}

QString writeFile(const QTemporaryDir &dir, const QByteArray &text, const QString &name = QStringLiteral("vega.json"))
{
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return {};
    f.write(text);
    return path;
}

QString dump(const ValidationReport &report)
{
    QStringList lines;
    for (const ConfigFinding &f : report.findings)
        lines.append(f.toString());
    return lines.join(QLatin1Char('\n'));
}

/// Runs the validator and waits for its report (15 s at most).
bool validate(ConfigValidator &validator, const EngineConfig &config, const QString &path, ValidationReport *out)
{
    QSignalSpy spy(&validator, &ConfigValidator::finished);
    validator.run(config, path);
    if (spy.isEmpty() && !spy.wait(15000))
        return false;
    *out = spy.first().first().value<ValidationReport>();
    return true;
}

const ConfigFinding *findingAt(const ValidationReport &report, const QString &path, const QString &messagePart)
{
    for (const ConfigFinding &f : report.findings) {
        if (f.path == path && f.message.contains(messagePart))
            return &f;
    }
    return nullptr;
}

} // namespace

class TestConfigValidator : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        qputenv(kSetVar, "set-token-value");
        qunsetenv(kUnsetVar);
        QVERIFY(m_dir.isValid());
        // A real SQLite database for the database integrations.
        m_sqlite = m_dir.filePath(QStringLiteral("app.db"));
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("tst-validator"));
            db.setDatabaseName(m_sqlite);
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(q.exec(QStringLiteral("CREATE TABLE t (x INTEGER)")));
            db.close();
        }
        QSqlDatabase::removeDatabase(QStringLiteral("tst-validator"));
        m_plainFile = writeFile(m_dir, "not a directory", QStringLiteral("plain.txt"));
    }

    void findings_data()
    {
        QTest::addColumn<QJsonObject>("config");
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("severity");
        QTest::addColumn<QString>("messagePart");
        const int error = int(Severity::Error);
        const int warning = int(Severity::Warning);
        const auto integrations = [](const QString &name, const QJsonObject &o) {
            return QJsonObject{{QStringLiteral("integrations"), QJsonObject{{name, o}}}};
        };

        QTest::newRow("scheme") << integrations(QStringLiteral("x"), integration(QStringLiteral("search"), QStringLiteral("ftp://127.0.0.1/")))
                                << QStringLiteral("$.integrations.x.url") << error << QStringLiteral("scheme \"ftp\"");
        QTest::newRow("no host") << integrations(QStringLiteral("x"), integration(QStringLiteral("llm"), QStringLiteral("http:///v1")))
                                 << QStringLiteral("$.integrations.x.url") << error << QStringLiteral("no host");
        QTest::newRow("port out of range")
            << integrations(QStringLiteral("x"), integration(QStringLiteral("fetch"), QStringLiteral("http://127.0.0.1:70000/")))
            << QStringLiteral("$.integrations.x.url") << error << QStringLiteral("port \"70000\"");
        QTest::newRow("thresholds out of order")
            << QJsonObject{{QStringLiteral("diagnostics"),
                            QJsonObject{{QStringLiteral("thresholds"),
                                         QJsonObject{{QStringLiteral("cpu_percent"),
                                                      QJsonObject{{QStringLiteral("warning"), 90}, {QStringLiteral("critical"), 80}}}}}}}}
            << QStringLiteral("$.diagnostics.thresholds.cpu_percent.critical") << error << QStringLiteral("must be above");
        QTest::newRow("retry base above cap")
            << QJsonObject{{QStringLiteral("http"),
                            QJsonObject{{QStringLiteral("defaults"),
                                         QJsonObject{{QStringLiteral("retry"), QJsonObject{{QStringLiteral("base_ms"), 9000}}}}}}}}
            << QStringLiteral("$.http.defaults.retry.base_ms") << error << QStringLiteral("must not exceed");
        QTest::newRow("integration attempt above deadline")
            << integrations(QStringLiteral("x"), integration(QStringLiteral("search"), QStringLiteral("http://127.0.0.1:1/"),
                                                             {{QStringLiteral("timeout_ms"), 60000}}))
            << QStringLiteral("$.integrations.x.timeout_ms") << error << QStringLiteral("must not exceed timeouts.deadline_ms");
        QTest::newRow("unset variable")
            << integrations(QStringLiteral("x"), integration(QStringLiteral("slack"), QStringLiteral("https://127.0.0.1/api"), token(reference(kUnsetVar))))
            << QStringLiteral("$.integrations.x.auth.token") << warning
            << QStringLiteral("environment variable %1 is not set").arg(QLatin1String(kUnsetVar));
        QTest::newRow("unset variable in url")
            << integrations(QStringLiteral("x"), integration(QStringLiteral("llm"), QStringLiteral("https://${%1}/").arg(QLatin1String(kUnsetVar))))
            << QStringLiteral("$.integrations.x.url") << warning << QStringLiteral("is not set");
        QTest::newRow("sqlite directory missing")
            << integrations(QStringLiteral("db"), integration(QStringLiteral("database"), QStringLiteral("sqlite:/nonexistent-vega-dir/x/app.db")))
            << QStringLiteral("$.integrations.db.url") << error << QStringLiteral("does not exist");
        QTest::newRow("sqlite file missing")
            << integrations(QStringLiteral("db"), integration(QStringLiteral("database"), QStringLiteral("sqlite:") + QDir::tempPath() + QStringLiteral("/vega-missing-0.db")))
            << QStringLiteral("$.integrations.db.url") << warning << QStringLiteral("health check fails");
        QTest::newRow("database password in url")
            << integrations(QStringLiteral("db"), integration(QStringLiteral("database"), QStringLiteral("postgresql://u:pw@127.0.0.1/db")))
            << QStringLiteral("$.integrations.db.url") << error << QStringLiteral("password");
        QTest::newRow("token over plain http")
            << integrations(QStringLiteral("x"), integration(QStringLiteral("home_assistant"), QStringLiteral("http://192.0.2.10:8123"), token(reference(kSetVar))))
            << QStringLiteral("$.integrations.x.auth.token") << warning << QStringLiteral("token sent unencrypted");
        QTest::newRow("unknown kind")
            << integrations(QStringLiteral("x"), integration(QStringLiteral("home-assistant"), QStringLiteral("http://127.0.0.1/")))
            << QStringLiteral("$.integrations.x.kind") << error << QStringLiteral("did you mean \"home_assistant\"?");
        QTest::newRow("missing url")
            << integrations(QStringLiteral("x"), QJsonObject{{QStringLiteral("kind"), QStringLiteral("llm")}})
            << QStringLiteral("$.integrations.x") << error << QStringLiteral("missing required key \"url\"");
        QTest::newRow("storage directory cannot be created")
            << QJsonObject{{QStringLiteral("storage"), QJsonObject{{QStringLiteral("url"), QStringLiteral("sqlite:%1/sub/vega.db").arg(m_plainFile)}}}}
            << QStringLiteral("$.storage.url") << error << QStringLiteral("is not a directory");
    }

    void findings()
    {
        QFETCH(QJsonObject, config);
        QFETCH(QString, path);
        QFETCH(int, severity);
        QFETCH(QString, messagePart);
        const QString file = writeFile(m_dir, QJsonDocument(config).toJson());
        ConfigValidator validator;
        ValidationReport report;
        QVERIFY(validate(validator, EngineConfig(), file, &report));
        const ConfigFinding *f = findingAt(report, path, messagePart);
        QVERIFY2(f, qPrintable(dump(report)));
        QCOMPARE(int(f->severity), severity);
        QCOMPARE(f->file, file);
        QCOMPARE(report.configPath, file);
    }

    void cleanConfigHasNoErrors()
    {
        QJsonObject integrations;
        integrations.insert(QStringLiteral("llm"), integration(QStringLiteral("llm"), QStringLiteral("http://127.0.0.1:11434"), token(reference(kSetVar))));
        integrations.insert(QStringLiteral("ha"), integration(QStringLiteral("home_assistant"), QStringLiteral("https://localhost:8123"), token(reference(kSetVar))));
        integrations.insert(QStringLiteral("db"), integration(QStringLiteral("database"), QStringLiteral("sqlite:") + m_sqlite));
        const QJsonObject root{{QStringLiteral("integrations"), integrations},
                               {QStringLiteral("storage"), QJsonObject{{QStringLiteral("url"), QStringLiteral("sqlite:history/vega.db")}}}};
        const QString file = writeFile(m_dir, QJsonDocument(root).toJson());
        ConfigValidator validator;
        validator.setDataDir(m_dir.filePath(QStringLiteral("data")));
        ValidationReport report;
        QVERIFY(validate(validator, EngineConfig(), file, &report));
        QVERIFY2(report.errorCount() == 0, qPrintable(dump(report)));
        QVERIFY2(report.ok(), qPrintable(dump(report)));
        QCOMPARE(report.hostsLookedUp, 1); // localhost; addresses need no lookup
    }

    void unresolvableHostIsReportedWithinTheBound()
    {
        const QJsonObject root{{QStringLiteral("integrations"),
                                QJsonObject{{QStringLiteral("api"),
                                             integration(QStringLiteral("external_api"), QStringLiteral("https://vega-check.invalid/status"))}}}};
        const QString file = writeFile(m_dir, QJsonDocument(root).toJson());
        ConfigValidator validator;
        QCOMPARE(validator.lookupTimeoutMs(), 3000);
        QElapsedTimer timer;
        timer.start();
        ValidationReport report;
        QVERIFY(validate(validator, EngineConfig(), file, &report));
        QVERIFY2(timer.elapsed() < 3000 + 2000, qPrintable(QString::number(timer.elapsed())));
        const ConfigFinding *f = findingAt(report, QStringLiteral("$.integrations.api.url"), QStringLiteral("vega-check.invalid"));
        QVERIFY2(f, qPrintable(dump(report)));
        QCOMPARE(f->value, QStringLiteral("vega-check.invalid"));

        // A bound shorter than any lookup: a timeout is a warning, and the run still ends.
        validator.setLookupTimeoutMs(1);
        QVERIFY(validate(validator, EngineConfig(), file, &report));
        f = findingAt(report, QStringLiteral("$.integrations.api.url"), QStringLiteral("vega-check.invalid"));
        QVERIFY2(f, qPrintable(dump(report)));
        if (f->message.contains(QStringLiteral("timed out")))
            QCOMPARE(f->severity, Severity::Warning);

        // Lookups switched off: nothing is resolved, nothing reported about the name.
        validator.setHostLookups(false);
        QVERIFY(validate(validator, EngineConfig(), file, &report));
        QCOMPARE(report.hostsLookedUp, 0);
        QVERIFY2(report.ok(), qPrintable(dump(report)));
    }

    void runDoesNotBlockTheEventLoop()
    {
        // Enough content that the run takes a while (parsing ~1 MB of JSON, some 100 ms or more):
        // many integrations, each naming a host.
        QJsonObject integrations;
        for (int i = 0; i < 10000; ++i)
            integrations.insert(QStringLiteral("api%1").arg(i),
                                integration(QStringLiteral("search"), QStringLiteral("https://vega-host-%1.invalid/").arg(i % 20)));
        const QString file = writeFile(m_dir, QJsonDocument(QJsonObject{{QStringLiteral("integrations"), integrations}}).toJson());
        ConfigValidator validator;
        QSignalSpy spy(&validator, &ConfigValidator::finished);
        int ticks = 0;
        QTimer ticker;
        ticker.setInterval(10);
        connect(&ticker, &QTimer::timeout, this, [&ticks] { ++ticks; });
        ticker.start();
        QElapsedTimer timer;
        timer.start();
        validator.run(EngineConfig(), file);
        const qint64 returnedAfterMs = timer.elapsed();
        QVERIFY(spy.wait(15000));
        const qint64 tookMs = timer.elapsed();
        QVERIFY2(returnedAfterMs < 100 && returnedAfterMs < tookMs, qPrintable(QString::number(returnedAfterMs))); // run() returns at once
        // A loop ticking every 10 ms got at least a third of its ticks (a blocked loop gets ~none).
        QVERIFY2(ticks >= 5 && ticks >= tookMs / 30, qPrintable(QStringLiteral("%1 ticks in %2 ms").arg(ticks).arg(tookMs)));
        const ValidationReport report = spy.first().first().value<ValidationReport>();
        QCOMPARE(report.hostsLookedUp, 20);
    }

    void eachRunIsJournaled()
    {
        MetricsRegistry registry;
        ConfigValidator validator(&registry);
        EngineConfig config;
        config.diagnostics.cpuPercent = {95, 80}; // out of order
        IntegrationConfig c;
        c.name = QStringLiteral("x");
        c.kind = IntegrationKind::Llm;
        c.url = QStringLiteral("https://127.0.0.1/");
        c.authToken = reference(kUnsetVar);
        config.integrations.insert(c.name, c);
        ValidationReport report;
        QVERIFY(validate(validator, config, QString(), &report));
        QCOMPARE(report.errorCount(), 1);
        QCOMPARE(report.warningCount(), 1);
        QVERIFY2(findingAt(report, QStringLiteral("$.diagnostics.thresholds.cpu_percent.critical"), QStringLiteral("must be above")),
                 qPrintable(dump(report)));
        QCOMPARE(report.findings.first().severity, Severity::Error); // errors first
        bool journaled = false;
        const auto snapshot = registry.capture(); // keeps the events alive for the loop
        for (const EngineEvent &e : snapshot->events) {
            if (e.kind == QLatin1String("validation")) {
                QCOMPARE(e.source, QStringLiteral("config"));
                QCOMPARE(e.message, QStringLiteral("1 errors, 1 warnings"));
                journaled = true;
            }
        }
        QVERIFY(journaled);
    }

    void inMemorySecretsAreRedacted()
    {
        EngineConfig config;
        IntegrationConfig c;
        c.name = QStringLiteral("slack");
        c.kind = IntegrationKind::Slack;
        c.url = QStringLiteral("http://192.0.2.7/api");
        c.authToken = QString::fromLatin1(kSecret); // literal: warned about, never shown
        config.integrations.insert(c.name, c);
        ConfigValidator validator;
        ValidationReport report;
        QVERIFY(validate(validator, config, QString(), &report));
        const ConfigFinding *literal = findingAt(report, QStringLiteral("$.integrations.slack.auth.token"), QStringLiteral("written in the file"));
        QVERIFY2(literal, qPrintable(dump(report)));
        QCOMPARE(literal->value, QStringLiteral("<redacted>"));
        QVERIFY(findingAt(report, QStringLiteral("$.integrations.slack.auth.token"), QStringLiteral("token sent unencrypted")));
        QVERIFY(!dump(report).contains(QString::fromLatin1(kSecret)));
    }

    void fileEditedSinceLoadIsRechecked()
    {
        const QString file = writeFile(m_dir, "{\"ui\": {\"refresh_interval_ms\": 500}}", QStringLiteral("edited.json"));
        const ConfigLoadResult loaded = ConfigLoader::loadFile(file);
        QVERIFY(loaded.ok());
        writeFile(m_dir, "{\n  \"ui\": {\"refresh_interval_ms\": 5}\n}", QStringLiteral("edited.json"));
        ConfigValidator validator;
        ValidationReport report;
        QVERIFY(validate(validator, loaded.config, file, &report));
        const ConfigFinding *f = findingAt(report, QStringLiteral("$.ui.refresh_interval_ms"), QStringLiteral("out of range"));
        QVERIFY2(f, qPrintable(dump(report)));
        QCOMPARE(f->line, 2);

        // Not JSON any more: the syntax error, and nothing else.
        writeFile(m_dir, "{\"ui\": ", QStringLiteral("edited.json"));
        QVERIFY(validate(validator, loaded.config, file, &report));
        QCOMPARE(report.findings.size(), 1);
        QVERIFY(report.findings.first().message.startsWith(QStringLiteral("syntax error")));

        QVERIFY(validate(validator, loaded.config, m_dir.filePath(QStringLiteral("gone.json")), &report));
        QCOMPARE(report.errorCount(), 1);
        QTRY_COMPARE(validator.activeRuns(), 0);
    }

    void deepFindingsPointIntoTheFile()
    {
        const QByteArray text = "{\n"
                                "  \"integrations\": {\n"
                                "    \"db\": {\"kind\": \"database\",\n"
                                "           \"url\": \"sqlite:/nonexistent-vega-dir/app.db\"}\n"
                                "  }\n"
                                "}\n";
        const QString file = writeFile(m_dir, text, QStringLiteral("positions.json"));
        ConfigValidator validator;
        ValidationReport report;
        QVERIFY(validate(validator, EngineConfig(), file, &report));
        const ConfigFinding *f = findingAt(report, QStringLiteral("$.integrations.db.url"), QStringLiteral("does not exist"));
        QVERIFY2(f, qPrintable(dump(report)));
        QCOMPARE(f->line, 4);
        QCOMPARE(f->column, 19);
    }

private:
    QTemporaryDir m_dir;
    QString m_sqlite;
    QString m_plainFile;
};

QTEST_GUILESS_MAIN(TestConfigValidator)
#include "tst_configvalidator.moc"
