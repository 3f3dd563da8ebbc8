#pragma once

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QMetaType>
#include <QMutex>
#include <QObject>
#include <QPair>
#include <QSet>
#include <QUrl>

#include <atomic>
#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
class QTcpServer;
class QThread;
QT_END_NAMESPACE

namespace vega {

/// One parsed HTTP request as the handler sees it.
struct HttpServerRequest {
    QByteArray method;                            ///< "GET", "POST", ...
    QByteArray target;                            ///< path + query as sent, e.g. "/api/x?a=1"
    QByteArray path;                              ///< target without the query
    QList<QPair<QByteArray, QByteArray>> headers; ///< as received, values trimmed
    QByteArray body;                              ///< de-chunked when sent chunked
    quint64 connectionId = 0;                     ///< which accepted socket carried it (1, 2, ...)
    int requestOnConnection = 0;                  ///< 1 for the first request on that socket
    QByteArray query;                             ///< after '?', still percent-encoded; empty if none
    QByteArray version;                           ///< "HTTP/1.1" or "HTTP/1.0"

    /// Value of the first header called @p name (case-insensitive); empty if absent.
    QByteArray header(const QByteArray &name) const;
    bool hasHeader(const QByteArray &name) const;
};

/// What the handler answers. The server adds Date, Server, Content-Length (or
/// Transfer-Encoding: chunked) and Connection itself.
struct HttpServerResponse {
    int status = 200;
    /// Extra headers. Content-Length, Transfer-Encoding and Connection are managed by the
    /// server and dropped here; a Date or Server given here replaces the server's own.
    QList<QPair<QByteArray, QByteArray>> headers;
    QByteArray body;
    /// Answer after this delay (a timer on the server thread; other connections keep being served).
    int delayMs = 0;
    /// Send "Connection: close" and close once the response is written.
    bool closeConnection = false;

    /// Simulated transport failures, applied when this response's turn to be written comes.
    enum class Fault {
        None,
        ResetBeforeResponse, ///< TCP RST instead of any response byte
        ResetMidBody,        ///< headers + half the body, then RST
        CloseMidBody,        ///< headers + half the body, then a clean FIN
        NoResponse,          ///< never answer: the connection stays open until the client gives up
    };
    Fault fault = Fault::None;

    /// Streaming: if non-empty, @c body is ignored and these are sent one by one with chunked
    /// transfer encoding, chunkIntervalMs apart (the first goes out with the headers).
    QList<QByteArray> chunks;
    int chunkIntervalMs = 0;

    /// A response with that status, body and (if given) Content-Type.
    static HttpServerResponse make(int status, const QByteArray &body, const QByteArray &contentType = {});
    /// Sets (replaces) a header by case-insensitive name.
    HttpServerResponse &setHeader(const QByteArray &name, const QByteArray &value);
    /// Value of the first header called @p name (case-insensitive); empty if absent.
    QByteArray header(const QByteArray &name) const;
};

namespace detail {
class HttpConnection;
}

/**
 * A small asynchronous HTTP/1.1 server on QTcpServer, for the demo workload's local backend
 * and for tests that need a real server which counts on its own side.
 *
 * Keep-alive by default (HTTP/1.0 only with "Connection: keep-alive"), pipelined requests
 * answered in order, Content-Length and chunked request bodies, "Expect: 100-continue", HEAD.
 * Limits: request line + headers <= 64 KiB (431), body <= 16 MiB (413); malformed input gets
 * 400 and the connection is closed. Every response carries Date and "Server: vega-local".
 *
 * Everything happens on the thread the server lives on; the counters are atomics and may be
 * read from any thread.
 */
class LocalHttpServer : public QObject {
    Q_OBJECT
public:
    using Handler = std::function<HttpServerResponse(const HttpServerRequest &)>;

    static constexpr qsizetype MaxHeadBytes = 64 * 1024;
    static constexpr qint64 MaxBodyBytes = 16 * 1024 * 1024;

