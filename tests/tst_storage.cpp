// The storage layer against real SQLite files: schema and migrations, refusing databases
// that are not ours, batching, queue pressure, outages (read-only, locked, SIGKILL),
// downsampling and retention, queries and their plans.
#include "database.h"
#include "historystore.h"
#include "metrics.h"
#include "sqlprofiler.h"
#include "storagetestsupport.h"

#include <QCoreApplication>
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <linux/capability.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <memory>

using namespace vega;
using namespace vega::testsupport;

namespace {

HistoryStoreOptions testOptions(const QString &dir)
{
    HistoryStoreOptions o;
    o.dataDir = dir;
    o.flushIntervalMs = 50;
    o.lockTimeoutMs = 100;
    o.retryInitialMs = 20;
    o.retryMaxMs = 200;
    o.maintenanceIntervalMs = 0;
    o.shutdownTimeoutMs = 2000;
    return o;
}

/// A plain connection of the test's own, to look at or tamper with the file.
class Peek {
public:
    explicit Peek(const QString &path) : m_name(QStringLiteral("peek-%1").arg(++s_count))
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        db.open();
    }
    ~Peek()
    {
        {
            QSqlDatabase db = QSqlDatabase::database(m_name, false);
            db.close();
        }
        QSqlDatabase::removeDatabase(m_name);
    }
    QSqlDatabase db() const { return QSqlDatabase::database(m_name, false); }
    bool exec(const QString &sql)
    {
        QSqlQuery q(db());
        if (!q.exec(sql)) {
            qWarning().noquote() << sql << q.lastError().text();
            return false;
        }
        return true;
    }
    QVariant scalar(const QString &sql)
    {
        QSqlQuery q(db());
        if (!q.exec(sql) || !q.next()) {
            qWarning().noquote() << sql << q.lastError().text();
            return {};
        }
        return q.value(0);
    }
    qint64 count(const QString &sql) { return scalar(sql).toLongLong(); }

private:
    static inline int s_count = 0;
    QString m_name;
};

QByteArray fileHash(const QString &path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256);
}

/// The schema as version 1 shipped it, frozen here on purpose: the migration test must not
/// follow later edits of the program's own DDL.
const char *const kVersion1Ddl[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL, labels TEXT NOT NULL, field TEXT NOT "
    "NULL,"
    " unit TEXT NOT NULL DEFAULT '', UNIQUE (name, labels, field))",
    "CREATE TABLE points (series_id INTEGER NOT NULL, t_ms INTEGER NOT NULL, value REAL NOT NULL,"
    " PRIMARY KEY (series_id, t_ms)) WITHOUT ROWID",
    "CREATE TABLE journal (id INTEGER PRIMARY KEY, t_ms INTEGER NOT NULL, kind TEXT NOT NULL,"
    " source TEXT NOT NULL, message TEXT NOT NULL, duration_ms REAL NOT NULL DEFAULT 0)",
    "CREATE INDEX journal_t ON journal (t_ms)",
    "INSERT INTO meta (key, value) VALUES ('application_id', 'vega-console')",
    "INSERT INTO meta (key, value) VALUES ('schema_version', '1')",
};

/// As root, permission bits do not stop anyone: drop CAP_DAC_OVERRIDE (and READ_SEARCH) from
/// the calling thread's effective set for a scope. Threads started meanwhile (the store's
/// database thread) inherit the reduced set, so a 0444 file really is read-only for them.
class DropDacOverride {
public:
    DropDacOverride()
    {
        if (geteuid() != 0 || syscall(SYS_capget, &m_header, m_saved) != 0)
            return;
        __user_cap_data_struct reduced[2] = {m_saved[0], m_saved[1]};
        reduced[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
        m_dropped = syscall(SYS_capset, &m_header, reduced) == 0;
    }
    ~DropDacOverride()
    {
        if (m_dropped)
            syscall(SYS_capset, &m_header, m_saved);
    }
    bool effective() const { return geteuid() != 0 || m_dropped; }

private:
    __user_cap_header_struct m_header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct m_saved[2]{};
    bool m_dropped = false;
};

// ---- the child writer: `tst_storage --child-writer <db>` (killed by the parent) ----

int runChildWriter(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    MetricsRegistry registry;
    SqlProfiler profiler(&registry);
    HistoryStoreOptions o;
    o.url = QStringLiteral("sqlite:") + QString::fromLocal8Bit(argv[2]);
    o.batchSize = 200;
    o.flushIntervalMs = 10;
    o.maintenanceIntervalMs = 0;
    HistoryStore store(o, &registry, &profiler);
    store.start();
    const SeriesKey k = key("child_samples");
    qint64 t = 0;
    int events = 0;
    QTimer feed;
    QObject::connect(&feed, &QTimer::timeout, &app, [&] {
        store.recordSamples(k, ramp(t + 1, 50, 1, double(t + 1)));
        t += 50;
        ++events;
        store.recordEvent(entry(events, QStringLiteral("child"), QStringLiteral("event %1").arg(events)));
    });
    feed.start(1);
    Counter *rows = registry.counter(QStringLiteral("storage_rows"));
    QTimer report;
    QObject::connect(&report, &QTimer::timeout, &app, [&] {
        std::printf("committed %llu\n", static_cast<unsigned long long>(rows->total()));
        std::fflush(stdout);
    });
    report.start(5);
    return app.exec();
}

} // namespace

