#pragma once

#include "clock.h"

#include <QByteArray>
#include <QHash>
#include <QHostAddress>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QUrlQuery>

#include <atomic>
#include <functional>
#include <memory>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace vega {

class Counter;
class Engine;

namespace detail {
class AdminServer;
}

/// Settings of the admin HTTP API (the "admin" section of the configuration, later).
struct AdminApiOptions {
    QHostAddress bindAddress = QHostAddress::LocalHost;
    /// 0 picks a free port; AdminApi::port() tells the bound one.
    quint16 port = 0;
    /// Accepted keys, as lowercase or uppercase hex SHA-256 digests of the key (64 digits).
    QStringList keySha256;
    /// Environment variable holding one more accepted key in plain text. Read by start(),
    /// hashed at once; the plain key is not kept. Leading/trailing whitespace is ignored.
    QByteArray keyEnvironmentVariable = QByteArrayLiteral("VEGA_API_KEY");
    /// Larger request bodies are answered 413.
    qint64 maxBodyBytes = 64 * 1024;
    /// Longest wait for an action to run on the engine's thread before answering 503.
    int actionTimeoutMs = 5000;
    /// A connection that sent nothing for this long while no answer to it is pending is
    /// closed (idle keep-alive connections, and ones QHttpServer stopped reading after
    /// malformed input). <= 0: never.
    int idleTimeoutMs = 60000;

    /// Slow-down of failed authentication, per client address: once more than
    /// `failureThreshold` failures happened within `failureWindowMs`, each further 401 to
    /// that address is sent after failureDelayBaseMs * 2^(n - threshold - 1) ms (n: failures
    /// in the window, this one included), capped at failureDelayMaxMs. A request with a right
    /// key is never delayed.
    int failureThreshold = 5;
    int failureWindowMs = 60000;
    int failureDelayBaseMs = 250;
    int failureDelayMaxMs = 5000;
    /// Delayed 401s held at once (all addresses); beyond it the answer is 429 with
    /// Retry-After at once, so a flood cannot pile up held connections.
    int maxDelayedResponses = 256;

    /// The live snapshot stream (WebSocket /admin/stream, see snapshotstream.h): the name it
    /// announces (empty: the machine's host name) and how often it looks for a new snapshot.
    QString agentName;
    int streamIntervalMs = 1000;
    /// A console that leaves more than this unread is skipped until it caught up.
    qint64 streamMaxQueuedBytes = 8 * 1024 * 1024;
    /// Chart history in a console's first snapshot, in seconds (newest points).
    int streamHistorySeconds = 300;
};

/// One authenticated request as a route handler sees it.
struct AdminRequest {
    QByteArray method;              ///< "GET", "POST", ...
    QString path;                   ///< percent-decoded path, e.g. "/admin/report"
    QHash<QString, QString> params; ///< path parameters: pattern "{name}" -> decoded segment
    QUrlQuery query;
    QByteArray body;
    /// The body parsed as a JSON object (POST/PUT/PATCH with a non-empty body; the server has
    /// answered 400 already when it was not a JSON object). Empty otherwise.
    QJsonObject json;
    QString client; ///< the client's address, e.g. "127.0.0.1"

    QString param(const QString &name) const { return params.value(name); }
};

/// A handler's answer; always sent as JSON (Content-Type: application/json).
struct AdminResponse {
    int status = 200;
    QJsonObject body;
    /// When set, sent instead of `body` with this Content-Type (e.g. Prometheus text).
    QByteArray contentType;
    QByteArray raw;
    /// Extra headers (Content-Type and Content-Length are the server's).
    QList<QPair<QByteArray, QByteArray>> headers;

    static AdminResponse ok(const QJsonObject &body);
    static AdminResponse text(const QByteArray &body, const QByteArray &contentType);
    /// {"error": message, "status": status}
    static AdminResponse error(int status, const QString &message);
};

/// Where a route's handler runs.
enum class AdminThread {
    /// The API's own thread: for reads. The handler may use only what is safe from any
    /// thread: Engine::latest(), Engine::sqlProfiler(), Engine::history()->status() and
    /// queueDepth(), Engine::config(), MetricsRegistry (thread-safe).
    Api,
    /// The engine's thread: for actions. The API posts the call there and answers once it
    /// ran (or 503 after actionTimeoutMs if it did not start; it is then never run). Every
    /// such call goes to the journal (registry event kind "admin", source the client
    /// address, message "METHOD /path") and a snapshot is published right after it, so its
    /// effect shows in Engine::latest() at once.
    Engine,
};

