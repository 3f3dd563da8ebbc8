// The console watching several agents: two real agents (engines with their admin API) and
// the local engine in one window, offscreen.
#include "adminapi.h"
#include "agenttestsupport.h"
#include "breakerspage.h"
#include "connectdialog.h"
#include "engine.h"
#include "fleetmodel.h"
#include "fleetpage.h"
#include "healthtile.h"
#include "mainwindow.h"
#include "overviewpage.h"
#include "remoteagent.h"
#include "sourceview.h"
#include "stattile.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace vega;
using namespace vega::ui;
using namespace vega::testsupport;
using Agent = vega::testsupport::TestAgent;

namespace {
constexpr int kTimeoutMs = 20000;


struct Window {
    QTemporaryDir settingsDir;
    std::unique_ptr<Engine> local;
    std::unique_ptr<MainWindow> window;
    Window()
    {
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());
        EngineConfig config;
        config.metrics.snapshotIntervalMs = 250;
        local = std::make_unique<Engine>(config, EngineOptions{});
        local->start();
        window = std::make_unique<MainWindow>(local.get());
        window->setConfirmFunction([](QWidget *, const QString &, const QString &) { return true; });
        window->show();
    }
    ~Window() { window.reset(); }
};
} // namespace

class TestUiFleet : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QCoreApplication::setOrganizationName(QStringLiteral("VegaTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_ui_fleet"));
    }

    void consoleShowsTwoAgentsAndTheFleet()
    {
        Agent a(QStringLiteral("agent-a"));
        Agent b(QStringLiteral("agent-b"));
        Window w;
        FleetModel *model = w.window->fleetPage()->model();
        QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);

        RemoteAgent *ra = w.window->connectAgent(a.remote());
        RemoteAgent *rb = w.window->connectAgent(b.remote());
        QCOMPARE(w.window->sources().size(), 3);
        QTRY_VERIFY_WITH_TIMEOUT(ra->latest() && rb->latest(), kTimeoutMs);
        QCOMPARE(ra->sourceName(), QStringLiteral("agent-a"));
        QCOMPARE(rb->sourceName(), QStringLiteral("agent-b"));

        // The source selector lists all three; each agent has every page.
        auto *selector = w.window->findChild<QComboBox *>(QStringLiteral("sourceSelector"));
        QVERIFY(selector);
        QTRY_COMPARE_WITH_TIMEOUT(selector->count(), 3, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(selector->itemText(1).startsWith(QStringLiteral("agent-a")), kTimeoutMs);
        SourceView *viewA = w.window->sourceView(1);
        QVERIFY(viewA);
        QCOMPARE(viewA->source(), ra);
        QCOMPARE(viewA->pageCount(), int(MainWindow::FleetPageIndex));
        w.window->setCurrentSource(ra);
        w.window->setCurrentPage(MainWindow::OverviewPageIndex);
        QCOMPARE(w.window->currentSource(), ra);
        QVERIFY(w.window->windowTitle().contains(QStringLiteral("agent-a")));
        QTRY_VERIFY_WITH_TIMEOUT(viewA->overviewPage()->appliedCount() > 0, kTimeoutMs);

        // The fleet view: three rows, both agents connected, tiles with their names.
        w.window->setCurrentPage(MainWindow::FleetPageIndex);
        FleetPage *fleet = w.window->fleetPage();
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                fleet->refresh();
                return model->rowCount() == 3 && model->totals().connected == 3;
            }(),
            kTimeoutMs);
        QCOMPARE(model->totals().lost, 0);
        QStringList names;
        for (int row = 0; row < model->rowCount(); ++row)
            names.append(model->rowData(row).name);
        QCOMPARE(names, (QStringList{QStringLiteral("local"), QStringLiteral("agent-a"), QStringLiteral("agent-b")}));
        QVERIFY(fleet->tileFor(ra));
        QVERIFY(fleet->summaryTile(QStringLiteral("sources"))->valueText().startsWith(QStringLiteral("3 / 3")));

        // A tile opens that agent's pages.
        QSignalSpy activated(fleet, &FleetPage::sourceActivated);
        QTest::mouseClick(fleet->tileFor(rb), Qt::LeftButton);
        QCOMPARE(activated.count(), 1);
        QCOMPARE(w.window->currentSource(), rb);
        QCOMPARE(w.window->currentPage(), int(MainWindow::OverviewPageIndex));

        // Actions to every source: a reset reaches both agents and the local engine.
        const int resetsA = a.engine->latest()->metrics->resetCount;
        const int resetsB = b.engine->latest()->metrics->resetCount;
        const int resetsLocal = w.local->latest()->metrics->resetCount;
        w.window->setActionsToAllSources(true);
        QCOMPARE(w.window->actionTargets().size(), 3);
        w.window->resetStats();
        QTRY_COMPARE_WITH_TIMEOUT(a.engine->latest()->metrics->resetCount, resetsA + 1, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(b.engine->latest()->metrics->resetCount, resetsB + 1, kTimeoutMs);
        QCOMPARE(w.local->latest()->metrics->resetCount, resetsLocal + 1);
        // Only the current one when it is off.
        w.window->setActionsToAllSources(false);
        QCOMPARE(w.window->actionTargets(), (QList<SnapshotSource *>{rb}));
        w.window->resetStats();
        QTRY_COMPARE_WITH_TIMEOUT(b.engine->latest()->metrics->resetCount, resetsB + 2, kTimeoutMs);
        QCOMPARE(a.engine->latest()->metrics->resetCount, resetsA + 1);

        // Agent B goes away: its row says lost, its last figures stay, the fleet counts it.
        b.api->stop();
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                fleet->refresh();
                return model->totals().lost == 1;
            }(),
            kTimeoutMs);
        QVERIFY(rb->latest());
        QVERIFY2(fleet->tileFor(rb)->reasonText().contains(QStringLiteral("lost")),
                 qPrintable(fleet->tileFor(rb)->reasonText()));
        QTRY_VERIFY_WITH_TIMEOUT(selector->itemText(2).contains(QStringLiteral("lost")), kTimeoutMs);
        QVERIFY(w.window->isStale() || rb->link() == SnapshotSource::Link::Lost);

        // Disconnecting removes its view and its row; the local engine cannot be removed.
        w.window->removeSource(rb);
        QCOMPARE(w.window->sources().size(), 2);
        QCOMPARE(w.window->currentSource(), w.local.get());
        fleet->refresh();
        QCOMPARE(model->rowCount(), 2);
        w.window->removeSource(w.local.get());
        QCOMPARE(w.window->sources().size(), 2);
    }

    void breakerCommandsGoToEverySourceWhenAsked()
    {
        Agent a(QStringLiteral("agent-a"));
        Window w;
        RemoteAgent *ra = w.window->connectAgent(a.remote());
        QTRY_VERIFY_WITH_TIMEOUT(ra->latest(), kTimeoutMs);
        w.window->setActionsToAllSources(true);
        // The Breakers page of the local view sends to every source.
        QList<SnapshotSource *> targets = w.window->actionTargets();
        QCOMPARE(targets.size(), 2);
        QVERIFY(targets.contains(ra));
    }

    void connectDialogNamesTheProblem()
    {
        ConnectDialog dialog;
        dialog.setAddress(QStringLiteral("ftp://h:1"));
        QVERIFY(!dialog.check());
        QVERIFY2(dialog.errorText().contains(QStringLiteral("ftp")), qPrintable(dialog.errorText()));

        dialog.setAddress(QStringLiteral("web1=127.0.0.1:9555"));
        dialog.setKeyEnvironmentVariable(QStringLiteral("VEGA_TEST_SURELY_UNSET_VARIABLE"));
        QVERIFY(!dialog.check());
        QVERIFY2(dialog.errorText().contains(QStringLiteral("VEGA_TEST_SURELY_UNSET_VARIABLE")),
                 qPrintable(dialog.errorText()));

        qputenv("VEGA_TEST_FLEET_KEY", "k-123");
        dialog.setKeyEnvironmentVariable(QStringLiteral("VEGA_TEST_FLEET_KEY"));
        QVERIFY2(dialog.check(), qPrintable(dialog.errorText()));
        QCOMPARE(dialog.options().apiKey, QByteArray("k-123"));
        QCOMPARE(dialog.options().name, QStringLiteral("web1"));
        QCOMPARE(dialog.options().baseUrl.toString(), QStringLiteral("http://127.0.0.1:9555"));

        dialog.setKey(QString());
        QVERIFY(!dialog.check());
        dialog.setKey(QStringLiteral("typed"));
        QVERIFY(dialog.check());
        QCOMPARE(dialog.options().apiKey, QByteArray("typed"));
    }
};

QTEST_MAIN(TestUiFleet)
#include "tst_ui_fleet.moc"