class TestStorage : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parseUrl_data();
    void parseUrl();
    void passwordNeverShown();
    void createsFreshDatabase();
    void sqliteCacheIsBounded();
    void migratesFromVersion1();
    void reopenKeepsData();
    void refusesNewerSchema();
    void refusesForeignDatabase_data();
    void refusesForeignDatabase();
    void killedWriterLeavesConsistentDatabase();
    void readOnlyDatabaseRecovers_data();
    void readOnlyDatabaseRecovers();
    void lockedDatabaseRecovers();
    void batchesBySize();
    void flushesByTime();
    void shutdownFlushes();
    void queuePressureDropsOldestSamples();
    void snapshotFeedStoresEachPointAndEventOnce();
    void downsamplingAndRetention();
    void windowChoosesResolution();
    void queryPlansUseIndexes();
    void everyStatementIsProfiled();
    void refusedRowIsDroppedAlone();
    void callbackSkippedWhenContextGone();
};

void TestStorage::parseUrl_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<bool>("ok");
    QTest::addColumn<bool>("sqlite");
    QTest::addColumn<QString>("describe");

    QTest::newRow("default") << QString() << true << true << QStringLiteral("SQLite /data/vega.db");
    QTest::newRow("sqlite relative") << QStringLiteral("sqlite:hist.db") << true << true
                                     << QStringLiteral("SQLite /data/hist.db");
    QTest::newRow("sqlite absolute") << QStringLiteral("sqlite:///var/lib/v.db") << true << true
                                     << QStringLiteral("SQLite /var/lib/v.db");
    QTest::newRow("plain path") << QStringLiteral("/tmp/x.db") << true << true
                                << QStringLiteral("SQLite /tmp/x.db");
    QTest::newRow("postgresql") << QStringLiteral("postgresql://vega@db.example:5433/metrics") << true
                                << false << QStringLiteral("PostgreSQL vega@db.example:5433/metrics");
    QTest::newRow("postgres default port") << QStringLiteral("postgres://vega@10.0.0.2/m") << true << false
                                           << QStringLiteral("PostgreSQL vega@10.0.0.2:5432/m");
    QTest::newRow("schema") << QStringLiteral("postgresql://vega@h:1/m?schema=console_a") << true << false
                            << QStringLiteral("PostgreSQL vega@h:1/m (schema console_a)");
    QTest::newRow("no user") << QStringLiteral("postgresql://h:5432/m") << false << false << QString();
    QTest::newRow("no database") << QStringLiteral("postgresql://vega@h:5432/") << false << false
                                 << QString();
    QTest::newRow("bad schema") << QStringLiteral("postgresql://vega@h/m?schema=a;drop") << false << false
                                << QString();
    QTest::newRow("other option") << QStringLiteral("postgresql://vega@h/m?sslmode=disable") << false << false
                                  << QString();
    QTest::newRow("mysql") << QStringLiteral("mysql://vega@h/m") << false << false << QString();
}

void TestStorage::parseUrl()
{
    QFETCH(QString, url);
    QFETCH(bool, ok);
    QFETCH(bool, sqlite);
    QFETCH(QString, describe);
    const DatabaseLocationResult r = parseDatabaseUrl(url, QStringLiteral("/data"));
    QCOMPARE(r.ok(), ok);
    if (!ok) {
        QVERIFY(!r.error.isEmpty());
        return;
    }
    QCOMPARE(r.location.dialect == DatabaseDialect::Sqlite, sqlite);
    QCOMPARE(r.location.describe(), describe);
}

void TestStorage::passwordNeverShown()
{
    const QString secret = QStringLiteral("s3cr3t-Pa55");
    const DatabaseLocationResult r =
        parseDatabaseUrl(QStringLiteral("postgresql://vega:") + secret + QStringLiteral("@h:5432/m"), {});
    QVERIFY(!r.ok());
    QVERIFY2(!r.error.contains(secret), qPrintable(r.error));
    QVERIFY(r.error.contains(QLatin1String("VEGA_DB_PASSWORD")));

    // With the password in the environment, a failed connection does not echo it either.
    qputenv("VEGA_TEST_SECRET", secret.toUtf8());
    HistoryStoreOptions o = testOptions(QDir::tempPath());
    o.url = QStringLiteral("postgresql://vega@127.0.0.1:1/nothing");
    o.passwordEnv = QStringLiteral("VEGA_TEST_SECRET");
    Rig rig(o);
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Critical);
    const StorageStatus s = rig.store->status();
    QVERIFY2(!s.error.contains(secret), qPrintable(s.error));
    QVERIFY2(s.error.contains(QLatin1String("127.0.0.1:1/nothing")), qPrintable(s.error));
    QVERIFY(!s.location.contains(secret));
    rig.store.reset();
    qunsetenv("VEGA_TEST_SECRET");
}

void TestStorage::createsFreshDatabase()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path() + QStringLiteral("/sub")));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    const StorageStatus s = rig.store->status();
    QCOMPARE(s.schemaVersion, Database::kSchemaVersion);
    QCOMPARE(s.migratedFrom, 0);
    QCOMPARE(rig.gauge("storage_healthy"), 1.0);
    const QString path = dir.path() + QStringLiteral("/sub/vega.db");
    QCOMPARE(s.location, QStringLiteral("SQLite ") + path);
    rig.store->stop();

    Peek peek(path);
    QCOMPARE(peek.scalar(QStringLiteral("SELECT value FROM meta WHERE key = 'application_id'")).toString(),
             QStringLiteral("vega-console"));
    QCOMPARE(peek.scalar(QStringLiteral("SELECT value FROM meta WHERE key = 'schema_version'")).toInt(),
             Database::kSchemaVersion);
    QCOMPARE(peek.scalar(QStringLiteral("PRAGMA journal_mode")).toString(), QStringLiteral("wal"));
    QStringList tables = peek.db().tables();
    tables.sort();
    QCOMPARE(tables, (QStringList{QStringLiteral("journal"), QStringLiteral("meta"), QStringLiteral("points"),
                                  QStringLiteral("points_1m"), QStringLiteral("series")}));
}

