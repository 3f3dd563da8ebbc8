#include "streamrelay.h"

#include "metrics.h"
#include "streamconnection.h"

#include <QBasicTimer>
#include <QPointer>
#include <QTimerEvent>

#include <algorithm>
#include <cmath>

namespace vega {

namespace {

constexpr qint64 kNsPerMs = 1000000;
constexpr double kRateTauNs = 1e9; // time constant of the decayed throughput estimates

/// A throughput estimate: the sum of n·e^(-age/tau)/tau over recent additions, in bytes/s.
struct DecayedRate {
    double value = 0;
    qint64 atNs = 0;

    void add(qint64 bytes, qint64 nowNs)
    {
        value = at(nowNs) + double(bytes) * 1e9 / kRateTauNs;
        atNs = nowNs;
    }
    double at(qint64 nowNs) const
    {
        if (atNs == 0)
            return 0;
        return value * std::exp(-double(std::max<qint64>(0, nowNs - atNs)) / kRateTauNs);
    }
};

bool isSetCookie(const QByteArray &name)
{
    return name.compare("set-cookie", Qt::CaseInsensitive) == 0;
}

HeaderList withoutSetCookie(const HeaderList &headers)
{
    HeaderList out;
    for (const auto &h : headers) {
        if (!isSetCookie(h.first))
            out.append(h);
    }
    return out;
}

QString urlForMessages(const QUrl &url)
{
    return url.toString(QUrl::RemoveUserInfo | QUrl::RemoveQuery | QUrl::RemoveFragment);
}

std::atomic<int> s_liveStreams{0};

} // namespace

QString slowConsumerPolicyName(SlowConsumerPolicy policy)
{
    switch (policy) {
    case SlowConsumerPolicy::Wait:
        return QStringLiteral("wait");
    case SlowConsumerPolicy::DropOldest:
        return QStringLiteral("drop_oldest");
    case SlowConsumerPolicy::Disconnect:
        return QStringLiteral("disconnect");
    }
    return QString();
}

QStringList StreamConfig::problems() const
{
    QStringList out;
    auto positive = [&out](const char *name, qint64 value) {
        if (value <= 0)
            out << QStringLiteral("%1: must be positive (value: %2)").arg(QLatin1String(name)).arg(value);
    };
    positive("high_watermark_bytes", highWatermarkBytes);
    positive("read_chunk_bytes", readChunkBytes);
    positive("slow_timeout_ms", slowTimeoutMs);
    positive("first_byte_timeout_ms", firstByteTimeoutMs);
    positive("max_sse_event_bytes", maxSseEventBytes);
    if (lowWatermarkBytes < 0 || (highWatermarkBytes > 0 && lowWatermarkBytes >= highWatermarkBytes))
        out << QStringLiteral("low_watermark_bytes: must be >= 0 and below high_watermark_bytes (%1) (value: %2)")
                   .arg(highWatermarkBytes)
                   .arg(lowWatermarkBytes);
    if (replayLimitBytes < 0)
        out << QStringLiteral("replay_limit_bytes: must be >= 0 (value: %1)").arg(replayLimitBytes);
    if (idleTimeoutMs < 0)
        out << QStringLiteral("idle_timeout_ms: must be >= 0, 0 for none (value: %1)").arg(idleTimeoutMs);
    return out;
}

// ---------------------------------------------------------------------------------------

namespace detail {

/// One upstream request and its subscribers. Internal to the relay; lives from open() until
/// the stream ended or lost its last subscriber, then is deleted (later).
class StreamUpstream : public QObject {
public:
    StreamUpstream(StreamRelay *relay, const StreamRequest &request, QByteArray key, const StreamConfig &defaults)
        : QObject(relay), m_relay(relay), m_request(request), m_key(std::move(key)), m_shared(request.shared)
    {
        m_readChunk = defaults.readChunkBytes;
        m_replayLimit = request.replayLimitBytes > 0 ? request.replayLimitBytes : defaults.replayLimitBytes;
        m_firstByteTimeoutMs = request.firstByteTimeoutMs > 0 ? request.firstByteTimeoutMs : defaults.firstByteTimeoutMs;
        m_idleTimeoutMs = request.idleTimeoutMs > 0 ? request.idleTimeoutMs : defaults.idleTimeoutMs;
        m_startNs = relay->m_clock->nowNs();
        m_display = displayKey(m_key);
        s_liveStreams.fetch_add(1, std::memory_order_relaxed);
    }

