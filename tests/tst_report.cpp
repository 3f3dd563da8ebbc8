// Diagnostic reports from a real engine: the ZIP support bundle (manifest hashes, CSV history
// from the database, Prometheus text), HTML and JSON, secret redaction, cancelling.
#include "engine.h"
#include "historystore.h"
#include "httpclient.h"
#include "localhttpserver.h"
#include "report.h"
#include "reportbuilder.h"

#include <QCryptographicHash>
#include <QDirIterator>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <memory>

using namespace vega;

namespace {

constexpr int kTimeoutMs = 30000; // generous: ASan on a loaded two-core machine

// Planted secrets: none of these bytes may appear in any report.
const QByteArray kEnvPassword = "PlantedDbPw-7731x";
const QByteArray kApiKey = "PlantedApiKey-9f8e7d6c";
const QByteArray kBearer = "PlantedBearer-abcdef123456";
const QByteArray kUrlPassword = "PlantedUrlPw-55aa";
const QByteArray kJwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwbGFudGVkIn0.PlantedJwtSig";

QList<QByteArray> plantedSecrets()
{
    return {kEnvPassword, kApiKey, kBearer, kUrlPassword, kJwt, QByteArray("PlantedJwtSig")};
}

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

/// Extracts a ZIP with the system's unzip; name -> bytes.
QMap<QString, QByteArray> extract(const QString &zipPath, const QString &into)
{
    QMap<QString, QByteArray> files;
    QProcess unzip;
    unzip.start(QStringLiteral("unzip"),
                {QStringLiteral("-q"), QStringLiteral("-o"), zipPath, QStringLiteral("-d"), into});
    if (!unzip.waitForFinished(60000) || unzip.exitCode() != 0)
        return files;
    QDirIterator it(into, QDir::Files, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        files.insert(QDir(into).relativeFilePath(path), readAll(path));
    }
    return files;
}

/// Every non-void element closed, in order (a small check, enough for generated HTML).
bool tagsBalanced(const QString &html, QString *problem)
{
    static const QRegularExpression tag(QStringLiteral("<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>"));
    static const QStringList voidTags{QStringLiteral("meta"), QStringLiteral("br"),   QStringLiteral("hr"),
                                      QStringLiteral("img"),  QStringLiteral("link"), QStringLiteral("input"),
                                      QStringLiteral("col")};
    QStringList stack;
    QRegularExpressionMatchIterator it = tag.globalMatch(html);
    while (it.hasNext()) {
        const QRegularExpressionMatch m = it.next();
        const QString name = m.captured(2).toLower();
        if (voidTags.contains(name) || m.captured(3).endsWith(QLatin1Char('/')))
            continue;
        if (m.captured(1).isEmpty()) {
            stack.append(name);
        } else if (stack.isEmpty() || stack.last() != name) {
            *problem = QStringLiteral("</%1> at %2 closes <%3>")
                           .arg(name)
                           .arg(m.capturedStart())
                           .arg(stack.isEmpty() ? QString() : stack.last());
            return false;
        } else {
            stack.removeLast();
        }
    }
    if (!stack.isEmpty()) {
        *problem = QStringLiteral("unclosed: ") + stack.join(QLatin1Char(' '));
        return false;
    }
    return true;
}

struct Result {
    bool ok = false;
    QString text;
};

Result runBuilder(ReportBuilder &builder, const ReportRequest &request)
{
    QSignalSpy spy(&builder, &ReportBuilder::finished);
    if (!builder.start(request))
        return {false, QStringLiteral("refused")};
    if (!spy.wait(kTimeoutMs) && spy.isEmpty())
        return {false, QStringLiteral("timeout")};
    return {spy.first().at(0).toBool(), spy.first().at(1).toString()};
}

} // namespace

