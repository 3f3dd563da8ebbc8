#include "config.h"
#include "httpclient.h"
#include "localhttpserver.h"
#include "metrics.h"
#include "requestkey.h"
#include "redistestsupport.h"
#include "sharedcache.h"

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QMutex>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

using namespace vega;
using namespace vega::testsupport;

namespace {

/// One "agent": its own registry and client, as on another machine.
struct Agent {
    explicit Agent(const RedisConfig &redis)
    {
        HttpConfig config;
        config.redis = redis;
        client = std::make_unique<HttpClient>(&registry, config);
    }
    MetricsRegistry registry;
    std::unique_ptr<HttpClient> client;
};

/// A Redis server, a backend and two agents sharing that Redis: where most tests start.
/// `tune` adjusts the agents' Redis settings before they are created.
struct TwoAgents {
    explicit TwoAgents(const std::function<void(RedisConfig &)> &tune = {}) : a(config(tune)), b(config(tune)) {}

    /// True once Redis runs and both agents are connected to it.
    bool up() const
    {
        return started && a.client->sharedCacheStatus().state == QLatin1String("up") &&
               b.client->sharedCacheStatus().state == QLatin1String("up");
    }

    RedisServer server;
    bool started = server.start();
    Backend backend;
    Agent a;
    Agent b;

private:
    RedisConfig config(const std::function<void(RedisConfig &)> &tune) const
    {
        RedisConfig c = redisConfig(server);
        if (tune)
            tune(c);
        return c;
    }
};

} // namespace

