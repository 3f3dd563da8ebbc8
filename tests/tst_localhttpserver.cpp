#include "localhttpserver.h"

#include <QElapsedTimer>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QtTest>

#include <atomic>
#include <memory>

using namespace vega;

namespace {

// Keeps embedded NULs, unlike the const char * constructor.
template <qsizetype N> QByteArray bytes(const char (&s)[N])
{
    return QByteArray(s, N - 1);
}

HttpServerResponse text(const QByteArray &body)
{
    return HttpServerResponse::make(200, body, "text/plain");
}

/// A plain socket for what QNetworkAccessManager will not send: pipelining, garbage, floods.
class RawClient {
public:
    explicit RawClient(quint16 port)
    {
        QObject::connect(&m_socket, &QTcpSocket::readyRead, &m_socket,
                         [this] { m_buffer += m_socket.readAll(); });
        m_socket.connectToHost(QHostAddress::LocalHost, port);
    }
    bool waitConnected()
    {
        return QTest::qWaitFor([this] { return m_socket.state() == QAbstractSocket::ConnectedState; }, 5000);
    }
    void send(const QByteArray &data) { m_socket.write(data); }
    bool waitForData(const QByteArray &needle, int ms = 5000)
    {
        return QTest::qWaitFor([&] { return m_buffer.contains(needle); }, ms);
    }
    bool waitClosed(int ms = 5000)
    {
        return QTest::qWaitFor([this] { return m_socket.state() == QAbstractSocket::UnconnectedState; }, ms);
    }
    const QByteArray &received() const { return m_buffer; }
    QTcpSocket &socket() { return m_socket; }

private:
    QTcpSocket m_socket;
    QByteArray m_buffer;
};

struct RawResponse {
    int status = 0;
    QByteArray head;
    QByteArray body;
};

// Splits Content-Length framed responses off the front of @p data.
QList<RawResponse> parseResponses(QByteArray data)
{
    QList<RawResponse> out;
    for (;;) {
        const qsizetype end = data.indexOf("\r\n\r\n");
        if (end < 0)
            break;
        RawResponse r;
        r.head = data.left(end);
        r.status = r.head.mid(9, 3).toInt();
        qint64 length = 0;
        const QList<QByteArray> lines = r.head.split('\n');
        for (const QByteArray &line : lines) {
            if (line.toLower().startsWith("content-length:"))
                length = line.mid(15).trimmed().toLongLong();
        }
        if (data.size() < end + 4 + length)
            break;
        r.body = data.mid(end + 4, length);
        data.remove(0, end + 4 + length);
        out.append(r);
    }
    return out;
}

} // namespace

class TestLocalHttpServer : public QObject {
    Q_OBJECT

private:
    QNetworkReply *get(QNetworkAccessManager &nam, const QUrl &url, int transferTimeoutMs = 0)
    {
        QNetworkRequest request(url);
        if (transferTimeoutMs > 0)
            request.setTransferTimeout(transferTimeoutMs);
        return nam.get(request);
    }
    static bool waitFinished(QNetworkReply *reply, int ms = 5000)
    {
        return QTest::qWaitFor([reply] { return reply->isFinished(); }, ms);
    }
    static QUrl url(const LocalHttpServer &server, const QString &path)
    {
        return server.baseUrl().resolved(QUrl(path));
    }

private Q_SLOTS:
    void initTestCase() { QNetworkProxy::setApplicationProxy(QNetworkProxy::NoProxy); }

    void listensOnFreePort()
    {
        LocalHttpServer server;
        QVERIFY(!server.isListening());
        QVERIFY(server.listen());
        QVERIFY(server.port() != 0);
        QCOMPARE(server.baseUrl(), QUrl(QStringLiteral("http://127.0.0.1:%1").arg(server.port())));
        server.close();
        QVERIFY(!server.isListening());
        QVERIFY(server.baseUrl().isEmpty());
    }

