#include "metrics.h"
#include "retrypolicy.h"

#include <QtTest>

#include <limits>

using namespace vega;

namespace {
using Kind = AttemptResult::Kind;

qint64 utcMs(int y, int mo, int d, int h, int mi, int s)
{
    return QDateTime(QDate(y, mo, d), QTime(h, mi, s), Qt::UTC).toMSecsSinceEpoch();
}

RetryOptions noFloor()
{
    RetryOptions o;
    o.minRetriesPerSecond = 0;
    return o;
}

quint64 counterTotal(MetricsRegistry &registry, const QString &name)
{
    const auto snap = registry.capture();
    const MetricSnapshot *m = snap->find(name, {{QStringLiteral("policy"), QStringLiteral("api")}});
    return m ? m->total : quint64(-1);
}
} // namespace

class TestRetryPolicy : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void fullJitterBackoff_data()
    {
        QTest::addColumn<int>("retryNumber");
        QTest::addColumn<qint64>("bound");
        QTest::newRow("0") << 0 << qint64(100);
        QTest::newRow("1") << 1 << qint64(200);
        QTest::newRow("2") << 2 << qint64(400);
        QTest::newRow("3") << 3 << qint64(800);
        QTest::newRow("4") << 4 << qint64(1600);
        QTest::newRow("5") << 5 << qint64(3200);
        QTest::newRow("6 capped") << 6 << qint64(5000);
        QTest::newRow("10 capped") << 10 << qint64(5000);
        QTest::newRow("62 capped") << 62 << qint64(5000);
        QTest::newRow("1000 capped") << 1000 << qint64(5000);
    }

    void fullJitterBackoff()
    {
        QFETCH(int, retryNumber);
        QFETCH(qint64, bound);
        RetryPolicy policy(QStringLiteral("api"));
        std::mt19937_64 rng(12345);
        constexpr int kDraws = 10000;
        double sum = 0;
        qint64 lo = std::numeric_limits<qint64>::max(), hi = -1;
        for (int i = 0; i < kDraws; ++i) {
            const qint64 v = policy.backoffMs(retryNumber, rng);
            QVERIFY2(v >= 0 && v <= bound, qPrintable(QString::number(v)));
            sum += double(v);
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        const double mean = sum / kDraws;
        QVERIFY2(std::abs(mean - bound / 2.0) <= 0.05 * bound / 2.0, qPrintable(QString::number(mean)));
        // Full jitter really spans the whole range, down to (almost) no wait.
        QVERIFY(lo <= bound / 50);
        QVERIFY(hi >= bound - bound / 50);
    }

    void backoffIsDeterministicForASeed()
    {
        RetryPolicy policy(QStringLiteral("api"));
        std::mt19937_64 a(99), b(99);
        for (int i = 0; i < 100; ++i)
            QCOMPARE(policy.backoffMs(i % 8, a), policy.backoffMs(i % 8, b));
    }

    void budgetAllowsRatioOfRequests()
    {
        ManualClock clock;
        RetryBudget budget(QStringLiteral("api"), noFloor(), nullptr, &clock);
        for (int i = 0; i < 100; ++i)
            budget.recordRequest();
        QCOMPARE(budget.remaining(), 20);
        int granted = 0;
        for (int i = 0; i < 50; ++i)
            granted += budget.tryAcquireRetry() ? 1 : 0;
        QCOMPARE(granted, 20);
        QCOMPARE(budget.retriesGranted(), quint64(20));
        QCOMPARE(budget.exhaustions(), quint64(30));
        QCOMPARE(budget.remaining(), 0);
    }

    void budgetFloorLetsQuietCallersRetry()
    {
        ManualClock clock;
        RetryBudget budget(QStringLiteral("api"), RetryOptions{}, nullptr, &clock); // 3/s over 10 s
        for (int i = 0; i < 5; ++i)
            budget.recordRequest();
        int granted = 0;
        for (int i = 0; i < 100; ++i)
            granted += budget.tryAcquireRetry() ? 1 : 0;
        QCOMPARE(granted, 30);

        // With more traffic the ratio wins over the floor.
        RetryBudget busy(QStringLiteral("busy"), RetryOptions{}, nullptr, &clock);
        for (int i = 0; i < 1000; ++i)
            busy.recordRequest();
        QCOMPARE(busy.remaining(), 200);
    }

    void budgetWindowSlides()
    {
        ManualClock clock;
        RetryBudget budget(QStringLiteral("api"), noFloor(), nullptr, &clock);
        for (int i = 0; i < 100; ++i)
            budget.recordRequest();
        for (int i = 0; i < 20; ++i)
            QVERIFY(budget.tryAcquireRetry());
        QVERIFY(!budget.tryAcquireRetry());

        clock.advanceMs(5000);
        for (int i = 0; i < 100; ++i)
            budget.recordRequest();
        QCOMPARE(budget.requestsInWindow(), 200);
        for (int i = 0; i < 20; ++i)
            QVERIFY(budget.tryAcquireRetry());
        QVERIFY(!budget.tryAcquireRetry());

        clock.advanceMs(4999);
        QCOMPARE(budget.requestsInWindow(), 200); // the first second is still in the window
        clock.advanceMs(1);
        QCOMPARE(budget.requestsInWindow(), 100);
        QCOMPARE(budget.retriesInWindow(), 20);
        QVERIFY(!budget.tryAcquireRetry()); // the newer half's retries used its share

        clock.advanceMs(5000);
        QCOMPARE(budget.requestsInWindow(), 0);
        QCOMPARE(budget.retriesInWindow(), 0);
        for (int i = 0; i < 5; ++i)
            budget.recordRequest();
        QVERIFY(budget.tryAcquireRetry()); // 20% of 5
        QVERIFY(!budget.tryAcquireRetry());
    }

    void isRetryable_data()
    {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<bool>("optIn");
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("status");
        QTest::addColumn<bool>("expected");
        const int response = int(Kind::Response);
        QTest::newRow("GET 503") << QByteArray("GET") << false << response << 503 << true;
        QTest::newRow("GET 502") << QByteArray("GET") << false << response << 502 << true;
        QTest::newRow("GET 504") << QByteArray("GET") << false << response << 504 << true;
        QTest::newRow("GET 500") << QByteArray("GET") << false << response << 500 << false;
        QTest::newRow("GET 501") << QByteArray("GET") << false << response << 501 << false;
        QTest::newRow("GET 200") << QByteArray("GET") << false << response << 200 << false;
        QTest::newRow("GET 304") << QByteArray("GET") << false << response << 304 << false;
        QTest::newRow("GET 400") << QByteArray("GET") << false << response << 400 << false;
        QTest::newRow("GET 401") << QByteArray("GET") << false << response << 401 << false;
        QTest::newRow("GET 404") << QByteArray("GET") << false << response << 404 << false;
        QTest::newRow("GET 408") << QByteArray("GET") << false << response << 408 << true;
        QTest::newRow("GET 429") << QByteArray("GET") << false << response << 429 << true;
        QTest::newRow("HEAD 503") << QByteArray("HEAD") << false << response << 503 << true;
        QTest::newRow("OPTIONS 503") << QByteArray("OPTIONS") << false << response << 503 << true;
        QTest::newRow("PUT 503") << QByteArray("PUT") << false << response << 503 << true;
        QTest::newRow("DELETE 503") << QByteArray("DELETE") << false << response << 503 << true;
        QTest::newRow("POST 503") << QByteArray("POST") << false << response << 503 << false;
        QTest::newRow("POST 503 opt-in") << QByteArray("POST") << true << response << 503 << true;
        QTest::newRow("PATCH timeout") << QByteArray("PATCH") << false << int(Kind::Timeout) << 0 << false;
        QTest::newRow("PATCH timeout opt-in")
            << QByteArray("PATCH") << true << int(Kind::Timeout) << 0 << true;
        QTest::newRow("lowercase get") << QByteArray("get") << false << response << 503 << false;
        QTest::newRow("GET timeout") << QByteArray("GET") << false << int(Kind::Timeout) << 0 << true;
        QTest::newRow("GET connection error")
            << QByteArray("GET") << false << int(Kind::ConnectionError) << 0 << true;
        QTest::newRow("POST connection error")
            << QByteArray("POST") << false << int(Kind::ConnectionError) << 0 << false;
        QTest::newRow("POST connect failed")
            << QByteArray("POST") << false << int(Kind::ConnectFailed) << 0 << true;
        QTest::newRow("GET circuit open")
            << QByteArray("GET") << false << int(Kind::CircuitOpen) << 0 << false;
        QTest::newRow("GET rate limited")
            << QByteArray("GET") << true << int(Kind::RateLimited) << 0 << false;
        QTest::newRow("GET cancelled") << QByteArray("GET") << false << int(Kind::Cancelled) << 0 << false;
    }

    void isRetryable()
    {
        QFETCH(QByteArray, method);
        QFETCH(bool, optIn);
        QFETCH(int, kind);
        QFETCH(int, status);
        QFETCH(bool, expected);
        RetryPolicy policy(QStringLiteral("api"));
        QCOMPARE(policy.isRetryable(method, optIn, AttemptResult{Kind(kind), status}), expected);
    }

    void retryableListIsConfigurable()
    {
        RetryOptions o;
        o.retryableStatuses = {500};
        o.retryTimeouts = false;
        RetryPolicy policy(QStringLiteral("api"), o);
        QVERIFY(policy.isRetryable("GET", false, AttemptResult::response(500)));
        QVERIFY(!policy.isRetryable("GET", false, AttemptResult::response(503)));
        QVERIFY(!policy.isRetryable("GET", false, AttemptResult::of(Kind::Timeout)));
    }

    void decideCountsAttemptsAndGivesUp()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        RetryPolicy policy(QStringLiteral("api"), RetryOptions{}, &registry, &clock);
        std::mt19937_64 rng(1);
        policy.recordRequest();

        auto d = policy.decide(1, "GET", false, AttemptResult::response(503), std::nullopt, rng);
        QVERIFY(d.retry);
        QVERIFY(d.delayMs >= 0 && d.delayMs <= 100);
        d = policy.decide(2, "GET", false, AttemptResult::response(503), std::nullopt, rng);
        QVERIFY(d.retry);
        QVERIFY(d.delayMs >= 0 && d.delayMs <= 200);
        d = policy.decide(3, "GET", false, AttemptResult::response(503), std::nullopt, rng);
        QVERIFY(!d.retry);
        QCOMPARE(d.reason, QStringLiteral("attempts exhausted (3 of 3)"));

        // Not retryable is not "giving up".
        d = policy.decide(1, "GET", false, AttemptResult::response(404), std::nullopt, rng);
        QVERIFY(!d.retry);

        QCOMPARE(counterTotal(registry, QStringLiteral("retry_attempts")), quint64(2));
        QCOMPARE(counterTotal(registry, QStringLiteral("retry_gave_up")), quint64(1));
        QCOMPARE(counterTotal(registry, QStringLiteral("retry_budget_exhausted")), quint64(0));
    }

    void decideHonoursRetryAfter()
    {
        ManualClock clock;
        RetryPolicy policy(QStringLiteral("api"), RetryOptions{}, nullptr, &clock);
        std::mt19937_64 rng(1);
        auto d = policy.decide(1, "GET", false, AttemptResult::response(429), qint64(2000), rng);
        QVERIFY(d.retry);
        QCOMPARE(d.delayMs, qint64(2000)); // longer than any first backoff (≤ 100 ms)
        d = policy.decide(1, "GET", false, AttemptResult::response(429), qint64(60000), rng);
        QVERIFY(!d.retry);
        QVERIFY(d.reason.contains(QStringLiteral("Retry-After")));
    }

    void decideStopsWhenBudgetIsSpent()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        RetryPolicy policy(QStringLiteral("api"), noFloor(), &registry, &clock);
        std::mt19937_64 rng(1);
        for (int i = 0; i < 10; ++i)
            policy.recordRequest();
        QVERIFY(policy.decide(1, "GET", false, AttemptResult::of(Kind::Timeout), std::nullopt, rng).retry);
        QVERIFY(policy.decide(1, "GET", false, AttemptResult::of(Kind::Timeout), std::nullopt, rng).retry);
        const auto d = policy.decide(1, "GET", false, AttemptResult::of(Kind::Timeout), std::nullopt, rng);
        QVERIFY(!d.retry);
        QCOMPARE(d.reason, QStringLiteral("retry budget exhausted"));
        QCOMPARE(counterTotal(registry, QStringLiteral("retry_attempts")), quint64(2));
        QCOMPARE(counterTotal(registry, QStringLiteral("retry_budget_exhausted")), quint64(1));
        QCOMPARE(counterTotal(registry, QStringLiteral("retry_gave_up")), quint64(1));
    }

    void parseRetryAfter_data()
    {
        QTest::addColumn<QByteArray>("value");
        QTest::addColumn<qint64>("now");
        QTest::addColumn<bool>("valid");
        QTest::addColumn<qint64>("expected");
        const qint64 now = utcMs(1994, 11, 6, 8, 49, 7); // 30 s before the RFC's example date
        QTest::newRow("seconds") << QByteArray("120") << now << true << qint64(120000);
        QTest::newRow("zero") << QByteArray("0") << now << true << qint64(0);
        QTest::newRow("whitespace") << QByteArray(" 5\t") << now << true << qint64(5000);
        QTest::newRow("leading zeros") << QByteArray("007") << now << true << qint64(7000);
        QTest::newRow("huge saturates") << QByteArray("99999999999999999999999999") << now << true
                                        << qint64(std::numeric_limits<qint64>::max() / 1000 * 1000);
        QTest::newRow("negative") << QByteArray("-5") << now << false << qint64(0);
        QTest::newRow("plus sign") << QByteArray("+5") << now << false << qint64(0);
        QTest::newRow("fraction") << QByteArray("1.5") << now << false << qint64(0);
        QTest::newRow("empty") << QByteArray("") << now << false << qint64(0);
        QTest::newRow("garbage") << QByteArray("soon") << now << false << qint64(0);
        QTest::newRow("imf-fixdate") << QByteArray("Sun, 06 Nov 1994 08:49:37 GMT") << now << true
                                     << qint64(30000);
        QTest::newRow("rfc850") << QByteArray("Sunday, 06-Nov-94 08:49:37 GMT") << now << true
                                << qint64(30000);
        QTest::newRow("asctime") << QByteArray("Sun Nov  6 08:49:37 1994") << now << true << qint64(30000);
        QTest::newRow("date in the past")
            << QByteArray("Sun, 06 Nov 1994 08:48:37 GMT") << now << true << qint64(0);
        QTest::newRow("rfc850 two-digit year ahead")
            << QByteArray("Friday, 01-Jan-27 00:00:00 GMT") << utcMs(2026, 1, 1, 0, 0, 0) << true
            << qint64(365) * 24 * 3600 * 1000;
        QTest::newRow("rfc850 year over 50 ahead is past") << QByteArray("Sunday, 06-Nov-94 08:49:37 GMT")
                                                           << utcMs(2026, 1, 1, 0, 0, 0) << true << qint64(0);
        QTest::newRow("not GMT") << QByteArray("Sun, 06 Nov 1994 08:49:37 PST") << now << false << qint64(0);
        QTest::newRow("bad day of month")
            << QByteArray("Sun, 31 Feb 1994 08:49:37 GMT") << now << false << qint64(0);
        QTest::newRow("bad hour") << QByteArray("Sun, 06 Nov 1994 25:49:37 GMT") << now << false << qint64(0);
        QTest::newRow("bad month") << QByteArray("Sun, 06 Foo 1994 08:49:37 GMT") << now << false
                                   << qint64(0);
        QTest::newRow("iso 8601") << QByteArray("1994-11-06T08:49:37Z") << now << false << qint64(0);
    }

    void parseRetryAfter()
    {
        QFETCH(QByteArray, value);
        QFETCH(qint64, now);
        QFETCH(bool, valid);
        QFETCH(qint64, expected);
        const auto ms = RetryPolicy::parseRetryAfterMs(value, now);
        QCOMPARE(ms.has_value(), valid);
        if (valid)
            QCOMPARE(*ms, expected);
    }
};

QTEST_GUILESS_MAIN(TestRetryPolicy)
#include "tst_retrypolicy.moc"
