#include "metrics.h"
#include "sqlprofiler.h"

#include <QtTest>

#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

using namespace vega;

namespace {

constexpr qint64 kNsPerMs = 1000000;

// Moves by a fixed step on every read, so exec() (which reads the clock before and after
// the query) measures exactly one step.
class TickClock final : public Clock {
public:
    explicit TickClock(qint64 stepMs) : m_stepNs(stepMs * kNsPerMs) {}
    qint64 nowNs() const override
    {
        const qint64 step = m_stepNs.load();
        return m_ns.fetch_add(step) + step;
    }
    void setStepMs(qint64 ms) { m_stepNs.store(ms * kNsPerMs); }

private:
    mutable std::atomic<qint64> m_ns{1000000000};
    std::atomic<qint64> m_stepNs;
};

// One SQLite connection on a file; removed when it goes out of scope, so declare it before
// the queries that use it.
class Connection {
public:
    Connection(const QString &dir, const QString &name, const QString &file = QStringLiteral("test.db"))
        : m_name(name)
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(dir + QLatin1Char('/') + file);
        m_open = db.open();
    }
    ~Connection()
    {
        {
            QSqlDatabase db = QSqlDatabase::database(m_name, false);
            db.close();
        }
        QSqlDatabase::removeDatabase(m_name);
    }
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    bool isOpen() const { return m_open; }
    QString name() const { return m_name; }
    QSqlDatabase db() const { return QSqlDatabase::database(m_name, false); }

private:
    QString m_name;
    bool m_open = false;
};

QString uniqueName(const char *prefix)
{
    static std::atomic<int> counter{0};
    return QLatin1String(prefix) + QLatin1Char('-') + QString::number(++counter);
}

const StatementStats *findStatement(const QList<StatementStats> &list, const QString &normalized)
{
    for (const StatementStats &s : list) {
        if (s.normalized == normalized)
            return &s;
    }
    return nullptr;
}

const ConnectionUsage *findConnection(const QList<ConnectionUsage> &list, const QString &name)
{
    for (const ConnectionUsage &c : list) {
        if (c.connection == name)
            return &c;
    }
    return nullptr;
}

// Everything the profiler can show, as one text, to look for leaked values in.
QString everythingShown(const SqlProfiler &profiler)
{
    QStringList parts;
    for (const StatementStats &s : profiler.statements())
        parts << s.normalized;
    for (const SlowQuery &q : profiler.slowLog())
        parts << q.normalized << q.error << q.correlationId << q.connection;
    for (const ConnectionUsage &c : profiler.connections())
        parts << c.connection;
    return parts.join(QLatin1Char('\n'));
}

SqlProfilerOptions withThreshold(int slowThresholdMs)
{
    SqlProfilerOptions o;
    o.slowThresholdMs = slowThresholdMs;
    return o;
}

std::atomic<int> g_threadWarnings{0};
QtMessageHandler g_previousHandler = nullptr;

void countingHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (message.contains(QLatin1String("does not belong to the calling thread")))
        ++g_threadWarnings;
    else if (g_previousHandler)
        g_previousHandler(type, context, message);
}

} // namespace