void TestStorage::sqliteCacheIsBounded()
{
    // The page cache is a fixed size (storage.sqlite_cache_kib), so the history connection's
    // memory stops growing once it is full instead of creeping with the file up to 2 MiB.
    QTemporaryDir dir;
    MetricsRegistry registry;
    SqlProfiler profiler(&registry);
    const DatabaseLocationResult where = parseDatabaseUrl({}, dir.path());
    QVERIFY2(where.ok(), qPrintable(where.error));
    const auto cacheSize = [](Database &db) {
        QSqlQuery q(db.connection());
        return q.exec(QStringLiteral("PRAGMA cache_size")) && q.next() ? q.value(0).toInt() : 0;
    };
    DatabaseOptions options;
    QCOMPARE(options.sqliteCacheKib, 256); // the documented default
    options.sqliteCacheKib = 300;
    {
        Database db(where.location, &profiler, options);
        QVERIFY2(db.open().ok(), "open failed");
        QCOMPARE(cacheSize(db), -300); // negative: KiB, not pages
        db.close();
    }
    options.sqliteCacheKib = 0; // SQLite's own default
    Database db(where.location, &profiler, options);
    QVERIFY2(db.open().ok(), "open failed");
    QCOMPARE(cacheSize(db), -2000);
    db.close();
}

void TestStorage::migratesFromVersion1()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("vega.db"));
    {
        Peek v1(path);
        for (const char *sql : kVersion1Ddl)
            QVERIFY(v1.exec(QLatin1String(sql)));
        QVERIFY(v1.exec(QStringLiteral("INSERT INTO series (id, name, labels, field, unit) "
                                       "VALUES (1, 'cpu', '{\"host\":\"a\"}', 'value', '%')")));
        QVERIFY(
            v1.exec(QStringLiteral("INSERT INTO points VALUES (1, 1000, 10), (1, 2000, 20), (1, 3000, 30)")));
        QVERIFY(
            v1.exec(QStringLiteral("INSERT INTO journal (t_ms, kind, source, message, duration_ms) "
                                   "VALUES (1500, 'reset', 'operator', 'Statistics reset by operator', 0)")));
    }
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    QCOMPARE(rig.store->status().migratedFrom, 1);
    QCOMPARE(rig.store->status().schemaVersion, 2);

    SeriesQuery q;
    q.name = QStringLiteral("cpu");
    q.labels = {{QStringLiteral("host"), QStringLiteral("a")}};
    q.fromMs = 0;
    q.toMs = 10000;
    q.maxPoints = 100;
    // Old points: outside the raw window the rollups answer, computed from the kept points.
    QVERIFY(maintainSync(*rig.store, 10 * kMinute).ok());
    const SeriesHistory h = loadSync(*rig.store, q);
    QVERIFY2(h.ok(), qPrintable(h.error));
    QVERIFY(h.found);
    QCOMPARE(h.points.size(), 1);
    QCOMPARE(h.points[0].value, 20.0);
    QCOMPARE(h.points[0].min, 10.0);
    QCOMPARE(h.points[0].max, 30.0);

    const JournalPage page = journalSync(*rig.store, {0, 10000, {}, 10});
    QVERIFY(page.ok());
    QCOMPARE(page.entries.size(), 1);
    QCOMPARE(page.entries[0].message, QStringLiteral("Statistics reset by operator"));
    QCOMPARE(page.entries[0].correlationId, QString());
    rig.store->stop();

    Peek peek(path);
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM points")), 3);
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM sqlite_master WHERE name = 'journal_kind_t'")),
             1);
}

void TestStorage::reopenKeepsData()
{
    QTemporaryDir dir;
    const qint64 t0 = QDateTime::currentMSecsSinceEpoch() - 10 * kMinute;
    {
        Rig rig(testOptions(dir.path()));
        rig.store->start();
        rig.store->recordSamples(key("reqs"), ramp(t0, 100));
        rig.store->recordEvent(entry(t0, QStringLiteral("breaker"), QStringLiteral("breaker api opened")));
        QTRY_COMPARE(rig.store->status().health, Health::Ok);
        QVERIFY(flushSync(*rig.store));
    }
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    QCOMPARE(rig.store->status().migratedFrom, 2);
    SeriesQuery q;
    q.name = QStringLiteral("reqs");
    q.fromMs = t0;
    q.toMs = t0 + 99000;
    const SeriesHistory h = loadSync(*rig.store, q);
    QVERIFY2(h.ok(), qPrintable(h.error));
    QCOMPARE(h.resolutionMs, 1000LL);
    QCOMPARE(h.points.size(), 100);
    QCOMPARE(h.points.last().value, 99.0);
    const JournalPage page = journalSync(*rig.store, {t0, t0, QStringLiteral("breaker"), 10});
    QCOMPARE(page.entries.size(), 1);
}

void TestStorage::refusesNewerSchema()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("vega.db"));
    {
        Peek future(path);
        for (const char *sql : kVersion1Ddl)
            QVERIFY(future.exec(QLatin1String(sql)));
        QVERIFY(future.exec(QStringLiteral("UPDATE meta SET value = '7' WHERE key = 'schema_version'")));
        QVERIFY(future.exec(QStringLiteral("CREATE TABLE from_the_future (x)")));
        QVERIFY(future.exec(
            QStringLiteral("INSERT INTO journal (t_ms, kind, source, message) VALUES (1, 'k', 's', 'm')")));
    }
    const QByteArray before = fileHash(path);
    const QStringList filesBefore = QDir(dir.path()).entryList(QDir::Files);
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_VERIFY(rig.store->status().fatal);
    const StorageStatus s = rig.store->status();
    QCOMPARE(s.health, Health::Critical);
    QVERIFY2(s.error.contains(path), qPrintable(s.error));
    QVERIFY2(s.error.contains(QLatin1String("version 7")), qPrintable(s.error));
    QVERIFY2(s.error.contains(QLatin1String("version 2")), qPrintable(s.error));
    QCOMPARE(rig.gauge("storage_healthy"), 0.0);
    // Nothing is queued for a database that will never be written.
    rig.store->recordEvent(entry(5, QStringLiteral("k"), QStringLiteral("lost")));
    QVERIFY(rig.counter("storage_dropped_rows") >= 1);
    rig.store->stop();
    QCOMPARE(fileHash(path), before);
    QCOMPARE(QDir(dir.path()).entryList(QDir::Files), filesBefore);
}

