#include "remoteagent.h"

#include "snapshotjson.h"
#include "snapshotstream.h"

#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLoggingCategory>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QWebSocket>

#include <algorithm>

Q_LOGGING_CATEGORY(lcRemote, "vega.remote")

namespace vega {

namespace {
constexpr int kDefaultAgentPort = 9470;
constexpr int kFloorDelayMs = 100; // full jitter may draw 0: never reconnect in a tight loop
} // namespace

bool parseAgentAddress(const QString &input, QUrl *baseUrl, QString *name, QString *error)
{
    QString text = input.trimmed();
    QString label;
    const int eq = text.indexOf(QLatin1Char('='));
    if (eq > 0 && !text.left(eq).contains(QLatin1Char(':')) && !text.left(eq).contains(QLatin1Char('/'))) {
        label = text.left(eq).trimmed();
        text = text.mid(eq + 1).trimmed();
    }
    if (text.isEmpty()) {
        *error = QStringLiteral("agent address \"%1\" is empty (expected host:port or http://host:port)").arg(input);
        return false;
    }
    if (!text.contains(QStringLiteral("://")))
        text.prepend(QStringLiteral("http://"));
    QUrl url(text, QUrl::StrictMode);
    const QString scheme = url.scheme().toLower();
    if (!url.isValid() || url.host().isEmpty()) {
        *error = QStringLiteral("agent address \"%1\" is not a valid address (expected host:port or "
                                "http://host:port)")
                     .arg(input);
        return false;
    }
    if (scheme == QLatin1String("ws"))
        url.setScheme(QStringLiteral("http"));
    else if (scheme == QLatin1String("wss"))
        url.setScheme(QStringLiteral("https"));
    else if (scheme != QLatin1String("http") && scheme != QLatin1String("https")) {
        *error = QStringLiteral("agent address \"%1\": scheme \"%2\" is not supported (use http, https, ws or wss)")
                     .arg(input, url.scheme());
        return false;
    }
    if (url.port() == 0) {
        *error = QStringLiteral("agent address \"%1\": port 0 is not a port").arg(input);
        return false;
    }
    if (url.port() < 0)
        url.setPort(kDefaultAgentPort);
    url.setPath(QString());
    url.setQuery(QString());
    url.setFragment(QString());
    url.setUserInfo(QString());
    *baseUrl = url;
    if (name)
        *name = label;
    return true;
}

RemoteAgent::RemoteAgent(const RemoteAgentOptions &options, QObject *parent)
    : SnapshotSource(parent), m_options(options), m_network(std::make_unique<QNetworkAccessManager>()),
      m_random(std::random_device{}())
{
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &RemoteAgent::open);
    m_silenceTimer.setSingleShot(true);
    connect(&m_silenceTimer, &QTimer::timeout, this, [this] {
        if (!m_socket)
            return;
        m_linkError = QStringLiteral("no snapshot for %1 s").arg(m_silenceTimer.interval() / 1000.0, 0, 'f', 1);
        qCInfo(lcRemote) << sourceName() << "is silent; reconnecting";
        m_socket->abort();
    });
}

RemoteAgent::~RemoteAgent()
{
    // Whoever listens may be half destroyed already (a window deleting its children).
    blockSignals(true);
    stop();
}

QUrl RemoteAgent::streamUrl() const
{
    QUrl url = m_options.baseUrl;
    url.setScheme(url.scheme() == QLatin1String("https") ? QStringLiteral("wss") : QStringLiteral("ws"));
    url.setPath(snapshotStreamPath());
    return url;
}

void RemoteAgent::start()
{
    if (m_running)
        return;
    m_running = true;
    open();
}

