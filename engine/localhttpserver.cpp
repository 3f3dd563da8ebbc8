#include "localhttpserver.h"

#include <QDateTime>
#include <QLocale>
#include <QLoggingCategory>
#include <QPointer>
#include <QSemaphore>
#include <QTcpServer>
#include <QTcpSocket>
#include <QThread>
#include <QTimer>

#include <cctype>
#include <cstring>
#include <deque>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#endif

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcLocalHttp, "vega.localhttpserver", QtWarningMsg)

// Unanswered requests a connection may queue before we stop reading from it; TCP flow
// control then pushes back on the client instead of our memory growing.
constexpr size_t kMaxPipelined = 64;
constexpr qint64 kReadBufferBytes = 256 * 1024;
constexpr qsizetype kMaxChunkSizeLine = 1024;
// After the last response of a closing connection we keep draining the client's input for a
// while: closing a socket with unread data makes the kernel send RST, which can destroy the
// response (e.g. a 413) before the client has read it.
constexpr int kLingerMs = 2000;
// Lets the client see the headers and half the body before the reset arrives.
constexpr int kMidBodyResetDelayMs = 20;
constexpr int kStartTimeoutMs = 5000;

bool isTokenChar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool isToken(const QByteArray &s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

bool isFieldValue(const QByteArray &s)
{
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

bool isTargetChar(char c)
{
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
}

bool isHexDigit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool equalsCi(const QByteArray &a, const char *b)
{
    return a.compare(b, Qt::CaseInsensitive) == 0;
}

// Does a comma-separated header value list @p token (case-insensitive)?
bool hasToken(const QByteArray &value, const char *token)
{
    const QList<QByteArray> parts = value.split(',');
    for (const QByteArray &part : parts) {
        if (equalsCi(part.trimmed(), token))
            return true;
    }
    return false;
}

bool bodyForbidden(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

QByteArray reasonPhrase(int status)
{
    // clang-format off
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
    // clang-format on
}

QByteArray httpDate()
{
    return QLocale::c()
        .toString(QDateTime::currentDateTimeUtc(), QStringLiteral("ddd, dd MMM yyyy hh:mm:ss 'GMT'"))
        .toLatin1();
}

} // namespace

QByteArray HttpServerRequest::header(const QByteArray &name) const
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

bool HttpServerRequest::hasHeader(const QByteArray &name) const
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return true;
    }
    return false;
}

HttpServerResponse HttpServerResponse::make(int status, const QByteArray &body, const QByteArray &contentType)
{
    HttpServerResponse r;
    r.status = status;
    r.body = body;
    if (!contentType.isEmpty())
        r.headers.append({QByteArrayLiteral("Content-Type"), contentType});
    return r;
}

HttpServerResponse &HttpServerResponse::setHeader(const QByteArray &name, const QByteArray &value)
{
    headers.removeIf([&](const QPair<QByteArray, QByteArray> &h) {
        return h.first.compare(name, Qt::CaseInsensitive) == 0;
    });
    headers.append({name, value});
    return *this;
}

QByteArray HttpServerResponse::header(const QByteArray &name) const
{
    for (const auto &h : headers) {
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    }
    return {};
}

namespace detail {

/// One accepted socket: parses requests, runs the handler, writes responses in order.
class HttpConnection : public QObject {
public:
    HttpConnection(LocalHttpServer *server, QTcpSocket *socket, quint64 id);
    void abortNow();

private:
    enum class State { Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Stopped };

    struct Pending {
        quint64 seq = 0;
        HttpServerResponse response;
        bool ready = false;   // the delay has passed
        bool started = false; // bytes are going out (streaming or a mid-body fault)
        bool head = false;    // HEAD: headers only
        bool http10 = false;
        bool close = false;
        int nextChunk = 0;
    };