class TestSqlProfiler : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;

    // items(id, name, qty) with three rows.
    void createItems(const Connection &conn)
    {
        QSqlQuery q(conn.db());
        QVERIFY2(q.exec(QStringLiteral(
                     "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INT)")),
                 qPrintable(q.lastError().text()));
        QVERIFY(q.exec(QStringLiteral("INSERT INTO items (name, qty) VALUES ('a', 1), ('b', 5), ('c', 9)")));
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void normalize_data()
    {
        QTest::addColumn<QString>("sql");
        QTest::addColumn<QString>("expected");
        const auto row = [](const char *name, const char *sql, const char *expected) {
            QTest::newRow(name) << QString::fromUtf8(sql) << QString::fromUtf8(expected);
        };
        row("integers", "SELECT * FROM t WHERE id = 42 AND n <> 7",
            "SELECT * FROM t WHERE id = ? AND n <> ?");
        row("floats", "SELECT 3.14, .5, 1e10, 2.5E-3, 7.", "SELECT ?, ?, ?, ?, ?");
        row("negative numbers", "WHERE a = -5 AND b >= -2.5 AND c IN (-1)",
            "WHERE a = ? AND b >= ? AND c IN (?...)");
        row("unary minus after keyword", "SELECT -1, +2 WHERE x BETWEEN -3 AND -4",
            "SELECT ?, ? WHERE x BETWEEN ? AND ?");
        row("binary minus kept", "SELECT a-1, b - 2, (c)-3, col1-4 FROM t",
            "SELECT a-?, b - ?, (c)-?, col1-? FROM t");
        row("strings", "SELECT 'plain', 'it''s', '' FROM t", "SELECT ?, ?, ? FROM t");
        row("string with comment marks", "SELECT '-- not a comment', '/* nor this */'", "SELECT ?, ?");
        row("E strings", "SELECT E'don\\'t', e'a\\\\' || 'b'", "SELECT ?, ? || ?");
        row("hex", "SELECT 0x1F, 0XABCDEF, X'DEADBEEF', x'00', B'101', N'nat'", "SELECT ?, ?, ?, ?, ?, ?");
        row("booleans", "UPDATE t SET on_ = true WHERE off_ = FALSE", "UPDATE t SET on_ = ? WHERE off_ = ?");
        row("NULL kept", "SELECT * FROM t WHERE x IS NULL AND y = NULL",
            "SELECT * FROM t WHERE x IS NULL AND y = NULL");
        row("IN list", "SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?...)");
        row("IN single", "SELECT * FROM t WHERE name IN ('a')", "SELECT * FROM t WHERE name IN (?...)");
        row("IN placeholders", "DELETE FROM t WHERE id NOT IN(?,?,?)", "DELETE FROM t WHERE id NOT IN(?...)");
        row("IN subquery kept", "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE n = 3)",
            "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE n = ?)");
        row("IN mixed kept", "SELECT * FROM t WHERE id IN (1, NULL)",
            "SELECT * FROM t WHERE id IN (?, NULL)");
        row("line comment", "SELECT a -- secret 42\nFROM t", "SELECT a FROM t");
        row("block comment", "SELECT /* 1 */ a/**/b FROM t /* trailing", "SELECT a b FROM t");
        row("nested block comment", "SELECT a /* x /* 'y' */ 3 */ FROM t", "SELECT a FROM t");
        row("whitespace", "  SELECT  a,\n\t b\r\nFROM   t  ", "SELECT a, b FROM t");
        row("trailing semicolons", "SELECT 1;; ", "SELECT ?");
        row("several statements", "BEGIN; UPDATE t SET a = 1; COMMIT;", "BEGIN; UPDATE t SET a = ?; COMMIT");
        row("placeholders", "WHERE a = ? AND b = :name AND c = $1 AND d = @p AND e = ?2 AND f = $tcl",
            "WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ? AND f = ?");
        row("casts kept", "SELECT x::int, '5'::text, y::varchar(10)",
            "SELECT x::int, ?::text, y::varchar(?)");
        row("identifiers with digits", "SELECT col1, t2.x, a_3, b$4 FROM t2 JOIN t3 ON t2.id = t3.id",
            "SELECT col1, t2.x, a_3, b$4 FROM t2 JOIN t3 ON t2.id = t3.id");
        row("quoted identifiers", "SELECT \"col 1\", \"we\"\"ird\", `b2` FROM \"t 9\" WHERE \"x1\" = 1",
            "SELECT \"col 1\", \"we\"\"ird\", `b2` FROM \"t 9\" WHERE \"x1\" = ?");
        row("dollar quotes", "SELECT $$secret 1$$, $fn$ body 'x' $fn$ FROM t", "SELECT ?, ? FROM t");
        row("multi-row VALUES", "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z')",
            "INSERT INTO t (a, b) VALUES (?, ?), ...");
        row("single-row VALUES", "INSERT INTO t (a, b) VALUES (:a, :b)",
            "INSERT INTO t (a, b) VALUES (?, ?)");
        row("unlike VALUES rows kept", "INSERT INTO t VALUES (1, 2), (3, NULL)",
            "INSERT INTO t VALUES (?, ?), (?, NULL)");
        row("case kept", "select Id from Users where Id=1", "select Id from Users where Id=?");
        row("unicode identifier", "SELECT größe FROM t WHERE größe > 10",
            "SELECT größe FROM t WHERE größe > ?");
        row("number glued to letters", "SELECT 1_000, 12abc", "SELECT ?, ?");
        row("limit offset", "SELECT * FROM t LIMIT 10 OFFSET 20", "SELECT * FROM t LIMIT ? OFFSET ?");
        row("unterminated string", "SELECT 'abc FROM t WHERE x = 1", "SELECT ?");
        row("unterminated comment", "SELECT 1 /* open", "SELECT ?");
        row("empty", "", "");
    }

    void normalize()
    {
        QFETCH(QString, sql);
        QFETCH(QString, expected);
        QCOMPARE(SqlProfiler::normalize(sql), expected);
    }

    void normalizeIsIdempotent_data() { normalize_data(); }

    void normalizeIsIdempotent()
    {
        QFETCH(QString, sql);
        const QString once = SqlProfiler::normalize(sql);
        QCOMPARE(SqlProfiler::normalize(once), once);
    }

    void redactError_data()
    {
        QTest::addColumn<QString>("error");
        QTest::addColumn<QString>("expected");
        const auto row = [](const char *name, const char *error, const char *expected) {
            QTest::newRow(name) << QString::fromUtf8(error) << QString::fromUtf8(expected);
        };
        row("sqlite syntax error", "near \"'sk-live-SECRET'\": syntax error Unable to execute statement",
            "near \"?\": syntax error Unable to execute statement");
        row("sqlite keyword kept", "near \"FROM\": syntax error", "near \"FROM\": syntax error");
        row("sqlite number", "near \"12345\": syntax error", "near \"?\": syntax error");
        row("no values", "no such table: users Unable to execute statement",
            "no such table: users Unable to execute statement");
        row("constraint name kept", "UNIQUE constraint failed: tokens.value",
            "UNIQUE constraint failed: tokens.value");
        row("pg duplicate key",
            "ERROR:  duplicate key value violates unique constraint \"users_email_key\"\n"
            "DETAIL:  Key (email)=(alice@example.com) already exists.",
            "ERROR:  duplicate key value violates unique constraint \"users_email_key\"\n"
            "DETAIL:  Key (email)=(?) already exists.");
        row("pg expression key", "DETAIL:  Key (lower(email))=(Bob (work)) already exists.",
            "DETAIL:  Key (lower(email))=(?) already exists.");
        row("pg invalid input", "ERROR:  invalid input syntax for type integer: \"abc\"",
            "ERROR:  invalid input syntax for type integer: \"?\"");
        row("pg out of range", "ERROR:  value \"99999999999\" is out of range for type integer",
            "ERROR:  value \"?\" is out of range for type integer");
        row("pg line excerpt",
            "ERROR:  relation \"missing\" does not exist\nLINE 1: SELECT * FROM missing WHERE token = 42\n"
            "                      ^\n(42P01 QPSQL: Unable to create query)",
            "ERROR:  relation \"missing\" does not exist\nLINE 1: (query text omitted)\n"
            "(42P01 QPSQL: Unable to create query)");
        row("pg failing row",
            "ERROR:  new row for relation \"t\" violates check constraint \"c\"\n"
            "DETAIL:  Failing row contains (1, hunter2, 42).",
            "ERROR:  new row for relation \"t\" violates check constraint \"c\"\n"
            "DETAIL:  Failing row contains (?).");
        row("mysql duplicate entry", "Duplicate entry 'bob@x.io' for key 'email'",
            "Duplicate entry '?' for key '?'");
        row("unbalanced quote swallows the rest", "unrecognized token: \"'sk-live",
            "unrecognized token: \"?");
    }

    void redactError()
    {
        QFETCH(QString, error);
        QFETCH(QString, expected);
        QCOMPARE(SqlProfiler::redactError(error), expected);
    }

    void preparedQueriesGroupUnderOneStatement()
    {
        const Connection conn(m_dir.path(), uniqueName("prepared"), QStringLiteral("prepared.db"));
        QVERIFY(conn.isOpen());
        SqlProfiler profiler;
        QSqlQuery create(conn.db());
        QVERIFY(profiler.exec(
            create, QStringLiteral("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty INT)"), {}));

        QSqlQuery insert(conn.db());
        QVERIFY(insert.prepare(QStringLiteral("INSERT INTO items (name, qty) VALUES (:name, :qty)")));
        const QStringList names{QStringLiteral("a"), QStringLiteral("b"), QStringLiteral("c")};
        for (int i = 0; i < names.size(); ++i) {
            insert.bindValue(QStringLiteral(":name"), names.at(i));
            insert.bindValue(QStringLiteral(":qty"), i * 4 + 1); // 1, 5, 9
            QVERIFY(profiler.exec(insert));
        }
        // DDL after DML: SQLite would report the previous INSERT's count for it.
        QSqlQuery ddl(conn.db());
        QVERIFY(profiler.exec(ddl, QStringLiteral("CREATE INDEX items_qty ON items (qty)"), {}));

        QSqlQuery select(conn.db());
        QVERIFY(select.prepare(QStringLiteral("SELECT id, name FROM items WHERE qty >= ? ORDER BY id")));
        select.addBindValue(0);
        QVERIFY(profiler.exec(select));
        // The result was fetched to count it; the caller still iterates it from the start.
        QStringList seen;
        while (select.next())
            seen << select.value(1).toString();
        QCOMPARE(seen, names);
        select.bindValue(0, 100);
        QVERIFY(profiler.exec(select));
        QVERIFY(!select.next());

        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 4);
        const StatementStats *ins =
            findStatement(stats, QStringLiteral("INSERT INTO items (name, qty) VALUES (?, ?)"));
        QVERIFY(ins);
        QCOMPARE(ins->calls, 3u);
        QCOMPARE(ins->rows, 3u);
        QCOMPARE(ins->errors, 0u);
        const StatementStats *sel =
            findStatement(stats, QStringLiteral("SELECT id, name FROM items WHERE qty >= ? ORDER BY id"));
        QVERIFY(sel);
        QCOMPARE(sel->calls, 2u);
        QCOMPARE(sel->rows, 3u);
        const StatementStats *index =
            findStatement(stats, QStringLiteral("CREATE INDEX items_qty ON items (qty)"));
        QVERIFY(index);
        QCOMPARE(index->rows, 0u);

        const QList<ConnectionUsage> usage = profiler.connections();
        QCOMPARE(usage.size(), 1);
        QCOMPARE(usage.first().connection, conn.name());
        QCOMPARE(usage.first().queries, 7u);
    }

    void forwardOnlySelectIsNotPrefetched()
    {
        const Connection conn(m_dir.path(), uniqueName("forward"), QStringLiteral("forward.db"));
        createItems(conn);
        SqlProfiler profiler;
        QSqlQuery q(conn.db());
        q.setForwardOnly(true);
        QVERIFY(profiler.exec(q, QStringLiteral("SELECT name FROM items"), {}));
        int n = 0;
        while (q.next())
            ++n;
        QCOMPARE(n, 3);
        QCOMPARE(profiler.statements().first().rows, 0u);
    }

    void unpreparedLiteralsGroupUnderOneStatement()
    {
        const Connection conn(m_dir.path(), uniqueName("unprepared"), QStringLiteral("unprepared.db"));
        createItems(conn);
        SqlProfiler profiler;
        QSqlQuery q(conn.db());
        QVERIFY(profiler.exec(q, QStringLiteral("UPDATE items SET qty = qty + 1 WHERE qty > 4"), {}));
        QVERIFY(profiler.exec(q, QStringLiteral("UPDATE items SET qty = qty + 10 WHERE qty > 100"), {}));
        QVERIFY(profiler.exec(q, QStringLiteral("SELECT * FROM items WHERE name IN ('a', 'b')"), {}));
        QVERIFY(profiler.exec(q, QStringLiteral("SELECT * FROM items WHERE name IN ('c')"), {}));

        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 2);
        const StatementStats *update =
            findStatement(stats, QStringLiteral("UPDATE items SET qty = qty + ? WHERE qty > ?"));
        QVERIFY(update);
        QCOMPARE(update->calls, 2u);
        QCOMPARE(update->rows, 2u); // b and c, then none
        const StatementStats *select =
            findStatement(stats, QStringLiteral("SELECT * FROM items WHERE name IN (?...)"));
        QVERIFY(select);
        QCOMPARE(select->calls, 2u);
        QCOMPARE(select->rows, 3u);
    }

    void execBatchIsOneCallWithEveryRow()
    {
        const Connection conn(m_dir.path(), uniqueName("batch"), QStringLiteral("batch.db"));
        createItems(conn);
        SqlProfiler profiler;
        QSqlQuery q(conn.db());
        QVERIFY(q.prepare(QStringLiteral("INSERT INTO items (name, qty) VALUES (:name, :qty)")));
        q.bindValue(QStringLiteral(":name"), QVariantList{QStringLiteral("d"), QStringLiteral("e"),
                                                          QStringLiteral("f"), QStringLiteral("g")});
        q.bindValue(QStringLiteral(":qty"), QVariantList{10, 11, 12, 13});
        QVERIFY(profiler.execBatch(q));

        QSqlQuery count(conn.db());
        QVERIFY(count.exec(QStringLiteral("SELECT count(*) FROM items")));
        QVERIFY(count.next());
        QCOMPARE(count.value(0).toInt(), 7);

        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 1);
        QCOMPARE(stats.first().normalized, QStringLiteral("INSERT INTO items (name, qty) VALUES (?, ?)"));
        QCOMPARE(stats.first().calls, 1u);
        QCOMPARE(stats.first().rows, 4u);
    }

    void errorsAreCountedAndSlowOnesLogged()
    {
        const Connection conn(m_dir.path(), uniqueName("errors"), QStringLiteral("errors.db"));
        createItems(conn);
        MetricsRegistry registry;
        TickClock clock(150);
        SqlProfiler profiler(&registry, {}, &clock);

        QSqlQuery q(conn.db());
        QVERIFY(!profiler.exec(q, QStringLiteral("SELECT * FROM missing_table WHERE a = 1"),
                               QStringLiteral("req-1")));
        clock.setStepMs(5); // a fast failure is counted but not logged
        QSqlQuery insert(conn.db());
        QVERIFY(insert.prepare(QStringLiteral("INSERT INTO items (name, qty) VALUES (?, ?)")));
        insert.addBindValue(QVariant()); // NOT NULL violation
        insert.addBindValue(1);
        QVERIFY(!profiler.exec(insert, QStringLiteral("req-2")));

        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 2);
        const StatementStats *missing =
            findStatement(stats, QStringLiteral("SELECT * FROM missing_table WHERE a = ?"));
        QVERIFY(missing);
        QCOMPARE(missing->calls, 1u);
        QCOMPARE(missing->errors, 1u);
        QCOMPARE(missing->totalMs, 150.0);
        const StatementStats *bad =
            findStatement(stats, QStringLiteral("INSERT INTO items (name, qty) VALUES (?, ?)"));
        QVERIFY(bad);
        QCOMPARE(bad->errors, 1u);
        QCOMPARE(bad->rows, 0u);

        const QList<SlowQuery> slow = profiler.slowLog();
        QCOMPARE(slow.size(), 1);
        QCOMPARE(slow.first().normalized, missing->normalized);
        QCOMPARE(slow.first().durationMs, 150.0);
        QCOMPARE(slow.first().correlationId, QStringLiteral("req-1"));
        QCOMPARE(slow.first().connection, conn.name());
        QVERIFY2(slow.first().error.contains(QLatin1String("no such table: missing_table")),
                 qPrintable(slow.first().error));

        const auto snap = registry.capture();
        const auto outcome = [](const char *o) {
            return Labels{{QStringLiteral("outcome"), QLatin1String(o)}};
        };
        QCOMPARE(snap->find(QStringLiteral("sql_queries"), outcome("error"))->total, 2u);
        QCOMPARE(snap->find(QStringLiteral("sql_queries"), outcome("ok"))->total, 0u);
        QCOMPARE(snap->find(QStringLiteral("sql_slow_queries"))->total, 1u);
        QCOMPARE(snap->find(QStringLiteral("sql_query_duration"))->summary.count, 2u);
        QCOMPARE(snap->find(QStringLiteral("sql_statements_tracked"))->value, 2.0);
    }

    void slowThresholdIsConfigurable()
    {
        TickClock clock(50);
        SqlProfiler profiler(nullptr, {}, &clock);
        QCOMPARE(profiler.options().slowThresholdMs, 100);
        const QString sql = QStringLiteral("SELECT 1");
        profiler.record(sql, QStringLiteral("c"), 99 * kNsPerMs, 1, false);
        QCOMPARE(profiler.slowLog().size(), 0);
        profiler.record(sql, QStringLiteral("c"), 100 * kNsPerMs, 1, false); // at the threshold counts
        QCOMPARE(profiler.slowLog().size(), 1);

        profiler.setSlowThresholdMs(0);
        QCOMPARE(profiler.options().slowThresholdMs, 0);
        profiler.record(sql, QStringLiteral("c"), 0, 1, false);
        QCOMPARE(profiler.slowLog().size(), 2);

        profiler.setSlowThresholdMs(-1);
        profiler.record(sql, QStringLiteral("c"), 10000 * kNsPerMs, 1, false);
        QCOMPARE(profiler.slowLog().size(), 2);

        // exec() times the query with the clock: 50 ms per call here.
        const Connection conn(m_dir.path(), uniqueName("threshold"), QStringLiteral("threshold.db"));
        QSqlQuery q(conn.db());
        profiler.setSlowThresholdMs(50);
        QVERIFY(profiler.exec(q, QStringLiteral("SELECT 2"), {}));
        profiler.setSlowThresholdMs(51);
        QVERIFY(profiler.exec(q, QStringLiteral("SELECT 3"), {}));
        QCOMPARE(profiler.slowLog().size(), 3);
        QCOMPARE(profiler.slowLog().last().durationMs, 50.0);
    }

    void slowLogIsBoundedNewestLast()
    {
        SqlProfilerOptions options = withThreshold(0);
        options.slowLogSize = 3;
        SqlProfiler profiler(nullptr, options);
        for (int i = 1; i <= 5; ++i)
            profiler.record(QStringLiteral("SELECT %1").arg(i), QStringLiteral("c"), i, 0, false, {},
                            QString::number(i));
        const QList<SlowQuery> slow = profiler.slowLog();
        QCOMPARE(slow.size(), 3);
        QCOMPARE(slow.at(0).correlationId, QStringLiteral("3"));
        QCOMPARE(slow.at(2).correlationId, QStringLiteral("5"));
    }

    void correlationIdFollowsScopes()
    {
        SqlProfiler profiler(nullptr, withThreshold(0));
        const auto recordOne = [&](const QString &explicitId = {}) {
            profiler.record(QStringLiteral("SELECT 1"), QStringLiteral("c"), 1, 0, false, {}, explicitId);
            return profiler.slowLog().last().correlationId;
        };
        QCOMPARE(SqlProfiler::currentCorrelationId(), QString());
        QCOMPARE(recordOne(), QString());
        QCOMPARE(recordOne(QStringLiteral("explicit")), QStringLiteral("explicit"));
        {
            const SqlProfiler::CorrelationScope outer(QStringLiteral("reset-stats#42"));
            QCOMPARE(SqlProfiler::currentCorrelationId(), QStringLiteral("reset-stats#42"));
            QCOMPARE(recordOne(), QStringLiteral("reset-stats#42"));
            {
                const SqlProfiler::CorrelationScope inner(QStringLiteral("req-7"));
                QCOMPARE(recordOne(), QStringLiteral("req-7"));
                QCOMPARE(recordOne(QStringLiteral("explicit")), QStringLiteral("explicit"));
            }
            QCOMPARE(recordOne(), QStringLiteral("reset-stats#42"));
        }
        QCOMPARE(SqlProfiler::currentCorrelationId(), QString());
        QCOMPARE(recordOne(), QString());
    }

    void correlationScopeIsPerThread()
    {
        SqlProfiler profiler(nullptr, withThreshold(0));
        const SqlProfiler::CorrelationScope scope(QStringLiteral("main"));
        std::promise<void> workerInScope;
        std::promise<void> mainRecorded;
        QString seenByWorkerBeforeScope;
        std::thread worker([&] {
            seenByWorkerBeforeScope = SqlProfiler::currentCorrelationId();
            const SqlProfiler::CorrelationScope workerScope(QStringLiteral("worker"));
            workerInScope.set_value();
            mainRecorded.get_future().wait(); // both scopes are alive at once
            profiler.record(QStringLiteral("SELECT 2"), QStringLiteral("w"), 1, 0, false);
        });
        workerInScope.get_future().wait();
        profiler.record(QStringLiteral("SELECT 1"), QStringLiteral("m"), 1, 0, false);
        mainRecorded.set_value();
        worker.join();

        QCOMPARE(seenByWorkerBeforeScope, QString());
        QCOMPARE(SqlProfiler::currentCorrelationId(), QStringLiteral("main"));
        const QList<SlowQuery> slow = profiler.slowLog();
        QCOMPARE(slow.size(), 2);
        QCOMPARE(slow.at(0).correlationId, QStringLiteral("main"));
        QCOMPARE(slow.at(1).correlationId, QStringLiteral("worker"));
    }

    void valuesNeverReachAnyOutput()
    {
        const Connection conn(m_dir.path(), uniqueName("redaction"), QStringLiteral("redaction.db"));
        QVERIFY(conn.isOpen());
        MetricsRegistry registry;
        SqlProfiler profiler(&registry, withThreshold(0)); // everything goes to the slow log
        const QString secret = QStringLiteral("SECRET");

        QSqlQuery q(conn.db());
        QVERIFY(profiler.exec(
            q, QStringLiteral("CREATE TABLE tokens (id INTEGER PRIMARY KEY, value TEXT UNIQUE)"), {}));
        // A literal in unprepared SQL.
        QVERIFY(
            profiler.exec(q, QStringLiteral("INSERT INTO tokens (value) VALUES ('sk-live-SECRET-1')"), {}));
        // A bound value, then the same one again: a UNIQUE violation.
        QSqlQuery insert(conn.db());
        QVERIFY(insert.prepare(QStringLiteral("INSERT INTO tokens (value) VALUES (?)")));
        insert.addBindValue(QStringLiteral("sk-live-SECRET-2"));
        QVERIFY(profiler.exec(insert));
        insert.addBindValue(QStringLiteral("sk-live-SECRET-2"));
        QVERIFY(!profiler.exec(insert));
        // A bound value read back.
        QSqlQuery select(conn.db());
        QVERIFY(select.prepare(QStringLiteral("SELECT id FROM tokens WHERE value = :v")));
        select.bindValue(QStringLiteral(":v"), QStringLiteral("sk-live-SECRET-2"));
        QVERIFY(profiler.exec(select));
        // A syntax error whose message quotes the literal back.
        const QString bad = QStringLiteral("SELECT id FROM tokens WHERE id = 1 'sk-live-SECRET-3'");
        {
            QSqlQuery direct(conn.db());
            QVERIFY(!direct.exec(bad));
            QVERIFY2(direct.lastError().text().contains(secret), "the driver should echo the literal");
        }
        QVERIFY(!profiler.exec(q, bad, {}));
        // A caller's own record() with the raw text and error.
        profiler.record(QStringLiteral("UPDATE tokens SET value = 'sk-live-SECRET-4' WHERE id = 9"),
                        conn.name(), 1, 0, true, QStringLiteral("constraint failed: 'sk-live-SECRET-4'"));

        QCOMPARE(profiler.slowLog().size(), 7);
        const QString shown = everythingShown(profiler);
        QVERIFY2(!shown.contains(secret), qPrintable(shown));
        QVERIFY(shown.contains(QLatin1String("INSERT INTO tokens (value) VALUES (?)")));
        QVERIFY(shown.contains(QLatin1String("syntax error")));

        const auto snap = registry.capture();
        for (const MetricSnapshot &m : snap->metrics) {
            for (const auto &label : m.labels)
                QVERIFY(!label.second.contains(secret));
        }
    }

    void resetStatsClearsWhatIsShown()
    {
        MetricsRegistry registry;
        SqlProfilerOptions options = withThreshold(0);
        options.maxStatements = 1;
        SqlProfiler profiler(&registry, options);
        profiler.record(QStringLiteral("SELECT 1"), QStringLiteral("c"), kNsPerMs, 1, false);
        profiler.record(QStringLiteral("SELECT a FROM t"), QStringLiteral("c"), kNsPerMs, 1, true,
                        QStringLiteral("boom"));
        QCOMPARE(profiler.evictions(), 1u);

        profiler.resetStats();
        QVERIFY(profiler.statements().isEmpty());
        QVERIFY(profiler.slowLog().isEmpty());
        QVERIFY(profiler.connections().isEmpty());
        QCOMPARE(profiler.evictions(), 0u);
        auto snap = registry.capture();
        QCOMPARE(snap->find(QStringLiteral("sql_statements_tracked"))->value, 0.0);

        profiler.record(QStringLiteral("SELECT 2"), QStringLiteral("c"), kNsPerMs, 1, false);
        QCOMPARE(profiler.statements().size(), 1);
        QCOMPARE(profiler.statements().first().calls, 1u);
        snap = registry.capture();
        // The metric counters are cumulative: the reset did not take them back.
        QCOMPARE(
            snap->find(QStringLiteral("sql_queries"), {{QStringLiteral("outcome"), QStringLiteral("ok")}})
                ->total,
            2u);
        QCOMPARE(snap->find(QStringLiteral("sql_slow_queries"))->total, 3u);
        QCOMPARE(snap->find(QStringLiteral("sql_statements_evicted"))->total, 1u);
        QCOMPARE(snap->find(QStringLiteral("sql_statements_tracked"))->value, 1.0);
    }

    void usageIsKeptPerConnection()
    {
        const Connection a(m_dir.path(), uniqueName("conn-a"), QStringLiteral("a.db"));
        const Connection b(m_dir.path(), uniqueName("conn-b"), QStringLiteral("b.db"));
        QVERIFY(a.isOpen() && b.isOpen());
        TickClock clock(10);
        SqlProfiler profiler(nullptr, {}, &clock);
        QSqlQuery qa(a.db());
        QSqlQuery qb(b.db());
        for (int i = 0; i < 3; ++i)
            QVERIFY(profiler.exec(qa, QStringLiteral("SELECT %1").arg(i), {}));
        QVERIFY(profiler.exec(qb, QStringLiteral("SELECT 7"), {}));
        QVERIFY(!profiler.exec(qb, QStringLiteral("SELECT * FROM nowhere"), {}));

        const QList<ConnectionUsage> usage = profiler.connections();
        QCOMPARE(usage.size(), 2);
        QCOMPARE(usage.at(0).connection, a.name()); // most time first
        QCOMPARE(usage.at(0).queries, 3u);
        QCOMPARE(usage.at(0).totalMs, 30.0);
        QCOMPARE(usage.at(0).errors, 0u);
        QCOMPARE(usage.at(1).connection, b.name());
        QCOMPARE(usage.at(1).queries, 2u);
        QCOMPARE(usage.at(1).totalMs, 20.0);
        QCOMPARE(usage.at(1).errors, 1u);
        // One statement across both connections.
        QCOMPARE(findStatement(profiler.statements(), QStringLiteral("SELECT ?"))->calls, 4u);

        // A connection named up front.
        const Connection c(m_dir.path(), uniqueName("conn-c"), QStringLiteral("c.db"));
        SqlProfiler::registerConnection(c.db());
        QSqlQuery qc(c.db());
        QVERIFY(profiler.exec(qc, QStringLiteral("SELECT 8"), {}));
        QVERIFY(findConnection(profiler.connections(), c.name()));
    }

    void connectionsOfOtherThreadsAreLookedAtOnce()
    {
        // Another thread owns a connection for the whole test.
        std::promise<void> added;
        std::promise<void> done;
        const QString foreignName = uniqueName("foreign");
        std::thread owner([&] {
            {
                const Connection foreign(m_dir.path(), foreignName, QStringLiteral("foreign.db"));
                added.set_value();
                done.get_future().wait();
            }
        });
        added.get_future().wait();

        g_threadWarnings = 0;
        g_previousHandler = qInstallMessageHandler(countingHandler);
        const auto cleanup = qScopeGuard([&] {
            qInstallMessageHandler(g_previousHandler);
            done.set_value();
            owner.join();
        });
        SqlProfiler profiler;
        for (int i = 0; i < 4; ++i) {
            const Connection mine(m_dir.path(), uniqueName("mine"), QStringLiteral("mine.db"));
            QSqlQuery q(mine.db());
            QVERIFY(profiler.exec(q, QStringLiteral("SELECT 1"), {}));
            QVERIFY(findConnection(profiler.connections(), mine.name()));
        }
        // QtSql warns when asked for another thread's connection: at most once per name.
        QVERIFY(g_threadWarnings <= 1);
        QCOMPARE(profiler.connections().size(), 4);
    }

    void recordsFromManyThreads()
    {
        MetricsRegistry registry;
        SqlProfilerOptions options = withThreshold(0);
        options.slowLogSize = 50;
        SqlProfiler profiler(&registry, options);
        constexpr int kThreads = 4;
        constexpr int kPerThread = 2000;
        std::atomic<int> running{kThreads};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const SqlProfiler::CorrelationScope scope(QStringLiteral("thread-%1").arg(t));
                const QString connection = QStringLiteral("conn-%1").arg(t);
                for (int i = 0; i < kPerThread; ++i) {
                    profiler.record(QStringLiteral("SELECT * FROM t%1 WHERE id = %2").arg(i % 20).arg(i),
                                    connection, (i % 7) * 1000, 1, i % 100 == 0,
                                    QStringLiteral("err 'v%1'").arg(i));
                }
                --running;
            });
        }
        // A reader polls like the UI does, while the threads write.
        bool boundsHeld = true;
        while (running.load() > 0) {
            const bool held = profiler.statements().size() <= 20 && profiler.slowLog().size() <= 50 &&
                              profiler.connections().size() <= kThreads;
            boundsHeld = boundsHeld && held;
        }
        for (auto &t : threads)
            t.join();
        QVERIFY(boundsHeld);

        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 20);
        quint64 calls = 0;
        quint64 errors = 0;
        for (const StatementStats &s : stats) {
            calls += s.calls;
            errors += s.errors;
            QCOMPARE(s.calls, quint64(kThreads * kPerThread / 20));
        }
        QCOMPARE(calls, quint64(kThreads * kPerThread));
        QCOMPARE(errors, quint64(kThreads * kPerThread / 100));
        const QList<ConnectionUsage> usage = profiler.connections();
        QCOMPARE(usage.size(), kThreads);
        for (const ConnectionUsage &u : usage)
            QCOMPARE(u.queries, quint64(kPerThread));
        for (const SlowQuery &q : profiler.slowLog()) {
            QVERIFY(q.correlationId.startsWith(QLatin1String("thread-")));
            QCOMPARE(q.correlationId.mid(7), q.connection.mid(5)); // each thread kept its own id
        }
        const auto snap = registry.capture();
        QCOMPARE(
            snap->find(QStringLiteral("sql_queries"), {{QStringLiteral("outcome"), QStringLiteral("ok")}})
                    ->total +
                snap->find(QStringLiteral("sql_queries"),
                           {{QStringLiteral("outcome"), QStringLiteral("error")}})
                    ->total,
            quint64(kThreads * kPerThread));
        QCOMPARE(snap->find(QStringLiteral("sql_query_duration"))->summary.count,
                 quint64(kThreads * kPerThread));
    }

    void execFromThreadsWithTheirOwnConnections()
    {
        {
            const Connection setup(m_dir.path(), uniqueName("setup"), QStringLiteral("shared.db"));
            createItems(setup);
        }
        SqlProfiler profiler;
        std::vector<std::thread> threads;
        std::atomic<int> failures{0};
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&] {
                const Connection conn(m_dir.path(), uniqueName("worker"), QStringLiteral("shared.db"));
                SqlProfiler::registerConnection(conn.db());
                QSqlQuery q(conn.db());
                for (int i = 0; i < 50; ++i) {
                    if (!profiler.exec(q, QStringLiteral("SELECT name FROM items WHERE qty > %1").arg(i), {}))
                        ++failures;
                }
            });
        }
        for (auto &t : threads)
            t.join();
        QCOMPARE(failures.load(), 0);
        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 1);
        QCOMPARE(stats.first().calls, 200u);
        // Per thread: qty > 0 gives 3 rows, > 1..4 gives 2, > 5..8 gives 1, then none.
        QCOMPARE(stats.first().rows, quint64(4 * (3 + 4 * 2 + 4 * 1)));
        QCOMPARE(profiler.connections().size(), 4);
    }

    void evictsTheLeastCalledStatement()
    {
        MetricsRegistry registry;
        ManualClock clock;
        SqlProfilerOptions options;
        options.maxStatements = 3;
        SqlProfiler profiler(&registry, options, &clock);
        const auto call = [&](const char *table, int times) {
            for (int i = 0; i < times; ++i) {
                profiler.record(QStringLiteral("SELECT * FROM ") + QLatin1String(table), QStringLiteral("c"),
                                kNsPerMs, 0, false);
                clock.advanceMs(1);
            }
        };
        call("a", 5);
        call("b", 1);
        call("c", 1);
        call("d", 1); // full: b and c have one call each, b is older
        auto names = [&] {
            QStringList n;
            for (const StatementStats &s : profiler.statements())
                n << s.normalized;
            n.sort();
            return n;
        };
        QCOMPARE(names(), (QStringList{QStringLiteral("SELECT * FROM a"), QStringLiteral("SELECT * FROM c"),
                                       QStringLiteral("SELECT * FROM d")}));
        call("d", 2);
        call("e", 1); // c is now the least called
        QCOMPARE(names(), (QStringList{QStringLiteral("SELECT * FROM a"), QStringLiteral("SELECT * FROM d"),
                                       QStringLiteral("SELECT * FROM e")}));
        QCOMPARE(profiler.evictions(), 2u);
        const auto snap = registry.capture();
        QCOMPARE(snap->find(QStringLiteral("sql_statements_evicted"))->total, 2u);
        QCOMPARE(snap->find(QStringLiteral("sql_statements_tracked"))->value, 3.0);
    }

    void statementStatsAreComputed()
    {
        ManualClock clock;
        SqlProfiler profiler(nullptr, {}, &clock);
        const qint64 wallBefore = QDateTime::currentMSecsSinceEpoch();
        for (int ms = 1; ms <= 100; ++ms)
            profiler.record(QStringLiteral("SELECT * FROM slow WHERE id = %1").arg(ms), QStringLiteral("c"),
                            ms * kNsPerMs, 2, false);
        clock.advanceMs(5000);
        profiler.record(QStringLiteral("SELECT 1"), QStringLiteral("c"), kNsPerMs, 1, false);

        const QList<StatementStats> stats = profiler.statements();
        QCOMPARE(stats.size(), 2);
        const StatementStats &s = stats.first(); // most total time first
        QCOMPARE(s.normalized, QStringLiteral("SELECT * FROM slow WHERE id = ?"));
        QCOMPARE(s.calls, 100u);
        QCOMPARE(s.totalMs, 5050.0);
        QCOMPARE(s.meanMs, 50.5);
        QCOMPARE(s.maxMs, 100.0);
        QVERIFY2(qAbs(s.p95Ms - 95.0) <= 95.0 * 0.01, qPrintable(QString::number(s.p95Ms)));
        QCOMPARE(s.rows, 200u);
        QVERIFY(s.lastCallWallMs >= wallBefore && s.lastCallWallMs <= QDateTime::currentMSecsSinceEpoch());
        QCOMPARE(stats.at(1).lastCallWallMs - s.lastCallWallMs, 5000);
    }
};

QTEST_GUILESS_MAIN(TestSqlProfiler)
#include "tst_sqlprofiler.moc"