void TestStorage::refusesForeignDatabase_data()
{
    QTest::addColumn<QStringList>("setup");
    QTest::addColumn<QByteArray>("rawBytes");
    QTest::addColumn<QString>("expected");

    QTest::newRow("other tables") << QStringList{QStringLiteral(
                                                     "CREATE TABLE invoices (id INTEGER, total REAL)"),
                                                 QStringLiteral("INSERT INTO invoices VALUES (1, 9.5)")}
                                  << QByteArray() << QStringLiteral("tables (invoices) but no meta table");
    QTest::newRow("other app id")
        << QStringList{QStringLiteral("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)"),
                       QStringLiteral(
                           "INSERT INTO meta VALUES ('application_id', 'grafana'), ('schema_version', '1')")}
        << QByteArray() << QStringLiteral("application id is \"grafana\"");
    QTest::newRow("meta without app id") << QStringList{QStringLiteral("CREATE TABLE meta (k TEXT, v TEXT)")}
                                         << QByteArray() << QStringLiteral("application id is missing");
    QTest::newRow("not sqlite") << QStringList() << QByteArray(8192, 'x')
                                << QStringLiteral("not an SQLite database");
}

void TestStorage::refusesForeignDatabase()
{
    QFETCH(QStringList, setup);
    QFETCH(QByteArray, rawBytes);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("vega.db"));
    if (!rawBytes.isEmpty()) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(rawBytes);
    } else {
        Peek other(path);
        for (const QString &sql : setup)
            QVERIFY(other.exec(sql));
    }
    const QByteArray before = fileHash(path);
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_VERIFY(rig.store->status().fatal);
    const QString error = rig.store->status().error;
    QVERIFY2(error.contains(path), qPrintable(error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QVERIFY2(error.contains(QLatin1String("left unchanged")), qPrintable(error));
    rig.store->stop();
    QCOMPARE(fileHash(path), before);
}

void TestStorage::killedWriterLeavesConsistentDatabase()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("killed.db"));
    QProcess child;
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("--child-writer"), path});
    QVERIFY(child.waitForStarted());
    quint64 committed = 0;
    QElapsedTimer t;
    t.start();
    QByteArray pending;
    while (committed < 20000 && t.elapsed() < 30000) {
        child.waitForReadyRead(100);
        pending += child.readAllStandardOutput();
        qsizetype nl;
        while ((nl = pending.indexOf('\n')) >= 0) {
            const QByteArray line = pending.left(nl);
            pending.remove(0, nl + 1);
            if (line.startsWith("committed "))
                committed = line.mid(10).toULongLong();
        }
    }
    QVERIFY2(committed >= 20000, "the child did not commit enough rows in time");
    ::kill(pid_t(child.processId()), SIGKILL);
    QVERIFY(child.waitForFinished(5000));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);

    {
        Peek peek(path);
        QCOMPARE(peek.scalar(QStringLiteral("PRAGMA integrity_check")).toString(), QStringLiteral("ok"));
        const qint64 points = peek.count(QStringLiteral("SELECT COUNT(*) FROM points"));
        const qint64 journal = peek.count(QStringLiteral("SELECT COUNT(*) FROM journal"));
        // Everything reported committed is there, and what is there is a gapless prefix of
        // what was fed: only the batch in flight was lost.
        QVERIFY2(quint64(points + journal) >= committed,
                 qPrintable(QStringLiteral("%1 + %2 < %3").arg(points).arg(journal).arg(committed)));
        QCOMPARE(peek.count(QStringLiteral("SELECT MAX(t_ms) FROM points")), points);
        QCOMPARE(peek.count(QStringLiteral("SELECT MAX(t_ms) FROM journal")), journal);
    }
    // And the program opens it again and carries on.
    HistoryStoreOptions o = testOptions(dir.path());
    o.url = QStringLiteral("sqlite:killed.db");
    Rig again(o);
    again.store->start();
    QTRY_COMPARE(again.store->status().health, Health::Ok);
    again.store->recordEvent(entry(1, QStringLiteral("after"), QStringLiteral("after the kill")));
    QVERIFY(flushSync(*again.store));
}

void TestStorage::readOnlyDatabaseRecovers_data()
{
    QTest::addColumn<bool>("directory");
    QTest::newRow("file 0444") << false;
    QTest::newRow("directory 0555") << true; // the -wal and -shm files cannot be created
}

