#include "metrics.h"
#include "streamingtestserver.h"
#include "streamrelay.h"
#include "streamsse.h"

#include <QFile>
#include <QPointer>
#include <QSignalSpy>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace vega;

namespace {

constexpr qint64 KiB = 1024;
constexpr qint64 MiB = 1024 * 1024;

quint64 counterTotal(MetricsRegistry &registry, const QString &name, const Labels &labels = {})
{
    return registry.counter(name, labels)->total();
}

double gaugeValue(MetricsRegistry &registry, const QString &name)
{
    return registry.gauge(name)->value();
}

/// Resident set size of this process in bytes, or -1 where /proc is not available.
qint64 residentBytes()
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("VmRSS:")) {
            const QList<QByteArray> parts = line.simplified().split(' ');
            return parts.value(1).toLongLong() * 1024;
        }
    }
    return -1;
}

/// Follows a subscription: optionally reads everything as it arrives, checks the bytes
/// against the server's pattern, and records how it ended.
struct Reader {
    QPointer<StreamSubscription> sub;
    qint64 offset = 0;         // stream offset of the next byte read
    qint64 firstMismatch = -1; // first offset that differed from the pattern
    QByteArray kept;           // the bytes read, when keep is set
    bool keep = false;
    int finished = 0;
    int errors = 0;
    QString error;

    Reader(StreamSubscription *s, bool eager, bool keepBytes = false) : sub(s), keep(keepBytes)
    {
        QObject::connect(s, &StreamSubscription::finished, s, [this] { ++finished; });
        QObject::connect(s, &StreamSubscription::errorOccurred, s, [this](const QString &message) {
            ++errors;
            error = message;
        });
        if (eager)
            QObject::connect(s, &StreamSubscription::readyRead, s, [this] { consume(sub->readAll()); });
    }

    void consume(const QByteArray &bytes)
    {
        if (bytes.isEmpty())
            return;
        if (firstMismatch < 0)
            firstMismatch = StreamingTestServer::firstPatternMismatch(bytes, offset);
        offset += bytes.size();
        if (keep)
            kept += bytes;
    }
    bool ended() const { return finished + errors > 0; }
};

} // namespace

class TestStreamRelay : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void sseParser_data();
    void sseParser();
    void sseParserLimits();
    void invalidRequest();
    void httpErrorStatus();
    void slowConsumerBackpressure();
    void fastAndSlowShared_data();
    void fastAndSlowShared();
    void slowTimeoutDisconnects();
    void lateJoiner_data();
    void lateJoiner();
    void upstreamDropReachesEverySubscriber_data();
    void upstreamDropReachesEverySubscriber();
    void sseAcrossChunkBoundaries();
    void closingLastSubscriberAbortsUpstream();
    void timeouts();
};

// --- SSE parser --------------------------------------------------------------------------

void TestStreamRelay::sseParser_data()
{
    QTest::addColumn<QByteArray>("input");
    QTest::addColumn<QList<QByteArray>>("expected"); // "type|data|id" per event

    QTest::newRow("simple") << QByteArray("data: hello\n\n") << QList<QByteArray>{"message|hello|"};
    QTest::newRow("crlf") << QByteArray("data: a\r\n\r\ndata: b\r\n\r\n")
                          << QList<QByteArray>{"message|a|", "message|b|"};
    QTest::newRow("cr only") << QByteArray("data: a\r\rdata: b\r\r") << QList<QByteArray>{"message|a|", "message|b|"};
    QTest::newRow("multi-line data") << QByteArray("data: a\ndata:b\ndata:  c\n\n")
                                     << QList<QByteArray>{"message|a\nb\n c|"};
    QTest::newRow("event and id") << QByteArray("event: token\nid: 42\ndata: x\n\ndata: y\n\n")
                                  << QList<QByteArray>{"token|x|42", "message|y|42"};
    QTest::newRow("comments and unknown fields")
        << QByteArray(": keep-alive\nfoo: bar\ndata: z\n\n") << QList<QByteArray>{"message|z|"};
    QTest::newRow("no data, no event") << QByteArray("event: x\n\n\n\n") << QList<QByteArray>{};
    QTest::newRow("empty data dispatches") << QByteArray("data\n\n") << QList<QByteArray>{"message||"};
    QTest::newRow("unterminated last event") << QByteArray("data: a\n\ndata: b\n") << QList<QByteArray>{"message|a|"};
    QTest::newRow("bom") << QByteArray("\xEF\xBB\xBF"
                                       "data: a\n\n")
                         << QList<QByteArray>{"message|a|"};
    QTest::newRow("field without colon value")
        << QByteArray("data:no-space\n\n") << QList<QByteArray>{"message|no-space|"};
    QTest::newRow("utf-8 payload") << QByteArray("data: {\"t\":\"\xC3\xA9\"}\n\n")
                                   << QList<QByteArray>{"message|{\"t\":\"\xC3\xA9\"}|"};
}

