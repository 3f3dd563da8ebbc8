// The HTTP pipeline pages (requests, connections, breakers) against a real engine running its
// demo workload, and the breaker grid's sorting and filtering on made-up data.
#include "breakerspage.h"
#include "breakertile.h"
#include "breakertilegrid.h"
#include "breakertransitionmodel.h"
#include "connectionspage.h"
#include "demobackend.h"
#include "demoworkload.h"
#include "engine.h"
#include "healthtile.h"
#include "httpclient.h"
#include "mainwindow.h"
#include "overviewpage.h"
#include "poolmodel.h"
#include "requestspage.h"
#include "snapshotpage.h"
#include "stattile.h"
#include "timechart.h"
#include "topkeysmodel.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QEnterEvent>
#include <QLineEdit>
#include <QMouseEvent>
#include <QSettings>
#include <QSignalSpy>
#include <QSplitter>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTreeView>
#include <QtTest>

#include <memory>
#include <vector>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 25000; // generous: ASan on a loaded two-core machine

/// One engine with the demo workload and one window for every live test: the demo needs a few
/// seconds to produce bursts, breakers and history, which each test would otherwise wait for.
struct Fixture {
    QTemporaryDir dir;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<MainWindow> window;
    int confirmations = 0;
    bool confirmAnswer = true;

    Fixture()
    {
        EngineConfig config;
        config.metrics.snapshotIntervalMs = 200;
        EngineOptions options;
        options.dataDir = dir.path();
        options.demo = true;
        engine = std::make_unique<Engine>(config, options);
        engine->start();
        window = std::make_unique<MainWindow>(engine.get());
        // Never a modal dialog in a test.
        window->setConfirmFunction([this](QWidget *, const QString &, const QString &) {
            ++confirmations;
            return confirmAnswer;
        });
        window->resize(1280, 820);
        window->show();
    }
    ~Fixture()
    {
        window.reset(); // before the engine it listens to
        engine.reset();
    }

    /// The demo backend's host as the client names it ("127.0.0.1:port").
    QString demoHost() const
    {
        const QUrl base = engine->demo()->backend()->baseUrl();
        return base.host().toLower() + QLatin1Char(':') + QString::number(base.port());
    }

    QString breakerState(const QString &name) const
    {
        const HttpClientSummary summary = engine->http()->summary();
        for (const BreakerInfo &b : summary.breakers)
            if (b.name == name)
                return b.state;
        return {};
    }
};

int transitionRow(const BreakerTransitionModel *model, const QString &breaker, const QString &to)
{
    for (int row = 0; row < model->rowCount(); ++row) {
        const QModelIndex index = model->index(row, 0);
        if (index.data(BreakerTransitionModel::BreakerRole).toString() == breaker &&
            index.data(BreakerTransitionModel::ToStateRole).toString() == to)
            return row;
    }
    return -1;
}

BreakerTileData breaker(const QString &name, double failureRate, int calls, std::optional<double> volume)
{
    BreakerTileData d;
    d.name = name;
    d.host = name;
    d.state = QStringLiteral("closed");
    d.failureRate = failureRate;
    d.callsInWindow = calls;
    d.volume = volume;
    return d;
}

void sendEvent(QWidget *widget, QEvent::Type type)
{
    if (type == QEvent::Enter) {
        QEnterEvent enter(QPointF(5, 5), QPointF(5, 5), widget->mapToGlobal(QPointF(5, 5)));
        QCoreApplication::sendEvent(widget, &enter);
    } else {
        QEvent leave(QEvent::Leave);
        QCoreApplication::sendEvent(widget, &leave);
    }
}

HostPoolStats pool(const QString &host, quint64 requests)
{
    HostPoolStats p;
    p.host = host;
    p.requests = requests;
    p.connectionsOpened = requests / 10;
    p.reuseRatio = requests ? 1.0 - double(p.connectionsOpened) / double(requests) : 0.0;
    p.maxConnections = 6;
    return p;
}

EngineEvent breakerEvent(qint64 wallMs, const QString &name, const QString &from, const QString &to)
{
    EngineEvent e;
    e.wallMs = wallMs;
    e.kind = QStringLiteral("breaker");
    e.source = QStringLiteral("breaker:") + name;
    e.message = from + QStringLiteral(" → ") + to + QStringLiteral(": because");
    return e;
}
} // namespace

class TestUiPipeline : public QObject {
    Q_OBJECT
    std::unique_ptr<Fixture> m_f;
    std::vector<std::unique_ptr<QAbstractItemModelTester>> m_testers;

