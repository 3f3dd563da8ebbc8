#include "snapshotstream.h"

#include "engine.h"
#include "snapshotjson.h"

#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QWebSocket>

#include <algorithm>
#include <limits>

Q_LOGGING_CATEGORY(lcStream, "vega.admin.stream")

namespace vega::detail {

namespace {
// A console sends nothing but control frames; anything larger is not a console.
constexpr qint64 kMaxIncomingBytes = 4096;
} // namespace

SnapshotStreamServer::SnapshotStreamServer(Engine *engine, std::function<bool(const QByteArray &)> keyAccepted,
                                           std::function<void(const QString &, const QString &)> authFailed,
                                           const Options &options)
    : m_engine(engine), m_keyAccepted(std::move(keyAccepted)), m_authFailed(std::move(authFailed)),
      m_options(options)
{
    MetricsRegistry &registry = m_engine->metrics();
    m_clientsGauge = registry.gauge(QStringLiteral("admin_stream_clients"), {},
                                    QStringLiteral("Consoles connected to the live snapshot stream"));
    m_messages = registry.counter(QStringLiteral("admin_stream_messages"), {},
                                  QStringLiteral("Snapshot messages sent to consoles"));
    m_bytes = registry.counter(QStringLiteral("admin_stream_bytes"), {},
                               QStringLiteral("Bytes of snapshot messages sent to consoles"), Unit::Bytes);
    m_skipped = registry.counter(QStringLiteral("admin_stream_skipped"), {},
                                 QStringLiteral("Snapshots not sent to a console that was not reading"));
    m_rejected = registry.counter(QStringLiteral("admin_stream_rejected"), {},
                                  QStringLiteral("Stream connections refused (path, key or client limit)"));
    m_timer.setInterval(std::max(50, m_options.intervalMs / 2));
    QObject::connect(&m_timer, &QTimer::timeout, this, [this] { tick(); });
}

SnapshotStreamServer::~SnapshotStreamServer()
{
    shutdown();
}

void SnapshotStreamServer::accept(std::unique_ptr<QWebSocket> owned)
{
    if (!owned)
        return;
    QWebSocket *socket = owned.release();
    socket->setParent(this);
    const QString client = socket->peerAddress().toString();
    auto refuse = [&](const QString &reason) {
        m_rejected->inc();
        qCInfo(lcStream) << "refused stream connection from" << client << ":" << reason;
        socket->close(QWebSocketProtocol::CloseCodePolicyViolated, reason);
        socket->deleteLater();
    };
    const QString path = socket->requestUrl().path();
    if (path != snapshotStreamPath()) {
        refuse(QStringLiteral("unknown stream path %1 (the snapshot stream is %2)").arg(path, snapshotStreamPath()));
        return;
    }
    const QByteArray key = socket->request().rawHeader(QByteArrayLiteral("X-API-Key")).trimmed();
    if (key.isEmpty() || !m_keyAccepted(key)) {
        const QString reason = key.isEmpty() ? QStringLiteral("missing X-API-Key header") : QStringLiteral("invalid API key");
        if (m_authFailed)
            m_authFailed(client, reason);
        refuse(reason);
        return;
    }
    if (int(m_clients.size()) >= m_options.maxClients) {
        refuse(QStringLiteral("too many stream clients (limit %1)").arg(m_options.maxClients));
        return;
    }
    socket->setMaxAllowedIncomingMessageSize(quint64(kMaxIncomingBytes));
    socket->setMaxAllowedIncomingFrameSize(quint64(kMaxIncomingBytes));
    QObject::connect(socket, &QWebSocket::disconnected, this, [this, socket] { remove(socket); });
    // Consoles send nothing; a message is ignored (it only must not be buffered).
    QObject::connect(socket, &QWebSocket::textMessageReceived, this, [](const QString &) {});
    QObject::connect(socket, &QWebSocket::binaryMessageReceived, this, [](const QByteArray &) {});

    QJsonObject hello{{QStringLiteral("type"), QStringLiteral("hello")},
                      {QStringLiteral("agent"), m_options.agentName},
                      {QStringLiteral("interval_ms"), m_options.intervalMs}};
    if (const SnapshotPtr latest = m_engine->latest())
        hello.insert(QStringLiteral("version"), latest->info.version);
    socket->sendTextMessage(QString::fromUtf8(QJsonDocument(hello).toJson(QJsonDocument::Compact)));
    m_clients.push_back(Client{socket, 0, 0, false});
    m_clientsGauge->set(double(m_clients.size()));
    qCInfo(lcStream) << "console connected from" << client;
    if (!m_timer.isActive())
        m_timer.start();
    tick(); // the first snapshot at once, not after an interval
}

void SnapshotStreamServer::remove(QWebSocket *socket)
{
    const auto it = std::find_if(m_clients.begin(), m_clients.end(),
                                 [socket](const Client &c) { return c.socket == socket; });
    if (it == m_clients.end())
        return;
    m_clients.erase(it);
    m_clientsGauge->set(double(m_clients.size()));
    socket->deleteLater(); // not from inside its own signal
    if (m_clients.empty())
        m_timer.stop();
}

QByteArray SnapshotStreamServer::message(bool full, qint64 sinceWallMs)
{
    const SnapshotPtr latest = m_engine->latest();
    SnapshotWireOptions options;
    const qint64 historyStart = latest->metrics ? latest->metrics->wallMs - qint64(m_options.historySeconds) * 1000
                                                : std::numeric_limits<qint64>::min();
    options.seriesSinceMs = full ? historyStart : sinceWallMs;
    const QJsonObject body{{QStringLiteral("type"), QStringLiteral("snapshot")},
                           {QStringLiteral("snapshot"), snapshotToWire(*latest, options)}};
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}

void SnapshotStreamServer::tick()
{
    const SnapshotPtr latest = m_engine->latest();
    if (!latest || !latest->metrics)
        return;
    const quint64 sequence = latest->metrics->sequence;
    const qint64 wallMs = latest->metrics->wallMs;
    // Normally every client waits for the same points: one serialisation serves them all.
    struct Prepared {
        QString text;
        qint64 bytes = 0;
    };
    auto prepare = [this](bool full, qint64 since) {
        const QByteArray utf8 = message(full, since);
        return Prepared{QString::fromUtf8(utf8), utf8.size()};
    };
    Prepared fullMessage;
    QHash<qint64, Prepared> bySince;
    for (Client &c : m_clients) {
        if (c.sentAny && c.lastSequence == sequence)
            continue;
        if (c.socket->state() != QAbstractSocket::ConnectedState)
            continue;
        if (c.socket->bytesToWrite() > m_options.maxQueuedBytes) {
            m_skipped->inc();
            continue;
        }
        const Prepared *text = nullptr;
        if (!c.sentAny) {
            if (fullMessage.text.isEmpty())
                fullMessage = prepare(true, 0);
            text = &fullMessage;
        } else {
            auto it = bySince.find(c.lastSentWallMs);
            if (it == bySince.end())
                it = bySince.insert(c.lastSentWallMs, prepare(false, c.lastSentWallMs));
            text = &it.value();
        }
        c.socket->sendTextMessage(text->text);
        c.sentAny = true;
        c.lastSequence = sequence;
        c.lastSentWallMs = wallMs;
        m_messages->inc();
        m_bytes->inc(quint64(text->bytes));
    }
}

void SnapshotStreamServer::shutdown()
{
    m_timer.stop();
    std::vector<Client> clients;
    clients.swap(m_clients);
    for (Client &c : clients) {
        QObject::disconnect(c.socket, nullptr, this, nullptr);
        c.socket->close(QWebSocketProtocol::CloseCodeGoingAway, QStringLiteral("the agent is stopping"));
        c.socket->deleteLater();
    }
    m_clientsGauge->set(0);
}

} // namespace vega::detail