    ~StreamUpstream() override
    {
        dropConnection();
        s_liveStreams.fetch_sub(1, std::memory_order_relaxed);
    }

    const QByteArray &key() const { return m_key; }
    bool joinable() const { return m_shared && !m_ended && !m_replayExceeded; }

    void start()
    {
        StreamConnection::Callbacks callbacks;
        callbacks.headersReceived = [this] { onHeaders(); };
        callbacks.readyRead = [this] { pump(); };
        callbacks.finished = [this] { onConnectionFinished(); };
        callbacks.failed = [this](const QString &message) { onConnectionFailed(message); };
        m_conn = new StreamConnection(m_readChunk, std::move(callbacks), this);
        m_conn->start(m_request.method, m_request.url, m_request.headers, m_request.body);
        m_timer.start(m_firstByteTimeoutMs, Qt::CoarseTimer, this);
    }

    void addSubscriber(StreamSubscription *s, bool joiner)
    {
        s->m_upstream = this;
        s->m_joined = joiner;
        m_subscribers.append(s);
        m_relay->m_metrics.subscribers->add(1);
        if (m_status != 0)
            s->setResponse(m_status, joiner ? withoutSetCookie(m_headers) : m_headers);
        if (joiner && m_replayBytes > 0) {
            // Chunks are implicitly shared with the replay buffer: a joiner costs no copy.
            for (const QByteArray &chunk : m_replay)
                s->m_chunks.push_back(chunk);
            s->m_replayed = m_replayBytes;
            s->m_prefixUnread = m_replayBytes;
            s->addBuffered(m_replayBytes);
            s->applyPolicy(m_relay->m_clock->nowNs());
            updatePause();
        }
    }

    /// A subscriber closed, failed on its own or was disconnected. The last one leaving
    /// aborts the upstream request.
    void removeSubscriber(StreamSubscription *s)
    {
        if (!m_subscribers.removeOne(s))
            return;
        s->m_upstream = nullptr;
        m_relay->m_metrics.subscribers->add(-1);
        if (m_ended)
            return;
        if (m_subscribers.isEmpty()) {
            m_ended = true;
            dropConnection();
            m_relay->upstreamGone(this);
            return;
        }
        maybeResume();
    }

    /// Resumes reading once every Wait subscriber is at or below its low watermark.
    void maybeResume()
    {
        if (!m_paused || m_ended)
            return;
        for (StreamSubscription *s : std::as_const(m_subscribers)) {
            if (s->holdsUpstream() && s->m_buffered > s->m_low)
                return;
        }
        m_paused = false;
        m_relay->m_metrics.resumes->inc();
        ++m_relay->m_totals.resumes;
        // Not from inside read(): the consumer's slot must not be re-entered.
        if (!m_pumpScheduled) {
            m_pumpScheduled = true;
            QMetaObject::invokeMethod(
                this,
                [this] {
                    m_pumpScheduled = false;
                    pump();
                },
                Qt::QueuedConnection);
        }
    }

    void noteOut(qint64 bytes, qint64 nowNs)
    {
        m_bytesOut += quint64(bytes);
        m_outRate.add(bytes, nowNs);
    }

    /// Detaches every subscriber without a signal (the relay is being destroyed).
    void detachAll()
    {
        for (StreamSubscription *s : std::as_const(m_subscribers))
            s->m_upstream = nullptr;
        m_relay->m_metrics.subscribers->add(-double(m_subscribers.size()));
        m_subscribers.clear();
        m_ended = true;
        dropConnection();
    }

