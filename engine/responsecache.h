#pragma once

#include "clock.h"

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QString>

#include <optional>
#include <unordered_map>
#include <vector>

namespace vega {

class Counter;
class Gauge;
class MetricsRegistry;

// Same alias as requestkey.h (redeclaring an alias to the same type is allowed).
using HeaderList = QList<QPair<QByteArray, QByteArray>>;

/// A stored HTTP response. Copies are cheap: the byte arrays and the header list are
/// implicitly shared.
struct CachedResponse {
    int status = 0;
    HeaderList headers;
    QByteArray body;
    qint64 storedAtNs = 0;  // set by ResponseCache::put() from its clock
    qint64 expiresAtNs = 0; // set by ResponseCache::put(): storedAtNs + ttl

    /// Payload bytes: the body plus every header name and value. This is what the byte bound
    /// of the cache counts (with the key); allocator and bookkeeping overhead is not counted.
    qint64 sizeBytes() const;
};

/// Whether a response may be stored, and for how long.
struct CacheDecision {
    bool store = false;
    qint64 ttlMs = 0;
    QString reason; // short, for logs and the console: "max-age", "no-store", ...
};

/**
 * Reads a response's Cache-Control (and related headers) the way a *shared* cache must:
 * the cache is shared by every caller in the program (and later by other instances through
 * Redis), and it never revalidates, so anything that would need revalidation is not stored.
 *
 * In order:
 *  - status must be one RFC 9110 calls heuristically cacheable, minus 206 (we do not store
 *    ranges): 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501. Other codes are never
 *    stored, even with an explicit max-age (a cached 500 or 302 does more harm than good).
 *  - no-store, private (with or without field names), no-cache (with or without field
 *    names) -> not stored.
 *  - Set-Cookie present -> not stored (it would hand one caller's cookie to every caller).
 *  - Vary: * -> not stored. Any other Vary is the caller's business: the request headers it
 *    names must be part of the key.
 *  - requestHasAuthorization -> stored only with public, s-maxage or must-revalidate
 *    (RFC 9111 section 3.5).
 *  - Lifetime: s-maxage, else max-age, else Expires - Date (both must be present and valid;
 *    an invalid Expires means "already stale"), else defaultTtlMs. An explicit lifetime is
 *    reduced by the Age header. A lifetime <= 0, or an invalid or repeated-but-different
 *    or conflicting repeated max-age, means stale -> not stored.
 *
 * Header names and directive names are case-insensitive; directives may be split over
 * several Cache-Control headers; values may be quoted.
 */
CacheDecision decideCaching(int status, const HeaderList &headers, qint64 defaultTtlMs,
                            bool requestHasAuthorization = false);

/**
 * A bounded in-memory response cache with W-TinyLFU admission (as in Caffeine).
 *
 * New entries enter a small LRU *window* (~1% of capacity). An entry pushed out of the
 * window becomes a *candidate* for the main space, a segmented LRU (probation + protected,
 * protected ~80%). If the main space has no room, a Count-Min sketch of 4-bit counters
 * (periodically halved so that old popularity fades) estimates how often the candidate and
 * the main's LRU victim were used, and the less frequent one goes. A burst of one-hit keys
 * (a crawl, a scan) therefore cannot flush the keys that are actually hot, which plain LRU
 * lets it do.
 *
 * Bounded by entries and by bytes (key + CachedResponse::sizeBytes()); after every call
 * both bounds hold. Lookups, puts and evictions are O(1) (hash map + intrusive lists);
 * invalidatePrefix() and purgeExpired() are O(n).
 *
 * Expiry uses the injected Clock. An expired entry is never returned: get() removes it
 * (counted as an expiration and a miss); an expired victim or candidate met during admission
 * is dropped without a duel; purgeExpired() sweeps the rest.
 *
 * Threading: not thread-safe and holds no locks. Use each instance from one thread (the
 * thread running the HTTP pipeline's event loop). Only the metrics it publishes are read
 * from other threads, and those are atomics owned by the registry.
 */
class ResponseCache {
public:
    struct Options {
        int maxEntries = 10000;
        qint64 maxBytes = 64LL * 1024 * 1024;
        // Tuning, swept by BM_ZipfTuning in bench/bench_cache.cpp. The defaults are Caffeine's:
        // a longer sample period scores higher on a stationary trace but forgets slower.
        double windowFraction = 0.01;    // admission window share of both bounds
        double protectedFraction = 0.80; // protected share of the main space
        int sampleFactor = 10;           // the sketch halves after sampleFactor * maxEntries
                                         // recorded uses
        bool doorkeeper = false;         // Bloom filter in front of the sketch
        // Shortens each lifetime by a random share in [0, ttlJitter), so that responses
        // stored together (a warm-up, a deploy) do not all expire, and refetch, together.
        // Never lengthens what the server allowed. 0.1 is a reasonable production value.
        double ttlJitter = 0.0;
    };