    void onReadyRead();
    void processInput();
    bool step();
    bool parseHead();
    void startRequest(const QByteArray &head);
    bool readBody(State next);
    bool parseChunkSize();
    bool parseTrailers();
    void completeRequest();
    void reject(int status, const QByteArray &message);
    void markReady(quint64 seq);
    void pump();
    void writeHead(const Pending &p, qint64 contentLength, bool chunked);
    void continueStream(quint64 seq);
    void closeAfterWrite();
    void onBytesWritten();
    void halfCloseNow();
    void resetNow();
    void finish();
    void updateIdleTimer();
    void sendContinueIfOwed();
    bool readingBody() const
    {
        return m_state == State::Body || m_state == State::ChunkSize || m_state == State::ChunkData ||
               m_state == State::ChunkDataEnd;
    }

    LocalHttpServer *m_server;
    QTcpSocket *m_socket;
    const quint64 m_id;
    QTimer *m_idleTimer;
    QTimer *m_lingerTimer;

    QByteArray m_in;
    qsizetype m_scanPos = 0; // where the search for the end of the head resumes
    State m_state = State::Head;
    HttpServerRequest m_request;
    bool m_requestKeepAlive = true;
    bool m_continueOwed = false;
    qint64 m_remaining = 0; // body or chunk bytes still to read
    qsizetype m_trailerBytes = 0;
    int m_requestCount = 0;

    quint64 m_nextSeq = 0;
    std::deque<std::unique_ptr<Pending>> m_queue;
    bool m_processing = false;
    bool m_closing = false; // the last response is queued; the connection then closes
    bool m_halfCloseWhenFlushed = false;
    bool m_finished = false;
};

HttpConnection::HttpConnection(LocalHttpServer *server, QTcpSocket *socket, quint64 id)
    : QObject(server), m_server(server), m_socket(socket), m_id(id), m_idleTimer(new QTimer(this)),
      m_lingerTimer(new QTimer(this))
{
    m_socket->setParent(this);
    // Streamed chunks and small responses must not wait for Nagle + delayed ACK (40 ms).
    m_socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    m_socket->setReadBufferSize(kReadBufferBytes);
    m_idleTimer->setSingleShot(true);
    m_lingerTimer->setSingleShot(true);

    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::bytesWritten, this, &HttpConnection::onBytesWritten);
    connect(m_socket, &QTcpSocket::disconnected, this, &HttpConnection::finish);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError) {
        if (m_socket->state() == QAbstractSocket::UnconnectedState)
            finish();
    });
    connect(m_idleTimer, &QTimer::timeout, this, [this] {
        if (m_queue.empty())
            closeAfterWrite();
    });
    connect(m_lingerTimer, &QTimer::timeout, this, [this] {
        m_socket->abort();
        finish();
    });
    updateIdleTimer();
    // Bytes may have arrived with the connection; handle them once the server has registered us.
    QMetaObject::invokeMethod(
        this, [this] { processInput(); }, Qt::QueuedConnection);
}

void HttpConnection::abortNow()
{
    if (m_finished)
        return;
    m_socket->abort();
    finish();
}

void HttpConnection::onReadyRead()
{
    if (m_finished)
        return;
    processInput();
    updateIdleTimer();
}

void HttpConnection::processInput()
{
    if (m_processing || m_finished)
        return;
    m_processing = true;
    for (;;) {
        if (m_finished)
            break;
        if (m_state == State::Stopped) {
            // Closing: whatever the client still sends is discarded.
            m_in.clear();
            m_socket->readAll();
            break;
        }
        if (m_queue.size() >= kMaxPipelined)
            break;
        if (step())
            continue;
        if (m_finished || m_socket->bytesAvailable() <= 0)
            break;
        m_in.append(m_socket->read(kReadBufferBytes));
    }
    m_processing = false;
}

