#include "responsecache.h"

#include "metrics.h"

#include <QDateTime>
#include <QHashFunctions>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vega {

// ---------------------------------------------------------------------------------------
// CachedResponse / decideCaching

qint64 CachedResponse::sizeBytes() const
{
    qint64 n = body.size();
    for (const auto &h : headers)
        n += h.first.size() + h.second.size();
    return n;
}

namespace {

constexpr qint64 kMaxDeltaSeconds = 2147483648LL; // RFC 9111 section 1.2.2

// delta-seconds: digits only. Returns -1 if invalid; saturates at kMaxDeltaSeconds.
qint64 parseDeltaSeconds(QByteArrayView v)
{
    v = v.trimmed();
    if (v.isEmpty())
        return -1;
    qint64 n = 0;
    for (char c : v) {
        if (c < '0' || c > '9')
            return -1;
        n = std::min(n * 10 + (c - '0'), kMaxDeltaSeconds);
    }
    return n;
}

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and asctime; Qt 6.4's RFC 2822 parser
// does not know the "GMT" zone name. Returns an invalid QDateTime otherwise (including
// the obsolete RFC 850 form), which callers treat as "already expired".
QDateTime parseHttpDate(QByteArrayView v)
{
    QByteArray s = v.trimmed().toByteArray();
    if (s.endsWith(" GMT")) {
        s.chop(4);
        s += " +0000";
    }
    return QDateTime::fromString(QString::fromLatin1(s), Qt::RFC2822Date);
}

struct Directive {
    QByteArray name; // lower-case
    QByteArray value;
    bool hasValue = false;
};

// Splits one Cache-Control value into directives, honouring quoted-strings (which may hold
// commas: private="Set-Cookie, X-User").
void parseCacheControl(QByteArrayView v, QList<Directive> &out)
{
    const qsizetype n = v.size();
    qsizetype i = 0;
    while (i < n) {
        while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
            ++i;
        if (i >= n)
            break;
        qsizetype start = i;
        while (i < n && v[i] != '=' && v[i] != ',')
            ++i;
        Directive d;
        d.name = v.sliced(start, i - start).trimmed().toByteArray().toLower();
        if (i < n && v[i] == '=') {
            ++i;
            d.hasValue = true;
            while (i < n && (v[i] == ' ' || v[i] == '\t'))
                ++i;
            if (i < n && v[i] == '"') {
                ++i;
                while (i < n && v[i] != '"') {
                    if (v[i] == '\\' && i + 1 < n)
                        ++i;
                    d.value += v[i];
                    ++i;
                }
                ++i; // closing quote
                while (i < n && v[i] != ',')
                    ++i;
            } else {
                start = i;
                while (i < n && v[i] != ',')
                    ++i;
                d.value = v.sliced(start, i - start).trimmed().toByteArray();
            }
        }
        if (!d.name.isEmpty())
            out.append(d);
    }
}

bool isHeuristicallyCacheable(int status)
{
    switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
        return true;
    default:
        return false;
    }
}

CacheDecision dontStore(const QString &reason)
{
    return CacheDecision{false, 0, reason};
}

// A delta-seconds directive seen zero or more times.
struct DeltaDirective {
    bool present = false;
    bool invalid = false;
    qint64 seconds = 0;
    void add(const Directive &d)
    {
        const qint64 s = d.hasValue ? parseDeltaSeconds(d.value) : -1;
        if (s < 0 || (present && s != seconds))
            invalid = true; // RFC 9111 4.2.1: invalid or conflicting -> stale
        present = true;
        seconds = s;
    }
};

} // namespace

