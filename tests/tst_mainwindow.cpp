// The assembled window against a real engine: charts fill, pages switch, reset reaches the
// engine, the status bar follows snapshots and goes stale when they stop.
#include "consolestatusbar.h"
#include "diagnosticsmodel.h"
#include "engine.h"
#include "eventlooppage.h"
#include "healthtile.h"
#include "databasepage.h"
#include "exportdialog.h"
#include "mainwindow.h"
#include "sourceview.h"
#include "theme.h"
#include "overviewpage.h"
#include "systempage.h"
#include "timechart.h"

#include <QAction>
#include <QDir>
#include <QListWidget>
#include <QRegularExpression>
#include <QSettings>
#include <QFileInfo>
#include <QPushButton>
#include <QSignalSpy>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 20000; // generous: ASan on a loaded two-core machine

struct Fixture {
    QTemporaryDir dir;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<MainWindow> window;
    int confirmations = 0;
    bool confirmAnswer = true;

    Fixture()
    {
        EngineConfig config;
        config.metrics.snapshotIntervalMs = 100;
        config.diagnostics.intervalMs = 200;
        EngineOptions options;
        options.dataDir = dir.path();
        engine = std::make_unique<Engine>(config, options);
        engine->start();
        window = std::make_unique<MainWindow>(engine.get());
        // Never a modal dialog in a test.
        window->setConfirmFunction([this](QWidget *, const QString &, const QString &) {
            ++confirmations;
            return confirmAnswer;
        });
        window->setSaveFileFunction([](QWidget *, const QString &, const QString &) { return QString(); });
        window->resize(1280, 820);
        window->show();
    }
    ~Fixture()
    {
        window.reset(); // before the engine it listens to
        engine.reset();
    }
};
} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("VegaConsoleTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
        QSettings().clear();
    }

    void lagChartReceivesPoints()
    {
        Fixture f;
        QVERIFY(QTest::qWaitForWindowExposed(f.window.get()));
        f.window->setCurrentPage(MainWindow::EventLoopPageIndex);
        TimeChart *chart = f.window->eventLoopPage()->lagChart();
        QTRY_VERIFY_WITH_TIMEOUT(chart->pointCount(EventLoopPage::P50Series) > 0, kTimeoutMs);
        QVERIFY(chart->pointCount(EventLoopPage::P99Series) > 0);
        QVERIFY(chart->pointCount(EventLoopPage::MaxSeries) > 0);
        // Values are in ms: an idle loop lags far less than a second.
        const QList<QPointF> p50 = chart->points(EventLoopPage::P50Series);
        QVERIFY(p50.last().y() >= 0);
        QVERIFY(p50.last().y() < 1000);
        QTRY_VERIFY_WITH_TIMEOUT(f.window->eventLoopPage()->distributionValues().value(0) > 0, kTimeoutMs);
        QVERIFY(!f.window->eventLoopPage()->stallCountText().isEmpty());
    }

    void overviewShowsEightTiles()
    {
        Fixture f;
        f.window->setCurrentPage(MainWindow::OverviewPageIndex);
        OverviewPage *overview = f.window->overviewPage();
        QCOMPARE(overview->tileCount(), 13);
        // The sampler grades the categories within a few intervals.
        QTRY_VERIFY_WITH_TIMEOUT(overview->tile(QStringLiteral("cpu"))->health() != Health::Unknown,
                                 kTimeoutMs);
        QVERIFY(!overview->tile(QStringLiteral("runtime"))->valueText().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(
            overview->updatedText().contains(QRegularExpression(QStringLiteral("\\d\\d:\\d\\d:\\d\\d"))),
            kTimeoutMs);
    }

    void switchingPages()
    {
        Fixture f;
        QSignalSpy spy(f.window.get(), &MainWindow::currentPageChanged);
        // The local engine's pages (the window holds one such stack per source).
        auto *stack = f.window->sourceView(0)->findChild<QStackedWidget *>();
        auto *navigation = f.window->findChild<QListWidget *>(QStringLiteral("pageNavigation"));
        QVERIFY(stack && navigation);
        QCOMPARE(navigation->count(), int(MainWindow::PageCount));

        f.window->setCurrentPage(MainWindow::SystemPageIndex);
        QCOMPARE(f.window->currentPage(), int(MainWindow::SystemPageIndex));
        QCOMPARE(stack->currentWidget(), static_cast<QWidget *>(f.window->systemPage()));
        QVERIFY(f.window->pageAction(MainWindow::SystemPageIndex)->isChecked());

        f.window->pageAction(MainWindow::EventLoopPageIndex)->trigger();
        QCOMPARE(f.window->currentPage(), int(MainWindow::EventLoopPageIndex));
        QCOMPARE(navigation->currentRow(), int(MainWindow::EventLoopPageIndex));

        navigation->setCurrentRow(MainWindow::OverviewPageIndex);
        QCOMPARE(f.window->currentPage(), int(MainWindow::OverviewPageIndex));
        QVERIFY(f.window->overviewPage()->isVisible());
        QVERIFY(!f.window->systemPage()->isVisible());
        QVERIFY(spy.count() >= 3);
        QCOMPARE(f.window->pageAction(2)->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_3));
    }

    void hiddenPagesDoNotRedraw()
    {
        Fixture f;
        QVERIFY(QTest::qWaitForWindowExposed(f.window.get()));
        f.window->setCurrentPage(MainWindow::OverviewPageIndex);
        const int systemApplied = f.window->systemPage()->appliedCount();
        const int overviewApplied = f.window->overviewPage()->appliedCount();
        QTRY_VERIFY_WITH_TIMEOUT(f.window->overviewPage()->appliedCount() >= overviewApplied + 3, kTimeoutMs);
        QCOMPARE(f.window->systemPage()->appliedCount(), systemApplied);
        // Shown again: applies the newest snapshot at once.
        f.window->setCurrentPage(MainWindow::SystemPageIndex);
        QCOMPARE(f.window->systemPage()->appliedCount(), systemApplied + 1);
        QVERIFY(f.window->systemPage()->model()->rowCount() > 0);
    }

    void resetStatsReachesEngine()
    {
        Fixture f;
        const int before = f.engine->latest()->metrics->resetCount;

        f.confirmAnswer = false;
        f.window->resetStatsAction()->trigger();
        QCOMPARE(f.confirmations, 1);
        QCOMPARE(f.engine->latest()->metrics->resetCount, before);

        f.confirmAnswer = true;
        f.window->resetStatsAction()->trigger();
        QCOMPARE(f.confirmations, 2);
        QTRY_COMPARE_WITH_TIMEOUT(f.engine->latest()->metrics->resetCount, before + 1, kTimeoutMs);
        // The journal on the overview shows the reset.
        f.window->setCurrentPage(MainWindow::OverviewPageIndex);
        QTRY_VERIFY_WITH_TIMEOUT(f.window->overviewPage()->snapshot()->metrics->resetCount == before + 1,
                                 kTimeoutMs);
    }

    void statusBarFollowsSnapshots()
    {
        Fixture f;
        ConsoleStatusBar *bar = f.window->consoleStatusBar();
        // The console's refresh interval (ui.refresh_interval_ms), not the engine's 100 ms.
        QVERIFY2(bar->refreshText().startsWith(QStringLiteral("Refresh every 1")), qPrintable(bar->refreshText()));
        const QRegularExpression time(QStringLiteral("\\d\\d:\\d\\d:\\d\\d"));
        QTRY_VERIFY_WITH_TIMEOUT(bar->lastUpdateText().contains(time), kTimeoutMs);
        // The console's own CPU appears once the sampler has two readings.
        QTRY_VERIFY_WITH_TIMEOUT(bar->consoleCpuText().contains(QLatin1Char('%')), kTimeoutMs);
        QVERIFY(!bar->isStaleShown());
    }

    void staleWhenSnapshotsStop()
    {
        Fixture f;
        QTRY_VERIFY_WITH_TIMEOUT(!f.window->isStale(), kTimeoutMs);
        f.engine->stop();
        QTRY_VERIFY_WITH_TIMEOUT(f.window->isStale(), kTimeoutMs);
        QVERIFY(f.window->consoleStatusBar()->isStaleShown());
        QVERIFY(f.window->overviewPage()->isStaleShown());
        f.engine->start();
        QTRY_VERIFY_WITH_TIMEOUT(!f.window->isStale(), kTimeoutMs);
        QVERIFY(!f.window->consoleStatusBar()->isStaleShown());
        QVERIFY(!f.window->overviewPage()->isStaleShown());
    }

    void exportOpensTheDialogAndWritesABundle()
    {
        Fixture f;
        const QString chosen = f.dir.filePath(QStringLiteral("bundle.zip"));
        QString suggested;
        f.window->setSaveFileFunction([&](QWidget *, const QString &, const QString &suggestion) {
            suggested = suggestion;
            return chosen;
        });
        f.window->exportReportAction()->trigger();
        auto *dialog = f.window->findChild<ExportDialog *>(QStringLiteral("exportDialog"));
        QVERIFY(dialog);
        QVERIFY(dialog->path().endsWith(QStringLiteral(".html")));
        dialog->browseButton()->click();
        QCOMPARE(dialog->path(), chosen);
        QVERIFY(suggested.endsWith(QStringLiteral(".html")));
        QSignalSpy exported(f.window.get(), &MainWindow::reportExported);
        dialog->exportButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, kTimeoutMs);
        QVERIFY2(exported.at(0).at(0).toBool(), qPrintable(exported.at(0).at(1).toString()));
        QVERIFY(QFileInfo(chosen).size() > 1000);
    }

    void validateActionRunsValidation()
    {
        Fixture f;
        QSignalSpy finished(f.engine.get(), &Engine::validationFinished);
        f.window->validateAction()->trigger();
        QCOMPARE(f.window->currentPage(), int(MainWindow::ConfigPageIndex));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeoutMs);
        QVERIFY(f.engine->lastValidation());
    }

    void settingsApplyAndAreKept()
    {
        {
            Fixture f;
            QVERIFY(f.window->settingsAction());
            f.window->setRefreshIntervalMs(2000);
            QVERIFY2(f.window->consoleStatusBar()->refreshText().contains(QStringLiteral("2")),
                     qPrintable(f.window->consoleStatusBar()->refreshText()));
            QCOMPARE(f.window->databasePage()->refreshIntervalMs(), 2000);
            // Snapshots every 100 ms, redraws at most every 2 s.
            const int before = f.window->overviewPage()->appliedCount();
            QTest::qWait(1500);
            QVERIFY(f.window->overviewPage()->appliedCount() - before <= 1);
            f.window->setTheme(Theme::Dark);
            QVERIFY(isDarkPalette());
            f.window->setTheme(Theme::Light);
            QVERIFY(!isDarkPalette());
        }
        {
            Fixture g; // kept for the next start
            QCOMPARE(g.window->refreshIntervalMs(), 2000);
            QCOMPARE(g.window->theme(), Theme::Light);
            g.window->setTheme(Theme::System);
            g.window->setRefreshIntervalMs(1000);
        }
    }

    void pageAndGeometryAreRemembered()
    {
        {
            Fixture f;
            f.window->setCurrentPage(MainWindow::SystemPageIndex);
            f.window->close();
        }
        QCOMPARE(QSettings().value(QStringLiteral("mainWindow/page")).toInt(),
                 int(MainWindow::SystemPageIndex));
        Fixture g;
        QCOMPARE(g.window->currentPage(), int(MainWindow::SystemPageIndex));
        g.window->setCurrentPage(MainWindow::OverviewPageIndex);
    }

    /// Grabs every page when VEGA_UI_SCREENSHOT_DIR is set (for docs and visual checks).
    void screenshots()
    {
        const QString dir = qEnvironmentVariable("VEGA_UI_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set VEGA_UI_SCREENSHOT_DIR to save screenshots");
        Fixture f;
        QVERIFY(QTest::qWaitForWindowExposed(f.window.get()));
        QTest::qWait(4000); // a few seconds of history
        for (int page = 0; page < MainWindow::PageCount; ++page) {
            f.window->setCurrentPage(page);
            QTest::qWait(1200); // one coalesced chart update
            QVERIFY(f.window->grab().save(QDir(dir).filePath(QStringLiteral("vega-page-%1.png").arg(page))));
        }
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