void RemoteAgent::stop()
{
    m_running = false;
    m_reconnectTimer.stop();
    m_silenceTimer.stop();
    if (m_socket) {
        disconnect(m_socket.get(), nullptr, this, nullptr);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
    if (m_link != Link::Lost)
        setLink(Link::Lost, QStringLiteral("stopped"));
}

qint64 RemoteAgent::msSinceLastMessage() const
{
    return m_lastMessage.isValid() ? m_lastMessage.elapsed() : -1;
}

int RemoteAgent::reconnectDueInMs() const
{
    return m_reconnectTimer.isActive() ? m_reconnectTimer.remainingTime() : -1;
}

QString RemoteAgent::sourceName() const
{
    if (!m_options.name.isEmpty())
        return m_options.name;
    if (!m_announcedName.isEmpty())
        return m_announcedName;
    return QStringLiteral("%1:%2").arg(m_options.baseUrl.host()).arg(m_options.baseUrl.port());
}

QString RemoteAgent::configPath() const
{
    return m_latest ? m_latest->info.configPath : QString();
}

bool RemoteAgent::isDemo() const
{
    return m_latest && m_latest->info.demo;
}

qint64 RemoteAgent::wallNowMs() const
{
    return QDateTime::currentMSecsSinceEpoch() + m_clockOffsetMs;
}

std::shared_ptr<const ValidationReport> RemoteAgent::lastValidation() const
{
    return m_latest ? m_latest->validation : nullptr;
}

void RemoteAgent::setLink(Link link, const QString &error)
{
    if (link == Link::Connected)
        m_linkError.clear();
    else if (!error.isEmpty())
        m_linkError = error;
    if (m_link == link)
        return;
    m_link = link;
    Q_EMIT linkChanged(link);
}

void RemoteAgent::open()
{
    if (!m_running)
        return;
    if (m_socket) {
        disconnect(m_socket.get(), nullptr, this, nullptr);
        m_socket->abort();
        m_socket.release()->deleteLater();
    }
    m_socket = std::make_unique<QWebSocket>();
    // Snapshots are large text messages; anything beyond this is not a snapshot.
    m_socket->setMaxAllowedIncomingMessageSize(256ull * 1024 * 1024);
    QWebSocket *socket = m_socket.get();
    connect(socket, &QWebSocket::connected, this, [this] {
        m_attempt = 0;
        m_loggedError.clear();
        setLink(Link::Connected);
        qCInfo(lcRemote) << "connected to" << streamUrl().toString();
        const int silence = m_options.silenceTimeoutMs > 0 ? m_options.silenceTimeoutMs
                                                           : std::max(10000, 5 * m_intervalMs);
        m_silenceTimer.start(silence);
    });
    connect(socket, &QWebSocket::textMessageReceived, this, &RemoteAgent::onMessage);
    connect(socket, qOverload<QAbstractSocket::SocketError>(&QWebSocket::error), this, [this, socket](QAbstractSocket::SocketError) {
        m_linkError = socket->errorString();
    });
    connect(socket, &QWebSocket::disconnected, this, &RemoteAgent::onClosed);
    QNetworkRequest request(streamUrl());
    request.setRawHeader(QByteArrayLiteral("X-API-Key"), m_options.apiKey);
    setLink(Link::Connecting);
    socket->open(request);
}

void RemoteAgent::onClosed()
{
    if (!m_socket)
        return;
    m_silenceTimer.stop();
    const auto code = m_socket->closeCode();
    const QString reason = m_socket->closeReason();
    QString error = m_linkError;
    if (code == QWebSocketProtocol::CloseCodePolicyViolated && !reason.isEmpty())
        error = QStringLiteral("refused by the agent: %1").arg(reason);
    else if (code == QWebSocketProtocol::CloseCodeGoingAway)
        error = reason.isEmpty() ? QStringLiteral("the agent stopped") : reason;
    else if (m_socket->error() != QAbstractSocket::UnknownSocketError)
        error = m_socket->errorString(); // refused, unreachable, timed out...
    else if (error.isEmpty())
        error = QStringLiteral("connection closed");
    disconnect(m_socket.get(), nullptr, this, nullptr);
    m_socket.release()->deleteLater(); // not from inside its own signal
    // Said once when a link goes down; the retries that follow are not news.
    if (error != m_loggedError) {
        qCInfo(lcRemote) << sourceName() << "link lost:" << error << "(reconnecting with backoff)";
        m_loggedError = error;
    }
    setLink(Link::Lost, error);
    scheduleReconnect();
}

void RemoteAgent::scheduleReconnect()
{
    if (!m_running)
        return;
    const int exponent = std::min(m_attempt, 20);
    const qint64 cap = std::min<qint64>(m_options.reconnectMaxMs, qint64(m_options.reconnectBaseMs) << exponent);
    std::uniform_int_distribution<qint64> draw(0, std::max<qint64>(cap, 0));
    const int delay = int(std::max<qint64>(kFloorDelayMs, draw(m_random)));
    ++m_attempt;
    ++m_reconnects;
    m_reconnectTimer.start(delay);
}

void RemoteAgent::onMessage(const QString &text)
{
    m_lastMessage.start();
    ++m_messages;
    m_bytes += quint64(text.size());
    if (m_silenceTimer.isActive())
        m_silenceTimer.start();
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &parseError);
    if (!doc.isObject()) {
        qCWarning(lcRemote) << sourceName() << "sent a message that is not a JSON object:" << parseError.errorString();
        return;
    }
    const QJsonObject message = doc.object();
    const QString type = message.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("hello")) {
        m_announcedName = message.value(QStringLiteral("agent")).toString().left(128);
        m_intervalMs = std::clamp(message.value(QStringLiteral("interval_ms")).toInt(1000), 50, 60000);
        return;
    }
    if (type != QLatin1String("snapshot"))
        return; // a newer agent's message this console does not know
    QString error;
    SnapshotPtr snapshot = snapshotFromWire(message.value(QStringLiteral("snapshot")).toObject(), m_latest.get(),
                                            m_options.seriesCapacity, &error);
    if (!snapshot) {
        qCWarning(lcRemote) << sourceName() << "sent a snapshot this console cannot read:" << error;
        m_linkError = QStringLiteral("unreadable snapshot: %1").arg(error);
        return;
    }
    if (snapshot->metrics)
        m_clockOffsetMs = snapshot->metrics->wallMs - QDateTime::currentMSecsSinceEpoch();
    if (snapshot->info.effectiveConfig != m_configJson) {
        m_configJson = snapshot->info.effectiveConfig;
        // The agent's effective configuration is complete and valid; secrets in it are
        // redacted, which only the agent needs.
        const ConfigLoadResult loaded = ConfigLoader::loadText(QJsonDocument(m_configJson).toJson(),
                                                               QStringLiteral("agent %1").arg(sourceName()));
        m_config = loaded.config;
    }
    const std::shared_ptr<const ValidationReport> validation = snapshot->validation;
    m_latest = std::move(snapshot);
    Q_EMIT snapshotAvailable(m_latest);
    if (validation && validation->startedWallMs != m_lastValidationStartedMs) {
        const bool first = m_lastValidationStartedMs < 0 && m_messages <= 2;
        m_lastValidationStartedMs = validation->startedWallMs;
        m_validating = false;
        if (!first)
            Q_EMIT validationFinished(*validation);
    }
}