void TestStorage::readOnlyDatabaseRecovers()
{
    QFETCH(bool, directory);
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("vega.db"));
    {
        Rig rig(testOptions(dir.path()));
        rig.store->start();
        QTRY_COMPARE(rig.store->status().health, Health::Ok);
    }
    const QFileDevice::Permissions readOnly =
        QFileDevice::ReadOwner | QFileDevice::ReadGroup | QFileDevice::ReadOther |
        (directory ? QFileDevice::ExeOwner | QFileDevice::ExeGroup | QFileDevice::ExeOther
                   : QFileDevice::Permissions());
    QVERIFY(QFile::setPermissions(directory ? dir.path() : path, readOnly));
    DropDacOverride asUser;
    if (!asUser.effective())
        QSKIP("running as root without the right to drop CAP_DAC_OVERRIDE: 0444 would not be read-only");
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    for (int i = 0; i < 5; ++i)
        rig.store->recordEvent(entry(now + i, QStringLiteral("op"), QStringLiteral("action %1").arg(i)));
    rig.store->recordSamples(key("ro"), ramp(now, 10));
    QTRY_COMPARE(rig.store->status().health, Health::Critical);
    StorageStatus s = rig.store->status();
    QVERIFY(!s.fatal);
    QVERIFY2(s.error.contains(path), qPrintable(s.error));
    QVERIFY2(s.error.contains(QLatin1String("readonly")) || s.error.contains(QLatin1String("read-only")) ||
                 s.error.contains(QLatin1String("unable to open")),
             qPrintable(s.error));
    QCOMPARE(rig.gauge("storage_healthy"), 0.0);
    QVERIFY(rig.counter("storage_errors") >= 1);
    // Queries answer at once, with the reason.
    const JournalPage during = journalSync(*rig.store, {0, now + 10, {}, 10});
    QVERIFY(during.error.contains(QLatin1String("database unavailable")));

    if (directory) {
        QVERIFY(QFile::setPermissions(dir.path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                                      QFileDevice::ExeOwner));
    } else {
        // SQLite created the -wal and -shm files with the database file's (read-only) mode:
        // the fix an operator makes is chmod u+w vega.db*.
        const QStringList files = QDir(dir.path()).entryList({QStringLiteral("vega.db*")}, QDir::Files);
        QVERIFY(files.contains(QStringLiteral("vega.db")));
        for (const QString &f : files)
            QVERIFY(QFile::setPermissions(dir.filePath(f), QFileDevice::ReadOwner | QFileDevice::WriteOwner));
    }
    QTRY_COMPARE_WITH_TIMEOUT(rig.store->status().health, Health::Ok, 10000);
    QVERIFY(flushSync(*rig.store));
    const JournalPage page = journalSync(*rig.store, {0, now + 10, QStringLiteral("op"), 10});
    QCOMPARE(page.entries.size(), 5);
    const JournalPage outage = journalSync(*rig.store, {0, now + 60000, QStringLiteral("storage"), 10});
    QCOMPARE(outage.entries.size(), 1);
    QVERIFY2(outage.entries[0].message.contains(QLatin1String("Database unavailable")),
             qPrintable(outage.entries[0].message));
}

void TestStorage::lockedDatabaseRecovers()
{
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("vega.db"));
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);

    Peek locker(path);
    QVERIFY(locker.exec(QStringLiteral("BEGIN EXCLUSIVE")));
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    QElapsedTimer feeding;
    feeding.start();
    for (int i = 0; i < 20; ++i)
        rig.store->recordEvent(entry(now + i, QStringLiteral("op"), QStringLiteral("locked %1").arg(i)));
    for (int i = 0; i < 100; ++i)
        rig.store->recordSamples(key("locked"), ramp(now + i * 10000, 10));
    QVERIFY2(feeding.elapsed() < 200, "feeding must never wait for the database");
    QTRY_COMPARE(rig.store->status().health, Health::Critical);
    const StorageStatus s = rig.store->status();
    QVERIFY2(s.error.contains(QLatin1String("locked")), qPrintable(s.error));
    QVERIFY2(s.error.contains(path), qPrintable(s.error));
    QVERIFY(s.outageSinceMs > 0);
    QTRY_VERIFY(rig.store->status().retries >= 2); // backing off, not giving up
    QVERIFY(locker.exec(QStringLiteral("ROLLBACK")));

    QTRY_COMPARE_WITH_TIMEOUT(rig.store->status().health, Health::Ok, 10000);
    QVERIFY(flushSync(*rig.store));
    const JournalPage page = journalSync(*rig.store, {now, now + 100, QStringLiteral("op"), 100});
    QCOMPARE(page.entries.size(), 20);
    QCOMPARE(locker.count(QStringLiteral("SELECT COUNT(*) FROM points")), 1000);
    const JournalPage outage = journalSync(*rig.store, {0, now + kHour, QStringLiteral("storage"), 10});
    QCOMPARE(outage.entries.size(), 1);
    QVERIFY(outage.entries[0].message.contains(QLatin1String("database is locked")));
    QVERIFY(outage.entries[0].durationMs > 0);
    QCOMPARE(rig.counter("storage_dropped_rows"), 0);
}

void TestStorage::batchesBySize()
{
    QTemporaryDir dir;
    HistoryStoreOptions o = testOptions(dir.path());
    o.flushIntervalMs = 1000;
    Rig rig(o);
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    rig.store->recordSamples(key("bulk"), ramp(1000, 1200));
    // Two full batches right away...
    QTRY_COMPARE(rig.counter("storage_batches"), 2);
    QCOMPARE(rig.counter("storage_rows"), 1000);
    {
        Peek peek(dir.filePath(QStringLiteral("vega.db")));
        QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM points")), 1000);
    }
    // ...and the rest when the interval has passed.
    QTRY_COMPARE_WITH_TIMEOUT(rig.counter("storage_batches"), 3u, 5000);
    QCOMPARE(rig.counter("storage_rows"), 1200);
    QCOMPARE(rig.registry.histogram(QStringLiteral("storage_flush_duration"))->cumulative().count,
             quint64(3));
    QCOMPARE(rig.gauge("storage_queue_depth"), 0.0);
}

void TestStorage::flushesByTime()
{
    QTemporaryDir dir;
    HistoryStoreOptions o = testOptions(dir.path());
    o.flushIntervalMs = 300;
    Rig rig(o);
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    QElapsedTimer t;
    t.start();
    rig.store->recordSamples(key("few"), ramp(1000, 5));
    QCOMPARE(rig.counter("storage_batches"), 0);
    QCOMPARE(rig.store->queueDepth(), 5);
    QTRY_COMPARE(rig.counter("storage_batches"), 1);
    QVERIFY2(t.elapsed() >= 250, qPrintable(QString::number(t.elapsed())));
    QCOMPARE(rig.counter("storage_rows"), 5);
}