void TestStreamRelay::sseParser()
{
    QFETCH(QByteArray, input);
    QFETCH(QList<QByteArray>, expected);
    auto render = [](const QList<SseEvent> &events) {
        QList<QByteArray> out;
        for (const SseEvent &e : events)
            out << e.type + '|' + e.data + '|' + e.lastEventId;
        return out;
    };
    {
        SseParser p;
        QCOMPARE(render(p.feed(input)), expected);
    }
    {
        SseParser p; // one byte at a time: every boundary, a CR and its LF split included
        QList<SseEvent> all;
        for (char c : std::as_const(input))
            all += p.feed(QByteArray(1, c));
        QCOMPARE(render(all), expected);
    }
    for (qsizetype cut = 1; cut < input.size(); ++cut) {
        SseParser p;
        QList<SseEvent> all = p.feed(input.left(cut));
        all += p.feed(input.mid(cut));
        QVERIFY2(render(all) == expected, qPrintable(QStringLiteral("split at %1").arg(cut)));
    }
}

void TestStreamRelay::sseParserLimits()
{
    SseParser p(16);
    QVERIFY(p.feed("data: 0123456789\n").isEmpty());
    QVERIFY(!p.hasError());
    QVERIFY(p.feed("data: 0123456789abcdef\n\n").isEmpty());
    QVERIFY(p.hasError());
    QVERIFY(p.errorString().contains(QLatin1String("16")));
    QVERIFY(p.feed("data: x\n\n").isEmpty()); // ignores input once in error
    QCOMPARE(p.pendingBytes(), 0);

    SseParser retry;
    const QList<SseEvent> events = retry.feed("retry: 1500\nretry: x\ndata: a\n\n");
    QCOMPARE(events.size(), 1);
    QCOMPARE(events.first().retryMs, 1500);
}

// --- relay ---------------------------------------------------------------------------------

void TestStreamRelay::invalidRequest()
{
    MetricsRegistry registry;
    StreamRelay relay(&registry);
    StreamRequest bad;
    bad.url = QUrl(QStringLiteral("ftp://example.invalid/x"));
    StreamSubscription *s = relay.open(bad);
    QVERIFY(s);
    QSignalSpy errors(s, &StreamSubscription::errorOccurred);
    QCOMPARE(errors.size(), 0); // never from inside open()
    QVERIFY(errors.wait(5000));
    QVERIFY(errors.first().first().toString().startsWith(QLatin1String("url:")));
    QCOMPARE(s->state(), StreamSubscription::State::Failed);
    QCOMPARE(relay.activeStreams(), 0);

    StreamRequest watermarks;
    watermarks.url = QUrl(QStringLiteral("http://127.0.0.1:1/x"));
    watermarks.highWatermarkBytes = 1000;
    watermarks.lowWatermarkBytes = 1000;
    StreamSubscription *w = relay.open(watermarks);
    QSignalSpy werrors(w, &StreamSubscription::errorOccurred);
    QVERIFY(werrors.wait(5000));
    QVERIFY(werrors.first().first().toString().contains(QLatin1String("lowWatermarkBytes")));

    StreamConfig config;
    config.lowWatermarkBytes = config.highWatermarkBytes;
    config.readChunkBytes = 0;
    QString why;
    QVERIFY(!relay.setConfig(config, &why));
    QVERIFY(why.contains(QLatin1String("low_watermark_bytes")));
    QVERIFY(why.contains(QLatin1String("read_chunk_bytes")));
    QCOMPARE(relay.config().readChunkBytes, StreamConfig().readChunkBytes);
}