    struct Stats {
        quint64 hits = 0;
        quint64 misses = 0;        // includes lookups that found an expired entry
        quint64 evictions = 0;     // entries removed to make room (incl. refused candidates)
        quint64 expirations = 0;   // expired entries removed (by get, eviction or purge)
        quint64 rejected = 0;      // puts refused outright (too large, ttl <= 0, no capacity)
        quint64 invalidations = 0; // removed by invalidatePrefix(), remove() or clear()
        int entries = 0;
        qint64 bytes = 0;
    };

    /// With a registry, publishes counters cache_hits, cache_misses, cache_evictions,
    /// cache_expirations, cache_rejected, cache_invalidations and gauges cache_entries,
    /// cache_bytes, all labelled {cache: name}; name must be unique within the registry. The
    /// clock and registry must outlive the cache.
    ResponseCache(const Options &options, Clock *clock, MetricsRegistry *registry = nullptr,
                  const QString &name = QStringLiteral("default"));
    ~ResponseCache();
    ResponseCache(const ResponseCache &) = delete;
    ResponseCache &operator=(const ResponseCache &) = delete;

    /// The fresh response for key, or nothing. Counts a hit or a miss; a hit also counts as a
    /// use for admission.
    std::optional<CachedResponse> get(const QByteArray &key);
    /// True if key holds a fresh entry. Counts nothing and changes nothing.
    bool contains(const QByteArray &key) const;

    /// Stores (or replaces) key for ttlMs (less Options::ttlJitter); storedAtNs/expiresAtNs
    /// are set from the clock. Counts as a use of key for admission (with get() hits, so the
    /// usual get-miss-then-put counts each request once). Returns whether key is cached after:
    /// false if refused (larger than maxBytes, ttlMs <= 0) or, for a response too large for
    /// the window, if the admission filter preferred the entries already cached. A stored
    /// entry can still be dropped later, when it leaves the window.
    bool put(const QByteArray &key, CachedResponse response, qint64 ttlMs);

    /// Removes key; returns whether it was there.
    bool remove(const QByteArray &key);
    /// Removes every key starting with prefix; returns how many. O(n).
    int invalidatePrefix(const QByteArray &prefix);
    /// Removes every expired entry; returns how many. O(n), for a periodic timer.
    int purgeExpired();
    /// Removes everything (counted as invalidations). Frequency history is kept.
    void clear();

    Stats stats() const;
    int size() const { return m_entries; }
    qint64 bytes() const { return m_bytes; }
    const Options &options() const { return m_options; }
    /// Estimated recent use count of key (0..15), as the admission filter sees it.
    int frequency(const QByteArray &key) const;

    /// Walks every structure and checks the bookkeeping (counts, bytes, list links, segment
    /// bounds). O(n); for tests. Returns an empty string when consistent.
    QString checkInvariants() const;

private:
    enum class Segment : quint8 { Window, Probation, Protected };

