// The Journal page against a real engine, with and without its SQLite history database.
#include "engine.h"
#include "historystore.h"
#include "journalmodel.h"
#include "journalpage.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QtTest>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 20000;

int rowOfKind(const JournalModel &model, const QString &kind)
{
    for (int r = 0; r < model.rowCount(); ++r)
        if (model.entry(r).kind == kind)
            return r;
    return -1;
}

bool newestFirst(const JournalModel &model)
{
    for (int r = 1; r < model.rowCount(); ++r)
        if (model.entry(r - 1).tMs < model.entry(r).tMs)
            return false;
    return true;
}

bool onlyKind(const JournalModel &model, const QString &kind)
{
    for (int r = 0; r < model.rowCount(); ++r)
        if (model.entry(r).kind != kind)
            return false;
    return true;
}

JournalEntry entry(qint64 tMs, const char *kind, const QString &message)
{
    JournalEntry e;
    e.tMs = tMs;
    e.kind = QString::fromLatin1(kind);
    e.source = QStringLiteral("test");
    e.message = message;
    return e;
}

/// Waits until everything the store was given is written.
bool flushStore(HistoryStore *store)
{
    QObject context;
    bool done = false;
    bool ok = false;
    store->flush(&context, [&](bool result) {
        done = true;
        ok = result;
    });
    return QTest::qWaitFor([&] { return done; }, kTimeoutMs) && ok;
}
} // namespace

