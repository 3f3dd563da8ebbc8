#include "sharedcache.h"

#include "circuitbreaker.h"
#include "metrics.h"

#include <QCryptographicHash>
#include <QDataStream>
#include <QDateTime>
#include <QIODevice>
#include <QRandomGenerator>
#include <QTimer>

#include <algorithm>
#include <utility>

namespace vega {

namespace {

constexpr qint64 kNsPerMs = 1000000;
const QByteArray kMagic = QByteArrayLiteral("VGR1");

// KEYS[1] value, KEYS[2] lock; ARGV[1] mode (lock|get|poll), ARGV[2] token, ARGV[3] lock TTL ms.
// Returns {1, value, pttl} for a hit, {2} lock taken, {3} locked by another, {0} nothing.
const QByteArray kLookupScript = QByteArrayLiteral(
    "local v = redis.call('GET', KEYS[1])\n"
    "if v then return {1, v, redis.call('PTTL', KEYS[1])} end\n"
    "if ARGV[1] == 'lock' then\n"
    "  if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {2} end\n"
    "  return {3}\n"
    "elseif ARGV[1] == 'poll' then\n"
    "  if redis.call('EXISTS', KEYS[2]) == 1 then return {3} end\n"
    "end\n"
    "return {0}\n");

// KEYS[1] value, KEYS[2] lock; ARGV[1] value, ARGV[2] TTL ms ('0': no value), ARGV[3] token
// ('': no lock). Deletes the lock only while it is still ours.
const QByteArray kStoreScript = QByteArrayLiteral(
    "if ARGV[2] ~= '0' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end\n"
    "if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end\n"
    "return 1\n");

double breakerGaugeValue(CircuitState s)
{
    switch (s) {
    case CircuitState::Closed:
        return 0;
    case CircuitState::Open:
        return 1;
    case CircuitState::HalfOpen:
        return 2;
    case CircuitState::ForcedOpen:
        return 3;
    case CircuitState::ForcedClosed:
        return 4;
    }
    return 0;
}

} // namespace

std::unique_ptr<SharedCacheTier> SharedCacheTier::create(const RedisConfig &config, MetricsRegistry *registry,
                                                         Clock *clock, QString *error)
{
    RedisEndpoint endpoint;
    if (!parseRedisUrl(config.url, &endpoint, error))
        return nullptr;
    return std::make_unique<SharedCacheTier>(endpoint, config, registry, clock);
}

SharedCacheTier::SharedCacheTier(const RedisEndpoint &endpoint, const RedisConfig &config,
                                 MetricsRegistry *registry, Clock *clock, QObject *parent)
    : QObject(parent), m_config(config), m_registry(registry), m_clock(clock)
{
    RedisClientOptions options;
    options.connectTimeoutMs = config.connectTimeoutMs;
    options.commandTimeoutMs = config.commandTimeoutMs;
    options.reconnectBaseMs = config.reconnectBaseMs;
    options.reconnectCapMs = config.reconnectCapMs;
    m_client = std::make_unique<RedisClient>(endpoint, options, clock);
    connect(m_client.get(), &RedisClient::stateChanged, this, &SharedCacheTier::onStateChanged);

    CircuitBreakerOptions bo;
    bo.windowType = CircuitBreakerOptions::WindowType::Count;
    bo.windowCalls = std::max(1, config.breakerWindow);
    bo.minimumCalls = std::max(1, config.breakerMinimumCalls);
    bo.failureRateThreshold = config.breakerFailureRatePercent;
    bo.openBaseMs = config.breakerOpenBaseMs;
    bo.openCapMs = std::max(config.breakerOpenBaseMs, config.breakerOpenCapMs);
    bo.halfOpenPermittedCalls = std::max(1, config.breakerHalfOpenCalls);
    m_breaker = std::make_unique<CircuitBreaker>(QStringLiteral("redis"), bo, registry, clock);

    auto counter = [registry](const QString &name, const QString &help, const Labels &labels = {}) {
        return registry->counter(name, labels, help);
    };
    const QString commands = QStringLiteral("redis_commands");
    const QString commandsHelp = QStringLiteral("Redis commands by result");
    m_commandsOk = counter(commands, commandsHelp, {{QStringLiteral("result"), QStringLiteral("ok")}});
    m_commandsError = counter(commands, commandsHelp, {{QStringLiteral("result"), QStringLiteral("error")}});
    m_commandsTimeout = counter(commands, commandsHelp, {{QStringLiteral("result"), QStringLiteral("timeout")}});
    m_hits = counter(QStringLiteral("redis_hits"), QStringLiteral("Responses served from Redis (waits included)"));
    m_misses = counter(QStringLiteral("redis_misses"), QStringLiteral("Lookups that found no value in Redis"));
    m_errors = counter(QStringLiteral("redis_errors"), QStringLiteral("Failed Redis commands (timeouts included)"));
    m_timeouts = counter(QStringLiteral("redis_timeouts"), QStringLiteral("Redis commands that timed out"));
    m_fallbacks = counter(QStringLiteral("redis_fallbacks"),
                          QStringLiteral("Lookups that went on without Redis (down, open breaker, error)"));
    m_writes = counter(QStringLiteral("redis_writes"), QStringLiteral("Responses written to Redis"));
    m_lockAcquired = counter(QStringLiteral("redis_lock_acquired"),
                             QStringLiteral("Fetch locks taken: this instance fetched for every instance"));
    m_lockWaits = counter(QStringLiteral("redis_lock_waits"),
                          QStringLiteral("Lookups that waited for another instance's fetch"));
    m_waitHits = counter(QStringLiteral("redis_wait_hits"), QStringLiteral("Waits that ended with the value"));
    m_waitGiveups = counter(QStringLiteral("redis_wait_giveups"),
                            QStringLiteral("Waits that ended without a value (this instance fetched)"));
    m_up = registry->gauge(QStringLiteral("redis_up"), {}, QStringLiteral("1 while the Redis connection is up"));
    m_breakerState = registry->gauge(QStringLiteral("redis_breaker_state"), {},
                                     QStringLiteral("Redis breaker: 0 closed, 1 open, 2 half-open"));
    m_duration = registry->histogram(QStringLiteral("redis_command_duration"), {},
                                     QStringLiteral("Time from sending a Redis command to its answer"));
    m_downSinceMs = QDateTime::currentMSecsSinceEpoch();
    m_counts.enabled = true;
    m_counts.endpoint = endpoint.display();
    m_client->start();
}

SharedCacheTier::~SharedCacheTier() = default;

bool SharedCacheTier::isAvailable()
{
    if (m_client->state() != RedisClient::State::Up)
        return false;
    const CircuitState s = m_breaker->state();
    return s != CircuitState::Open && s != CircuitState::ForcedOpen;
}

QByteArray SharedCacheTier::valueKey(const QByteArray &requestKey) const
{
    const QByteArray hash = QCryptographicHash::hash(requestKey, QCryptographicHash::Sha256).left(16).toHex();
    return m_config.keyPrefix.toUtf8() + '{' + hash + "}:v";
}

QByteArray SharedCacheTier::lockKey(const QByteArray &requestKey) const
{
    const QByteArray hash = QCryptographicHash::hash(requestKey, QCryptographicHash::Sha256).left(16).toHex();
    return m_config.keyPrefix.toUtf8() + '{' + hash + "}:l";
}

QByteArray SharedCacheTier::encode(const QByteArray &requestKey, const CachedResponse &response)
{
    QByteArray out;
    out.reserve(response.body.size() + requestKey.size() + 256);
    out.append(kMagic);
    QDataStream stream(&out, QIODevice::WriteOnly | QIODevice::Append);
    stream.setVersion(QDataStream::Qt_6_0);
    stream << requestKey << qint32(response.status) << qint32(response.headers.size());
    for (const auto &h : response.headers)
        stream << h.first << h.second;
    stream << response.body;
    return out;
}

bool SharedCacheTier::decode(const QByteArray &value, const QByteArray &requestKey, CachedResponse *response)
{
    if (!value.startsWith(kMagic))
        return false;
    QDataStream stream(value.sliced(kMagic.size()));
    stream.setVersion(QDataStream::Qt_6_0);
    QByteArray key;
    qint32 status = 0;
    qint32 headerCount = 0;
    stream >> key >> status >> headerCount;
    if (stream.status() != QDataStream::Ok || key != requestKey || headerCount < 0 || headerCount > 10000)
        return false;
    CachedResponse r;
    r.status = status;
    r.headers.reserve(headerCount);
    for (qint32 i = 0; i < headerCount; ++i) {
        QByteArray name, v;
        stream >> name >> v;
        r.headers.append({name, v});
    }
    stream >> r.body;
    if (stream.status() != QDataStream::Ok)
        return false;
    *response = std::move(r);
    return true;
}

bool SharedCacheTier::run(const QList<QByteArray> &args, ReplyHandler handler)
{
    if (m_client->state() != RedisClient::State::Up)
        return false;
    const CircuitBreaker::Permit permit = m_breaker->tryAcquire();
    if (!permit) {
        publishState();
        return false;
    }
    const qint64 startNs = m_clock->nowNs();
    m_client->command(args, [this, permit, startNs, handler = std::move(handler)](const RedisReply &reply,
                                                                                   const RedisError &error) {
        const qint64 durationNs = m_clock->nowNs() - startNs;
        m_duration->record(durationNs);
        const bool failed = error.isError() || reply.isError();
        if (!failed) {
            m_commandsOk->inc();
            m_breaker->onSuccess(permit, durationNs);
        } else {
            ++m_counts.errors;
            m_errors->inc();
            if (error.kind == RedisError::Kind::Timeout) {
                ++m_counts.timeouts;
                m_timeouts->inc();
                m_commandsTimeout->inc();
            } else {
                m_commandsError->inc();
            }
            m_lastError = error.isError() ? error.message : QString::fromUtf8(reply.string);
            if (error.kind == RedisError::Kind::NotConnected)
                m_breaker->onIgnored(permit); // says nothing about the server
            else
                m_breaker->onFailure(permit, durationNs);
        }
        publishState();
        handler(reply, failed);
    });
    return true;
}

void SharedCacheTier::fallback()
{
    ++m_counts.fallbacks;
    m_fallbacks->inc();
}

bool SharedCacheTier::lookup(const QByteArray &key, bool tryLock, const QObject *context, Callback callback)
{
    const QByteArray token =
        tryLock ? QByteArray::number(QRandomGenerator::global()->generate64(), 16) : QByteArray();
    QPointer<const QObject> guard(context);
    const bool sent = run(
        {QByteArrayLiteral("EVAL"), kLookupScript, QByteArrayLiteral("2"), valueKey(key), lockKey(key),
         tryLock ? QByteArrayLiteral("lock") : QByteArrayLiteral("get"), token, QByteArray::number(m_config.lockTtlMs)},
        [this, key, token, guard, callback = std::move(callback)](const RedisReply &reply, bool failed) {
            SharedLookup result;
            const qint64 code = !failed && reply.type == RedisReply::Type::Array && !reply.elements.isEmpty()
                                    ? reply.elements.at(0).integer
                                    : -1;
            if (failed || code < 0) {
                result.outcome = SharedLookup::Outcome::Unavailable;
                fallback();
            } else if (code == 1 && reply.elements.size() >= 3 &&
                       decode(reply.elements.at(1).string, key, &result.response)) {
                result.outcome = SharedLookup::Outcome::Hit;
                result.ttlMs = reply.elements.at(2).integer;
                ++m_counts.hits;
                m_hits->inc();
            } else {
                ++m_counts.misses;
                m_misses->inc();
                if (code == 2) {
                    result.outcome = SharedLookup::Outcome::LockAcquired;
                    result.lockToken = token;
                    ++m_counts.lockAcquired;
                    m_lockAcquired->inc();
                } else if (code == 3) {
                    result.outcome = SharedLookup::Outcome::Locked;
                }
            }
            if (!guard) {
                if (result.outcome == SharedLookup::Outcome::LockAcquired)
                    release(key, token); // nobody will fetch: let another instance do it
                return;
            }
            callback(result);
        });
    if (!sent)
        fallback();
    return sent;
}

bool SharedCacheTier::waitFor(const QByteArray &key, int maxWaitMs, const QObject *context, Callback callback)
{
    if (!isAvailable()) {
        fallback();
        return false;
    }
    ++m_counts.lockWaits;
    m_lockWaits->inc();
    const qint64 untilNs = m_clock->nowNs() + qint64(std::max(0, maxWaitMs)) * kNsPerMs;
    QTimer::singleShot(std::max(1, m_config.waitPollMs), this,
                       [this, key, untilNs, guard = QPointer<const QObject>(context), callback = std::move(callback)] {
                           poll(key, untilNs, guard, callback);
                       });
    return true;
}

void SharedCacheTier::poll(const QByteArray &key, qint64 untilNs, QPointer<const QObject> context, Callback callback)
{
    if (!context)
        return;
    const bool sent = run(
        {QByteArrayLiteral("EVAL"), kLookupScript, QByteArrayLiteral("2"), valueKey(key), lockKey(key),
         QByteArrayLiteral("poll"), QByteArray(), QByteArray::number(m_config.lockTtlMs)},
        [this, key, untilNs, context, callback](const RedisReply &reply, bool failed) {
            if (!context)
                return;
            SharedLookup result;
            const qint64 code = !failed && reply.type == RedisReply::Type::Array && !reply.elements.isEmpty()
                                    ? reply.elements.at(0).integer
                                    : -1;
            if (code < 0) {
                result.outcome = SharedLookup::Outcome::Unavailable;
                fallback();
            } else if (code == 1 && reply.elements.size() >= 3 &&
                       decode(reply.elements.at(1).string, key, &result.response)) {
                result.outcome = SharedLookup::Outcome::Hit;
                result.ttlMs = reply.elements.at(2).integer;
                ++m_counts.hits;
                ++m_counts.waitHits;
                m_hits->inc();
                m_waitHits->inc();
            } else if (code == 3 && m_clock->nowNs() + qint64(m_config.waitPollMs) * kNsPerMs < untilNs) {
                QTimer::singleShot(std::max(1, m_config.waitPollMs), this,
                                   [this, key, untilNs, context, callback] { poll(key, untilNs, context, callback); });
                return;
            } else {
                // The lock was released without a value, or the wait is over: fetch.
                result.outcome = SharedLookup::Outcome::Miss;
                m_waitGiveups->inc();
            }
            callback(result);
        });
    if (!sent) {
        fallback();
        SharedLookup result;
        result.outcome = SharedLookup::Outcome::Unavailable;
        callback(result); // from a timer: already asynchronous
    }
}

void SharedCacheTier::store(const QByteArray &key, const CachedResponse &response, qint64 ttlMs,
                            const QByteArray &lockToken)
{
    QByteArray value = encode(key, response);
    const bool fits = ttlMs > 0 && value.size() <= qint64(m_config.maxValueKb) * 1024;
    if (!fits)
        value.clear();
    if (!fits && lockToken.isEmpty())
        return;
    const bool sent = run({QByteArrayLiteral("EVAL"), kStoreScript, QByteArrayLiteral("2"), valueKey(key),
                           lockKey(key), value, fits ? QByteArray::number(ttlMs) : QByteArrayLiteral("0"), lockToken},
                          [this, fits](const RedisReply &, bool failed) {
                              if (!failed && fits) {
                                  ++m_counts.writes;
                                  m_writes->inc();
                              }
                          });
    Q_UNUSED(sent) // unavailable: the value is simply not shared; the lock expires by itself
}

void SharedCacheTier::release(const QByteArray &key, const QByteArray &lockToken)
{
    if (lockToken.isEmpty())
        return;
    run({QByteArrayLiteral("EVAL"), kStoreScript, QByteArrayLiteral("2"), valueKey(key), lockKey(key),
         QByteArray(), QByteArrayLiteral("0"), lockToken},
        [](const RedisReply &, bool) {});
}

void SharedCacheTier::publishState()
{
    m_breakerState->set(breakerGaugeValue(m_breaker->state()));
}

void SharedCacheTier::onStateChanged(RedisClient::State state)
{
    m_up->set(state == RedisClient::State::Up ? 1 : 0);
    if (state == RedisClient::State::Up)
        m_downSinceMs = 0;
    else if (m_downSinceMs == 0)
        m_downSinceMs = QDateTime::currentMSecsSinceEpoch();
    if (m_registry && (state == RedisClient::State::Up || m_lastReportedUp)) {
        m_registry->recordEvent(QStringLiteral("redis"), QStringLiteral("redis"),
                                state == RedisClient::State::Up
                                    ? QStringLiteral("connected to %1").arg(m_client->endpoint().display())
                                    : QStringLiteral("lost %1: %2").arg(m_client->endpoint().display(),
                                                                        m_client->lastError()));
    }
    m_lastReportedUp = state == RedisClient::State::Up;
}

SharedCacheStatus SharedCacheTier::status()
{
    SharedCacheStatus s = m_counts;
    const RedisClient::State state = m_client->state();
    const CircuitState breaker = m_breaker->state();
    publishState();
    s.breakerState = circuitStateName(breaker);
    if (state != RedisClient::State::Up)
        s.state = RedisClient::stateName(state);
    else if (breaker == CircuitState::Open || breaker == CircuitState::ForcedOpen)
        s.state = QStringLiteral("open-breaker");
    else
        s.state = QStringLiteral("up");
    s.lastError = !m_client->lastError().isEmpty() ? m_client->lastError() : m_lastError;
    if (state == RedisClient::State::Up)
        s.downSinceMs = 0;
    else
        s.downSinceMs = m_downSinceMs ? m_downSinceMs : QDateTime::currentMSecsSinceEpoch();
    s.connects = m_client->connects();
    return s;
}

} // namespace vega