void TestStreamRelay::httpErrorStatus()
{
    StreamingTestServerThread server;
    StreamingScript script;
    script.status = 503;
    script.totalBytes = 100;
    server.server()->setScript("/unavailable", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);
    StreamRequest r;
    r.url = server.url("/unavailable");
    Reader reader(relay.open(r), true);
    QTRY_VERIFY_WITH_TIMEOUT(reader.ended(), 10000);
    QCOMPARE(reader.finished, 0);
    QVERIFY2(reader.error.contains(QLatin1String("503")), qPrintable(reader.error));
    QCOMPARE(reader.sub->statusCode(), 503);
    QCOMPARE(counterTotal(registry, QStringLiteral("stream_errors")), 1u);
}

void TestStreamRelay::slowConsumerBackpressure()
{
    constexpr qint64 total = 100 * MiB;
    constexpr qint64 readTarget = 20 * MiB;
    constexpr qint64 readStep = 64 * KiB;
    StreamingTestServerThread server;
    StreamingScript script;
    script.totalBytes = total;
    server.server()->setScript("/big", script);

    MetricsRegistry registry;
    StreamRelay relay(&registry);
    StreamConfig config;
    config.highWatermarkBytes = 1 * MiB;
    config.lowWatermarkBytes = 256 * KiB;
    config.readChunkBytes = 64 * KiB;
    QVERIFY(relay.setConfig(config));

    const qint64 rssBefore = residentBytes();
    StreamRequest r;
    r.url = server.url("/big");
    Reader reader(relay.open(r), false);
    bool sawPaused = false;
    qint64 peakReply = 0;
    QTimer slow;
    slow.setInterval(10);
    QObject::connect(&slow, &QTimer::timeout, &slow, [&] {
        const StreamRelaySummary s = relay.summary();
        for (const StreamInfo &i : s.streams) {
            sawPaused = sawPaused || i.paused;
            peakReply = std::max(peakReply, i.upstreamBufferedBytes);
        }
        if (reader.sub)
            reader.consume(reader.sub->read(readStep));
    });
    slow.start();
    QTRY_VERIFY_WITH_TIMEOUT(reader.offset >= readTarget || reader.ended(), 90000);
    slow.stop();
    QVERIFY2(!reader.ended(), qPrintable(reader.error));
    QCOMPARE(reader.firstMismatch, -1);

    // Client side: the subscriber's buffer and the reply's buffer stayed bounded.
    const qint64 bound = config.highWatermarkBytes + config.readChunkBytes;
    QVERIFY2(reader.sub->peakBufferedBytes() <= bound,
             qPrintable(QStringLiteral("peak %1 > %2").arg(reader.sub->peakBufferedBytes()).arg(bound)));
    const StreamRelaySummary summary = relay.summary();
    QCOMPARE(summary.streams.size(), 1);
    const StreamInfo &info = summary.streams.first();
    QVERIFY(info.request.contains(QLatin1String("/big")));
    QCOMPARE(info.subscribers, 1);
    QVERIFY(info.bytesIn >= quint64(reader.offset));
    QVERIFY(info.pauses > 0);
    QVERIFY(info.inBytesPerSecond > 0);
    QVERIFY(info.outBytesPerSecond > 0);
    QVERIFY(info.timeToFirstByteMs >= 0);
    QVERIFY(sawPaused);
    qInfo("peak upstream buffer %lld (sampled %lld), peak subscriber buffer %lld", info.peakUpstreamBufferedBytes,
          peakReply, reader.sub->peakBufferedBytes());
    QVERIFY2(info.peakUpstreamBufferedBytes <= 2 * config.readChunkBytes + 8 * KiB,
             qPrintable(QString::number(info.peakUpstreamBufferedBytes)));
    QVERIFY(counterTotal(registry, QStringLiteral("stream_pauses")) > 0);
    QVERIFY(counterTotal(registry, QStringLiteral("stream_resumes")) > 0);
    QCOMPARE(counterTotal(registry, QStringLiteral("stream_bytes"), {{QStringLiteral("direction"), QStringLiteral("out")}}),
             quint64(reader.offset));
    QVERIFY(gaugeValue(registry, QStringLiteral("stream_buffered_bytes")) <= double(bound));

    // Server side: TCP pushed back. It wrote far less than the body (a fast client would have
    // taken all 100 MiB in well under a second) and kept finding its socket buffer full.
    const qint64 written = server.server()->wireBytesWritten();
    qInfo("server wrote %lld bytes while the client read %lld; %llu write stalls", written, reader.offset,
          server.server()->writeStalls());
    QVERIFY2(written < reader.offset + 32 * MiB, qPrintable(QString::number(written)));
    QVERIFY(server.server()->writeStalls() > 0);
    QCOMPARE(server.server()->completed(), 0u);

#if defined(__SANITIZE_ADDRESS__)
    const bool measureRss = false; // ASan's quarantine keeps freed memory resident on purpose
#else
    const bool measureRss = rssBefore > 0;
#endif
    if (measureRss) {
        const qint64 growth = residentBytes() - rssBefore;
        qInfo("resident memory grew by %lld KiB", growth / KiB);
        QVERIFY2(growth < 64 * MiB, qPrintable(QString::number(growth)));
    }

    // Leaving aborts the upstream; the server sees its peer go away.
    delete reader.sub.data();
    QTRY_COMPARE_WITH_TIMEOUT(server.server()->peerDisconnects(), 1u, 10000);
    QTRY_COMPARE_WITH_TIMEOUT(relay.activeStreams(), 0, 5000);
    QCOMPARE(gaugeValue(registry, QStringLiteral("stream_buffered_bytes")), 0.0);
}

