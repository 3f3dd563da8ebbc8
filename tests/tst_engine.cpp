// The engine as one piece: snapshots, reset stats across components, history on disk.
#include "engine.h"
#include "historystore.h"
#include "httpclient.h"
#include "localhttpserver.h"

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
};

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
