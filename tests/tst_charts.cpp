// TimeChart (live/paused, windows, downsampling, coalescing) and the ui models.
#include "chartgroup.h"
#include "diagnosticsmodel.h"
#include "downsample.h"
#include "eventsmodel.h"
#include "historystore.h"
#include "stallmodel.h"
#include "timechart.h"

#include <QAbstractItemModelTester>
#include <QChart>
#include <QChartView>
#include <QDateTime>
#include <QImage>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtTest>

#include <algorithm>
#include <memory>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr qint64 kEnd = 1700000000000; // a fixed UTC instant

/// `count` points one second apart, the last at kEnd + offsetMs.
TimeSeries secondsSeries(int count, qint64 offsetMs = 0, double value = 1.0)
{
    TimeSeries s(std::max(count, 3600) + 100);
    for (int i = 0; i < count; ++i)
        s.append(kEnd + offsetMs - qint64(count - 1 - i) * 1000, value + (i % 7) * 0.1);
    return s;
}

std::unique_ptr<TimeChart> shownChart(int width = 600)
{
    auto chart = std::make_unique<TimeChart>(QStringLiteral("test"));
    chart->addSeries(QStringLiteral("a"), Qt::blue);
    chart->resize(width, 320);
    chart->show();
    return chart;
}

DiagnosticsReport sampleReport(double cpu, bool withExtraValue = false)
{
    DiagnosticsReport r;
    r.wallMs = kEnd;
    const QStringList ids = {QStringLiteral("cpu"),     QStringLiteral("memory"),
                             QStringLiteral("disk"),    QStringLiteral("network"),
                             QStringLiteral("process"), QStringLiteral("event_loop"),
                             QStringLiteral("runtime"), QStringLiteral("load")};
    for (const QString &id : ids) {
        DiagnosticCategory c;
        c.id = id;
        c.title = id.toUpper();
        c.health = Health::Ok;
        c.reason = QStringLiteral("fine");
        r.categories.append(c);
    }
    DiagnosticCategory &cpuCat = r.categories[0];
    cpuCat.health = cpu >= 80 ? Health::Warning : Health::Ok;
    cpuCat.values.append(
        {QStringLiteral("process_cpu_percent"), QStringLiteral("Process CPU"), cpu, {}, Unit::Percent, true});
    cpuCat.values.append(
        {QStringLiteral("system_cpu_percent"), QStringLiteral("System CPU"), 0, {}, Unit::Percent, false});
    if (withExtraValue)
        cpuCat.values.append(
            {QStringLiteral("cores"), QStringLiteral("Logical CPUs"), 4, {}, Unit::None, true});
    r.categories[1].values.append({QStringLiteral("process_rss_bytes"),
                                   QStringLiteral("Resident memory"),
                                   3 * 1024.0 * 1024.0,
                                   {},
                                   Unit::Bytes,
                                   true});
    r.categories[6].values.append(
        {QStringLiteral("qt_version"), QStringLiteral("Qt"), 0, QStringLiteral("6.4.2"), Unit::None, true});
    // network, process... have no values: still one row each.
    return r;
}
} // namespace

