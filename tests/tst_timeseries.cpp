#include "timeseries.h"

#include <QtTest>

using vega::TimeSeries;

class TestTimeSeries : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void appendAndRead()
    {
        TimeSeries s(10);
        QVERIFY(s.isEmpty());
        for (int i = 0; i < 5; ++i)
            s.append(1000 + i, i * 1.5);
        QCOMPARE(s.size(), 5);
        QCOMPARE(s.at(0).tMs, qint64(1000));
        QCOMPARE(s.last().value, 6.0);
    }

    void wrapAroundKeepsNewest_data()
    {
        QTest::addColumn<int>("capacity");
        QTest::addColumn<int>("appended");
        QTest::newRow("under") << 100 << 50;
        QTest::newRow("exact") << 64 << 64;
        QTest::newRow("one-over") << 64 << 65;
        QTest::newRow("many-chunks") << 3600 << 10000;
        QTest::newRow("odd-capacity") << 7 << 1000;
        QTest::newRow("capacity-one") << 1 << 5;
    }

    void wrapAroundKeepsNewest()
    {
        QFETCH(int, capacity);
        QFETCH(int, appended);
        TimeSeries s(capacity);
        for (int i = 0; i < appended; ++i)
            s.append(i, double(i));
        const int expected = std::min(capacity, appended);
        QCOMPARE(s.size(), expected);
        const auto points = s.points();
        QCOMPARE(points.size(), expected);
        for (int i = 0; i < expected; ++i) {
            const int v = appended - expected + i;
            QCOMPARE(points.at(i).tMs, qint64(v));
            QCOMPARE(s.at(i).value, double(v));
        }
    }

    void copiesAreIndependentSnapshots()
    {
        TimeSeries s(100);
        for (int i = 0; i < 70; ++i)
            s.append(i, i);
        const TimeSeries frozen = s; // what a snapshot holds
        for (int i = 70; i < 300; ++i)
            s.append(i, i);
        QCOMPARE(frozen.size(), 70);
        QCOMPARE(frozen.last().tMs, qint64(69));
        QCOMPARE(frozen.at(0).tMs, qint64(0));
        QCOMPARE(s.size(), 100);
        QCOMPARE(s.at(0).tMs, qint64(200));
    }

    void pointsSinceUsesTime()
    {
        TimeSeries s(1000);
        for (int i = 0; i < 500; ++i)
            s.append(qint64(i) * 1000, i);
        const auto recent = s.pointsSince(490000);
        QCOMPARE(recent.size(), 10);
        QCOMPARE(recent.first().tMs, qint64(490000));
        QVERIFY(s.pointsSince(10000000).isEmpty());
        QCOMPARE(s.pointsSince(-1).size(), 500);
    }

    void outOfRangeAtIsEmptyPoint()
    {
        TimeSeries s(4);
        QCOMPARE(s.at(0).tMs, qint64(0));
        s.append(5, 1);
        QCOMPARE(s.at(3).tMs, qint64(0));
        QCOMPARE(s.at(-1).tMs, qint64(0));
    }
};

QTEST_GUILESS_MAIN(TestTimeSeries)
#include "tst_timeseries.moc"