void RemoteAgent::post(const QByteArray &method, const QString &path, const QByteArray &body, const QString &what,
                       const ActionCallback &done)
{
    QUrl url = m_options.baseUrl;
    url.setPath(path, QUrl::TolerantMode); // `path` is percent-encoded already
    QNetworkRequest request(url);
    request.setRawHeader(QByteArrayLiteral("X-API-Key"), m_options.apiKey);
    request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
    request.setTransferTimeout(m_options.actionTimeoutMs);
    QNetworkReply *reply = m_network->sendCustomRequest(request, method, body);
    const QString agent = sourceName();
    connect(reply, &QNetworkReply::finished, this, [reply, done, what, agent] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QJsonObject answer = QJsonDocument::fromJson(reply->readAll()).object();
        ActionResult result;
        if (status >= 200 && status < 300) {
            result.ok = true;
            result.message = QStringLiteral("%1: %2").arg(agent, what);
        } else if (status > 0) {
            const QString reason = answer.value(QStringLiteral("error")).toString();
            result.message = QStringLiteral("%1: %2 failed (HTTP %3%4)")
                                 .arg(agent, what)
                                 .arg(status)
                                 .arg(reason.isEmpty() ? QString() : QStringLiteral(": ") + reason);
        } else {
            result.message = QStringLiteral("%1: %2 failed: %3").arg(agent, what, reply->errorString());
        }
        if (done)
            done(result);
    });
}

void RemoteAgent::resetStats(const QString &, const ActionCallback &done)
{
    post(QByteArrayLiteral("POST"), QStringLiteral("/admin/performance/reset-stats"), {},
         QStringLiteral("statistics reset"), done);
}

void RemoteAgent::validateConfig(const QString &, const ActionCallback &done)
{
    if (m_validating) {
        if (done)
            done({true, QStringLiteral("%1: a validation is already running").arg(sourceName())});
        return;
    }
    m_validating = true;
    QPointer<RemoteAgent> self(this);
    post(QByteArrayLiteral("GET"), QStringLiteral("/admin/config/validate"), {},
         QStringLiteral("configuration validated"), [self, done](const ActionResult &result) {
             // The outcome itself arrives with the next snapshot (validationFinished()); should
             // it not (a link lost meanwhile), the console stops waiting after a few intervals.
             if (self && !result.ok)
                 self->m_validating = false;
             if (self && result.ok) {
                 QTimer::singleShot(std::max(5000, 5 * self->m_intervalMs), self, [self] {
                     if (self)
                         self->m_validating = false;
                 });
             }
             if (done)
                 done(result);
         });
}

void RemoteAgent::commandBreaker(const QString &name, BreakerCommand command, const ActionCallback &done)
{
    // The name is one path segment: '/' and ' ' in it travel as %2F and %20.
    const QString path = QStringLiteral("/admin/circuit-breakers/%1/%2")
                             .arg(QString::fromLatin1(QUrl::toPercentEncoding(name)), breakerCommandPath(command));
    post(QByteArrayLiteral("POST"), path, {}, QStringLiteral("circuit breaker \u201c%1\u201d %2").arg(name, breakerCommandDescription(command)), done);
}

void RemoteAgent::checkIntegrations(const QString &name, const ActionCallback &done)
{
    QJsonObject body;
    if (!name.isEmpty())
        body.insert(QStringLiteral("name"), name);
    post(QByteArrayLiteral("POST"), QStringLiteral("/admin/integrations/check"),
         QJsonDocument(body).toJson(QJsonDocument::Compact),
         name.isEmpty() ? QStringLiteral("checking every integration") : QStringLiteral("checking %1").arg(name),
         done);
}

} // namespace vega