void TestStorage::shutdownFlushes()
{
    QTemporaryDir dir;
    HistoryStoreOptions o = testOptions(dir.path());
    o.flushIntervalMs = 600000;
    {
        Rig rig(o);
        rig.store->start();
        QTRY_COMPARE(rig.store->status().health, Health::Ok);
        rig.store->recordSamples(key("late"), ramp(1000, 10));
        rig.store->recordEvent(entry(1, QStringLiteral("op"), QStringLiteral("quit")));
        QTest::qWait(20);
        QCOMPARE(rig.counter("storage_batches"), 0);
        rig.store->stop();
        QCOMPARE(rig.counter("storage_rows"), 11);
        rig.store->recordEvent(entry(2, QStringLiteral("op"), QStringLiteral("after stop")));
        QCOMPARE(rig.counter("storage_dropped_rows"), 1);
    }
    Peek peek(dir.filePath(QStringLiteral("vega.db")));
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM points")), 10);
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM journal")), 1);
}

void TestStorage::queuePressureDropsOldestSamples()
{
    QTemporaryDir dir;
    HistoryStoreOptions o = testOptions(dir.path());
    o.queueCapacity = 100;
    Rig rig(o);
    // Not started yet: the queue fills as it would while the database is away.
    rig.store->recordSamples(key("pressure"), ramp(1000, 150));
    QCOMPARE(rig.counter("storage_dropped_rows"), 50);
    for (int i = 0; i < 30; ++i)
        rig.store->recordEvent(entry(100 + i, QStringLiteral("op"), QStringLiteral("kept %1").arg(i)));
    QCOMPARE(rig.counter("storage_dropped_rows"), 80);
    QCOMPARE(rig.store->queueDepth(), 100);
    QCOMPARE(rig.gauge("storage_queue_depth"), 100.0);
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    QVERIFY(flushSync(*rig.store));
    rig.store->stop();

    Peek peek(dir.filePath(QStringLiteral("vega.db")));
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM journal WHERE kind = 'op'")), 30);
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM points")), 70);
    QCOMPARE(peek.count(QStringLiteral("SELECT MIN(t_ms) FROM points")), 1000 + 80 * 1000); // the newest kept

    // Journal entries alone never give way, even past capacity.
    QTemporaryDir dir2;
    HistoryStoreOptions o2 = testOptions(dir2.path());
    o2.queueCapacity = 10;
    Rig rig2(o2);
    rig2.store->recordSamples(key("pressure"), ramp(1000, 5));
    for (int i = 0; i < 25; ++i)
        rig2.store->recordEvent(entry(100 + i, QStringLiteral("op"), QStringLiteral("kept %1").arg(i)));
    QCOMPARE(rig2.store->queueDepth(), 25);
    QCOMPARE(rig2.counter("storage_dropped_rows"), 5);
}

void TestStorage::snapshotFeedStoresEachPointAndEventOnce()
{
    QTemporaryDir dir;
    ManualClock clock;
    Rig rig(testOptions(dir.path()), &clock);
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    MetricsRegistry &reg = rig.registry;
    Counter *requests =
        reg.counter(QStringLiteral("feed_requests"), {{QStringLiteral("host"), QStringLiteral("a")}});
    Gauge *depth = reg.gauge(QStringLiteral("feed_depth"));
    Histogram *latency = reg.histogram(QStringLiteral("feed_latency"));
    const qint64 firstWall = reg.wallNowMs();
    for (int i = 0; i < 5; ++i) {
        clock.advanceMs(1000 - reg.wallNowMs() % 1000); // to a whole second
        requests->inc(10);
        depth->set(i);
        latency->record(1000000 * (i + 1));
        if (i == 1)
            reg.recordEvent(QStringLiteral("breaker"), QStringLiteral("breaker:api"),
                            QStringLiteral("opened"));
        if (i == 3)
            reg.recordEvent(QStringLiteral("stall"), QStringLiteral("loop"), QStringLiteral("blocked"), 150);
        rig.store->recordSnapshot(reg.capture());
        // A second capture within the same second adds no point.
        clock.advanceMs(100);
        rig.store->recordSnapshot(reg.capture());
    }
    QVERIFY(flushSync(*rig.store));
    SeriesQuery q;
    q.name = QStringLiteral("feed_depth");
    q.fromMs = firstWall;
    q.toMs = reg.wallNowMs();
    SeriesHistory h = loadSync(*rig.store, q);
    QVERIFY2(h.ok(), qPrintable(h.error));
    QCOMPARE(h.points.size(), 5);
    QCOMPARE(h.points[4].value, 4.0);
    q.name = QStringLiteral("feed_requests");
    q.labels = {{QStringLiteral("host"), QStringLiteral("a")}};
    q.field = SeriesField::Rate;
    h = loadSync(*rig.store, q);
    QCOMPARE(h.points.size(), 5);
    QVERIFY(qFuzzyCompare(h.points[2].value, 10 / 0.9)); // 10 requests since the capture 0.9 s before
    q.name = QStringLiteral("feed_latency");
    q.labels = {};
    q.field = SeriesField::P99;
    h = loadSync(*rig.store, q);
    QCOMPARE(h.points.size(), 5);

    const JournalPage page = journalSync(*rig.store, {firstWall, reg.wallNowMs(), {}, 100});
    QCOMPARE(page.entries.size(), 2);
    QCOMPARE(page.entries[0].kind, QStringLiteral("breaker"));
    QCOMPARE(page.entries[1].kind, QStringLiteral("stall"));
    QCOMPARE(page.entries[1].durationMs, 150.0);
}

