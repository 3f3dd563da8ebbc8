#pragma once

#include "clock.h"

#include <QHash>
#include <QList>
#include <QMutex>
#include <QString>

#include <deque>
#include <utility>
#include <vector>

class QSqlDatabase;
class QSqlQuery;

namespace vega {

class Counter;
class Gauge;
class Histogram;
class MetricsRegistry;

/// Aggregate of every execution of one normalised statement since the last reset.
struct StatementStats {
    QString normalized;
    quint64 calls = 0;
    double totalMs = 0, meanMs = 0, p95Ms = 0, maxMs = 0;
    quint64 rows = 0;
    quint64 errors = 0;
    qint64 lastCallWallMs = 0; ///< UTC ms since epoch
};

/// One execution that took at least the slow threshold. Bound values are never stored.
struct SlowQuery {
    qint64 wallMs = 0; ///< UTC ms since epoch at which the query finished
    QString normalized;
    double durationMs = 0;
    QString correlationId;
    QString connection;
    QString error; ///< the driver's message, redacted by SqlProfiler::redactError(); empty on success
    quint64 rows = 0;
};

/// Totals of one QSqlDatabase connection (by connection name) since the last reset.
struct ConnectionUsage {
    QString connection;
    quint64 queries = 0;
    double totalMs = 0;
    quint64 errors = 0;
};

struct SqlProfilerOptions {
    /// Executions taking at least this long go to the slow log; 0 logs every query, a
    /// negative value disables the slow log.
    int slowThresholdMs = 100;
    /// Statements tracked at once; when full, the least-called one is evicted.
    int maxStatements = 1000;
    /// Entries kept in the slow log (the oldest are dropped).
    int slowLogSize = 200;
};

/**
 * A pg_stat_statements-like profiler for every SQL query the engine runs. Queries are
 * grouped by their normalised text (normalize()), across connections: literals and bound
 * values never reach a statement, the slow log or an exported metric, only the shape of the
 * query does. Normalising costs about 2 us for a 200-character query (-O2).
 *
 * Two ways in: run the query through exec()/execBatch() (the profiler times it and reads
 * the connection, rows and error from the QSqlQuery), or run it yourself and call record().
 *
 * What "rows" means:
 *  - SELECT (QSqlQuery::isSelect()): query.size() when the driver reports it (PostgreSQL);
 *    otherwise, for a scrollable query (the QSqlQuery default), exec() fetches the whole
 *    result inside the timed region and rewinds to before the first row, so the caller
 *    iterates from Qt's row cache as usual. This is deliberate: SQLite evaluates a SELECT
 *    lazily as rows are stepped, so timing exec() alone would time only the first row. A
 *    forward-only query (setForwardOnly(true), for streaming large results) is not
 *    prefetched: its time covers the first row only and its rows count as 0.
 *  - INSERT/UPDATE/DELETE/REPLACE/MERGE/WITH: numRowsAffected(). Other statements (DDL,
 *    PRAGMA, BEGIN...) count 0 rows, since SQLite reports the previous DML's count for them.
 *  - execBatch(): see execBatch().
 *
 * The connection is the QSqlDatabase connection name of the query's driver. It is found
 * by looking through the connections of the calling thread once per driver and remembered
 * on the driver; registerConnection() names a connection up front instead.
 *
 * Every method is thread-safe: the storage layer records from its database thread while
 * the UI reads from the GUI thread. exec() and execBatch() must run on the thread that
 * owns the query's connection, as QtSql requires anyway.
 *
 * Metrics (when a registry is given): counters sql_queries{outcome=ok|error},
 * sql_slow_queries and sql_statements_evicted; histogram sql_query_duration (ns); gauge
 * sql_statements_tracked. resetStats() clears what the profiler shows; the counters stay
 * monotonic.
 */
class SqlProfiler {
public:
    /// `registry` (may be null) and `clock` must outlive the profiler.
    explicit SqlProfiler(MetricsRegistry *registry = nullptr, const SqlProfilerOptions &options = {},
                         Clock *clock = Clock::system());
    ~SqlProfiler();
    SqlProfiler(const SqlProfiler &) = delete;
    SqlProfiler &operator=(const SqlProfiler &) = delete;

    /**
     * The statement's shape: the same statement with other values gives the same text.
     *  - Literals become `?`: numbers (integers, decimals, exponents, 0x hex), a sign
     *    directly before a number where it cannot be a binary minus (`= -5`, `(-1`,
     *    `SELECT -2`, but `a-1` stays `a-?`), strings '..' with '' escapes, E'..' (with
     *    backslash escapes), X'..', B'..', N'..', dollar-quoted $$..$$ / $tag$..$tag$, and
     *    TRUE/FALSE.
     *  - NULL stays NULL: it is no value anyone could leak, and `IS NULL` is part of the
     *    statement's shape.
     *  - Placeholders ?, ?1, :name, @name, $1 and $name all become `?`; `::` casts are kept.
     *  - `IN (?, ?, ?)` of any length becomes `IN (?...)`; a multi-row `VALUES (?, ?), (?, ?)`
     *    whose rows are alike becomes `VALUES (?, ?), ...`, so batches of any size group.
     *  - Comments (`--` to end of line, and block comments, nested as in PostgreSQL) are
     *    removed; any run of whitespace or comments becomes one space, none is added;
     *    trailing `;` are dropped.
     *  - Case is kept; identifiers (also with digits: col1, t2.x) and quoted identifiers
     *    ("col", `col`) are kept verbatim.
     * Strings follow standard SQL: a backslash does not escape a quote outside E'..'
     * (MySQL's backslash escapes are not understood), and "..." is an identifier (SQLite's
     * legacy double-quoted string literals would be kept).
     * An unterminated string or comment swallows the rest of the text, so nothing after an
     * unbalanced quote can leak. normalize(normalize(s)) == normalize(s).
     */
    static QString normalize(const QString &sql);

