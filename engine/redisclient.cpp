#include "redisclient.h"

#include "config.h"

#include <QHostAddress>
#include <QHostInfo>
#include <QLoggingCategory>
#include <QSocketNotifier>
#include <QUrl>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>

Q_LOGGING_CATEGORY(lcRedis, "vega.redis")

namespace vega {

namespace {

constexpr qint64 kNsPerMs = 1000000;

RedisReply convertReply(const redisReply *r)
{
    RedisReply out;
    if (!r)
        return out;
    switch (r->type) {
    case REDIS_REPLY_STRING:
        out.type = RedisReply::Type::String;
        out.string = QByteArray(r->str, qsizetype(r->len));
        break;
    case REDIS_REPLY_STATUS:
        out.type = RedisReply::Type::Status;
        out.string = QByteArray(r->str, qsizetype(r->len));
        break;
    case REDIS_REPLY_ERROR:
        out.type = RedisReply::Type::Error;
        out.string = QByteArray(r->str, qsizetype(r->len));
        break;
    case REDIS_REPLY_INTEGER:
        out.type = RedisReply::Type::Integer;
        out.integer = r->integer;
        break;
    case REDIS_REPLY_ARRAY:
        out.type = RedisReply::Type::Array;
        out.elements.reserve(qsizetype(r->elements));
        for (size_t i = 0; i < r->elements; ++i)
            out.elements.append(convertReply(r->element[i]));
        break;
    default:
        out.type = RedisReply::Type::Nil;
        break;
    }
    return out;
}

void ignoreSigpipeOnce()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction current {};
        if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
            std::signal(SIGPIPE, SIG_IGN);
    });
}

// Text of the authority part, user info stripped: "host", "host:port", "[::1]:port".
bool splitHostPort(const QString &authority, QString *host, int *port, QString *error)
{
    QString rest = authority;
    if (rest.startsWith(QLatin1Char('['))) {
        const qsizetype close = rest.indexOf(QLatin1Char(']'));
        if (close < 0) {
            *error = QStringLiteral("unterminated IPv6 address (missing ']')");
            return false;
        }
        *host = rest.mid(1, close - 1);
        rest = rest.mid(close + 1);
        if (!rest.isEmpty() && !rest.startsWith(QLatin1Char(':'))) {
            *error = QStringLiteral("unexpected text after the IPv6 address");
            return false;
        }
    } else {
        const qsizetype colon = rest.lastIndexOf(QLatin1Char(':'));
        *host = colon < 0 ? rest : rest.left(colon);
        rest = colon < 0 ? QString() : rest.mid(colon);
    }
    if (host->isEmpty()) {
        *error = QStringLiteral("no host");
        return false;
    }
    static const QString allowed = QStringLiteral("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:");
    for (const QChar c : std::as_const(*host)) {
        if (!allowed.contains(c)) {
            *error = QStringLiteral("the host \"%1\" contains '%2'").arg(*host, c);
            return false;
        }
    }
    if (rest.startsWith(QLatin1Char(':'))) {
        bool ok = false;
        const int p = rest.mid(1).toInt(&ok);
        if (!ok || p < 1 || p > 65535) {
            *error = QStringLiteral("port \"%1\" is not a number in 1-65535").arg(rest.mid(1));
            return false;
        }
        *port = p;
    }
    return true;
}

} // namespace

QString RedisEndpoint::display() const
{
    const QString h = host.contains(QLatin1Char(':')) ? QLatin1Char('[') + host + QLatin1Char(']') : host;
    return QStringLiteral("redis://%1:%2/%3").arg(h).arg(port).arg(db);
}

