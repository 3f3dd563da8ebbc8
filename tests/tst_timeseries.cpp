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
        QTest::addColumn<bool>("preallocated");
        for (const bool pre : {false, true}) {
            const char *suffix = pre ? "/preallocated" : "/on-demand";
            const auto row = [&](const char *name) -> QTestData & {
                return QTest::newRow(QByteArray(QByteArray(name) + suffix).constData());
            };
            row("under") << 100 << 50 << pre;
            row("exact") << 64 << 64 << pre;
            row("one-over") << 64 << 65 << pre;
            row("many-chunks") << 3600 << 10000 << pre;
            row("odd-capacity") << 7 << 1000 << pre;
            row("capacity-one") << 1 << 5 << pre;
        }
    }

    void wrapAroundKeepsNewest()
    {
        QFETCH(int, capacity);
        QFETCH(int, appended);
        QFETCH(bool, preallocated);
        TimeSeries s(capacity, preallocated ? TimeSeries::Storage::Preallocated : TimeSeries::Storage::OnDemand);
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

    void preallocatedMemoryIsFixedFromTheFirstPoint()
    {
        // 3600 points span at most 58 chunks of 64 (57 full ones plus a partial one at
        // each end): all of them exist after the first append, and appending an hour and
        // more of points, with and without a snapshot holding the series, never grows that.
        TimeSeries s(3600, TimeSeries::Storage::Preallocated);
        QCOMPARE(s.allocatedPoints(), 0); // nothing until the metric is used
        s.append(0, 0);
        const int reserved = s.allocatedPoints();
        QCOMPARE(reserved, (3600 / TimeSeries::kChunk + 2) * TimeSeries::kChunk);
        int maxSeen = reserved;
        for (int i = 1; i < 10000; ++i) {
            s.append(i, i);
            maxSeen = std::max(maxSeen, s.allocatedPoints());
        }
        QCOMPARE(maxSeen, reserved);
        QCOMPARE(s.size(), 3600);
        QCOMPARE(s.at(0).tMs, qint64(6400));

        TimeSeries onDemand(3600);
        onDemand.append(0, 0);
        QCOMPARE(onDemand.allocatedPoints(), TimeSeries::kChunk);
        QCOMPARE(onDemand.spareChunks(), 0);
    }

    void preallocatedCopiesShareNoSpareChunks()
    {
        TimeSeries s(200, TimeSeries::Storage::Preallocated);
        for (int i = 0; i < 100; ++i)
            s.append(i, i);
        QVERIFY(s.spareChunks() > 0);
        TimeSeries copy = s;
        QCOMPARE(copy.spareChunks(), 0);
        // Both sides append past the shared partial chunk: neither sees the other's points.
        for (int i = 100; i < 400; ++i) {
            s.append(i, i);
            copy.append(i, -i);
        }
        for (int i = 0; i < 200; ++i) {
            QCOMPARE(s.at(i).value, double(200 + i));
            QCOMPARE(copy.at(i).value, -double(200 + i));
        }
        TimeSeries assigned(5);
        assigned = s;
        QCOMPARE(assigned.spareChunks(), 0);
        QCOMPARE(assigned.size(), 200);
        QCOMPARE(assigned.capacity(), 200);
    }

    void chunksHeldBySnapshotsAreNotReused()
    {
        // A snapshot's points stay intact while the live series rotates past them.
        TimeSeries s(64, TimeSeries::Storage::Preallocated);
        for (int i = 0; i < 64; ++i)
            s.append(i, i);
        const TimeSeries frozen = s;
        for (int i = 64; i < 1000; ++i)
            s.append(i, i);
        QCOMPARE(frozen.size(), 64);
        for (int i = 0; i < 64; ++i)
            QCOMPARE(frozen.at(i).value, double(i));
        QCOMPARE(s.at(0).value, 936.0);

        // clear() keeps the storage for reuse: no allocation after a reset.
        const int before = s.allocatedPoints();
        s.clear();
        QVERIFY(s.isEmpty());
        QCOMPARE(s.allocatedPoints(), before);
        s.append(5000, 1);
        QCOMPARE(s.allocatedPoints(), before);
        QCOMPARE(s.last().tMs, qint64(5000));
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