    /**
     * A driver error message with the values it may echo taken out: single-quoted text
     * becomes `?`; a double-quoted token is kept only when it looks like an identifier and
     * does not follow a colon (`relation "t"` stays, `for type integer: "abc"` goes);
     * PostgreSQL's `Key (col)=(value)` and `Failing row contains (...)` lose their values;
     * the `LINE n:` query excerpt is dropped (the statement itself is recorded normalised).
     */
    static QString redactError(const QString &errorText);

    /// Runs a prepared-and-bound query (query.exec()), timing it and recording stats under
    /// its lastQuery() text, its connection name, its rows and its error. Returns exec()'s
    /// result. The second argument is a correlation id, not SQL: SQL text goes through the
    /// three-argument overload.
    bool exec(QSqlQuery &query, const QString &correlationId = {});
    /// Same for QSqlQuery::exec(sql) (unprepared).
    bool exec(QSqlQuery &query, const QString &sql, const QString &correlationId);
    /// QSqlQuery::execBatch(), recorded as one call. Its rows are the driver's
    /// numRowsAffected() when the driver batches natively; otherwise (SQLite, PostgreSQL) Qt
    /// runs the parameter sets one by one and reports only the last set's count, so rows are
    /// the number of parameter sets run: exact for plain INSERTs, an estimate for UPDATE,
    /// DELETE or INSERT OR IGNORE batches.
    bool execBatch(QSqlQuery &query, const QString &correlationId = {});
    /// For callers that ran the query themselves. `sql` may hold literals: only its
    /// normalised text is kept. A negative `rows` counts as 0.
    void record(const QString &sql, const QString &connection, qint64 durationNs, qint64 rows, bool error,
                const QString &errorText = {}, const QString &correlationId = {});

    /// Names `db`'s connection for every query run on it, without the lookup. Call it on the
    /// thread that owns the connection.
    static void registerConnection(const QSqlDatabase &db);

    QList<StatementStats> statements() const;   ///< sorted by total time, largest first
    QList<SlowQuery> slowLog() const;           ///< newest last, at most slowLogSize
    QList<ConnectionUsage> connections() const; ///< sorted by total time, largest first
    /// Statements evicted to stay within maxStatements since the last reset.
    quint64 evictions() const;
    /// Clears statements, the slow log, connection usage and the eviction count. The metric
    /// counters and the duration histogram are the registry's and stay monotonic.
    void resetStats();

    SqlProfilerOptions options() const;
    void setSlowThresholdMs(int ms);

    /**
     * Sets the correlation id used by calls that pass none, for the current thread, until the
     * scope ends; the enclosing scope's id comes back then. So an action ("reset-stats#42")
     * or a request id follows the queries it causes. Destroy it on the thread that made it.
     */
    class CorrelationScope {
    public:
        explicit CorrelationScope(const QString &id);
        ~CorrelationScope();
        CorrelationScope(const CorrelationScope &) = delete;
        CorrelationScope &operator=(const CorrelationScope &) = delete;

    private:
        QString m_previous;
    };
    /// The innermost CorrelationScope's id on the current thread; empty outside any scope.
    static QString currentCorrelationId();

private:
    // Durations of one statement in vega::Histogram's bucket layout, but sparse: a full
    // Histogram is ~60 KB, times maxStatements.
    struct SparseHistogram {
        std::vector<std::pair<int, quint64>> buckets; // (bucket index, count), sorted by index
        quint64 count = 0;
        qint64 min = 0;
        qint64 max = 0;
        void record(qint64 value);
        double quantile(double q) const;
    };
    struct Statement {
        quint64 calls = 0;
        qint64 totalNs = 0;
        quint64 rows = 0;
        quint64 errors = 0;
        qint64 lastCallNs = 0;
        SparseHistogram durations;
    };

    bool finishExec(QSqlQuery &query, const QString &sql, bool ok, qint64 startNs, qint64 rows,
                    const QString &correlationId);
    void recordNormalized(const QString &normalized, const QString &connection, qint64 durationNs,
                          qint64 rows, bool error, const QString &errorText, const QString &correlationId,
                          qint64 nowNs);
    void evictOneLocked();
    qint64 wallMs(qint64 monoNs) const;

    Clock *const m_clock;
    const qint64 m_wallOriginMs;
    const qint64 m_monoOriginNs;

    Counter *m_ok = nullptr;
    Counter *m_error = nullptr;
    Counter *m_slow = nullptr;
    Counter *m_evicted = nullptr;
    Histogram *m_duration = nullptr;
    Gauge *m_tracked = nullptr;

    mutable QMutex m_mutex; // protects everything below
    SqlProfilerOptions m_options;
    QHash<QString, Statement> m_statements;
    std::deque<SlowQuery> m_slowLog;
    QHash<QString, ConnectionUsage> m_connections;
    quint64 m_evictions = 0;
};

} // namespace vega