// One parsing step; false when more input is needed.
bool HttpConnection::step()
{
    switch (m_state) {
    case State::Head:
        return parseHead();
    case State::Body:
        return readBody(State::Head);
    case State::ChunkSize:
        return parseChunkSize();
    case State::ChunkData:
        return readBody(State::ChunkDataEnd);
    case State::ChunkDataEnd:
        if (m_in.startsWith("\r\n")) {
            m_in.remove(0, 2);
        } else if (m_in.startsWith('\n')) {
            m_in.remove(0, 1);
        } else if (m_in.isEmpty() || m_in == "\r") {
            return false;
        } else {
            reject(400, "malformed chunk");
            return true;
        }
        m_state = State::ChunkSize;
        return true;
    case State::Trailers:
        return parseTrailers();
    case State::Stopped:
        return false;
    }
    return false;
}

bool HttpConnection::parseHead()
{
    if (m_scanPos == 0) {
        // RFC 9112 2.2: ignore empty lines before the request line.
        qsizetype skip = 0;
        while (skip < m_in.size() && (m_in.at(skip) == '\r' || m_in.at(skip) == '\n'))
            ++skip;
        if (skip > 0)
            m_in.remove(0, skip);
        if (m_in.isEmpty())
            return false;
    }
    qsizetype headEnd = -1;
    for (;;) {
        const qsizetype nl = m_in.indexOf('\n', m_scanPos);
        if (nl < 0)
            break;
        qsizetype len = nl - m_scanPos;
        if (len > 0 && m_in.at(nl - 1) == '\r')
            --len;
        m_scanPos = nl + 1;
        if (len == 0) {
            headEnd = nl + 1;
            break;
        }
    }
    if (headEnd < 0) {
        if (m_in.size() > LocalHttpServer::MaxHeadBytes) {
            reject(431, "request header section too large");
            return true;
        }
        return false;
    }
    if (headEnd > LocalHttpServer::MaxHeadBytes) {
        reject(431, "request header section too large");
        return true;
    }
    const QByteArray head = m_in.left(headEnd);
    m_in.remove(0, headEnd);
    m_scanPos = 0;
    startRequest(head);
    return true;
}