    StreamInfo info(qint64 nowNs) const
    {
        StreamInfo i;
        i.request = m_display;
        i.url = m_request.url.adjusted(QUrl::RemoveUserInfo | QUrl::RemoveQuery | QUrl::RemoveFragment);
        i.shared = m_shared;
        i.paused = m_paused;
        i.replayAvailable = joinable();
        i.status = m_status;
        i.subscribers = int(m_subscribers.size());
        for (const StreamSubscription *s : m_subscribers) {
            i.bufferedBytes += s->m_buffered;
            i.maxSubscriberBuffered = std::max(i.maxSubscriberBuffered, s->m_buffered);
        }
        i.replayBytes = m_replayBytes;
        i.upstreamBufferedBytes = m_conn ? m_conn->bufferedBytes() : 0;
        i.peakUpstreamBufferedBytes = m_peakConnBuffered;
        i.bytesIn = m_bytesIn;
        i.bytesOut = m_bytesOut;
        i.pauses = m_pauses;
        i.inBytesPerSecond = m_inRate.at(nowNs);
        i.outBytesPerSecond = m_outRate.at(nowNs);
        i.ageMs = (nowNs - m_startNs) / kNsPerMs;
        i.timeToFirstByteMs = m_firstByteNs < 0 ? -1 : (m_firstByteNs - m_startNs) / kNsPerMs;
        return i;
    }

    qint64 replayBytes() const { return m_replayBytes; }

protected:
    void timerEvent(QTimerEvent *event) override
    {
        if (event->timerId() != m_timer.timerId())
            return QObject::timerEvent(event);
        m_timer.stop();
        if (m_ended)
            return;
        if (m_firstByteNs < 0)
            failAll(QStringLiteral("no response body from %1 within %2 ms (first_byte_timeout_ms)")
                        .arg(urlForMessages(m_request.url))
                        .arg(m_firstByteTimeoutMs));
        else if (!m_paused)
            failAll(QStringLiteral("no data from %1 for %2 ms (idle_timeout_ms)")
                        .arg(urlForMessages(m_request.url))
                        .arg(m_idleTimeoutMs));
    }

private:
    void onHeaders()
    {
        if (m_ended || !m_conn || m_status != 0)
            return;
        m_status = m_conn->status();
        m_headers = m_conn->headers();
        for (StreamSubscription *s : std::as_const(m_subscribers))
            s->setResponse(m_status, s->m_joined ? withoutSetCookie(m_headers) : m_headers);
        if (m_status < 200 || m_status > 299)
            failAll(QStringLiteral("%1 answered HTTP %2 %3")
                        .arg(urlForMessages(m_request.url))
                        .arg(m_status)
                        .arg(QString::fromLatin1(m_conn->reasonPhrase())));
    }

    void pump()
    {
        if (m_ended || !m_conn)
            return;
        if (m_status == 0 && m_conn->status() != 0)
            onHeaders();
        if (m_ended || m_status == 0)
            return;
        Clock *clock = m_relay->m_clock;
        while (!m_paused && !m_ended) {
            m_peakConnBuffered = std::max(m_peakConnBuffered, m_conn->bufferedBytes());
            const QByteArray chunk = m_conn->read(m_readChunk);
            if (chunk.isEmpty())
                break;
            take(chunk, clock->nowNs());
            if (m_ended)
                return; // the last subscriber left from a slot; this object is going away
            updatePause();
        }
        if (m_ended)
            return;
        if (m_firstByteNs >= 0) {
            if (m_paused || m_idleTimeoutMs <= 0)
                m_timer.stop();
            else
                m_timer.start(m_idleTimeoutMs, Qt::CoarseTimer, this);
        }
    }

    void take(const QByteArray &chunk, qint64 nowNs)
    {
        if (m_firstByteNs < 0) {
            m_firstByteNs = nowNs;
            m_relay->m_metrics.timeToFirstByte->record(nowNs - m_startNs);
        }
        m_bytesIn += quint64(chunk.size());
        m_inRate.add(chunk.size(), nowNs);
        m_relay->m_metrics.bytesIn->inc(quint64(chunk.size()));
        m_relay->m_totals.bytesIn += quint64(chunk.size());
        keepForReplay(chunk);
        distribute(chunk, nowNs);
    }

    /// The body ended cleanly and every byte of it was read (the connection reports the end
    /// only then, so a paused stream finishes after it resumed).
    void onConnectionFinished()
    {
        if (m_ended)
            return;
        completeOk();
    }

