#include "metrics.h"
#include "responsecache.h"

#include <QtTest>

#include <random>

using namespace vega;

namespace {

// "Name: value" lines, '\n'-separated, so that the _data() table reads like a response.
HeaderList parseHeaders(const QByteArray &block)
{
    HeaderList headers;
    for (const QByteArray &line : block.split('\n')) {
        const qsizetype colon = line.indexOf(':');
        if (colon > 0)
            headers.append({line.left(colon), line.mid(colon + 1).trimmed()});
    }
    return headers;
}

CachedResponse response(qsizetype bodyBytes, char fill = 'x')
{
    CachedResponse r;
    r.status = 200;
    r.headers = {{QByteArrayLiteral("Content-Type"), QByteArrayLiteral("text/plain")}};
    r.body = QByteArray(bodyBytes, fill);
    return r;
}

QByteArray key(int i)
{
    return QByteArrayLiteral("GET https://api.example/items/") + QByteArray::number(i);
}

ResponseCache::Options options(int maxEntries, qint64 maxBytes)
{
    ResponseCache::Options o;
    o.maxEntries = maxEntries;
    o.maxBytes = maxBytes;
    return o;
}

} // namespace

class TestResponseCache : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void decideCaching_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QByteArray>("headers");
        QTest::addColumn<bool>("authorization");
        QTest::addColumn<qint64>("defaultTtlMs");
        QTest::addColumn<bool>("store");
        QTest::addColumn<qint64>("ttlMs");
        QTest::addColumn<QString>("reason");

        auto row = [](const char *name, int status, const char *headers, bool store, qint64 ttlMs,
                      const char *reason, qint64 defaultTtlMs = 30000, bool authorization = false) {
            QTest::newRow(name) << status << QByteArray(headers) << authorization << defaultTtlMs << store
                                << ttlMs << QString::fromLatin1(reason);
        };
        row("default ttl", 200, "Content-Type: text/html", true, 30000, "default ttl");
        row("no default ttl", 200, "", false, 0, "no default ttl", 0);
        row("no-store", 200, "Cache-Control: no-store", false, 0, "no-store");
        row("private", 200, "Cache-Control: private, max-age=60", false, 0, "private");
        row("private with fields", 200, "Cache-Control: private=\"Set-Cookie\", max-age=60", false, 0,
            "private");
        row("no-cache", 200, "Cache-Control: no-cache", false, 0, "no-cache");
        row("no-cache quoted comma", 200, "Cache-Control: max-age=60, no-cache=\"set-cookie, x-user\"", false,
            0, "no-cache");
        row("max-age=0", 200, "Cache-Control: max-age=0", false, 0, "stale (max-age)");
        row("max-age=60", 200, "Cache-Control: max-age=60", true, 60000, "max-age");
        row("s-maxage wins", 200, "Cache-Control: max-age=60, s-maxage=5", true, 5000, "s-maxage");
        row("s-maxage wins, any order", 200, "Cache-Control: s-maxage=120, max-age=5", true, 120000,
            "s-maxage");
        row("s-maxage=0 beats max-age", 200, "Cache-Control: max-age=60, s-maxage=0", false, 0,
            "stale (s-maxage)");
        row("mixed case and spaces", 200, "CACHE-control:   PUBLIC ,  Max-Age = 60  ", true, 60000,
            "max-age");
        row("mixed case no-store", 200, "cache-CONTROL: Public,NO-STORE", false, 0, "no-store");
        row("multiple headers", 200, "Cache-Control: public\nCache-Control: max-age=90", true, 90000,
            "max-age");
        row("no-store in second header", 200, "Cache-Control: max-age=90\ncache-control: no-store", false, 0,
            "no-store");
        row("repeated equal max-age", 200, "Cache-Control: max-age=60\nCache-Control: max-age=60", true,
            60000, "max-age");
        row("conflicting max-age", 200, "Cache-Control: max-age=60, max-age=10", false, 0, "invalid max-age");
        row("quoted max-age", 200, "Cache-Control: max-age=\"45\"", true, 45000, "max-age");
        row("invalid max-age", 200, "Cache-Control: max-age=abc", false, 0, "invalid max-age");
        row("negative max-age", 200, "Cache-Control: max-age=-1", false, 0, "invalid max-age");
        row("max-age without value", 200, "Cache-Control: max-age", false, 0, "invalid max-age");
        row("huge max-age saturates", 200, "Cache-Control: max-age=99999999999999", true, 2147483648000LL,
            "max-age");
        row("unknown directives ignored", 200,
            "Cache-Control: immutable, stale-while-revalidate=30, max-age=20", true, 20000, "max-age");
        row("age reduces lifetime", 200, "Cache-Control: max-age=60\nAge: 20", true, 40000, "max-age");
        row("age beyond lifetime", 200, "Cache-Control: max-age=60\nAge: 61", false, 0, "stale (max-age)");
        row("invalid age ignored", 200, "Cache-Control: max-age=60\nAge: soon", true, 60000, "max-age");
        row("status 203", 203, "", true, 30000, "default ttl");
        row("status 204", 204, "", true, 30000, "default ttl");
        row("status 301", 301, "Cache-Control: max-age=600", true, 600000, "max-age");
        row("status 308", 308, "", true, 30000, "default ttl");
        row("status 404", 404, "", true, 30000, "default ttl");
        row("status 410", 410, "", true, 30000, "default ttl");
        row("status 501", 501, "", true, 30000, "default ttl");
        row("status 500", 500, "Cache-Control: max-age=60", false, 0, "status 500 not cacheable");
        row("status 302 with max-age", 302, "Cache-Control: max-age=60", false, 0,
            "status 302 not cacheable");
        row("status 206", 206, "Cache-Control: max-age=60", false, 0, "status 206 not cacheable");
        row("status 503", 503, "", false, 0, "status 503 not cacheable");
        row("set-cookie", 200, "Cache-Control: max-age=60\nSet-Cookie: session=abc", false, 0, "set-cookie");
        row("vary star", 200, "Vary: Accept, *", false, 0, "vary: *");
        row("vary accept-encoding", 200, "Vary: Accept-Encoding", true, 30000, "default ttl");
        row("pragma no-cache", 200, "Pragma: no-cache", false, 0, "no-cache");
        row("cache-control overrides pragma", 200, "Pragma: no-cache\nCache-Control: max-age=10", true, 10000,
            "max-age");
        row("expires minus date", 200,
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\nExpires: Sun, 06 Nov 1994 08:50:37 GMT", true, 60000,
            "expires");
        row("expires before date", 200,
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\nExpires: Sun, 06 Nov 1994 08:48:37 GMT", false, 0,
            "stale (expires)");
        row("expires 0", 200, "Expires: 0", false, 0, "invalid expires");
        row("expires without date", 200, "Expires: Sun, 06 Nov 1994 08:50:37 GMT", true, 30000,
            "default ttl");
        row("max-age beats expires", 200, "Expires: 0\nCache-Control: max-age=10", true, 10000, "max-age");
        row("authorization", 200, "Cache-Control: max-age=60", false, 0, "authorization", 30000, true);
        row("authorization + public", 200, "Cache-Control: public, max-age=60", true, 60000, "max-age", 30000,
            true);
        row("authorization + s-maxage", 200, "Cache-Control: s-maxage=60", true, 60000, "s-maxage", 30000,
            true);
    }

    void decideCaching()
    {
        QFETCH(int, status);
        QFETCH(QByteArray, headers);
        QFETCH(bool, authorization);
        QFETCH(qint64, defaultTtlMs);
        QFETCH(bool, store);
        QFETCH(qint64, ttlMs);
        QFETCH(QString, reason);

        const CacheDecision d =
            vega::decideCaching(status, parseHeaders(headers), defaultTtlMs, authorization);
        QCOMPARE(d.reason, reason);
        QCOMPARE(d.store, store);
        QCOMPARE(d.ttlMs, ttlMs);
    }

    void ttlExpiryWithManualClock()
    {
        ManualClock clock;
        ResponseCache cache(options(100, 1 << 20), &clock);
        const qint64 t0 = clock.nowNs();
        QVERIFY(cache.put(key(1), response(10), 1000));

        clock.advanceMs(999);
        auto hit = cache.get(key(1));
        QVERIFY(hit);
        QCOMPARE(hit->body, QByteArray(10, 'x'));
        QCOMPARE(hit->storedAtNs, t0);
        QCOMPARE(hit->expiresAtNs, t0 + 1000 * 1000000LL);
        QVERIFY(cache.contains(key(1)));

        clock.advanceMs(1);
        QVERIFY(!cache.contains(key(1)));
        QVERIFY(!cache.get(key(1)));
        const auto s = cache.stats();
        QCOMPARE(s.hits, quint64(1));
        QCOMPARE(s.misses, quint64(1));
        QCOMPARE(s.expirations, quint64(1));
        QCOMPARE(cache.size(), 0);
        QCOMPARE(cache.bytes(), 0);
    }

    void ttlJitterOnlyShortens()
    {
        ManualClock clock;
        ResponseCache::Options o = options(1000, 1 << 20);
        o.ttlJitter = 0.2;
        ResponseCache cache(o, &clock);
        const qint64 now = clock.nowNs();
        QSet<qint64> distinct;
        for (int i = 0; i < 200; ++i) {
            QVERIFY(cache.put(key(i), response(1), 1000));
            const qint64 expires = cache.get(key(i))->expiresAtNs;
            QVERIFY(expires <= now + 1000 * 1000000LL);
            QVERIFY(expires >= now + 800 * 1000000LL);
            distinct.insert(expires);
        }
        QVERIFY(distinct.size() > 150);
        // Spread out: some have expired at 90% of the TTL, none at 80%, all at 100%.
        clock.advanceMs(800);
        QCOMPARE(cache.purgeExpired(), 0);
        clock.advanceMs(100);
        QVERIFY(cache.purgeExpired() > 0);
        clock.advanceMs(100);
        cache.purgeExpired();
        QCOMPARE(cache.size(), 0);
    }

    void purgeExpiredSweeps()
    {
        ManualClock clock;
        ResponseCache cache(options(100, 1 << 20), &clock);
        for (int i = 0; i < 10; ++i)
            QVERIFY(cache.put(key(i), response(10), i < 4 ? 100 : 10000));
        clock.advanceMs(100);
        QCOMPARE(cache.purgeExpired(), 4);
        QCOMPARE(cache.size(), 6);
        QCOMPARE(cache.stats().expirations, quint64(4));
        QCOMPARE(cache.checkInvariants(), QString());
    }

    void putReplacesAndRefusesZeroTtl()
    {
        ManualClock clock;
        ResponseCache cache(options(100, 1 << 20), &clock);
        QVERIFY(cache.put(key(1), response(10, 'a'), 1000));
        QVERIFY(cache.put(key(1), response(500, 'b'), 1000));
        QCOMPARE(cache.size(), 1);
        QCOMPARE(cache.get(key(1))->body, QByteArray(500, 'b'));
        QCOMPARE(cache.bytes(), key(1).size() + response(500).sizeBytes());

        // A refused put must not leave the older version to be served.
        QVERIFY(!cache.put(key(1), response(10, 'c'), 0));
        QVERIFY(!cache.get(key(1)));
        QCOMPARE(cache.stats().rejected, quint64(1));
        QCOMPARE(cache.checkInvariants(), QString());
    }

    void entryBoundRespected()
    {
        ManualClock clock;
        ResponseCache cache(options(50, 1 << 30), &clock);
        std::mt19937 rng(7);
        for (int i = 0; i < 5000; ++i) {
            const int k = int(rng() % 400);
            if (!cache.get(key(k)))
                cache.put(key(k), response(int(rng() % 100)), 60000);
            QVERIFY(cache.size() <= 50);
        }
        QCOMPARE(cache.size(), 50);
        QVERIFY(cache.stats().evictions > 0);
        QCOMPARE(cache.checkInvariants(), QString());
    }

    void byteBoundRespected()
    {
        ManualClock clock;
        const qint64 maxBytes = 20000;
        ResponseCache cache(options(1000, maxBytes), &clock);
        std::mt19937 rng(11);
        for (int i = 0; i < 5000; ++i) {
            const int k = int(rng() % 300);
            if (!cache.get(key(k)))
                cache.put(key(k), response(int(rng() % 3000)), 60000);
            QVERIFY2(cache.bytes() <= maxBytes, qPrintable(QString::number(cache.bytes())));
        }
        QVERIFY(cache.bytes() > maxBytes / 2);
        QVERIFY(cache.size() < 1000);
        QCOMPARE(cache.checkInvariants(), QString());
    }

    void growingInPlaceUpdateStaysInBounds()
    {
        ManualClock clock;
        const qint64 maxBytes = 10000;
        ResponseCache cache(options(100, maxBytes), &clock);
        for (int i = 0; i < 20; ++i) {
            cache.put(key(i), response(300), 60000);
            cache.get(key(i)); // promote some into protected
        }
        QVERIFY(cache.put(key(3), response(9000), 60000));
        QVERIFY(cache.bytes() <= maxBytes);
        QCOMPARE(cache.get(key(3))->body.size(), 9000);
        QCOMPARE(cache.checkInvariants(), QString());
    }

    void oversizedResponseRefused()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        ResponseCache cache(options(100, 1000), &clock, &registry, QStringLiteral("small"));
        QVERIFY(cache.put(key(1), response(100), 60000));
        QVERIFY(!cache.put(key(2), response(1000), 60000)); // key + headers push it over
        QVERIFY(!cache.get(key(2)));
        QCOMPARE(cache.size(), 1);
        QCOMPARE(cache.stats().rejected, quint64(1));
        auto snap = registry.capture();
        QCOMPARE(
            snap->find(QStringLiteral("cache_rejected"), {{QStringLiteral("cache"), QStringLiteral("small")}})
                ->total,
            quint64(1));

        ResponseCache none(options(0, 1000), &clock);
        QVERIFY(!none.put(key(1), response(1), 60000));
        QCOMPARE(none.size(), 0);
    }

    void invalidatePrefix()
    {
        ManualClock clock;
        ResponseCache cache(options(100, 1 << 20), &clock);
        const QByteArray users = QByteArrayLiteral("GET https://api.example/users/");
        for (int i = 0; i < 10; ++i) {
            cache.put(users + QByteArray::number(i), response(10), 60000);
            cache.put(key(i), response(10), 60000);
        }
        cache.put(QByteArrayLiteral("GET https://api.example/users"), response(10), 60000);
        QCOMPARE(cache.size(), 21);

        QCOMPARE(cache.invalidatePrefix(users), 10);
        QCOMPARE(cache.size(), 11);
        QVERIFY(!cache.get(users + "3"));
        QVERIFY(cache.get(QByteArrayLiteral("GET https://api.example/users")));
        QVERIFY(cache.get(key(3)));
        QCOMPARE(cache.stats().invalidations, quint64(10));
        QCOMPARE(cache.invalidatePrefix(users), 0);

        QVERIFY(cache.remove(key(3)));
        QVERIFY(!cache.remove(key(3)));
        cache.clear();
        QCOMPARE(cache.size(), 0);
        QCOMPARE(cache.bytes(), 0);
        QCOMPARE(cache.stats().invalidations, quint64(10 + 1 + 10));
        QCOMPARE(cache.checkInvariants(), QString());
    }

    // The point of W-TinyLFU: a scan of one-hit keys, ten times the capacity, passes through
    // without flushing a hot key. The same cache configured as a plain LRU loses it.
    void frequentKeySurvivesScan_data()
    {
        QTest::addColumn<double>("windowFraction");
        QTest::addColumn<bool>("doorkeeper");
        QTest::addColumn<bool>("survives");
        QTest::newRow("w-tinylfu") << 0.01 << false << true;
        QTest::newRow("w-tinylfu + doorkeeper") << 0.01 << true << true;
        QTest::newRow("plain lru (window = everything)") << 1.0 << false << false;
    }

    void frequentKeySurvivesScan()
    {
        QFETCH(double, windowFraction);
        QFETCH(bool, doorkeeper);
        QFETCH(bool, survives);

        ManualClock clock;
        ResponseCache::Options o = options(100, 1 << 20);
        o.windowFraction = windowFraction;
        o.doorkeeper = doorkeeper;
        ResponseCache cache(o, &clock);

        const QByteArray hot = QByteArrayLiteral("GET https://api.example/hot");
        cache.put(hot, response(10), 3600000);
        for (int i = 0; i < 5; ++i)
            QVERIFY(cache.get(hot));
        // Warm the rest of the cache with keys used twice.
        for (int i = 0; i < 99; ++i) {
            cache.put(key(i), response(10), 3600000);
            cache.get(key(i));
        }
        for (int i = 1000; i < 2000; ++i) {
            QVERIFY(!cache.get(key(i)));
            cache.put(key(i), response(10), 3600000);
            QVERIFY(cache.size() <= 100);
        }
        QCOMPARE(bool(cache.get(hot)), survives);
        QCOMPARE(cache.checkInvariants(), QString());
    }

    // The filter must not freeze the cache: a key that keeps being asked for gets in.
    void risingKeyIsAdmitted()
    {
        ManualClock clock;
        ResponseCache cache(options(100, 1 << 20), &clock);
        for (int i = 0; i < 300; ++i)
            cache.put(key(i), response(10), 3600000);
        const QByteArray rising = QByteArrayLiteral("GET https://api.example/rising");
        for (int round = 0; round < 4; ++round) {
            if (!cache.get(rising))
                cache.put(rising, response(10), 3600000);
            cache.put(key(10000 + round), response(10), 3600000); // pushes it out of the window
        }
        QVERIFY(cache.frequency(rising) >= 2);
        QVERIFY(cache.get(rising));
    }

    void metricsInRegistry()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        ResponseCache cache(options(2, 1 << 20), &clock, &registry, QStringLiteral("api"));
        const Labels labels{{QStringLiteral("cache"), QStringLiteral("api")}};

        QVERIFY(!cache.get(key(1)));
        cache.put(key(1), response(100), 1000);
        QVERIFY(cache.get(key(1)));
        QVERIFY(cache.get(key(1)));
        cache.put(key(2), response(5), 1000);
        cache.put(key(3), response(5), 1000); // over two entries: something goes
        clock.advanceMs(2000);
        cache.purgeExpired();
        cache.put(key(4), response(50), 1000);

        auto snap = registry.capture();
        auto total = [&](const char *name) {
            const MetricSnapshot *m = snap->find(QString::fromLatin1(name), labels);
            return m ? m->total : quint64(999999);
        };
        const auto s = cache.stats();
        QCOMPARE(total("cache_hits"), quint64(2));
        QCOMPARE(total("cache_hits"), s.hits);
        QCOMPARE(total("cache_misses"), s.misses);
        QCOMPARE(total("cache_evictions"), s.evictions);
        QCOMPARE(total("cache_expirations"), s.expirations);
        QCOMPARE(total("cache_rejected"), quint64(0));
        QCOMPARE(total("cache_invalidations"), quint64(0));
        QVERIFY(s.evictions >= 1);
        QVERIFY(s.expirations >= 1);
        const MetricSnapshot *entries = snap->find(QStringLiteral("cache_entries"), labels);
        const MetricSnapshot *bytes = snap->find(QStringLiteral("cache_bytes"), labels);
        QVERIFY(entries && bytes);
        QCOMPARE(entries->value, 1.0);
        QCOMPARE(bytes->value, double(key(4).size() + response(50).sizeBytes()));
        QCOMPARE(bytes->unit, Unit::Bytes);
        QCOMPARE(entries->type, MetricType::Gauge);
    }

    // 100k random operations against a reference model: every hit must be the latest value
    // stored for that key and still fresh; the bookkeeping must match the structures.
    void randomizedInvariants_data()
    {
        QTest::addColumn<int>("maxEntries");
        QTest::addColumn<qint64>("maxBytes");
        QTest::addColumn<double>("windowFraction");
        QTest::addColumn<bool>("doorkeeper");
        QTest::addColumn<double>("ttlJitter");
        QTest::newRow("default") << 64 << qint64(12000) << 0.01 << false << 0.0;
        QTest::newRow("doorkeeper, larger window, jitter") << 64 << qint64(12000) << 0.2 << true << 0.3;
        QTest::newRow("byte-bound") << 1000 << qint64(6000) << 0.01 << false << 0.0;
        QTest::newRow("one entry") << 1 << qint64(4000) << 0.01 << false << 0.0;
        QTest::newRow("plain lru") << 64 << qint64(12000) << 1.0 << false << 0.0;
    }

    void randomizedInvariants()
    {
        QFETCH(int, maxEntries);
        QFETCH(qint64, maxBytes);
        QFETCH(double, windowFraction);
        QFETCH(bool, doorkeeper);
        QFETCH(double, ttlJitter);

        ManualClock clock;
        ResponseCache::Options o = options(maxEntries, maxBytes);
        o.windowFraction = windowFraction;
        o.doorkeeper = doorkeeper;
        o.ttlJitter = ttlJitter;
        ResponseCache cache(o, &clock);

        struct Model {
            QByteArray body;
            qint64 expiresAtNs;
        };
        QHash<QByteArray, Model> model; // latest accepted put per key
        std::mt19937 rng(20240601);
        std::uniform_int_distribution<int> percent(0, 999);
        std::geometric_distribution<int> skewed(0.02);
        quint64 gets = 0;
        int version = 0;

        for (int op = 0; op < 100000; ++op) {
            const int k = std::min(skewed(rng), 400);
            const QByteArray kk = key(k);
            const int p = percent(rng);
            if (p < 450) {
                ++gets;
                const auto got = cache.get(kk);
                if (got) {
                    const auto it = model.constFind(kk);
                    QVERIFY2(it != model.constEnd(), kk.constData());
                    QCOMPARE(got->body, it->body);
                    QVERIFY(got->expiresAtNs > clock.nowNs());
                    QVERIFY(got->expiresAtNs <= it->expiresAtNs);
                }
            } else if (p < 880) {
                const int size = p < 875 ? int(rng() % 700) : int(maxBytes); // some oversize
                CachedResponse r = response(0);
                r.body = QByteArray::number(++version) + QByteArray(size, 'v');
                const qint64 ttl = qint64(rng() % 5000) - 100; // some <= 0
                const bool stored = cache.put(kk, r, ttl);
                model.remove(kk);
                if (stored) {
                    model.insert(kk, {r.body, clock.nowNs() + ttl * 1000000});
                    QVERIFY(cache.contains(kk));
                } else {
                    QVERIFY(!cache.contains(kk));
                }
            } else if (p < 940) {
                clock.advanceMs(qint64(rng() % 300));
            } else if (p < 970) {
                cache.remove(kk);
            } else if (p < 985) {
                // "GET .../items/1" prefixes 1, 10..19, 100..199
                cache.invalidatePrefix(key(1 + int(rng() % 9)));
            } else if (p < 998) {
                cache.purgeExpired();
            } else {
                cache.clear();
            }
            const QString problem = cache.checkInvariants();
            QVERIFY2(problem.isEmpty(), qPrintable(QStringLiteral("op %1: %2").arg(op).arg(problem)));
        }
        const auto s = cache.stats();
        QCOMPARE(s.hits + s.misses, gets);
        QCOMPARE(s.entries, cache.size());
        QVERIFY(s.hits > 0 && s.evictions > 0 && s.expirations > 0 && s.rejected > 0);
    }
};

QTEST_GUILESS_MAIN(TestResponseCache)
#include "tst_responsecache.moc"
