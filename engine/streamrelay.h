#pragma once

#include "clock.h"
#include "requestkey.h"
#include "streamsse.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <atomic>
#include <deque>
#include <memory>

namespace vega {

class Counter;
class Gauge;
class Histogram;
class MetricsRegistry;
class StreamRelay;

namespace detail {
class StreamUpstream;
}

/// What happens to a subscriber whose buffer reaches its high watermark.
enum class SlowConsumerPolicy {
    /// Backpressure: the relay stops reading the upstream until every Wait subscriber of the
    /// stream is back at or below its low watermark. Nothing is lost; the slowest Wait
    /// subscriber sets the pace of the whole (shared) stream.
    Wait,
    /// Lossy: the oldest buffered chunks are dropped (and counted) so the buffer stays at or
    /// below the high watermark. Never slows the upstream. For metric/telemetry streams.
    DropOldest,
    /// The subscriber keeps every byte but never slows the upstream; once its buffer has been
    /// above the high watermark for slowTimeoutMs (or reaches twice the high watermark at
    /// once) it is disconnected with an error. Other subscribers continue.
    Disconnect,
};
QString slowConsumerPolicyName(SlowConsumerPolicy policy);

/// Relay-wide defaults; the config keys `streaming.*` map onto these fields one to one.
struct StreamConfig {
    qint64 highWatermarkBytes = 1024 * 1024; ///< streaming.high_watermark_bytes
    qint64 lowWatermarkBytes = 256 * 1024;   ///< streaming.low_watermark_bytes
    /// Most bytes taken from the upstream in one read, and the bound of the upstream socket's
    /// read buffer (QAbstractSocket::setReadBufferSize): what the relay holds beyond the
    /// watermarks (about two of these per upstream, one of them per Wait subscriber).
    qint64 readChunkBytes = 64 * 1024;        ///< streaming.read_chunk_bytes
    qint64 replayLimitBytes = 8 * 1024 * 1024; ///< streaming.replay_limit_bytes (shared streams)
    int slowTimeoutMs = 10000;                ///< streaming.slow_timeout_ms (Disconnect policy)
    int firstByteTimeoutMs = 30000;           ///< streaming.first_byte_timeout_ms
    int idleTimeoutMs = 0;                    ///< streaming.idle_timeout_ms (0 = none)
    qint64 maxSseEventBytes = SseParser::kDefaultMaxEventBytes; ///< streaming.max_sse_event_bytes

    /// Problems with the values, each naming the field and the value ("" when valid).
    QStringList problems() const;
};

/// One streaming request. Numeric fields <= 0 take the relay's StreamConfig default.
struct StreamRequest {
    QUrl url;
    QByteArray method = QByteArrayLiteral("GET");
    HeaderList headers;
    QByteArray body;
    /// Opt in to sharing: requests with the same requestKey() that also opted in share one
    /// upstream; a late joiner first gets the bytes since the start (see replayLimitBytes).
    bool shared = false;
    SlowConsumerPolicy policy = SlowConsumerPolicy::Wait;
    qint64 highWatermarkBytes = 0;
    qint64 lowWatermarkBytes = 0; ///< must be below the high watermark
    int slowTimeoutMs = 0;        ///< Disconnect policy: how long above the high watermark
    // Upstream settings: on a shared stream, the first subscriber's apply.
    int firstByteTimeoutMs = 0; ///< from open() to the first body byte
    int idleTimeoutMs = 0;      ///< longest gap between body bytes while reading (not paused)
    qint64 replayLimitBytes = 0;
    /// Parse the body as server-sent events: eventReceived() is emitted per event and the
    /// bytes are consumed as they arrive (read() then returns nothing).
    bool parseSse = false;
};

/**
 * A consumer's handle on a stream. Every subscription has its own bounded buffer; read()
 * takes bytes from it. Ends with exactly one of finished() (the upstream ended cleanly; what
 * is still buffered can be read) or errorOccurred() (the upstream failed, answered a non-2xx
 * status, timed out, or this subscriber was disconnected as too slow); close() ends it
 * silently. All signals are emitted on the relay's thread, never from inside open().
 *
 * The subscription is a child of the relay: delete it (or deleteLater()) when done; deleting
 * counts as close(). Closing the last subscriber of a stream aborts the upstream request.
 */
class StreamSubscription : public QObject {
    Q_OBJECT
public:
    enum class State { Open, Finished, Failed, Closed };

    ~StreamSubscription() override;