void TestStreamRelay::fastAndSlowShared_data()
{
    QTest::addColumn<SlowConsumerPolicy>("policy");
    QTest::newRow("drop oldest") << SlowConsumerPolicy::DropOldest;
    QTest::newRow("disconnect") << SlowConsumerPolicy::Disconnect;
}

void TestStreamRelay::fastAndSlowShared()
{
    QFETCH(SlowConsumerPolicy, policy);
    constexpr qint64 total = 16 * MiB;
    StreamingTestServerThread server;
    StreamingScript script;
    script.totalBytes = total;
    server.server()->setScript("/fast", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);

    StreamRequest fastRequest;
    fastRequest.url = server.url("/fast");
    fastRequest.shared = true;
    StreamRequest slowRequest = fastRequest;
    slowRequest.policy = policy;
    slowRequest.highWatermarkBytes = 256 * KiB;
    slowRequest.lowWatermarkBytes = 64 * KiB;
    slowRequest.slowTimeoutMs = 200;

    Reader fast(relay.open(fastRequest), true);
    Reader slow(relay.open(slowRequest), false); // never reads
    QVERIFY(slow.sub->joined());
    QCOMPARE(relay.activeStreams(), 1);

    QTRY_VERIFY_WITH_TIMEOUT(fast.ended(), 60000);
    QCOMPARE(fast.errors, 0);
    QCOMPARE(fast.finished, 1);
    QCOMPARE(fast.offset, total);
    QCOMPARE(fast.firstMismatch, -1);
    // Full speed: the slow subscriber never paused the upstream.
    QCOMPARE(counterTotal(registry, QStringLiteral("stream_pauses")), 0u);
    QCOMPARE(server.server()->requests(), 1u);

    if (policy == SlowConsumerPolicy::DropOldest) {
        QTRY_VERIFY_WITH_TIMEOUT(slow.ended(), 5000);
        QCOMPARE(slow.errors, 0);
        QVERIFY(slow.sub->droppedChunks() > 0);
        QCOMPARE(counterTotal(registry, QStringLiteral("stream_dropped_chunks")), slow.sub->droppedChunks());
        QVERIFY2(slow.sub->peakBufferedBytes() <= slowRequest.highWatermarkBytes,
                 qPrintable(QString::number(slow.sub->peakBufferedBytes())));
        // What it kept is the newest part of the stream, intact.
        const QByteArray tail = slow.sub->readAll();
        QVERIFY(!tail.isEmpty());
        QCOMPARE(slow.sub->droppedBytes() + tail.size(), total);
        QCOMPARE(StreamingTestServer::firstPatternMismatch(tail, total - tail.size()), -1);
    } else {
        QTRY_VERIFY_WITH_TIMEOUT(slow.ended(), 5000);
        QCOMPARE(slow.finished, 0);
        QCOMPARE(slow.errors, 1);
        QVERIFY2(slow.error.contains(QLatin1String("slow consumer")), qPrintable(slow.error));
        QCOMPARE(counterTotal(registry, QStringLiteral("stream_disconnects")), 1u);
        QVERIFY(slow.sub->peakBufferedBytes() < 2 * slowRequest.highWatermarkBytes + 64 * KiB);
    }
}