void TestStorage::downsamplingAndRetention()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    const qint64 now = 1700000000000LL - 1700000000000LL % kMinute + 30000; // mid-minute
    const qint64 old = now - 26 * kHour - 30000;                            // whole minute
    // Three old minutes: values 0..179, then a recent stretch.
    rig.store->recordSamples(key("ds"), ramp(old, 180));
    rig.store->recordSamples(key("ds"), ramp(now - 30000 - 10 * kMinute, 120, 1000, 1000)); // 2 minutes
    rig.store->recordEvent(entry(now - 31 * kDay, QStringLiteral("op"), QStringLiteral("ancient")));
    rig.store->recordEvent(entry(now - 2 * kHour, QStringLiteral("op"), QStringLiteral("recent")));
    QVERIFY(flushSync(*rig.store));

    MaintenanceResult m = maintainSync(*rig.store, now);
    QVERIFY2(m.ok(), qPrintable(m.error));
    QCOMPARE(m.rolledUpMinutes, 5); // 3 old minutes, 2 recent ones
    QCOMPARE(m.prunedPoints, 180);  // older than 24 h, and rolled up
    QCOMPARE(m.prunedMinutes, 0);
    QCOMPARE(m.prunedJournal, 1);
    {
        Peek peek(dir.filePath(QStringLiteral("vega.db")));
        QSqlQuery q(peek.db());
        QVERIFY(q.exec(QStringLiteral("SELECT t_ms, avg, min, max, n FROM points_1m ORDER BY t_ms")));
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toLongLong(), old);
        QCOMPARE(q.value(1).toDouble(), 29.5);
        QCOMPARE(q.value(2).toDouble(), 0.0);
        QCOMPARE(q.value(3).toDouble(), 59.0);
        QCOMPARE(q.value(4).toInt(), 60);
        QVERIFY(q.next());
        QCOMPARE(q.value(1).toDouble(), 89.5);
        QVERIFY(q.next());
        QCOMPARE(q.value(3).toDouble(), 179.0);
        QVERIFY(q.next());
        QCOMPARE(q.value(0).toLongLong(), now - 30000 - 10 * kMinute);            // the recent minutes
        QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM points")), 120); // recent raw kept
        QCOMPARE(peek.scalar(QStringLiteral("SELECT message FROM journal")).toString(),
                 QStringLiteral("recent"));
    }
    // Idempotent: a second run rolls up nothing new and prunes nothing more.
    m = maintainSync(*rig.store, now);
    QCOMPARE(m.prunedPoints, 0);

    // 29 days on, the old rollups (30 days and 26 h old) go; the recent minutes stay, while
    // their 1 s points, rolled up long ago, are pruned.
    m = maintainSync(*rig.store, now + 29 * kDay);
    QVERIFY(m.ok());
    QCOMPARE(m.prunedPoints, 120);
    QCOMPARE(m.prunedMinutes, 3);
    QCOMPARE(m.prunedJournal, 0);
    Peek peek(dir.filePath(QStringLiteral("vega.db")));
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM points_1m")), 2);
    QCOMPARE(peek.count(QStringLiteral("SELECT COUNT(*) FROM journal WHERE kind = 'op'")), 1);
}

void TestStorage::windowChoosesResolution()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    const qint64 start = now - 2 * kHour - (now % (5 * kMinute));
    rig.store->recordSamples(key("win"), ramp(start, 7200 + int((now % (5 * kMinute)) / 1000)));
    QVERIFY(flushSync(*rig.store));
    QVERIFY(maintainSync(*rig.store, 0).ok());

    SeriesQuery q;
    q.name = QStringLiteral("win");
    q.toMs = now;
    q.fromMs = now - 10 * kMinute;
    SeriesHistory h = loadSync(*rig.store, q); // 600 s fit in 2000 points
    QCOMPARE(h.resolutionMs, 1000LL);
    QVERIFY(h.points.size() >= 598 && h.points.size() <= 601);

    q.fromMs = start;
    h = loadSync(*rig.store, q); // 2 h: minutes
    QCOMPARE(h.resolutionMs, kMinute);
    QVERIFY2(h.points.size() >= 120 && h.points.size() <= 126, qPrintable(QString::number(h.points.size())));
    QCOMPARE(h.points[0].tMs, start);
    QCOMPARE(h.points[0].value, 29.5);
    QCOMPARE(h.points[0].min, 0.0);
    QCOMPARE(h.points[0].max, 59.0);
    // The newest minute is not rolled up yet: it comes from the 1 s points.
    QVERIFY(h.points.last().tMs >= now - 2 * kMinute);

    q.maxPoints = 30;
    h = loadSync(*rig.store, q); // 121..126 minutes in at most 30 points: 5-minute buckets
    QCOMPARE(h.resolutionMs, 5 * kMinute);
    QVERIFY(h.points.size() <= 30);
    QCOMPARE(h.points[0].value, (0 + 299) / 2.0);

    q.maxPoints = 0;
    q.fromMs = now - 3 * kDay;
    q.toMs = now - 2 * kDay;
    h = loadSync(*rig.store, q); // beyond the 1 s retention: rollups even for a short window
    QVERIFY(h.ok());
    QCOMPARE(h.resolutionMs, kMinute);
    QCOMPARE(h.points.size(), 0);

    q.name = QStringLiteral("never_stored");
    h = loadSync(*rig.store, q);
    QVERIFY(h.ok());
    QVERIFY(!h.found);
}