// Validates the request line and headers and prepares for the body; rejects on error.
void HttpConnection::startRequest(const QByteArray &head)
{
    QList<QByteArray> lines = head.split('\n');
    for (QByteArray &line : lines) {
        if (line.endsWith('\r'))
            line.chop(1);
    }
    while (!lines.isEmpty() && lines.last().isEmpty())
        lines.removeLast();
    if (lines.isEmpty()) {
        reject(400, "empty request");
        return;
    }

    const QList<QByteArray> parts = lines.first().split(' ');
    if (parts.size() != 3 || !isToken(parts.at(0)) || parts.at(1).isEmpty()) {
        reject(400, "malformed request line");
        return;
    }
    const QByteArray &target = parts.at(1);
    for (char c : target) {
        if (!isTargetChar(c)) {
            reject(400, "malformed request target");
            return;
        }
    }
    const QByteArray &version = parts.at(2);
    if (version.size() != 8 || !version.startsWith("HTTP/") || version.at(6) != '.' ||
        !std::isdigit(static_cast<unsigned char>(version.at(5))) ||
        !std::isdigit(static_cast<unsigned char>(version.at(7)))) {
        reject(400, "malformed HTTP version");
        return;
    }
    if (version.at(5) != '1') {
        reject(505, "only HTTP/1.x is supported");
        return;
    }
    const bool http10 = version.at(7) == '0';

    HttpServerRequest request;
    request.method = parts.at(0);
    request.target = target;
    request.version = http10 ? QByteArrayLiteral("HTTP/1.0") : QByteArrayLiteral("HTTP/1.1");
    QByteArray pathAndQuery;
    if (target.startsWith('/')) {
        pathAndQuery = target;
    } else if (target == "*") {
        pathAndQuery = target;
    } else if (target.toLower().startsWith("http://") || target.toLower().startsWith("https://")) {
        // Absolute form, as sent to proxies.
        const qsizetype authority = target.indexOf("://") + 3;
        const qsizetype slash = target.indexOf('/', authority);
        const qsizetype question = target.indexOf('?', authority);
        if (slash >= 0 && (question < 0 || slash < question))
            pathAndQuery = target.mid(slash);
        else
            pathAndQuery = '/' + (question >= 0 ? target.mid(question) : QByteArray());
    } else {
        reject(400, "malformed request target");
        return;
    }
    const qsizetype question = pathAndQuery.indexOf('?');
    request.path = question >= 0 ? pathAndQuery.left(question) : pathAndQuery;
    request.query = question >= 0 ? pathAndQuery.mid(question + 1) : QByteArray();

    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray &line = lines.at(i);
        if (line.startsWith(' ') || line.startsWith('\t')) {
            reject(400, "obsolete line folding");
            return;
        }
        const qsizetype colon = line.indexOf(':');
        const QByteArray name = colon > 0 ? line.left(colon) : QByteArray();
        if (!isToken(name)) {
            reject(400, "malformed header field");
            return;
        }
        const QByteArray value = line.mid(colon + 1).trimmed();
        if (!isFieldValue(value)) {
            reject(400, "malformed header value");
            return;
        }
        request.headers.append({name, value});
    }

    int hosts = 0;
    bool chunked = false;
    bool hasTransferEncoding = false;
    QByteArray transferEncoding;
    QByteArray contentLength;
    bool hasContentLength = false;
    for (const auto &h : std::as_const(request.headers)) {
        if (equalsCi(h.first, "host")) {
            ++hosts;
        } else if (equalsCi(h.first, "transfer-encoding")) {
            hasTransferEncoding = true;
            if (!transferEncoding.isEmpty())
                transferEncoding += ',';
            transferEncoding += h.second;
        } else if (equalsCi(h.first, "content-length")) {
            if (hasContentLength && h.second != contentLength) {
                reject(400, "conflicting Content-Length");
                return;
            }
            hasContentLength = true;
            contentLength = h.second;
        }
    }
    if ((!http10 && hosts != 1) || hosts > 1) {
        reject(400, "HTTP/1.1 requests need exactly one Host header");
        return;
    }

    qint64 length = 0;
    if (hasTransferEncoding) {
        // Both framings at once is how request smuggling starts; refuse it.
        if (hasContentLength || http10) {
            reject(400, "ambiguous message framing");
            return;
        }
        const QList<QByteArray> codings = transferEncoding.split(',');
        if (codings.size() != 1 || !equalsCi(codings.first().trimmed(), "chunked")) {
            reject(501, "only chunked transfer coding is supported");
            return;
        }
        chunked = true;
    } else if (hasContentLength) {
        bool digits = !contentLength.isEmpty() && contentLength.size() <= 18;
        for (char c : std::as_const(contentLength))
            digits = digits && c >= '0' && c <= '9';
        if (!digits) {
            reject(400, "malformed Content-Length");
            return;
        }
        length = contentLength.toLongLong();
        if (length > LocalHttpServer::MaxBodyBytes) {
            reject(413, "request body too large");
            return;
        }
    }

    const QByteArray connection = request.header("connection");
    m_requestKeepAlive = http10 ? hasToken(connection, "keep-alive") : !hasToken(connection, "close");

    bool wantsContinue = false;
    if (request.hasHeader("expect")) {
        if (!equalsCi(request.header("expect"), "100-continue")) {
            reject(417, "unsupported expectation");
            return;
        }
        wantsContinue = !http10 && (chunked || length > 0);
    }

    m_request = std::move(request);
    m_remaining = length;
    m_trailerBytes = 0;
    m_state = chunked ? State::ChunkSize : State::Body;
    // A client that already sent body bytes did not wait for the interim response.
    if (wantsContinue && m_in.isEmpty()) {
        m_continueOwed = true;
        sendContinueIfOwed();
    }
}