void TestStreamRelay::slowTimeoutDisconnects()
{
    StreamingTestServerThread server;
    StreamingScript script;
    script.totalBytes = 64 * MiB;
    script.chunkBytes = 16 * KiB;
    script.intervalMs = 10;
    server.server()->setScript("/paced", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);
    StreamRequest r;
    r.url = server.url("/paced");
    r.policy = SlowConsumerPolicy::Disconnect;
    r.highWatermarkBytes = 2 * MiB;
    r.lowWatermarkBytes = 512 * KiB;
    r.slowTimeoutMs = 300;
    Reader reader(relay.open(r), false);
    QSignalSpy errors(reader.sub.data(), &StreamSubscription::errorOccurred);
    QTRY_VERIFY_WITH_TIMEOUT(reader.ended(), 20000);
    QCOMPARE(reader.finished, 0);
    // 300 ms over the watermark comes long before the buffer could double (1.3 s at 1.6 MB/s).
    QVERIFY2(reader.error.contains(QLatin1String("stayed above")), qPrintable(reader.error));
    QCOMPARE(counterTotal(registry, QStringLiteral("stream_disconnects")), 1u);
    // What arrived before the disconnect is still readable, in order.
    const QByteArray kept = reader.sub->readAll();
    QVERIFY(kept.size() > r.highWatermarkBytes);
    QCOMPARE(StreamingTestServer::firstPatternMismatch(kept, 0), -1);
    // It was the only subscriber: the upstream went with it.
    QTRY_COMPARE_WITH_TIMEOUT(server.server()->peerDisconnects(), 1u, 10000);
}

void TestStreamRelay::lateJoiner_data()
{
    QTest::addColumn<qint64>("replayLimit");
    QTest::addColumn<bool>("expectJoined");
    QTest::newRow("within replay limit") << qint64(0) << true;
    QTest::newRow("past replay limit") << qint64(256 * KiB) << false;
}

void TestStreamRelay::lateJoiner()
{
    QFETCH(qint64, replayLimit);
    QFETCH(bool, expectJoined);
    constexpr qint64 total = 2 * MiB;
    StreamingTestServerThread server;
    StreamingScript script;
    script.totalBytes = total;
    script.chunkBytes = 32 * KiB;
    script.intervalMs = 5;
    server.server()->setScript("/llm", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);

    StreamRequest r;
    r.url = server.url("/llm");
    r.shared = true;
    r.replayLimitBytes = replayLimit;
    Reader first(relay.open(r), true, true);
    QTRY_VERIFY_WITH_TIMEOUT(first.offset >= 512 * KiB || first.ended(), 30000);
    QVERIFY(!first.ended());
    Reader late(relay.open(r), true, true);
    QCOMPARE(late.sub->joined(), expectJoined);
    if (expectJoined)
        QVERIFY(late.sub->replayedBytes() >= 512 * KiB);
    QTRY_VERIFY_WITH_TIMEOUT(first.ended() && late.ended(), 60000);

    // A direct, unshared download of the same stream for comparison.
    StreamRequest direct = r;
    direct.shared = false;
    Reader reference(relay.open(direct), true, true);
    QTRY_VERIFY_WITH_TIMEOUT(reference.ended(), 60000);

    QCOMPARE(first.finished, 1);
    QCOMPARE(late.finished, 1);
    QCOMPARE(reference.finished, 1);
    QCOMPARE(reference.kept.size(), total);
    QCOMPARE(reference.firstMismatch, -1);
    QVERIFY(first.kept == reference.kept);
    QVERIFY(late.kept == reference.kept);
    QCOMPARE(counterTotal(registry, QStringLiteral("stream_shared_joins")), expectJoined ? 1u : 0u);
    QCOMPARE(server.server()->requests(), expectJoined ? 2u : 3u);
    QCOMPARE(gaugeValue(registry, QStringLiteral("stream_replay_bytes")), 0.0);
}

