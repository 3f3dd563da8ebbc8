#pragma once

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QMutex>
#include <QObject>
#include <QSet>
#include <QUrl>

#include <atomic>
#include <memory>

QT_BEGIN_NAMESPACE
class QTcpServer;
class QTcpSocket;
class QThread;
QT_END_NAMESPACE

namespace vega {

/// What the streaming test server sends for one path.
struct StreamingScript {
    int status = 200;
    QByteArray contentType = QByteArrayLiteral("application/octet-stream");
    /// Body generated on the fly (never held in memory): StreamingTestServer::patternBytes()
    /// from offset 0, this many bytes, in HTTP chunks of chunkBytes.
    qint64 totalBytes = 0;
    int chunkBytes = 64 * 1024;
    /// Explicit pieces instead of the pattern (each is one HTTP chunk and one socket write,
    /// flushed with TCP_NODELAY). When non-empty, totalBytes and chunkBytes are ignored.
    QList<QByteArray> pieces;
    /// 0: write as fast as the socket accepts (never more than writeAheadBytes queued in the
    /// socket's user-space buffer). > 0: one chunk every intervalMs.
    int intervalMs = 0;
    /// >= 0: after this many body bytes, cut the connection instead of finishing: a reset
    /// (RST, like a crashed peer) or, with closeCleanly, a FIN after the bytes queued so far.
    qint64 abortAfterBytes = -1;
    bool closeCleanly = false;
};

/**
 * A raw-QTcpServer HTTP/1.1 server that streams large chunked bodies for tests of streaming
 * and backpressure. It answers one request per connection ("Connection: close"), generates
 * its body on the fly, and only writes when its socket's user-space buffer is below
 * writeAheadBytes, so a client that stops reading makes it stop too (TCP flow control) —
 * and its counters show that from the server's side.
 *
 * Everything happens on the thread the server lives on; scripts and counters are thread-safe.
 */
class StreamingTestServer : public QObject {
    Q_OBJECT
public:
    static constexpr qint64 kWriteAheadBytes = 256 * 1024;

    explicit StreamingTestServer(QObject *parent = nullptr);
    ~StreamingTestServer() override;

    /// Sets what @p path (without query) answers. Unknown paths get 404. Thread-safe.
    void setScript(const QByteArray &path, const StreamingScript &script);

    bool listen();
    quint16 port() const { return m_port.load(); }
    QUrl url(const QByteArray &path) const;
    void close();

    /// The byte at @p offset of every generated body (a hash of offset / 8, so a missing,
    /// repeated or reordered piece of any size shows).
    static char patternByte(qint64 offset);
    static QByteArray patternBytes(qint64 offset, qint64 count);
    /// Offset of the first byte of @p bytes (taken to start at @p offset) that differs from
    /// the pattern, or -1 when they all match.
    static qint64 firstPatternMismatch(const QByteArray &bytes, qint64 offset);

    // Counters, thread-safe.
    quint64 requests() const { return m_requests.load(); }
    /// Bytes handed to the kernel (the sockets' bytesWritten: head, chunk framing and body),
    /// over all connections.
    qint64 wireBytesWritten() const { return m_wireBytesWritten.load(); }
    /// Responses whose last byte was written.
    quint64 completed() const { return m_completed.load(); }
    /// Connections the client closed before the response was complete.
    quint64 peerDisconnects() const { return m_peerDisconnects.load(); }
    /// Connections the server cut on purpose (abortAfterBytes).
    quint64 aborts() const { return m_aborts.load(); }
    /// Times the server had more to send but its socket buffer was full (it waited for the
    /// kernel to accept bytes, i.e. for the client's TCP window to open).
    quint64 writeStalls() const { return m_writeStalls.load(); }
    int openConnections() const { return m_open.load(); }

private:
    struct Connection;
    void onNewConnection();
    void onReadyRead(Connection *c);
    void pump(Connection *c, bool timerTick = false);
    void finish(Connection *c, bool peerGone);

    QTcpServer *m_server;
    QHash<QTcpSocket *, std::shared_ptr<Connection>> m_connections;

    mutable QMutex m_mutex; // protects m_scripts
    QHash<QByteArray, StreamingScript> m_scripts;

    std::atomic<quint16> m_port{0};
    std::atomic<quint64> m_requests{0};
    std::atomic<qint64> m_wireBytesWritten{0};
    std::atomic<quint64> m_completed{0};
    std::atomic<quint64> m_peerDisconnects{0};
    std::atomic<quint64> m_aborts{0};
    std::atomic<quint64> m_writeStalls{0};
    std::atomic<int> m_open{0};
};

/// Runs a StreamingTestServer on its own thread; the constructor waits (at most 5 s) until it
/// listens on 127.0.0.1, the destructor closes it there and joins the thread.
class StreamingTestServerThread {
public:
    StreamingTestServerThread();
    ~StreamingTestServerThread();
    StreamingTestServerThread(const StreamingTestServerThread &) = delete;
    StreamingTestServerThread &operator=(const StreamingTestServerThread &) = delete;

    /// Lives on the worker thread: from other threads use only its thread-safe members.
    StreamingTestServer *server() const { return m_server.get(); }
    QUrl url(const QByteArray &path) const { return m_server->url(path); }

private:
    std::unique_ptr<QThread> m_thread;
    std::unique_ptr<StreamingTestServer> m_server;
};

} // namespace vega