CacheDecision decideCaching(int status, const HeaderList &headers, qint64 defaultTtlMs,
                            bool requestHasAuthorization)
{
    if (!isHeuristicallyCacheable(status))
        return dontStore(QStringLiteral("status %1 not cacheable").arg(status));

    QList<Directive> directives;
    bool hasCacheControl = false;
    bool pragmaNoCache = false;
    bool setCookie = false;
    bool varyStar = false;
    std::optional<QByteArray> expires;
    std::optional<QByteArray> date;
    qint64 ageSeconds = 0;
    bool ageSeen = false;
    for (const auto &[name, value] : headers) {
        const QByteArrayView n(name);
        if (n.compare("cache-control", Qt::CaseInsensitive) == 0) {
            hasCacheControl = true;
            parseCacheControl(value, directives);
        } else if (n.compare("pragma", Qt::CaseInsensitive) == 0) {
            QList<Directive> p;
            parseCacheControl(value, p);
            for (const Directive &d : std::as_const(p))
                pragmaNoCache |= d.name == "no-cache";
        } else if (n.compare("set-cookie", Qt::CaseInsensitive) == 0) {
            setCookie = true;
        } else if (n.compare("vary", Qt::CaseInsensitive) == 0) {
            for (const QByteArray &field : value.split(','))
                varyStar |= field.trimmed() == "*";
        } else if (n.compare("expires", Qt::CaseInsensitive) == 0) {
            if (!expires)
                expires = value;
        } else if (n.compare("date", Qt::CaseInsensitive) == 0) {
            if (!date)
                date = value;
        } else if (n.compare("age", Qt::CaseInsensitive) == 0) {
            // RFC 9111 5.1: first value; an invalid Age is ignored.
            if (!ageSeen) {
                ageSeen = true;
                ageSeconds = std::max<qint64>(0, parseDeltaSeconds(value));
            }
        }
    }

    bool noStore = false, isPrivate = false, noCache = false, isPublic = false, mustRevalidate = false;
    DeltaDirective maxAge, sMaxAge;
    for (const Directive &d : std::as_const(directives)) {
        if (d.name == "no-store")
            noStore = true;
        else if (d.name == "private")
            isPrivate = true;
        else if (d.name == "no-cache")
            noCache = true;
        else if (d.name == "public")
            isPublic = true;
        else if (d.name == "must-revalidate" || d.name == "proxy-revalidate")
            mustRevalidate = true;
        else if (d.name == "max-age")
            maxAge.add(d);
        else if (d.name == "s-maxage")
            sMaxAge.add(d);
    }

    if (noStore)
        return dontStore(QStringLiteral("no-store"));
    if (isPrivate)
        return dontStore(QStringLiteral("private"));
    if (noCache || (!hasCacheControl && pragmaNoCache))
        return dontStore(QStringLiteral("no-cache"));
    if (setCookie)
        return dontStore(QStringLiteral("set-cookie"));
    if (varyStar)
        return dontStore(QStringLiteral("vary: *"));
    if (requestHasAuthorization && !isPublic && !sMaxAge.present && !mustRevalidate)
        return dontStore(QStringLiteral("authorization"));

    auto explicitTtl = [&](qint64 lifetimeMs, const QString &why) {
        const qint64 ttl = lifetimeMs - ageSeconds * 1000;
        if (ttl <= 0)
            return dontStore(QStringLiteral("stale (%1)").arg(why));
        return CacheDecision{true, ttl, why};
    };
    // s-maxage overrides max-age for shared caches; an invalid one still means stale.
    if (sMaxAge.present) {
        if (sMaxAge.invalid)
            return dontStore(QStringLiteral("invalid s-maxage"));
        return explicitTtl(sMaxAge.seconds * 1000, QStringLiteral("s-maxage"));
    }
    if (maxAge.present) {
        if (maxAge.invalid)
            return dontStore(QStringLiteral("invalid max-age"));
        return explicitTtl(maxAge.seconds * 1000, QStringLiteral("max-age"));
    }
    if (expires) {
        const QDateTime exp = parseHttpDate(*expires);
        if (!exp.isValid())
            return dontStore(QStringLiteral("invalid expires"));
        const QDateTime dt = date ? parseHttpDate(*date) : QDateTime();
        if (dt.isValid())
            return explicitTtl(dt.msecsTo(exp), QStringLiteral("expires"));
        // No usable Date: we have no clock here to compare Expires against, so fall
        // through to the default lifetime.
    }
    if (defaultTtlMs <= 0)
        return dontStore(QStringLiteral("no default ttl"));
    return CacheDecision{true, defaultTtlMs, QStringLiteral("default ttl")};
}

// ---------------------------------------------------------------------------------------
// Frequency sketch