    void onConnectionFailed(const QString &message)
    {
        if (m_ended || !m_conn)
            return;
        // Bytes that arrived before the failure reach the subscribers first (at most about
        // two read chunks are held in the connection), then the error.
        const qint64 nowNs = m_relay->m_clock->nowNs();
        for (QByteArray chunk = m_conn->read(m_readChunk); !chunk.isEmpty() && !m_ended;
             chunk = m_conn->read(m_readChunk))
            take(chunk, nowNs);
        failAll(QStringLiteral("stream from %1 failed: %2").arg(urlForMessages(m_request.url), message));
    }

    void keepForReplay(const QByteArray &chunk)
    {
        if (!m_shared || m_replayExceeded)
            return;
        if (m_replayBytes + chunk.size() > m_replayLimit) {
            // Past the limit the stream can no longer be replayed from its start: later
            // identical requests start their own upstream.
            m_replayExceeded = true;
            m_relay->m_metrics.replay->add(-double(m_replayBytes));
            m_replay.clear();
            m_replayBytes = 0;
            if (m_relay->m_joinable.value(m_key) == this)
                m_relay->m_joinable.remove(m_key);
            return;
        }
        m_replay.push_back(chunk);
        m_replayBytes += chunk.size();
        m_relay->m_metrics.replay->add(double(chunk.size()));
    }

    QList<QPointer<StreamSubscription>> guarded() const
    {
        QList<QPointer<StreamSubscription>> out;
        out.reserve(m_subscribers.size());
        for (StreamSubscription *s : m_subscribers)
            out.append(s);
        return out;
    }

    void distribute(const QByteArray &chunk, qint64 nowNs)
    {
        if (m_subscribers.size() == 1) {
            m_subscribers.first()->deliver(chunk, nowNs);
            return;
        }
        // Slots may close or delete any subscription, this one's or another's.
        const auto subscribers = guarded();
        for (const auto &s : subscribers) {
            if (m_ended)
                return;
            if (s && s->m_upstream == this)
                s->deliver(chunk, nowNs);
        }
    }

    void updatePause()
    {
        if (m_paused || m_ended)
            return;
        for (StreamSubscription *s : std::as_const(m_subscribers)) {
            if (s->holdsUpstream() && s->m_buffered >= s->m_high) {
                m_paused = true;
                ++m_pauses;
                m_relay->m_metrics.pauses->inc();
                ++m_relay->m_totals.pauses;
                if (m_firstByteNs >= 0)
                    m_timer.stop(); // a paused stream is idle on purpose
                return;
            }
        }
    }

    void completeOk()
    {
        m_ended = true;
        m_timer.stop();
        const auto subscribers = guarded();
        detachSubscribers();
        for (const auto &s : subscribers) {
            if (s)
                s->finishOk();
        }
        dropConnection();
        m_relay->upstreamGone(this);
    }

    void failAll(const QString &message)
    {
        if (m_ended)
            return;
        m_ended = true;
        m_timer.stop();
        dropConnection();
        m_relay->m_metrics.errors->inc();
        const auto subscribers = guarded();
        detachSubscribers();
        for (const auto &s : subscribers) {
            if (s)
                s->fail(message);
        }
        m_relay->upstreamGone(this);
    }

    void detachSubscribers()
    {
        for (StreamSubscription *s : std::as_const(m_subscribers))
            s->m_upstream = nullptr;
        m_relay->m_metrics.subscribers->add(-double(m_subscribers.size()));
        m_subscribers.clear();
    }

    void dropConnection()
    {
        if (!m_conn)
            return;
        StreamConnection *conn = std::exchange(m_conn, nullptr);
        conn->abort(); // closes the socket now: the server sees the client go away
        conn->deleteLater();
    }

    StreamRelay *m_relay;
    StreamRequest m_request;
    QByteArray m_key;
    QString m_display;
    bool m_shared;
    qint64 m_readChunk = 0;
    qint64 m_replayLimit = 0;
    int m_firstByteTimeoutMs = 0;
    int m_idleTimeoutMs = 0;

    StreamConnection *m_conn = nullptr;
    QList<StreamSubscription *> m_subscribers;
    std::deque<QByteArray> m_replay;
    qint64 m_replayBytes = 0;
    bool m_replayExceeded = false;
    bool m_paused = false;
    bool m_ended = false;     // finished, failed or abandoned: no more signals from here
    bool m_pumpScheduled = false;
    int m_status = 0;
    HeaderList m_headers;
    QBasicTimer m_timer; // first-byte timeout, then idle timeout

