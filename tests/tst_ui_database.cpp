// The Database page against a real engine writing to a real SQLite history database.
#include "databasemodels.h"
#include "databasepage.h"
#include "engine.h"
#include "historystore.h"
#include "mainwindow.h"
#include "sqlprofiler.h"
#include "stattile.h"
#include "timechart.h"

#include <QAbstractItemModelTester>
#include <QSortFilterProxyModel>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTreeView>
#include <QtTest>

#include <memory>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 15000;

SlowQuery slow(qint64 t, const char *statement)
{
    SlowQuery q;
    q.wallMs = t;
    q.normalized = QString::fromLatin1(statement);
    q.durationMs = double(t % 1000);
    q.connection = QStringLiteral("c");
    return q;
}

QStringList statementsOf(const SlowQueryModel &model)
{
    QStringList out;
    for (int r = 0; r < model.rowCount(); ++r)
        out.append(model.index(r, SlowQueryModel::StatementColumn).data().toString());
    return out;
}
} // namespace

class TestUiDatabase : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pageShowsStorageAndProfiler()
    {
        QTemporaryDir dir;
        EngineConfig config;
        config.metrics.snapshotIntervalMs = 200;
        config.storage.flushIntervalMs = 1000;
        config.storage.slowQueryMs = 0; // every query goes to the slow log
        EngineOptions options;
        options.dataDir = dir.path();
        Engine engine(config, options);
        engine.start();

        DatabasePage page(&engine);
        QAbstractItemModelTester statementTester(page.statementModel(),
                                                 QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester slowTester(page.slowQueryModel(),
                                            QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester connectionTester(page.connectionModel(),
                                                  QAbstractItemModelTester::FailureReportingMode::QtTest);
        connect(&engine, &Engine::snapshotAvailable, &page, &DatabasePage::setSnapshot);
        page.resize(1200, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        // A query of the embedding program, routed through the profiler with its request id.
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("app-db"));
            db.setDatabaseName(dir.filePath(QStringLiteral("app.db")));
            QVERIFY(db.open());
            QSqlQuery q(db);
            QVERIFY(engine.sqlProfiler()->exec(q, QStringLiteral("SELECT 40 + 2"), QStringLiteral("request-42")));
        }
        QSqlDatabase::removeDatabase(QStringLiteral("app-db"));

        QTRY_COMPARE_WITH_TIMEOUT(page.tile(QStringLiteral("status"))->valueText(), QStringLiteral("OK"), kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(page.statementModel()->rowOfKey(QStringLiteral("SELECT ? + ?")) >= 0, kTimeoutMs);
        // The slow log carries the correlation id and never the values.
        const SlowQueryModel *slowModel = page.slowQueryModel();
        auto findSlow = [slowModel] {
            for (int r = 0; r < slowModel->rowCount(); ++r)
                if (slowModel->entry(r).normalized == QStringLiteral("SELECT ? + ?"))
                    return r;
            return -1;
        };
        QTRY_VERIFY_WITH_TIMEOUT(findSlow() >= 0, kTimeoutMs);
        const int found = findSlow();
        QCOMPARE(slowModel->index(found, SlowQueryModel::CorrelationColumn).data().toString(),
                 QStringLiteral("request-42"));
        QCOMPARE(slowModel->index(found, SlowQueryModel::ConnectionColumn).data().toString(), QStringLiteral("app-db"));
        for (int r = 0; r < slowModel->rowCount(); ++r)
            QVERIFY(!slowModel->index(r, SlowQueryModel::StatementColumn).data().toString().contains(QLatin1String("40")));

        QTRY_VERIFY_WITH_TIMEOUT(page.connectionModel()->rowOfKey(QStringLiteral("app-db")) >= 0, kTimeoutMs);
        // The store's own writes show as statements and in the writer's tiles.
        QTRY_VERIFY_WITH_TIMEOUT(page.statementModel()->rowCount() >= 3, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(page.tile(QStringLiteral("written"))->valueText() != QStringLiteral("0") &&
                                     page.tile(QStringLiteral("written"))->valueText() != QStringLiteral("—"),
                                 kTimeoutMs);

        // Sorted by total time, largest first, through the proxy.
        auto *proxy = qobject_cast<QSortFilterProxyModel *>(page.statementView()->model());
        QVERIFY(proxy);
        QTRY_VERIFY_WITH_TIMEOUT(proxy->rowCount() >= 3, kTimeoutMs);
        for (int r = 1; r < proxy->rowCount(); ++r)
            QVERIFY(proxy->index(r - 1, StatementModel::TotalColumn).data(DatabaseSortRole).toDouble() >=
                    proxy->index(r, StatementModel::TotalColumn).data(DatabaseSortRole).toDouble());
        page.statementView()->sortByColumn(StatementModel::CallsColumn, Qt::DescendingOrder);
        for (int r = 1; r < proxy->rowCount(); ++r)
            QVERIFY(proxy->index(r - 1, StatementModel::CallsColumn).data(DatabaseSortRole).toULongLong() >=
                    proxy->index(r, StatementModel::CallsColumn).data(DatabaseSortRole).toULongLong());

        // The batch writer chart is fed from storage_rows and storage_queue_depth.
        QTRY_VERIFY_WITH_TIMEOUT(page.writeChart()->pointCount(DatabasePage::RowsWrittenSeries) > 0, kTimeoutMs);
        QVERIFY(page.writeChart()->historyStore() == nullptr); // only the main window sets it

        // Reset stats empties the profiler's tables on the page.
        engine.resetStats();
        QTRY_VERIFY_WITH_TIMEOUT(page.statementModel()->rowOfKey(QStringLiteral("SELECT ? + ?")) < 0, kTimeoutMs);
    }

    void pageWithStorageOff()
    {
        EngineConfig config;
        config.storage.enabled = false;
        Engine engine(config, EngineOptions{});
        DatabasePage page(&engine);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        QTRY_COMPARE(page.tile(QStringLiteral("status"))->valueText(), QStringLiteral("Off"));
        QCOMPARE(page.tile(QStringLiteral("queue"))->captionText(), QStringLiteral("storage off"));
    }

    void slowLogKeepsRowsInPlace()
    {
        SlowQueryModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSlowLog({slow(1000, "a"), slow(2000, "b")});
        QCOMPARE(statementsOf(model), (QStringList{QStringLiteral("b"), QStringLiteral("a")}));
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
        model.setSlowLog({slow(1000, "a"), slow(2000, "b"), slow(3000, "c")});
        QCOMPARE(statementsOf(model), (QStringList{QStringLiteral("c"), QStringLiteral("b"), QStringLiteral("a")}));
        QCOMPARE(resets.count(), 0);
        QCOMPARE(inserts.count(), 1);
        // The log is bounded: the oldest fall off the end while new ones arrive on top.
        model.setSlowLog({slow(2000, "b"), slow(3000, "c"), slow(4000, "d")});
        QCOMPARE(statementsOf(model), (QStringList{QStringLiteral("d"), QStringLiteral("c"), QStringLiteral("b")}));
        QCOMPARE(resets.count(), 0);
        // Nothing in common (a reset): replaced.
        model.setSlowLog({slow(9000, "z")});
        QCOMPARE(statementsOf(model), QStringList{QStringLiteral("z")});
        QCOMPARE(resets.count(), 1);
        model.setSlowLog({});
        QCOMPARE(model.rowCount(), 0);
    }

    void mainWindowHasTheDatabasePageAndGivesChartsHistory()
    {
        QTemporaryDir dir;
        EngineConfig config;
        EngineOptions options;
        options.dataDir = dir.path();
        Engine engine(config, options);
        MainWindow window(&engine);
        QVERIFY(window.databasePage());
        QCOMPARE(window.databasePage()->writeChart()->historyStore(), engine.history());
        const QList<TimeChart *> charts = window.findChildren<TimeChart *>();
        QVERIFY(charts.size() >= 8);
        for (const TimeChart *chart : charts)
            QCOMPARE(chart->historyStore(), engine.history());
        window.setCurrentPage(MainWindow::DatabasePageIndex);
        QCOMPARE(window.currentPage(), int(MainWindow::DatabasePageIndex));
    }
};

QTEST_MAIN(TestUiDatabase)
#include "tst_ui_database.moc"