    void keepAliveReusesConnection()
    {
        LocalHttpServer server;
        QList<QPair<quint64, int>> seen;
        server.setHandler([&](const HttpServerRequest &r) {
            seen.append({r.connectionId, r.requestOnConnection});
            return text(r.path);
        });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        std::unique_ptr<QNetworkReply> a(get(nam, url(server, QStringLiteral("/a"))));
        QVERIFY(waitFinished(a.get()));
        QCOMPARE(a->error(), QNetworkReply::NoError);
        QCOMPARE(a->readAll(), QByteArray("/a"));
        QCOMPARE(a->rawHeader("Server"), QByteArray("vega-local"));
        QVERIFY(!a->rawHeader("Date").isEmpty());
        std::unique_ptr<QNetworkReply> b(get(nam, url(server, QStringLiteral("/b?x=1"))));
        QVERIFY(waitFinished(b.get()));
        QCOMPARE(b->readAll(), QByteArray("/b"));

        QCOMPARE(server.connectionsAccepted(), quint64(1));
        QCOMPARE(server.requestsServed(), quint64(2));
        QCOMPARE(server.openConnections(), quint64(1));
        QCOMPARE(seen.size(), 2);
        QCOMPARE(seen.at(0).first, seen.at(1).first);
        QCOMPARE(seen.at(0).second, 1);
        QCOMPARE(seen.at(1).second, 2);
    }