class TestSharedCache : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (RedisServer::binary().isEmpty())
            QSKIP("redis-server is not installed");
    }

    void disabledByDefault()
    {
        MetricsRegistry registry;
        HttpClient client(&registry, HttpConfig{});
        QVERIFY(!client.sharedCache());
        const SharedCacheStatus s = client.sharedCacheStatus();
        QVERIFY(!s.enabled);
        QCOMPARE(s.state, QStringLiteral("disabled"));
        QVERIFY(!registry.capture()->find(QStringLiteral("redis_up")));
    }

    void unusableUrlLeavesTheTierDown()
    {
        Backend backend;
        RedisConfig redis;
        redis.enabled = true;
        redis.url = QStringLiteral("redis://127.0.0.1:notaport");
        Agent a(redis);
        const SharedCacheStatus s = a.client->sharedCacheStatus();
        QVERIFY(s.enabled);
        QCOMPARE(s.state, QStringLiteral("down"));
        QVERIFY2(s.lastError.contains(QStringLiteral("notaport")), qPrintable(s.lastError));
        const HttpResponse r = fetch(*a.client, backend.url(QStringLiteral("/x")));
        QVERIFY2(r.ok(), qPrintable(r.errorString));
    }

    void configSection()
    {
        qputenv("VEGA_TST_REDIS_PASSWORD", "never-shown");
        ConfigLoadResult r = ConfigLoader::loadText(
            "{\"redis\": {\"enabled\": true, \"url\": \"redis://:${VEGA_TST_REDIS_PASSWORD}@cache:6380/2\",\n"
            " \"key_prefix\": \"app:\", \"lock_ttl_ms\": 3000, \"breaker\": {\"open_base_ms\": 500}}}",
            QStringLiteral("r.json"));
        QVERIFY2(r.findings.isEmpty(), qPrintable(r.findings.value(0).toString()));
        const RedisConfig &c = r.config.http.redis;
        QVERIFY(c.enabled);
        QCOMPARE(c.keyPrefix, QStringLiteral("app:"));
        QCOMPARE(c.lockTtlMs, 3000);
        QCOMPARE(c.breakerOpenBaseMs, 500);
        QCOMPARE(c.commandTimeoutMs, 50); // default
        QVERIFY(!QJsonDocument(ConfigLoader::toJson(r.config)).toJson().contains("never-shown"));

        // A literal password is refused and never echoed.
        r = ConfigLoader::loadText("{\"redis\": {\"url\": \"redis://:hunter2@cache:6379\"}}", QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 1);
        QCOMPARE(r.findings.first().path, QStringLiteral("$.redis.url"));
        QVERIFY(r.findings.first().message.contains(QStringLiteral("password")));
        QVERIFY(!r.findings.first().toString().contains(QStringLiteral("hunter2")));

        r = ConfigLoader::loadText("{\"redis\": {\"url\": \"redis://cache:port\"}}", QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 1);
        QVERIFY2(r.findings.first().message.contains(QStringLiteral("port")), qPrintable(r.findings.first().message));

        r = ConfigLoader::loadText("{\"redis\": {\"wait_poll_ms\": 500, \"lock_ttl_ms\": 100}}", QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 1);
        QVERIFY2(r.findings.first().message.contains(QStringLiteral("wait_poll_ms (500) must not exceed lock_ttl_ms (100)")),
                 qPrintable(r.findings.first().message));

        r = ConfigLoader::loadText("{\"redis\": {\"command_timeout_ms\": 0}}", QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 1);
        QCOMPARE(r.findings.first().path, QStringLiteral("$.redis.command_timeout_ms"));

        r = ConfigLoader::loadText("{\"redis\": {\"lock_tll_ms\": 100}}", QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 1);
        QVERIFY2(r.findings.first().message.contains(QStringLiteral("did you mean \"lock_ttl_ms\"")),
                 qPrintable(r.findings.first().message));

        r = ConfigLoader::loadText("{\"redis\": {\"key_prefix\": \"a {b}\"}}", QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 1);

        qunsetenv("VEGA_TST_REDIS_UNSET");
        r = ConfigLoader::loadText("{\"redis\": {\"enabled\": true, \"url\": \"redis://:${VEGA_TST_REDIS_UNSET}@h:1\"}}",
                                   QStringLiteral("r.json"));
        QCOMPARE(r.errorCount(), 0);
        QCOMPARE(r.findings.size(), 1);
        QCOMPARE(r.findings.first().severity, Severity::Warning);
        QVERIFY(r.findings.first().message.contains(QStringLiteral("VEGA_TST_REDIS_UNSET")));
    }

    void valueRoundTrip()
    {
        CachedResponse c;
        c.status = 203;
        c.headers = {{"Content-Type", "text/plain"}, {"X-A", QByteArray("\0\r\n", 3)}};
        c.body = QByteArray("binary\0body", 11);
        const QByteArray value = SharedCacheTier::encode("GET http://h/x", c);
        CachedResponse back;
        QVERIFY(SharedCacheTier::decode(value, "GET http://h/x", &back));
        QCOMPARE(back.status, 203);
        QCOMPARE(back.headers, c.headers);
        QCOMPARE(back.body, c.body);
        QVERIFY(!SharedCacheTier::decode(value, "GET http://h/y", &back)); // another key: a miss
        QVERIFY(!SharedCacheTier::decode(value.left(value.size() - 3), "GET http://h/x", &back));
        QVERIFY(!SharedCacheTier::decode("garbage", "GET http://h/x", &back));
    }

    void responseFetchedByOneAgentIsAHitForAnother()
    {
        TwoAgents t;
        QVERIFY2(t.started, "redis-server did not start");
        QTRY_VERIFY_WITH_TIMEOUT(t.up(), 10000);

        const QUrl url = t.backend.url(QStringLiteral("/shared?x=1"));
        const HttpResponse first = fetch(*t.a.client, url);
        QVERIFY2(first.ok(), qPrintable(first.errorString));
        QVERIFY(!first.fromCache);
        QTRY_COMPARE_WITH_TIMEOUT(t.a.client->sharedCacheStatus().writes, quint64(1), 10000);

        const HttpResponse second = fetch(*t.b.client, url);
        QVERIFY2(second.ok(), qPrintable(second.errorString));
        QVERIFY(second.fromCache);
        QCOMPARE(second.status, 200);
        QCOMPARE(second.body, first.body);
        QCOMPARE(second.header("X-Origin"), QByteArray("backend"));
        QCOMPARE(t.backend.count("/shared"), 1);
        QCOMPARE(t.b.client->totals().sharedCacheHits, quint64(1));
        QCOMPARE(t.b.client->sharedCacheStatus().hits, quint64(1));
        QCOMPARE(t.a.client->sharedCacheStatus().lockAcquired, quint64(1));

        // B's hit filled its local cache: the next request does not ask Redis.
        const HttpResponse third = fetch(*t.b.client, url);
        QVERIFY(third.fromCache);
        QCOMPARE(t.b.client->totals().cacheHits, quint64(1));
        QCOMPARE(t.b.client->sharedCacheStatus().hits, quint64(1));

        const auto snap = t.b.registry.capture();
        QVERIFY(snap->find(QStringLiteral("redis_hits")));
        QCOMPARE(snap->find(QStringLiteral("redis_hits"))->total, quint64(1));
        QCOMPARE(snap->find(QStringLiteral("redis_up"))->value, 1.0);
        QVERIFY(snap->find(QStringLiteral("redis_commands"), {{QStringLiteral("result"), QStringLiteral("ok")}})
                    ->total >= 1);
    }

    void uncacheableResponsesAreNotShared()
    {
        TwoAgents t;
        QVERIFY2(t.started, "redis-server did not start");
        QTRY_VERIFY_WITH_TIMEOUT(t.up(), 10000);
        const QUrl url = t.backend.url(QStringLiteral("/private/me"));
        QVERIFY(fetch(*t.a.client, url).ok());
        const HttpResponse r = fetch(*t.b.client, url);
        QVERIFY(r.ok());
        QVERIFY(!r.fromCache);
        QCOMPARE(t.backend.count("/private/me"), 2);
        QCOMPARE(t.a.client->sharedCacheStatus().writes, quint64(0));
    }

    void concurrentRequestsOverTwoAgentsReachTheBackendOnce()
    {
        TwoAgents t;
        QVERIFY2(t.started, "redis-server did not start");
        QTRY_VERIFY_WITH_TIMEOUT(t.up(), 10000);

        const QUrl url = t.backend.url(QStringLiteral("/hot"));
        Collector c;
        for (int i = 0; i < 50; ++i) {
            HttpRequest request;
            request.url = url;
            c.track((i % 2 ? t.b.client : t.a.client)->send(request));
        }
        QTRY_COMPARE_WITH_TIMEOUT(c.done(), 50, 20000);
        for (int i = 0; i < 50; ++i) {
            QVERIFY2(c.at(i).ok(), qPrintable(c.at(i).errorString));
            QCOMPARE(c.at(i).body, QByteArray("body of /hot"));
        }
        QCOMPARE(t.backend.count("/hot"), 1);
        const SharedCacheStatus sa = t.a.client->sharedCacheStatus();
        const SharedCacheStatus sb = t.b.client->sharedCacheStatus();
        QCOMPARE(sa.lockAcquired + sb.lockAcquired, quint64(1));
        // The other agent got the value from Redis, by waiting or by a plain hit.
        QCOMPARE(sa.hits + sb.hits, quint64(1));
        // In-process coalescing first: one Redis lookup per agent and key.
        QCOMPARE(t.a.client->totals().leaders, quint64(1));
        QCOMPARE(t.b.client->totals().leaders, quint64(1));
    }

    void waiterIsAnsweredByTheLockHoldersValue()
    {
        TwoAgents t;
        QVERIFY2(t.started, "redis-server did not start");
        QTRY_VERIFY_WITH_TIMEOUT(t.up(), 10000);
        const QUrl url = t.backend.url(QStringLiteral("/locked"));
        const QByteArray key = requestKey("GET", url, {}, {});

        // A takes the fetch lock itself, as its pipeline would.
        QObject context;
        std::optional<SharedLookup> lock;
        QVERIFY(t.a.client->sharedCache()->lookup(key, true, &context, [&lock](const SharedLookup &r) { lock = r; }));
        QTRY_VERIFY_WITH_TIMEOUT(lock.has_value(), 10000);
        QCOMPARE(lock->outcome, SharedLookup::Outcome::LockAcquired);

        // B finds the lock and waits instead of calling the backend.
        Collector c;
        HttpRequest request;
        request.url = url;
        c.track(t.b.client->send(request));
        QTRY_COMPARE_WITH_TIMEOUT(t.b.client->sharedCacheStatus().lockWaits, quint64(1), 10000);
        QTest::qWait(100);
        QCOMPARE(c.done(), 0);

        CachedResponse value;
        value.status = 200;
        value.headers = {{"Content-Type", "text/plain"}};
        value.body = "from the lock holder";
        t.a.client->sharedCache()->store(key, value, 60000, lock->lockToken);
        QTRY_COMPARE_WITH_TIMEOUT(c.done(), 1, 10000);
        QVERIFY(c.at(0).ok());
        QVERIFY(c.at(0).fromCache);
        QCOMPARE(c.at(0).body, QByteArray("from the lock holder"));
        QCOMPARE(t.backend.count("/locked"), 0);
        QCOMPARE(t.b.client->sharedCacheStatus().waitHits, quint64(1));
    }

    void waiterFetchesWhenTheLockEndsWithoutAValue()
    {
        TwoAgents t([](RedisConfig &c) { c.lockTtlMs = 400; });
        QVERIFY2(t.started, "redis-server did not start");
        QTRY_VERIFY_WITH_TIMEOUT(t.up(), 10000);
        QObject context;

        // Released without a value (the holder's response was not cacheable): B fetches.
        const QUrl released = t.backend.url(QStringLiteral("/released"));
        std::optional<SharedLookup> lock;
        QVERIFY(t.a.client->sharedCache()->lookup(requestKey("GET", released, {}, {}), true, &context,
                                                [&lock](const SharedLookup &r) { lock = r; }));
        QTRY_VERIFY_WITH_TIMEOUT(lock.has_value(), 10000);
        QCOMPARE(lock->outcome, SharedLookup::Outcome::LockAcquired);
        Collector c;
        HttpRequest request;
        request.url = released;
        c.track(t.b.client->send(request));
        QTRY_COMPARE_WITH_TIMEOUT(t.b.client->sharedCacheStatus().lockWaits, quint64(1), 10000);
        t.a.client->sharedCache()->release(requestKey("GET", released, {}, {}), lock->lockToken);
        QTRY_COMPARE_WITH_TIMEOUT(c.done(), 1, 10000);
        QVERIFY(c.at(0).ok());
        QVERIFY(!c.at(0).fromCache);
        QCOMPARE(t.backend.count("/released"), 1);

        // Never released (the holder died): the wait ends with the lock's TTL.
        const QUrl abandoned = t.backend.url(QStringLiteral("/abandoned"));
        lock.reset();
        QVERIFY(t.a.client->sharedCache()->lookup(requestKey("GET", abandoned, {}, {}), true, &context,
                                                [&lock](const SharedLookup &r) { lock = r; }));
        QTRY_VERIFY_WITH_TIMEOUT(lock.has_value(), 10000);
        QCOMPARE(lock->outcome, SharedLookup::Outcome::LockAcquired);
        request.url = abandoned;
        c.track(t.b.client->send(request));
        QTRY_COMPARE_WITH_TIMEOUT(c.done(), 2, 10000);
        QVERIFY(c.at(1).ok());
        QCOMPARE(t.backend.count("/abandoned"), 1);
        QCOMPARE(t.b.client->sharedCacheStatus().lockWaits, quint64(2));
    }

    void redisOutageNeverFailsRequestsAndRecovers()
    {
        TwoAgents t;
        QVERIFY2(t.started, "redis-server did not start");
        QTRY_VERIFY_WITH_TIMEOUT(t.up(), 10000);
        QVERIFY(fetch(*t.a.client, t.backend.url(QStringLiteral("/warm"))).ok());

        // Kill Redis while requests are in flight, then keep sending.
        Collector c;
        int sent = 0;
        auto sendBatch = [&](const QString &prefix) {
            for (int i = 0; i < 10; ++i, ++sent) {
                HttpRequest request;
                request.url = t.backend.url(QStringLiteral("/%1/%2").arg(prefix).arg(i));
                c.track((i % 2 ? t.b.client : t.a.client)->send(request));
            }
        };
        sendBatch(QStringLiteral("during"));
        t.server.stop();
        sendBatch(QStringLiteral("after"));
        QTRY_COMPARE_WITH_TIMEOUT(c.done(), sent, 20000);
        for (int i = 0; i < c.size(); ++i)
            QVERIFY2(c.at(i).ok(), qPrintable(c.at(i).errorString));

        QTRY_VERIFY_WITH_TIMEOUT(t.a.client->sharedCacheStatus().state != QStringLiteral("up"), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(t.b.client->sharedCacheStatus().state != QStringLiteral("up"), 10000);
        const SharedCacheStatus down = t.b.client->sharedCacheStatus();
        QVERIFY(down.enabled);
        QVERIFY2(!down.lastError.isEmpty(), "the status says why");
        QVERIFY(down.downSinceMs > 0);
        QCOMPARE(t.b.registry.capture()->find(QStringLiteral("redis_up"))->value, 0.0);

        // With Redis down every request goes straight on, and counts a fallback.
        const quint64 fallbacksBefore = t.a.client->sharedCacheStatus().fallbacks;
        for (int i = 0; i < 5; ++i) {
            const HttpResponse r = fetch(*t.a.client, t.backend.url(QStringLiteral("/down/%1").arg(i)));
            QVERIFY2(r.ok(), qPrintable(r.errorString));
            QVERIFY(!r.fromCache);
        }
        QVERIFY(t.a.client->sharedCacheStatus().fallbacks >= fallbacksBefore + 5);

        // Redis comes back on the same port: both agents use it again by themselves.
        QVERIFY(t.server.start());
        QTRY_COMPARE_WITH_TIMEOUT(t.a.client->sharedCacheStatus().state, QStringLiteral("up"), 15000);
        QTRY_COMPARE_WITH_TIMEOUT(t.b.client->sharedCacheStatus().state, QStringLiteral("up"), 15000);
        int round = 0;
        auto sharedAgain = [&] {
            const QUrl url = t.backend.url(QStringLiteral("/back/%1").arg(++round));
            if (!fetch(*t.a.client, url).ok())
                return false;
            // Give A's write time to land (it is sent after A's answer).
            QElapsedTimer waited;
            waited.start();
            while (waited.elapsed() < 2000 && t.a.client->sharedCacheStatus().writes == 0)
                QTest::qWait(10);
            const HttpResponse r = fetch(*t.b.client, url);
            return r.ok() && r.fromCache;
        };
        QTRY_VERIFY_WITH_TIMEOUT(sharedAgain(), 15000);
        QVERIFY(t.b.client->sharedCacheStatus().hits >= 1);
        QVERIFY(t.b.client->sharedCacheStatus().connects >= 2);
    }

    void slowRedisOpensTheBreakerAndRequestsGoOn()
    {
        RedisServer server;
        QVERIFY(server.start());
        Backend backend;
        RedisConfig config = redisConfig(server);
        config.commandTimeoutMs = 100;
        config.breakerWindow = 4;
        config.breakerMinimumCalls = 2;
        config.breakerOpenBaseMs = 60000; // stays open for the rest of the test
        config.breakerOpenCapMs = 60000;
        Agent a(config);
        QTRY_COMPARE_WITH_TIMEOUT(a.client->sharedCacheStatus().state, QStringLiteral("up"), 10000);
        server.pause();
        for (int i = 0; i < 4; ++i) {
            const HttpResponse r = fetch(*a.client, backend.url(QStringLiteral("/slow/%1").arg(i)));
            QVERIFY2(r.ok(), qPrintable(r.errorString));
        }
        QTRY_VERIFY_WITH_TIMEOUT(a.client->sharedCacheStatus().timeouts >= 2, 10000);
        QTRY_COMPARE_WITH_TIMEOUT(a.client->sharedCacheStatus().breakerState, QStringLiteral("open"), 10000);
        const SharedCacheStatus s = a.client->sharedCacheStatus();
        QVERIFY(s.fallbacks >= 4);
        QCOMPARE(s.breakerState, QStringLiteral("open"));
        QVERIFY(s.state == QStringLiteral("open-breaker") || s.state != QStringLiteral("up"));
        QCOMPARE(a.registry.capture()->find(QStringLiteral("redis_breaker_state"))->value, 1.0);
        server.resume();
    }
};

QTEST_GUILESS_MAIN(TestSharedCache)
#include "tst_sharedcache.moc"
