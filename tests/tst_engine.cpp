// The engine as one piece: snapshots, reset stats across components, history on disk.
#include "engine.h"
#include "historystore.h"
#include "httpclient.h"
#include "localhttpserver.h"
#include "report.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace vega;

class TestEngine : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void resetStatsClearsShownKeepsExported()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse r = HttpServerResponse::make(200, "ok", "text/plain");
            r.delayMs = 100; // long enough for the duplicates to overlap
            return r;
        });
        QVERIFY(server.listen());
        QTemporaryDir dir;
        EngineOptions options;
        options.dataDir = dir.path();
        Engine engine(EngineConfig{}, options);
        engine.start();

        QUrl url = server.baseUrl();
        url.setPath(QStringLiteral("/same"));
        HttpRequest request;
        request.url = url;
        request.useCache = false;
        int done = 0;
        for (int i = 0; i < 5; ++i)
            connect(engine.http()->send(request), &HttpCall::finished, this, [&done] { ++done; });
        QTRY_COMPARE_WITH_TIMEOUT(done, 5, 10000);
        QCOMPARE(engine.publishNow()->http.topCoalescedKeys.size(), 1);
        QCOMPARE(engine.latest()->http.totals.coalesced, quint64(4));

        engine.resetStats(QStringLiteral("test"));
        const SnapshotPtr after = engine.latest();
        QVERIFY(after->http.topCoalescedKeys.isEmpty());        // what is shown restarts
        QCOMPARE(after->http.totals.coalesced, quint64(4));       // exported totals stay
        const MetricSnapshot *waiters = nullptr;
        for (const MetricSnapshot *m : after->metrics->findAll(QStringLiteral("coalescer_waiters")))
            waiters = m;
        QVERIFY(waiters);
        QCOMPARE(waiters->total, quint64(4));
        QCOMPARE(waiters->sinceReset, quint64(0));
        QCOMPARE(after->metrics->resetCount, 1);
        QCOMPARE(after->metrics->events.last().kind, QStringLiteral("reset"));
    }

    void historyReachesTheDatabase()
    {
        QTemporaryDir dir;
        EngineOptions options;
        options.dataDir = dir.path();
        EngineConfig config;
        config.storage.flushIntervalMs = 50;
        {
            Engine engine(config, options);
            QVERIFY(engine.history());
            engine.start();
            engine.resetStats(QStringLiteral("operator"));
            engine.publishNow();
            bool ok = false;
            bool answered = false;
            engine.history()->flush(this, [&](bool result) {
                ok = result;
                answered = true;
            });
            QTRY_VERIFY_WITH_TIMEOUT(answered, 10000);
            QVERIFY(ok);
        }
        // A new engine on the same data directory reads what the first one wrote.
        Engine again(config, options);
        again.start();
        bool answered = false;
        int resets = 0;
        JournalQuery query;
        query.fromMs = 0;
        query.toMs = QDateTime::currentMSecsSinceEpoch() + 60000;
        again.history()->loadJournal(query, this, [&](const JournalPage &page) {
            for (const JournalEntry &e : page.entries)
                resets += e.kind == QLatin1String("reset") ? 1 : 0;
            answered = true;
        });
        QTRY_VERIFY_WITH_TIMEOUT(answered, 10000);
        QCOMPARE(resets, 1);
    }

    void databaseHealthIsPartOfTheSnapshot()
    {
        QTemporaryDir dir;
        EngineOptions options;
        options.dataDir = dir.path();
        EngineConfig config;
        config.storage.flushIntervalMs = 50;
        Engine engine(config, options);
        engine.start();
        // Once the store has opened the database, the next snapshot grades it Ok, names it,
        // and lists the statements the store ran through the profiler.
        QTRY_VERIFY_WITH_TIMEOUT(engine.history()->status().health == Health::Ok, 10000);
        QTRY_VERIFY_WITH_TIMEOUT(!engine.publishNow()->database.statements.isEmpty(), 10000);
        const SnapshotPtr snap = engine.publishNow();
        QVERIFY(snap->database.enabled);
        QVERIFY(snap->database.storage.location.contains(dir.path()));
        const DiagnosticCategory *db = snap->diagnostics.category(QStringLiteral("database"));
        QVERIFY(db);
        QCOMPARE(db->health, Health::Ok);
        QVERIFY2(db->reason.contains(QStringLiteral("vega.db")), qPrintable(db->reason));
        const QJsonObject json = snapshotToJson(*snap).value(QStringLiteral("database")).toObject();
        QCOMPARE(json.value(QStringLiteral("storage")).toObject().value(QStringLiteral("health")).toString(),
                 QStringLiteral("ok"));
        QVERIFY(!json.value(QStringLiteral("statements")).toArray().isEmpty());
        QVERIFY(json.value(QStringLiteral("connections")).toArray().size() >= 1);
    }

    void databaseGrading_data()
    {
        QTest::addColumn<int>("storageHealth");
        QTest::addColumn<int>("queueDepth");
        QTest::addColumn<bool>("fatal");
        QTest::addColumn<int>("expected");
        QTest::addColumn<QString>("reasonPart");
        QTest::newRow("connecting") << int(Health::Unknown) << 0 << false << int(Health::Unknown) << "connecting";
        QTest::newRow("healthy") << int(Health::Ok) << 10 << false << int(Health::Ok) << "writing to";
        QTest::newRow("queue 85%") << int(Health::Ok) << 85 << false << int(Health::Warning) << "85% full";
        QTest::newRow("failing") << int(Health::Critical) << 0 << false << int(Health::Critical) << "retrying";
        QTest::newRow("not ours") << int(Health::Critical) << 0 << true << int(Health::Critical) << "unusable";
    }

    void databaseGrading()
    {
        QFETCH(int, storageHealth);
        QFETCH(int, queueDepth);
        QFETCH(bool, fatal);
        QFETCH(int, expected);
        QFETCH(QString, reasonPart);
        DatabaseSummary db;
        db.enabled = true;
        db.storage.health = Health(storageHealth);
        db.storage.fatal = fatal;
        db.storage.error = QStringLiteral("database is locked");
        db.storage.location = QStringLiteral("SQLite /data/vega.db");
        db.queueDepth = queueDepth;
        db.queueCapacity = 100;
        const DiagnosticCategory c = gradeDatabase(db, nullptr);
        QCOMPARE(int(c.health), expected);
        QVERIFY2(c.reason.contains(reasonPart), qPrintable(c.reason));
        QCOMPARE(gradeDatabase(DatabaseSummary{}, nullptr).health, Health::Unknown);
    }
};

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