bool parseRedisUrl(const QString &url, RedisEndpoint *endpoint, QString *error)
{
    QString why;
    auto fail = [&](const QString &message) {
        if (error)
            *error = QStringLiteral("invalid Redis URL: ") + message;
        return false;
    };
    const QString trimmed = url.trimmed();
    if (trimmed.startsWith(QLatin1String("rediss://"), Qt::CaseInsensitive))
        return fail(QStringLiteral("TLS (rediss://) is not supported; use redis://"));
    if (!trimmed.startsWith(QLatin1String("redis://"), Qt::CaseInsensitive))
        return fail(QStringLiteral("expected redis://[[user]:password@]host[:port][/db]"));
    QString rest = trimmed.mid(8);
    qsizetype slash = rest.indexOf(QLatin1Char('/'));
    QString authority = slash < 0 ? rest : rest.left(slash);
    const QString path = slash < 0 ? QString() : rest.mid(slash + 1);
    RedisEndpoint e;
    const qsizetype at = authority.lastIndexOf(QLatin1Char('@'));
    if (at >= 0) {
        const QString userInfo = authority.left(at);
        authority = authority.mid(at + 1);
        const qsizetype colon = userInfo.indexOf(QLatin1Char(':'));
        const QString rawUser = colon < 0 ? QString() : userInfo.left(colon);
        // "redis://secret@host" is how some tools write a password alone.
        const QString rawPassword = colon < 0 ? userInfo : userInfo.mid(colon + 1);
        for (const QString *part : {&rawUser, &rawPassword}) {
            const QString syntax = environmentSyntaxError(*part);
            if (!syntax.isEmpty())
                return fail(QStringLiteral("credentials: ") + syntax);
        }
        QStringList missing;
        e.user = QUrl::fromPercentEncoding(expandEnvironment(rawUser, &missing).toUtf8());
        e.password = QUrl::fromPercentEncoding(expandEnvironment(rawPassword, &missing).toUtf8());
        if (!missing.isEmpty())
            return fail(QStringLiteral("environment variable %1 (referenced by the credentials) is not set")
                            .arg(missing.join(QStringLiteral(", "))));
    }
    if (!splitHostPort(authority, &e.host, &e.port, &why))
        return fail(why);
    if (!path.isEmpty()) {
        bool ok = false;
        const int db = path.toInt(&ok);
        if (!ok || db < 0 || db > 100000)
            return fail(QStringLiteral("database \"%1\" is not a number (redis://host:port/0)").arg(path));
        e.db = db;
    }
    if (endpoint)
        *endpoint = e;
    return true;
}

// ---------------------------------------------------------------------------------------

/// hiredis's event hooks on QSocketNotifiers. One per connection; it outlives the hiredis
/// context (deleted later), since hiredis calls cleanup() while it frees the context.
class RedisClient::Adapter : public QObject {
public:
    Adapter(RedisClient *client, redisAsyncContext *ctx) : m_client(client), m_fd(ctx->c.fd)
    {
        ctx->ev.data = this;
        ctx->ev.addRead = [](void *p) { static_cast<Adapter *>(p)->enable(QSocketNotifier::Read, true); };
        ctx->ev.delRead = [](void *p) { static_cast<Adapter *>(p)->enable(QSocketNotifier::Read, false); };
        ctx->ev.addWrite = [](void *p) { static_cast<Adapter *>(p)->enable(QSocketNotifier::Write, true); };
        ctx->ev.delWrite = [](void *p) { static_cast<Adapter *>(p)->enable(QSocketNotifier::Write, false); };
        ctx->ev.cleanup = [](void *p) { static_cast<Adapter *>(p)->cleanup(); };
    }

    /// No more events reach the client (its connection is gone or it is being destroyed).
    void detach()
    {
        m_client = nullptr;
        cleanup();
    }
    /// True while one of its notifiers is delivering an event, i.e. possibly inside hiredis.
    bool isEmitting() const { return m_emitting; }

private:
    void enable(QSocketNotifier::Type type, bool on)
    {
        if (m_cleanedUp)
            return;
        QSocketNotifier *&n = type == QSocketNotifier::Read ? m_read : m_write;
        if (!n) {
            if (!on)
                return;
            n = new QSocketNotifier(qintptr(m_fd), type, this); // child of the adapter
            connect(n, &QSocketNotifier::activated, this, [this, type] {
                if (!m_client || m_cleanedUp)
                    return;
                m_emitting = true; // the client may be deleted meanwhile, never this adapter
                m_client->onSocketEvent(type == QSocketNotifier::Read);
                m_emitting = false;
            });
        }
        n->setEnabled(on);
    }

