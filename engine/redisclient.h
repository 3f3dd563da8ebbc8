#pragma once

#include "clock.h"

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QString>
#include <QTimer>

#include <functional>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

struct redisAsyncContext;

namespace vega {

/// Where a Redis server is, parsed from redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
    QString host;
    int port = 6379;
    int db = 0;
    QString user;     // Redis 6 ACL user; empty: AUTH with the password only
    QString password; // expanded; never logged or shown
    /// "redis://host:port/db", without credentials: what logs and the console may show.
    QString display() const;
};

/// Parses a Redis URL. The user and password may contain ${NAME} environment references
/// (expanded here; an unset variable is an error) and percent-encoded characters. Returns
/// false with *error naming the problem; the message never repeats the password.
bool parseRedisUrl(const QString &url, RedisEndpoint *endpoint, QString *error);

/// One reply, copied out of hiredis. Arrays hold their elements in `elements`.
struct RedisReply {
    enum class Type { Nil, Status, Error, Integer, String, Array };
    Type type = Type::Nil;
    qint64 integer = 0;
    QByteArray string; // status, error and string replies
    QList<RedisReply> elements;

    bool isNil() const { return type == Type::Nil; }
    bool isError() const { return type == Type::Error; }
};

/// Why a command got no reply.
struct RedisError {
    enum class Kind { None, NotConnected, Timeout, ConnectionLost };
    Kind kind = Kind::None;
    QString message;
    bool isError() const { return kind != Kind::None; }
};

struct RedisClientOptions {
    /// Connect, AUTH, SELECT and the first PING must finish within this.
    int connectTimeoutMs = 1000;
    /// Default timeout of a command (command() may override it).
    int commandTimeoutMs = 50;
    /// After a failed connect or a lost connection, the next attempt waits
    /// random(base/2, base) * 2^(failures-1), at most cap.
    int reconnectBaseMs = 100;
    int reconnectCapMs = 5000;
    /// A connection on which this many commands in a row timed out, with no reply in
    /// between, is dropped and reconnected (a stopped or wedged server keeps TCP open).
    int timeoutsBeforeReconnect = 5;
};

/**
 * An asynchronous Redis connection driven by the thread's Qt event loop (hiredis with a
 * QSocketNotifier adapter). Nothing blocks: the connect is non-blocking, a host name is
 * resolved with QHostInfo, every command has a timeout kept by a QTimer (hiredis's async
 * API has none), and results come back through callbacks.
 *
 * The client connects on start() and keeps reconnecting with exponential backoff whenever
 * the connection fails or is lost, for as long as it lives. Commands are only accepted while
 * the state is Up; otherwise their callback reports the error.
 *
 * Callbacks run on the client's thread, never from inside command(), and never after the
 * client was destroyed (the callbacks of commands still pending then are dropped). A
 * callback may issue commands or delete the client.
 *
 * The first client created in a process sets SIGPIPE to ignored when it is still at its
 * default: hiredis writes with write(2), and a server that went away would otherwise kill
 * the process.
 */
class RedisClient : public QObject {
    Q_OBJECT
public:
    enum class State { Down, Connecting, Up };
    Q_ENUM(State)
    /// Without `error`, `reply` holds the answer (which may itself be an error reply from the
    /// server).
    using Callback = std::function<void(const RedisReply &reply, const RedisError &error)>;

    RedisClient(const RedisEndpoint &endpoint, const RedisClientOptions &options = {},
                Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~RedisClient() override;

    /// Starts connecting (idempotent).
    void start();

    State state() const { return m_state; }
    static QString stateName(State state); // "down", "connecting", "up"
    const RedisEndpoint &endpoint() const { return m_endpoint; }
    /// The most recent connection or command error ("" when none yet).
    QString lastError() const { return m_lastError; }
    /// Connections that reached Up, reconnects included.
    quint64 connects() const { return m_connects; }
    /// Commands sent and not answered yet (timed-out ones excluded).
    int pendingCommands() const { return int(m_pending.size()); }

    /// Sends a command (binary-safe arguments). `timeoutMs` <= 0 uses the options' default.
    /// The callback runs exactly once: with the reply, or with an error ("not connected",
    /// "timed out after N ms", "connection lost"...).
    void command(const QList<QByteArray> &args, Callback callback, int timeoutMs = 0);

Q_SIGNALS:
    void stateChanged(vega::RedisClient::State state);

private:
    class Adapter;
    struct Pending {
        Callback callback;
        std::multimap<qint64, quint64>::iterator deadline;
        int timeoutMs = 0;
    };
    struct Completion {
        Callback callback;
        RedisReply reply;
        RedisError error;
    };

    static void onConnectThunk(const redisAsyncContext *ctx, int status);
    static void onDisconnectThunk(const redisAsyncContext *ctx, int status);
    static void onReplyThunk(redisAsyncContext *ctx, void *reply, void *privdata);

    void connectNow();
    void connectTo(const QString &address);
    void onConnected(int status, const QString &errorText);
    void onDisconnected(const QString &errorText);
    void onReply(quint64 id, void *reply);
    void onSocketEvent(bool readable);
    void handshake();
    void setState(State state);
    void connectionFailed(const QString &why);
    void dropConnection(const QString &why);
    void releaseContext();
    void scheduleReconnect();
    void failAllPending(RedisError::Kind kind, const QString &why);
    void enqueue(const QList<QByteArray> &args, Callback callback, int timeoutMs);
    void complete(quint64 id, RedisReply reply, RedisError error);
    void flushCompletions();
    void scheduleFlush();
    void armTimeoutTimer();
    void onTimeoutTimer();

    RedisEndpoint m_endpoint;
    RedisClientOptions m_options;
    Clock *m_clock;
    redisAsyncContext *m_ctx = nullptr;
    std::unique_ptr<Adapter> m_adapter;
    State m_state = State::Down;
    bool m_started = false;
    bool m_destroying = false;
    bool m_flushScheduled = false;
    int m_inHandler = 0; // > 0 while a socket or timer handler runs: it flushes completions itself
    QString m_lastError;
    quint64 m_connects = 0;
    quint64 m_generation = 0; // one per connection attempt: late callbacks of older ones are ignored
    int m_reconnectFailures = 0;
    int m_consecutiveTimeouts = 0;
    int m_lookupId = -1;
    quint64 m_nextId = 0;
    std::unordered_map<quint64, Pending> m_pending;
    std::multimap<qint64, quint64> m_deadlines; // deadline ns -> command id
    qint64 m_armedDeadlineNs = 0;
    std::vector<Completion> m_completions; // answered, callbacks not run yet
    QTimer m_timeoutTimer;
    QTimer m_connectTimer;
    QTimer m_reconnectTimer;
    std::mt19937 m_rng{std::random_device{}()};
    bool *m_deletedFlag = nullptr; // set while completions run: a callback may delete the client
};

} // namespace vega