void TestStorage::queryPlansUseIndexes()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    for (int s = 0; s < 20; ++s)
        rig.store->recordSamples(key("plan", QStringLiteral("{\"i\":\"%1\"}").arg(s)), ramp(0, 200));
    for (int i = 0; i < 200; ++i)
        rig.store->recordEvent(
            entry(i, i % 2 ? QStringLiteral("stall") : QStringLiteral("breaker"), QStringLiteral("x")));
    QVERIFY(flushSync(*rig.store));
    QVERIFY(maintainSync(*rig.store, 1000 * kMinute).ok());

    Peek peek(dir.filePath(QStringLiteral("vega.db")));
    static const QRegularExpression scan(QStringLiteral("^SCAN (\\w+)"));
    for (const StorageStatement &st : historyStatements()) {
        QSqlQuery q(peek.db());
        QVERIFY2(q.prepare(QStringLiteral("EXPLAIN QUERY PLAN ") + st.sql), qPrintable(q.lastError().text()));
        for (int i = 0; i < st.sql.count(QLatin1Char('?')); ++i)
            q.addBindValue(i == 0 && st.sql.contains(QLatin1String("kind = ?"))
                               ? QVariant(QStringLiteral("stall"))
                               : QVariant(qint64(60000)));
        QVERIFY2(q.exec(), qPrintable(st.name + QLatin1String(": ") + q.lastError().text()));
        QStringList plan;
        while (q.next())
            plan << q.value(3).toString();
        qInfo().noquote() << st.name << "->" << plan.join(QStringLiteral(" | "));
        for (const QString &step : std::as_const(plan)) {
            const auto m = scan.match(step);
            QVERIFY2(!m.hasMatch(), qPrintable(st.name + QLatin1String(" scans a table: ") + step));
        }
        QVERIFY2(plan.join(QLatin1Char(' ')).contains(QLatin1String("SEARCH")), qPrintable(st.name));
    }
}

void TestStorage::everyStatementIsProfiled()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    rig.store->recordSamples(key("prof"), ramp(0, 10));
    rig.store->recordEvent(entry(1, QStringLiteral("op"), QStringLiteral("x")));
    QVERIFY(flushSync(*rig.store));
    QVERIFY(maintainSync(*rig.store, kHour).ok());
    SeriesQuery q;
    q.name = QStringLiteral("prof");
    q.toMs = 10000;
    loadSync(*rig.store, q);
    journalSync(*rig.store, {0, 10, {}, 10});
    QStringList seen;
    for (const StatementStats &s : rig.profiler.statements())
        seen << s.normalized;
    const auto has = [&](const char *fragment) {
        for (const QString &s : std::as_const(seen))
            if (s.contains(QLatin1String(fragment)))
                return true;
        return false;
    };
    QVERIFY(has("BEGIN IMMEDIATE"));
    QVERIFY(has("COMMIT"));
    QVERIFY(has("INSERT INTO points"));
    QVERIFY(has("INSERT INTO journal"));
    QVERIFY(has("INSERT INTO points_1m"));
    QVERIFY(has("CREATE TABLE series"));
    QVERIFY(has("PRAGMA journal_mode"));
    QVERIFY(has("FROM journal WHERE"));
    QVERIFY(has("FROM points_1m WHERE") || has("FROM points WHERE"));
    bool sawBatchCid = false;
    for (const ConnectionUsage &c : rig.profiler.connections())
        sawBatchCid = sawBatchCid || c.connection.startsWith(QLatin1String("vega-storage-"));
    QVERIFY(sawBatchCid);
}

void TestStorage::refusedRowIsDroppedAlone()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    {
        // A row the database refuses as data (a constraint): retrying it would never succeed.
        Peek peek(dir.filePath(QStringLiteral("vega.db")));
        QVERIFY(peek.exec(
            QStringLiteral("CREATE TRIGGER refuse BEFORE INSERT ON journal WHEN NEW.message = 'poison' "
                           "BEGIN SELECT RAISE(ABORT, 'refused'); END")));
    }
    for (int i = 0; i < 3; ++i)
        rig.store->recordEvent(entry(10 + i, QStringLiteral("op"), QStringLiteral("good %1").arg(i)));
    rig.store->recordEvent(entry(20, QStringLiteral("op"), QStringLiteral("poison")));
    rig.store->recordEvent(entry(30, QStringLiteral("op"), QStringLiteral("good after")));
    rig.store->recordSamples(key("with_poison"), ramp(1000, 10));
    QVERIFY(flushSync(*rig.store));
    QCOMPARE(rig.store->status().health, Health::Ok);
    QCOMPARE(rig.counter("storage_dropped_rows"), 1);
    QCOMPARE(rig.counter("storage_rows"), 14);
    const JournalPage page = journalSync(*rig.store, {0, 100, QStringLiteral("op"), 10});
    QCOMPARE(page.entries.size(), 4);
    QCOMPARE(page.entries.last().message, QStringLiteral("good after"));
}

void TestStorage::callbackSkippedWhenContextGone()
{
    QTemporaryDir dir;
    Rig rig(testOptions(dir.path()));
    rig.store->start();
    QTRY_COMPARE(rig.store->status().health, Health::Ok);
    bool called = false;
    auto *context = new QObject;
    SeriesQuery q;
    q.name = QStringLiteral("x");
    q.toMs = 1000;
    rig.store->loadSeries(q, context, [&](const SeriesHistory &) { called = true; });
    delete context;
    // The answer arrives (a later query's answer proves it) but has nowhere to go.
    JournalPage page = journalSync(*rig.store, {0, 1, {}, 1});
    QVERIFY(page.ok());
    QTest::qWait(20);
    QVERIFY(!called);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && qstrcmp(argv[1], "--child-writer") == 0)
        return runChildWriter(argc, argv);
    QCoreApplication app(argc, argv);
    TestStorage tc;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&tc, argc, argv);
}

#include "tst_storage.moc"
