#include "streamconnection.h"

#include <QTcpSocket>
#if QT_CONFIG(ssl)
#include <QSslSocket>
#endif

#include <algorithm>
#include <utility>

namespace vega {

namespace {

constexpr qsizetype kMaxLineBytes = 4096; // chunk-size and trailer lines
constexpr qint64 kMinPullBytes = 4096;

bool isHeader(const QByteArray &name, const char *expected)
{
    return name.compare(expected, Qt::CaseInsensitive) == 0;
}

} // namespace

StreamConnection::StreamConnection(qint64 readBufferBytes, Callbacks callbacks, QObject *parent)
    : QObject(parent), m_limit(std::max<qint64>(kMinPullBytes, readBufferBytes)), m_callbacks(std::move(callbacks))
{
}

StreamConnection::~StreamConnection()
{
    abort();
}

void StreamConnection::start(const QByteArray &method, const QUrl &url, const HeaderList &headers,
                             const QByteArray &body)
{
    m_method = method;
    const bool tls = url.scheme().compare(QLatin1String("https"), Qt::CaseInsensitive) == 0;
    const quint16 port = quint16(url.port(tls ? 443 : 80));
    m_peer = url.host() + QLatin1Char(':') + QString::number(port);
#if QT_CONFIG(ssl)
    if (tls)
        m_socket = new QSslSocket(this);
    else
        m_socket = new QTcpSocket(this);
#else
    if (tls) {
        m_phase = Phase::Failed;
        m_endReported = true;
        QMetaObject::invokeMethod(
            this, [this] { m_callbacks.failed(QStringLiteral("https is not available (Qt built without TLS)")); },
            Qt::QueuedConnection);
        return;
    }
    m_socket = new QTcpSocket(this);
#endif
    // The bound that turns "not reading" into TCP flow control: once this much waits in the
    // socket, Qt stops reading it and the kernel's receive window fills.
    m_socket->setReadBufferSize(m_limit);
    connect(m_socket, &QTcpSocket::readyRead, this, &StreamConnection::onReadyRead);
    connect(m_socket, &QTcpSocket::disconnected, this, &StreamConnection::onClosed);
    connect(m_socket, &QTcpSocket::errorOccurred, this, [this](QAbstractSocket::SocketError error) {
        if (error == QAbstractSocket::RemoteHostClosedError)
            onClosed(); // reset or FIN: the framing decides whether that was the end
        else if (!m_socketClosed)
            fail(QStringLiteral("%1: %2").arg(m_peer, m_socket->errorString()));
    });

    QByteArray target = url.path(QUrl::FullyEncoded).toLatin1();
    if (target.isEmpty())
        target = "/";
    if (url.hasQuery())
        target += '?' + url.query(QUrl::FullyEncoded).toLatin1();
    QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
    if (host.contains(':'))
        host = '[' + host + ']';
    if (url.port() != -1)
        host += ':' + QByteArray::number(url.port());
    QByteArray head = method + ' ' + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n";
    bool hasEncoding = false;
    for (const auto &h : headers) {
        if (isHeader(h.first, "host") || isHeader(h.first, "connection") || isHeader(h.first, "content-length") ||
            isHeader(h.first, "transfer-encoding"))
            continue;
        hasEncoding = hasEncoding || isHeader(h.first, "accept-encoding");
        head += h.first + ": " + h.second + "\r\n";
    }
    if (!hasEncoding)
        head += "Accept-Encoding: identity\r\n";
    if (!body.isEmpty() || (method != "GET" && method != "HEAD"))
        head += "Content-Length: " + QByteArray::number(body.size()) + "\r\n";
    head += "\r\n";
    head += body;
    m_phase = Phase::Head;
#if QT_CONFIG(ssl)
    if (tls)
        static_cast<QSslSocket *>(m_socket)->connectToHostEncrypted(url.host(), port);
    else
        m_socket->connectToHost(url.host(), port);
#else
    m_socket->connectToHost(url.host(), port);
#endif
    m_socket->write(head); // buffered until connected (or encrypted)
}

void StreamConnection::abort()
{
    m_aborted = true; // nothing more is reported
    m_endReported = true;
    if (!m_socket)
        return;
    QTcpSocket *socket = std::exchange(m_socket, nullptr);
    socket->disconnect(this);
    socket->abort();
    socket->deleteLater();
}

qint64 StreamConnection::bufferedBytes() const
{
    return (m_socket ? m_socket->bytesAvailable() : 0) + m_raw.size() + m_bodyBuffered;
}

QByteArray StreamConnection::read(qint64 maxBytes)
{
    if (m_bodyBuffered < maxBytes)
        pull();
    QByteArray out;
    if (maxBytes > 0 && m_bodyBuffered > 0) {
        qint64 want = std::min(maxBytes, m_bodyBuffered);
        if (m_body.front().size() == want) {
            out = std::move(m_body.front());
            m_body.pop_front();
        } else {
            out.reserve(want);
            while (want > 0) {
                QByteArray &front = m_body.front();
                const qint64 take = std::min<qint64>(want, front.size());
                out.append(front.constData(), take);
                want -= take;
                if (take == front.size())
                    m_body.pop_front();
                else
                    front.remove(0, take);
            }
        }
        m_bodyBuffered -= out.size();
    }
    finishIfDrained();
    return out;
}

void StreamConnection::onReadyRead()
{
    const bool before = m_status != 0;
    pull();
    if (!before && m_status != 0)
        notify(m_callbacks.headersReceived);
    if (m_bodyBuffered > 0 && !m_readyReadQueued) {
        m_readyReadQueued = true;
        QMetaObject::invokeMethod(
            this,
            [this] {
                m_readyReadQueued = false;
                if (!m_aborted)
                    m_callbacks.readyRead();
            },
            Qt::QueuedConnection);
    }
}

void StreamConnection::onClosed()
{
    if (m_socketClosed)
        return;
    m_socketClosed = true;
    onReadyRead(); // what the socket still holds is decoded first
}

void StreamConnection::pull()
{
    if (!m_socket)
        return;
    for (;;) {
        decode();
        if (m_phase == Phase::Done || m_phase == Phase::Failed || m_bodyBuffered >= m_limit)
            break;
        if (m_socket->bytesAvailable() <= 0)
            break;
        m_raw += m_socket->read(std::max(kMinPullBytes, m_limit - m_bodyBuffered));
    }
    if (m_socketClosed && m_socket->bytesAvailable() <= 0 && m_phase != Phase::Done && m_phase != Phase::Failed) {
        if (m_phase == Phase::Body && m_framing == Framing::UntilClose) {
            m_phase = Phase::Done;
        } else if (m_phase == Phase::Head || m_phase == Phase::Connecting) {
            fail(QStringLiteral("%1 closed the connection before a complete response head").arg(m_peer));
        } else {
            fail(QStringLiteral("%1 closed the connection after %2 body bytes, before the end of the %3 body")
                     .arg(m_peer)
                     .arg(m_bodyBytes)
                     .arg(m_framing == Framing::Chunked ? QStringLiteral("chunked") : QStringLiteral("Content-Length")));
        }
    }
    finishIfDrained();
}

bool StreamConnection::takeLine(QByteArray *line)
{
    const qsizetype lf = m_raw.indexOf('\n');
    if (lf < 0) {
        if (m_raw.size() > kMaxLineBytes)
            fail(QStringLiteral("%1 sent a line longer than %2 bytes in the chunked body").arg(m_peer).arg(kMaxLineBytes));
        return false;
    }
    *line = m_raw.left(lf > 0 && m_raw.at(lf - 1) == '\r' ? lf - 1 : lf);
    m_raw.remove(0, lf + 1);
    return true;
}

bool StreamConnection::parseHead()
{
    const qsizetype end = m_raw.indexOf("\r\n\r\n");
    if (end < 0) {
        if (m_raw.size() > kMaxHeadBytes)
            fail(QStringLiteral("%1 sent a response head larger than %2 bytes").arg(m_peer).arg(kMaxHeadBytes));
        return false;
    }
    const QList<QByteArray> lines = m_raw.left(end).split('\n');
    m_raw.remove(0, end + 4);
    const QByteArray statusLine = lines.first().trimmed();
    const QList<QByteArray> parts = statusLine.split(' ');
    bool ok = false;
    const int status = parts.value(1).toInt(&ok);
    if (!statusLine.startsWith("HTTP/1.") || !ok || status < 100 || status > 999) {
        fail(QStringLiteral("%1 sent an invalid status line: \"%2\"").arg(m_peer, QString::fromLatin1(statusLine.left(100))));
        return false;
    }
    HeaderList headers;
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QByteArray line = lines.at(i).trimmed();
        const qsizetype colon = line.indexOf(':');
        if (colon <= 0) {
            fail(QStringLiteral("%1 sent an invalid header line: \"%2\"").arg(m_peer, QString::fromLatin1(line.left(100))));
            return false;
        }
        headers.append({line.left(colon).trimmed(), line.mid(colon + 1).trimmed()});
    }
    if (status >= 100 && status < 200 && status != 101)
        return true; // interim response (100 Continue...): the real head follows
    m_status = status;
    m_reason = parts.mid(2).join(' ');
    m_headers = headers;
    const QByteArray te = headerValue(headers, "transfer-encoding").toLower();
    const QByteArray length = headerValue(headers, "content-length").trimmed();
    if (m_method == "HEAD" || status == 204 || status == 304) {
        m_phase = Phase::Done;
    } else if (te.contains("chunked")) {
        m_framing = Framing::Chunked;
        m_phase = Phase::ChunkSize;
    } else if (!length.isEmpty()) {
        m_remaining = length.toLongLong(&ok);
        if (!ok || m_remaining < 0) {
            fail(QStringLiteral("%1 sent an invalid Content-Length: \"%2\"").arg(m_peer, QString::fromLatin1(length.left(40))));
            return false;
        }
        m_framing = Framing::Length;
        m_phase = m_remaining == 0 ? Phase::Done : Phase::Body;
    } else {
        m_framing = Framing::UntilClose;
        m_phase = Phase::Body;
    }
    return true;
}

