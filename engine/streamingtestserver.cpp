#include "streamingtestserver.h"

#include <QHostAddress>
#include <QLoggingCategory>
#include <QSemaphore>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcStreamingServer, "vega.streamingtestserver", QtWarningMsg)

constexpr qsizetype kMaxHeadBytes = 64 * 1024;
constexpr int kStartTimeoutMs = 5000;

quint64 splitmix64(quint64 x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 200:
        return QByteArrayLiteral("OK");
    case 404:
        return QByteArrayLiteral("Not Found");
    case 500:
        return QByteArrayLiteral("Internal Server Error");
    case 503:
        return QByteArrayLiteral("Service Unavailable");
    default:
        return QByteArrayLiteral("Status");
    }
}

QByteArray chunkFrame(const QByteArray &data)
{
    return QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n";
}

} // namespace

struct StreamingTestServer::Connection {
    QTcpSocket *socket = nullptr;
    QByteArray head;
    bool responding = false;
    bool done = false; // the last byte (or the reset) was queued
    bool stalled = false;
    StreamingScript script;
    qint64 sent = 0; // body bytes queued
    int piece = 0;
    QTimer *timer = nullptr;
};

StreamingTestServer::StreamingTestServer(QObject *parent) : QObject(parent), m_server(new QTcpServer(this))
{
    connect(m_server, &QTcpServer::newConnection, this, &StreamingTestServer::onNewConnection);
}

StreamingTestServer::~StreamingTestServer()
{
    close();
}

void StreamingTestServer::setScript(const QByteArray &path, const StreamingScript &script)
{
    QMutexLocker lock(&m_mutex);
    m_scripts.insert(path, script);
}

bool StreamingTestServer::listen()
{
    if (!m_server->listen(QHostAddress::LocalHost, 0)) {
        qCWarning(lcStreamingServer) << "cannot listen:" << m_server->errorString();
        return false;
    }
    m_port.store(m_server->serverPort());
    return true;
}

QUrl StreamingTestServer::url(const QByteArray &path) const
{
    QUrl u;
    u.setScheme(QStringLiteral("http"));
    u.setHost(QStringLiteral("127.0.0.1"));
    u.setPort(port());
    u.setPath(QString::fromLatin1(path));
    return u;
}

void StreamingTestServer::close()
{
    m_server->close();
    const auto connections = m_connections;
    m_connections.clear();
    for (const auto &c : connections) {
        c->socket->disconnect(this);
        c->socket->abort();
        delete c->socket; // also deletes the connection's timer
        m_open.fetch_sub(1);
    }
}

char StreamingTestServer::patternByte(qint64 offset)
{
    return char(splitmix64(quint64(offset) / 8) >> (8 * (quint64(offset) % 8)));
}

QByteArray StreamingTestServer::patternBytes(qint64 offset, qint64 count)
{
    QByteArray out(count, Qt::Uninitialized);
    char *p = out.data();
    qint64 i = 0;
    while (i < count) {
        const quint64 word = splitmix64(quint64(offset + i) / 8);
        for (quint64 b = quint64(offset + i) % 8; b < 8 && i < count; ++b, ++i)
            p[i] = char(word >> (8 * b));
    }
    return out;
}

qint64 StreamingTestServer::firstPatternMismatch(const QByteArray &bytes, qint64 offset)
{
    const QByteArray expected = patternBytes(offset, bytes.size());
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        if (bytes.at(i) != expected.at(i))
            return offset + i;
    }
    return -1;
}

void StreamingTestServer::onNewConnection()
{
    while (QTcpSocket *socket = m_server->nextPendingConnection()) {
        auto c = std::make_shared<Connection>();
        c->socket = socket;
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        m_connections.insert(socket, c);
        m_open.fetch_add(1);
        Connection *raw = c.get();
        connect(socket, &QTcpSocket::readyRead, this, [this, raw] { onReadyRead(raw); });
        connect(socket, &QTcpSocket::bytesWritten, this, [this, raw](qint64 n) {
            m_wireBytesWritten.fetch_add(n);
            pump(raw);
        });
        connect(socket, &QTcpSocket::disconnected, this, [this, raw] { finish(raw, !raw->done); });
        connect(socket, &QTcpSocket::errorOccurred, this, [this, raw](QAbstractSocket::SocketError) {
            if (raw->socket->state() != QAbstractSocket::ConnectedState)
                finish(raw, !raw->done);
        });
    }
}