bool HttpConnection::readBody(State next)
{
    if (m_remaining > 0) {
        if (m_in.isEmpty())
            return false;
        const qsizetype n = qsizetype(qMin<qint64>(m_remaining, m_in.size()));
        if (n == m_in.size() && m_request.body.isEmpty() && next == State::Head) {
            m_request.body = std::move(m_in);
            m_in.clear();
        } else {
            m_request.body.append(m_in.constData(), n);
            m_in.remove(0, n);
        }
        m_remaining -= n;
        if (m_remaining > 0)
            return true;
    }
    if (next == State::Head)
        completeRequest();
    else
        m_state = next;
    return true;
}

bool HttpConnection::parseChunkSize()
{
    const qsizetype nl = m_in.indexOf('\n');
    if (nl < 0) {
        if (m_in.size() > kMaxChunkSizeLine) {
            reject(400, "malformed chunk size");
            return true;
        }
        return false;
    }
    QByteArray line = m_in.left(nl);
    m_in.remove(0, nl + 1);
    if (line.endsWith('\r'))
        line.chop(1);
    const qsizetype semicolon = line.indexOf(';'); // chunk extensions are ignored
    if (semicolon >= 0)
        line.truncate(semicolon);
    line = line.trimmed();
    bool valid = !line.isEmpty() && line.size() <= 15;
    for (char c : std::as_const(line))
        valid = valid && isHexDigit(c);
    if (!valid) {
        reject(400, "malformed chunk size");
        return true;
    }
    const qint64 size = line.toLongLong(nullptr, 16);
    if (size == 0) {
        m_state = State::Trailers;
        return true;
    }
    if (m_request.body.size() + size > LocalHttpServer::MaxBodyBytes) {
        reject(413, "request body too large");
        return true;
    }
    m_remaining = size;
    m_state = State::ChunkData;
    return true;
}

bool HttpConnection::parseTrailers()
{
    const qsizetype nl = m_in.indexOf('\n');
    if (nl < 0) {
        if (m_trailerBytes + m_in.size() > LocalHttpServer::MaxHeadBytes) {
            reject(431, "trailer section too large");
            return true;
        }
        return false;
    }
    m_trailerBytes += nl + 1;
    if (m_trailerBytes > LocalHttpServer::MaxHeadBytes) {
        reject(431, "trailer section too large");
        return true;
    }
    const bool empty = nl == 0 || (nl == 1 && m_in.at(0) == '\r');
    m_in.remove(0, nl + 1);
    if (empty)
        completeRequest();
    return true;
}

void HttpConnection::completeRequest()
{
    m_state = State::Head;
    m_continueOwed = false;
    HttpServerRequest request = std::move(m_request);
    m_request = HttpServerRequest();
    request.connectionId = m_id;
    request.requestOnConnection = ++m_requestCount;

    auto pending = std::make_unique<Pending>();
    pending->seq = ++m_nextSeq;
    pending->head = request.method == "HEAD";
    pending->http10 = request.version == "HTTP/1.0";
    bool close = !m_requestKeepAlive;
    const int maxRequests = m_server->maxRequestsPerConnection();
    if (maxRequests > 0 && m_requestCount >= maxRequests)
        close = true;

    QPointer<HttpConnection> alive(this);
    pending->response = m_server->handle(request);
    if (!alive || m_finished)
        return;
    const HttpServerResponse &response = pending->response;
    if (response.closeConnection)
        close = true;
    // An HTTP/1.0 client can only see the end of a stream by the connection closing.
    if (pending->http10 && !response.chunks.isEmpty())
        close = true;
    pending->close = close;
    if (close) {
        m_state = State::Stopped;
        m_closing = true;
    }
    const quint64 seq = pending->seq;
    const bool never = response.fault == HttpServerResponse::Fault::NoResponse;
    const int delayMs = response.delayMs;
    pending->ready = !never && delayMs <= 0;
    m_queue.push_back(std::move(pending));
    if (!never && delayMs > 0)
        QTimer::singleShot(delayMs, this, [this, seq] { markReady(seq); });
    pump();
}

