#include "demostreams.h"

#include "streamingtestserver.h"
#include "streamrelay.h"

#include <QPointer>

namespace vega {

namespace {
constexpr int kRoundIntervalMs = 6000;
constexpr int kTokens = 120;

StreamingScript tokenScript()
{
    StreamingScript script;
    script.contentType = QByteArrayLiteral("text/event-stream");
    script.intervalMs = 40;
    for (int i = 0; i < kTokens; ++i)
        script.pieces.append(QByteArrayLiteral("data: {\"token\": \"t") + QByteArray::number(i) +
                             QByteArrayLiteral("\"}\n\n"));
    script.pieces.append(QByteArrayLiteral("data: [DONE]\n\n"));
    return script;
}

StreamingScript telemetryScript()
{
    StreamingScript script;
    script.contentType = QByteArrayLiteral("application/octet-stream");
    script.totalBytes = 6 * 1024 * 1024;
    script.chunkBytes = 32 * 1024;
    return script;
}
} // namespace

DemoStreams::DemoStreams(StreamRelay *relay, QObject *parent) : QObject(parent), m_relay(relay)
{
    m_timer.setInterval(kRoundIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &DemoStreams::openRound);
}

DemoStreams::~DemoStreams()
{
    stop();
}

void DemoStreams::start()
{
    if (!m_server) {
        m_server = std::make_unique<StreamingTestServerThread>();
        m_server->server()->setScript(QByteArrayLiteral("/llm/v1/stream"), tokenScript());
        m_server->server()->setScript(QByteArrayLiteral("/telemetry/export"), telemetryScript());
    }
    openRound();
    m_timer.start();
}

void DemoStreams::stop()
{
    m_timer.stop();
}

void DemoStreams::openRound()
{
    if (!m_server)
        return;
    // A shared token stream: the second subscriber joins late and reads slowly.
    StreamRequest tokens;
    tokens.url = m_server->url(QByteArrayLiteral("/llm/v1/stream"));
    tokens.shared = true;
    tokens.parseSse = true;
    StreamSubscription *fast = m_relay->open(tokens);
    connect(fast, &StreamSubscription::finished, fast, &QObject::deleteLater);
    connect(fast, &StreamSubscription::errorOccurred, fast, &QObject::deleteLater);
    QTimer::singleShot(800, this, [this, tokens] {
        StreamRequest late = tokens;
        late.parseSse = false;
        late.policy = SlowConsumerPolicy::DropOldest;
        late.highWatermarkBytes = 512;
        late.lowWatermarkBytes = 128;
        StreamSubscription *slow = m_relay->open(late);
        auto *reader = new QTimer(slow);
        reader->setInterval(500);
        QPointer<StreamSubscription> guard(slow);
        connect(reader, &QTimer::timeout, slow, [guard] {
            if (guard)
                guard->read(256);
        });
        reader->start();
        connect(slow, &StreamSubscription::finished, slow, &QObject::deleteLater);
        connect(slow, &StreamSubscription::errorOccurred, slow, &QObject::deleteLater);
    });

    // A bulk download read at ~1 MB/s: the relay pauses the sender between reads.
    StreamRequest bulk;
    bulk.url = m_server->url(QByteArrayLiteral("/telemetry/export"));
    bulk.highWatermarkBytes = 256 * 1024;
    bulk.lowWatermarkBytes = 64 * 1024;
    StreamSubscription *download = m_relay->open(bulk);
    auto *drain = new QTimer(download);
    drain->setInterval(50);
    QPointer<StreamSubscription> guard(download);
    connect(drain, &QTimer::timeout, download, [guard] {
        if (guard)
            guard->read(48 * 1024);
    });
    drain->start();
    connect(download, &StreamSubscription::finished, download, &QObject::deleteLater);
    connect(download, &StreamSubscription::errorOccurred, download, &QObject::deleteLater);
    m_opened += 3;
}

} // namespace vega