void StreamingTestServer::onReadyRead(Connection *c)
{
    const QByteArray in = c->socket->readAll();
    if (c->responding)
        return; // one request per connection; anything after the head is ignored
    c->head += in;
    const qsizetype end = c->head.indexOf("\r\n\r\n");
    if (end < 0) {
        if (c->head.size() > kMaxHeadBytes)
            c->socket->abort();
        return;
    }
    c->responding = true;
    m_requests.fetch_add(1);
    const QList<QByteArray> requestLine = c->head.left(c->head.indexOf("\r\n")).split(' ');
    QByteArray path = requestLine.value(1);
    if (const qsizetype q = path.indexOf('?'); q >= 0)
        path.truncate(q);
    bool known = false;
    {
        QMutexLocker lock(&m_mutex);
        const auto it = m_scripts.constFind(path);
        if (it != m_scripts.constEnd()) {
            c->script = *it;
            known = true;
        }
    }
    if (!known) {
        c->done = true;
        c->socket->write("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
        c->socket->disconnectFromHost();
        return;
    }
    const StreamingScript &s = c->script;
    c->socket->write("HTTP/1.1 " + QByteArray::number(s.status) + ' ' + reasonPhrase(s.status) +
                     "\r\nContent-Type: " + s.contentType +
                     "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    if (s.intervalMs > 0) {
        c->timer = new QTimer(c->socket);
        c->timer->setInterval(s.intervalMs);
        connect(c->timer, &QTimer::timeout, this, [this, c] { pump(c, true); });
        c->timer->start();
    }
    pump(c);
}

void StreamingTestServer::pump(Connection *c, bool timerTick)
{
    if (!c->responding || c->done)
        return;
    const StreamingScript &s = c->script;
    const bool paced = s.intervalMs > 0;
    if (paced && !timerTick)
        return; // paced connections only write on their timer
    while (!c->done) {
        if (c->socket->bytesToWrite() >= kWriteAheadBytes) {
            if (!c->stalled) {
                c->stalled = true;
                m_writeStalls.fetch_add(1);
            }
            return; // bytesWritten (or the next tick) brings us back
        }
        c->stalled = false;
        if (s.abortAfterBytes >= 0 && c->sent >= s.abortAfterBytes) {
            c->done = true;
            m_aborts.fetch_add(1);
            if (s.closeCleanly) {
                c->socket->disconnectFromHost(); // FIN once the queued bytes are out
                return;
            }
            c->socket->flush();
#ifdef Q_OS_UNIX
            // SO_LINGER 0: close() sends RST rather than FIN, like a crashed peer.
            struct linger lg = {1, 0};
            ::setsockopt(int(c->socket->socketDescriptor()), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
#endif
            c->socket->abort();
            return;
        }
        QByteArray data;
        if (!s.pieces.isEmpty()) {
            if (c->piece < s.pieces.size())
                data = s.pieces.at(c->piece++);
        } else if (c->sent < s.totalBytes) {
            qint64 n = std::min<qint64>(s.chunkBytes, s.totalBytes - c->sent);
            if (s.abortAfterBytes >= 0)
                n = std::min<qint64>(n, std::max<qint64>(1, s.abortAfterBytes - c->sent));
            data = patternBytes(c->sent, n);
        }
        if (data.isEmpty()) {
            c->done = true;
            c->socket->write("0\r\n\r\n");
            c->socket->disconnectFromHost();
            return;
        }
        c->sent += data.size();
        c->socket->write(chunkFrame(data));
        if (paced) {
            c->socket->flush();
            return; // one chunk per tick
        }
    }
}

void StreamingTestServer::finish(Connection *c, bool peerGone)
{
    const auto it = m_connections.find(c->socket);
    if (it == m_connections.end())
        return;
    std::shared_ptr<Connection> keep = it.value();
    m_connections.erase(it);
    m_open.fetch_sub(1);
    if (peerGone && c->responding)
        m_peerDisconnects.fetch_add(1);
    else if (c->responding)
        m_completed.fetch_add(1);
    c->socket->disconnect(this);
    if (c->timer)
        c->timer->stop();
    c->socket->deleteLater();
}

StreamingTestServerThread::StreamingTestServerThread()
    : m_thread(std::make_unique<QThread>()), m_server(std::make_unique<StreamingTestServer>())
{
    m_thread->setObjectName(QStringLiteral("vega-streaming-test"));
    m_server->moveToThread(m_thread.get());
    m_thread->start();
    auto started = std::make_shared<QSemaphore>();
    StreamingTestServer *server = m_server.get();
    QMetaObject::invokeMethod(
        server,
        [server, started] {
            server->listen();
            started->release();
        },
        Qt::QueuedConnection);
    if (!started->tryAcquire(1, kStartTimeoutMs))
        qCWarning(lcStreamingServer) << "streaming test server did not start listening in time";
}

StreamingTestServerThread::~StreamingTestServerThread()
{
    QThread *caller = QThread::currentThread();
    StreamingTestServer *server = m_server.get();
    QMetaObject::invokeMethod(
        server,
        [server, caller] {
            server->close();
            server->moveToThread(caller);
        },
        Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    m_server.reset();
}

} // namespace vega
