// The Memory page against a real engine and a real tracked type.
#include "engine.h"
#include "liveobjects.h"
#include "memorymodels.h"
#include "memorymonitor.h"
#include "memorypage.h"
#include "stattile.h"
#include "timechart.h"

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QTreeView>
#include <QtTest>

#include <memory>
#include <vector>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 15000;

class Leaky : public vega::Tracked<Leaky> {
public:
    static const char *vegaTrackedName() { return "Leaky"; }
    int payload = 0;
};

TrackedTypeStatus typeStatus(const char *name, qint64 live, double slope = 0, Trend trend = Trend::Flat,
                             bool suspect = false)
{
    TrackedTypeStatus t;
    t.name = QString::fromLatin1(name);
    t.live = live;
    t.slopePerMinute = slope;
    t.confidence = 0.5;
    t.thresholdPerMinute = 10;
    t.trend = trend;
    t.suspect = suspect;
    return t;
}
} // namespace

class TestUiMemory : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pageShowsTrackedTypesAndProcessMemory()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        EngineConfig config;
        config.storage.enabled = false;
        EngineOptions options;
        options.dataDir = dir.path();
        Engine engine(config, options);

        MemoryPage page(&engine);
        QAbstractItemModelTester typeTester(page.typeModel(),
                                            QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester suspectTester(page.suspectModel(),
                                               QAbstractItemModelTester::FailureReportingMode::QtTest);
        connect(&engine, &Engine::snapshotAvailable, &page, &MemoryPage::setSnapshot);
        page.resize(1200, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        std::vector<std::unique_ptr<Leaky>> objects;
        for (int i = 0; i < 37; ++i)
            objects.push_back(std::make_unique<Leaky>());
        engine.memory()->sampleNow();
        engine.publishNow();

        const int row = page.typeModel()->rowOfKey(QStringLiteral("Leaky"));
        QVERIFY(row >= 0);
        QCOMPARE(page.typeModel()->index(row, TrackedTypeModel::TypeColumn).data().toString(),
                 QStringLiteral("Leaky"));
        QCOMPARE(page.typeModel()->index(row, TrackedTypeModel::LiveColumn).data(MemorySortRole).toLongLong(),
                 37);
        // One sample: no trend yet, and the table says so rather than showing a made-up slope.
        QCOMPARE(page.typeModel()->index(row, TrackedTypeModel::TrendColumn).data().toString(),
                 QStringLiteral("?"));

        // More objects: the same row, updated in place.
        for (int i = 0; i < 5; ++i)
            objects.push_back(std::make_unique<Leaky>());
        const int rowsBefore = page.typeModel()->rowCount();
        engine.memory()->sampleNow();
        engine.publishNow();
        QCOMPARE(page.typeModel()->rowOfKey(QStringLiteral("Leaky")), row);
        QCOMPARE(page.typeModel()->rowCount(), rowsBefore);
        QCOMPARE(page.typeModel()->index(row, TrackedTypeModel::LiveColumn).data(MemorySortRole).toLongLong(),
                 42);

        // Tiles: RSS as bytes (or the reason it is unavailable), the tracked types, no suspects.
        const QString rss = page.tile(QStringLiteral("rss"))->valueText();
        if (readProcessMemory().rssBytes) {
            QVERIFY2(rss.endsWith(QLatin1String("iB")), qPrintable(rss));
            QTRY_VERIFY_WITH_TIMEOUT(page.memoryChart()->pointCount(MemoryPage::RssSeries) > 0, kTimeoutMs);
        } else {
            QVERIFY(
                page.tile(QStringLiteral("rss"))->captionText().startsWith(QLatin1String("unavailable: ")));
        }
        QVERIFY(page.tile(QStringLiteral("types"))->valueText().toInt() >= 1);
        QCOMPARE(page.tile(QStringLiteral("suspects"))->valueText(), QStringLiteral("0"));
        QCOMPARE(page.suspectModel()->rowCount(), 0);
        QVERIFY(page.suspectHint()->text().startsWith(QLatin1String("No leak suspects")));

        // Sorted by live objects, largest first, through the proxy.
        auto *proxy = qobject_cast<QSortFilterProxyModel *>(page.typeView()->model());
        QVERIFY(proxy);
        for (int r = 1; r < proxy->rowCount(); ++r)
            QVERIFY(proxy->index(r - 1, TrackedTypeModel::LiveColumn).data(MemorySortRole).toLongLong() >=
                    proxy->index(r, TrackedTypeModel::LiveColumn).data(MemorySortRole).toLongLong());
    }

    void suspectsAndHint()
    {
        MemoryPage page(nullptr);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto snap = std::make_shared<Snapshot>();
        snap->metrics = std::make_shared<MetricsSnapshot>();
        snap->memory.sampleWallMs = 1700000000000;
        snap->memory.rss.available = false;
        snap->memory.rss.unavailableReason = QStringLiteral("no /proc on this platform");
        snap->memory.heap.available = true;
        snap->memory.heap.bytes = 3 * 1024 * 1024;
        snap->memory.heap.trend = Trend::Growing;
        snap->memory.heap.slopeBytesPerMinute = 2 * 1024 * 1024;
        snap->memory.heap.confidence = 0.97;
        snap->memory.types = {typeStatus("Cache.entry", 1200, 55, Trend::Growing, true),
                              typeStatus("Reply", 3)};
        LeakSuspect s;
        s.type = QStringLiteral("Cache.entry");
        s.growthPerMinute = 55;
        s.confidence = 0.96;
        s.firstSeenWallMs = 1700000000000 - 600000;
        s.current = 1200;
        snap->memory.suspects = {s};
        page.setSnapshot(snap);

        QCOMPARE(page.tile(QStringLiteral("rss"))->valueText(), QStringLiteral("unavailable"));
        QCOMPARE(page.tile(QStringLiteral("rss"))->captionText(),
                 QStringLiteral("unavailable: no /proc on this platform"));
        QCOMPARE(page.tile(QStringLiteral("heap"))->valueText(), QStringLiteral("3.00 MiB"));
        QVERIFY(page.tile(QStringLiteral("heap"))->captionText().contains(QStringLiteral("↑")));
        QVERIFY(page.tile(QStringLiteral("heap"))->captionText().contains(QStringLiteral("+2.00 MiB/min")));
        QCOMPARE(page.tile(QStringLiteral("suspects"))->valueText(), QStringLiteral("1"));
        QVERIFY(page.tile(QStringLiteral("suspects"))->styleSheet().contains(QStringLiteral("#e0a11b")));

        QCOMPARE(page.suspectModel()->rowCount(), 1);
        QCOMPARE(page.suspectModel()->index(0, LeakSuspectModel::GrowthColumn).data().toString(),
                 QStringLiteral("+55.0 /min"));
        QCOMPARE(
            page.suspectModel()->index(0, LeakSuspectModel::CurrentColumn).data(MemorySortRole).toDouble(),
            1200.0);
        QVERIFY(page.suspectHint()->text().startsWith(QLatin1String("What to do:")));
        QVERIFY(page.suspectHint()->text().contains(QLatin1String("check who owns them")));

        const int row = page.typeModel()->rowOfKey(QStringLiteral("Cache.entry"));
        QVERIFY(row >= 0);
        QCOMPARE(page.typeModel()->index(row, TrackedTypeModel::TrendColumn).data().toString(),
                 QStringLiteral("↑"));
        QCOMPARE(page.typeModel()->index(row, TrackedTypeModel::SuspectColumn).data().toString(),
                 QStringLiteral("suspect"));
        QVERIFY(
            page.typeModel()->index(row, TrackedTypeModel::SuspectColumn).data(Qt::BackgroundRole).isValid());
        const int other = page.typeModel()->rowOfKey(QStringLiteral("Reply"));
        QVERIFY(!page.typeModel()
                     ->index(other, TrackedTypeModel::SuspectColumn)
                     .data(Qt::BackgroundRole)
                     .isValid());
    }

    void typeRowsKeepTheirPlace()
    {
        TrackedTypeModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setTypes({typeStatus("a", 1), typeStatus("b", 2), typeStatus("c", 3)});
        QCOMPARE(model.keys(), (QStringList{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")}));
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
        // "b" goes away, "d" is new, "c" changes: "a" and "c" stay where they were, in order.
        model.setTypes({typeStatus("d", 9), typeStatus("c", 30), typeStatus("a", 1)});
        QCOMPARE(model.keys(), (QStringList{QStringLiteral("a"), QStringLiteral("c"), QStringLiteral("d")}));
        QCOMPARE(resets.size(), 0);
        QCOMPARE(model.index(1, TrackedTypeModel::LiveColumn).data(MemorySortRole).toLongLong(), 30);
        // Only the changed or new rows are signalled; "a" did not change.
        for (const QList<QVariant> &args : std::as_const(changes))
            QVERIFY(args.at(0).toModelIndex().row() >= 1);
        changes.clear();
        model.setTypes({typeStatus("a", 1), typeStatus("c", 30), typeStatus("d", 9)});
        QCOMPARE(changes.size(), 0);
    }

    void growthFormatting()
    {
        QCOMPARE(formatGrowthPerMinute(12.345, Unit::None), QStringLiteral("+12.3 /min"));
        QCOMPARE(formatGrowthPerMinute(-0.5, Unit::None), QStringLiteral("-0.50 /min"));
        QCOMPARE(formatGrowthPerMinute(1024.0 * 1024.0, Unit::Bytes), QStringLiteral("+1.00 MiB/min"));
        QCOMPARE(trendArrow(Trend::Shrinking), QStringLiteral("↓"));
        QCOMPARE(trendArrow(Trend::Flat), QStringLiteral("→"));
    }
};

QTEST_MAIN(TestUiMemory)
#include "tst_ui_memory.moc"
