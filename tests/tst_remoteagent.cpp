// Agents and remote consoles: the admin API's live snapshot stream (WebSocket) and the
// RemoteAgent that follows it, over real sockets on 127.0.0.1, against real engines.
#include "adminapi.h"
#include "agenttestsupport.h"
#include "engine.h"
#include "httpclient.h"
#include "localhttpserver.h"
#include "remoteagent.h"
#include "snapshotstream.h"

#include <QNetworkRequest>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QWebSocket>
#include <QtTest>

#include <memory>

using namespace vega;
using namespace vega::testsupport;
using Agent = vega::testsupport::TestAgent;

namespace {
const QByteArray kKey = vega::testsupport::agentTestKey();
constexpr int kTimeoutMs = 20000;

} // namespace

class TestRemoteAgent : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void parsesAgentAddresses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("name");
        QTest::newRow("host:port") << "10.0.0.5:9000" << "http://10.0.0.5:9000" << "";
        QTest::newRow("host only") << "agent.local" << "http://agent.local:9470" << "";
        QTest::newRow("named") << "web1=http://10.0.0.5:9000" << "http://10.0.0.5:9000" << "web1";
        QTest::newRow("ws") << "ws://h:5/admin/stream" << "http://h:5" << "";
        QTest::newRow("wss") << "wss://h:5" << "https://h:5" << "";
        QTest::newRow("https default port") << "https://h" << "https://h:9470" << "";
    }
    void parsesAgentAddresses()
    {
        QFETCH(QString, text);
        QFETCH(QString, url);
        QFETCH(QString, name);
        QUrl parsed;
        QString parsedName;
        QString error;
        QVERIFY2(parseAgentAddress(text, &parsed, &parsedName, &error), qPrintable(error));
        QCOMPARE(parsed.toString(), url);
        QCOMPARE(parsedName, name);
    }

    void rejectsBadAddresses_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("empty") << "" << "empty";
        QTest::newRow("scheme") << "ftp://h:21" << "ftp";
        QTest::newRow("no host") << "http://:80" << "not a valid address";
        QTest::newRow("port zero") << "h:0" << "port 0";
    }
    void rejectsBadAddresses()
    {
        QFETCH(QString, text);
        QFETCH(QString, mentions);
        QUrl parsed;
        QString error;
        QVERIFY(!parseAgentAddress(text, &parsed, nullptr, &error));
        QVERIFY2(error.contains(mentions), qPrintable(error));
    }

    void streamsSnapshotsWithGrowingSeries()
    {
        Agent agent(QStringLiteral("agent-a"), EngineConfig{}, 200);
        QVERIFY(agent.port != 0);
        RemoteAgent remote(agent.remote());
        QCOMPARE(remote.sourceName(), QStringLiteral("127.0.0.1:%1").arg(agent.port));
        QSignalSpy snapshots(&remote, &SnapshotSource::snapshotAvailable);
        remote.start();
        QTRY_COMPARE_WITH_TIMEOUT(remote.link(), SnapshotSource::Link::Connected, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(snapshots.count() >= 5, kTimeoutMs);
        QCOMPARE(remote.sourceName(), QStringLiteral("agent-a")); // announced in the hello
        const SnapshotPtr got = remote.latest();
        QVERIFY(got && got->metrics);
        QVERIFY(remote.isRemote());
        QCOMPARE(remote.config().metrics.snapshotIntervalMs, 200); // the agent's effective config
        // The agent counts this console as a stream client.
        const MetricSnapshot *clients = got->metrics->find(QStringLiteral("admin_stream_clients"));
        QVERIFY(clients);
        QCOMPARE(clients->value, 1.0);
        // Series keep growing from the per-message points: one per snapshot of the agent.
        const MetricSnapshot *mine = got->metrics->find(QStringLiteral("admin_stream_messages"));
        QVERIFY(mine);
        const int before = mine->seriesFor(SeriesField::Rate).size();
        QVERIFY(before >= 3);
        const quint64 sequence = got->metrics->sequence;
        QTRY_VERIFY_WITH_TIMEOUT(remote.latest()->metrics->sequence >= sequence + 3, kTimeoutMs);
        const MetricSnapshot *later = remote.latest()->metrics->find(QStringLiteral("admin_stream_messages"));
        QVERIFY(later->seriesFor(SeriesField::Rate).size() > before);
        // The series is the agent's: the same points at the same times.
        const SnapshotPtr local = agent.engine->latest();
        const MetricSnapshot *theirs = local->metrics->find(QStringLiteral("admin_stream_messages"));
        const TimeSeries &a = theirs->seriesFor(SeriesField::Rate);
        const TimeSeries &b = later->seriesFor(SeriesField::Rate);
        QVERIFY(b.size() >= 2);
        bool matched = false;
        for (int i = 0; i < a.size(); ++i) {
            if (a.at(i).tMs == b.at(b.size() - 2).tMs) {
                QCOMPARE(a.at(i).value, b.at(b.size() - 2).value);
                matched = true;
            }
        }
        QVERIFY2(matched, "the agent's series has no point at the console's second-newest time");
        QVERIFY(remote.messagesReceived() >= 5);
        QVERIFY(agent.counter(QStringLiteral("admin_stream_bytes")) > 0);
    }

    void wrongKeyIsRefusedWithAReason()
    {
        Agent agent(QStringLiteral("agent-a"), EngineConfig{}, 200);
        RemoteAgent remote(agent.remote(QByteArrayLiteral("not-the-key")));
        remote.start();
        QTRY_VERIFY_WITH_TIMEOUT(remote.linkError().contains(QStringLiteral("invalid API key")), kTimeoutMs);
        QVERIFY(!remote.latest());
        QVERIFY(agent.api->authFailures() >= 1);
        QVERIFY(agent.counter(QStringLiteral("admin_stream_rejected")) >= 1);
        remote.stop();
    }

    void wrongPathIsRefused()
    {
        Agent agent(QStringLiteral("agent-a"), EngineConfig{}, 200);
        QWebSocket socket;
        QNetworkRequest request(QUrl(QStringLiteral("ws://127.0.0.1:%1/admin/other").arg(agent.port)));
        request.setRawHeader("X-API-Key", kKey);
        QSignalSpy connected(&socket, &QWebSocket::connected);
        QSignalSpy closed(&socket, &QWebSocket::disconnected);
        socket.open(request);
        QVERIFY(closed.wait(kTimeoutMs));
        QCOMPARE(connected.count(), 0); // only the stream's path upgrades
    }

    void actionsReachTheAgent()
    {
        LocalHttpServerThread backend(
            [](const HttpServerRequest &) { return HttpServerResponse::make(200, "ok", "text/plain"); });
        QVERIFY(backend.isListening());
        Agent agent(QStringLiteral("agent-a"), EngineConfig{}, 200);
        HttpRequest request;
        request.url = backend.baseUrl();
        request.url.setPath(QStringLiteral("/x"));
        bool fetched = false;
        connect(agent.engine->http()->send(request), &HttpCall::finished, this, [&fetched] { fetched = true; });
        QTRY_VERIFY_WITH_TIMEOUT(fetched, kTimeoutMs);

        RemoteAgent remote(agent.remote());
        remote.start();
        QTRY_VERIFY_WITH_TIMEOUT(remote.latest() != nullptr, kTimeoutMs);

        // Reset stats.
        const int resets = agent.engine->latest()->metrics->resetCount;
        std::optional<ActionResult> reset;
        remote.resetStats(QStringLiteral("operator"), [&reset](const ActionResult &r) { reset = r; });
        QTRY_VERIFY_WITH_TIMEOUT(reset.has_value(), kTimeoutMs);
        QVERIFY2(reset->ok, qPrintable(reset->message));
        QCOMPARE(agent.engine->latest()->metrics->resetCount, resets + 1);
        QTRY_COMPARE_WITH_TIMEOUT(remote.latest()->metrics->resetCount, resets + 1, kTimeoutMs);

        // A breaker whose name holds ':' travels as one path segment.
        const QString name = QStringLiteral("127.0.0.1:%1").arg(backend.port());
        std::optional<ActionResult> forced;
        remote.commandBreaker(name, BreakerCommand::ForceOpen, [&forced](const ActionResult &r) { forced = r; });
        QTRY_VERIFY_WITH_TIMEOUT(forced.has_value(), kTimeoutMs);
        QVERIFY2(forced->ok, qPrintable(forced->message));
        auto stateOnAgent = [&] {
            for (const BreakerInfo &b : agent.engine->http()->summary().breakers) {
                if (b.name == name)
                    return b.state;
            }
            return QString();
        };
        QCOMPARE(stateOnAgent(), QStringLiteral("forced_open"));
        auto stateSeen = [&] {
            for (const BreakerInfo &b : remote.latest()->http.breakers) {
                if (b.name == name)
                    return b.state;
            }
            return QString();
        };
        QTRY_COMPARE_WITH_TIMEOUT(stateSeen(), QStringLiteral("forced_open"), kTimeoutMs);

        std::optional<ActionResult> unknown;
        remote.commandBreaker(QStringLiteral("no such breaker"), BreakerCommand::Reset,
                              [&unknown](const ActionResult &r) { unknown = r; });
        QTRY_VERIFY_WITH_TIMEOUT(unknown.has_value(), kTimeoutMs);
        QVERIFY(!unknown->ok);
        QVERIFY2(unknown->message.contains(QStringLiteral("404")) &&
                     unknown->message.contains(QStringLiteral("no such breaker")),
                 qPrintable(unknown->message));

        // Validation: the outcome arrives with a later snapshot.
        QSignalSpy validated(&remote, &SnapshotSource::validationFinished);
        std::optional<ActionResult> validation;
        remote.validateConfig(QStringLiteral("operator"), [&validation](const ActionResult &r) { validation = r; });
        QVERIFY(remote.isValidating());
        QTRY_VERIFY_WITH_TIMEOUT(validation.has_value(), kTimeoutMs);
        QVERIFY2(validation->ok, qPrintable(validation->message));
        QTRY_VERIFY_WITH_TIMEOUT(validated.count() >= 1, kTimeoutMs);
        QVERIFY(!remote.isValidating());
        QVERIFY(remote.lastValidation());

        // No integrations on this agent: the check says so.
        std::optional<ActionResult> check;
        remote.checkIntegrations({}, [&check](const ActionResult &r) { check = r; });
        QTRY_VERIFY_WITH_TIMEOUT(check.has_value(), kTimeoutMs);
        QVERIFY(!check->ok);
        QVERIFY2(check->message.contains(QStringLiteral("integration")), qPrintable(check->message));
    }

    void lostAgentKeepsLastSnapshotAndReconnects()
    {
        auto agent = std::make_unique<Agent>(QStringLiteral("agent-a"), EngineConfig{}, 200);
        const quint16 port = agent->port;
        RemoteAgent remote(agent->remote());
        QSignalSpy links(&remote, &SnapshotSource::linkChanged);
        remote.start();
        QTRY_VERIFY_WITH_TIMEOUT(remote.latest() != nullptr, kTimeoutMs);
        const quint64 lastSequence = remote.latest()->metrics->sequence;

        agent->api->stop(); // the agent goes away
        QTRY_COMPARE_WITH_TIMEOUT(remote.link(), SnapshotSource::Link::Lost, kTimeoutMs);
        QVERIFY(!remote.linkError().isEmpty());
        QVERIFY(remote.latest()); // the last snapshot stays on screen
        QVERIFY(remote.latest()->metrics->sequence >= lastSequence);
        // It keeps trying, with backoff (the agent refuses connections meanwhile).
        QTRY_VERIFY_WITH_TIMEOUT(remote.reconnects() >= 2, kTimeoutMs);

        QVERIFY(agent->startApi(QStringLiteral("agent-a"), port)); // back on the same port
        QTRY_COMPARE_WITH_TIMEOUT(remote.link(), SnapshotSource::Link::Connected, kTimeoutMs);
        const quint64 received = remote.messagesReceived();
        QTRY_VERIFY_WITH_TIMEOUT(remote.messagesReceived() > received + 2, kTimeoutMs);
        QVERIFY(remote.latest()->metrics->sequence > lastSequence);
        remote.stop();
        QCOMPARE(remote.link(), SnapshotSource::Link::Lost);
    }

    void slowConsoleDoesNotGrowTheAgent()
    {
        // A console that never reads: the agent skips it instead of queueing without bound.
        Agent agent(QStringLiteral("agent-a"), EngineConfig{}, 50);
        AdminApiOptions options;
        options.streamMaxQueuedBytes = 64 * 1024;
        QVERIFY(agent.startApi(QStringLiteral("agent-a"), 0, options));
        // A hand-made upgrade, then no reading at all: the kernel's buffers fill, then the agent's.
        QTcpSocket socket;
        socket.setReadBufferSize(1);
        socket.connectToHost(QHostAddress::LocalHost, agent.api->port());
        QVERIFY(socket.waitForConnected(kTimeoutMs));
        socket.write("GET /admin/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nX-API-Key: " + kKey + "\r\n\r\n");
        QVERIFY(socket.waitForBytesWritten(kTimeoutMs));
        auto skipped = [&agent]() -> quint64 {
            const MetricSnapshot *m = agent.engine->publishNow()->metrics->find(QStringLiteral("admin_stream_skipped"));
            return m ? m->total : 0;
        };
        QTRY_VERIFY_WITH_TIMEOUT(skipped() > 0, 90000);
        // The agent holds at most the limit plus one message for it; the kernel holds the rest.
        QVERIFY(agent.counter(QStringLiteral("admin_stream_messages")) > 0);
    }
};

QTEST_GUILESS_MAIN(TestRemoteAgent)
#include "tst_remoteagent.moc"