void HttpConnection::reject(int status, const QByteArray &message)
{
    m_server->m_requestsRejected.fetch_add(1, std::memory_order_relaxed);
    qCDebug(lcLocalHttp) << "connection" << m_id << "rejected:" << status << message;
    auto pending = std::make_unique<Pending>();
    pending->seq = ++m_nextSeq;
    pending->response = HttpServerResponse::make(status, message + '\n', "text/plain; charset=utf-8");
    pending->ready = true;
    pending->close = true;
    m_state = State::Stopped;
    m_closing = true;
    m_continueOwed = false;
    m_in.clear();
    m_queue.push_back(std::move(pending));
    pump();
}

void HttpConnection::markReady(quint64 seq)
{
    for (auto &p : m_queue) {
        if (p->seq == seq) {
            p->ready = true;
            break;
        }
    }
    pump();
}

// Writes every response at the front of the queue that is ready, in request order.
void HttpConnection::pump()
{
    using Fault = HttpServerResponse::Fault;
    while (!m_finished && !m_queue.empty()) {
        Pending &p = *m_queue.front();
        if (!p.ready || p.started)
            return;
        const HttpServerResponse &r = p.response;
        if (r.fault == Fault::ResetBeforeResponse) {
            resetNow();
            return;
        }
        if (r.fault == Fault::ResetMidBody || r.fault == Fault::CloseMidBody) {
            const QByteArray body = r.chunks.isEmpty() ? r.body : r.chunks.join();
            p.started = true;
            p.close = true;
            writeHead(p, body.size(), false);
            if (!p.head)
                m_socket->write(body.left(body.size() / 2));
            m_state = State::Stopped;
            m_closing = true;
            if (r.fault == Fault::CloseMidBody)
                closeAfterWrite();
            else
                QTimer::singleShot(kMidBodyResetDelayMs, this, [this] { resetNow(); });
            return;
        }
        if (!r.chunks.isEmpty() && !p.head && !bodyForbidden(r.status)) {
            p.started = true;
            writeHead(p, -1, !p.http10);
            continueStream(p.seq);
            return;
        }
        if (!r.chunks.isEmpty()) {
            writeHead(p, -1, !p.http10 && !bodyForbidden(r.status));
        } else {
            writeHead(p, r.body.size(), false);
            if (!p.head && !bodyForbidden(r.status))
                m_socket->write(r.body);
        }
        const bool close = p.close;
        m_queue.pop_front();
        if (close) {
            closeAfterWrite();
            return;
        }
    }
    if (m_finished)
        return;
    sendContinueIfOwed();
    // Reading may have paused on the pipelining limit.
    processInput();
    updateIdleTimer();
}

void HttpConnection::writeHead(const Pending &p, qint64 contentLength, bool chunked)
{
    const int status = p.response.status;
    QByteArray out;
    out.reserve(256);
    out += "HTTP/1.1 " % QByteArray::number(status) % ' ' % reasonPhrase(status) % "\r\n";
    bool hasDate = false;
    bool hasServer = false;
    for (const auto &h : p.response.headers) {
        // Values with CR/LF would let a handler split the response.
        if (!isToken(h.first) || !isFieldValue(h.second))
            continue;
        if (equalsCi(h.first, "content-length") || equalsCi(h.first, "transfer-encoding") ||
            equalsCi(h.first, "connection"))
            continue;
        hasDate = hasDate || equalsCi(h.first, "date");
        hasServer = hasServer || equalsCi(h.first, "server");
        out += h.first % ": " % h.second % "\r\n";
    }
    if (!hasDate)
        out += "Date: " % httpDate() % "\r\n";
    if (!hasServer)
        out += "Server: vega-local\r\n";
    if (!bodyForbidden(status)) {
        if (chunked)
            out += "Transfer-Encoding: chunked\r\n";
        else if (contentLength >= 0)
            out += "Content-Length: " % QByteArray::number(contentLength) % "\r\n";
    }
    if (p.close)
        out += "Connection: close\r\n";
    else if (p.http10)
        out += "Connection: keep-alive\r\n";
    out += "\r\n";
    m_socket->write(out);
}