void TestStreamRelay::upstreamDropReachesEverySubscriber_data()
{
    QTest::addColumn<bool>("closeCleanly");
    QTest::newRow("reset") << false;
    QTest::newRow("fin before the last chunk") << true;
}

void TestStreamRelay::upstreamDropReachesEverySubscriber()
{
    QFETCH(bool, closeCleanly);
    StreamingTestServerThread server;
    StreamingScript script;
    script.totalBytes = 8 * MiB;
    script.abortAfterBytes = 1 * MiB;
    script.closeCleanly = closeCleanly;
    server.server()->setScript("/drop", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);

    StreamRequest shared;
    shared.url = server.url("/drop");
    shared.shared = true;
    StreamRequest dropping = shared;
    dropping.policy = SlowConsumerPolicy::DropOldest;
    StreamRequest own = shared;
    own.shared = false;

    std::vector<std::unique_ptr<Reader>> readers;
    readers.push_back(std::make_unique<Reader>(relay.open(shared), true));
    readers.push_back(std::make_unique<Reader>(relay.open(dropping), false));
    readers.push_back(std::make_unique<Reader>(relay.open(own), true));
    QCOMPARE(relay.activeStreams(), 2);
    for (const auto &r : readers)
        QTRY_VERIFY_WITH_TIMEOUT(r->ended(), 30000);
    for (const auto &r : readers) {
        QCOMPARE(r->finished, 0);
        QCOMPARE(r->errors, 1);
        QCOMPARE(r->sub->state(), StreamSubscription::State::Failed);
        QVERIFY2(r->error.contains(QLatin1String("closed the connection")), qPrintable(r->error));
        QVERIFY(r->offset <= 1 * MiB);
        QCOMPARE(r->firstMismatch, -1);
    }
    QCOMPARE(server.server()->aborts(), 2u);
    QCOMPARE(counterTotal(registry, QStringLiteral("stream_errors")), 2u);
    QTRY_COMPARE_WITH_TIMEOUT(relay.activeStreams(), 0, 5000);
    QCOMPARE(gaugeValue(registry, QStringLiteral("stream_subscribers")), 0.0);
}

void TestStreamRelay::sseAcrossChunkBoundaries()
{
    StreamingTestServerThread server;
    StreamingScript script;
    script.contentType = "text/event-stream";
    script.intervalMs = 30; // each piece its own TCP write
    script.pieces = {"data: hel", "lo\n", "\ndata: wor", "ld\r", "\n\r\n", ": keep-alive\nevent: tok",
                     "en\nid: 7\ndata: a\nda", "ta: b\n\n", "data: last\n\n"};
    server.server()->setScript("/sse", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);
    StreamRequest r;
    r.url = server.url("/sse");
    r.parseSse = true;
    StreamSubscription *s = relay.open(r);
    QList<QByteArray> events;
    QObject::connect(s, &StreamSubscription::eventReceived, s,
                     [&events](const QByteArray &data, const QByteArray &type, const QByteArray &id) {
                         events << type + '|' + data + '|' + id;
                     });
    QSignalSpy finished(s, &StreamSubscription::finished);
    QVERIFY(finished.wait(20000));
    const QList<QByteArray> expected{"message|hello|", "message|world|", "token|a\nb|7", "message|last|7"};
    QCOMPARE(events, expected);
    QCOMPARE(s->bytesAvailable(), 0);
    QCOMPARE(s->statusCode(), 200);
    QCOMPARE(headerValue(s->responseHeaders(), "content-type"), QByteArray("text/event-stream"));
}