    /// Up to @p maxBytes buffered bytes, in stream order (empty when none).
    QByteArray read(qint64 maxBytes);
    QByteArray readAll() { return read(m_buffered); }
    qint64 bytesAvailable() const { return m_buffered; }
    /// The upstream ended (cleanly or not) and nothing is left to read.
    bool atEnd() const { return m_state != State::Open && m_buffered == 0; }
    /// Stops receiving; no signal follows. Idempotent.
    void close();

    State state() const { return m_state; }
    QString errorString() const { return m_error; }
    SlowConsumerPolicy policy() const { return m_policy; }
    qint64 highWatermarkBytes() const { return m_high; }
    qint64 lowWatermarkBytes() const { return m_low; }
    /// HTTP status and headers of the upstream response (0 / empty until they arrived). On a
    /// shared stream, Set-Cookie is removed for every subscriber but the first.
    int statusCode() const { return m_status; }
    HeaderList responseHeaders() const { return m_headers; }

    /// This subscriber joined a stream another request had started.
    bool joined() const { return m_joined; }
    /// Bytes of the stream before this subscriber joined, replayed to it first.
    qint64 replayedBytes() const { return m_replayed; }
    qint64 bytesRead() const { return m_bytesRead; }
    /// The most this subscription ever had buffered.
    qint64 peakBufferedBytes() const { return m_peakBuffered; }
    quint64 droppedChunks() const { return m_droppedChunks; }
    qint64 droppedBytes() const { return m_droppedBytes; }

    /// Live StreamSubscription objects in the process (for the memory monitor).
    static int liveCount() { return s_live.load(std::memory_order_relaxed); }

Q_SIGNALS:
    void readyRead();
    void eventReceived(const QByteArray &data, const QByteArray &type, const QByteArray &lastEventId);
    void finished();
    void errorOccurred(const QString &message);

private:
    friend class StreamRelay;
    friend class detail::StreamUpstream;
    StreamSubscription(StreamRelay *relay, const StreamRequest &request, qint64 high, qint64 low, int slowTimeoutMs,
                       qint64 maxSseEventBytes);

    bool holdsUpstream() const { return m_policy == SlowConsumerPolicy::Wait && m_state == State::Open; }
    // Called by the upstream (and the relay). May emit signals, except before announce().
    void deliver(const QByteArray &chunk, qint64 nowNs);
    void setResponse(int status, const HeaderList &headers);
    void finishOk();
    void fail(const QString &message);
    /// First signals, queued after open(): the replayed prefix, an early end or error.
    void announce();
    void applyPolicy(qint64 nowNs);
    void dropFront();
    void drainSse();
    void addBuffered(qint64 delta);
    void checkSlow(qint64 nowNs);
    void disconnectSlow(const QString &why);

    StreamRelay *m_relay;
    detail::StreamUpstream *m_upstream = nullptr;
    SlowConsumerPolicy m_policy;
    qint64 m_high;
    qint64 m_low;
    int m_slowTimeoutMs;
    bool m_parseSse;
    std::unique_ptr<SseParser> m_sse;

    std::deque<QByteArray> m_chunks; // buffered, oldest first; the front one from m_headOffset
    qsizetype m_headOffset = 0;
    qint64 m_buffered = 0;
    qint64 m_peakBuffered = 0;
    qint64 m_prefixUnread = 0; // replayed bytes not read yet: not counted against the 2x cap
    qint64 m_bytesRead = 0;
    qint64 m_replayed = 0;
    quint64 m_droppedChunks = 0;
    qint64 m_droppedBytes = 0;
    qint64 m_overHighSinceNs = -1; // Disconnect policy: when the buffer went above high
    int m_slowTimerId = 0;

    State m_state = State::Open;
    QString m_error;
    int m_status = 0;
    HeaderList m_headers;
    bool m_joined = false;
    bool m_announced = false;

