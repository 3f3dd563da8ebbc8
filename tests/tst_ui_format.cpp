// The formatters every page uses for values, units and times.
#include "format.h"

#include <QDateTime>
#include <QtTest>

#include <limits>

using namespace vega;
using namespace vega::ui;

class TestUiFormat : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void formatValue_data()
    {
        QTest::addColumn<double>("value");
        QTest::addColumn<int>("unit");
        QTest::addColumn<QString>("expected");
        QTest::newRow("ns-sub-ms") << 52000.0 << int(Unit::Nanoseconds) << QStringLiteral("0.05 ms");
        QTest::newRow("ns-ms") << 12345678.0 << int(Unit::Nanoseconds) << QStringLiteral("12.3 ms");
        QTest::newRow("ms-seconds") << 1250.0 << int(Unit::Milliseconds) << QStringLiteral("1.25 s");
        QTest::newRow("seconds-minutes") << 200.0 << int(Unit::Seconds) << QStringLiteral("3 min 20 s");
        QTest::newRow("seconds-hours") << 7500.0 << int(Unit::Seconds) << QStringLiteral("2 h 05 min");
        QTest::newRow("seconds-days") << 200000.0 << int(Unit::Seconds) << QStringLiteral("2 d 7 h");
        QTest::newRow("bytes-small") << 512.0 << int(Unit::Bytes) << QStringLiteral("512 B");
        QTest::newRow("bytes-kib") << 1536.0 << int(Unit::Bytes) << QStringLiteral("1.50 KiB");
        QTest::newRow("bytes-gib") << 3.5 * 1024 * 1024 * 1024 << int(Unit::Bytes)
                                   << QStringLiteral("3.50 GiB");
        QTest::newRow("rate") << 2048.0 << int(Unit::BytesPerSecond) << QStringLiteral("2.00 KiB/s");
        QTest::newRow("percent") << 12.345 << int(Unit::Percent) << QStringLiteral("12.3 %");
        QTest::newRow("ratio") << 0.256 << int(Unit::Ratio) << QStringLiteral("0.26");
        QTest::newRow("count") << 42.0 << int(Unit::None) << QStringLiteral("42");
        QTest::newRow("fraction") << 1.234 << int(Unit::None) << QStringLiteral("1.23");
        QTest::newRow("nan") << std::numeric_limits<double>::quiet_NaN() << int(Unit::Percent)
                             << QStringLiteral("—");
    }

    void formatValue()
    {
        QFETCH(double, value);
        QFETCH(int, unit);
        QFETCH(QString, expected);
        QCOMPARE(vega::ui::formatValue(value, Unit(unit)), expected);
    }

    void diagnosticValue()
    {
        DiagnosticValue v;
        v.number = 50;
        v.unit = Unit::Percent;
        QCOMPARE(formatDiagnosticValue(v), QStringLiteral("50.0 %"));
        v.available = false;
        QCOMPARE(formatDiagnosticValue(v), QStringLiteral("unavailable"));
        v.available = true;
        v.text = QStringLiteral("unlimited");
        QCOMPARE(formatDiagnosticValue(v), QStringLiteral("unlimited"));
    }

    void clockTime()
    {
        QCOMPARE(formatClockTime(0), missingValueText());
        const QDateTime local(QDate(2024, 5, 6), QTime(13, 4, 5));
        QCOMPARE(formatClockTime(local.toMSecsSinceEpoch()), QStringLiteral("13:04:05"));
    }
};

QTEST_MAIN(TestUiFormat)
#include "tst_ui_format.moc"