void TestStreamRelay::closingLastSubscriberAbortsUpstream()
{
    const int liveStreamsBefore = StreamRelay::liveStreamCount();
    const int liveSubsBefore = StreamRelay::liveSubscriptionCount();
    StreamingTestServerThread server;
    StreamingScript script;
    script.totalBytes = 256 * MiB;
    script.chunkBytes = 8 * KiB;
    script.intervalMs = 10;
    server.server()->setScript("/forever", script);
    MetricsRegistry registry;
    StreamRelay relay(&registry);
    StreamRequest r;
    r.url = server.url("/forever");
    r.shared = true;
    Reader a(relay.open(r), true);
    Reader b(relay.open(r), true);
    QCOMPARE(StreamRelay::liveStreamCount(), liveStreamsBefore + 1);
    QCOMPARE(StreamRelay::liveSubscriptionCount(), liveSubsBefore + 2);
    QTRY_VERIFY_WITH_TIMEOUT(a.offset >= 64 * KiB, 20000);

    a.sub->close();
    QCOMPARE(a.sub->state(), StreamSubscription::State::Closed);
    const qint64 bAt = b.offset;
    QTRY_VERIFY_WITH_TIMEOUT(b.offset >= bAt + 64 * KiB, 20000); // the other one carries on
    QCOMPARE(server.server()->peerDisconnects(), 0u);
    QCOMPARE(a.errors + a.finished, 0); // close() is silent

    delete b.sub.data();
    QTRY_COMPARE_WITH_TIMEOUT(server.server()->peerDisconnects(), 1u, 10000);
    QCOMPARE(relay.activeStreams(), 0);
    QCOMPARE(server.server()->completed(), 0u);
    QTRY_COMPARE_WITH_TIMEOUT(StreamRelay::liveStreamCount(), liveStreamsBefore, 5000);
    delete a.sub.data();
    QCOMPARE(StreamRelay::liveSubscriptionCount(), liveSubsBefore);
    QCOMPARE(gaugeValue(registry, QStringLiteral("stream_subscribers")), 0.0);
    QCOMPARE(gaugeValue(registry, QStringLiteral("stream_active")), 0.0);
}

void TestStreamRelay::timeouts()
{
    StreamingTestServerThread server;
    StreamingScript late;
    late.pieces = {"late"};
    late.intervalMs = 3000; // the first piece goes out after 3 s
    server.server()->setScript("/late", late);
    StreamingScript gap;
    gap.pieces = {"a", "b"};
    gap.intervalMs = 1500; // then nothing for 1.5 s
    server.server()->setScript("/gap", gap);
    MetricsRegistry registry;
    StreamRelay relay(&registry);

    StreamRequest first;
    first.url = server.url("/late");
    first.firstByteTimeoutMs = 300;
    Reader a(relay.open(first), true);
    StreamRequest idle;
    idle.url = server.url("/gap");
    idle.idleTimeoutMs = 500;
    Reader b(relay.open(idle), true);
    QTRY_VERIFY_WITH_TIMEOUT(a.ended() && b.ended(), 20000);
    QCOMPARE(a.finished + b.finished, 0);
    QVERIFY2(a.error.contains(QLatin1String("first_byte_timeout_ms")), qPrintable(a.error));
    QVERIFY2(b.error.contains(QLatin1String("idle_timeout_ms")), qPrintable(b.error));
    QCOMPARE(b.offset, 1); // "a" arrived, then the gap
    QTRY_COMPARE_WITH_TIMEOUT(server.server()->peerDisconnects(), 2u, 10000);
}

QTEST_GUILESS_MAIN(TestStreamRelay)
#include "tst_streamrelay.moc"
