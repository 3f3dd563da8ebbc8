#include "histogram.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

using vega::Histogram;

namespace {
// Exact nearest-rank quantile, the definition the histogram approximates.
double exactQuantile(std::vector<qint64> values, double q)
{
    std::sort(values.begin(), values.end());
    const size_t rank = std::max<size_t>(1, size_t(std::ceil(q * double(values.size()))));
    return double(values[rank - 1]);
}
} // namespace

class TestHistogram : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bucketLayoutIsContiguous()
    {
        for (int i = 0; i + 1 < Histogram::bucketCount(); ++i)
            QCOMPARE(Histogram::bucketUpper(i), Histogram::bucketLower(i + 1));
        // Every value lands in the bucket whose bounds contain it.
        for (quint64 v : {0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 123456789ull, 1ull << 40}) {
            const int idx = Histogram::bucketIndex(v);
            QVERIFY(Histogram::bucketLower(idx) <= v);
            QVERIFY(v < Histogram::bucketUpper(idx));
        }
    }

    void bucketWidthWithinOnePercent()
    {
        for (int i = Histogram::kLinear; i < Histogram::bucketCount(); ++i) {
            const double lo = double(Histogram::bucketLower(i));
            const double hi = double(Histogram::bucketUpper(i));
            QVERIFY2((hi - lo) / lo <= 1.0 / 64 + 1e-12, qPrintable(QString::number(i)));
        }
    }

    void percentilesMatchExact_data()
    {
        QTest::addColumn<QString>("distribution");
        QTest::newRow("uniform") << QStringLiteral("uniform");
        QTest::newRow("lognormal") << QStringLiteral("lognormal");
        QTest::newRow("exponential") << QStringLiteral("exponential");
        QTest::newRow("bimodal") << QStringLiteral("bimodal");
    }

    void percentilesMatchExact()
    {
        QFETCH(QString, distribution);
        std::mt19937_64 rng(42);
        std::vector<qint64> values;
        const int n = 200000;
        values.reserve(n);
        std::uniform_int_distribution<qint64> uniform(1000, 50000000);
        std::lognormal_distribution<double> lognormal(13.0, 1.2);
        std::exponential_distribution<double> exponential(1.0 / 2e6);
        std::bernoulli_distribution coin(0.8);
        for (int i = 0; i < n; ++i) {
            qint64 v = 0;
            if (distribution == QLatin1String("uniform"))
                v = uniform(rng);
            else if (distribution == QLatin1String("lognormal"))
                v = qint64(lognormal(rng));
            else if (distribution == QLatin1String("exponential"))
                v = qint64(exponential(rng)) + 1;
            else
                v = coin(rng) ? 200000 + qint64(uniform(rng) % 1000) : 90000000 + qint64(uniform(rng) % 100000);
            values.push_back(v);
        }
        Histogram h;
        for (qint64 v : values)
            h.record(v);
        const auto s = h.cumulative().summary();
        QCOMPARE(s.count, quint64(n));
        QCOMPARE(s.min, *std::min_element(values.begin(), values.end()));
        QCOMPARE(s.max, *std::max_element(values.begin(), values.end()));
        double sum = 0;
        for (qint64 v : values)
            sum += double(v);
        QVERIFY(std::abs(s.mean - sum / n) / (sum / n) < 1e-9);
        const std::pair<double, double> checks[] = {{0.5, s.p50}, {0.9, s.p90}, {0.99, s.p99}, {0.999, s.p999}};
        for (const auto &[q, got] : checks) {
            const double exact = exactQuantile(values, q);
            const double err = std::abs(got - exact) / exact;
            QVERIFY2(err <= 0.01, qPrintable(QStringLiteral("q=%1 exact=%2 got=%3 err=%4")
                                                 .arg(q).arg(exact).arg(got).arg(err)));
        }
    }

    void smallValuesAreExact()
    {
        Histogram h;
        for (int v = 1; v <= 100; ++v)
            h.record(v);
        const auto s = h.cumulative().summary();
        QCOMPARE(s.p50, 50.0);
        QCOMPARE(s.p90, 90.0);
        QCOMPARE(s.p99, 99.0);
        QCOMPARE(s.min, qint64(1));
        QCOMPARE(s.max, qint64(100));
    }

    void emptyHistogramIsZero()
    {
        Histogram h;
        const auto s = h.cumulative().summary();
        QCOMPARE(s.count, quint64(0));
        QCOMPARE(s.p99, 0.0);
        QCOMPARE(s.max, qint64(0));
    }

    void resetViewKeepsCumulative()
    {
        Histogram h;
        for (int i = 0; i < 1000; ++i)
            h.record(5000000);
        h.resetView();
        QCOMPARE(h.sinceReset().count, quint64(0));
        for (int i = 0; i < 10; ++i)
            h.record(100);
        const auto shown = h.sinceReset().summary();
        QCOMPARE(shown.count, quint64(10));
        QCOMPARE(shown.max, qint64(100));
        QCOMPARE(shown.p99, 100.0);
        QCOMPARE(h.cumulative().count, quint64(1010));
        QCOMPARE(h.cumulative().max, qint64(5000000));
    }

    void intervalDifference()
    {
        Histogram h;
        for (int i = 0; i < 100; ++i)
            h.record(1000);
        const auto before = h.cumulative();
        for (int i = 0; i < 50; ++i)
            h.record(2000000);
        const auto interval = h.cumulative().minus(before);
        QCOMPARE(interval.count, quint64(50));
        const auto s = interval.summary();
        QVERIFY(std::abs(s.p50 - 2000000) / 2000000 < 0.01);
    }

    void negativeValuesClampToZero()
    {
        Histogram h;
        h.record(-5);
        QCOMPARE(h.cumulative().max, qint64(0));
        QCOMPARE(h.cumulative().count, quint64(1));
    }

    void concurrentRecordingLosesNothing()
    {
        Histogram h;
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&h, t] {
                for (int i = 0; i < 50000; ++i)
                    h.record(qint64(t * 1000 + i % 977));
            });
        for (auto &t : threads)
            t.join();
        QCOMPARE(h.cumulative().count, quint64(200000));
    }
};

QTEST_GUILESS_MAIN(TestHistogram)
#include "tst_histogram.moc"