class TestCharts : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void markersAreDrawnAndHidden()
    {
        auto chart = std::make_unique<TimeChart>(QStringLiteral("markers"));
        chart->addSeries(QStringLiteral("line"), Qt::blue);
        const QColor markerColor(0xd6, 0x3c, 0x3c);
        chart->addSeries(QStringLiteral("opened"), markerColor, TimeChart::SeriesKind::Markers);
        chart->resize(600, 320);
        chart->show();
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setMinimumUpdateIntervalMs(0);
        chart->setWindowSeconds(60);
        chart->setSeriesData(0, secondsSeries(60, 0, 1.0));
        TimeSeries sparse(100);
        sparse.append(kEnd - 40000, 5.0);
        sparse.append(kEnd - 20000, 8.0);
        chart->setSeriesData(1, sparse);
        chart->setEndTime(kEnd);
        QTRY_COMPARE(chart->pointCount(1), 2);
        QCOMPARE(chart->points(1), (QList<QPointF>{QPointF(double(kEnd - 40000), 5.0), QPointF(double(kEnd - 20000), 8.0)}));
        // The markers count for the value axis and show up in the crosshair.
        chart->setCrosshair(kEnd - 20000);
        QVERIFY2(chart->crosshairText().contains(QStringLiteral("opened 8")), qPrintable(chart->crosshairText()));

        // Each marker is painted: its colour appears in the plot (not counting the legend), and
        // goes with the series.
        auto markerPixels = [&] {
            QChartView *view = chart->chartView();
            const QRect plot =
                view->mapFromScene(chart->chart()->mapToScene(chart->chart()->plotArea())).boundingRect();
            const QImage image = view->viewport()->grab().toImage();
            int n = 0;
            for (int y = plot.top(); y <= plot.bottom(); ++y)
                for (int x = plot.left(); x <= plot.right(); ++x)
                    if (image.valid(x, y) && image.pixelColor(x, y) == markerColor)
                        ++n;
            return n;
        };
        QVERIFY(markerPixels() > 20); // two filled 11 px triangles
        chart->setSeriesVisible(1, false);
        QCOMPARE(markerPixels(), 0);
        chart->setSeriesVisible(1, true);
        QCOMPARE(chart->pointCount(1), 2);
        QVERIFY(markerPixels() > 20);
    }

    void downsampleKeepsSpikesAndOrder()
    {
        QVector<SeriesPoint> pts;
        for (int i = 0; i < 10000; ++i)
            pts.append({qint64(i) * 10, i == 4321 ? 500.0 : (i == 777 ? -3.0 : 1.0)});
        const QList<QPointF> out = windowAndDownsample(pts, 0, 99990, 100, 2.0);
        QVERIFY(out.size() <= 200);
        QVERIFY(out.size() >= 100);
        double hi = -1e9, lo = 1e9;
        for (int i = 0; i < out.size(); ++i) {
            hi = std::max(hi, out.at(i).y());
            lo = std::min(lo, out.at(i).y());
            if (i > 0)
                QVERIFY(out.at(i).x() >= out.at(i - 1).x());
        }
        QCOMPARE(hi, 1000.0); // the spike survives, scaled
        QCOMPARE(lo, -6.0);
    }

    void downsampleWindowsWithoutBucketing()
    {
        QVector<SeriesPoint> pts;
        for (int i = 0; i < 100; ++i)
            pts.append({qint64(i) * 1000, double(i)});
        const QList<QPointF> out = windowAndDownsample(pts, 10000, 19000, 100);
        QCOMPARE(out.size(), 10);
        QCOMPARE(out.first(), QPointF(10000, 10));
        QCOMPARE(out.last(), QPointF(19000, 19));
        QVERIFY(windowAndDownsample(pts, 200000, 300000, 10).isEmpty());
        QVERIFY(windowAndDownsample({}, 0, 1000, 10).isEmpty());
    }

    void liveAndPaused()
    {
        auto chart = shownChart();
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        QVERIFY(chart->isLive());
        chart->setWindowSeconds(300);
        chart->setSeriesData(0, secondsSeries(100));
        chart->setEndTime(kEnd);
        QTRY_COMPARE(chart->pointCount(0), 100);

        QSignalSpy liveSpy(chart.get(), &TimeChart::liveChanged);
        chart->setLive(false);
        QCOMPARE(liveSpy.count(), 1);
        QVERIFY(!chart->isLive());
        const int rendersWhenPaused = chart->renderCount();
        const QPointF lastShown = chart->points(0).last();

        // New data while paused: kept, not drawn.
        chart->setSeriesData(0, secondsSeries(150, 50000));
        chart->setEndTime(kEnd + 50000);
        QTest::qWait(800);
        QCOMPARE(chart->renderCount(), rendersWhenPaused);
        QCOMPARE(chart->pointCount(0), 100);
        QCOMPARE(chart->points(0).last(), lastShown);

        // A window change while paused redraws the frozen data, not the new data.
        chart->setWindowSeconds(60);
        QCOMPARE(chart->points(0).last(), lastShown);
        QCOMPARE(chart->pointCount(0), 61);
        chart->setWindowSeconds(300);

        // Back to live: the newest data at once.
        chart->setLive(true);
        QCOMPARE(liveSpy.count(), 2);
        QCOMPARE(chart->pointCount(0), 150);
        QCOMPARE(chart->points(0).last().x(), double(kEnd + 50000));
    }

    void liveButtonToggles()
    {
        auto chart = shownChart();
        auto *button = chart->findChild<QToolButton *>(QStringLiteral("liveButton"));
        QVERIFY(button);
        QVERIFY(button->isChecked());
        button->click();
        QVERIFY(!chart->isLive());
        QVERIFY(button->text().contains(QStringLiteral("Paused")));
        button->click();
        QVERIFY(chart->isLive());
        QVERIFY(button->text().contains(QStringLiteral("Live")));
    }

    void windowPresetsRestrictPoints_data()
    {
        QTest::addColumn<int>("seconds");
        QTest::newRow("1 min") << 60;
        QTest::newRow("5 min") << 300;
        QTest::newRow("15 min") << 900;
    }

    void windowPresetsRestrictPoints()
    {
        QFETCH(int, seconds);
        QVERIFY(TimeChart::windowPresets().contains(seconds));
        auto chart = shownChart(2000); // wide enough that nothing is bucketed
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setWindowSeconds(seconds);
        QCOMPARE(chart->windowSeconds(), seconds);
        chart->setSeriesData(0, secondsSeries(3600));
        chart->setEndTime(kEnd);
        QTRY_VERIFY(chart->renderCount() > 0 && chart->pointCount(0) > 0);
        QTRY_COMPARE(chart->pointCount(0), seconds + 1);
        const QList<QPointF> pts = chart->points(0);
        for (const QPointF &p : pts) {
            QVERIFY(p.x() >= double(kEnd - qint64(seconds) * 1000));
            QVERIFY(p.x() <= double(kEnd));
        }
    }

    void historyFillsTheWindowBeforeLiveData_data()
    {
        QTest::addColumn<int>("windowSeconds");
        QTest::addColumn<qint64>("storedFromMs"); // stored 1 s samples, up to a minute before kEnd
        QTest::addColumn<bool>("rollUp");
        QTest::newRow("1 h after a restart") << 3600 << kEnd - 3600 * 1000 << false;
        QTest::newRow("24 h from rollups") << 86400 << kEnd - 23 * 3600 * 1000 << true;
    }

    void historyFillsTheWindowBeforeLiveData()
    {
        QFETCH(int, windowSeconds);
        QFETCH(qint64, storedFromMs);
        QFETCH(bool, rollUp);
        QTemporaryDir dir;
        MetricsRegistry registry;
        HistoryStoreOptions options;
        options.dataDir = dir.path();
        options.flushIntervalMs = 20;
        options.maintenanceIntervalMs = 0;
        options.rawRetentionHours = 1000000; // kEnd is in the past: keep everything
        options.minuteRetentionDays = 1000000;
        HistoryStore store(options, &registry, nullptr);
        store.start();
        QTRY_COMPARE_WITH_TIMEOUT(store.status().health, Health::Ok, 10000);
        const qint64 liveFromMs = kEnd - 59 * 1000; // the engine restarted a minute ago
        QVector<SeriesPoint> stored;
        for (qint64 t = storedFromMs; t < liveFromMs - 1000; t += 1000)
            stored.append({t, 5.0});
        store.recordSamples({QStringLiteral("queue_depth"), QStringLiteral("{}"), QStringLiteral("value"), {}},
                            stored);
        bool flushed = false;
        store.flush(this, [&](bool ok) { flushed = ok; });
        QTRY_VERIFY_WITH_TIMEOUT(flushed, 10000);
        if (rollUp) {
            bool done = false;
            store.runMaintenance(kEnd, this, [&](const MaintenanceResult &r) { done = r.ok(); });
            QTRY_VERIFY_WITH_TIMEOUT(done, 10000);
        }

        MetricSnapshot metric;
        metric.name = QStringLiteral("queue_depth");
        metric.type = MetricType::Gauge;
        metric.series[size_t(SeriesField::Value)] = secondsSeries(60); // live: the last minute
        auto chart = shownChart(1200);
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setHistoryStore(&store);
        chart->setWindowSeconds(windowSeconds);
        chart->setSeriesData(0, metric, SeriesField::Value);
        chart->setEndTime(kEnd);
        QTRY_VERIFY_WITH_TIMEOUT(chart->historyPointCount(0) > 0, 10000);
        QCOMPARE(chart->historyLoads(), 1);
        QTRY_VERIFY(chart->pointCount(0) > 60);
        const QList<QPointF> pts = chart->points(0);
        // The history reaches back to what was stored, and the live minute is still drawn.
        QVERIFY2(pts.first().x() <= double(storedFromMs + 60 * 1000),
                 qPrintable(QDateTime::fromMSecsSinceEpoch(qint64(pts.first().x())).toString()));
        // The newest bucket reaches the end (a bucket keeps its min and max, not its last sample).
        QVERIFY(pts.last().x() >= double(kEnd - qint64(windowSeconds) * 1000 / 200));
        QVERIFY(std::is_sorted(pts.cbegin(), pts.cend(),
                               [](const QPointF &a, const QPointF &b) { return a.x() < b.x(); }));
        // Stored values are 5, live ones 1.0-1.6: both parts are there.
        QVERIFY(std::any_of(pts.cbegin(), pts.cend(), [](const QPointF &p) { return p.y() == 5.0; }));
        QVERIFY(std::any_of(pts.cbegin(), pts.cend(), [](const QPointF &p) { return p.y() < 2.0; }));

        // New live data in the same window does not read the database again.
        chart->setSeriesData(0, metric, SeriesField::Value);
        QTest::qWait(50);
        QCOMPARE(chart->historyLoads(), 1);
        store.stop();
    }

    void zoomPausesAndBackUndoes()
    {
        auto chart = shownChart(1200);
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setWindowSeconds(300);
        chart->setSeriesData(0, secondsSeries(600));
        chart->setEndTime(kEnd);
        QTRY_VERIFY(chart->pointCount(0) > 0);
        QSignalSpy views(chart.get(), &TimeChart::viewChanged);
        chart->zoomTo(kEnd - 120000, kEnd - 60000);
        QVERIFY(!chart->isLive());
        QVERIFY(chart->isZoomed());
        QCOMPARE(chart->shownRange(), qMakePair(kEnd - 120000, kEnd - 60000));
        QCOMPARE(chart->pointCount(0), 61);
        chart->zoomTo(kEnd - 100000, kEnd - 90000);
        QCOMPARE(chart->zoomDepth(), 2);
        chart->zoomBack();
        QCOMPARE(chart->shownRange(), qMakePair(kEnd - 120000, kEnd - 60000));
        chart->zoomBack();
        QVERIFY(!chart->isZoomed());
        QVERIFY(!chart->isLive()); // back out of the zoom, still paused
        QCOMPARE(chart->shownRange(), qMakePair(kEnd - 300000, kEnd));
        chart->zoomTo(kEnd - 100000, kEnd - 90000);
        chart->setLive(true); // "Back to live" leaves the zoom
        QVERIFY(!chart->isZoomed());
        QCOMPARE(chart->zoomDepth(), 0);
        QVERIFY(views.count() >= 5);
    }

    void dragOnThePlotZooms()
    {
        auto chart = shownChart(1200);
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setSeriesData(0, secondsSeries(600));
        chart->setEndTime(kEnd);
        QTRY_VERIFY(chart->pointCount(0) > 0);
        QWidget *viewport = chart->chartView()->viewport();
        const QRectF plot = chart->chart()->plotArea();
        const QPoint start(int(plot.left() + plot.width() * 0.25), int(plot.center().y()));
        const QPoint end(int(plot.left() + plot.width() * 0.75), int(plot.center().y()));
        QTest::mousePress(viewport, Qt::LeftButton, {}, start);
        QMouseEvent move(QEvent::MouseMove, end, viewport->mapToGlobal(end), Qt::NoButton, Qt::LeftButton, {});
        QCoreApplication::sendEvent(viewport, &move);
        QTest::mouseRelease(viewport, Qt::LeftButton, {}, end);
        QVERIFY(chart->isZoomed());
        QVERIFY(!chart->isLive());
        const auto range = chart->shownRange();
        // The middle half of the 5 minutes, to within a few pixels.
        QVERIFY(qAbs(range.first - (kEnd - 225000)) < 5000);
        QVERIFY(qAbs(range.second - (kEnd - 75000)) < 5000);
    }

    void crosshairShowsValuesOnEveryChartOfAGroup()
    {
        auto a = shownChart(800);
        auto b = shownChart(800);
        QVERIFY(QTest::qWaitForWindowExposed(a.get()));
        QVERIFY(QTest::qWaitForWindowExposed(b.get()));
        ChartGroup group;
        group.add(a.get());
        group.add(b.get());
        a->setValueSuffix(QStringLiteral(" ms"));
        a->setSeriesData(0, secondsSeries(300, 0, 2.0));
        b->setSeriesData(0, secondsSeries(300, 0, 7.0));
        a->setEndTime(kEnd);
        b->setEndTime(kEnd);
        QTRY_VERIFY(a->pointCount(0) > 0 && b->pointCount(0) > 0);
        Q_EMIT a->hovered(kEnd - 60000); // what moving the pointer over `a` emits
        QCOMPARE(b->crosshair(), kEnd - 60000);
        QVERIFY2(b->crosshairText().contains(QStringLiteral("a 7")), qPrintable(b->crosshairText()));
        a->setCrosshair(kEnd - 60000);
        QVERIFY2(a->crosshairText().contains(QStringLiteral(" ms")), qPrintable(a->crosshairText()));
        Q_EMIT a->hovered(0);
        QVERIFY(b->crosshairText().isEmpty());

        // One chart's window, zoom and pause apply to the page.
        a->setWindowSeconds(60);
        QCOMPARE(b->windowSeconds(), 60);
        a->zoomTo(kEnd - 50000, kEnd - 10000);
        QVERIFY(b->isZoomed());
        QVERIFY(!b->isLive());
        QCOMPARE(b->shownRange(), qMakePair(kEnd - 50000, kEnd - 10000));
        b->setLive(true);
        QVERIFY(a->isLive());
        QVERIFY(!a->isZoomed());
    }

    void legendHidesSeriesAndCsvHasUnits()
    {
        auto chart = shownChart(800);
        chart->addSeries(QStringLiteral("b, second"), Qt::red);
        chart->setValueAxisTitle(QStringLiteral("ms"));
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setWindowSeconds(60);
        chart->setSeriesData(0, secondsSeries(120, 0, 1.0));
        TimeSeries sparse(100);
        sparse.append(kEnd - 30000, 42.5);
        chart->setSeriesData(1, sparse);
        chart->setEndTime(kEnd);
        QTRY_VERIFY(chart->pointCount(0) > 0);

        chart->setSeriesVisible(1, false);
        QVERIFY(!chart->isSeriesVisible(1));
        chart->setSeriesVisible(1, true);
        QVERIFY(chart->isSeriesVisible(1));

        const QList<QByteArray> lines = chart->toCsv().split('\n');
        QCOMPARE(lines.first(), QByteArray("time_utc,a (ms),\"b, second (ms)\""));
        QCOMPARE(lines.size(), 61 + 2); // header, 61 seconds, trailing newline
        QCOMPARE(lines.at(1).left(24), QByteArray("2023-11-14T22:12:20.000Z"));
        QVERIFY(lines.at(1).endsWith(','));          // b has no point there
        QVERIFY(chart->toCsv().contains(",42.5\n")); // ...but one 30 s before the end

        QTemporaryDir dir;
        QString error;
        QVERIFY(chart->exportCsv(dir.filePath(QStringLiteral("c.csv")), &error));
        QVERIFY(chart->exportPng(dir.filePath(QStringLiteral("c.png")), &error));
        QVERIFY(QImage(dir.filePath(QStringLiteral("c.png"))).width() > 100);
        QVERIFY(!chart->exportCsv(dir.filePath(QStringLiteral("missing/dir/c.csv")), &error));
        QVERIFY(error.contains(QStringLiteral("missing/dir/c.csv")));
    }

    void annotationsInRangeAreDrawn()
    {
        auto chart = shownChart(800);
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setWindowSeconds(300);
        chart->setSeriesData(0, secondsSeries(300));
        chart->setEndTime(kEnd);
        QTRY_VERIFY(chart->pointCount(0) > 0);
        chart->setAnnotations({{kEnd - 10000, QStringLiteral("reset"), QStringLiteral("Statistics reset")},
                               {kEnd - 3600000, QStringLiteral("stall"), QStringLiteral("an hour ago")},
                               {kEnd - 20000, QStringLiteral("breaker"), QStringLiteral("api opened")}});
        QCOMPARE(chart->visibleAnnotationCount(), 2);
        chart->zoomTo(kEnd - 15000, kEnd);
        QCOMPARE(chart->visibleAnnotationCount(), 1);
    }

    void downsamplingCapsPointsToWidth()
    {
        const int width = 400;
        auto chart = shownChart(width);
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setWindowSeconds(3600);
        TimeSeries s = secondsSeries(3600);
        // One spike in the middle must survive bucketing.
        TimeSeries spiky(4000);
        const QVector<SeriesPoint> pts = s.points();
        for (int i = 0; i < pts.size(); ++i)
            spiky.append(pts.at(i).tMs, i == 1800 ? 99.0 : pts.at(i).value);
        chart->setSeriesData(0, spiky);
        chart->setEndTime(kEnd);
        QTRY_VERIFY(chart->pointCount(0) > 0);
        // Wait for the render after layout settled, then check the cap.
        QTRY_VERIFY(chart->pointCount(0) <= 2 * width);
        const QList<QPointF> shown = chart->points(0);
        const auto maxIt = std::max_element(shown.cbegin(), shown.cend(),
                                            [](const QPointF &a, const QPointF &b) { return a.y() < b.y(); });
        QCOMPARE(maxIt->y(), 99.0);
        QVERIFY(chart->pointCount(0) < 3600);
    }

    void updatesAreCoalesced()
    {
        auto chart = shownChart();
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        QCOMPARE(chart->minimumUpdateIntervalMs(), 500);
        QTRY_VERIFY(chart->renderCount() >= 0);
        QTest::qWait(600); // let the initial layout renders pass
        QSignalSpy spy(chart.get(), &TimeChart::rendered);
        QElapsedTimer elapsed;
        elapsed.start();
        int fed = 0;
        while (elapsed.elapsed() < 2000) {
            ++fed;
            chart->setSeriesData(0, secondsSeries(60, fed * 20));
            chart->setEndTime(kEnd + fed * 20);
            QTest::qWait(20);
        }
        const double seconds = double(elapsed.elapsed()) / 1000.0;
        QTest::qWait(600); // the last pending render
        QVERIFY2(fed > 10, "the loop should have fed many updates");
        QVERIFY(spy.count() >= 1);
        // At most two per second (plus the one the first update may trigger at once).
        QVERIFY2(
            spy.count() <= int(seconds * 2) + 2,
            qPrintable(
                QStringLiteral("%1 renders for %2 updates in %3 s").arg(spy.count()).arg(fed).arg(seconds)));
        // The newest data was drawn in the end.
        QCOMPARE(chart->points(0).last().x(), double(kEnd + fed * 20));
    }

    void hiddenChartDoesNotRender()
    {
        auto chart = shownChart();
        QVERIFY(QTest::qWaitForWindowExposed(chart.get()));
        chart->setSeriesData(0, secondsSeries(10));
        QTRY_COMPARE(chart->pointCount(0), 10);
        chart->hide();
        const int renders = chart->renderCount();
        chart->setSeriesData(0, secondsSeries(20));
        QTest::qWait(700);
        QCOMPARE(chart->renderCount(), renders);
        chart->show();
        QTRY_COMPARE(chart->pointCount(0), 20);
    }

    void diagnosticsModel()
    {
        DiagnosticsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.columnCount(), int(DiagnosticsModel::ColumnCount));

        model.setReport(sampleReport(42.5));
        // cpu 2 values, memory 1, runtime 1, five categories without values: one row each.
        QCOMPARE(model.rowCount(), 2 + 1 + 1 + 5);
        const auto cell = [&model](int row, int column, int role = Qt::DisplayRole) {
            return model.data(model.index(row, column), role);
        };
        QCOMPARE(cell(0, DiagnosticsModel::CategoryColumn).toString(), QStringLiteral("CPU"));
        QCOMPARE(cell(0, DiagnosticsModel::KeyColumn).toString(), QStringLiteral("Process CPU"));
        QCOMPARE(cell(0, DiagnosticsModel::ValueColumn).toString(), QStringLiteral("42.5 %"));
        QCOMPARE(cell(0, DiagnosticsModel::HealthColumn).toString(), QStringLiteral("OK"));
        QCOMPARE(cell(0, 0, DiagnosticsModel::NumberRole).toDouble(), 42.5);
        QCOMPARE(cell(0, DiagnosticsModel::ReasonColumn).toString(), QStringLiteral("fine"));
        // Health is per category: shown on its first row, carried by the roles on every row.
        QCOMPARE(cell(1, DiagnosticsModel::CategoryColumn).toString(), QString());
        QCOMPARE(cell(1, DiagnosticsModel::HealthColumn).toString(), QString());
        QCOMPARE(cell(1, 0, DiagnosticsModel::CategoryIdRole).toString(), QStringLiteral("cpu"));
        QCOMPARE(cell(1, 0, DiagnosticsModel::HealthRole).toInt(), int(Health::Ok));
        QCOMPARE(cell(1, DiagnosticsModel::ValueColumn).toString(), QStringLiteral("unavailable"));
        QVERIFY(!cell(1, 0, DiagnosticsModel::NumberRole).isValid());
        QCOMPARE(cell(2, DiagnosticsModel::ValueColumn).toString(), QStringLiteral("3.00 MiB"));
        QCOMPARE(cell(3, DiagnosticsModel::CategoryColumn).toString(), QStringLiteral("DISK"));
        QCOMPARE(cell(3, DiagnosticsModel::ValueColumn).toString(), QStringLiteral("unavailable"));
        QCOMPARE(cell(0, DiagnosticsModel::HealthColumn, Qt::BackgroundRole).value<QColor>().isValid(), true);

        // Same layout: values change in place, no reset.
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
        model.setReport(sampleReport(91));
        QCOMPARE(resets.count(), 0);
        QCOMPARE(changes.count(), 1);
        QCOMPARE(cell(0, DiagnosticsModel::ValueColumn).toString(), QStringLiteral("91.0 %"));
        QCOMPARE(cell(0, 0, DiagnosticsModel::HealthRole).toInt(), int(Health::Warning));

        // Another layout: reset.
        model.setReport(sampleReport(91, true));
        QCOMPARE(resets.count(), 1);
        QCOMPARE(model.rowCount(), 10);
        model.setReport(DiagnosticsReport{});
        QCOMPARE(model.rowCount(), 0);
    }

    void stallModel()
    {
        StallModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QList<StallRecord> stalls{{kEnd - 5000, 150, false}, {kEnd - 1000, 1200, true}};
        model.setStalls(stalls);
        QCOMPARE(model.rowCount(), 2);
        // Newest first.
        QCOMPARE(
            model.data(model.index(0, StallModel::StartColumn), StallModel::StartWallMsRole).toLongLong(),
            kEnd - 1000);
        QCOMPARE(model.data(model.index(0, StallModel::DurationColumn)).toString(), QStringLiteral("1.20 s"));
        QCOMPARE(model.data(model.index(0, StallModel::StateColumn)).toString(), QStringLiteral("ongoing"));
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        stalls[1].durationMs = 1500;
        stalls[1].ongoing = false;
        model.setStalls(stalls);
        QCOMPARE(resets.count(), 0);
        QCOMPARE(model.data(model.index(0, StallModel::StateColumn)).toString(), QStringLiteral("ended"));
        stalls.append({kEnd, 300, false});
        model.setStalls(stalls);
        QCOMPARE(resets.count(), 1);
        QCOMPARE(model.rowCount(), 3);
        model.setStalls({});
        QCOMPARE(model.rowCount(), 0);
    }

    void eventsModel()
    {
        EventsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QList<EngineEvent> events{
            {kEnd - 1000, QStringLiteral("reset"), QStringLiteral("operator"),
             QStringLiteral("Statistics reset by operator"), 0},
            {kEnd, QStringLiteral("stall"), QStringLiteral("gui"), QStringLiteral("Stalled"), 250}};
        model.setEvents(events);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.data(model.index(0, EventsModel::KindColumn)).toString(), QStringLiteral("stall"));
        QCOMPARE(model.data(model.index(0, EventsModel::MessageColumn)).toString(),
                 QStringLiteral("Stalled (250 ms)"));
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        model.setEvents(events);
        QCOMPARE(resets.count(), 0);
        events.removeFirst();
        model.setEvents(events);
        QCOMPARE(resets.count(), 1);
        QCOMPARE(model.rowCount(), 1);
    }
};

QTEST_MAIN(TestCharts)
#include "tst_charts.moc"