    void cleanup()
    {
        m_cleanedUp = true;
        if (m_read)
            m_read->setEnabled(false);
        if (m_write)
            m_write->setEnabled(false);
    }

    RedisClient *m_client;
    int m_fd;
    QSocketNotifier *m_read = nullptr;
    QSocketNotifier *m_write = nullptr;
    bool m_cleanedUp = false;
    bool m_emitting = false;
};

// ---------------------------------------------------------------------------------------

RedisClient::RedisClient(const RedisEndpoint &endpoint, const RedisClientOptions &options, Clock *clock,
                         QObject *parent)
    : QObject(parent), m_endpoint(endpoint), m_options(options), m_clock(clock)
{
    ignoreSigpipeOnce();
    m_timeoutTimer.setSingleShot(true);
    m_timeoutTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_timeoutTimer, &QTimer::timeout, this, &RedisClient::onTimeoutTimer);
    m_connectTimer.setSingleShot(true);
    connect(&m_connectTimer, &QTimer::timeout, this, [this] {
        connectionFailed(QStringLiteral("no connection to %1 within %2 ms")
                             .arg(m_endpoint.display())
                             .arg(m_options.connectTimeoutMs));
    });
    m_reconnectTimer.setSingleShot(true);
    connect(&m_reconnectTimer, &QTimer::timeout, this, &RedisClient::connectNow);
}

RedisClient::~RedisClient()
{
    m_destroying = true;
    if (m_deletedFlag)
        *m_deletedFlag = true;
    if (m_lookupId >= 0)
        QHostInfo::abortHostLookup(m_lookupId);
    m_pending.clear();
    m_deadlines.clear();
    m_completions.clear();
    releaseContext();
}

QString RedisClient::stateName(State state)
{
    switch (state) {
    case State::Down:
        return QStringLiteral("down");
    case State::Connecting:
        return QStringLiteral("connecting");
    case State::Up:
        return QStringLiteral("up");
    }
    return {};
}

void RedisClient::start()
{
    if (m_started)
        return;
    m_started = true;
    connectNow();
}

void RedisClient::connectNow()
{
    if (m_destroying || m_state != State::Down)
        return;
    setState(State::Connecting);
    m_connectTimer.start(std::max(1, m_options.connectTimeoutMs));
    QHostAddress literal;
    if (literal.setAddress(m_endpoint.host)) {
        connectTo(literal.toString());
        return;
    }
    // getaddrinfo() in hiredis would block: resolve on Qt's lookup thread instead.
    const quint64 generation = m_generation;
    m_lookupId = QHostInfo::lookupHost(m_endpoint.host, this, [this, generation](const QHostInfo &info) {
        m_lookupId = -1;
        if (generation != m_generation || m_state != State::Connecting)
            return;
        if (info.error() != QHostInfo::NoError || info.addresses().isEmpty()) {
            connectionFailed(QStringLiteral("cannot resolve %1: %2").arg(m_endpoint.host, info.errorString()));
            return;
        }
        // IPv4 first: "localhost" often lists ::1 too, where a Redis bound to 127.0.0.1 is not.
        QList<QHostAddress> addresses = info.addresses();
        std::stable_partition(addresses.begin(), addresses.end(), [](const QHostAddress &a) {
            return a.protocol() == QAbstractSocket::IPv4Protocol;
        });
        connectTo(addresses.constFirst().toString());
    });
}

void RedisClient::connectTo(const QString &address)
{
    redisAsyncContext *ctx = redisAsyncConnect(address.toLatin1().constData(), m_endpoint.port);
    if (!ctx) {
        connectionFailed(QStringLiteral("cannot allocate a Redis connection"));
        return;
    }
    if (ctx->err) {
        const QString why = QString::fromLocal8Bit(ctx->errstr);
        redisAsyncFree(ctx);
        connectionFailed(QStringLiteral("cannot connect to %1: %2").arg(m_endpoint.display(), why));
        return;
    }
    ctx->data = this;
    m_ctx = ctx;
    m_adapter = std::make_unique<Adapter>(this, ctx);
    // The adapter first: setting the connect callback registers the first write event.
    redisAsyncSetConnectCallback(ctx, &RedisClient::onConnectThunk);
    redisAsyncSetDisconnectCallback(ctx, &RedisClient::onDisconnectThunk);
}