    static std::atomic<int> s_live;

protected:
    void timerEvent(QTimerEvent *event) override;
};

/// One upstream stream as the console shows it.
struct StreamInfo {
    QString request; ///< "GET http://host/path?q=…" (query values hidden)
    QUrl url;        ///< without user info and query
    bool shared = false;
    bool paused = false;
    bool replayAvailable = false; ///< a shared stream late joiners can still join
    int status = 0;
    int subscribers = 0;
    qint64 bufferedBytes = 0;        ///< over its subscribers
    qint64 maxSubscriberBuffered = 0; ///< the most behind subscriber
    qint64 replayBytes = 0;
    qint64 upstreamBufferedBytes = 0; ///< waiting in the upstream connection (socket + decoded)
    qint64 peakUpstreamBufferedBytes = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
    quint64 pauses = 0;
    double inBytesPerSecond = 0;  ///< recent (exponentially decayed over ~1 s)
    double outBytesPerSecond = 0; ///< recent, over its subscribers
    qint64 ageMs = 0;
    qint64 timeToFirstByteMs = -1;
};

/// What the relay publishes for the snapshot and the Streams page.
struct StreamRelaySummary {
    QList<StreamInfo> streams; ///< oldest first
    int activeStreams = 0;
    int subscribers = 0;
    qint64 bufferedBytes = 0;
    quint64 streamsOpened = 0;
    quint64 pauses = 0;
    quint64 resumes = 0;
    quint64 droppedChunks = 0;
    quint64 disconnects = 0;
    quint64 sharedJoins = 0;
    quint64 bytesIn = 0;
    quint64 bytesOut = 0;
};

/**
 * Relays streamed HTTP responses (chunked bodies, server-sent events) to subscribers with
 * bounded memory whatever the sender does.
 *
 * Each upstream is one HTTP/1.1 connection (StreamConnection) whose socket read buffer is
 * limited to readChunkBytes; the relay takes at most readChunkBytes at a time from it. When a
 * Wait subscriber's buffer reaches its high watermark the relay stops reading: the socket's
 * buffer fills, Qt stops reading the socket and TCP flow control slows the sender. Reading
 * resumes once every Wait subscriber is at or below its low watermark. A Wait subscriber
 * therefore never holds more than its high watermark + one read chunk; a DropOldest one never
 * more than its high watermark (or one chunk); a Disconnect one less than twice its high
 * watermark (plus a replayed prefix). A body cut before its framing says it ended (chunked
 * terminator, Content-Length) is an error for every subscriber, never a clean finish.
 *
 * Shared streams (StreamRequest::shared, same requestKey()) run one upstream request; the
 * relay keeps the stream's bytes from the start while they total at most replayLimitBytes,
 * and a joiner first receives them, then the live chunks. A stream past its replay limit, or
 * already ended, cannot be joined: a later identical request starts its own upstream.
 *
 * Lives on one thread; never blocks it. One connection per upstream ("Connection: close"), so
 * streams are not limited by a per-host connection pool.
 */
class StreamRelay : public QObject {
    Q_OBJECT
public:
    StreamRelay(MetricsRegistry *registry, Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~StreamRelay() override;

    /// Defaults for streams opened afterwards. Invalid values are rejected (false, with the
    /// problems in @p error when given) and the previous config is kept.
    bool setConfig(const StreamConfig &config, QString *error = nullptr);
    const StreamConfig &config() const { return m_config; }

    /// Opens (or joins) a stream. Never returns null: an invalid request gives a subscription
    /// that emits errorOccurred() with the problem shortly after.
    StreamSubscription *open(const StreamRequest &request);

    StreamRelaySummary summary() const;

    int activeStreams() const { return int(m_upstreams.size()); }

    /// Live streams (upstreams) in the process (for the memory monitor).
    static int liveStreamCount();
    /// Live subscriptions in the process (for the memory monitor).
    static int liveSubscriptionCount() { return StreamSubscription::liveCount(); }

private:
    friend class StreamSubscription;
    friend class detail::StreamUpstream;
    struct Metrics {
        Gauge *active = nullptr;
        Gauge *subscribers = nullptr;
        Gauge *buffered = nullptr;
        Gauge *replay = nullptr;
        Counter *opened = nullptr;
        Counter *pauses = nullptr;
        Counter *resumes = nullptr;
        Counter *bytesIn = nullptr;
        Counter *bytesOut = nullptr;
        Counter *droppedChunks = nullptr;
        Counter *droppedBytes = nullptr;
        Counter *disconnects = nullptr;
        Counter *sharedJoins = nullptr;
        Counter *errors = nullptr;
        Histogram *timeToFirstByte = nullptr;
    };
    void upstreamGone(detail::StreamUpstream *upstream);
    void failLater(StreamSubscription *subscription, const QString &message);

    MetricsRegistry *m_registry;
    Clock *m_clock;
    StreamConfig m_config;
    Metrics m_metrics;
    QList<detail::StreamUpstream *> m_upstreams;                // live, oldest first
    QHash<QByteArray, detail::StreamUpstream *> m_joinable;     // shared streams that can be joined
    StreamRelaySummary m_totals;                                // counters part only
    bool m_destroying = false;
};

} // namespace vega