class TestUiJournal : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void journalFromTheHistoryDatabase()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        EngineConfig config;
        config.metrics.snapshotIntervalMs = 200;
        config.storage.flushIntervalMs = 200;
        EngineOptions options;
        options.dataDir = dir.path();
        Engine engine(config, options);
        engine.start();
        QVERIFY(engine.history());

        engine.resetStats(QStringLiteral("tester"));
        QTest::qWait(20); // the two entries at distinct milliseconds
        engine.metrics().recordEvent(QStringLiteral("breaker"), QStringLiteral("breaker:orders"),
                                     QStringLiteral("closed -> open: 12 of 20 failed"));
        engine.publishNow();
        QVERIFY(flushStore(engine.history()));

        EventJournalPage page(&engine);
        QVERIFY(page.readsHistory());
        QAbstractItemModelTester tester(page.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        page.resize(1100, 700);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        const JournalModel &model = *page.model();
        QTRY_VERIFY_WITH_TIMEOUT(rowOfKind(model, QStringLiteral("reset")) >= 0 &&
                                     rowOfKind(model, QStringLiteral("breaker")) >= 0,
                                 kTimeoutMs);
        QVERIFY(newestFirst(model));
        QVERIFY(rowOfKind(model, QStringLiteral("breaker")) < rowOfKind(model, QStringLiteral("reset")));
        const int breaker = rowOfKind(model, QStringLiteral("breaker"));
        QCOMPARE(model.index(breaker, JournalModel::SourceColumn).data().toString(),
                 QStringLiteral("breaker:orders"));
        QVERIFY(model.index(breaker, JournalModel::TimeColumn)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .endsWith(QLatin1Char('Z')));
        QVERIFY(model.index(breaker, JournalModel::KindColumn)
                    .data(JournalModel::KindColorRole)
                    .value<QColor>() !=
                model.index(rowOfKind(model, QStringLiteral("reset")), JournalModel::KindColumn)
                    .data(JournalModel::KindColorRole)
                    .value<QColor>());
        QVERIFY(page.statusLabel()->text().startsWith(QLatin1String("From the history database")));
        QTRY_VERIFY_WITH_TIMEOUT(!page.isLoading(), kTimeoutMs);

        // A read in flight is not started twice, however often a refresh is asked for.
        const int before = page.readsStarted();
        for (int i = 0; i < 5; ++i)
            page.refresh();
        QCOMPARE(page.readsStarted(), before + 1);
        QTRY_VERIFY_WITH_TIMEOUT(!page.isLoading(), kTimeoutMs);
        QCOMPARE(page.readsStarted(), before + 2); // the refreshes asked for meanwhile: one more read

        // The text filter works over what was read.
        page.setTextFilter(QStringLiteral("ORDERS"));
        QCOMPARE(page.proxy()->rowCount(), 1);
        page.setTextFilter(QString());

        // The kind filter reads again, for that kind only.
        page.setKindFilter(QStringLiteral("breaker"));
        QTRY_VERIFY_WITH_TIMEOUT(!page.isLoading() && model.rowCount() == 1 &&
                                     onlyKind(model, QStringLiteral("breaker")),
                                 kTimeoutMs);
        page.setKindFilter(QString());
        QTRY_VERIFY_WITH_TIMEOUT(!page.isLoading() && rowOfKind(model, QStringLiteral("reset")) >= 0,
                                 kTimeoutMs);

        // More entries than the limit: the newest ones are shown, and the page says so.
        const qint64 now = engine.metrics().wallNowMs();
        for (int i = 0; i < 7; ++i)
            engine.history()->recordEvent(
                entry(now - 30000 + i * 1000, "admin", QStringLiteral("action %1").arg(i)));
        QVERIFY(flushStore(engine.history()));
        page.setRowLimit(3);
        page.setKindFilter(QStringLiteral("admin"));
        QTRY_VERIFY_WITH_TIMEOUT(
            !page.isLoading() && page.isTruncated() && onlyKind(model, QStringLiteral("admin")), kTimeoutMs);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.entry(0).message, QStringLiteral("action 6"));
        QCOMPARE(model.entry(1).message, QStringLiteral("action 5"));
        QCOMPARE(model.entry(2).message, QStringLiteral("action 4"));
        QVERIFY2(page.statusLabel()->text().startsWith(QLatin1String("Truncated: showing the newest 3")),
                 qPrintable(page.statusLabel()->text()));

        // Hidden, the page stops reading.
        page.hide();
        QTRY_VERIFY_WITH_TIMEOUT(!page.isLoading(), kTimeoutMs);
        const int hiddenReads = page.readsStarted();
        QTest::qWait(EventJournalPage::kRefreshIntervalMs + 500);
        QCOMPARE(page.readsStarted(), hiddenReads);
        engine.stop();
    }

    void journalFromTheSnapshotWithoutStorage()
    {
        EngineConfig config;
        config.storage.enabled = false;
        Engine engine(config, EngineOptions{});
        QVERIFY(!engine.history());

        EventJournalPage page(&engine);
        QVERIFY(!page.readsHistory());
        QAbstractItemModelTester tester(page.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        connect(&engine, &Engine::snapshotAvailable, &page, &EventJournalPage::setSnapshot);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        engine.resetStats(QStringLiteral("tester"));
        QTest::qWait(20);
        engine.metrics().recordEvent(QStringLiteral("breaker"), QStringLiteral("breaker:orders"),
                                     QStringLiteral("closed -> open"));
        engine.publishNow();

        const JournalModel &model = *page.model();
        QTRY_VERIFY_WITH_TIMEOUT(rowOfKind(model, QStringLiteral("reset")) >= 0 &&
                                     rowOfKind(model, QStringLiteral("breaker")) >= 0,
                                 kTimeoutMs);
        QVERIFY(newestFirst(model));
        QVERIFY(rowOfKind(model, QStringLiteral("breaker")) < rowOfKind(model, QStringLiteral("reset")));
        QVERIFY(page.statusLabel()->text().startsWith(QLatin1String("No history database")));
        QCOMPARE(page.readsStarted(), 0);

        page.setKindFilter(QStringLiteral("breaker"));
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.entry(0).source, QStringLiteral("breaker:orders"));
        QCOMPARE(page.kindCombo()->currentText(), QStringLiteral("breaker"));
    }

    void newEntriesAreInsertedOnTop()
    {
        JournalModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setEntries(
            {entry(1000, "reset", QStringLiteral("a")), entry(2000, "stall", QStringLiteral("b"))});
        QCOMPARE(model.entry(0).message, QStringLiteral("b"));
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserts(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removes(&model, &QAbstractItemModel::rowsRemoved);
        // The window moved on: "a" fell out, "c" and "d" are new.
        model.setEntries({entry(2000, "stall", QStringLiteral("b")), entry(3000, "leak", QStringLiteral("c")),
                          entry(4000, "admin", QStringLiteral("d"))});
        QCOMPARE(resets.size(), 0);
        QCOMPARE(inserts.size(), 1);
        QCOMPARE(removes.size(), 1);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.entry(0).message, QStringLiteral("d"));
        QCOMPARE(model.entry(2).message, QStringLiteral("b"));
        // Unrelated contents: a reset.
        model.setEntries({entry(10, "reset", QStringLiteral("z"))});
        QCOMPARE(resets.size(), 1);
        QCOMPARE(model.rowCount(), 1);
        QVERIFY(journalKindColor(QStringLiteral("breaker")) != journalKindColor(QStringLiteral("reset")));
        QCOMPARE(journalKindColor(QStringLiteral("something-else")),
                 journalKindColor(QStringLiteral("other")));
    }
};

QTEST_MAIN(TestUiJournal)
#include "tst_ui_journal.moc"