    explicit LocalHttpServer(QObject *parent = nullptr);
    ~LocalHttpServer() override;

    /// The handler runs on the server's thread, once per complete request, in arrival order
    /// per connection. Without a handler every request gets 404. Thread-safe.
    void setHandler(Handler handler);

    /// Starts listening; port 0 picks a free port. Returns false if the port cannot be bound.
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    bool isListening() const { return m_port.load() != 0; }
    /// Thread-safe; 0 when not listening.
    quint16 port() const { return m_port.load(); }
    /// http://127.0.0.1:<port> (the loopback address of the bound family). Thread-safe.
    QUrl baseUrl() const;
    /// Stops listening and drops every open connection.
    void close();

    // Server-side counts; thread-safe.
    quint64 connectionsAccepted() const { return m_connectionsAccepted.load(); }
    /// Requests whose handler ran (server-generated 400/413/431 answers are not counted).
    quint64 requestsServed() const { return m_requestsServed.load(); }
    quint64 openConnections() const { return m_openConnections.load(); }
    /// Requests rejected by the server itself (400, 413, 431, 501, 505).
    quint64 requestsRejected() const { return m_requestsRejected.load(); }

    /// Idle keep-alive connections are closed after this (default 30000; <= 0 never). Thread-safe.
    void setKeepAliveTimeoutMs(int ms) { m_keepAliveTimeoutMs.store(ms); }
    int keepAliveTimeoutMs() const { return m_keepAliveTimeoutMs.load(); }
    /// Close a connection after it carried n requests (0 = unlimited). Thread-safe.
    void setMaxRequestsPerConnection(int n) { m_maxRequestsPerConnection.store(n); }
    int maxRequestsPerConnection() const { return m_maxRequestsPerConnection.load(); }

Q_SIGNALS:
    /// Emitted on the server's thread just before the handler runs.
    void requestReceived(const vega::HttpServerRequest &request);

private:
    friend class detail::HttpConnection;
    void acceptPending();
    void connectionFinished(detail::HttpConnection *connection);
    HttpServerResponse handle(const HttpServerRequest &request);

    QTcpServer *m_tcp;
    QSet<detail::HttpConnection *> m_connections;
    quint64 m_nextConnectionId = 0;

    mutable QMutex m_mutex; // protects m_handler and m_baseUrl
    Handler m_handler;
    QUrl m_baseUrl;

    std::atomic<quint16> m_port{0};
    std::atomic<quint64> m_connectionsAccepted{0};
    std::atomic<quint64> m_requestsServed{0};
    std::atomic<quint64> m_openConnections{0};
    std::atomic<quint64> m_requestsRejected{0};
    std::atomic<int> m_keepAliveTimeoutMs{30000};
    std::atomic<int> m_maxRequestsPerConnection{0};
};

/**
 * Runs a LocalHttpServer on its own QThread, never the caller's (or the GUI) thread.
 * The constructor starts the thread and waits (at most 5 s) until the server listens; the
 * destructor closes the server on its thread and joins the thread.
 */
class LocalHttpServerThread {
public:
    explicit LocalHttpServerThread(LocalHttpServer::Handler handler, quint16 port = 0);
    ~LocalHttpServerThread();
    LocalHttpServerThread(const LocalHttpServerThread &) = delete;
    LocalHttpServerThread &operator=(const LocalHttpServerThread &) = delete;

    bool isListening() const { return m_server->isListening(); }
    quint16 port() const { return m_server->port(); }
    QUrl baseUrl() const { return m_server->baseUrl(); }
    /// Lives on the worker thread: from other threads only call its thread-safe members
    /// (counters, port(), baseUrl(), the setters).
    LocalHttpServer *server() const { return m_server.get(); }

private:
    std::unique_ptr<QThread> m_thread;
    std::unique_ptr<LocalHttpServer> m_server;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::HttpServerRequest)