void HttpConnection::continueStream(quint64 seq)
{
    if (m_finished || m_queue.empty() || m_queue.front()->seq != seq)
        return;
    Pending &p = *m_queue.front();
    const QList<QByteArray> &chunks = p.response.chunks;
    const QByteArray &chunk = chunks.at(p.nextChunk++);
    // An empty chunk would read as the end of the stream.
    if (!chunk.isEmpty()) {
        if (p.http10)
            m_socket->write(chunk);
        else
            m_socket->write(QByteArray::number(chunk.size(), 16) % "\r\n" % chunk % "\r\n");
    }
    if (p.nextChunk < chunks.size()) {
        QTimer::singleShot(qMax(0, p.response.chunkIntervalMs), this, [this, seq] { continueStream(seq); });
        return;
    }
    if (!p.http10)
        m_socket->write("0\r\n\r\n");
    const bool close = p.close;
    m_queue.pop_front();
    if (close) {
        closeAfterWrite();
        return;
    }
    pump();
}

void HttpConnection::closeAfterWrite()
{
    if (m_finished)
        return;
    m_closing = true;
    m_state = State::Stopped;
    m_idleTimer->stop();
    if (m_socket->bytesToWrite() == 0)
        halfCloseNow();
    else
        m_halfCloseWhenFlushed = true;
}

void HttpConnection::onBytesWritten()
{
    if (m_halfCloseWhenFlushed && m_socket->bytesToWrite() == 0) {
        m_halfCloseWhenFlushed = false;
        halfCloseNow();
    }
}

void HttpConnection::halfCloseNow()
{
    if (m_finished)
        return;
#ifdef Q_OS_UNIX
    const qintptr fd = m_socket->socketDescriptor();
    if (fd >= 0 && ::shutdown(int(fd), SHUT_WR) == 0) {
        // The client sees EOF; we drain its input until it closes or the linger time ends.
        m_lingerTimer->start(kLingerMs);
        processInput();
        return;
    }
#endif
    m_socket->disconnectFromHost();
}