void RedisClient::onConnectThunk(const redisAsyncContext *ctx, int status)
{
    if (auto *self = static_cast<RedisClient *>(ctx->data))
        self->onConnected(status, QString::fromLocal8Bit(ctx->errstr));
}

void RedisClient::onDisconnectThunk(const redisAsyncContext *ctx, int status)
{
    Q_UNUSED(status)
    if (auto *self = static_cast<RedisClient *>(ctx->data))
        self->onDisconnected(QString::fromLocal8Bit(ctx->errstr));
}

void RedisClient::onReplyThunk(redisAsyncContext *ctx, void *reply, void *privdata)
{
    if (auto *self = static_cast<RedisClient *>(ctx->data))
        self->onReply(quint64(reinterpret_cast<std::uintptr_t>(privdata)), reply);
}

// Runs inside hiredis: bookkeeping only, no user code.
void RedisClient::onConnected(int status, const QString &errorText)
{
    if (status == REDIS_OK) {
        handshake();
        return;
    }
    // hiredis frees the context after this returns.
    m_ctx = nullptr;
    releaseContext();
    connectionFailed(QStringLiteral("cannot connect to %1: %2").arg(m_endpoint.display(), errorText));
}

// Runs inside hiredis, which frees the context after this returns. The callbacks of the
// commands in flight already ran (with no reply: "connection lost").
void RedisClient::onDisconnected(const QString &errorText)
{
    m_ctx = nullptr;
    releaseContext();
    ++m_generation;
    m_lastError = QStringLiteral("connection to %1 lost%2")
                      .arg(m_endpoint.display(),
                           errorText.isEmpty() ? QString() : QStringLiteral(": ") + errorText);
    qCWarning(lcRedis).noquote() << m_lastError;
    failAllPending(RedisError::Kind::ConnectionLost, m_lastError);
    m_connectTimer.stop();
    setState(State::Down);
    scheduleReconnect();
}

void RedisClient::onReply(quint64 id, void *reply)
{
    if (!reply) {
        complete(id, {}, {RedisError::Kind::ConnectionLost, QStringLiteral("connection to %1 lost").arg(m_endpoint.display())});
        return;
    }
    m_consecutiveTimeouts = 0;
    complete(id, convertReply(static_cast<redisReply *>(reply)), {});
}

void RedisClient::handshake()
{
    const quint64 generation = m_generation;
    auto failed = [this, generation](const QString &what, const RedisReply &reply, const RedisError &error) {
        if (generation != m_generation || m_state != State::Connecting)
            return true;
        if (!error.isError() && !reply.isError())
            return false;
        connectionFailed(QStringLiteral("%1 on %2 failed: %3")
                             .arg(what, m_endpoint.display(),
                                  error.isError() ? error.message : QString::fromUtf8(reply.string)));
        return true;
    };
    const int timeout = std::max(1, m_options.connectTimeoutMs);
    if (!m_endpoint.password.isEmpty()) {
        QList<QByteArray> auth{QByteArrayLiteral("AUTH")};
        if (!m_endpoint.user.isEmpty())
            auth.append(m_endpoint.user.toUtf8());
        auth.append(m_endpoint.password.toUtf8());
        enqueue(auth, [failed](const RedisReply &r, const RedisError &e) { failed(QStringLiteral("AUTH"), r, e); },
                timeout);
    }
    if (m_endpoint.db != 0) {
        enqueue({QByteArrayLiteral("SELECT"), QByteArray::number(m_endpoint.db)},
                [failed](const RedisReply &r, const RedisError &e) { failed(QStringLiteral("SELECT"), r, e); },
                timeout);
    }
    enqueue({QByteArrayLiteral("PING")},
            [this, failed](const RedisReply &r, const RedisError &e) {
                if (failed(QStringLiteral("PING"), r, e))
                    return;
                m_connectTimer.stop();
                m_reconnectFailures = 0;
                m_consecutiveTimeouts = 0;
                ++m_connects;
                m_lastError.clear();
                qCInfo(lcRedis).noquote() << "connected to" << m_endpoint.display();
                setState(State::Up);
            },
            timeout);
}