class TestReport : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::unique_ptr<LocalHttpServer> m_server;
    std::unique_ptr<Engine> m_engine;
    SnapshotPtr m_snapshot; // with planted secrets in its effective configuration
    qint64 m_oldSampleMs = 0;

    QString out(const QString &name) const
    {
        return QDir(m_dir.path()).filePath(QStringLiteral("out/") + name);
    }

    ReportRequest request(const QString &name) const
    {
        ReportRequest r;
        r.path = out(name);
        r.snapshot = m_snapshot;
        r.history = m_engine->history();
        r.historyWindowMs = 30 * 60 * 1000;
        return r;
    }

    void assertNoSecrets(const QByteArray &bytes, const QString &where)
    {
        for (const QByteArray &secret : plantedSecrets())
            QVERIFY2(!bytes.contains(secret),
                     qPrintable(where + QStringLiteral(" contains ") + QString::fromLatin1(secret)));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("out")));
        qputenv("VEGA_DB_PASSWORD", kEnvPassword);

        m_server = std::make_unique<LocalHttpServer>();
        m_server->setHandler(
            [](const HttpServerRequest &) { return HttpServerResponse::make(200, "ok", "text/plain"); });
        QVERIFY(m_server->listen());

        EngineConfig config;
        config.metrics.snapshotIntervalMs = 100;
        config.diagnostics.intervalMs = 200;
        config.storage.flushIntervalMs = 100;
        EngineOptions options;
        options.dataDir = QDir(m_dir.path()).filePath(QStringLiteral("data"));
        QVERIFY(QDir().mkpath(options.dataDir));
        m_engine = std::make_unique<Engine>(config, options);
        QVERIFY(m_engine->history());
        m_engine->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_engine->history()->status().health == Health::Ok, kTimeoutMs);

        // A little traffic over a few seconds, so every chart has points in several seconds.
        QUrl url = m_server->baseUrl();
        int done = 0, sent = 0;
        for (int round = 0; round < 25; ++round) {
            for (int i = 0; i < 4; ++i) {
                url.setPath(QStringLiteral("/item/%1").arg(i % 2)); // repeats: cache hits and coalescing
                HttpRequest r;
                r.url = url;
                connect(m_engine->http()->send(r), &HttpCall::finished, this, [&done] { ++done; });
                ++sent;
            }
            QTest::qWait(100);
        }
        QTRY_COMPARE_WITH_TIMEOUT(done, sent, kTimeoutMs);
        // An event whose text carries a credential: reports keep the event, not the secret.
        m_engine->metrics().recordEvent(QStringLiteral("operator"), QStringLiteral("tst_report"),
                                        QStringLiteral("token rotated; the old header was Bearer ") +
                                            QString::fromLatin1(kBearer));
        QTest::qWait(300); // into a published snapshot, and so into the journal

        // Samples older than anything in memory: only the database can put them in a report.
        const SnapshotPtr now = m_engine->publishNow();
        const QList<const MetricSnapshot *> requests = now->metrics->findAll(QStringLiteral("http_requests"));
        QVERIFY(!requests.isEmpty());
        const MetricSnapshot *m = requests.first();
        m_oldSampleMs = (now->metrics->wallMs / 1000 - 600) * 1000; // ten minutes ago, whole second
        QVector<SeriesPoint> old;
        for (int i = 0; i < 5; ++i)
            old.append({m_oldSampleMs + i * 1000, 42.0});
        m_engine->history()->recordSamples(SeriesKey{m->name, labelsJson(m->labels),
                                                     seriesFieldName(SeriesField::Rate), unitSymbol(m->unit)},
                                           old);

        auto planted = std::make_shared<Snapshot>(*m_engine->publishNow());
        QJsonObject cfg = planted->info.effectiveConfig;
        QVERIFY(!cfg.isEmpty());
        QJsonObject http = cfg.value(QStringLiteral("http")).toObject();
        http.insert(QStringLiteral("auth"),
                    QJsonObject{{QStringLiteral("api_key"), QString::fromLatin1(kApiKey)},
                                {QStringLiteral("token_ref"), QStringLiteral("${VEGA_API_TOKEN}")}});
        http.insert(QStringLiteral("upstream_header"),
                    QString(QStringLiteral("Bearer ") + QString::fromLatin1(kBearer)));
        http.insert(QStringLiteral("session"), QString::fromLatin1(kJwt));
        cfg.insert(QStringLiteral("http"), http);
        QJsonObject storage = cfg.value(QStringLiteral("storage")).toObject();
        storage.insert(QStringLiteral("replica_url"),
                       QString(QStringLiteral("postgresql://vega:") + QString::fromLatin1(kUrlPassword) +
                               QStringLiteral("@db:5432/vega")));
        cfg.insert(QStringLiteral("storage"), storage);
        planted->info.effectiveConfig = cfg;
        m_snapshot = planted;
    }

    void cleanupTestCase()
    {
        m_engine.reset();
        m_server.reset();
    }

    void supportBundleIsCompleteAndVerifiable()
    {
        ReportBuilder builder;
        QSignalSpy progress(&builder, &ReportBuilder::progress);
        ReportRequest r = request(QStringLiteral("bundle.zip"));
        r.validation = configFindingsToJson({});
        const Result result = runBuilder(builder, r);
        QVERIFY2(result.ok, qPrintable(result.text));
        QCOMPARE(result.text, QFileInfo(r.path).absoluteFilePath());
        QVERIFY(progress.size() >= 3);
        QCOMPARE(progress.last().at(0).toInt(), 100);

        QProcess test;
        test.start(QStringLiteral("unzip"), {QStringLiteral("-t"), r.path});
        QVERIFY(test.waitForFinished(60000));
        QVERIFY2(test.exitCode() == 0, test.readAllStandardOutput().constData());

        QTemporaryDir into;
        const QMap<QString, QByteArray> files = extract(r.path, into.path());
        QVERIFY(files.contains(QStringLiteral("manifest.json")));
        const QJsonObject manifest =
            QJsonDocument::fromJson(files.value(QStringLiteral("manifest.json"))).object();
        QCOMPARE(manifest.value(QStringLiteral("format_version")).toInt(), kReportFormatVersion);
        QVERIFY(!manifest.value(QStringLiteral("program_version")).toString().isEmpty());
        QVERIFY(manifest.value(QStringLiteral("generated_at")).toString().endsWith(QLatin1Char('Z')));
        QCOMPARE(manifest.value(QStringLiteral("host")).toString(), QSysInfo::machineHostName());

        // Every file listed with its exact size and SHA-256, and nothing unlisted.
        QSet<QString> listed;
        for (const QJsonValue &v : manifest.value(QStringLiteral("files")).toArray()) {
            const QJsonObject f = v.toObject();
            const QString name = f.value(QStringLiteral("name")).toString();
            listed.insert(name);
            QVERIFY2(files.contains(name), qPrintable(name));
            const QByteArray data = files.value(name);
            QCOMPARE(f.value(QStringLiteral("size_bytes")).toInteger(), qint64(data.size()));
            QCOMPARE(f.value(QStringLiteral("sha256")).toString(),
                     QString::fromLatin1(QCryptographicHash::hash(data, QCryptographicHash::Sha256).toHex()));
        }
        for (const QString &name : files.keys())
            QVERIFY2(name == QLatin1String("manifest.json") || listed.contains(name), qPrintable(name));
        for (const char *expected :
             {"snapshot.json", "metrics.prom", "config.json", "validation.json", "journal.csv", "system.json",
              "sql.json", "breakers.json", "pools.json", "history/event_loop_lag_p99.csv",
              "history/http_request_rate.csv", "history/http_backend_rate.csv", "history/cache_hit_ratio.csv",
              "history/coalesce_ratio.csv", "history/storage_rows_rate.csv"})
            QVERIFY2(listed.contains(QLatin1String(expected)), expected);

        // CSV: units in the header, ISO-8601 UTC timestamps with milliseconds.
        const QRegularExpression header(QStringLiteral("^time_utc,[a-z0-9_]+_(ms|per_s|percent)$"));
        const QRegularExpression row(
            QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z,-?[0-9.]+(e[-+]?\\d+)?$"));
        for (auto it = files.cbegin(); it != files.cend(); ++it) {
            if (!it.key().startsWith(QLatin1String("history/")))
                continue;
            const QList<QByteArray> lines = it.value().trimmed().split('\n');
            QVERIFY2(header.match(QString::fromUtf8(lines.first())).hasMatch(), lines.first().constData());
            for (int i = 1; i < lines.size(); ++i)
                QVERIFY2(row.match(QString::fromUtf8(lines[i])).hasMatch(), lines[i].constData());
        }
        QCOMPARE(files.value(QStringLiteral("history/event_loop_lag_p99.csv")).split('\n').first(),
                 QByteArray("time_utc,event_loop_lag_p99_ms"));
        QVERIFY(files.value(QStringLiteral("history/event_loop_lag_p99.csv")).count('\n') > 2);

        // The request rate comes from the database: it has the samples planted ten minutes ago.
        const QJsonObject sources =
            manifest.value(QStringLiteral("history")).toObject().value(QStringLiteral("sources")).toObject();
        QCOMPARE(sources.value(QStringLiteral("http_request_rate")).toString(), QStringLiteral("history"));
        const QByteArray rate = files.value(QStringLiteral("history/http_request_rate.csv"));
        QVERIFY2(rate.contains(QByteArray(reportIsoUtc(m_oldSampleMs).toUtf8() + ",42")),
                 rate.left(400).constData());
        QCOMPARE(manifest.value(QStringLiteral("journal_source")).toString(), QStringLiteral("store"));

        // metrics.prom: only comments and samples.
        const QRegularExpression sample(
            QStringLiteral("^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{.*\\})? (-?[0-9.]+(e[-+]?\\d+)?|[+-]Inf|NaN)$"));
        const QList<QByteArray> prom = files.value(QStringLiteral("metrics.prom")).split('\n');
        QVERIFY(prom.size() > 10);
        for (const QByteArray &line : prom) {
            if (line.isEmpty() || line.startsWith("# HELP ") || line.startsWith("# TYPE "))
                continue;
            QVERIFY2(sample.match(QString::fromUtf8(line)).hasMatch(), line.constData());
        }
        QVERIFY(files.value(QStringLiteral("metrics.prom")).contains("vega_http_requests_total"));

        const QByteArray journal = files.value(QStringLiteral("journal.csv"));
        QVERIFY(journal.startsWith("time_utc,kind,source,message,duration_ms,correlation_id\n"));
        QVERIFY2(
            journal.contains(",operator,tst_report,token rotated; the old header was Bearer [redacted],"),
            journal.constData());
        const QJsonObject validation =
            QJsonDocument::fromJson(files.value(QStringLiteral("validation.json"))).object();
        QCOMPARE(validation.value(QStringLiteral("ran")).toBool(), true);
        QCOMPARE(validation.value(QStringLiteral("ok")).toBool(), true);
        QVERIFY(QJsonDocument::fromJson(files.value(QStringLiteral("sql.json")))
                    .object()
                    .contains(QStringLiteral("statements")));
        QVERIFY(QJsonDocument::fromJson(files.value(QStringLiteral("breakers.json")))
                    .object()
                    .contains(QStringLiteral("transitions")));

        // Redaction: no planted secret anywhere; references stay references.
        for (auto it = files.cbegin(); it != files.cend(); ++it)
            assertNoSecrets(it.value(), it.key());
        assertNoSecrets(readAll(r.path), QStringLiteral("the archive"));
        const QJsonObject config =
            QJsonDocument::fromJson(files.value(QStringLiteral("config.json"))).object();
        const QJsonObject effective = config.value(QStringLiteral("effective_config")).toObject();
        const QJsonObject auth =
            effective.value(QStringLiteral("http")).toObject().value(QStringLiteral("auth")).toObject();
        QCOMPARE(auth.value(QStringLiteral("api_key")).toString(), QString::fromLatin1(kRedacted));
        QCOMPARE(auth.value(QStringLiteral("token_ref")).toString(), QStringLiteral("${VEGA_API_TOKEN}"));
        QCOMPARE(effective.value(QStringLiteral("storage"))
                     .toObject()
                     .value(QStringLiteral("password_env"))
                     .toString(),
                 QStringLiteral("VEGA_DB_PASSWORD"));
        QVERIFY(effective.value(QStringLiteral("storage"))
                    .toObject()
                    .value(QStringLiteral("replica_url"))
                    .toString()
                    .startsWith(QStringLiteral("postgresql://vega:[redacted]@db")));
        QVERIFY(config.value(QStringLiteral("redacted_paths"))
                    .toArray()
                    .contains(QStringLiteral("http.auth.api_key")));
    }

    void htmlIsSelfContainedAndWellFormed()
    {
        ReportBuilder builder;
        const ReportRequest r = request(QStringLiteral("report.html"));
        const Result result = runBuilder(builder, r);
        QVERIFY2(result.ok, qPrintable(result.text));
        const QByteArray bytes = readAll(r.path);
        assertNoSecrets(bytes, QStringLiteral("report.html"));
        const QString html = QString::fromUtf8(bytes);
        QVERIFY(html.startsWith(QStringLiteral("<!DOCTYPE html>")));
        QString problem;
        QVERIFY2(tagsBalanced(html, &problem), qPrintable(problem));
        QCOMPARE(html.count(QStringLiteral("<section")), html.count(QStringLiteral("</section>")));
        QCOMPARE(html.count(QStringLiteral("<section")), allReportSections().size());
        QVERIFY(html.contains(QStringLiteral("<table class=\"grid health\"")));
        QVERIFY(html.count(QStringLiteral("<svg")) >= 6);
        QVERIFY(html.contains(QStringLiteral("<polyline")));
        QVERIFY(!html.contains(QStringLiteral("src=\"http")));
        QVERIFY(!html.contains(QStringLiteral("href=\"http")));
        QVERIFY(!html.contains(QStringLiteral("<script"), Qt::CaseInsensitive));
        QVERIFY(!html.contains(QStringLiteral("url(")));
        QVERIFY(html.contains(QSysInfo::machineHostName().toHtmlEscaped()));
        QVERIFY(html.contains(QStringLiteral("stored history")));
    }

    void htmlEscapesText()
    {
        auto snap = std::make_shared<Snapshot>(*m_snapshot);
        DiagnosticCategory evil;
        evil.id = QStringLiteral("x");
        evil.title = QStringLiteral("<b>bold</b>");
        evil.reason = QStringLiteral("a < b & \"c\" <script>alert(1)</script>");
        snap->diagnostics.categories.append(evil);
        const ReportContent content = reportContentFromSnapshot(snap, allReportSectionFlags(), 60000);
        const QString html = renderReportHtml(content);
        QVERIFY(!html.contains(QStringLiteral("<script>")));
        QVERIFY(html.contains(QStringLiteral("&lt;script&gt;alert(1)&lt;/script&gt;")));
        QVERIFY(html.contains(QStringLiteral("&lt;b&gt;bold&lt;/b&gt;")));
        QString problem;
        QVERIFY2(tagsBalanced(html, &problem), qPrintable(problem));
    }

    void jsonHasHistoryAndNoSecrets()
    {
        ReportBuilder builder;
        const ReportRequest r = request(QStringLiteral("report.json"));
        const Result result = runBuilder(builder, r);
        QVERIFY2(result.ok, qPrintable(result.text));
        const QByteArray bytes = readAll(r.path);
        assertNoSecrets(bytes, QStringLiteral("report.json"));
        QJsonParseError error;
        const QJsonObject root = QJsonDocument::fromJson(bytes, &error).object();
        QCOMPARE(error.error, QJsonParseError::NoError);
        QCOMPARE(root.value(QStringLiteral("format_version")).toInt(), 1);
        const QJsonArray series =
            root.value(QStringLiteral("history")).toObject().value(QStringLiteral("series")).toArray();
        QCOMPARE(series.size(), 6);
        QCOMPARE(root.value(QStringLiteral("journal")).toObject().value(QStringLiteral("source")).toString(),
                 QStringLiteral("store"));
        QCOMPARE(root.value(QStringLiteral("validation")).toObject().value(QStringLiteral("ran")).toBool(),
                 false);
        QVERIFY(root.contains(QStringLiteral("metrics")));

        // The synchronous writer keeps today's JSON, redacted too.
        QString err;
        const QString sync = out(QStringLiteral("sync.json"));
        QVERIFY2(writeReport(*m_snapshot, sync, &err), qPrintable(err));
        const QByteArray syncBytes = readAll(sync);
        assertNoSecrets(syncBytes, QStringLiteral("sync.json"));
        const QJsonObject syncRoot = QJsonDocument::fromJson(syncBytes).object();
        for (const char *key :
             {"engine", "snapshot", "metrics", "events", "event_loop", "diagnostics", "http", "database"})
            QVERIFY2(syncRoot.contains(QLatin1String(key)), key);
    }

    void sectionsLeftOutAreAbsent()
    {
        ReportBuilder builder;
        ReportRequest r = request(QStringLiteral("partial.zip"));
        r.sections = allReportSectionFlags() &
                     ~ReportSections(ReportSection::Config | ReportSection::History | ReportSection::Metrics);
        const Result result = runBuilder(builder, r);
        QVERIFY2(result.ok, qPrintable(result.text));
        QTemporaryDir into;
        const QMap<QString, QByteArray> files = extract(r.path, into.path());
        QVERIFY(files.contains(QStringLiteral("manifest.json")));
        QVERIFY(!files.contains(QStringLiteral("config.json")));
        QVERIFY(!files.contains(QStringLiteral("metrics.prom")));
        for (const QString &name : files.keys())
            QVERIFY2(!name.startsWith(QLatin1String("history/")), qPrintable(name));
        const QJsonObject snapshot =
            QJsonDocument::fromJson(files.value(QStringLiteral("snapshot.json"))).object();
        QVERIFY(!snapshot.value(QStringLiteral("engine"))
                     .toObject()
                     .contains(QStringLiteral("effective_config")));
        QVERIFY(!snapshot.contains(QStringLiteral("metrics")));
        QVERIFY(snapshot.contains(QStringLiteral("diagnostics")));

        ReportBuilder html;
        ReportRequest h = request(QStringLiteral("partial.html"));
        h.sections = ReportSection::Summary | ReportSection::Health;
        QVERIFY(runBuilder(html, h).ok);
        const QString text = QString::fromUtf8(readAll(h.path));
        QCOMPARE(text.count(QStringLiteral("<section")), 2);
        QVERIFY(!text.contains(QStringLiteral("<svg")));
    }

    void withoutStoreUsesTheSnapshot()
    {
        ReportBuilder builder;
        ReportRequest r = request(QStringLiteral("memory.zip"));
        r.history = nullptr;
        const Result result = runBuilder(builder, r);
        QVERIFY2(result.ok, qPrintable(result.text));
        QTemporaryDir into;
        const QMap<QString, QByteArray> files = extract(r.path, into.path());
        const QJsonObject manifest =
            QJsonDocument::fromJson(files.value(QStringLiteral("manifest.json"))).object();
        QCOMPARE(manifest.value(QStringLiteral("journal_source")).toString(), QStringLiteral("snapshot"));
        const QJsonObject sources =
            manifest.value(QStringLiteral("history")).toObject().value(QStringLiteral("sources")).toObject();
        for (auto it = sources.begin(); it != sources.end(); ++it)
            QCOMPARE(it.value().toString(), QStringLiteral("memory"));
        const QByteArray rate = files.value(QStringLiteral("history/http_request_rate.csv"));
        QVERIFY(rate.count('\n') > 2);
        QVERIFY(!rate.contains(reportIsoUtc(m_oldSampleMs).toUtf8()));
    }

    void cancelWhileGatheringLeavesNoFile()
    {
        ReportBuilder builder;
        QSignalSpy spy(&builder, &ReportBuilder::finished);
        const ReportRequest r = request(QStringLiteral("cancelled.zip"));
        QVERIFY(builder.start(r));
        QVERIFY(builder.isRunning());
        builder.cancel();
        QVERIFY(spy.wait(kTimeoutMs));
        QCOMPARE(spy.size(), 1);
        QCOMPARE(spy.first().at(0).toBool(), false);
        QCOMPARE(spy.first().at(1).toString(), QStringLiteral("cancelled"));
        QVERIFY(!builder.isRunning());
        QVERIFY(!QFile::exists(r.path));
        // Late store answers of the cancelled run change nothing.
        QTest::qWait(300);
        QCOMPARE(spy.size(), 1);
    }

    void cancelWhileWritingLeavesNoFile()
    {
        // A PDF renderer that holds the worker until the test has cancelled.
        auto entered = std::make_shared<std::atomic_bool>(false);
        auto release = std::make_shared<std::atomic_bool>(false);
        ReportBuilder builder;
        builder.setPdfRenderer([entered, release](const ReportDocument &doc, QIODevice *out, QString *) {
            *entered = true;
            out->write("%PDF-1.4\n"); // a partial file, to be thrown away
            out->write(doc.html.toUtf8());
            QElapsedTimer t;
            t.start();
            while (!*release && t.elapsed() < kTimeoutMs)
                QThread::msleep(5);
            return true;
        });
        QSignalSpy spy(&builder, &ReportBuilder::finished);
        const ReportRequest r = request(QStringLiteral("cancelled.pdf"));
        QVERIFY(builder.start(r));
        QTRY_VERIFY_WITH_TIMEOUT(*entered, kTimeoutMs);
        builder.cancel();
        *release = true;
        QVERIFY(spy.wait(kTimeoutMs));
        QCOMPARE(spy.first().at(1).toString(), QStringLiteral("cancelled"));
        QVERIFY(!QFile::exists(r.path));
        const QStringList leftovers =
            QDir(out(QString())).entryList({QStringLiteral("cancelled.pdf*")}, QDir::Files);
        QVERIFY2(leftovers.isEmpty(), qPrintable(leftovers.join(QLatin1Char(' '))));
    }

    void pdfDocumentHasChartsAndNoSecrets()
    {
        ReportDocument seen;
        ReportBuilder builder;
        builder.setPdfRenderer([&seen](const ReportDocument &doc, QIODevice *out, QString *) {
            seen = doc; // the worker is joined before finished() is delivered
            return out->write("%PDF-1.4\n%%EOF\n") > 0;
        });
        const ReportRequest r = request(QStringLiteral("hooked.pdf"));
        const Result result = runBuilder(builder, r);
        QVERIFY2(result.ok, qPrintable(result.text));
        QCOMPARE(seen.charts.size(), 6);
        for (const ReportChart &c : seen.charts)
            QVERIFY2(seen.html.contains(QStringLiteral("src=\"chart:") + c.id + QLatin1Char('"')),
                     qPrintable(c.id));
        QVERIFY(!seen.html.contains(QStringLiteral("<svg")));
        assertNoSecrets(seen.html.toUtf8(), QStringLiteral("the PDF's document"));
    }

    void badRequestsFailClearlyAndLater()
    {
        ReportBuilder builder;
        QSignalSpy spy(&builder, &ReportBuilder::finished);
        ReportRequest r = request(QStringLiteral("report.pdf")); // no renderer set
        QVERIFY(builder.start(r));
        QCOMPARE(spy.size(), 0);    // never from inside start()
        QVERIFY(!builder.start(r)); // one at a time
        QVERIFY(spy.wait(kTimeoutMs));
        QCOMPARE(spy.first().at(0).toBool(), false);
        QVERIFY2(spy.first().at(1).toString().contains(QStringLiteral("PDF")),
                 qPrintable(spy.first().at(1).toString()));

        r.path = QStringLiteral("/nonexistent/dir/r.zip");
        const Result missing = runBuilder(builder, r);
        QVERIFY(!missing.ok);
        QVERIFY2(missing.text.contains(r.path) && missing.text.contains(QStringLiteral("does not exist")),
                 qPrintable(missing.text));

        r.path = out(QStringLiteral("r.zip"));
        r.snapshot.reset();
        const Result none = runBuilder(builder, r);
        QVERIFY(!none.ok);
        QVERIFY(none.text.contains(QStringLiteral("no snapshot")));
    }

    void checkReportPath_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("pdf");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("reason");
        QTest::newRow("json") << "r.json" << false << true << "";
        QTest::newRow("html upper") << "r.HTML" << false << true << "";
        QTest::newRow("zip") << "r.zip" << false << true << "";
        QTest::newRow("pdf with renderer") << "r.pdf" << true << true << "";
        QTest::newRow("pdf without") << "r.pdf" << false << false << "PDF needs";
        QTest::newRow("docx") << "r.docx" << true << false << "unsupported format \".docx\"";
        QTest::newRow("none") << "report" << false << false << "(no extension)";
    }

    void checkReportPath()
    {
        QFETCH(QString, name);
        QFETCH(bool, pdf);
        QFETCH(bool, ok);
        QFETCH(QString, reason);
        QString error;
        const QString path = out(name);
        QCOMPARE(vega::checkReportPath(path, &error, pdf), ok);
        if (!ok) {
            QVERIFY2(error.contains(reason) && error.contains(path), qPrintable(error));
        }
        QVERIFY(!QFile::exists(path));
    }

    void secretKeyNames_data()
    {
        QTest::addColumn<QString>("key");
        QTest::addColumn<bool>("secret");
        for (const char *k : {"token", "api_key", "apiKey", "X-Api-Token", "password", "db_password",
                              "client_secret", "Authorization", "private_key", "cookie", "credentials"})
            QTest::newRow(k) << QString::fromLatin1(k) << true;
        for (const char *k :
             {"max_entries", "monkey", "keys_total", "url", "timeout_ms", "hosts", "tokenizer"})
            QTest::newRow(k) << QString::fromLatin1(k) << false;
    }

    void secretKeyNames()
    {
        QFETCH(QString, key);
        QFETCH(bool, secret);
        QCOMPARE(isSecretKeyName(key), secret);
    }

    void scrubbing_data()
    {
        QTest::addColumn<QString>("in");
        QTest::addColumn<QString>("out");
        QTest::newRow("bearer") << "sent Authorization: Bearer abcdef123456 to x"
                                << "sent Authorization: Bearer [redacted] to x";
        QTest::newRow("url") << "postgresql://u:pw123@h/db"
                             << "postgresql://u:[redacted]@h/db";
        QTest::newRow("reference kept") << "Bearer ${TOKEN}"
                                        << "Bearer ${TOKEN}";
        QTest::newRow("plain") << "nothing secret here"
                               << "nothing secret here";
        QTest::newRow("jwt") << QString::fromLatin1("t=" + kJwt) << "t=[redacted]";
    }

    void scrubbing()
    {
        QFETCH(QString, in);
        QFETCH(QString, out);
        QCOMPARE(scrubSecrets(in), out);
    }

    void redactionKeepsReferencesAndStructure()
    {
        const QJsonObject in{
            {QStringLiteral("password"), QStringLiteral("hunter2")},
            {QStringLiteral("token"), QStringLiteral("${API_TOKEN}")},
            {QStringLiteral("auth"),
             QJsonObject{{QStringLiteral("user"), QStringLiteral("bob")}, {QStringLiteral("retries"), 3}}},
            {QStringLiteral("password_env"), QStringLiteral("VEGA_DB_PASSWORD")},
            {QStringLiteral("header"), QStringLiteral("Bearer sk-live-abcdefghijklmnop")},
            {QStringLiteral("timeout_ms"), 1000},
            {QStringLiteral("list"),
             QJsonArray{QStringLiteral("ghp_abcdefghijklmnopqrstuvwxyz0123"), QStringLiteral("ok")}},
        };
        QStringList paths;
        const QJsonObject o = redactSecrets(in, &paths).toObject();
        const QString r = QString::fromLatin1(kRedacted);
        QCOMPARE(o.value(QStringLiteral("password")).toString(), r);
        QCOMPARE(o.value(QStringLiteral("token")).toString(), QStringLiteral("${API_TOKEN}"));
        QCOMPARE(o.value(QStringLiteral("auth")).toObject().value(QStringLiteral("user")).toString(), r);
        QCOMPARE(o.value(QStringLiteral("auth")).toObject().value(QStringLiteral("retries")).toString(), r);
        QCOMPARE(o.value(QStringLiteral("password_env")).toString(), QStringLiteral("VEGA_DB_PASSWORD"));
        QCOMPARE(o.value(QStringLiteral("header")).toString(), r);
        QCOMPARE(o.value(QStringLiteral("timeout_ms")).toInt(), 1000);
        QCOMPARE(o.value(QStringLiteral("list")).toArray().at(0).toString(), r);
        QCOMPARE(o.value(QStringLiteral("list")).toArray().at(1).toString(), QStringLiteral("ok"));
        QVERIFY(paths.contains(QStringLiteral("list[0]")));
        QVERIFY(paths.contains(QStringLiteral("auth.user")));
    }

    void parseSections()
    {
        ReportSections s;
        QString error;
        QVERIFY(parseReportSections(QStringLiteral("summary, health,SQL"), &s, &error));
        QCOMPARE(s, ReportSection::Summary | ReportSection::Health | ReportSection::Sql);
        QVERIFY(parseReportSections(QStringLiteral("all"), &s, &error));
        QCOMPARE(s, allReportSectionFlags());
        QVERIFY(!parseReportSections(QStringLiteral("summary,bogus"), &s, &error));
        QVERIFY(error.contains(QStringLiteral("\"bogus\"")));
    }
};

QTEST_GUILESS_MAIN(TestReport)
#include "tst_report.moc"