namespace {

quint64 mix64(quint64 h)
{
    // murmur3 finalizer
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

quint64 nextPowerOfTwo(quint64 v)
{
    quint64 p = 1;
    while (p < v)
        p <<= 1;
    return p;
}

constexpr quint64 kOneMask = 0x1111111111111111ULL;
constexpr quint64 kResetMask = 0x7777777777777777ULL;

} // namespace

void ResponseCache::FrequencySketch::configure(int maxEntries, int sampleFactor, bool doorkeeper)
{
    // Caffeine's sizing: one 64-bit word (16 counters) per entry of capacity, rounded up to
    // a power of two. Caffeine 3's layout: a key hashes to one 64-byte block and keeps its
    // 4 counters (one per pair of words) there, so an update touches one cache line.
    const quint64 capacity = quint64(std::clamp(maxEntries, 16, 1 << 26));
    m_words = nextPowerOfTwo(capacity);
    m_storage.assign(m_words + 7, 0);
    const auto misalignment = reinterpret_cast<quintptr>(m_storage.data()) % 64;
    m_table = m_storage.data() + (misalignment ? (64 - misalignment) / sizeof(quint64) : 0);
    m_blockMask = (m_words >> 3) - 1;
    m_sampleSize = qint64(std::max(1, sampleFactor)) * qint64(capacity);
    m_additions = 0;
    m_door.clear();
    m_doorMask = 0;
    if (doorkeeper) {
        // A blocked Bloom filter (3 bits within one word) sized at about 8 bits per key
        // seen in a sample period; a reset clears it.
        const quint64 words = nextPowerOfTwo(std::max<quint64>(1, quint64(m_sampleSize) * 8 / 64));
        m_door.assign(words, 0);
        m_doorMask = words - 1;
    }
}

static inline quint64 doorkeeperBits(quint64 hash)
{
    const quint64 h = hash >> 40; // the block index uses the low bits, counters bits 32..63
    return (1ULL << (h & 63)) | (1ULL << ((h >> 6) & 63)) | (1ULL << ((h >> 12) & 63));
}

bool ResponseCache::FrequencySketch::doorkeeperContains(quint64 hash) const
{
    const quint64 bits = doorkeeperBits(hash);
    return (m_door[(hash * 0x9e3779b97f4a7c15ULL >> 32) & m_doorMask] & bits) == bits;
}

bool ResponseCache::FrequencySketch::doorkeeperAdd(quint64 hash)
{
    const quint64 bits = doorkeeperBits(hash);
    quint64 &word = m_door[(hash * 0x9e3779b97f4a7c15ULL >> 32) & m_doorMask];
    const bool present = (word & bits) == bits;
    word |= bits;
    return present;
}

// Counter i (0..3) of a key lives in word 2i or 2i+1 of the key's block, at one of 16
// nibbles; both choices come from byte i of the hash's upper half (the block index uses
// the lower half).
struct CounterSlot {
    int word;
    int shift;
};
static inline CounterSlot counterSlot(quint64 hash, int i)
{
    const quint64 byte = (hash >> (32 + 8 * i)) & 0xff;
    return {(i << 1) + int(byte & 1), int((byte >> 1) & 15) << 2};
}

void ResponseCache::FrequencySketch::increment(quint64 hash)
{
    if (!m_table)
        return;
    bool added = false;
    if (!m_door.empty() && !doorkeeperAdd(hash)) {
        added = true; // first sighting in this period: recorded by the doorkeeper alone
    } else {
        quint64 *block = m_table + ((hash & m_blockMask) << 3);
        for (int i = 0; i < 4; ++i) {
            const CounterSlot c = counterSlot(hash, i);
            if (((block[c.word] >> c.shift) & 0xf) != 0xf) {
                block[c.word] += 1ULL << c.shift;
                added = true;
            }
        }
    }
    if (added && ++m_additions >= m_sampleSize)
        age();
}

int ResponseCache::FrequencySketch::frequency(quint64 hash) const
{
    if (!m_table)
        return 0;
    const quint64 *block = m_table + ((hash & m_blockMask) << 3);
    int f = 15;
    for (int i = 0; i < 4; ++i) {
        const CounterSlot c = counterSlot(hash, i);
        f = std::min(f, int((block[c.word] >> c.shift) & 0xf));
    }
    if (!m_door.empty() && doorkeeperContains(hash))
        f = std::min(15, f + 1);
    return f;
}

void ResponseCache::FrequencySketch::age()
{
    // Halve every counter so that past popularity fades; the truncation error (odd
    // counters) is taken off the addition count, as Caffeine does.
    qint64 odd = 0;
    for (quint64 i = 0; i < m_words; ++i) {
        quint64 &word = m_table[i];
        odd += qint64(__builtin_popcountll(word & kOneMask));
        word = (word >> 1) & kResetMask;
    }
    m_additions = std::max<qint64>(0, (m_additions - (odd >> 2)) >> 1);
    std::fill(m_door.begin(), m_door.end(), 0);
}

// ---------------------------------------------------------------------------------------
// Lists

void ResponseCache::List::pushMru(Node *n)
{
    n->prev = head.prev;
    n->next = &head;
    head.prev->next = n;
    head.prev = n;
    ++count;
    bytes += n->charge;
}

void ResponseCache::List::unlink(Node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = nullptr;
    --count;
    bytes -= n->charge;
}

// ---------------------------------------------------------------------------------------
// ResponseCache

ResponseCache::ResponseCache(const Options &options, Clock *clock, MetricsRegistry *registry,
                             const QString &name)
    : m_options(options), m_clock(clock)
{
    m_options.maxEntries = std::max(0, m_options.maxEntries);
    m_options.maxBytes = std::max<qint64>(0, m_options.maxBytes);
    m_options.windowFraction = std::clamp(m_options.windowFraction, 0.0, 1.0);
    m_options.protectedFraction = std::clamp(m_options.protectedFraction, 0.0, 1.0);
    m_options.ttlJitter = std::clamp(m_options.ttlJitter, 0.0, 1.0);

    m_windowMaxEntries = std::max(1, int(std::lround(m_options.maxEntries * m_options.windowFraction)));
    m_windowMaxBytes = std::max<qint64>(1, qint64(double(m_options.maxBytes) * m_options.windowFraction));
    const int mainEntries = std::max(0, m_options.maxEntries - m_windowMaxEntries);
    const qint64 mainBytes = std::max<qint64>(0, m_options.maxBytes - m_windowMaxBytes);
    m_protectedMaxEntries = int(mainEntries * m_options.protectedFraction);
    m_protectedMaxBytes = qint64(double(mainBytes) * m_options.protectedFraction);

    // Qt's per-process seed (QT_HASH_SEED=0 makes it deterministic): keys may come from
    // outside, so neither the map nor the sketch should be predictable.
    m_hashSeed = quint64(size_t(QHashSeed::globalSeed()));
    m_random = mix64(m_hashSeed ^ 0x2545f4914f6cdd1dULL) | 1;
    m_sketch.configure(m_options.maxEntries, m_options.sampleFactor, m_options.doorkeeper);
    m_map.reserve(size_t(std::min(m_options.maxEntries, 1 << 16)));

    if (registry) {
        const Labels labels{{QStringLiteral("cache"), name}};
        m_hitsCounter = registry->counter(QStringLiteral("cache_hits"), labels,
                                          QStringLiteral("Lookups that found a fresh entry"));
        m_missesCounter = registry->counter(QStringLiteral("cache_misses"), labels,
                                            QStringLiteral("Lookups that found nothing fresh"));
        m_evictionsCounter = registry->counter(QStringLiteral("cache_evictions"), labels,
                                               QStringLiteral("Entries dropped to respect the size bounds"));
        m_expirationsCounter = registry->counter(QStringLiteral("cache_expirations"), labels,
                                                 QStringLiteral("Expired entries removed"));
        m_rejectedCounter = registry->counter(QStringLiteral("cache_rejected"), labels,
                                              QStringLiteral("Responses refused (too large or no lifetime)"));
        m_invalidationsCounter = registry->counter(QStringLiteral("cache_invalidations"), labels,
                                                   QStringLiteral("Entries removed by invalidation"));
        m_entriesGauge =
            registry->gauge(QStringLiteral("cache_entries"), labels, QStringLiteral("Entries in the cache"));
        m_bytesGauge =
            registry->gauge(QStringLiteral("cache_bytes"), labels,
                            QStringLiteral("Bytes of keys, headers and bodies in the cache"), Unit::Bytes);
        publishGauges();
    }
}

ResponseCache::~ResponseCache() = default;

quint64 ResponseCache::hashOf(const QByteArray &key) const
{
    return mix64(quint64(qHash(key, size_t(m_hashSeed))));
}

ResponseCache::Node *ResponseCache::find(const QByteArray &key, quint64 hash)
{
    const auto it = m_map.find(HashedKey{key, hash});
    return it == m_map.end() ? nullptr : &it->second;
}

const ResponseCache::Node *ResponseCache::find(const QByteArray &key, quint64 hash) const
{
    const auto it = m_map.find(HashedKey{key, hash});
    return it == m_map.end() ? nullptr : &it->second;
}

ResponseCache::List &ResponseCache::listFor(Segment s)
{
    switch (s) {
    case Segment::Window:
        return m_window;
    case Segment::Probation:
        return m_probation;
    case Segment::Protected:
        break;
    }
    return m_protected;
}

static inline void bump(Counter *c, quint64 &local, quint64 n = 1)
{
    local += n;
    if (c)
        c->inc(n);
}

std::optional<CachedResponse> ResponseCache::get(const QByteArray &key)
{
    const quint64 h = hashOf(key);
    Node *n = find(key, h);
    if (n && n->response.expiresAtNs <= m_clock->nowNs()) {
        removeNode(n, Removal::Expired);
        publishGauges();
        n = nullptr;
    }
    if (!n) {
        bump(m_missesCounter, m_stats.misses);
        return std::nullopt;
    }
    bump(m_hitsCounter, m_stats.hits);
    m_sketch.increment(h);
    touch(n);
    return n->response;
}

bool ResponseCache::contains(const QByteArray &key) const
{
    const Node *n = find(key, hashOf(key));
    return n && n->response.expiresAtNs > m_clock->nowNs();
}

bool ResponseCache::put(const QByteArray &key, CachedResponse response, qint64 ttlMs)
{
    const quint64 h = hashOf(key);
    const qint64 charge = key.size() + response.sizeBytes();
    Node *n = find(key, h);
    if (ttlMs <= 0 || charge > m_options.maxBytes || m_options.maxEntries <= 0) {
        // Never leave an older version behind the caller's back.
        if (n) {
            removeNode(n, Removal::Replaced);
            publishGauges();
        }
        bump(m_rejectedCounter, m_stats.rejected);
        return false;
    }

    m_sketch.increment(h);
    const qint64 now = m_clock->nowNs();
    constexpr qint64 kMaxTtlMs = std::numeric_limits<qint64>::max() / 2000000;
    qint64 lifetimeNs = std::min(ttlMs, kMaxTtlMs) * 1000000;
    if (m_options.ttlJitter > 0) {
        const double unit = double(nextRandom() >> 11) / double(1ULL << 53); // [0, 1)
        lifetimeNs =
            std::max<qint64>(1, lifetimeNs - qint64(double(lifetimeNs) * m_options.ttlJitter * unit));
    }
    response.storedAtNs = now;
    response.expiresAtNs = now + lifetimeNs;

    if (n) {
        n->response = std::move(response);
        setCharge(n, charge);
        touch(n);
    } else {
        const auto it = m_map.try_emplace(HashedKey{key, h}).first;
        n = &it->second;
        n->id = &it->first;
        n->charge = charge;
        n->response = std::move(response);
        n->segment = Segment::Window;
        m_window.pushMru(n);
        ++m_entries;
        m_bytes += charge;
    }

    drainWindow(now);
    // An in-place update can grow an entry past the bounds without anything leaving the
    // window; trim from the coldest end.
    while (overBounds()) {
        Node *victim = mainVictim();
        if (!victim)
            victim = m_window.lru();
        removeNode(victim, victim->response.expiresAtNs <= now ? Removal::Expired : Removal::Evicted);
    }
    publishGauges();
    return find(key, h) != nullptr;
}

void ResponseCache::setCharge(Node *n, qint64 charge)
{
    const qint64 delta = charge - n->charge;
    n->charge = charge;
    listFor(n->segment).bytes += delta;
    m_bytes += delta;
}

void ResponseCache::touch(Node *n)
{
    switch (n->segment) {
    case Segment::Window:
        m_window.unlink(n);
        m_window.pushMru(n);
        return;
    case Segment::Probation:
        m_probation.unlink(n);
        n->segment = Segment::Protected;
        m_protected.pushMru(n);
        break;
    case Segment::Protected:
        m_protected.unlink(n);
        m_protected.pushMru(n);
        break;
    }
    // Keep protected within its share; its LRU gets a second chance in probation.
    while (!m_protected.isEmpty() &&
           (m_protected.count > m_protectedMaxEntries || m_protected.bytes > m_protectedMaxBytes)) {
        Node *demoted = m_protected.lru();
        m_protected.unlink(demoted);
        demoted->segment = Segment::Probation;
        m_probation.pushMru(demoted);
    }
}

void ResponseCache::drainWindow(qint64 nowNs)
{
    while (!m_window.isEmpty() &&
           (m_window.count > m_windowMaxEntries || m_window.bytes > m_windowMaxBytes)) {
        Node *candidate = m_window.lru();
        m_window.unlink(candidate);
        candidate->segment = Segment::Probation;
        m_probation.pushMru(candidate);
        admit(candidate, nowNs);
    }
}

ResponseCache::Node *ResponseCache::mainVictim() const
{
    if (Node *n = m_probation.lru())
        return n;
    return m_protected.lru();
}

void ResponseCache::admit(Node *candidate, qint64 nowNs)
{
    if (candidate->response.expiresAtNs <= nowNs) {
        removeNode(candidate, Removal::Expired);
        return;
    }
    // The candidate sits at probation's MRU end; while the whole cache is over a bound,
    // it duels the coldest main entry, and the less frequently used one leaves. A large
    // candidate may need several duels; it can win some and lose a later one.
    while (overBounds()) {
        Node *victim = mainVictim();
        if (victim == candidate)
            victim = m_protected.lru();
        if (!victim) {
            // Main holds only the candidate: the window alone fills the rest.
            removeNode(candidate, Removal::Evicted);
            return;
        }
        if (victim->response.expiresAtNs <= nowNs) {
            removeNode(victim, Removal::Expired);
        } else if (admitOverVictim(candidate, victim)) {
            removeNode(victim, Removal::Evicted);
        } else {
            removeNode(candidate, Removal::Evicted);
            return;
        }
    }
}

bool ResponseCache::admitOverVictim(Node *candidate, Node *victim)
{
    const int candidateFreq = m_sketch.frequency(candidate->hash());
    const int victimFreq = m_sketch.frequency(victim->hash());
    if (candidateFreq > victimFreq)
        return true;
    // Caffeine's defence against hash flooding: an attacker who makes a victim look hot
    // through sketch collisions cannot pin it forever; a warm candidate sometimes wins.
    if (candidateFreq >= 6)
        return (nextRandom() & 127) == 0;
    return false;
}

quint64 ResponseCache::nextRandom()
{
    // xorshift64
    m_random ^= m_random << 13;
    m_random ^= m_random >> 7;
    m_random ^= m_random << 17;
    return m_random;
}

void ResponseCache::removeNode(Node *n, Removal why)
{
    listFor(n->segment).unlink(n);
    --m_entries;
    m_bytes -= n->charge;
    switch (why) {
    case Removal::Evicted:
        bump(m_evictionsCounter, m_stats.evictions);
        break;
    case Removal::Expired:
        bump(m_expirationsCounter, m_stats.expirations);
        break;
    case Removal::Invalidated:
        bump(m_invalidationsCounter, m_stats.invalidations);
        break;
    case Removal::Replaced:
        break;
    }
    const auto it = m_map.find(*n->id);
    Q_ASSERT(it != m_map.end());
    m_map.erase(it); // destroys n
}

bool ResponseCache::remove(const QByteArray &key)
{
    Node *n = find(key, hashOf(key));
    if (!n)
        return false;
    removeNode(n, Removal::Invalidated);
    publishGauges();
    return true;
}

int ResponseCache::invalidatePrefix(const QByteArray &prefix)
{
    std::vector<Node *> doomed;
    for (auto &[k, node] : m_map) {
        if (k.bytes.startsWith(prefix))
            doomed.push_back(&node);
    }
    for (Node *n : doomed)
        removeNode(n, Removal::Invalidated);
    publishGauges();
    return int(doomed.size());
}

int ResponseCache::purgeExpired()
{
    const qint64 now = m_clock->nowNs();
    std::vector<Node *> doomed;
    for (auto &entry : m_map) {
        if (entry.second.response.expiresAtNs <= now)
            doomed.push_back(&entry.second);
    }
    for (Node *n : doomed)
        removeNode(n, Removal::Expired);
    publishGauges();
    return int(doomed.size());
}

void ResponseCache::clear()
{
    bump(m_invalidationsCounter, m_stats.invalidations, quint64(m_entries));
    for (List *l : {&m_window, &m_probation, &m_protected}) {
        l->head.prev = l->head.next = &l->head;
        l->count = 0;
        l->bytes = 0;
    }
    m_map.clear();
    m_entries = 0;
    m_bytes = 0;
    publishGauges();
}

ResponseCache::Stats ResponseCache::stats() const
{
    Stats s = m_stats;
    s.entries = m_entries;
    s.bytes = m_bytes;
    return s;
}

int ResponseCache::frequency(const QByteArray &key) const
{
    return m_sketch.frequency(hashOf(key));
}

void ResponseCache::publishGauges()
{
    if (m_entriesGauge)
        m_entriesGauge->set(m_entries);
    if (m_bytesGauge)
        m_bytesGauge->set(double(m_bytes));
}

QString ResponseCache::checkInvariants() const
{
    int total = 0;
    qint64 totalBytes = 0;
    const std::pair<const List *, Segment> lists[] = {
        {&m_window, Segment::Window}, {&m_probation, Segment::Probation}, {&m_protected, Segment::Protected}};
    for (const auto &[list, segment] : lists) {
        auto seg = [s = segment] { return QString::number(int(s)); };
        int count = 0;
        qint64 bytes = 0;
        const Link *prev = &list->head;
        for (const Link *l = list->head.next; l != &list->head; l = l->next) {
            const Node *n = static_cast<const Node *>(l);
            if (l->prev != prev)
                return QStringLiteral("broken prev link in segment ") + seg();
            if (n->segment != segment)
                return QStringLiteral("node in the wrong segment ") + seg();
            if (n->charge != n->key().size() + n->response.sizeBytes())
                return QStringLiteral("stale charge for ") + QString::fromLatin1(n->key());
            if (find(n->key(), n->hash()) != n)
                return QStringLiteral("listed node not in the map: ") + QString::fromLatin1(n->key());
            ++count;
            bytes += n->charge;
            prev = l;
            if (count > m_entries + 1)
                return QStringLiteral("cycle in segment ") + seg();
        }
        if (list->head.prev != prev)
            return QStringLiteral("broken tail link in segment ") + seg();
        if (count != list->count || bytes != list->bytes)
            return QStringLiteral("segment %1 counts %2/%3 but holds %4/%5")
                .arg(seg())
                .arg(list->count)
                .arg(list->bytes)
                .arg(count)
                .arg(bytes);
        total += count;
        totalBytes += bytes;
    }
    if (total != m_entries || totalBytes != m_bytes || size_t(total) != m_map.size())
        return QStringLiteral("totals %1/%2 but lists hold %3/%4 and the map %5")
            .arg(m_entries)
            .arg(m_bytes)
            .arg(total)
            .arg(totalBytes)
            .arg(m_map.size());
    if (m_entries > m_options.maxEntries || m_bytes > m_options.maxBytes)
        return QStringLiteral("over bounds: %1 entries, %2 bytes").arg(m_entries).arg(m_bytes);
    if (m_window.count > m_windowMaxEntries || m_window.bytes > m_windowMaxBytes)
        return QStringLiteral("window over its share");
    if (m_protected.count > m_protectedMaxEntries || m_protected.bytes > m_protectedMaxBytes)
        return QStringLiteral("protected over its share");
    return {};
}

} // namespace vega