void StreamConnection::decode()
{
    auto takeBody = [this](qint64 n) {
        if (n <= 0)
            return;
        m_body.push_back(n == m_raw.size() ? std::exchange(m_raw, QByteArray()) : m_raw.left(n));
        if (!m_raw.isEmpty())
            m_raw.remove(0, n);
        m_bodyBuffered += n;
        m_bodyBytes += n;
    };
    for (;;) {
        switch (m_phase) {
        case Phase::Connecting:
        case Phase::Done:
        case Phase::Failed:
            return;
        case Phase::Head:
            if (!parseHead())
                return;
            break;
        case Phase::Body:
            if (m_framing == Framing::UntilClose) {
                takeBody(m_raw.size());
                return;
            } else {
                const qint64 n = std::min<qint64>(m_remaining, m_raw.size());
                takeBody(n);
                m_remaining -= n;
                if (m_remaining == 0)
                    m_phase = Phase::Done;
                if (m_raw.isEmpty() || m_phase == Phase::Done)
                    return;
            }
            break;
        case Phase::ChunkSize: {
            QByteArray line;
            if (!takeLine(&line))
                return;
            const qsizetype semi = line.indexOf(';');
            const QByteArray hex = (semi < 0 ? line : line.left(semi)).trimmed();
            bool ok = false;
            const qint64 size = hex.toLongLong(&ok, 16);
            if (!ok || size < 0 || hex.size() > 15) {
                fail(QStringLiteral("%1 sent an invalid chunk size: \"%2\"").arg(m_peer, QString::fromLatin1(hex.left(40))));
                return;
            }
            m_remaining = size;
            m_phase = size == 0 ? Phase::Trailers : Phase::ChunkData;
            break;
        }
        case Phase::ChunkData: {
            const qint64 n = std::min<qint64>(m_remaining, m_raw.size());
            takeBody(n);
            m_remaining -= n;
            if (m_remaining > 0)
                return;
            m_phase = Phase::ChunkDataEnd;
            break;
        }
        case Phase::ChunkDataEnd: {
            QByteArray line;
            if (!takeLine(&line))
                return;
            if (!line.isEmpty()) {
                fail(QStringLiteral("%1 sent chunk data longer than its size").arg(m_peer));
                return;
            }
            m_phase = Phase::ChunkSize;
            break;
        }
        case Phase::Trailers: {
            QByteArray line;
            if (!takeLine(&line))
                return;
            if (line.isEmpty())
                m_phase = Phase::Done;
            break;
        }
        }
    }
}

void StreamConnection::fail(const QString &message)
{
    if (m_phase == Phase::Failed)
        return;
    m_phase = Phase::Failed;
    if (m_endReported)
        return;
    m_endReported = true;
    // Bytes decoded before the failure stay readable: the owner may take them first.
    QMetaObject::invokeMethod(
        this,
        [this, message] {
            if (m_aborted)
                return;
            if (m_socket) {
                m_socket->disconnect(this);
                m_socket->abort();
            }
            m_callbacks.failed(message);
        },
        Qt::QueuedConnection);
}

void StreamConnection::finishIfDrained()
{
    if (m_phase != Phase::Done || m_bodyBuffered > 0 || m_endReported)
        return;
    m_endReported = true;
    if (m_socket) {
        m_socket->disconnect(this);
        m_socket->disconnectFromHost();
    }
    notify(m_callbacks.finished);
}

void StreamConnection::notify(const std::function<void()> &callback)
{
    if (!callback)
        return;
    QMetaObject::invokeMethod(
        this,
        [this, callback] {
            if (!m_aborted)
                callback();
        },
        Qt::QueuedConnection);
}

} // namespace vega