/**
 * A route handler: `AdminResponse handler(Engine &engine, const AdminRequest &request)`.
 * It runs on the thread named when the route was added (see AdminThread) and must not block.
 * Authentication, 404/405/413 and JSON body parsing happened before it is called.
 */
using AdminHandler = std::function<AdminResponse(Engine &engine, const AdminRequest &request)>;

/**
 * The admin HTTP API (QHttpServer), served on a thread of its own, so a busy engine loop
 * never stalls it and serving never stalls the engine. See docs/ADMIN_API.md for the
 * endpoints.
 *
 * Every request needs an X-API-Key header whose SHA-256 matches an accepted hash (compared
 * in constant time, against every hash); failures get 401, slowed down per client address
 * (see AdminApiOptions). Errors are JSON: {"error": "...", "status": N}. Unknown path 404;
 * known path, other method 405 with Allow; body over the limit 413; malformed JSON body 400.
 *
 * Reads run on the API's thread from Engine::latest() and thread-safe components. Actions
 * are posted to the engine's thread and answered asynchronously: the API's thread never
 * waits on the engine, which is why stop() cannot deadlock even when called from the
 * engine's thread.
 *
 * Routes live in one table; more are added with one addRoute() call each, before start().
 * The engine must outlive the AdminApi. Create, start, stop and destroy it on one thread
 * (normally the engine's).
 */
class AdminApi : public QObject {
    Q_OBJECT
public:
    AdminApi(Engine *engine, const AdminApiOptions &options = {}, Clock *clock = Clock::system(),
             QObject *parent = nullptr);
    /// Stops serving (see stop()).
    ~AdminApi() override;

    /**
     * Adds a route. `pattern` is an absolute path whose segments may be parameters
     * ("/admin/circuit-breakers/{name}/force-open"); a parameter matches one non-empty
     * segment, percent-decoded (so a name holding '/' or ' ' is sent as %2F / %20). Literal
     * paths win over patterns. Fails (false, `error` says why) while running, on a duplicate
     * method + pattern, a malformed pattern or method, or an empty handler.
     */
    bool addRoute(const QByteArray &method, const QString &pattern, AdminHandler handler,
                  AdminThread thread = AdminThread::Api, QString *error = nullptr);
    /// The routes as (method, pattern), in the order added.
    QList<QPair<QByteArray, QString>> routes() const;

    /**
     * Reads the key from the environment, starts the thread and listens. Returns false with
     * a message naming the problem when no key is configured (the API never runs without
     * one), a configured hash is malformed, the address/port cannot be bound, or it already
     * runs.
     */
    bool start(QString *error);
    /// Stops listening, drops requests in progress (unanswered; actions not started yet are
    /// never run) and joins the thread. Never waits on the engine's thread. Safe when stopped.
    void stop();
    bool isRunning() const { return m_server != nullptr; }
    /// The bound port while running, 0 otherwise. Thread-safe.
    quint16 port() const { return m_port.load(); }

    // Counts since construction; thread-safe.
    quint64 requestsServed() const { return m_requestsServed.load(); }
    quint64 authFailures() const { return m_authFailures.load(); }
    quint64 delayedResponses() const { return m_delayedResponses.load(); }

    /// Lowercase hex SHA-256 of `key`: what AdminApiOptions::keySha256 holds.
    static QString sha256Hex(const QByteArray &key);

private:
    friend class detail::AdminServer;
    struct Route;

    Engine *m_engine;
    AdminApiOptions m_options;
    Clock *m_clock;
    std::vector<std::shared_ptr<const Route>> m_routes;
    std::unique_ptr<QThread> m_thread;
    std::unique_ptr<detail::AdminServer> m_server; // lives on m_thread while running
    std::atomic<quint16> m_port{0};
    std::atomic<quint64> m_requestsServed{0};
    std::atomic<quint64> m_authFailures{0};
    std::atomic<quint64> m_delayedResponses{0};
};

} // namespace vega
