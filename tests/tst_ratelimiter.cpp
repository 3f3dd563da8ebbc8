#include "metrics.h"
#include "ratelimiter.h"

#include <QtTest>

#include <memory>

using namespace vega;

namespace {
constexpr qint64 kMs = 1000000;

RateLimiterOptions rate(double perSecond, double burst = 0)
{
    RateLimiterOptions o;
    o.ratePerSecond = perSecond;
    o.burst = burst;
    return o;
}

RateLimiterOptions adaptiveRate(double perSecond, double burst = 1)
{
    RateLimiterOptions o = rate(perSecond, burst);
    o.adaptive = true;
    o.latencyIncreaseFactor = 0; // tested on its own
    return o;
}

int drain(RateLimiter &limiter)
{
    int n = 0;
    while (limiter.tryAcquire() == 0)
        ++n;
    return n;
}

Labels hostLabels(const QString &reason = {})
{
    Labels l{{QStringLiteral("host"), QStringLiteral("example.org")}};
    if (!reason.isEmpty())
        l.append({QStringLiteral("reason"), reason});
    return l;
}
} // namespace

class TestRateLimiter : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bucketRefillsAtConfiguredRate()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10), nullptr, &clock);
        QCOMPARE(drain(limiter), 10); // burst defaults to the rate
        clock.advanceMs(100);
        QCOMPARE(drain(limiter), 1);
        clock.advanceMs(500);
        QCOMPARE(drain(limiter), 5);
        clock.advanceMs(60000); // an idle minute refills no more than the burst
        QCOMPARE(drain(limiter), 10);

        // Sustained: 10 s at the rate grants exactly 100.
        int granted = 0;
        for (int ms = 0; ms < 10000; ++ms) {
            clock.advanceMs(1);
            granted += drain(limiter);
        }
        QCOMPARE(granted, 100);
    }

    void burstIsConfigurable()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 3), nullptr, &clock);
        QCOMPARE(drain(limiter), 3);
        clock.advanceMs(10000);
        QCOMPARE(drain(limiter), 3);
    }

    void waitTimeIsExact()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 1), nullptr, &clock);
        QCOMPARE(limiter.tryAcquire(), qint64(0));
        QCOMPARE(limiter.tryAcquire(), qint64(100));
        clock.advanceMs(30);
        QCOMPARE(limiter.tryAcquire(), qint64(70));
        clock.advanceMs(69);
        QCOMPARE(limiter.tryAcquire(), qint64(1));
        clock.advanceMs(1);
        QCOMPARE(limiter.tryAcquire(), qint64(0));
        QCOMPARE(limiter.tryAcquire(), qint64(100));

        RateLimiter third(QStringLiteral("h3"), rate(3, 1), nullptr, &clock);
        QCOMPARE(third.tryAcquire(), qint64(0));
        QCOMPARE(third.tryAcquire(), qint64(334)); // 333.3 ms, rounded up
        clock.advanceMs(333);
        QCOMPARE(third.tryAcquire(), qint64(1));
        clock.advanceMs(1);
        QCOMPARE(third.tryAcquire(), qint64(0));
    }

    void retryAfterBlocksUntilThen()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10), nullptr, &clock);
        limiter.onResponse(200, kMs, qint64(2000)); // only 429/503 block
        QCOMPARE(limiter.blockedForMs(), qint64(0));
        limiter.onResponse(429, kMs, qint64(2000));
        QCOMPARE(limiter.blockedForMs(), qint64(2000));
        QCOMPARE(limiter.tryAcquire(), qint64(2000)); // although the bucket was full
        clock.advanceMs(1999);
        QCOMPARE(limiter.tryAcquire(), qint64(1));
        clock.advanceMs(1);
        QCOMPARE(limiter.tryAcquire(), qint64(0));
        QCOMPARE(limiter.tryAcquire(), qint64(100)); // no burst right after the block
        QCOMPARE(limiter.currentRate(), 10.0);       // not adaptive: the rate stays

        // A shorter Retry-After does not shorten a longer block.
        limiter.onResponse(503, kMs, qint64(5000));
        limiter.onResponse(503, kMs, qint64(1000));
        QCOMPARE(limiter.blockedForMs(), qint64(5000));
    }

    void overloadHalvesRateDownToMin()
    {
        ManualClock clock;
        RateLimiterOptions o = adaptiveRate(100, 100);
        o.minRate = 10;
        RateLimiter limiter(QStringLiteral("h"), o, nullptr, &clock);
        limiter.onResponse(429, 5 * kMs, std::nullopt);
        QCOMPARE(limiter.currentRate(), 50.0);
        limiter.onResponse(429, 5 * kMs, std::nullopt); // same overload, already answered
        QCOMPARE(limiter.currentRate(), 50.0);
        clock.advanceMs(1000);
        limiter.onResponse(503, 5 * kMs, std::nullopt);
        QCOMPARE(limiter.currentRate(), 25.0);
        for (int i = 0; i < 5; ++i) {
            clock.advanceMs(1000);
            limiter.onResponse(429, 5 * kMs, std::nullopt);
        }
        QCOMPARE(limiter.currentRate(), 10.0);
        QCOMPARE(limiter.stats().decreases, quint64(4)); // 100 -> 50 -> 25 -> 12.5 -> 10
        // The bucket shrinks with the rate: a cut rate is not undone by a full bucket.
        clock.advanceMs(60000);
        QCOMPARE(drain(limiter), 10);
    }

    void successesRaiseRateAdditivelyUpToMax()
    {
        ManualClock clock;
        RateLimiterOptions o = adaptiveRate(10);
        o.maxRate = 13;
        RateLimiter limiter(QStringLiteral("h"), o, nullptr, &clock);
        QList<double> rates;
        for (int second = 0; second < 6; ++second) {
            drain(limiter); // demand above the rate
            limiter.onResponse(200, 5 * kMs, std::nullopt);
            rates.append(limiter.currentRate());
            clock.advanceMs(1000);
        }
        QCOMPARE(rates, (QList<double>{10, 11, 12, 13, 13, 13}));
        QCOMPARE(limiter.stats().increases, quint64(3));
    }

    void noIncreaseWithoutDemand()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), adaptiveRate(10, 10), nullptr, &clock);
        for (int second = 0; second < 5; ++second) {
            QCOMPARE(limiter.tryAcquire(), qint64(0)); // well below the rate
            limiter.onResponse(200, 5 * kMs, std::nullopt);
            clock.advanceMs(1000);
        }
        QCOMPARE(limiter.currentRate(), 10.0);
    }

    void noIncreaseInAWindowWithADecrease()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), adaptiveRate(10), nullptr, &clock);
        drain(limiter);
        limiter.onResponse(429, 5 * kMs, std::nullopt);
        limiter.onResponse(200, 5 * kMs, std::nullopt);
        clock.advanceMs(1000);
        limiter.onResponse(200, 5 * kMs, std::nullopt);
        QCOMPARE(limiter.currentRate(), 5.0);
    }

    void risingLatencyDecreasesRate()
    {
        ManualClock clock;
        RateLimiterOptions o = adaptiveRate(100, 100);
        o.latencyIncreaseFactor = 2.0;
        RateLimiter limiter(QStringLiteral("h"), o, nullptr, &clock);
        for (int i = 0; i < 30; ++i) {
            limiter.onResponse(200, 10 * kMs, std::nullopt);
            clock.advanceMs(10);
        }
        QCOMPARE(limiter.currentRate(), 100.0);
        QCOMPARE(limiter.stats().latencyBaselineMs, 10.0);
        int samples = 0;
        while (limiter.currentRate() == 100.0 && samples < 20) {
            limiter.onResponse(200, 50 * kMs, std::nullopt);
            clock.advanceMs(10);
            ++samples;
        }
        QCOMPARE(limiter.currentRate(), 50.0);
        QVERIFY(samples <= 5); // the fast EWMA notices within a few responses
        QVERIFY(limiter.stats().latencyEwmaMs > 2 * limiter.stats().latencyBaselineMs);
    }

    void queueGrantsInFifoOrder()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 1), nullptr, &clock);
        drain(limiter);
        QList<int> order;
        for (int i = 1; i <= 3; ++i)
            QVERIFY(limiter.enqueue({0, [&order, i](bool granted) { order.append(granted ? i : -i); }, 0}));
        QCOMPARE(limiter.queueDepth(), 3);
        limiter.pump();
        QVERIFY(order.isEmpty());
        clock.advanceMs(100);
        limiter.pump();
        QCOMPARE(order, QList<int>{1});
        clock.advanceMs(99);
        limiter.pump();
        QCOMPARE(order, QList<int>{1});
        clock.advanceMs(1);
        // Waiters go first: a direct caller gets no token while the queue is non-empty.
        QVERIFY(limiter.tryAcquire() > 0);
        limiter.pump();
        QCOMPARE(order, (QList<int>{1, 2}));
        clock.advanceMs(1000);
        limiter.pump();
        QCOMPARE(order, (QList<int>{1, 2, 3}));
        QCOMPARE(limiter.queueDepth(), 0);
        QCOMPARE(limiter.tryAcquire(), qint64(100)); // the grant took the only token
        clock.advanceMs(100);
        QCOMPARE(limiter.tryAcquire(), qint64(0));
    }

    void tryAcquireWithQueueReportsItsTurn()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 1), nullptr, &clock);
        drain(limiter);
        QVERIFY(limiter.enqueue({0, [](bool) {}, 0}));
        QVERIFY(limiter.enqueue({0, [](bool) {}, 0}));
        QCOMPARE(limiter.tryAcquire(), qint64(300)); // behind two waiters
    }

    void fullQueueRejectsImmediately()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        RateLimiterOptions o = rate(10, 1);
        o.maxQueue = 2;
        RateLimiter limiter(QStringLiteral("example.org"), o, &registry, &clock);
        drain(limiter);
        int calls = 0;
        const auto cb = [&calls](bool) { ++calls; };
        QVERIFY(limiter.enqueue({0, cb, 0}));
        QVERIFY(limiter.enqueue({0, cb, 0}));
        QVERIFY(!limiter.enqueue({0, cb, 0}));
        QCOMPARE(calls, 0);
        QCOMPARE(limiter.stats().rejectedQueueFull, quint64(1));
        const auto snap = registry.capture();
        QCOMPARE(
            snap->find(QStringLiteral("ratelimit_rejected"), hostLabels(QStringLiteral("queue_full")))->total,
            quint64(1));
        QCOMPARE(snap->find(QStringLiteral("ratelimit_queue_depth"), hostLabels())->value, 2.0);
        QCOMPARE(snap->find(QStringLiteral("ratelimit_delayed"), hostLabels())->total, quint64(2));
    }

    void waiterPastDeadlineFails()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        RateLimiter limiter(QStringLiteral("example.org"), rate(1, 1), &registry, &clock);
        drain(limiter);
        QList<int> results;
        // The first waits for the token due in 1 s; the second's own deadline comes first.
        QVERIFY(
            limiter.enqueue({clock.nowNs() + 2000 * kMs, [&](bool g) { results.append(g ? 1 : -1); }, 0}));
        QVERIFY(limiter.enqueue({clock.nowNs() + 50 * kMs, [&](bool g) { results.append(g ? 2 : -2); }, 0}));
        clock.advanceMs(49);
        limiter.pump();
        QVERIFY(results.isEmpty());
        clock.advanceMs(1);
        limiter.pump();
        QCOMPARE(results, QList<int>{-2});
        clock.advanceMs(950);
        limiter.pump();
        QCOMPARE(results, (QList<int>{-2, 1}));

        const auto snap = registry.capture();
        QCOMPARE(
            snap->find(QStringLiteral("ratelimit_rejected"), hostLabels(QStringLiteral("timeout")))->total,
            quint64(1));
        QCOMPARE(snap->find(QStringLiteral("ratelimit_granted"), hostLabels())->total, quint64(2));
    }

    void queueTimeoutCapsWaiting()
    {
        ManualClock clock;
        RateLimiterOptions o = rate(10, 1);
        o.queueTimeoutMs = 300;
        RateLimiter limiter(QStringLiteral("h"), o, nullptr, &clock);
        drain(limiter);
        limiter.onResponse(429, kMs, qint64(10000));
        bool called = false, result = true;
        QVERIFY(limiter.enqueue({0,
                                 [&](bool g) {
                                     called = true;
                                     result = g;
                                 },
                                 0}));
        clock.advanceMs(299);
        limiter.pump();
        QVERIFY(!called);
        clock.advanceMs(1);
        limiter.pump();
        QVERIFY(called);
        QVERIFY(!result);
    }

    void retryAfterHoldsTheQueue()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 5), nullptr, &clock);
        limiter.onResponse(429, kMs, qint64(1000));
        int granted = 0;
        for (int i = 0; i < 2; ++i)
            QVERIFY(limiter.enqueue({0, [&](bool g) { granted += g ? 1 : 0; }, 0}));
        clock.advanceMs(999);
        limiter.pump();
        QCOMPARE(granted, 0);
        clock.advanceMs(1);
        limiter.pump();
        QCOMPARE(granted, 1);
        clock.advanceMs(100);
        limiter.pump();
        QCOMPARE(granted, 2);
    }

    void cancelRemovesWithoutCallback()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 1), nullptr, &clock);
        drain(limiter);
        QList<int> order;
        QVERIFY(limiter.enqueue({0, [&](bool) { order.append(1); }, 11}));
        QVERIFY(limiter.enqueue({0, [&](bool) { order.append(2); }, 12}));
        QVERIFY(limiter.cancel(11));
        QVERIFY(!limiter.cancel(11));
        QVERIFY(!limiter.cancel(0));
        clock.advanceMs(100);
        limiter.pump();
        QCOMPARE(order, QList<int>{2});
    }

    void callbackMayReenter()
    {
        ManualClock clock;
        RateLimiter limiter(QStringLiteral("h"), rate(10, 1), nullptr, &clock);
        drain(limiter);
        int second = 0;
        QVERIFY(limiter.enqueue({0,
                                 [&](bool) {
                                     QVERIFY(limiter.tryAcquire() > 0);
                                     QVERIFY(limiter.enqueue({0, [&](bool g) { second = g ? 1 : -1; }, 0}));
                                 },
                                 0}));
        clock.advanceMs(100);
        limiter.pump();
        QCOMPARE(limiter.queueDepth(), 1);
        clock.advanceMs(100);
        limiter.pump();
        QCOMPARE(second, 1);
    }

    void metricsArePublished()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        RateLimiterOptions o = adaptiveRate(20, 20);
        RateLimiter limiter(QStringLiteral("example.org"), o, &registry, &clock);
        QCOMPARE(drain(limiter), 20);
        limiter.onResponse(429, kMs, std::nullopt);
        const auto snap = registry.capture();
        QCOMPARE(snap->find(QStringLiteral("ratelimit_rate"), hostLabels())->value, 10.0);
        QCOMPARE(snap->find(QStringLiteral("ratelimit_granted"), hostLabels())->total, quint64(20));
        QCOMPARE(snap->find(QStringLiteral("ratelimit_decreases"), hostLabels())->total, quint64(1));
        QCOMPARE(snap->find(QStringLiteral("ratelimit_increases"), hostLabels())->total, quint64(0));
    }

    void timerGrantsQueuedWaiterWithRealClock()
    {
        RateLimiter limiter(QStringLiteral("h"), rate(20, 1)); // a token every 50 ms
        QElapsedTimer elapsed;
        elapsed.start();
        QCOMPARE(limiter.tryAcquire(), qint64(0));
        bool granted = false;
        qint64 grantedAfterMs = -1;
        QVERIFY(limiter.enqueue({0,
                                 [&](bool g) {
                                     granted = g;
                                     grantedAfterMs = elapsed.elapsed();
                                 },
                                 0}));
        QTRY_VERIFY_WITH_TIMEOUT(granted, 2000);
        QVERIFY2(grantedAfterMs >= 49, qPrintable(QString::number(grantedAfterMs)));
        QCOMPARE(limiter.queueDepth(), 0);
    }

    void enqueueFromAnotherThreadArmsTheTimer()
    {
        RateLimiter limiter(QStringLiteral("h"), rate(20, 1));
        QCOMPARE(limiter.tryAcquire(), qint64(0));
        std::atomic<bool> granted{false};
        std::unique_ptr<QThread> worker(QThread::create([&] {
            limiter.enqueue({0, [&](bool g) { granted = g; }, 0});
        }));
        worker->start();
        QVERIFY(worker->wait(5000));
        QTRY_VERIFY_WITH_TIMEOUT(granted.load(), 2000);
    }
};

QTEST_GUILESS_MAIN(TestRateLimiter)
#include "tst_ratelimiter.moc"
