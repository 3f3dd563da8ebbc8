// The y axis ranges the charts choose.
#include "niceaxis.h"

#include <QtTest>

using vega::ui::NiceRange;
using vega::ui::niceRange;

class TestUiNiceAxis : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void ranges_data()
    {
        QTest::addColumn<double>("lo");
        QTest::addColumn<double>("hi");
        QTest::addColumn<double>("min");
        QTest::addColumn<double>("max");
        QTest::addColumn<int>("ticks");
        QTest::newRow("percent") << 0.0 << 105.0 << 0.0 << 120.0 << 7;
        QTest::newRow("mib") << 0.0 << 49.35 << 0.0 << 50.0 << 6;
        QTest::newRow("small-ms") << 0.0 << 1.05 << 0.0 << 1.2 << 7;
        QTest::newRow("exact") << 0.0 << 100.0 << 0.0 << 100.0 << 5;
        QTest::newRow("negative") << -3.0 << 7.0 << -4.0 << 8.0 << 7;
        QTest::newRow("flat-zero") << 0.0 << 0.0 << 0.0 << 1.0 << 5;
    }

    void ranges()
    {
        QFETCH(double, lo);
        QFETCH(double, hi);
        QFETCH(double, min);
        QFETCH(double, max);
        QFETCH(int, ticks);
        const NiceRange r = niceRange(lo, hi);
        QCOMPARE(r.min, min);
        QCOMPARE(r.max, max);
        QCOMPARE(r.tickCount, ticks);
        QVERIFY(r.min <= lo && r.max >= hi);
    }
};

QTEST_MAIN(TestUiNiceAxis)
#include "tst_ui_niceaxis.moc"