    struct Link {
        Link *prev = nullptr;
        Link *next = nullptr;
    };
    struct HashedKey {
        QByteArray bytes;
        quint64 hash;
        bool operator==(const HashedKey &o) const { return hash == o.hash && bytes == o.bytes; }
    };
    struct KeyHasher {
        size_t operator()(const HashedKey &k) const { return size_t(k.hash); }
    };
    // Lives inside the map's node (stable address): one allocation and one cache miss less
    // than a separately allocated node.
    struct Node : Link {
        const HashedKey *id = nullptr; // the map's key
        CachedResponse response;
        qint64 charge = 0;
        Segment segment = Segment::Window;
        const QByteArray &key() const { return id->bytes; }
        quint64 hash() const { return id->hash; }
    };
    // Circular doubly-linked list with a sentinel: head.next is the LRU end, head.prev the MRU.
    struct List {
        Link head;
        int count = 0;
        qint64 bytes = 0;
        List() { head.prev = head.next = &head; }
        bool isEmpty() const { return head.next == &head; }
        Node *lru() const { return isEmpty() ? nullptr : static_cast<Node *>(head.next); }
        void pushMru(Node *n);
        void unlink(Node *n);
    };
    class FrequencySketch {
    public:
        void configure(int maxEntries, int sampleFactor, bool doorkeeper);
        void increment(quint64 hash);
        int frequency(quint64 hash) const;

    private:
        void age();
        bool doorkeeperContains(quint64 hash) const;
        bool doorkeeperAdd(quint64 hash); // returns whether it was already present
        std::vector<quint64> m_storage;   // over-allocated so that blocks are cache-line aligned
        quint64 *m_table = nullptr;       // blocks of 8 words, 16 four-bit counters per word
        quint64 m_blockMask = 0;
        quint64 m_words = 0;
        std::vector<quint64> m_door;
        quint64 m_doorMask = 0; // in words
        qint64 m_sampleSize = 0;
        qint64 m_additions = 0;
    };

    quint64 hashOf(const QByteArray &key) const;
    Node *find(const QByteArray &key, quint64 hash);
    const Node *find(const QByteArray &key, quint64 hash) const;
    List &listFor(Segment s);
    void touch(Node *n);
    void setCharge(Node *n, qint64 charge);
    void drainWindow(qint64 nowNs);
    void admit(Node *candidate, qint64 nowNs);
    Node *mainVictim() const;
    bool overBounds() const { return m_entries > m_options.maxEntries || m_bytes > m_options.maxBytes; }
    bool admitOverVictim(Node *candidate, Node *victim);
    quint64 nextRandom();
    enum class Removal { Evicted, Expired, Invalidated, Replaced };
    void removeNode(Node *n, Removal why);
    void publishGauges();

    Options m_options;
    Clock *m_clock;
    int m_windowMaxEntries = 1;
    qint64 m_windowMaxBytes = 0;
    int m_protectedMaxEntries = 0;
    qint64 m_protectedMaxBytes = 0;
    quint64 m_hashSeed = 0;
    quint64 m_random = 0; // xorshift state: admission coin and expiry jitter

    std::unordered_map<HashedKey, Node, KeyHasher> m_map;
    List m_window;
    List m_probation;
    List m_protected;
    FrequencySketch m_sketch;
    int m_entries = 0;
    qint64 m_bytes = 0;
    Stats m_stats;

    // Registry-owned; null without a registry.
    Counter *m_hitsCounter = nullptr;
    Counter *m_missesCounter = nullptr;
    Counter *m_evictionsCounter = nullptr;
    Counter *m_expirationsCounter = nullptr;
    Counter *m_rejectedCounter = nullptr;
    Counter *m_invalidationsCounter = nullptr;
    Gauge *m_entriesGauge = nullptr;
    Gauge *m_bytesGauge = nullptr;
};

} // namespace vega