    void requestFieldsAndSignal()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) { return text(r.body); });
        QSignalSpy spy(&server, &LocalHttpServer::requestReceived);
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        QNetworkRequest request(url(server, QStringLiteral("/api/x?a=1&b=%20")));
        request.setRawHeader("X-Test", "value");
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("text/plain"));
        std::unique_ptr<QNetworkReply> reply(nam.post(request, QByteArray("payload")));
        QVERIFY(waitFinished(reply.get()));
        QCOMPARE(reply->readAll(), QByteArray("payload"));
        QCOMPARE(spy.size(), 1);
        const auto r = spy.first().first().value<HttpServerRequest>();
        QCOMPARE(r.method, QByteArray("POST"));
        QCOMPARE(r.target, QByteArray("/api/x?a=1&b=%20"));
        QCOMPARE(r.path, QByteArray("/api/x"));
        QCOMPARE(r.query, QByteArray("a=1&b=%20"));
        QCOMPARE(r.header("x-test"), QByteArray("value"));
        QCOMPARE(r.header("X-TEST"), QByteArray("value"));
        QVERIFY(r.header("missing").isEmpty());
        QCOMPARE(r.body, QByteArray("payload"));
        QCOMPARE(r.version, QByteArray("HTTP/1.1"));
    }

    void closeConnectionForcesNewConnection()
    {
        LocalHttpServer server;
        QList<int> onConnection;
        server.setHandler([&](const HttpServerRequest &r) {
            onConnection.append(r.requestOnConnection);
            HttpServerResponse response = text("x");
            response.closeConnection = r.path == "/close";
            return response;
        });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        std::unique_ptr<QNetworkReply> a(get(nam, url(server, QStringLiteral("/close"))));
        QVERIFY(waitFinished(a.get()));
        QCOMPARE(a->error(), QNetworkReply::NoError);
        QCOMPARE(a->rawHeader("Connection").toLower(), QByteArray("close"));
        std::unique_ptr<QNetworkReply> b(get(nam, url(server, QStringLiteral("/next"))));
        QVERIFY(waitFinished(b.get()));
        QCOMPARE(b->error(), QNetworkReply::NoError);
        QCOMPARE(server.connectionsAccepted(), quint64(2));
        QCOMPARE(onConnection, QList<int>({1, 1}));
        QTRY_COMPARE(server.openConnections(), quint64(1));
    }

    void maxRequestsPerConnection()
    {
        LocalHttpServer server;
        server.setMaxRequestsPerConnection(2);
        server.setHandler([](const HttpServerRequest &) { return text("x"); });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        for (int i = 0; i < 3; ++i) {
            std::unique_ptr<QNetworkReply> reply(get(nam, url(server, QStringLiteral("/"))));
            QVERIFY(waitFinished(reply.get()));
            QCOMPARE(reply->error(), QNetworkReply::NoError);
            QCOMPARE(reply->rawHeader("Connection").toLower() == "close", i == 1);
        }
        QCOMPARE(server.connectionsAccepted(), quint64(2));
    }

    void delayDoesNotBlockOtherConnections()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) {
            HttpServerResponse response = text(r.path);
            if (r.path == "/slow")
                response.delayMs = 400;
            return response;
        });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        QElapsedTimer timer;
        timer.start();
        std::unique_ptr<QNetworkReply> slow(get(nam, url(server, QStringLiteral("/slow"))));
        QVERIFY(QTest::qWaitFor([&] { return server.requestsServed() == 1; }, 5000));
        std::unique_ptr<QNetworkReply> fast(get(nam, url(server, QStringLiteral("/fast"))));
        QVERIFY(waitFinished(fast.get()));
        QVERIFY(!slow->isFinished());
        QVERIFY(timer.elapsed() < 400);
        QVERIFY(waitFinished(slow.get()));
        QVERIFY(timer.elapsed() >= 390);
        QCOMPARE(slow->readAll(), QByteArray("/slow"));
        QCOMPARE(fast->readAll(), QByteArray("/fast"));
        QCOMPARE(server.connectionsAccepted(), quint64(2));
    }

    void faultsGiveClientErrors_data()
    {
        QTest::addColumn<HttpServerResponse::Fault>("fault");
        QTest::newRow("reset before response") << HttpServerResponse::Fault::ResetBeforeResponse;
        QTest::newRow("reset mid body") << HttpServerResponse::Fault::ResetMidBody;
        QTest::newRow("close mid body") << HttpServerResponse::Fault::CloseMidBody;
    }
    void faultsGiveClientErrors()
    {
        QFETCH(HttpServerResponse::Fault, fault);
        LocalHttpServer server;
        server.setHandler([fault](const HttpServerRequest &) {
            HttpServerResponse response = text(QByteArray(20000, 'x'));
            response.fault = fault;
            return response;
        });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        std::unique_ptr<QNetworkReply> reply(get(nam, url(server, QStringLiteral("/"))));
        QVERIFY(waitFinished(reply.get()));
        QVERIFY2(reply->error() != QNetworkReply::NoError, qPrintable(reply->errorString()));
        QVERIFY(reply->readAll().size() < 20000);
        QTRY_COMPARE(server.openConnections(), quint64(0));
    }

    void resetMidBodySendsHeadersAndHalfTheBody()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse response = text("0123456789");
            response.fault = HttpServerResponse::Fault::ResetMidBody;
            return response;
        });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(client.waitClosed());
        QVERIFY(client.received().startsWith("HTTP/1.1 200 OK\r\n"));
        QVERIFY(client.received().contains("Content-Length: 10\r\n"));
        QVERIFY(client.received().endsWith("\r\n\r\n01234"));
        QCOMPARE(client.socket().error(), QAbstractSocket::RemoteHostClosedError);
    }

    void noResponseLetsClientTimeOut()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse response;
            response.fault = HttpServerResponse::Fault::NoResponse;
            return response;
        });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        QElapsedTimer timer;
        timer.start();
        std::unique_ptr<QNetworkReply> reply(get(nam, url(server, QStringLiteral("/")), 300));
        QVERIFY(waitFinished(reply.get()));
        QVERIFY(reply->error() != QNetworkReply::NoError);
        QVERIFY(timer.elapsed() >= 250);
        QVERIFY(timer.elapsed() < 4000);
        QCOMPARE(server.requestsServed(), quint64(1));
        QTRY_COMPARE(server.openConnections(), quint64(0));
    }

    void headHasNoBody()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) { return text("hello"); });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        std::unique_ptr<QNetworkReply> reply(nam.head(QNetworkRequest(url(server, QStringLiteral("/")))));
        QVERIFY(waitFinished(reply.get()));
        QCOMPARE(reply->error(), QNetworkReply::NoError);
        QCOMPARE(reply->rawHeader("Content-Length"), QByteArray("5"));
        QVERIFY(reply->readAll().isEmpty());

        // The framing stays right: a GET after a HEAD on the same socket reads the body.
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(client.waitForData("hello"));
        QVERIFY(client.received().endsWith("\r\n\r\nhello"));
        QCOMPARE(client.received().count("HTTP/1.1 200 OK"), 2);
    }

    void chunkedStreamingArrivesInPieces()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse response;
            response.headers.append(
                {QByteArrayLiteral("Content-Type"), QByteArrayLiteral("text/event-stream")});
            response.chunks = {"data: one\n\n", "data: two\n\n", "", "data: three\n\n"};
            response.chunkIntervalMs = 120;
            return response;
        });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        QElapsedTimer timer;
        timer.start();
        std::unique_ptr<QNetworkReply> reply(get(nam, url(server, QStringLiteral("/stream"))));
        QByteArray body;
        QList<qint64> arrivals;
        connect(reply.get(), &QNetworkReply::readyRead, this, [&] {
            body += reply->readAll();
            arrivals.append(timer.elapsed());
        });
        QVERIFY(waitFinished(reply.get()));
        body += reply->readAll();
        QCOMPARE(reply->error(), QNetworkReply::NoError);
        QCOMPARE(reply->rawHeader("Transfer-Encoding").toLower(), QByteArray("chunked"));
        QCOMPARE(body, QByteArray("data: one\n\ndata: two\n\ndata: three\n\n"));
        QVERIFY2(arrivals.size() >= 3, qPrintable(QString::number(arrivals.size())));
        QVERIFY(arrivals.last() - arrivals.first() >= 300);

        // A keep-alive connection carries on after a stream.
        std::unique_ptr<QNetworkReply> again(get(nam, url(server, QStringLiteral("/stream"))));
        QVERIFY(waitFinished(again.get()));
        QCOMPARE(again->error(), QNetworkReply::NoError);
        QCOMPARE(server.connectionsAccepted(), quint64(1));
    }

    void rejectsMalformedRequests_data()
    {
        QTest::addColumn<QByteArray>("request");
        QTest::addColumn<int>("status");
        QTest::newRow("garbage") << QByteArray("GARBAGE\r\n\r\n") << 400;
        QTest::newRow("http/0.9") << QByteArray("GET /\r\n\r\n") << 400;
        QTest::newRow("extra part") << QByteArray("GET / HTTP/1.1 x\r\nHost: x\r\n\r\n") << 400;
        QTest::newRow("binary") << bytes("\x01\x02\x03\xff\xfe\r\n\r\n") << 400;
        QTest::newRow("nul in target") << bytes("GET /\0x HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
        QTest::newRow("relative target") << QByteArray("GET x HTTP/1.1\r\nHost: x\r\n\r\n") << 400;
        QTest::newRow("bad version") << QByteArray("GET / HTTX/1.1\r\nHost: x\r\n\r\n") << 400;
        QTest::newRow("http/2") << QByteArray("GET / HTTP/2.0\r\nHost: x\r\n\r\n") << 505;
        QTest::newRow("no host") << QByteArray("GET / HTTP/1.1\r\n\r\n") << 400;
        QTest::newRow("two hosts") << QByteArray("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") << 400;
        QTest::newRow("no colon") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n") << 400;
        QTest::newRow("space before colon") << QByteArray("GET / HTTP/1.1\r\nHost : x\r\n\r\n") << 400;
        QTest::newRow("obs fold") << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n") << 400;
        QTest::newRow("bad length") << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n")
                                    << 400;
        QTest::newRow("negative length")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n") << 400;
        QTest::newRow("conflicting lengths")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
            << 400;
        QTest::newRow("te and cl")
            << QByteArray(
                   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
            << 400;
        QTest::newRow("gzip coding") << QByteArray(
                                            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n")
                                     << 501;
        QTest::newRow("bad chunk size")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") << 400;
        QTest::newRow("chunk without crlf")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY") << 400;
        QTest::newRow("unknown expectation")
            << QByteArray("GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n") << 417;
    }
    void rejectsMalformedRequests()
    {
        QFETCH(QByteArray, request);
        QFETCH(int, status);
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) { return text("ok"); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send(request);
        QVERIFY(client.waitClosed());
        const QByteArray expected = "HTTP/1.1 " + QByteArray::number(status) + ' ';
        QVERIFY2(client.received().startsWith(expected), client.received().constData());
        QVERIFY(client.received().contains("Connection: close\r\n"));
        QCOMPARE(server.requestsServed(), quint64(0));
        QCOMPARE(server.requestsRejected(), quint64(1));
        QTRY_COMPARE(server.openConnections(), quint64(0));
    }

    void headerFloodGets431_data()
    {
        QTest::addColumn<bool>("terminated");
        QTest::newRow("complete head") << true;
        QTest::newRow("never-ending head") << false;
    }
    void headerFloodGets431()
    {
        QFETCH(bool, terminated);
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) { return text("ok"); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        QByteArray request = "GET / HTTP/1.1\r\nHost: x\r\n";
        for (int i = 0; request.size() <= LocalHttpServer::MaxHeadBytes + 100; ++i)
            request += "X-Flood-" + QByteArray::number(i) + ": " + QByteArray(200, 'a') + "\r\n";
        if (terminated)
            request += "\r\n";
        client.send(request);
        QVERIFY(client.waitClosed());
        QVERIFY2(client.received().startsWith("HTTP/1.1 431 "), client.received().left(100).constData());
        QCOMPARE(server.requestsServed(), quint64(0));
    }

    void headJustUnderTheLimitIsAccepted()
    {
        LocalHttpServer server;
        server.setHandler(
            [](const HttpServerRequest &r) { return text(QByteArray::number(r.headers.size())); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        QByteArray request = "GET / HTTP/1.1\r\nHost: x\r\n";
        const QByteArray filler = "X-Big: " + QByteArray(1000, 'b') + "\r\n";
        while (request.size() + filler.size() + 2 <= LocalHttpServer::MaxHeadBytes)
            request += filler;
        client.send(request + "\r\n");
        QVERIFY(client.waitForData("HTTP/1.1 200 OK"));
    }

    void oversizedBodyGets413_data()
    {
        QTest::addColumn<QByteArray>("head");
        QTest::addColumn<bool>("sendBody");
        QTest::newRow("content-length")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n") << true;
        QTest::newRow("expect 100-continue")
            << QByteArray(
                   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\n\r\n")
            << false;
        QTest::newRow("huge chunk")
            << QByteArray("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2000000\r\n")
            << true;
    }
    void oversizedBodyGets413()
    {
        QFETCH(QByteArray, head);
        QFETCH(bool, sendBody);
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) { return text("ok"); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send(head);
        // The client keeps sending; the server must still get its 413 across (lingering close).
        if (sendBody)
            client.send(QByteArray(2 * 1024 * 1024, 'z'));
        QVERIFY(client.waitForData("\r\n\r\n"));
        QVERIFY2(client.received().startsWith("HTTP/1.1 413 "), client.received().left(100).constData());
        QVERIFY(!client.received().contains("100 Continue"));
        QVERIFY(client.waitClosed());
        QCOMPARE(server.requestsServed(), quint64(0));
    }

    void largeBodyWithinLimitIsRead()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) { return text(QByteArray::number(r.body.size())); });
        QVERIFY(server.listen());
        QNetworkAccessManager nam;
        QNetworkRequest request(url(server, QStringLiteral("/upload")));
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/octet-stream"));
        const QByteArray payload(1024 * 1024 + 17, 'p');
        std::unique_ptr<QNetworkReply> reply(nam.post(request, payload));
        QVERIFY(waitFinished(reply.get(), 10000));
        QCOMPARE(reply->error(), QNetworkReply::NoError);
        QCOMPARE(reply->readAll(), QByteArray::number(payload.size()));
    }

    void pipelinedRequestsAnsweredInOrder()
    {
        LocalHttpServer server;
        QList<int> order;
        server.setHandler([&](const HttpServerRequest &r) {
            order.append(r.requestOnConnection);
            HttpServerResponse response = text(r.path + (r.body.isEmpty() ? QByteArray() : ':' + r.body));
            if (r.path == "/slow")
                response.delayMs = 150;
            else if (r.path == "/mid")
                response.delayMs = 50;
            return response;
        });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /post HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
                    "GET /mid HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QVERIFY(client.waitClosed());
        const QList<RawResponse> responses = parseResponses(client.received());
        QCOMPARE(responses.size(), 5);
        QCOMPARE(responses.at(0).body, QByteArray("/slow"));
        QCOMPARE(responses.at(1).body, QByteArray("/fast"));
        QCOMPARE(responses.at(2).body, QByteArray("/post:body"));
        QCOMPARE(responses.at(3).body, QByteArray("/mid"));
        QCOMPARE(responses.at(4).body, QByteArray("/last"));
        QVERIFY(responses.at(4).head.contains("Connection: close"));
        QCOMPARE(order, QList<int>({1, 2, 3, 4, 5}));
        QCOMPARE(server.connectionsAccepted(), quint64(1));
    }

    void requestsAfterCloseAreIgnored()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) { return text(r.path); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send(
            "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(client.waitClosed());
        QCOMPARE(parseResponses(client.received()).size(), 1);
        QCOMPARE(server.requestsServed(), quint64(1));
    }

    void chunkedRequestBody()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) { return text(r.body); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi");
        QTest::qWait(20);
        client.send("ki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: 1\r\n\r\n"
                    "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(QTest::qWaitFor([&] { return parseResponses(client.received()).size() == 2; }, 5000));
        const QList<RawResponse> responses = parseResponses(client.received());
        QCOMPARE(responses.size(), 2);
        QCOMPARE(responses.at(0).body, QByteArray("Wikipedia in\r\n\r\nchunks."));
        QCOMPARE(responses.at(1).body, QByteArray());
        QCOMPARE(server.requestsServed(), quint64(2));
    }

    void expectContinue()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) { return text(r.body); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        QVERIFY(client.waitForData("HTTP/1.1 100 Continue\r\n\r\n"));
        QCOMPARE(server.requestsServed(), quint64(0));
        client.send("hello");
        QVERIFY(client.waitForData("hello"));
        QVERIFY(client.received().contains("HTTP/1.1 200 OK"));
    }

    void http10ClosesUnlessKeepAlive()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) { return text(r.version); });
        QVERIFY(server.listen());
        {
            RawClient client(server.port());
            QVERIFY(client.waitConnected());
            client.send("GET / HTTP/1.0\r\n\r\n");
            QVERIFY(client.waitClosed());
            QVERIFY(client.received().contains("Connection: close\r\n"));
            QVERIFY(client.received().endsWith("HTTP/1.0"));
        }
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        QVERIFY(client.waitForData("HTTP/1.0"));
        QVERIFY(client.received().contains("Connection: keep-alive\r\n"));
        client.send("GET /2 HTTP/1.0\r\n\r\n");
        QVERIFY(client.waitClosed());
        QCOMPARE(parseResponses(client.received()).size(), 2);
        QCOMPARE(server.connectionsAccepted(), quint64(2));
    }

    void http10StreamIsCloseDelimited()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse response;
            response.chunks = {"ab", "cd"};
            return response;
        });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        QVERIFY(client.waitClosed());
        QVERIFY(!client.received().contains("Transfer-Encoding"));
        QVERIFY(client.received().endsWith("\r\n\r\nabcd"));
    }

    void idleKeepAliveConnectionsAreClosed()
    {
        LocalHttpServer server;
        server.setKeepAliveTimeoutMs(150);
        server.setHandler([](const HttpServerRequest &) { return text("ok"); });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        QVERIFY(client.waitForData("ok"));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(client.waitClosed(3000));
        QVERIFY(timer.elapsed() >= 100);
        QTRY_COMPARE(server.openConnections(), quint64(0));
    }

    void userHeadersAreSanitized()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse response = text("abc");
            response.headers.append({QByteArrayLiteral("Content-Length"), QByteArrayLiteral("999")});
            response.headers.append({QByteArrayLiteral("X-Evil"), QByteArrayLiteral("a\r\nSet-Cookie: x=1")});
            response.setHeader("Server", "custom");
            response.setHeader("cache-control", "max-age=5");
            return response;
        });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QVERIFY(client.waitClosed());
        const QByteArray &r = client.received();
        QVERIFY(r.contains("Content-Length: 3\r\n"));
        QVERIFY(!r.contains("999"));
        QVERIFY(!r.contains("Set-Cookie"));
        QVERIFY(r.contains("Server: custom\r\n"));
        QVERIFY(!r.contains("vega-local"));
        QVERIFY(r.contains("cache-control: max-age=5\r\n"));
        QVERIFY(r.endsWith("\r\n\r\nabc"));
    }

    void noContentHasNoBody()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &r) {
            return HttpServerResponse::make(r.path == "/204" ? 204 : 304, "ignored");
        });
        QVERIFY(server.listen());
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send(
            "GET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        QVERIFY(client.waitClosed());
        QVERIFY(!client.received().contains("ignored"));
        QVERIFY(!client.received().contains("Content-Length"));
        QVERIFY(client.received().contains("HTTP/1.1 204 No Content\r\n"));
        QVERIFY(client.received().contains("HTTP/1.1 304 Not Modified\r\n"));
    }

    void garbageNeverCrashes()
    {
        LocalHttpServer server;
        server.setKeepAliveTimeoutMs(200);
        server.setHandler([](const HttpServerRequest &r) { return text(r.body); });
        QVERIFY(server.listen());
        QRandomGenerator rng(42);
        const QByteArray valid =
            "POST /p?q=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi";
        std::vector<std::unique_ptr<RawClient>> clients;
        for (int i = 0; i < 60; ++i) {
            QByteArray data;
            if (i % 2 == 0) {
                data = valid;
                for (int m = 0; m < 4; ++m)
                    data[int(rng.bounded(data.size()))] = char(rng.bounded(256));
            } else {
                data.resize(int(rng.bounded(1, 2000)));
                for (char &c : data)
                    c = char(rng.bounded(256));
            }
            clients.push_back(std::make_unique<RawClient>(server.port()));
            QVERIFY(clients.back()->waitConnected());
            clients.back()->send(data);
        }
        QTRY_COMPARE_WITH_TIMEOUT(server.openConnections(), quint64(0), 10000);
        clients.clear();
        // Still serving.
        RawClient client(server.port());
        QVERIFY(client.waitConnected());
        client.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
        QVERIFY(client.waitForData("\r\n\r\nok"));
    }

    void closeDropsOpenConnections()
    {
        LocalHttpServer server;
        server.setHandler([](const HttpServerRequest &) {
            HttpServerResponse response;
            response.fault = HttpServerResponse::Fault::NoResponse;
            return response;
        });
        QVERIFY(server.listen());
        RawClient a(server.port());
        RawClient b(server.port());
        QVERIFY(a.waitConnected());
        QVERIFY(b.waitConnected());
        a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        QTRY_COMPARE(server.openConnections(), quint64(2));
        QTRY_COMPARE(server.requestsServed(), quint64(1));
        server.close();
        QCOMPARE(server.openConnections(), quint64(0));
        QVERIFY(a.waitClosed());
        QVERIFY(b.waitClosed());
    }

    void threadServesFromAnotherThread()
    {
        std::atomic<QThread *> handlerThread{nullptr};
        auto server = std::make_unique<LocalHttpServerThread>([&](const HttpServerRequest &r) {
            handlerThread.store(QThread::currentThread());
            HttpServerResponse response = text(r.path);
            if (r.path == "/hang")
                response.fault = HttpServerResponse::Fault::NoResponse;
            return response;
        });
        QVERIFY(server->isListening());
        QVERIFY(server->port() != 0);
        QCOMPARE(server->baseUrl(), QUrl(QStringLiteral("http://127.0.0.1:%1").arg(server->port())));

        QNetworkAccessManager nam;
        std::unique_ptr<QNetworkReply> a(get(nam, server->baseUrl().resolved(QUrl(QStringLiteral("/a")))));
        QVERIFY(waitFinished(a.get()));
        QCOMPARE(a->readAll(), QByteArray("/a"));
        QVERIFY(handlerThread.load() != nullptr);
        QVERIFY(handlerThread.load() != QThread::currentThread());
        QCOMPARE(server->server()->requestsServed(), quint64(1));
        QCOMPARE(server->server()->connectionsAccepted(), quint64(1));

        // Blocking waits on this thread are fine: the server does not run here.
        QTcpSocket raw;
        raw.connectToHost(QHostAddress::LocalHost, server->port());
        QVERIFY(raw.waitForConnected(5000));
        raw.write("GET /raw HTTP/1.1\r\nHost: x\r\n\r\n");
        QByteArray got;
        while (!got.endsWith("/raw") && raw.waitForReadyRead(5000))
            got += raw.readAll();
        QVERIFY(got.endsWith("\r\n\r\n/raw"));

        // Destruction with a hanging request and open keep-alive connections must not block.
        std::unique_ptr<QNetworkReply> hang(
            get(nam, server->baseUrl().resolved(QUrl(QStringLiteral("/hang")))));
        QVERIFY(QTest::qWaitFor([&] { return server->server()->requestsServed() == 3; }, 5000));
        QElapsedTimer timer;
        timer.start();
        server.reset();
        QVERIFY(timer.elapsed() < 2000);
        QVERIFY(waitFinished(hang.get()));
        QVERIFY(hang->error() != QNetworkReply::NoError);
    }

    void threadReportsBusyPort()
    {
        LocalHttpServerThread first([](const HttpServerRequest &) { return text("1"); });
        QVERIFY(first.isListening());
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral("cannot listen")));
        LocalHttpServerThread second([](const HttpServerRequest &) { return text("2"); }, first.port());
        QVERIFY(!second.isListening());
        QCOMPARE(second.port(), quint16(0));
    }
};

QTEST_GUILESS_MAIN(TestLocalHttpServer)
#include "tst_localhttpserver.moc"
