#pragma once

#include "snapshotsource.h"

#include <QElapsedTimer>
#include <QTimer>
#include <QUrl>

#include <memory>
#include <random>

QT_BEGIN_NAMESPACE
class QNetworkAccessManager;
class QWebSocket;
QT_END_NAMESPACE

namespace vega {

/// How to reach one agent.
struct RemoteAgentOptions {
    /// The agent's admin API, e.g. http://10.0.0.5:9470 (see parseAgentAddress()).
    QUrl baseUrl;
    /// The plain API key sent as X-API-Key (never logged, never shown).
    QByteArray apiKey;
    /// The name shown for the agent; empty: the name the agent announces, else host:port.
    QString name;
    /// Reconnects wait a random time up to min(max, base * 2^attempt) (full jitter).
    int reconnectBaseMs = 500;
    int reconnectMaxMs = 30000;
    /// A connected stream that sends nothing for this long is considered dead and reopened
    /// (a half-open TCP connection shows no error). <= 0: 10 s or 5 intervals, the larger.
    int silenceTimeoutMs = 0;
    /// Points kept per chart series (an hour at 1 s).
    int seriesCapacity = 3600;
    /// Longest wait for an action's answer.
    int actionTimeoutMs = 15000;
};

/**
 * Parses what a user types for an agent: "host:port", "http://host:port", "https://…",
 * "ws://host:port/…", optionally prefixed by "name=". Returns false and sets `error` (naming
 * the text and the problem) when it is not an address; the port defaults to 9470.
 */
bool parseAgentAddress(const QString &text, QUrl *baseUrl, QString *name, QString *error);

/**
 * A remote agent as a SnapshotSource: it subscribes to the agent's live snapshot stream
 * (WebSocket /admin/stream, see snapshotstream.h), rebuilds each snapshot with
 * snapshotFromWire() and keeps its chart series growing, so the console shows the agent with
 * the same pages as the local engine. Actions go to the agent's admin API.
 *
 * A lost link (refused, closed, silent, or the agent stopped) is reopened with exponential
 * backoff and full jitter; meanwhile link() is Lost, linkError() says why and latest() keeps
 * the last snapshot received. Nothing here blocks the event loop.
 */
class RemoteAgent : public SnapshotSource {
    Q_OBJECT
public:
    explicit RemoteAgent(const RemoteAgentOptions &options, QObject *parent = nullptr);
    ~RemoteAgent() override;

    void start();
    void stop();

    QUrl baseUrl() const { return m_options.baseUrl; }
    QUrl streamUrl() const;
    /// Messages received, reconnections made, and ms since the last message (-1: none yet).
    quint64 messagesReceived() const { return m_messages; }
    quint64 bytesReceived() const { return m_bytes; }
    int reconnects() const { return m_reconnects; }
    qint64 msSinceLastMessage() const;
    /// When the next connection attempt is due, ms from now (-1: none scheduled).
    int reconnectDueInMs() const;

    // SnapshotSource
    QString sourceName() const override;
    bool isRemote() const override { return true; }
    Link link() const override { return m_link; }
    QString linkError() const override { return m_linkError; }
    SnapshotPtr latest() const override { return m_latest; }
    const EngineConfig &config() const override { return m_config; }
    QString configPath() const override;
    bool isDemo() const override;
    qint64 wallNowMs() const override;
    void resetStats(const QString &who = QStringLiteral("operator"), const ActionCallback &done = {}) override;
    void validateConfig(const QString &who = QStringLiteral("operator"), const ActionCallback &done = {}) override;
    bool isValidating() const override { return m_validating; }
    std::shared_ptr<const ValidationReport> lastValidation() const override;
    void commandBreaker(const QString &name, BreakerCommand command, const ActionCallback &done = {}) override;
    void checkIntegrations(const QString &name = {}, const ActionCallback &done = {}) override;
    bool canCheckIntegrations() const override { return m_link == Link::Connected; }

private:
    void open();
    void onMessage(const QString &text);
    void onClosed();
    void setLink(Link link, const QString &error = {});
    void scheduleReconnect();
    /// Sends an action to the admin API (`path` percent-encoded); `done` gets its outcome.
    void post(const QByteArray &method, const QString &path, const QByteArray &body, const QString &what,
              const ActionCallback &done);

    RemoteAgentOptions m_options;
    std::unique_ptr<QNetworkAccessManager> m_network;
    std::unique_ptr<QWebSocket> m_socket;
    QTimer m_reconnectTimer;
    QTimer m_silenceTimer;
    QElapsedTimer m_lastMessage;
    std::mt19937_64 m_random;
    Link m_link = Link::Lost;
    QString m_linkError;
    QString m_loggedError; // the last loss reported in the log (repeats are not logged)
    QString m_announcedName;
    int m_intervalMs = 1000;
    int m_attempt = 0;
    int m_reconnects = 0;
    bool m_running = false;
    bool m_validating = false;
    quint64 m_messages = 0;
    quint64 m_bytes = 0;
    qint64 m_clockOffsetMs = 0; // agent wall clock minus ours, at the last snapshot
    SnapshotPtr m_latest;
    EngineConfig m_config;
    QJsonObject m_configJson; // what m_config was parsed from
    qint64 m_lastValidationStartedMs = -1;
};

} // namespace vega