    void watch(QAbstractItemModel *model)
    {
        m_testers.push_back(std::make_unique<QAbstractItemModelTester>(
            model, QAbstractItemModelTester::FailureReportingMode::QtTest));
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("VegaConsoleTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_ui_pipeline"));
        QSettings().clear();
        m_f = std::make_unique<Fixture>();
        QVERIFY(QTest::qWaitForWindowExposed(m_f->window.get()));
        // Every model (and the views' sort proxies) is checked for the whole run.
        watch(m_f->window->requestsPage()->topKeysModel());
        watch(m_f->window->connectionsPage()->poolModel());
        watch(m_f->window->breakersPage()->transitionModel());
        for (const char *view : {"topKeysView", "poolView", "transitionView"}) {
            auto *tree = m_f->window->findChild<QTreeView *>(QString::fromLatin1(view));
            QVERIFY2(tree, view);
            watch(tree->model());
        }
    }

    void cleanupTestCase()
    {
        m_testers.clear();
        m_f.reset();
    }

    void pagesFitASmallScreen()
    {
        // The window must still fit 1280 px with the page list: no page may demand more.
        const QList<QWidget *> pages = {m_f->window->requestsPage(), m_f->window->connectionsPage(),
                                        m_f->window->breakersPage()};
        for (QWidget *page : pages)
            QVERIFY2(page->minimumSizeHint().width() <= 1100,
                     qPrintable(QString::fromLatin1(page->metaObject()->className()) + QLatin1Char(' ') +
                                QString::number(page->minimumSizeHint().width())));
    }

    void demoIsLabelled()
    {
        QVERIFY(m_f->window->isDemoShown());
        QVERIFY(m_f->window->windowTitle().contains(QStringLiteral("Demo workload")));
        QCOMPARE(m_f->window->pageAction(MainWindow::RequestsPageIndex)->shortcut(),
                 QKeySequence(Qt::CTRL | Qt::Key_4));
        QCOMPARE(m_f->window->pageAction(MainWindow::BreakersPageIndex)->shortcut(),
                 QKeySequence(Qt::CTRL | Qt::Key_6));
    }

    void requestsPageFills()
    {
        m_f->window->pageAction(MainWindow::RequestsPageIndex)->trigger();
        RequestsPage *page = m_f->window->requestsPage();
        QVERIFY(page->isVisible());
        TimeChart *rates = page->rateChart();
        QTRY_VERIFY_WITH_TIMEOUT(rates->pointCount(RequestsPage::RequestRateSeries) > 0, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(rates->pointCount(RequestsPage::BackendRateSeries) > 0, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(page->ratioChart()->pointCount(RequestsPage::CoalesceRatioSeries) > 0,
                                 kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(page->ratioChart()->pointCount(RequestsPage::CacheHitRatioSeries) > 0,
                                 kTimeoutMs);
        const QString host = m_f->demoHost();
        QTRY_VERIFY_WITH_TIMEOUT(page->latencySeriesIndex(host) >= 0 &&
                                     page->latencyChart()->pointCount(page->latencySeriesIndex(host)) > 0,
                                 kTimeoutMs);
        // The demo sends a burst of identical requests every 3 s: they coalesce.
        QTRY_VERIFY_WITH_TIMEOUT(page->topKeysModel()->rowCount() > 0, kTimeoutMs);
        const QModelIndex first = page->topKeysModel()->index(0, TopKeysModel::KeyColumn);
        QVERIFY(!first.data().toString().isEmpty());
        QVERIFY(first.data(TopKeysModel::CoalescedRole).toULongLong() > 0);

        // Real numbers: a rate in req/s, ratios as percentages within 0-100.
        QTRY_VERIFY_WITH_TIMEOUT(
            page->tile(QStringLiteral("requests"))->valueText().endsWith(QStringLiteral("req/s")),
            kTimeoutMs);
        const QList<QPointF> ratios = page->ratioChart()->points(RequestsPage::CacheHitRatioSeries);
        for (const QPointF &p : ratios)
            QVERIFY2(p.y() >= 0 && p.y() <= 100, qPrintable(QString::number(p.y())));
        QTRY_VERIFY_WITH_TIMEOUT(
            page->tile(QStringLiteral("latencyP50"))->valueText().endsWith(QStringLiteral("ms")), kTimeoutMs);
    }

    void connectionsPageShowsTheDemoHost()
    {
        m_f->window->pageAction(MainWindow::ConnectionsPageIndex)->trigger();
        ConnectionsPage *page = m_f->window->connectionsPage();
        PoolModel *pools = page->poolModel();
        const QString host = m_f->demoHost();
        QTRY_VERIFY_WITH_TIMEOUT(pools->rowOfKey(host) >= 0, kTimeoutMs);
        const int row = pools->rowOfKey(host);
        QTRY_VERIFY_WITH_TIMEOUT(pools->index(row, 0).data(PoolModel::RequestsRole).toULongLong() > 0,
                                 kTimeoutMs);
        QCOMPARE(pools->index(row, PoolModel::HostColumn).data().toString(), host);
        QCOMPARE(pools->index(row, PoolModel::MaxColumn).data().toInt(),
                 m_f->engine->http()->config().defaults.maxConnections);
        QTRY_VERIFY_WITH_TIMEOUT(page->hostSeriesIndex(host) >= 0 &&
                                     page->reuseChart()->pointCount(page->hostSeriesIndex(host)) > 0,
                                 kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(page->tile(QStringLiteral("reuse"))->valueText().endsWith(QLatin1Char('%')),
                                 kTimeoutMs);
        // The host keeps its row across updates.
        const QPersistentModelIndex kept = pools->index(row, 0);
        const int applied = page->appliedCount();
        QTRY_VERIFY_WITH_TIMEOUT(page->appliedCount() >= applied + 3, kTimeoutMs);
        QCOMPARE(kept.row(), row);
        QCOMPARE(pools->rowOfKey(host), row);
    }

    void breakerTilesAppear()
    {
        m_f->window->pageAction(MainWindow::BreakersPageIndex)->trigger();
        BreakerTileGrid *grid = m_f->window->breakersPage()->grid();
        const QString host = m_f->demoHost();
        // The host's breaker and one per endpoint.
        QTRY_VERIFY_WITH_TIMEOUT(grid->tile(host) != nullptr, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(grid->tileCount() >= 3, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(grid->tile(host)->data().volume.has_value(), kTimeoutMs);
        QVERIFY(grid->tile(host)->isVisible());
        QCOMPARE(grid->tile(host)->data().state, QStringLiteral("closed"));
        QTRY_VERIFY_WITH_TIMEOUT(!grid->tile(host)->data().failureRateHistory.isEmpty(), kTimeoutMs);
        QVERIFY(!grid->tile(host)->latencyText().isEmpty());
    }

    void forceOpenAndResetThroughThePage()
    {
        m_f->window->setCurrentPage(MainWindow::BreakersPageIndex);
        BreakersPage *page = m_f->window->breakersPage();
        const QString host = m_f->demoHost();
        QTRY_VERIFY_WITH_TIMEOUT(page->grid()->tile(host) != nullptr, kTimeoutMs);
        QVERIFY(!page->forceOpenAction()->isEnabled()); // nothing selected yet

        QTest::mouseClick(page->grid()->tile(host), Qt::LeftButton);
        QCOMPARE(page->grid()->selectedBreaker(), host);
        QVERIFY(page->grid()->tile(host)->isSelected());
        QVERIFY(page->forceOpenAction()->isEnabled());

        // Declined: nothing happens.
        m_f->confirmAnswer = false;
        const int asked = m_f->confirmations;
        page->forceOpenAction()->trigger();
        QCOMPARE(m_f->confirmations, asked + 1);
        QVERIFY(m_f->breakerState(host) != QStringLiteral("forced_open"));

        // Confirmed: the client's breaker is forced open and the journal shows it.
        m_f->confirmAnswer = true;
        QSignalSpy commanded(page, &BreakersPage::breakerCommanded);
        page->forceOpenAction()->trigger();
        QCOMPARE(m_f->confirmations, asked + 2);
        QCOMPARE(commanded.count(), 1);
        QCOMPARE(m_f->breakerState(host), QStringLiteral("forced_open"));
        BreakerTransitionModel *transitions = page->transitionModel();
        QTRY_VERIFY_WITH_TIMEOUT(transitionRow(transitions, host, QStringLiteral("forced_open")) >= 0,
                                 kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(page->grid()->tile(host)->data().state, QStringLiteral("forced_open"),
                                  kTimeoutMs);
        QCOMPARE(page->grid()->tile(host)->stateText(), QStringLiteral("Forced open"));
        // Calls are now rejected.
        QTRY_VERIFY_WITH_TIMEOUT(page->grid()->tile(host)->data().rejected > 0, kTimeoutMs);
        // The Overview's breakers tile names it (amber at least: the demo's fault window may
        // open another one meanwhile).
        m_f->window->setCurrentPage(MainWindow::OverviewPageIndex);
        HealthTile *overviewTile = m_f->window->overviewPage()->tile(OverviewPage::breakersTileId());
        QVERIFY(overviewTile);
        QTRY_VERIFY_WITH_TIMEOUT(overviewTile->reasonText().contains(QStringLiteral("Forced by an operator: ") + host),
                                 kTimeoutMs);
        QVERIFY(overviewTile->health() >= Health::Warning);
        m_f->window->setCurrentPage(MainWindow::BreakersPageIndex);

        page->resetAction()->trigger();
        QCOMPARE(m_f->breakerState(host), QStringLiteral("closed"));
        QTRY_VERIFY_WITH_TIMEOUT(transitionRow(transitions, host, QStringLiteral("closed")) >= 0, kTimeoutMs);
        // Newest first: the reset is above the forced opening.
        QVERIFY(transitionRow(transitions, host, QStringLiteral("closed")) <
                transitionRow(transitions, host, QStringLiteral("forced_open")));
        QTRY_COMPARE_WITH_TIMEOUT(page->grid()->tile(host)->data().state, QStringLiteral("closed"),
                                  kTimeoutMs);
    }

    void breakerActionsHaveShortcuts()
    {
        m_f->window->setCurrentPage(MainWindow::BreakersPageIndex);
        m_f->window->activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(m_f->window.get()));
        BreakersPage *page = m_f->window->breakersPage();
        const QString host = m_f->demoHost();
        QTRY_VERIFY_WITH_TIMEOUT(page->grid()->tile(host) != nullptr, kTimeoutMs);

        // Each action has its key, scoped to the page, and says so in its tooltip.
        const QList<QPair<QAction *, QKeySequence>> keys = {
            {page->forceOpenAction(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O)},
            {page->forceClosedAction(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L)},
            {page->resetAction(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B)}};
        for (const auto &[action, key] : keys) {
            QCOMPARE(action->shortcut(), key);
            QCOMPARE(action->shortcutContext(), Qt::WidgetWithChildrenShortcut);
            QVERIFY(action->isShortcutVisibleInContextMenu());
            QVERIFY2(action->toolTip().contains(key.toString(QKeySequence::NativeText)),
                     qPrintable(action->toolTip()));
            QVERIFY(page->actions().contains(action));
        }
        // No other action of the window uses these keys.
        const QList<QAction *> all = m_f->window->findChildren<QAction *>();
        for (QAction *other : all)
            for (const auto &[action, key] : keys)
                if (other != action)
                    QVERIFY2(other->shortcut() != key, qPrintable(other->text()));

        // Selecting a tile puts the focus on the page, where the keys act.
        QTest::mouseClick(page->grid()->tile(host), Qt::LeftButton);
        QCOMPARE(page->grid()->selectedBreaker(), host);
        QWidget *focus = QApplication::focusWidget();
        QVERIFY2(focus && page->isAncestorOf(focus), focus ? focus->metaObject()->className() : "no focus");

        m_f->confirmAnswer = true;
        const int asked = m_f->confirmations;
        QTest::keyClick(focus, Qt::Key_O, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(m_f->confirmations, asked + 1); // still confirmed first
        QCOMPARE(m_f->breakerState(host), QStringLiteral("forced_open"));
        QTest::keyClick(focus, Qt::Key_L, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(m_f->breakerState(host), QStringLiteral("forced_closed"));
        QTest::keyClick(focus, Qt::Key_B, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(m_f->breakerState(host), QStringLiteral("closed"));
        QCOMPARE(m_f->confirmations, asked + 3);

        // Declined from the keyboard: nothing happens.
        m_f->confirmAnswer = false;
        QTest::keyClick(focus, Qt::Key_O, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(m_f->confirmations, asked + 4);
        QCOMPARE(m_f->breakerState(host), QStringLiteral("closed"));
        m_f->confirmAnswer = true;
    }

    void hiddenPagesDoNotRedraw()
    {
        m_f->window->setCurrentPage(MainWindow::BreakersPageIndex);
        RequestsPage *requests = m_f->window->requestsPage();
        const int requestsApplied = requests->appliedCount();
        const int breakersApplied = m_f->window->breakersPage()->appliedCount();
        QTRY_VERIFY_WITH_TIMEOUT(m_f->window->breakersPage()->appliedCount() >= breakersApplied + 3,
                                 kTimeoutMs);
        QCOMPARE(requests->appliedCount(), requestsApplied);
        m_f->window->setCurrentPage(MainWindow::RequestsPageIndex);
        QCOMPARE(requests->appliedCount(), requestsApplied + 1);
    }

    void minimisedWindowDoesNoChartWork()
    {
        m_f->window->setCurrentPage(MainWindow::ConnectionsPageIndex);
        ConnectionsPage *page = m_f->window->connectionsPage();
        TimeChart *chart = page->reuseChart();
        QTRY_VERIFY_WITH_TIMEOUT(chart->renderCount() > 0, kTimeoutMs);

        m_f->window->showMinimized();
        QTRY_VERIFY_WITH_TIMEOUT(m_f->window->isMinimized(), kTimeoutMs);
        QTest::qWait(600); // a redraw already due may still land
        const int applied = page->appliedCount();
        const int renders = chart->renderCount();
        // Snapshots keep coming (every 200 ms here), and are kept, but nothing is drawn.
        QSignalSpy snapshots(m_f->engine.get(), &Engine::snapshotAvailable);
        QTRY_VERIFY_WITH_TIMEOUT(snapshots.count() >= 8, kTimeoutMs);
        QCOMPARE(page->appliedCount(), applied);
        QCOMPARE(chart->renderCount(), renders);
        QCOMPARE(page->snapshot(), snapshots.last().at(0).value<SnapshotPtr>());

        // Restored: the newest snapshot is drawn at once.
        m_f->window->showNormal();
        QVERIFY(QTest::qWaitForWindowExposed(m_f->window.get()));
        QTRY_VERIFY_WITH_TIMEOUT(page->appliedCount() > applied, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(chart->renderCount() > renders, kTimeoutMs);
    }

    void poolRowsStayInPlace()
    {
        PoolModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const QString a = QStringLiteral("a:80");
        const QString b = QStringLiteral("b:80");
        const QString c = QStringLiteral("c:80");
        const QString d = QStringLiteral("d:80");
        model.setPools({pool(a, 1), pool(b, 2), pool(c, 3)});
        QCOMPARE(model.keys(), (QStringList{a, b, c}));
        const QPersistentModelIndex bIndex = model.index(1, PoolModel::RequestsColumn);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);

        // Reported in another order, with new numbers and a new host: rows keep their place.
        model.setPools({pool(c, 30), pool(d, 4), pool(b, 2), pool(a, 10)});
        QCOMPARE(model.keys(), (QStringList{a, b, c, d}));
        QCOMPARE(bIndex.row(), 1);
        QCOMPARE(model.index(0, 0).data(PoolModel::RequestsRole).toULongLong(), quint64(10));
        QCOMPARE(model.index(2, 0).data(PoolModel::RequestsRole).toULongLong(), quint64(30));
        QVERIFY(changed.count() >= 1);

        // Unchanged data: no signal at all.
        changed.clear();
        model.setPools({pool(c, 30), pool(d, 4), pool(b, 2), pool(a, 10)});
        QCOMPARE(changed.count(), 0);

        // A host that goes away takes its row; the others stay in order.
        model.setPools({pool(a, 11), pool(d, 5)});
        QCOMPARE(model.keys(), (QStringList{a, d}));
        QVERIFY(!bIndex.isValid());

        // No request yet: no reuse ratio rather than a made-up 0 %.
        model.setPools({pool(a, 0)});
        QCOMPARE(model.index(0, PoolModel::ReuseColumn).data().toString(), QStringLiteral("—"));
        QVERIFY(!model.index(0, 0).data(PoolModel::ReuseRatioRole).isValid());
    }

    void topKeysKeepTheirRows()
    {
        TopKeysModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const QString x = QStringLiteral("GET http://h/x");
        const QString y = QStringLiteral("GET http://h/y");
        const QString z = QStringLiteral("GET http://h/z");
        model.setKeys({{x, 30}, {y, 20}});
        QCOMPARE(model.keys(), (QStringList{x, y}));
        // y overtakes x: the rank changes, the rows do not.
        model.setKeys({{y, 50}, {x, 31}, {z, 2}});
        QCOMPARE(model.keys(), (QStringList{x, y, z}));
        QCOMPARE(model.index(0, 0).data(TopKeysModel::RankRole).toInt(), 2);
        QCOMPARE(model.index(1, 0).data(TopKeysModel::RankRole).toInt(), 1);
        QCOMPARE(model.index(1, 0).data(TopKeysModel::CoalescedRole).toULongLong(), quint64(50));
        model.setKeys({{z, 3}});
        QCOMPARE(model.keys(), QStringList{z});
        model.setKeys({});
        QCOMPARE(model.rowCount(), 0);
    }

    void transitionsInsertAtTheTop()
    {
        BreakerTransitionModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        EngineEvent other;
        other.wallMs = 1000;
        other.kind = QStringLiteral("stall");
        other.message = QStringLiteral("not a breaker");
        QList<EngineEvent> events{other, breakerEvent(1001, QStringLiteral("h:1"), QStringLiteral("closed"),
                                                      QStringLiteral("open"))};
        model.setEvents(events);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.index(0, BreakerTransitionModel::BreakerColumn).data().toString(),
                 QStringLiteral("h:1"));
        QCOMPARE(model.index(0, BreakerTransitionModel::FromColumn).data().toString(),
                 QStringLiteral("Closed"));
        QCOMPARE(model.index(0, BreakerTransitionModel::ToColumn).data().toString(), QStringLiteral("Open"));
        QCOMPARE(model.index(0, BreakerTransitionModel::ReasonColumn).data().toString(),
                 QStringLiteral("because"));
        const QPersistentModelIndex first = model.index(0, 0);

        // The same journal again: nothing changes.
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        model.setEvents(events);
        QCOMPARE(inserted.count(), 0);

        events.append(
            breakerEvent(1002, QStringLiteral("h:1"), QStringLiteral("open"), QStringLiteral("half_open")));
        events.append(breakerEvent(1002, QStringLiteral("h:2"), QStringLiteral("closed"),
                                   QStringLiteral("forced_open")));
        model.setEvents(events);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(model.index(0, 0).data(BreakerTransitionModel::ToStateRole).toString(),
                 QStringLiteral("forced_open"));
        QCOMPARE(model.index(1, 0).data(BreakerTransitionModel::ToStateRole).toString(),
                 QStringLiteral("half_open"));
        QCOMPARE(first.row(), 2); // the selected transition moved down with its row

        // Older events falling off the journal do not remove rows already shown.
        events.removeFirst();
        events.removeFirst();
        model.setEvents(events);
        QCOMPARE(model.rowCount(), 3);
    }

    void breakerSortingHasHysteresis()
    {
        BreakerTileGrid grid;
        const QString a = QStringLiteral("a");
        const QString b = QStringLiteral("b");
        const QString c = QStringLiteral("c");
        grid.setSortKey(BreakerTileGrid::SortKey::ErrorRate);
        grid.setBreakers({breaker(a, 0.10, 50, 5), breaker(b, 0.30, 50, 20), breaker(c, 0.20, 50, 10)});
        QCOMPARE(grid.order(), (QStringList{b, c, a}));

        // c creeps past b by less than the margin: no swap.
        grid.setBreakers({breaker(a, 0.10, 50, 5), breaker(b, 0.30, 50, 20), breaker(c, 0.33, 50, 10)});
        QCOMPARE(grid.order(), (QStringList{b, c, a}));
        // Clearly ahead: it passes.
        grid.setBreakers({breaker(a, 0.10, 50, 5), breaker(b, 0.30, 50, 20), breaker(c, 0.40, 50, 10)});
        QCOMPARE(grid.order(), (QStringList{c, b, a}));
        // Back to nearly equal: the current order holds.
        grid.setBreakers({breaker(a, 0.10, 50, 5), breaker(b, 0.31, 50, 20), breaker(c, 0.29, 50, 10)});
        QCOMPARE(grid.order(), (QStringList{c, b, a}));

        grid.setSortKey(BreakerTileGrid::SortKey::Volume);
        QCOMPARE(grid.order(), (QStringList{b, c, a}));
        grid.setSortKey(BreakerTileGrid::SortKey::Name);
        QCOMPARE(grid.order(), (QStringList{a, b, c}));

        // Breakers without calls or metrics go after those with evidence.
        QHash<QString, BreakerTileData> data;
        data.insert(a, breaker(a, 0.0, 0, std::nullopt));
        data.insert(b, breaker(b, 0.0, 10, 0.0));
        QCOMPARE(BreakerTileGrid::arrange({a, b}, data, BreakerTileGrid::SortKey::ErrorRate),
                 (QStringList{b, a}));
        QCOMPARE(BreakerTileGrid::arrange({a, b}, data, BreakerTileGrid::SortKey::Volume),
                 (QStringList{b, a}));
        // Ties keep the current order whatever it is.
        data.insert(a, breaker(a, 0.0, 10, 0.0));
        QCOMPARE(BreakerTileGrid::arrange({b, a}, data, BreakerTileGrid::SortKey::ErrorRate),
                 (QStringList{b, a}));
        QCOMPARE(BreakerTileGrid::arrange({a, b}, data, BreakerTileGrid::SortKey::ErrorRate),
                 (QStringList{a, b}));
    }

    void breakerOrderHoldsUnderThePointer()
    {
        BreakerTileGrid grid;
        grid.resize(BreakerTile::kMinimumWidth * 2 + 20, 400);
        const QString a = QStringLiteral("a");
        const QString b = QStringLiteral("b");
        const QString c = QStringLiteral("c");
        grid.setBreakers({breaker(a, 0.10, 50, 5), breaker(b, 0.30, 50, 20)});
        QCOMPARE(grid.order(), (QStringList{b, a}));
        const QPoint bPlace = grid.tile(b)->pos();

        QSignalSpy frozen(&grid, &BreakerTileGrid::orderFrozenChanged);
        sendEvent(&grid, QEvent::Enter);
        QVERIFY(grid.isOrderFrozen());
        QCOMPARE(frozen.count(), 1);
        // a turns bad and c appears: values update, but nothing moves while the pointer is here.
        grid.setBreakers({breaker(a, 0.90, 50, 5), breaker(b, 0.30, 50, 20), breaker(c, 0.99, 50, 1)});
        QCOMPARE(grid.order(), (QStringList{b, a, c}));
        QCOMPARE(grid.tile(b)->pos(), bPlace);
        QCOMPARE(grid.tile(a)->data().failureRate, 0.90);

        // An explicit choice still applies at once.
        sendEvent(&grid, QEvent::Leave);
        QVERIFY(!grid.isOrderFrozen());
        QCOMPARE(grid.order(), (QStringList{c, a, b}));
        sendEvent(&grid, QEvent::Enter);
        grid.setSortKey(BreakerTileGrid::SortKey::Name);
        QCOMPARE(grid.order(), (QStringList{a, b, c}));
        sendEvent(&grid, QEvent::Leave);
    }

    void breakerFilter()
    {
        BreakerTileGrid grid;
        grid.resize(BreakerTile::kMinimumWidth * 3 + 20, 400);
        const QString host = QStringLiteral("127.0.0.1:8080");
        const QString search = QStringLiteral("127.0.0.1:8080 GET /search");
        const QString external = QStringLiteral("127.0.0.1:8080 GET /external/items/{id}");
        grid.setSortKey(BreakerTileGrid::SortKey::Volume);
        grid.setBreakers(
            {breaker(host, 0, 10, 30), breaker(search, 0, 10, 10), breaker(external, 0.5, 10, 20)});
        QCOMPARE(grid.visibleOrder(), (QStringList{host, external, search}));
        grid.setSelectedBreaker(search);

        grid.setFilterText(QStringLiteral("  EXTERNAL "));
        QCOMPARE(grid.visibleOrder(), QStringList{external});
        QVERIFY(grid.tile(external)->isVisibleTo(&grid));
        QVERIFY(!grid.tile(host)->isVisibleTo(&grid));
        QCOMPARE(grid.tile(external)->pos(), QPoint(0, 0));
        QCOMPARE(grid.order().size(), 3);          // hidden, not dropped
        QVERIFY(grid.selectedBreaker().isEmpty()); // a hidden tile cannot stay the target of actions

        grid.setFilterText(QString());
        QCOMPARE(grid.visibleOrder(), (QStringList{host, external, search}));
        QVERIFY(grid.tile(search)->isVisibleTo(&grid));
    }

    void breakersPageControls()
    {
        BreakersPage page(nullptr);
        page.resize(1000, 700);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto snapshot = std::make_shared<Snapshot>();
        for (const auto &[name, rate] :
             {std::pair{QStringLiteral("h:1"), 0.0}, std::pair{QStringLiteral("h:1 GET /a"), 0.6},
              std::pair{QStringLiteral("h:1 GET /b"), 0.2}}) {
            BreakerInfo info;
            info.name = name;
            info.state = rate >= 0.5 ? QStringLiteral("open") : QStringLiteral("closed");
            info.failureRate = rate;
            info.callsInWindow = 20;
            snapshot->http.breakers.append(info);
        }
        page.setSnapshot(snapshot);
        BreakerTileGrid *grid = page.grid();
        QCOMPARE(grid->tileCount(), 3);
        QCOMPARE(grid->order().first(), QStringLiteral("h:1 GET /a"));
        // No metrics in this snapshot: no volume or latency rather than zeros.
        QCOMPARE(grid->tile(QStringLiteral("h:1"))->volumeText(), QStringLiteral("—"));
        QCOMPARE(grid->tile(QStringLiteral("h:1 GET /a"))->stateText(), QStringLiteral("Open"));
        QCOMPARE(grid->tile(QStringLiteral("h:1 GET /a"))->data().endpoint, QStringLiteral("GET /a"));
        QCOMPARE(grid->tile(QStringLiteral("h:1 GET /a"))->data().host, QStringLiteral("h:1"));

        page.sortCombo()->setCurrentIndex(page.sortCombo()->findData(int(BreakerTileGrid::SortKey::Name)));
        QCOMPARE(grid->sortKey(), BreakerTileGrid::SortKey::Name);
        QCOMPARE(grid->order(), (QStringList{QStringLiteral("h:1"), QStringLiteral("h:1 GET /a"),
                                             QStringLiteral("h:1 GET /b")}));
        page.filterEdit()->setText(QStringLiteral("/b"));
        QCOMPARE(grid->visibleOrder(), QStringList{QStringLiteral("h:1 GET /b")});

        // Without an engine there is nothing to command.
        grid->setSelectedBreaker(QStringLiteral("h:1 GET /b"));
        QVERIFY(!page.forceOpenAction()->isEnabled());
    }

    void splitterSizesSurviveThePage()
    {
        const QString key =
            SnapshotPage::splitterSettingsKey(QStringLiteral("connections"), QStringLiteral("verticalSplitter"));
        QCOMPARE(key, QStringLiteral("layout/connections/verticalSplitter"));
        QSettings().remove(key);
        QList<int> moved;
        {
            ConnectionsPage page(nullptr);
            page.resize(1100, 800);
            page.show();
            QVERIFY(QTest::qWaitForWindowExposed(&page));
            auto *splitter = page.findChild<QSplitter *>(QStringLiteral("verticalSplitter"));
            QVERIFY(splitter);
            const QList<int> before = splitter->sizes();
            QCOMPARE(before.size(), 2);
            // The operator drags the handle between the chart rows 100 px down.
            QSplitterHandle *handle = splitter->handle(1);
            const QPoint from = handle->rect().center();
            const QPoint to = from + QPoint(0, 100);
            auto send = [handle](QEvent::Type type, const QPoint &pos, Qt::MouseButtons buttons) {
                QMouseEvent event(type, QPointF(pos), QPointF(handle->mapToGlobal(pos)),
                                  type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton, buttons,
                                  Qt::NoModifier);
                QCoreApplication::sendEvent(handle, &event);
            };
            send(QEvent::MouseButtonPress, from, Qt::LeftButton);
            send(QEvent::MouseMove, to, Qt::LeftButton);
            send(QEvent::MouseButtonRelease, to, Qt::NoButton);
            moved = splitter->sizes();
            QVERIFY2(moved.at(0) >= before.at(0) + 90, qPrintable(QStringLiteral("%1 -> %2").arg(before.at(0)).arg(moved.at(0))));
            QVERIFY(!QSettings().contains(key) || QSettings().value(key).toByteArray() == splitter->saveState());
        } // closing the page saves what was moved
        QVERIFY(QSettings().contains(key));

        ConnectionsPage again(nullptr);
        again.resize(1100, 800);
        again.show();
        QVERIFY(QTest::qWaitForWindowExposed(&again));
        auto *splitter = again.findChild<QSplitter *>(QStringLiteral("verticalSplitter"));
        QVERIFY(splitter);
        const QList<int> restored = splitter->sizes();
        QCOMPARE(restored.size(), moved.size());
        for (int i = 0; i < moved.size(); ++i)
            QVERIFY2(std::abs(restored.at(i) - moved.at(i)) <= 2,
                     qPrintable(QStringLiteral("pane %1: %2 != %3").arg(i).arg(restored.at(i)).arg(moved.at(i))));

        // A saved state that does not fit (garbage) leaves the default layout, without a crash.
        QSettings().setValue(key, QByteArray("not a splitter state"));
        ConnectionsPage third(nullptr);
        QVERIFY(third.findChild<QSplitter *>(QStringLiteral("verticalSplitter")));
        QSettings().remove(key);
    }

    /// Grabs the new pages when VEGA_UI_SCREENSHOT_DIR is set (for docs and visual checks).
    void screenshots()
    {
        const QString dir = qEnvironmentVariable("VEGA_UI_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set VEGA_UI_SCREENSHOT_DIR to save screenshots");
        // Some history, and the external API failing so the breakers have something to show.
        m_f->engine->demo()->backend()->setFaultActive(true);
        QTest::qWait(8000);
        const QList<QPair<int, QString>> pages = {
            {MainWindow::RequestsPageIndex, QStringLiteral("requests")},
            {MainWindow::ConnectionsPageIndex, QStringLiteral("connections")},
            {MainWindow::BreakersPageIndex, QStringLiteral("breakers")}};
        for (const auto &[index, name] : pages) {
            m_f->window->setCurrentPage(index);
            QTest::qWait(1500); // a coalesced chart update
            QVERIFY(
                m_f->window->grab().save(QDir(dir).filePath(QStringLiteral("vega-ui2-%1.png").arg(name))));
        }
        m_f->engine->demo()->backend()->resumeFaultSchedule();
    }
};

QTEST_MAIN(TestUiPipeline)
#include "tst_ui_pipeline.moc"