void HttpConnection::resetNow()
{
    if (m_finished)
        return;
#ifdef Q_OS_UNIX
    const qintptr fd = m_socket->socketDescriptor();
    if (fd >= 0) {
        // Zero linger turns close() into a RST.
        struct linger lg = {1, 0};
        ::setsockopt(int(fd), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
#endif
    m_socket->abort();
    finish();
}

void HttpConnection::finish()
{
    if (m_finished)
        return;
    m_finished = true;
    m_idleTimer->stop();
    m_lingerTimer->stop();
    m_queue.clear();
    m_server->connectionFinished(this);
}

void HttpConnection::updateIdleTimer()
{
    if (m_finished || m_closing) {
        m_idleTimer->stop();
        return;
    }
    const int ms = m_server->keepAliveTimeoutMs();
    if (ms > 0 && m_queue.empty())
        m_idleTimer->start(ms);
    else
        m_idleTimer->stop();
}

void HttpConnection::sendContinueIfOwed()
{
    // The interim response must not overtake responses to earlier pipelined requests.
    if (!m_continueOwed || !m_queue.empty() || !readingBody())
        return;
    m_continueOwed = false;
    m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
}

} // namespace detail

LocalHttpServer::LocalHttpServer(QObject *parent) : QObject(parent), m_tcp(new QTcpServer(this))
{
    qRegisterMetaType<vega::HttpServerRequest>();
    connect(m_tcp, &QTcpServer::newConnection, this, &LocalHttpServer::acceptPending);
}

LocalHttpServer::~LocalHttpServer()
{
    close();
}

void LocalHttpServer::setHandler(Handler handler)
{
    QMutexLocker lock(&m_mutex);
    m_handler = std::move(handler);
}

bool LocalHttpServer::listen(const QHostAddress &address, quint16 port)
{
    if (m_tcp->isListening())
        close();
    if (!m_tcp->listen(address, port)) {
        qCWarning(lcLocalHttp) << "cannot listen on" << address << port << m_tcp->errorString();
        return false;
    }
    QHostAddress host = m_tcp->serverAddress();
    if (host == QHostAddress(QHostAddress::Any) || host == QHostAddress(QHostAddress::AnyIPv4))
        host = QHostAddress(QHostAddress::LocalHost);
    else if (host == QHostAddress(QHostAddress::AnyIPv6))
        host = QHostAddress(QHostAddress::LocalHostIPv6);
    QUrl url;
    url.setScheme(QStringLiteral("http"));
    url.setHost(host.toString());
    url.setPort(m_tcp->serverPort());
    {
        QMutexLocker lock(&m_mutex);
        m_baseUrl = url;
    }
    m_port.store(m_tcp->serverPort());
    return true;
}

QUrl LocalHttpServer::baseUrl() const
{
    QMutexLocker lock(&m_mutex);
    return m_baseUrl;
}

void LocalHttpServer::close()
{
    m_tcp->close();
    m_port.store(0);
    {
        QMutexLocker lock(&m_mutex);
        m_baseUrl.clear();
    }
    const QSet<detail::HttpConnection *> connections = m_connections;
    for (detail::HttpConnection *c : connections)
        c->abortNow();
}

void LocalHttpServer::acceptPending()
{
    while (QTcpSocket *socket = m_tcp->nextPendingConnection()) {
        m_connectionsAccepted.fetch_add(1);
        m_openConnections.fetch_add(1);
        m_connections.insert(new detail::HttpConnection(this, socket, ++m_nextConnectionId));
    }
}

void LocalHttpServer::connectionFinished(detail::HttpConnection *connection)
{
    if (m_connections.remove(connection))
        m_openConnections.fetch_sub(1);
    connection->deleteLater();
}

HttpServerResponse LocalHttpServer::handle(const HttpServerRequest &request)
{
    Q_EMIT requestReceived(request);
    Handler handler;
    {
        QMutexLocker lock(&m_mutex);
        handler = m_handler;
    }
    if (!handler)
        return HttpServerResponse::make(404, "no handler\n", "text/plain; charset=utf-8");
    HttpServerResponse response = handler(request);
    m_requestsServed.fetch_add(1);
    return response;
}

LocalHttpServerThread::LocalHttpServerThread(LocalHttpServer::Handler handler, quint16 port)
    : m_thread(std::make_unique<QThread>()), m_server(std::make_unique<LocalHttpServer>())
{
    m_thread->setObjectName(QStringLiteral("vega-local-http"));
    m_server->setHandler(std::move(handler));
    m_server->moveToThread(m_thread.get());
    m_thread->start();
    // Shared so a listen that finishes after our timeout still has somewhere to report.
    auto started = std::make_shared<QSemaphore>();
    LocalHttpServer *server = m_server.get();
    QMetaObject::invokeMethod(
        server,
        [server, port, started] {
            server->listen(QHostAddress::LocalHost, port);
            started->release();
        },
        Qt::QueuedConnection);
    if (!started->tryAcquire(1, kStartTimeoutMs))
        qCWarning(lcLocalHttp) << "local HTTP server thread did not start listening in time";
}

LocalHttpServerThread::~LocalHttpServerThread()
{
    QThread *caller = QThread::currentThread();
    LocalHttpServer *server = m_server.get();
    // Sockets must be closed on the thread whose event dispatcher watches them; the server
    // then moves back here so it can be deleted once its thread has ended.
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
