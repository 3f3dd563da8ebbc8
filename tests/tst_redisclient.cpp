#include "redisclient.h"
#include "redistestsupport.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>
#include <optional>

using namespace vega;
using namespace vega::testsupport;

namespace {


/// The result of one command, filled by its callback.
struct Result {
    bool done = false;
    RedisReply reply;
    RedisError error;
};

std::shared_ptr<Result> send(RedisClient &client, const QList<QByteArray> &args, int timeoutMs = 0)
{
    auto result = std::make_shared<Result>();
    client.command(
        args,
        [result](const RedisReply &reply, const RedisError &error) {
            result->done = true;
            result->reply = reply;
            result->error = error;
        },
        timeoutMs);
    return result;
}

RedisClientOptions testOptions()
{
    RedisClientOptions o;
    o.connectTimeoutMs = 2000;
    o.commandTimeoutMs = 3000; // generous: a loaded machine must not fail ordinary commands
    o.reconnectBaseMs = 50;
    o.reconnectCapMs = 300;
    return o;
}

} // namespace

class TestRedisClient : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (RedisServer::binary().isEmpty())
            QSKIP("redis-server is not installed");
    }

    void parseUrl_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<int>("db");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("password");
        QTest::addColumn<QString>("error");
        const QString none;
        QTest::newRow("plain") << "redis://127.0.0.1:6380" << true << "127.0.0.1" << 6380 << 0 << none << none << none;
        QTest::newRow("default port") << "redis://cache.internal" << true << "cache.internal" << 6379 << 0 << none
                                      << none << none;
        QTest::newRow("db") << "redis://h:1/3" << true << "h" << 1 << 3 << none << none << none;
        QTest::newRow("password") << "redis://:s%40cret@h:2" << true << "h" << 2 << 0 << none << "s@cret" << none;
        QTest::newRow("user and password") << "redis://app:pw@h" << true << "h" << 6379 << 0 << "app" << "pw" << none;
        QTest::newRow("env password") << "redis://:${VEGA_TST_REDIS_PW}@h:2/1" << true << "h" << 2 << 1 << none
                                      << "from-env" << none;
        QTest::newRow("ipv6") << "redis://[::1]:7000" << true << "::1" << 7000 << 0 << none << none << none;
        QTest::newRow("unset env") << "redis://:${VEGA_TST_REDIS_UNSET}@h" << false << none << 0 << 0 << none << none
                                   << "VEGA_TST_REDIS_UNSET";
        QTest::newRow("tls") << "rediss://h:6379" << false << none << 0 << 0 << none << none << "TLS";
        QTest::newRow("http") << "http://h:6379" << false << none << 0 << 0 << none << none << "redis://";
        QTest::newRow("port") << "redis://h:99999" << false << none << 0 << 0 << none << none << "99999";
        QTest::newRow("port text") << "redis://h:abc" << false << none << 0 << 0 << none << none << "abc";
        QTest::newRow("db text") << "redis://h:1/zero" << false << none << 0 << 0 << none << none << "zero";
        QTest::newRow("no host") << "redis://:6379" << false << none << 0 << 0 << none << none << "no host";
        QTest::newRow("bad host") << "redis://h st:1" << false << none << 0 << 0 << none << none << "host";
        QTest::newRow("bad reference") << "redis://:${1X}@h" << false << none << 0 << 0 << none << none
                                       << "environment reference";
    }

    void parseUrl()
    {
        QFETCH(QString, url);
        QFETCH(bool, ok);
        qputenv("VEGA_TST_REDIS_PW", "from-env");
        qunsetenv("VEGA_TST_REDIS_UNSET");
        RedisEndpoint e;
        QString message;
        QCOMPARE(parseRedisUrl(url, &e, &message), ok);
        if (!ok) {
            QFETCH(QString, error);
            QVERIFY2(message.contains(QStringLiteral("invalid Redis URL")) && message.contains(error),
                     qPrintable(message));
            return;
        }
        QFETCH(QString, host);
        QFETCH(int, port);
        QFETCH(int, db);
        QFETCH(QString, user);
        QFETCH(QString, password);
        QCOMPARE(e.host, host);
        QCOMPARE(e.port, port);
        QCOMPARE(e.db, db);
        QCOMPARE(e.user, user);
        QCOMPARE(e.password, password);
        QVERIFY(!e.display().contains(QStringLiteral("pw")) && !e.display().contains(QStringLiteral("s@cret")) &&
                !e.display().contains(QStringLiteral("from-env")));
        QVERIFY(e.display().startsWith(QStringLiteral("redis://")));
    }

    void commandsAndReplies()
    {
        RedisServer server;
        QVERIFY(server.start());
        RedisClient client(server.endpoint(), testOptions());
        QSignalSpy states(&client, &RedisClient::stateChanged);
        client.start();
        QCOMPARE(client.state(), RedisClient::State::Connecting);
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        // stateChanged is queued (never emitted from inside a hiredis callback): the Up signal
        // arrives after state() already says Up, and after the queued Connecting one.
        QTRY_VERIFY_WITH_TIMEOUT(!states.isEmpty() &&
                                     states.last().at(0).value<RedisClient::State>() == RedisClient::State::Up,
                                 5000);

        const QByteArray binary("a\0b\r\nc", 6);
        auto set = send(client, {"SET", "k", binary});
        QVERIFY(!set->done); // never from inside command()
        auto get = send(client, {"GET", "k"});
        auto incr = send(client, {"INCR", "n"});
        auto missing = send(client, {"GET", "missing"});
        auto list = send(client, {"RPUSH", "l", "x", "y"});
        auto range = send(client, {"LRANGE", "l", "0", "-1"});
        auto wrongType = send(client, {"INCR", "l"});
        QTRY_VERIFY_WITH_TIMEOUT(wrongType->done, 10000);
        QVERIFY(set->done && get->done && incr->done && missing->done && list->done && range->done);
        QVERIFY(!set->error.isError());
        QCOMPARE(set->reply.type, RedisReply::Type::Status);
        QCOMPARE(set->reply.string, QByteArray("OK"));
        QCOMPARE(get->reply.type, RedisReply::Type::String);
        QCOMPARE(get->reply.string, binary);
        QCOMPARE(incr->reply.type, RedisReply::Type::Integer);
        QCOMPARE(incr->reply.integer, 1);
        QVERIFY(missing->reply.isNil());
        QCOMPARE(list->reply.integer, 2);
        QCOMPARE(range->reply.type, RedisReply::Type::Array);
        QCOMPARE(range->reply.elements.size(), 2);
        QCOMPARE(range->reply.elements.at(1).string, QByteArray("y"));
        QVERIFY(!wrongType->error.isError()); // the server answered...
        QVERIFY(wrongType->reply.isError());  // ...with an error reply
        QVERIFY(wrongType->reply.string.startsWith("WRONGTYPE"));
        QCOMPARE(client.pendingCommands(), 0);
        QCOMPARE(client.connects(), quint64(1));
    }

    void notConnectedFailsWithoutBlocking()
    {
        RedisEndpoint nowhere;
        nowhere.host = QStringLiteral("127.0.0.1");
        nowhere.port = freePort(); // nothing listens there
        RedisClient client(nowhere, testOptions());
        client.start();
        auto r = send(client, {"PING"});
        QVERIFY(!r->done);
        QTRY_VERIFY_WITH_TIMEOUT(r->done, 5000);
        QCOMPARE(r->error.kind, RedisError::Kind::NotConnected);
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Down, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(!client.lastError().isEmpty(), 5000);
        QVERIFY2(client.lastError().contains(QString::number(nowhere.port)), qPrintable(client.lastError()));
        // It keeps trying by itself (Down -> Connecting -> Down ...).
        QSignalSpy states(&client, &RedisClient::stateChanged);
        QTRY_VERIFY_WITH_TIMEOUT(states.count() >= 2, 5000);
    }

    void commandTimesOutOnPausedServer()
    {
        RedisServer server;
        QVERIFY(server.start());
        RedisClientOptions o = testOptions();
        o.timeoutsBeforeReconnect = 0; // this test is about the command timeout alone
        RedisClient client(server.endpoint(), o);
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);

        server.pause();
        QElapsedTimer t;
        t.start();
        auto r = send(client, {"PING"}, 200);
        QTRY_VERIFY_WITH_TIMEOUT(r->done, 10000);
        QCOMPARE(r->error.kind, RedisError::Kind::Timeout);
        QVERIFY2(r->error.message.contains(QStringLiteral("200 ms")), qPrintable(r->error.message));
        QVERIFY2(t.elapsed() >= 190, qPrintable(QString::number(t.elapsed())));
        QCOMPARE(client.pendingCommands(), 0);

        // The late reply to the timed-out command is ignored; new commands work again.
        server.resume();
        auto after = send(client, {"PING"});
        QTRY_VERIFY_WITH_TIMEOUT(after->done, 10000);
        QVERIFY2(!after->error.isError(), qPrintable(after->error.message));
        QCOMPARE(after->reply.string, QByteArray("PONG"));
        QCOMPARE(client.state(), RedisClient::State::Up);
    }

    void wedgedConnectionIsReplaced()
    {
        RedisServer server;
        QVERIFY(server.start());
        RedisClientOptions o = testOptions();
        o.timeoutsBeforeReconnect = 3;
        RedisClient client(server.endpoint(), o);
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        server.pause();
        QList<std::shared_ptr<Result>> results;
        for (int i = 0; i < 3; ++i)
            results.append(send(client, {"PING"}, 100));
        QTRY_VERIFY_WITH_TIMEOUT(client.state() != RedisClient::State::Up, 10000);
        for (const auto &r : std::as_const(results)) {
            QVERIFY(r->done);
            QCOMPARE(r->error.kind, RedisError::Kind::Timeout);
        }
        server.resume();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        QCOMPARE(client.connects(), quint64(2));
    }

    void connectTimesOutOnPausedServer()
    {
        RedisServer server;
        QVERIFY(server.start());
        server.pause(); // the kernel still accepts the TCP connection; nothing answers PING
        RedisClientOptions o = testOptions();
        o.connectTimeoutMs = 300;
        RedisClient client(server.endpoint(), o);
        client.start();
        QTRY_VERIFY_WITH_TIMEOUT(client.lastError().contains(QStringLiteral("within 300 ms")), 10000);
        QVERIFY(client.state() != RedisClient::State::Up);
        server.resume();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        QVERIFY(client.lastError().isEmpty());
    }

    void reconnectsAfterServerRestart()
    {
        RedisServer server;
        QVERIFY(server.start());
        RedisClient client(server.endpoint(), testOptions());
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        auto before = send(client, {"SET", "x", "1"});
        QTRY_VERIFY_WITH_TIMEOUT(before->done, 10000);

        server.stop();
        QTRY_VERIFY_WITH_TIMEOUT(client.state() != RedisClient::State::Up, 10000);
        QVERIFY(client.lastError().contains(QStringLiteral("lost")) ||
                client.lastError().contains(QStringLiteral("connect")));
        auto during = send(client, {"PING"});
        QTRY_VERIFY_WITH_TIMEOUT(during->done, 5000);
        QVERIFY(during->error.isError());

        QVERIFY(server.start()); // same port
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        auto after = send(client, {"GET", "x"});
        QTRY_VERIFY_WITH_TIMEOUT(after->done, 10000);
        QVERIFY2(!after->error.isError(), qPrintable(after->error.message));
        QVERIFY(after->reply.isNil()); // a fresh server (no persistence)
        QCOMPARE(client.connects(), quint64(2));
    }

    void authAndSelectDatabase()
    {
        RedisServer server;
        QVERIFY(server.start());
        {
            RedisClient admin(server.endpoint(), testOptions());
            admin.start();
            QTRY_COMPARE_WITH_TIMEOUT(admin.state(), RedisClient::State::Up, 10000);
            auto set = send(admin, {"CONFIG", "SET", "requirepass", "tst-secret"});
            QTRY_VERIFY_WITH_TIMEOUT(set->done, 10000);
            QVERIFY(!set->reply.isError());
        }
        RedisEndpoint wrong = server.endpoint();
        wrong.password = QStringLiteral("not-it");
        RedisClient denied(wrong, testOptions());
        denied.start();
        QTRY_VERIFY_WITH_TIMEOUT(denied.lastError().contains(QStringLiteral("AUTH")), 10000);
        QVERIFY(!denied.lastError().contains(QStringLiteral("not-it")));

        qputenv("VEGA_TST_REDIS_SECRET", "tst-secret");
        RedisEndpoint e;
        QString error;
        QVERIFY2(parseRedisUrl(QStringLiteral("redis://:${VEGA_TST_REDIS_SECRET}@127.0.0.1:%1/2").arg(server.port()),
                               &e, &error),
                 qPrintable(error));
        RedisClient client(e, testOptions());
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
        auto db = send(client, {"CLIENT", "INFO"});
        QTRY_VERIFY_WITH_TIMEOUT(db->done, 10000);
        QVERIFY2(db->reply.string.contains(" db=2 "), db->reply.string.constData());
    }

    void hostNameIsResolvedAsynchronously()
    {
        RedisServer server;
        QVERIFY(server.start());
        RedisEndpoint e = server.endpoint();
        e.host = QStringLiteral("localhost");
        RedisClient client(e, testOptions());
        client.start();
        QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
    }

    void callbackMayDeleteTheClient()
    {
        RedisServer server;
        QVERIFY(server.start());
        auto *client = new RedisClient(server.endpoint(), testOptions());
        QPointer<RedisClient> guard(client);
        client->start();
        QTRY_COMPARE_WITH_TIMEOUT(client->state(), RedisClient::State::Up, 10000);
        int calls = 0;
        for (int i = 0; i < 3; ++i)
            client->command({"PING"}, [&calls, client](const RedisReply &, const RedisError &) {
                ++calls;
                delete client; // later callbacks are dropped
            });
        QTRY_VERIFY_WITH_TIMEOUT(guard.isNull(), 10000);
        QTest::qWait(50);
        QCOMPARE(calls, 1);
    }

    void destroyingWithCommandsInFlightIsSilent()
    {
        RedisServer server;
        QVERIFY(server.start());
        int calls = 0;
        {
            RedisClient client(server.endpoint(), testOptions());
            client.start();
            QTRY_COMPARE_WITH_TIMEOUT(client.state(), RedisClient::State::Up, 10000);
            server.pause();
            for (int i = 0; i < 10; ++i)
                client.command({"PING"}, [&calls](const RedisReply &, const RedisError &) { ++calls; });
        }
        server.resume();
        QTest::qWait(50);
        QCOMPARE(calls, 0);
    }
};

QTEST_GUILESS_MAIN(TestRedisClient)
#include "tst_redisclient.moc"