    qint64 m_startNs = 0;
    qint64 m_firstByteNs = -1;
    qint64 m_peakConnBuffered = 0;
    quint64 m_bytesIn = 0;
    quint64 m_bytesOut = 0;
    quint64 m_pauses = 0;
    DecayedRate m_inRate;
    DecayedRate m_outRate;
};

} // namespace detail

// ---------------------------------------------------------------------------------------

std::atomic<int> StreamSubscription::s_live{0};

StreamSubscription::StreamSubscription(StreamRelay *relay, const StreamRequest &request, qint64 high, qint64 low,
                                       int slowTimeoutMs, qint64 maxSseEventBytes)
    : QObject(relay), m_relay(relay), m_policy(request.policy), m_high(high), m_low(low),
      m_slowTimeoutMs(slowTimeoutMs), m_parseSse(request.parseSse)
{
    if (m_parseSse)
        m_sse = std::make_unique<SseParser>(maxSseEventBytes);
    s_live.fetch_add(1, std::memory_order_relaxed);
}

StreamSubscription::~StreamSubscription()
{
    close();
    s_live.fetch_sub(1, std::memory_order_relaxed);
}

void StreamSubscription::close()
{
    if (m_slowTimerId) {
        killTimer(m_slowTimerId);
        m_slowTimerId = 0;
    }
    m_state = State::Closed;
    if (m_upstream)
        m_upstream->removeSubscriber(this);
    m_chunks.clear();
    m_headOffset = 0;
    addBuffered(-m_buffered);
    m_prefixUnread = 0;
}

QByteArray StreamSubscription::read(qint64 maxBytes)
{
    if (maxBytes <= 0 || m_buffered == 0)
        return QByteArray();
    QByteArray out;
    qint64 want = std::min(maxBytes, m_buffered);
    // The common case, a whole chunk: hand it over without a copy.
    if (m_headOffset == 0 && m_chunks.front().size() == want) {
        out = std::move(m_chunks.front());
        m_chunks.pop_front();
    } else {
        out.reserve(want);
        while (want > 0) {
            const QByteArray &front = m_chunks.front();
            const qint64 take = std::min<qint64>(want, front.size() - m_headOffset);
            out.append(front.constData() + m_headOffset, take);
            m_headOffset += take;
            want -= take;
            if (m_headOffset == front.size()) {
                m_chunks.pop_front();
                m_headOffset = 0;
            }
        }
    }
    const qint64 n = out.size();
    m_bytesRead += n;
    m_prefixUnread = std::max<qint64>(0, m_prefixUnread - n);
    addBuffered(-n);
    const qint64 nowNs = m_relay ? m_relay->m_clock->nowNs() : 0;
    if (m_relay) {
        m_relay->m_metrics.bytesOut->inc(quint64(n));
        m_relay->m_totals.bytesOut += quint64(n);
    }
    if (m_upstream)
        m_upstream->noteOut(n, nowNs);
    if (m_policy == SlowConsumerPolicy::Disconnect && m_state == State::Open)
        checkSlow(nowNs);
    if (m_upstream && m_buffered <= m_low)
        m_upstream->maybeResume();
    return out;
}

void StreamSubscription::addBuffered(qint64 delta)
{
    if (delta == 0)
        return;
    m_buffered += delta;
    if (delta > 0 && m_buffered > m_peakBuffered)
        m_peakBuffered = m_buffered;
    if (m_relay)
        m_relay->m_metrics.buffered->add(double(delta));
}

void StreamSubscription::deliver(const QByteArray &chunk, qint64 nowNs)
{
    if (m_state != State::Open)
        return;
    m_chunks.push_back(chunk);
    m_buffered += chunk.size(); // peak is taken after the policy ran
    if (m_relay)
        m_relay->m_metrics.buffered->add(double(chunk.size()));
    applyPolicy(nowNs);
    if (m_buffered > m_peakBuffered)
        m_peakBuffered = m_buffered;
    if (!m_announced || m_state != State::Open)
        return;
    if (m_parseSse)
        drainSse();
    else
        Q_EMIT readyRead(); // last: a slot may delete this subscription
}

void StreamSubscription::applyPolicy(qint64 nowNs)
{
    if (m_parseSse)
        return; // consumed as it arrives
    switch (m_policy) {
    case SlowConsumerPolicy::Wait:
        break; // the upstream pauses (StreamUpstream::updatePause)
    case SlowConsumerPolicy::DropOldest:
        while (m_buffered > m_high && m_chunks.size() > 1)
            dropFront();
        break;
    case SlowConsumerPolicy::Disconnect:
        checkSlow(nowNs);
        break;
    }
}

void StreamSubscription::dropFront()
{
    const qint64 n = m_chunks.front().size() - m_headOffset;
    m_chunks.pop_front();
    m_headOffset = 0;
    ++m_droppedChunks;
    m_droppedBytes += n;
    m_prefixUnread = std::max<qint64>(0, m_prefixUnread - n);
    addBuffered(-n);
    if (m_relay) {
        m_relay->m_metrics.droppedChunks->inc();
        m_relay->m_metrics.droppedBytes->inc(quint64(n));
        ++m_relay->m_totals.droppedChunks;
    }
}

void StreamSubscription::checkSlow(qint64 nowNs)
{
    if (m_state != State::Open)
        return;
    if (m_buffered <= m_high) {
        m_overHighSinceNs = -1;
        if (m_slowTimerId) {
            killTimer(m_slowTimerId);
            m_slowTimerId = 0;
        }
        return;
    }
    if (m_overHighSinceNs < 0)
        m_overHighSinceNs = nowNs;
    const qint64 overMs = (nowNs - m_overHighSinceNs) / kNsPerMs;
    if (overMs >= m_slowTimeoutMs) {
        disconnectSlow(QStringLiteral("its buffer stayed above the high watermark (%1 bytes) for %2 ms")
                           .arg(m_high)
                           .arg(overMs));
        return;
    }
    // A replayed prefix is lag the subscriber was born with, not lag it built up.
    if (m_buffered - m_prefixUnread >= 2 * m_high) {
        disconnectSlow(QStringLiteral("its buffer reached %1 bytes, twice the high watermark").arg(m_buffered));
        return;
    }
    if (!m_slowTimerId)
        m_slowTimerId = startTimer(int(std::max<qint64>(1, m_slowTimeoutMs - overMs)));
}

void StreamSubscription::timerEvent(QTimerEvent *event)
{
    if (event->timerId() != m_slowTimerId)
        return QObject::timerEvent(event);
    killTimer(m_slowTimerId);
    m_slowTimerId = 0;
    if (m_relay)
        checkSlow(m_relay->m_clock->nowNs());
}

void StreamSubscription::disconnectSlow(const QString &why)
{
    if (m_slowTimerId) {
        killTimer(m_slowTimerId);
        m_slowTimerId = 0;
    }
    if (m_relay) {
        m_relay->m_metrics.disconnects->inc();
        ++m_relay->m_totals.disconnects;
    }
    fail(QStringLiteral("slow consumer disconnected: %1").arg(why));
}

void StreamSubscription::drainSse()
{
    QPointer<StreamSubscription> self(this);
    while (!m_chunks.empty() && m_state == State::Open) {
        QByteArray chunk = std::move(m_chunks.front());
        m_chunks.pop_front();
        if (m_headOffset > 0) {
            chunk = chunk.mid(m_headOffset);
            m_headOffset = 0;
        }
        const qint64 n = chunk.size();
        m_bytesRead += n;
        m_prefixUnread = std::max<qint64>(0, m_prefixUnread - n);
        addBuffered(-n);
        if (m_relay) {
            m_relay->m_metrics.bytesOut->inc(quint64(n));
            m_relay->m_totals.bytesOut += quint64(n);
            if (m_upstream)
                m_upstream->noteOut(n, m_relay->m_clock->nowNs());
        }
        const QList<SseEvent> events = m_sse->feed(chunk);
        for (const SseEvent &e : events) {
            Q_EMIT eventReceived(e.data, e.type, e.lastEventId);
            if (!self || m_state != State::Open)
                return;
        }
        if (m_sse->hasError()) {
            fail(m_sse->errorString());
            return;
        }
    }
}

void StreamSubscription::setResponse(int status, const HeaderList &headers)
{
    m_status = status;
    m_headers = headers;
}

void StreamSubscription::finishOk()
{
    if (m_state != State::Open)
        return;
    m_state = State::Finished;
    if (!m_announced)
        return; // announce() reports it
    Q_EMIT finished();
}

void StreamSubscription::fail(const QString &message)
{
    if (m_state != State::Open)
        return;
    m_state = State::Failed;
    m_error = message;
    if (m_slowTimerId) {
        killTimer(m_slowTimerId);
        m_slowTimerId = 0;
    }
    if (m_upstream)
        m_upstream->removeSubscriber(this);
    if (m_announced)
        Q_EMIT errorOccurred(message);
}

void StreamSubscription::announce()
{
    m_announced = true;
    QPointer<StreamSubscription> self(this);
    if (m_parseSse) {
        drainSse();
        if (!self)
            return;
    } else if (m_buffered > 0) {
        Q_EMIT readyRead();
        if (!self)
            return;
    }
    if (m_state == State::Finished)
        Q_EMIT finished();
    else if (m_state == State::Failed)
        Q_EMIT errorOccurred(m_error);
}

// ---------------------------------------------------------------------------------------

StreamRelay::StreamRelay(MetricsRegistry *registry, Clock *clock, QObject *parent)
    : QObject(parent), m_registry(registry), m_clock(clock ? clock : Clock::system())
{
    MetricsRegistry *r = m_registry;
    m_metrics.active = r->gauge(QStringLiteral("stream_active"), {}, QStringLiteral("Upstream streams open"));
    m_metrics.subscribers =
        r->gauge(QStringLiteral("stream_subscribers"), {}, QStringLiteral("Subscribers attached to open streams"));
    m_metrics.buffered = r->gauge(QStringLiteral("stream_buffered_bytes"), {},
                                  QStringLiteral("Bytes waiting in subscriber buffers"), Unit::Bytes);
    m_metrics.replay = r->gauge(QStringLiteral("stream_replay_bytes"), {},
                                QStringLiteral("Bytes kept to replay shared streams to late joiners"), Unit::Bytes);
    m_metrics.opened = r->counter(QStringLiteral("stream_upstream_requests"), {},
                                  QStringLiteral("Upstream streaming requests started"));
    m_metrics.pauses = r->counter(QStringLiteral("stream_pauses"), {},
                                  QStringLiteral("Times a stream stopped reading upstream (backpressure)"));
    m_metrics.resumes =
        r->counter(QStringLiteral("stream_resumes"), {}, QStringLiteral("Times a paused stream resumed reading"));
    m_metrics.bytesIn = r->counter(QStringLiteral("stream_bytes"), {{QStringLiteral("direction"), QStringLiteral("in")}},
                                   QStringLiteral("Stream bytes read from upstreams / handed to subscribers"),
                                   Unit::Bytes);
    m_metrics.bytesOut =
        r->counter(QStringLiteral("stream_bytes"), {{QStringLiteral("direction"), QStringLiteral("out")}},
                   QStringLiteral("Stream bytes read from upstreams / handed to subscribers"), Unit::Bytes);
    m_metrics.droppedChunks = r->counter(QStringLiteral("stream_dropped_chunks"), {},
                                         QStringLiteral("Chunks dropped for DropOldest subscribers"));
    m_metrics.droppedBytes = r->counter(QStringLiteral("stream_dropped_bytes"), {},
                                        QStringLiteral("Bytes dropped for DropOldest subscribers"), Unit::Bytes);
    m_metrics.disconnects = r->counter(QStringLiteral("stream_disconnects"), {},
                                       QStringLiteral("Slow subscribers disconnected (Disconnect policy)"));
    m_metrics.sharedJoins = r->counter(QStringLiteral("stream_shared_joins"), {},
                                       QStringLiteral("Subscribers that joined a shared stream in progress"));
    m_metrics.errors = r->counter(QStringLiteral("stream_errors"), {},
                                  QStringLiteral("Streams that failed (network, HTTP status, timeout)"));
    m_metrics.timeToFirstByte =
        r->histogram(QStringLiteral("stream_time_to_first_byte"), {},
                     QStringLiteral("From opening a stream to its first body byte"), Unit::Nanoseconds);
}

StreamRelay::~StreamRelay()
{
    m_destroying = true;
    // Upstreams first, then the subscriptions, while the metrics they update are reachable.
    const auto upstreams = m_upstreams;
    m_upstreams.clear();
    m_joinable.clear();
    for (detail::StreamUpstream *u : upstreams) {
        u->detachAll();
        m_metrics.replay->add(-double(u->replayBytes()));
        m_metrics.active->add(-1);
        delete u;
    }
    const auto subscriptions = findChildren<StreamSubscription *>(Qt::FindDirectChildrenOnly);
    for (StreamSubscription *s : subscriptions)
        delete s;
}

bool StreamRelay::setConfig(const StreamConfig &config, QString *error)
{
    const QStringList problems = config.problems();
    if (!problems.isEmpty()) {
        if (error)
            *error = problems.join(QStringLiteral("; "));
        return false;
    }
    m_config = config;
    return true;
}

StreamSubscription *StreamRelay::open(const StreamRequest &request)
{
    const qint64 high = request.highWatermarkBytes > 0 ? request.highWatermarkBytes : m_config.highWatermarkBytes;
    const qint64 low = request.lowWatermarkBytes > 0 ? request.lowWatermarkBytes : m_config.lowWatermarkBytes;
    const int slowMs = request.slowTimeoutMs > 0 ? request.slowTimeoutMs : m_config.slowTimeoutMs;
    auto *s = new StreamSubscription(this, request, high, low, slowMs, m_config.maxSseEventBytes); // child
    QMetaObject::invokeMethod(s, [s] { s->announce(); }, Qt::QueuedConnection);

    const QString scheme = request.url.scheme().toLower();
    QString problem;
    if (!request.url.isValid() || request.url.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
        problem = QStringLiteral("url: not an http(s) URL with a host (value: \"%1\")")
                      .arg(request.url.toString(QUrl::RemoveUserInfo));
    else if (request.method.isEmpty() || request.method.contains(' '))
        problem = QStringLiteral("method: not an HTTP method (value: \"%1\")").arg(QString::fromLatin1(request.method));
    else if (low >= high)
        problem = QStringLiteral("lowWatermarkBytes: must be below highWatermarkBytes (%1) (value: %2)")
                      .arg(high)
                      .arg(low);
    if (!problem.isEmpty()) {
        s->m_state = StreamSubscription::State::Failed;
        s->m_error = problem;
        return s;
    }

    const QByteArray key = requestKey(request.method, request.url, request.body, request.headers);
    if (request.shared) {
        detail::StreamUpstream *u = m_joinable.value(key);
        if (u && u->joinable()) {
            u->addSubscriber(s, true);
            m_metrics.sharedJoins->inc();
            ++m_totals.sharedJoins;
            return s;
        }
    }
    auto *u = new detail::StreamUpstream(this, request, key, m_config); // child; deleted by upstreamGone()
    m_upstreams.append(u);
    if (request.shared)
        m_joinable.insert(key, u);
    m_metrics.active->add(1);
    m_metrics.opened->inc();
    ++m_totals.streamsOpened;
    u->addSubscriber(s, false);
    u->start();
    return s;
}

void StreamRelay::upstreamGone(detail::StreamUpstream *upstream)
{
    if (!m_upstreams.removeOne(upstream))
        return;
    if (m_joinable.value(upstream->key()) == upstream)
        m_joinable.remove(upstream->key());
    m_metrics.replay->add(-double(upstream->replayBytes()));
    m_metrics.active->add(-1);
    upstream->deleteLater();
}

StreamRelaySummary StreamRelay::summary() const
{
    StreamRelaySummary out = m_totals;
    const qint64 nowNs = m_clock->nowNs();
    for (const detail::StreamUpstream *u : m_upstreams) {
        StreamInfo i = u->info(nowNs);
        out.subscribers += i.subscribers;
        out.bufferedBytes += i.bufferedBytes;
        out.streams.append(std::move(i));
    }
    out.activeStreams = int(m_upstreams.size());
    return out;
}

int StreamRelay::liveStreamCount()
{
    return s_liveStreams.load(std::memory_order_relaxed);
}

} // namespace vega
