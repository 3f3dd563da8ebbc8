#pragma once

#include <QHash>
#include <QList>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>

#include <memory>

namespace vega {

class SqlProfiler;

enum class DatabaseDialect { Sqlite, Postgres };

/// Where the history database lives, as parsed from the storage URL. Carries the *name* of
/// the environment variable holding the password, never the password itself.
struct DatabaseLocation {
    DatabaseDialect dialect = DatabaseDialect::Sqlite;
    QString path; // SQLite: absolute file path
    QString host; // PostgreSQL
    int port = 5432;
    QString user;
    QString database;
    QString schema; // PostgreSQL: optional ?schema=name (default: the server's search_path)
    QString passwordEnv = QStringLiteral("VEGA_DB_PASSWORD");

    /// For logs, errors and reports: "SQLite /data/vega.db" or
    /// "PostgreSQL vega@db.example:5432/metrics". Never contains a password.
    QString describe() const;
};

struct DatabaseLocationResult {
    DatabaseLocation location;
    QString error; // empty when the URL was understood
    bool ok() const { return error.isEmpty(); }
};

/**
 * Parses the storage URL:
 *  - empty: SQLite at `<dataDir>/vega.db`;
 *  - `sqlite:<path>`, `sqlite:///abs/path` or a plain file path: SQLite there (relative paths
 *    are taken from dataDir);
 *  - `postgresql://user@host[:port]/db[?schema=name]` (or `postgres://`): PostgreSQL via
 *    QPSQL; the password comes from the environment variable `passwordEnv`.
 * A password written in the URL is refused (the URL ends up in logs and reports); the error
 * text does not repeat it.
 */
DatabaseLocationResult parseDatabaseUrl(const QString &url, const QString &dataDir,
                                        const QString &passwordEnv = QStringLiteral("VEGA_DB_PASSWORD"));

struct DatabaseOptions {
    /// SQLite busy_timeout and PostgreSQL lock_timeout: how long a write waits for another
    /// connection's lock before it fails (and the writer retries with backoff).
    int lockTimeoutMs = 1000;
    int connectTimeoutSeconds = 5; // PostgreSQL
    QString applicationId = QStringLiteral("vega-console");
    /// SQLite page cache in KiB (PRAGMA cache_size = -N). SQLite's default, 2000 KiB, fills
    /// slowly as the history file grows, so memory would creep for as long as the file is
    /// smaller than that; a small fixed cache is full within minutes. 0 keeps SQLite's default.
    int sqliteCacheKib = 256;
};

enum class OpenStatus {
    Ok,
    Unavailable, // could not connect, locked, read-only, I/O...: worth retrying
    Incompatible // not ours, newer schema, bad URL, missing driver: retrying cannot help
};

struct OpenResult {
    OpenStatus status = OpenStatus::Unavailable;
    QString error;         // names the database and, for version problems, both versions
    int foundVersion = 0;  // schema version found (0: empty database)
    int schemaVersion = 0; // version after open (kSchemaVersion when Ok)
    bool ok() const { return status == OpenStatus::Ok; }
};

/**
 * One connection to the history database and its schema. Lives on the thread that opens
 * it (the storage thread); every statement goes through the SqlProfiler.
 *
 * open() inspects before it touches anything: a database whose meta table names another
 * application, one with tables but no meta table, or one with a newer schema version is
 * reported as Incompatible and left byte-for-byte as it was. Otherwise migrations from the
 * found version to kSchemaVersion run in one transaction, and SQLite is switched to WAL.
 *
 * Schema (version 2):
 *   meta(key PK, value)                    application_id, schema_version, rollup_until_ms
 *   series(id PK, name, labels, field, unit)   UNIQUE(name, labels, field); labels is JSON
 *   points(series_id, t_ms, value)          PK(series_id, t_ms): 1 s samples
 *   points_1m(series_id, t_ms, avg, min, max, n)  PK(series_id, t_ms): 1 min rollups
 *   journal(id PK, t_ms, kind, source, message, duration_ms, correlation_id)
 *       INDEX(t_ms), INDEX(kind, t_ms)
 * Version 1 had no points_1m, no correlation_id and no (kind, t_ms) index.
 */
class Database {
public:
    static constexpr int kSchemaVersion = 2;

    Database(const DatabaseLocation &location, SqlProfiler *profiler, const DatabaseOptions &options = {});
    ~Database();
    Database(const Database &) = delete;
    Database &operator=(const Database &) = delete;

    /// Closes any previous connection, connects, checks ownership and version, migrates.
    OpenResult open();
    void close();
    bool isOpen() const;

    DatabaseDialect dialect() const { return m_location.dialect; }
    const DatabaseLocation &location() const { return m_location; }
    int schemaVersion() const { return m_schemaVersion; }
    QSqlDatabase connection() const;

    /// A prepared statement, cached for the life of the connection; null (and *error set)
    /// when it cannot be prepared.
    QSqlQuery *prepared(const QString &sql, QString *error = nullptr);

    /// Statements through the profiler; `cid` is the correlation id recorded with them.
    bool exec(QSqlQuery &query, const QString &cid);
    bool exec(QSqlQuery &query, const QString &sql, const QString &cid);
    bool execBatch(QSqlQuery &query, const QString &cid);
    /// Runs one statement; on failure sets *error (see errorText()).
    bool run(const QString &sql, const QString &cid, QString *error = nullptr);

    /// A write transaction (BEGIN IMMEDIATE on SQLite, so lock waits happen up front).
    bool begin(const QString &cid, QString *error = nullptr);
    bool commit(const QString &cid, QString *error = nullptr);
    void rollback(const QString &cid);

    /// "<describe()>: <database message>": what the health status and journal carry.
    QString errorText(const QSqlError &error) const;
    /// True when the database refused the data itself (constraint, type, range): retrying
    /// the same rows cannot succeed. False for locks, I/O, permissions, lost connections.
    bool isDataError(const QSqlError &error) const;

    /// Value of a meta key, or `fallback` when absent.
    QString meta(const QString &key, const QString &fallback = {});
    bool setMeta(const QString &key, const QString &value, const QString &cid, QString *error = nullptr);

    /// Tables in the database (SQLite: not sqlite_*; PostgreSQL: the current schema).
    QStringList tables(QString *error = nullptr);

private:
    OpenResult inspectAndMigrate();
    bool applyMigration(int toVersion, QString *error);
    OpenResult fail(OpenStatus status, const QString &error);

    const DatabaseLocation m_location;
    SqlProfiler *const m_profiler;
    const DatabaseOptions m_options;
    const QString m_connectionName;
    int m_schemaVersion = 0;
    QHash<QString, std::shared_ptr<QSqlQuery>> m_prepared; // cleared before the connection goes
};

} // namespace vega
