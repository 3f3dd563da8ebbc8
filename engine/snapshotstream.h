#pragma once

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QTimer>

#include <functional>
#include <memory>
#include <vector>

QT_BEGIN_NAMESPACE
class QWebSocket;
QT_END_NAMESPACE

namespace vega {

class Counter;
class Engine;
class Gauge;

/// The WebSocket path of the live snapshot stream an agent serves to consoles.
inline QString snapshotStreamPath()
{
    return QStringLiteral("/admin/stream");
}

namespace detail {

/**
 * The agent's live snapshot stream: consoles open a WebSocket to /admin/stream on the admin
 * API's port with the X-API-Key header, and get, as compact JSON text messages:
 *
 *   {"type":"hello","agent":NAME,"version":V,"interval_ms":N}          once, first
 *   {"type":"snapshot","snapshot":WIRE}                                 each new snapshot
 *
 * WIRE is snapshotToWire() (engine/snapshotjson.h). A client's first snapshot carries the
 * series points of the last `historySeconds` (the console's charts start with the agent's
 * recent history; an hour of every series would be tens of MB); later ones carry the points
 * newer than the previous message sent to that client, so a client that missed a tick still
 * gets every point.
 *
 * A client that does not read (more than maxQueuedBytes waiting in its socket) is skipped
 * until it caught up — it then gets the newest snapshot with every point it missed — so a
 * slow console never makes the agent buffer without bound. A wrong path or key is answered
 * with a close frame (1008, policy violation) whose reason names the problem.
 *
 * Lives on the admin API's thread; reads only Engine::latest() and the thread-safe registry.
 */
class SnapshotStreamServer : public QObject {
public:
    struct Options {
        int intervalMs = 1000;
        qint64 maxQueuedBytes = 8 * 1024 * 1024;
        QString agentName;
        int maxClients = 64;
        /// How much chart history a console's first snapshot carries (the newest points).
        int historySeconds = 300;
    };
    /// `keyAccepted` checks an X-API-Key value; `authFailed(client, reason)` records a failure.
    SnapshotStreamServer(Engine *engine, std::function<bool(const QByteArray &key)> keyAccepted,
                         std::function<void(const QString &client, const QString &reason)> authFailed,
                         const Options &options);
    ~SnapshotStreamServer() override;

    /// Takes a freshly upgraded WebSocket: checks path and key, then streams to it.
    void accept(std::unique_ptr<QWebSocket> socket);
    int clientCount() const { return int(m_clients.size()); }
    /// Closes every client (going away) and stops the timer.
    void shutdown();

private:
    struct Client {
        QWebSocket *socket = nullptr; // child of this server
        quint64 lastSequence = 0;
        qint64 lastSentWallMs = 0;
        bool sentAny = false;
    };

    void tick();
    void remove(QWebSocket *socket);
    /// The message for snapshots newer than `sinceWallMs` (all points when !sentAny).
    QByteArray message(bool full, qint64 sinceWallMs);

    Engine *const m_engine;
    const std::function<bool(const QByteArray &)> m_keyAccepted;
    const std::function<void(const QString &, const QString &)> m_authFailed;
    const Options m_options;
    std::vector<Client> m_clients;
    QTimer m_timer;
    Gauge *m_clientsGauge;
    Counter *m_messages;
    Counter *m_bytes;
    Counter *m_skipped;
    Counter *m_rejected;
};

} // namespace detail
} // namespace vega