void RedisClient::setState(State state)
{
    if (m_state == state)
        return;
    m_state = state;
    // Queued: this may run inside hiredis, where a slot must not delete the client.
    QMetaObject::invokeMethod(
        this, [this, state] { Q_EMIT stateChanged(state); }, Qt::QueuedConnection);
}

void RedisClient::connectionFailed(const QString &why)
{
    m_lastError = why;
    if (m_reconnectFailures == 0) // once per outage, not once per attempt
        qCWarning(lcRedis).noquote() << why;
    dropConnection(why);
    m_connectTimer.stop();
    setState(State::Down);
    scheduleReconnect();
}

void RedisClient::dropConnection(const QString &why)
{
    ++m_generation;
    if (m_lookupId >= 0) {
        QHostInfo::abortHostLookup(m_lookupId);
        m_lookupId = -1;
    }
    failAllPending(RedisError::Kind::ConnectionLost, why);
    if (redisAsyncContext *ctx = std::exchange(m_ctx, nullptr)) {
        ctx->data = nullptr; // its callbacks now find no client: everything was failed above
        redisAsyncFree(ctx); // deferred by hiredis when called from one of its callbacks
    }
    releaseContext();
}

void RedisClient::releaseContext()
{
    if (m_ctx) {
        redisAsyncContext *ctx = std::exchange(m_ctx, nullptr);
        ctx->data = nullptr;
        redisAsyncFree(ctx);
    }
    if (m_adapter) {
        Adapter *adapter = m_adapter.release();
        adapter->detach();
        // Inside one of its events hiredis may still call its hooks (it frees a context that
        // failed after our callback returns): delete it once back in the event loop.
        if (adapter->isEmitting())
            adapter->deleteLater();
        else
            delete adapter;
    }
}

void RedisClient::scheduleReconnect()
{
    if (m_destroying || !m_started)
        return;
    ++m_reconnectFailures;
    const int exponent = std::min(m_reconnectFailures - 1, 20);
    const qint64 ceiling =
        std::min<qint64>(std::max(1, m_options.reconnectCapMs), qint64(std::max(1, m_options.reconnectBaseMs)) << exponent);
    std::uniform_int_distribution<qint64> jitter(std::max<qint64>(1, ceiling / 2), std::max<qint64>(1, ceiling));
    m_reconnectTimer.start(int(jitter(m_rng)));
}

void RedisClient::failAllPending(RedisError::Kind kind, const QString &why)
{
    std::vector<quint64> ids;
    ids.reserve(m_pending.size());
    for (const auto &p : m_pending)
        ids.push_back(p.first);
    std::sort(ids.begin(), ids.end()); // in the order they were sent
    for (quint64 id : ids)
        complete(id, {}, {kind, why});
}

void RedisClient::command(const QList<QByteArray> &args, Callback callback, int timeoutMs)
{
    if (m_state != State::Up || !m_ctx) {
        Completion c;
        c.callback = std::move(callback);
        c.error = {RedisError::Kind::NotConnected,
                   QStringLiteral("not connected to %1 (%2)").arg(m_endpoint.display(), stateName(m_state))};
        m_completions.push_back(std::move(c));
        scheduleFlush();
        return;
    }
    enqueue(args, std::move(callback), timeoutMs > 0 ? timeoutMs : m_options.commandTimeoutMs);
}

