#include "config.h"

#include <QFile>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace vega;

class TestConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void defaultsWhenEmptyObject()
    {
        const auto r = ConfigLoader::loadText("{}", QStringLiteral("c.json"));
        QVERIFY(r.ok());
        QCOMPARE(r.config.eventLoop.intervalMs, 10);
        QCOMPARE(r.config.eventLoop.stallThresholdMs, 100);
        QCOMPARE(r.config.metrics.snapshotIntervalMs, 1000);
    }

    void validValuesApplied()
    {
        const auto r = ConfigLoader::loadText(R"({"$schema": "x", "event_loop": {"interval_ms": 20},
            "diagnostics": {"thresholds": {"cpu_percent": {"warning": 50, "critical": 70}}}})",
                                              QStringLiteral("c.json"));
        QVERIFY2(r.ok(), qPrintable(r.findings.isEmpty() ? QString() : r.findings.first().toString()));
        QCOMPARE(r.config.eventLoop.intervalMs, 20);
        QCOMPARE(r.config.diagnostics.cpuPercent.warning, 50.0);
        QCOMPARE(r.config.diagnostics.cpuPercent.critical, 70.0);
    }

    void badFiles_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("line");
        QTest::addColumn<int>("column");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("messagePart");

        QTest::newRow("syntax: missing comma")
            << QByteArray("{\n  \"event_loop\": {\n    \"interval_ms\": 10\n    \"stall_threshold_ms\": 5\n  }\n}")
            << QString() << 4 << 5 << QString() << QStringLiteral("expected ',' or '}'");
        QTest::newRow("syntax: trailing comma")
            << QByteArray("{\"ui\": {\"refresh_interval_ms\": 500,}}") << QString() << 1 << 36 << QString()
            << QStringLiteral("trailing comma");
        QTest::newRow("syntax: unterminated string")
            << QByteArray("{\n\"ui\": \"abc\n}") << QString() << 2 << 11 << QString()
            << QStringLiteral("unterminated string");
        QTest::newRow("syntax: empty") << QByteArray("  \n") << QString() << 2 << 1 << QString()
                                       << QStringLiteral("empty");
        QTest::newRow("type: string for integer")
            << QByteArray("{\n  \"event_loop\": {\"interval_ms\": \"10\"}\n}") << QStringLiteral("$.event_loop.interval_ms")
            << 2 << 33 << QStringLiteral("\"10\"") << QStringLiteral("expected an integer but found string");
        QTest::newRow("type: fraction for integer")
            << QByteArray("{\"metrics\": {\"series_capacity\": 10.5}}") << QStringLiteral("$.metrics.series_capacity")
            << 1 << 33 << QStringLiteral("10.5") << QStringLiteral("fractional");
        QTest::newRow("type: section not object")
            << QByteArray("{\"diagnostics\": [1, 2]}") << QStringLiteral("$.diagnostics") << 1 << 17
            << QStringLiteral("[1, 2]") << QStringLiteral("expected an object but found array");
        QTest::newRow("range: too small")
            << QByteArray("{\"event_loop\": {\"interval_ms\": 0}}") << QStringLiteral("$.event_loop.interval_ms") << 1
            << 32 << QStringLiteral("0") << QStringLiteral("between 1 and 1000");
        QTest::newRow("range: negative")
            << QByteArray("{\"ui\": {\"refresh_interval_ms\": -5}}") << QStringLiteral("$.ui.refresh_interval_ms") << 1
            << 32 << QStringLiteral("-5") << QStringLiteral("out of range");
        QTest::newRow("unknown key with suggestion")
            << QByteArray("{\n  \"event_loop\": {\n    \"intreval_ms\": 10\n  }\n}")
            << QStringLiteral("$.event_loop.intreval_ms") << 3 << 5 << QString()
            << QStringLiteral("did you mean \"interval_ms\"?");
        QTest::newRow("unknown section with suggestion")
            << QByteArray("{\"eventloop\": {}}") << QStringLiteral("$.eventloop") << 1 << 2 << QString()
            << QStringLiteral("did you mean \"event_loop\"?");
        QTest::newRow("misplaced key")
            << QByteArray("{\"stall_threshold_ms\": 100}") << QStringLiteral("$.stall_threshold_ms") << 1 << 2
            << QString() << QStringLiteral("did you mean \"$.event_loop.stall_threshold_ms\"?");
        QTest::newRow("duplicate key")
            << QByteArray("{\"ui\": {\"refresh_interval_ms\": 500, \"refresh_interval_ms\": 600}}")
            << QStringLiteral("$.ui.refresh_interval_ms") << 1 << 37 << QStringLiteral("600")
            << QStringLiteral("duplicate key");
        QTest::newRow("thresholds out of order")
            << QByteArray("{\"diagnostics\": {\"thresholds\": {\"cpu_percent\": {\"warning\": 90, \"critical\": 80}}}}")
            << QStringLiteral("$.diagnostics.thresholds.cpu_percent.critical") << 1 << 76 << QStringLiteral("80")
            << QStringLiteral("critical (80) must be above warning (90)");
        QTest::newRow("lower-is-worse thresholds out of order")
            << QByteArray("{\"diagnostics\": {\"thresholds\": {\"disk_free_percent\": {\"critical\": 20}}}}")
            << QStringLiteral("$.diagnostics.thresholds.disk_free_percent.critical") << 1 << 67
            << QStringLiteral("20") << QStringLiteral("must be below warning (10)");
        QTest::newRow("root not an object") << QByteArray("[1]") << QStringLiteral("$") << 1 << 1
                                            << QStringLiteral("[1]") << QStringLiteral("must be a JSON object");
    }

    void badFiles()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, path);
        QFETCH(int, line);
        QFETCH(int, column);
        QFETCH(QString, value);
        QFETCH(QString, messagePart);
        const auto r = ConfigLoader::loadText(text, QStringLiteral("bad.json"));
        QVERIFY(!r.ok());
        QCOMPARE(r.findings.size(), 1);
        const ConfigFinding &f = r.findings.first();
        QCOMPARE(f.severity, Severity::Error);
        QCOMPARE(f.file, QStringLiteral("bad.json"));
        if (!path.isEmpty())
            QCOMPARE(f.path, path);
        QCOMPARE(f.line, line);
        QCOMPARE(f.column, column);
        QCOMPARE(f.value, value);
        QVERIFY2(f.message.contains(messagePart), qPrintable(f.message));
        QVERIFY(f.toString().startsWith(QStringLiteral("bad.json:%1:%2: error").arg(line).arg(column)));
    }

    void reportsEveryProblemAtOnce()
    {
        const QByteArray text = "{\n"
                                "  \"event_loop\": {\"interval_ms\": 0, \"stall_threshold_ms\": \"x\"},\n"
                                "  \"colour\": \"blue\",\n"
                                "  \"ui\": {\"refresh_interval_ms\": 1.5}\n"
                                "}\n";
        const auto r = ConfigLoader::loadText(text, QStringLiteral("many.json"));
        QCOMPARE(r.errorCount(), 4);
        QCOMPARE(r.findings.at(0).line, 2);
        QCOMPARE(r.findings.at(2).line, 3);
        QCOMPARE(r.findings.at(3).line, 4);
    }

    void missingFileIsOneError()
    {
        const auto r = ConfigLoader::loadFile(QStringLiteral("/nonexistent/vega.json"));
        QCOMPARE(r.findings.size(), 1);
        QVERIFY(r.findings.first().message.contains(QStringLiteral("no such file")));
        QCOMPARE(r.findings.first().file, QStringLiteral("/nonexistent/vega.json"));
    }

    void directoryIsNotAConfig()
    {
        QTemporaryDir dir;
        const auto r = ConfigLoader::loadFile(dir.path());
        QVERIFY(!r.ok());
        QVERIFY(r.findings.first().message.contains(QStringLiteral("not a regular file")));
    }

    void loadFromFileReportsItsName()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("c.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"ui\": {\"refresh_interval_ms\": 5}}");
        f.close();
        const auto r = ConfigLoader::loadFile(path);
        QVERIFY(!r.ok());
        QCOMPARE(r.findings.first().file, path);
    }

    void unicodeColumnsCountCharacters()
    {
        // "é" is two UTF-8 bytes but one column.
        const auto r = ConfigLoader::loadText("{\"é\": 1, \"ui\": 3}", QStringLiteral("u.json"));
        QCOMPARE(r.findings.size(), 2);
        QCOMPARE(r.findings.at(1).column, 16);
    }

    void deepNestingIsAnErrorNotACrash()
    {
        QByteArray text(100000, '[');
        const auto r = ConfigLoader::loadText(text, QStringLiteral("deep.json"));
        QVERIFY(!r.ok());
        QVERIFY(r.findings.first().message.contains(QStringLiteral("nesting")));
    }

    void roundTripThroughJson()
    {
        EngineConfig c;
        c.eventLoop.intervalMs = 25;
        const QByteArray text = QJsonDocument(ConfigLoader::toJson(c)).toJson();
        const auto r = ConfigLoader::loadText(text, QStringLiteral("rt.json"));
        QVERIFY(r.ok());
        QCOMPARE(r.config.eventLoop.intervalMs, 25);
    }

    void httpHostOverridesInheritDefaults()
    {
        const auto r = ConfigLoader::loadText(R"({"http": {
            "defaults": {"retry": {"max_attempts": 5}, "cache": {"ttl_ms": 1000}},
            "hosts": {"api.example.com": {"rate_limit": {"enabled": true, "rate_per_second": 20}},
                      "127.0.0.1:8080": {"cache": {"enabled": false}}}}})",
                                              QStringLiteral("h.json"));
        QVERIFY2(r.ok(), qPrintable(r.findings.isEmpty() ? QString() : r.findings.first().toString()));
        const HttpConfig &http = r.config.http;
        QCOMPARE(http.defaults.retryMaxAttempts, 5);
        const HttpPolicy api = http.policyFor(QUrl(QStringLiteral("https://API.example.com/x")));
        QVERIFY(api.rateLimit);
        QCOMPARE(api.ratePerSecond, 20.0);
        QCOMPARE(api.retryMaxAttempts, 5); // inherited
        QCOMPARE(api.cacheTtlMs, 1000);
        QVERIFY(!http.policyFor(QUrl(QStringLiteral("http://127.0.0.1:8080/"))).cache);
        QVERIFY(http.policyFor(QUrl(QStringLiteral("http://127.0.0.1:9090/"))).cache); // other port: defaults
        // Round trip keeps the overrides.
        const auto again = ConfigLoader::loadText(QJsonDocument(ConfigLoader::toJson(r.config)).toJson(), QStringLiteral("rt.json"));
        QVERIFY(again.ok());
        QCOMPARE(again.config.http.policyFor(QUrl(QStringLiteral("https://api.example.com/"))).ratePerSecond, 20.0);
    }

    void httpFindings_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("messagePart");
        QTest::newRow("boolean expected") << QByteArray(R"({"http": {"defaults": {"cache": {"enabled": 1}}}})")
                                          << QStringLiteral("$.http.defaults.cache.enabled")
                                          << QStringLiteral("expected true or false but found integer");
        QTest::newRow("url as host") << QByteArray("{\"http\": {\"hosts\": {\"https://api.example.com\": {}}}}")
                                     << QStringLiteral("$.http.hosts.https://api.example.com")
                                     << QStringLiteral("did you mean \"api.example.com\"?");
        QTest::newRow("bad port") << QByteArray(R"({"http": {"hosts": {"h:70000": {}}}})")
                                  << QStringLiteral("$.http.hosts.h:70000") << QStringLiteral("out of range 1-65535");
        QTest::newRow("unknown key under host")
            << QByteArray(R"({"http": {"hosts": {"h": {"retry": {"max_attempt": 2}}}}})")
            << QStringLiteral("$.http.hosts.h.retry.max_attempt") << QStringLiteral("did you mean \"max_attempts\"?");
        QTest::newRow("retry base above cap")
            << QByteArray(R"({"http": {"defaults": {"retry": {"base_ms": 9000}}}})")
            << QStringLiteral("$.http.defaults.retry.base_ms") << QStringLiteral("must not exceed retry.cap_ms (5000)");
        QTest::newRow("host attempt above deadline")
            << QByteArray(R"({"http": {"hosts": {"h": {"timeouts": {"attempt_ms": 60000}}}}})")
            << QStringLiteral("$.http.hosts.h.timeouts.attempt_ms") << QStringLiteral("must not exceed timeouts.deadline_ms");
    }

    void httpFindings()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, path);
        QFETCH(QString, messagePart);
        const auto r = ConfigLoader::loadText(text, QStringLiteral("h.json"));
        QCOMPARE(r.findings.size(), 1);
        QCOMPARE(r.findings.first().path, path);
        QVERIFY2(r.findings.first().message.contains(messagePart), qPrintable(r.findings.first().message));
        QVERIFY(r.findings.first().line > 0);
    }

    void storageStrings()
    {
        auto r = ConfigLoader::loadText(R"({"storage": {"url": "sqlite:hist.db", "password_env": "MY_PW"}})",
                                        QStringLiteral("s.json"));
        QVERIFY(r.ok());
        QCOMPARE(r.config.storage.url, QStringLiteral("sqlite:hist.db"));
        QCOMPARE(r.config.storage.passwordEnv, QStringLiteral("MY_PW"));
        r = ConfigLoader::loadText(R"({"storage": {"url": 5}})", QStringLiteral("s.json"));
        QCOMPARE(r.findings.size(), 1);
        QVERIFY(r.findings.first().message.contains(QStringLiteral("expected a string but found integer")));
        r = ConfigLoader::loadText(R"({"storage": {"url": "mysql:x"}})", QStringLiteral("s.json"));
        QCOMPARE(r.findings.first().path, QStringLiteral("$.storage.url"));
        // A password in the URL is refused and never echoed back.
        r = ConfigLoader::loadText("{\"storage\": {\"url\": \"postgresql://vega:hunter2@db/vega\"}}", QStringLiteral("s.json"));
        QCOMPARE(r.findings.size(), 1);
        QVERIFY(!r.findings.first().toString().contains(QStringLiteral("hunter2")));
        QVERIFY(r.findings.first().message.contains(QStringLiteral("password")));
    }

    void everyKeyIsDocumented()
    {
        QFile doc(QStringLiteral(VEGA_SOURCE_DIR "/docs/CONFIG.md"));
        QVERIFY2(doc.open(QIODevice::ReadOnly), "docs/CONFIG.md is missing");
        const QString text = QString::fromUtf8(doc.readAll());
        for (const ConfigKeyInfo &key : ConfigLoader::schema()) {
            QVERIFY2(text.contains(QStringLiteral("`") + key.path + QStringLiteral("`")),
                     qPrintable(QStringLiteral("%1 is not in docs/CONFIG.md").arg(key.path)));
            const QRegularExpression row(QStringLiteral("`%1` \\| %2 \\| `%3`")
                                             .arg(QRegularExpression::escape(key.path), key.type,
                                                  QRegularExpression::escape(key.defaultValue)));
            QVERIFY2(row.match(text).hasMatch(),
                     qPrintable(QStringLiteral("docs/CONFIG.md row of %1 must read: `%1` | %2 | `%3`")
                                    .arg(key.path, key.type, key.defaultValue)));
        }
    }

    void integrationsLoad()
    {
        qputenv("VEGA_TST_CONFIG_TOKEN", "value-never-stored");
        const QByteArray text = "{\"integrations\": {\n"
                                "  \"chat\": {\"kind\": \"slack\", \"url\": \"https://slack.example/api\",\n"
                                "            \"auth\": {\"token\": \"${VEGA_TST_CONFIG_TOKEN}\"},\n"
                                "            \"health\": {\"interval_s\": 10, \"latency_threshold_ms\": 800},\n"
                                "            \"retry\": {\"max_attempts\": 1}, \"timeout_ms\": 2000},\n"
                                "  \"db\": {\"kind\": \"database\", \"url\": \"sqlite:/var/lib/app/app.db\"}\n"
                                "}}";
        const auto r = ConfigLoader::loadText(text, QStringLiteral("i.json"));
        QVERIFY2(r.findings.isEmpty(), qPrintable(r.findings.isEmpty() ? QString() : r.findings.first().toString()));
        QCOMPARE(r.config.integrations.size(), 2);
        const IntegrationConfig &chat = r.config.integrations.value(QStringLiteral("chat"));
        QCOMPARE(chat.name, QStringLiteral("chat"));
        QCOMPARE(chat.kind, IntegrationKind::Slack);
        QCOMPARE(chat.authToken, QStringLiteral("${VEGA_TST_CONFIG_TOKEN}")); // kept unexpanded
        QCOMPARE(chat.healthIntervalS, 10);
        QCOMPARE(chat.healthTimeoutMs, 5000);
        QCOMPARE(chat.healthLatencyThresholdMs, 800);
        QCOMPARE(chat.effectiveHealthPath(), QStringLiteral("auth.test"));
        QCOMPARE(chat.policyHostKey(), QStringLiteral("slack.example:443"));
        // The integration's overrides are its host's policy; other hosts keep the defaults.
        const HttpPolicy policy = r.config.http.policyFor(QUrl(QStringLiteral("https://slack.example/api/auth.test")));
        QCOMPARE(policy.retryMaxAttempts, 1);
        QCOMPARE(policy.attemptTimeoutMs, 2000);
        QCOMPARE(r.config.http.policyFor(QUrl(QStringLiteral("https://other.example/"))).retryMaxAttempts, 3);
        QCOMPARE(r.config.integrations.value(QStringLiteral("db")).kind, IntegrationKind::Database);
        QCOMPARE(r.positions.value(QStringLiteral("$.integrations.chat.url")), qMakePair(2, 36));

        // The effective configuration: references verbatim, round trip to the same thing.
        const QJsonObject json = ConfigLoader::toJson(r.config);
        const QByteArray effective = QJsonDocument(json).toJson();
        QVERIFY(effective.contains("${VEGA_TST_CONFIG_TOKEN}"));
        QVERIFY(!effective.contains("value-never-stored"));
        const auto again = ConfigLoader::loadText(effective, QStringLiteral("rt.json"));
        QVERIFY2(again.ok(), qPrintable(again.findings.isEmpty() ? QString() : again.findings.first().toString()));
        QCOMPARE(again.config.integrations.value(QStringLiteral("chat")).policyOverrides,
                 chat.policyOverrides);
        QCOMPARE(again.config.http.policyFor(QUrl(QStringLiteral("https://slack.example/"))).attemptTimeoutMs, 2000);
        QCOMPARE(ConfigLoader::toJson(again.config), json);
    }

    void integrationSecretsRedacted()
    {
        EngineConfig c;
        IntegrationConfig i;
        i.name = QStringLiteral("ha");
        i.kind = IntegrationKind::HomeAssistant;
        i.url = QStringLiteral("https://user:hunter2@ha.example/");
        i.authToken = QStringLiteral("eyJ-literal-token");
        c.integrations.insert(i.name, i);
        const QByteArray text = QJsonDocument(ConfigLoader::toJson(c)).toJson();
        QVERIFY(!text.contains("eyJ-literal-token"));
        QVERIFY(!text.contains("hunter2"));
        QVERIFY(text.contains("<redacted>"));
        QCOMPARE(redactSecret(QStringLiteral("${A}${B}")), QStringLiteral("${A}${B}"));
        QCOMPARE(redactSecret(QStringLiteral("Bearer ${A}")), QStringLiteral("<redacted>"));
        QCOMPARE(redactUrlPassword(QStringLiteral("postgresql://u:${PW}@h/db")), QStringLiteral("postgresql://u:${PW}@h/db"));
        QCOMPARE(redactUrlPassword(QStringLiteral("https://u:pw@h/x@y")), QStringLiteral("https://u:<redacted>@h/x@y"));
    }

    void environmentReferences_data()
    {
        QTest::addColumn<QString>("value");
        QTest::addColumn<QString>("expanded");
        QTest::addColumn<QStringList>("missing");
        QTest::addColumn<bool>("pure");
        QTest::newRow("plain") << QStringLiteral("abc") << QStringLiteral("abc") << QStringList() << false;
        QTest::newRow("one") << QStringLiteral("${VEGA_TST_SET}") << QStringLiteral("yes") << QStringList() << true;
        QTest::newRow("embedded") << QStringLiteral("https://${VEGA_TST_SET}.example/${VEGA_TST_NOT_SET}")
                                  << QStringLiteral("https://yes.example/")
                                  << QStringList{QStringLiteral("VEGA_TST_NOT_SET")} << false;
        QTest::newRow("dollar alone") << QStringLiteral("a$b{c}") << QStringLiteral("a$b{c}") << QStringList() << false;
    }

    void environmentReferences()
    {
        QFETCH(QString, value);
        QFETCH(QString, expanded);
        QFETCH(QStringList, missing);
        QFETCH(bool, pure);
        qputenv("VEGA_TST_SET", "yes");
        qunsetenv("VEGA_TST_NOT_SET");
        QStringList notSet;
        QCOMPARE(expandEnvironment(value, &notSet), expanded);
        QCOMPARE(notSet, missing);
        QCOMPARE(isPureEnvironmentReference(value), pure);
        QVERIFY(environmentSyntaxError(value).isEmpty());
    }

    void integrationFindings_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("severity");
        QTest::addColumn<QString>("messagePart");
        const int error = int(Severity::Error);
        const int warning = int(Severity::Warning);
        QTest::newRow("unknown kind") << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"homeassistant\", \"url\": \"http://h\"}}}")
                                      << QStringLiteral("$.integrations.x.kind") << error
                                      << QStringLiteral("did you mean \"home_assistant\"?");
        QTest::newRow("missing kind") << QByteArray("{\"integrations\": {\"x\": {\"url\": \"http://h\"}}}")
                                      << QStringLiteral("$.integrations.x") << error
                                      << QStringLiteral("missing required key \"kind\"");
        QTest::newRow("bad name") << QByteArray("{\"integrations\": {\"my api\": {\"kind\": \"llm\", \"url\": \"http://h\"}}}")
                                  << QStringLiteral("$.integrations.my api") << error
                                  << QStringLiteral("not an integration name");
        QTest::newRow("bad scheme") << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"llm\", \"url\": \"ws://h\"}}}")
                                    << QStringLiteral("$.integrations.x.url") << error << QStringLiteral("scheme \"ws\"");
        QTest::newRow("database url") << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"database\", \"url\": \"mysql://h/db\"}}}")
                                      << QStringLiteral("$.integrations.x.url") << error
                                      << QStringLiteral("expected sqlite:<path> or postgresql://");
        QTest::newRow("unknown key") << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"llm\", \"url\": \"http://h\", \"helth\": {}}}}")
                                     << QStringLiteral("$.integrations.x.helth") << error
                                     << QStringLiteral("did you mean \"health\"?");
        QTest::newRow("bad reference") << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"llm\", \"url\": \"http://${1X}\"}}}")
                                       << QStringLiteral("$.integrations.x.url") << error
                                       << QStringLiteral("not an environment reference");
        QTest::newRow("unterminated reference")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"llm\", \"url\": \"http://h\", \"auth\": {\"token\": \"${T\"}}}}")
            << QStringLiteral("$.integrations.x.auth.token") << error << QStringLiteral("unterminated");
        QTest::newRow("unset variable")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"llm\", \"url\": \"http://h\", \"auth\": {\"token\": \"${VEGA_TST_NOT_SET}\"}}}}")
            << QStringLiteral("$.integrations.x.auth.token") << warning
            << QStringLiteral("environment variable VEGA_TST_NOT_SET is not set");
        QTest::newRow("health path is a url")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"search\", \"url\": \"http://h\", \"health\": {\"path\": \"http://h/x\"}}}}")
            << QStringLiteral("$.integrations.x.health.path") << error << QStringLiteral("not a URL");
        QTest::newRow("interval out of range")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"search\", \"url\": \"http://h\", \"health\": {\"interval_s\": 0}}}}")
            << QStringLiteral("$.integrations.x.health.interval_s") << error << QStringLiteral("between 1 and 86400");
        QTest::newRow("overrides on a database")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"database\", \"url\": \"sqlite:/tmp/x.db\", \"cache\": {\"enabled\": false}}}}")
            << QStringLiteral("$.integrations.x") << warning << QStringLiteral("cache.enabled) are ignored");
        QTest::newRow("timeout set twice")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"search\", \"url\": \"http://h\", \"timeout_ms\": 5, \"timeouts\": {\"attempt_ms\": 6}}}}")
            << QStringLiteral("$.integrations.x.timeout_ms") << error << QStringLiteral("not both");
        QTest::newRow("two integrations disagree on one host")
            << QByteArray("{\"integrations\": {\"a\": {\"kind\": \"search\", \"url\": \"http://h/s\", \"retry\": {\"max_attempts\": 2}},\n"
                          "                  \"b\": {\"kind\": \"fetch\", \"url\": \"http://h/f\", \"retry\": {\"max_attempts\": 5}}}}")
            << QStringLiteral("$.integrations.b.retry.max_attempts") << error
            << QStringLiteral("conflicts with integrations.a (2) on the same host h:80");
        QTest::newRow("literal token")
            << QByteArray("{\"integrations\": {\"x\": {\"kind\": \"llm\", \"url\": \"https://h\", \"auth\": {\"token\": \"sk-1\"}}}}")
            << QStringLiteral("$.integrations.x.auth.token") << warning << QStringLiteral("written in the file");
    }

    void integrationFindings()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, path);
        QFETCH(int, severity);
        QFETCH(QString, messagePart);
        qunsetenv("VEGA_TST_NOT_SET");
        const auto r = ConfigLoader::loadText(text, QStringLiteral("i.json"));
        QStringList all;
        for (const ConfigFinding &f : r.findings)
            all.append(f.toString());
        QCOMPARE(r.findings.size(), 1);
        const ConfigFinding &f = r.findings.first();
        QVERIFY2(f.path == path && int(f.severity) == severity && f.message.contains(messagePart),
                 qPrintable(all.join(QLatin1Char('\n'))));
        QVERIFY(f.line > 0);
        QVERIFY(!f.toString().contains(QStringLiteral("sk-1"))); // a literal secret is never echoed
    }

    void orderingOnAConfigBuiltInCode()
    {
        EngineConfig c;
        QVERIFY(ConfigLoader::checkOrdering(c).isEmpty());
        c.diagnostics.diskFreePercent = {5, 10}; // lower is worse: critical must be below warning
        c.http.hosts.insert(QStringLiteral("h"), HttpPolicy());
        c.http.hosts[QStringLiteral("h")].retryBaseMs = 10000;
        const auto findings = ConfigLoader::checkOrdering(c);
        QCOMPARE(findings.size(), 2);
        QCOMPARE(findings.at(0).path, QStringLiteral("$.diagnostics.thresholds.disk_free_percent.critical"));
        QCOMPARE(findings.at(1).path, QStringLiteral("$.http.hosts.h.retry.cap_ms"));
        QVERIFY(findings.at(1).message.contains(QStringLiteral("retry.base_ms (10000) must not exceed retry.cap_ms (5000)")));
    }
};

QTEST_GUILESS_MAIN(TestConfig)
#include "tst_config.moc"
