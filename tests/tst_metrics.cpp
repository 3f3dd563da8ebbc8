#include "metrics.h"

#include <QtTest>

using namespace vega;

class TestMetrics : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sameNameAndLabelsIsSameMetric()
    {
        MetricsRegistry r;
        Counter *a = r.counter(QStringLiteral("requests"), {{QStringLiteral("host"), QStringLiteral("x")}});
        Counter *b = r.counter(QStringLiteral("requests"), {{QStringLiteral("host"), QStringLiteral("x")}});
        Counter *c = r.counter(QStringLiteral("requests"), {{QStringLiteral("host"), QStringLiteral("y")}});
        QCOMPARE(a, b);
        QVERIFY(a != c);
        // Label order does not matter.
        Gauge *g1 = r.gauge(QStringLiteral("g"), {{QStringLiteral("a"), QStringLiteral("1")}, {QStringLiteral("b"), QStringLiteral("2")}});
        Gauge *g2 = r.gauge(QStringLiteral("g"), {{QStringLiteral("b"), QStringLiteral("2")}, {QStringLiteral("a"), QStringLiteral("1")}});
        QCOMPARE(g1, g2);
        QCOMPARE(r.metricCount(), 3);
    }

    void counterRatesFromManualClock()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        Counter *c = r.counter(QStringLiteral("requests"));
        r.capture();
        c->inc(50);
        clock.advanceMs(500);
        auto snap = r.capture();
        const MetricSnapshot *m = snap->find(QStringLiteral("requests"));
        QVERIFY(m);
        QCOMPARE(m->total, quint64(50));
        QCOMPARE(m->rate, 100.0);
        QCOMPARE(m->seriesFor(SeriesField::Rate).size(), 2);
        QCOMPARE(m->seriesFor(SeriesField::Rate).last().value, 100.0);
    }

    void resetKeepsExportedCountersMonotonic()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        Counter *c = r.counter(QStringLiteral("requests"));
        Histogram *h = r.histogram(QStringLiteral("latency"));
        c->inc(10);
        h->record(5000);
        r.resetStats(QStringLiteral("test"));
        c->inc(3);
        clock.advanceMs(1000);
        auto snap = r.capture();
        const MetricSnapshot *m = snap->find(QStringLiteral("requests"));
        QCOMPARE(m->total, quint64(13));
        QCOMPARE(m->sinceReset, quint64(3));
        const MetricSnapshot *lat = snap->find(QStringLiteral("latency"));
        QCOMPARE(lat->summary.count, quint64(0));
        QCOMPARE(lat->cumulative->count, quint64(1));
        QCOMPARE(snap->resetCount, 1);
        QVERIFY(snap->lastResetWallMs > 0);
        // The reset is an event that charts can annotate.
        QCOMPARE(snap->events.size(), 1);
        QCOMPARE(snap->events.first().kind, QStringLiteral("reset"));
    }

    void histogramIntervalSeries()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        Histogram *h = r.histogram(QStringLiteral("lag"), {{QStringLiteral("thread"), QStringLiteral("gui")}});
        for (int i = 1; i <= 100; ++i)
            h->record(i * 1000000);
        clock.advanceMs(1000);
        auto first = r.capture();
        for (int i = 0; i < 10; ++i)
            h->record(7000000);
        clock.advanceMs(1000);
        auto second = r.capture();
        const auto *m1 = first->find(QStringLiteral("lag"), {{QStringLiteral("thread"), QStringLiteral("gui")}});
        const auto *m2 = second->find(QStringLiteral("lag"), {{QStringLiteral("thread"), QStringLiteral("gui")}});
        QVERIFY(m1 && m2);
        QVERIFY(std::abs(m1->interval.p50 - 50e6) / 50e6 < 0.01);
        // Second interval holds only the ten 7 ms samples.
        QCOMPARE(m2->interval.count, quint64(10));
        QVERIFY(std::abs(m2->interval.p99 - 7e6) / 7e6 < 0.01);
        QCOMPARE(m2->seriesFor(SeriesField::P99).size(), 2);
        QCOMPARE(m2->rate, 10.0);
        // The first snapshot is immutable: later captures did not change it.
        QCOMPARE(m1->seriesFor(SeriesField::P99).size(), 1);
        QCOMPARE(m2->summary.count, quint64(110));
    }

    void emptyIntervalLeavesGapNotZero()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        r.histogram(QStringLiteral("lag"));
        clock.advanceMs(1000);
        auto snap = r.capture();
        const auto *m = snap->find(QStringLiteral("lag"));
        QCOMPARE(m->seriesFor(SeriesField::P50).size(), 0);
        QCOMPARE(m->seriesFor(SeriesField::Rate).size(), 1);
    }

    void seriesBoundedByCapacity()
    {
        ManualClock clock;
        MetricsRegistry r(&clock, 60);
        Gauge *g = r.gauge(QStringLiteral("temp"));
        for (int i = 0; i < 200; ++i) {
            g->set(i);
            clock.advanceMs(1000);
            r.capture();
        }
        auto snap = r.capture();
        const auto &series = snap->find(QStringLiteral("temp"))->seriesFor(SeriesField::Value);
        QCOMPARE(series.size(), 60);
        QCOMPARE(series.last().value, 199.0);
    }

    void wallTimeFollowsInjectedClock()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        const qint64 before = r.wallNowMs();
        clock.advanceMs(60000);
        QCOMPARE(r.wallNowMs() - before, qint64(60000));
    }

    void findAllByName()
    {
        MetricsRegistry r;
        r.gauge(QStringLiteral("net"), {{QStringLiteral("interface"), QStringLiteral("lo")}});
        r.gauge(QStringLiteral("net"), {{QStringLiteral("interface"), QStringLiteral("eth0")}});
        r.gauge(QStringLiteral("other"));
        auto snap = r.capture();
        QCOMPARE(snap->findAll(QStringLiteral("net")).size(), 2);
        QVERIFY(!snap->find(QStringLiteral("missing")));
    }

    void eventsBounded()
    {
        MetricsRegistry r;
        for (int i = 0; i < 1000; ++i)
            r.recordEvent(QStringLiteral("stall"), QStringLiteral("test"), QString::number(i));
        auto snap = r.capture();
        QCOMPARE(snap->events.size(), 500);
        QCOMPARE(snap->events.last().message, QStringLiteral("999"));
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