void RedisClient::enqueue(const QList<QByteArray> &args, Callback callback, int timeoutMs)
{
    const quint64 id = ++m_nextId;
    Pending p;
    p.callback = std::move(callback);
    p.timeoutMs = std::max(1, timeoutMs);
    const qint64 deadline = m_clock->nowNs() + qint64(p.timeoutMs) * kNsPerMs;
    p.deadline = m_deadlines.emplace(deadline, id);
    m_pending.emplace(id, std::move(p));

    std::vector<const char *> argv;
    std::vector<size_t> lengths;
    argv.reserve(size_t(args.size()));
    lengths.reserve(size_t(args.size()));
    for (const QByteArray &a : args) {
        argv.push_back(a.constData());
        lengths.push_back(size_t(a.size()));
    }
    const int rc = m_ctx ? redisAsyncCommandArgv(m_ctx, &RedisClient::onReplyThunk,
                                                 reinterpret_cast<void *>(std::uintptr_t(id)), int(argv.size()),
                                                 argv.data(), lengths.data())
                         : REDIS_ERR;
    if (rc != REDIS_OK) {
        complete(id, {},
                 {RedisError::Kind::ConnectionLost,
                  QStringLiteral("cannot send to %1: the connection is closing").arg(m_endpoint.display())});
        return;
    }
    if (!m_timeoutTimer.isActive() || deadline < m_armedDeadlineNs)
        armTimeoutTimer();
}

void RedisClient::complete(quint64 id, RedisReply reply, RedisError error)
{
    const auto it = m_pending.find(id);
    if (it == m_pending.end())
        return; // timed out earlier, or failed already
    Completion c;
    c.callback = std::move(it->second.callback);
    c.reply = std::move(reply);
    c.error = std::move(error);
    m_deadlines.erase(it->second.deadline);
    m_pending.erase(it);
    m_completions.push_back(std::move(c));
    if (m_inHandler == 0)
        scheduleFlush();
}

void RedisClient::scheduleFlush()
{
    if (m_flushScheduled)
        return;
    m_flushScheduled = true;
    QMetaObject::invokeMethod(this, &RedisClient::flushCompletions, Qt::QueuedConnection);
}

void RedisClient::flushCompletions()
{
    m_flushScheduled = false;
    if (m_deletedFlag)
        return; // a callback is running: the outer loop picks these up
    bool deleted = false;
    m_deletedFlag = &deleted;
    while (!m_completions.empty()) {
        std::vector<Completion> batch = std::exchange(m_completions, {});
        for (Completion &c : batch) {
            if (c.callback)
                c.callback(c.reply, c.error);
            if (deleted)
                return;
        }
    }
    m_deletedFlag = nullptr;
}

void RedisClient::onSocketEvent(bool readable)
{
    if (!m_ctx)
        return;
    ++m_inHandler;
    if (readable)
        redisAsyncHandleRead(m_ctx); // may free the context (onDisconnected clears m_ctx)
    else
        redisAsyncHandleWrite(m_ctx);
    --m_inHandler;
    flushCompletions();
}

void RedisClient::armTimeoutTimer()
{
    if (m_deadlines.empty()) {
        m_timeoutTimer.stop();
        return;
    }
    m_armedDeadlineNs = m_deadlines.begin()->first;
    const qint64 remainingNs = m_armedDeadlineNs - m_clock->nowNs();
    const qint64 ms = remainingNs <= 0 ? 0 : (remainingNs + kNsPerMs - 1) / kNsPerMs;
    m_timeoutTimer.start(int(std::min<qint64>(ms, std::numeric_limits<int>::max())));
}

void RedisClient::onTimeoutTimer()
{
    ++m_inHandler;
    const qint64 now = m_clock->nowNs();
    while (!m_deadlines.empty() && m_deadlines.begin()->first <= now) {
        const quint64 id = m_deadlines.begin()->second;
        const auto it = m_pending.find(id);
        const int timeoutMs = it == m_pending.end() ? 0 : it->second.timeoutMs;
        ++m_consecutiveTimeouts;
        complete(id, {}, {RedisError::Kind::Timeout, QStringLiteral("timed out after %1 ms").arg(timeoutMs)});
    }
    if (m_state == State::Up && m_options.timeoutsBeforeReconnect > 0 &&
        m_consecutiveTimeouts >= m_options.timeoutsBeforeReconnect) {
        // A stopped or wedged server keeps the TCP connection open and answers nothing.
        connectionFailed(QStringLiteral("%1 commands in a row timed out on %2; reconnecting")
                             .arg(m_consecutiveTimeouts)
                             .arg(m_endpoint.display()));
        m_consecutiveTimeouts = 0;
    }
    armTimeoutTimer();
    --m_inHandler;
    flushCompletions();
}

} // namespace vega
