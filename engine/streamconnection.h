#pragma once

#include "requestkey.h"

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QUrl>

#include <deque>
#include <functional>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace vega {

/**
 * One streaming HTTP/1.1 request on its own TCP (or TLS) connection, read strictly on demand.
 *
 * The stream relay uses this rather than QNetworkAccessManager because a stream must tell a
 * clean end from a cut one, and Qt 6.4's HTTP stack does not: a chunked body cut by the peer
 * can be reported as a successful finish, and a reset that arrives while a reply's read
 * buffer is limited can go unreported. Here the socket's read buffer is bounded
 * (QAbstractSocket::setReadBufferSize): when the owner stops calling read(), Qt stops reading
 * the socket and TCP flow control slows the sender. The body (Content-Length, chunked, or
 * delimited by close) ends cleanly only when its framing says so; a close or reset before
 * that is an error.
 *
 * Sends "Connection: close" and "Accept-Encoding: identity" (unless the caller gave one);
 * bodies are passed on as received (not decompressed). No proxy, redirect or authentication
 * handling. Callbacks run on the thread the connection lives on, never from inside start()
 * or read().
 */
class StreamConnection : public QObject {
public:
    struct Callbacks {
        std::function<void()> headersReceived; ///< status() and headers() are set
        std::function<void()> readyRead;       ///< body bytes may be available
        std::function<void()> finished;        ///< the body ended cleanly and was read out
        std::function<void(const QString &)> failed;
    };

    static constexpr qsizetype kMaxHeadBytes = 64 * 1024;

    /// @p readBufferBytes bounds the socket's buffer and the decoded bytes held here.
    StreamConnection(qint64 readBufferBytes, Callbacks callbacks, QObject *parent = nullptr);
    ~StreamConnection() override;

    void start(const QByteArray &method, const QUrl &url, const HeaderList &headers, const QByteArray &body);
    /// Closes the connection at once; no callback follows.
    void abort();

    int status() const { return m_status; }
    QByteArray reasonPhrase() const { return m_reason; }
    const HeaderList &headers() const { return m_headers; }
    /// Up to @p maxBytes of the body, decoding more from the socket as needed. Reaching the
    /// end (or a failure) here reports it through the callbacks, queued.
    QByteArray read(qint64 maxBytes);
    /// Bytes in the socket's buffer (raw) plus decoded bytes not read yet.
    qint64 bufferedBytes() const;
    bool isDone() const { return m_phase == Phase::Done || m_phase == Phase::Failed; }

private:
    enum class Phase { Connecting, Head, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Done, Failed };
    enum class Framing { None, Length, Chunked, UntilClose };

    void onReadyRead();
    void onClosed();
    void pull();
    bool parseHead();
    void decode();
    bool takeLine(QByteArray *line);
    void fail(const QString &message);
    void finishIfDrained();
    void notify(const std::function<void()> &callback);

    qint64 m_limit;
    Callbacks m_callbacks;
    QTcpSocket *m_socket = nullptr;
    QString m_peer;
    QByteArray m_method;
    QByteArray m_raw;                // undecoded bytes taken from the socket
    std::deque<QByteArray> m_body;   // decoded body bytes not read yet
    qint64 m_bodyBuffered = 0;
    Phase m_phase = Phase::Connecting;
    Framing m_framing = Framing::None;
    qint64 m_remaining = 0; // of the Content-Length body or the current chunk
    qint64 m_bodyBytes = 0; // decoded so far
    int m_status = 0;
    QByteArray m_reason;
    HeaderList m_headers;
    bool m_socketClosed = false;
    bool m_endReported = false;
    bool m_aborted = false;
    bool m_readyReadQueued = false;
};

} // namespace vega
