#include "database.h"

#include "sqlprofiler.h"

#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSqlDriver>
#include <QSqlRecord>
#include <QUrl>
#include <QUrlQuery>

#include <atomic>

namespace vega {

namespace {

const QString kMetaApplicationId = QStringLiteral("application_id");
const QString kMetaSchemaVersion = QStringLiteral("schema_version");
const QString kOpenCid = QStringLiteral("storage:open");

QString driverName(DatabaseDialect dialect)
{
    return dialect == DatabaseDialect::Sqlite ? QStringLiteral("QSQLITE") : QStringLiteral("QPSQL");
}

QString nextConnectionName()
{
    static std::atomic<int> counter{0};
    return QStringLiteral("vega-storage-%1").arg(++counter);
}

bool isIdentifier(const QString &s)
{
    static const QRegularExpression re(QStringLiteral("^[A-Za-z_][A-Za-z0-9_]{0,62}$"));
    return re.match(s).hasMatch();
}

// The DDL of each version, per dialect. Version n is reached from n-1 by migration n; a
// new database runs them all, so the upgrade path is the one always exercised.
QStringList migrationDdl(DatabaseDialect dialect, int version)
{
    const bool lite = dialect == DatabaseDialect::Sqlite;
    const QString idType =
        lite ? QStringLiteral("INTEGER PRIMARY KEY") : QStringLiteral("BIGSERIAL PRIMARY KEY");
    const QString intType = lite ? QStringLiteral("INTEGER") : QStringLiteral("BIGINT");
    const QString realType = lite ? QStringLiteral("REAL") : QStringLiteral("DOUBLE PRECISION");
    // Points are read by (series, time range): clustering them on that key makes a chart
    // load one contiguous range read.
    const QString clustered = lite ? QStringLiteral(" WITHOUT ROWID") : QString();
    switch (version) {
    case 1:
        return {
            QStringLiteral("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"),
            QStringLiteral("CREATE TABLE series (id ") % idType %
                QStringLiteral(", name TEXT NOT NULL, labels TEXT NOT NULL, field TEXT NOT NULL,"
                               " unit TEXT NOT NULL DEFAULT '', UNIQUE (name, labels, field))"),
            QStringLiteral("CREATE TABLE points (series_id ") % intType % QStringLiteral(" NOT NULL, t_ms ") %
                intType % QStringLiteral(" NOT NULL, value ") % realType %
                QStringLiteral(" NOT NULL, PRIMARY KEY (series_id, t_ms))") % clustered,
            QStringLiteral("CREATE TABLE journal (id ") % idType % QStringLiteral(", t_ms ") % intType %
                QStringLiteral(" NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, message TEXT NOT NULL,"
                               " duration_ms ") %
                realType % QStringLiteral(" NOT NULL DEFAULT 0)"),
            QStringLiteral("CREATE INDEX journal_t ON journal (t_ms)"),
            QStringLiteral("INSERT INTO meta (key, value) VALUES ('application_id', 'vega-console')"),
            QStringLiteral("INSERT INTO meta (key, value) VALUES ('schema_version', '1')"),
        };
    case 2:
        return {
            QStringLiteral("CREATE TABLE points_1m (series_id ") % intType %
                QStringLiteral(" NOT NULL, t_ms ") % intType % QStringLiteral(" NOT NULL, avg ") % realType %
                QStringLiteral(" NOT NULL, min ") % realType % QStringLiteral(" NOT NULL, max ") % realType %
                QStringLiteral(" NOT NULL, n ") % intType %
                QStringLiteral(" NOT NULL, PRIMARY KEY (series_id, t_ms))") % clustered,
            QStringLiteral("ALTER TABLE journal ADD COLUMN correlation_id TEXT NOT NULL DEFAULT ''"),
            QStringLiteral("CREATE INDEX journal_kind_t ON journal (kind, t_ms)"),
            QStringLiteral("UPDATE meta SET value = '2' WHERE key = 'schema_version'"),
        };
    default:
        return {};
    }
}

} // namespace

QString DatabaseLocation::describe() const
{
    if (dialect == DatabaseDialect::Sqlite)
        return QStringLiteral("SQLite ") % path;
    QString s = QStringLiteral("PostgreSQL ") % user % QLatin1Char('@') % host % QLatin1Char(':') %
                QString::number(port) % QLatin1Char('/') % database;
    if (!schema.isEmpty())
        s += QStringLiteral(" (schema ") % schema % QLatin1Char(')');
    return s;
}

DatabaseLocationResult parseDatabaseUrl(const QString &url, const QString &dataDir,
                                        const QString &passwordEnv)
{
    DatabaseLocationResult r;
    r.location.passwordEnv = passwordEnv.isEmpty() ? QStringLiteral("VEGA_DB_PASSWORD") : passwordEnv;
    const QString text = url.trimmed();
    const auto sqliteAt = [&](const QString &path) {
        if (path.isEmpty()) {
            r.error = QStringLiteral("storage URL \"%1\" names no database file").arg(text);
            return r;
        }
        const QString base = dataDir.isEmpty() ? QDir::currentPath() : dataDir;
        r.location.dialect = DatabaseDialect::Sqlite;
        r.location.path = QDir::cleanPath(QDir(base).absoluteFilePath(path));
        return r;
    };
    if (text.isEmpty())
        return sqliteAt(QStringLiteral("vega.db"));
    if (text.startsWith(QLatin1String("sqlite:"), Qt::CaseInsensitive)) {
        QString rest = text.mid(7);
        if (rest.startsWith(QLatin1String("//")))
            rest = rest.mid(2); // sqlite:///abs/path -> /abs/path
        return sqliteAt(rest);
    }
    const bool pg = text.startsWith(QLatin1String("postgresql://"), Qt::CaseInsensitive) ||
                    text.startsWith(QLatin1String("postgres://"), Qt::CaseInsensitive);
    if (!pg) {
        if (text.contains(QLatin1String("://"))) {
            r.error = QStringLiteral("storage URL scheme is not supported (use sqlite:<path> or "
                                     "postgresql://user@host:port/db)");
            return r;
        }
        return sqliteAt(text);
    }
    const QUrl u(text, QUrl::StrictMode);
    if (!u.isValid() || u.host().isEmpty()) {
        r.error = QStringLiteral("storage URL is not a valid postgresql://user@host:port/db URL");
        return r;
    }
    if (!u.password().isEmpty()) {
        r.error = QStringLiteral("storage URL must not contain a password: set it in the environment "
                                 "variable %1 instead")
                      .arg(r.location.passwordEnv);
        return r;
    }
    DatabaseLocation &loc = r.location;
    loc.dialect = DatabaseDialect::Postgres;
    loc.host = u.host();
    loc.port = u.port(5432);
    loc.user = u.userName();
    loc.database = u.path().mid(1);
    if (loc.user.isEmpty() || loc.database.isEmpty() || loc.database.contains(QLatin1Char('/'))) {
        r.error =
            QStringLiteral("storage URL must name a user and a database: postgresql://user@host:port/db");
        return r;
    }
    const QUrlQuery query(u);
    for (const auto &item : query.queryItems(QUrl::FullyDecoded)) {
        if (item.first == QLatin1String("schema") && isIdentifier(item.second)) {
            loc.schema = item.second;
        } else {
            r.error = QStringLiteral("storage URL option \"%1\" is not supported (only schema=<identifier>)")
                          .arg(item.first);
            return r;
        }
    }
    return r;
}

Database::Database(const DatabaseLocation &location, SqlProfiler *profiler, const DatabaseOptions &options)
    : m_location(location), m_profiler(profiler), m_options(options), m_connectionName(nextConnectionName())
{
    Q_ASSERT(profiler);
}

Database::~Database()
{
    close();
}

void Database::close()
{
    m_prepared.clear();
    m_schemaVersion = 0;
    if (QSqlDatabase::contains(m_connectionName)) {
        {
            QSqlDatabase db = QSqlDatabase::database(m_connectionName, false);
            db.close();
        }
        QSqlDatabase::removeDatabase(m_connectionName);
    }
}

bool Database::isOpen() const
{
    return QSqlDatabase::contains(m_connectionName) && connection().isOpen() && m_schemaVersion > 0;
}

QSqlDatabase Database::connection() const
{
    return QSqlDatabase::database(m_connectionName, false);
}

QSqlQuery *Database::prepared(const QString &sql, QString *error)
{
    auto it = m_prepared.find(sql);
    if (it != m_prepared.end())
        return it->get();
    auto q = std::make_shared<QSqlQuery>(connection());
    if (!q->prepare(sql)) {
        if (error)
            *error = errorText(q->lastError());
        return nullptr;
    }
    m_prepared.insert(sql, q);
    return q.get();
}

bool Database::exec(QSqlQuery &query, const QString &cid)
{
    return m_profiler->exec(query, cid);
}

bool Database::exec(QSqlQuery &query, const QString &sql, const QString &cid)
{
    return m_profiler->exec(query, sql, cid);
}

bool Database::execBatch(QSqlQuery &query, const QString &cid)
{
    return m_profiler->execBatch(query, cid);
}

bool Database::run(const QString &sql, const QString &cid, QString *error)
{
    QSqlQuery q(connection());
    if (exec(q, sql, cid))
        return true;
    if (error)
        *error = errorText(q.lastError());
    return false;
}

bool Database::begin(const QString &cid, QString *error)
{
    return run(m_location.dialect == DatabaseDialect::Sqlite ? QStringLiteral("BEGIN IMMEDIATE")
                                                             : QStringLiteral("BEGIN"),
               cid, error);
}

bool Database::commit(const QString &cid, QString *error)
{
    return run(QStringLiteral("COMMIT"), cid, error);
}

void Database::rollback(const QString &cid)
{
    // Fails harmlessly when the failed statement already ended the transaction.
    run(QStringLiteral("ROLLBACK"), cid);
}

QString Database::errorText(const QSqlError &error) const
{
    QString detail = error.databaseText().trimmed();
    const QString driver = error.driverText().trimmed();
    if (detail.isEmpty())
        detail = driver;
    else if (!driver.isEmpty() && !detail.contains(driver))
        detail += QStringLiteral(" (") % driver % QLatin1Char(')');
    if (detail.isEmpty())
        detail = QStringLiteral("unknown database error");
    return m_location.describe() % QStringLiteral(": ") % detail;
}

bool Database::isDataError(const QSqlError &error) const
{
    const QString code = error.nativeErrorCode();
    if (m_location.dialect == DatabaseDialect::Postgres) // SQLSTATE classes 22 and 23
        return code.startsWith(QLatin1String("22")) || code.startsWith(QLatin1String("23"));
    bool ok = false;
    const int primary = code.toInt(&ok) & 0xff;
    // SQLITE_TOOBIG, SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_RANGE
    return ok && (primary == 18 || primary == 19 || primary == 20 || primary == 25);
}

QString Database::meta(const QString &key, const QString &fallback)
{
    QSqlQuery q(connection());
    if (!q.prepare(QStringLiteral("SELECT value FROM meta WHERE key = ?")))
        return fallback;
    q.addBindValue(key);
    if (!exec(q, kOpenCid) || !q.next())
        return fallback;
    return q.value(0).toString();
}

bool Database::setMeta(const QString &key, const QString &value, const QString &cid, QString *error)
{
    QSqlQuery *q = prepared(QStringLiteral("INSERT INTO meta (key, value) VALUES (?, ?) "
                                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
                            error);
    if (!q)
        return false;
    q->addBindValue(key);
    q->addBindValue(value);
    if (exec(*q, cid))
        return true;
    if (error)
        *error = errorText(q->lastError());
    return false;
}

QStringList Database::tables(QString *error)
{
    // QSqlDatabase::tables() lists every schema on PostgreSQL; only ours matter.
    const QString sql =
        m_location.dialect == DatabaseDialect::Sqlite
            ? QStringLiteral(
                  "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
                  "ESCAPE '\\' ORDER BY name")
            : QStringLiteral("SELECT table_name FROM information_schema.tables "
                             "WHERE table_schema = current_schema() ORDER BY table_name");
    QSqlQuery q(connection());
    QStringList names;
    if (!exec(q, sql, kOpenCid)) {
        if (error)
            *error = errorText(q.lastError());
        return names;
    }
    while (q.next())
        names << q.value(0).toString();
    return names;
}

OpenResult Database::fail(OpenStatus status, const QString &error)
{
    close();
    OpenResult r;
    r.status = status;
    r.error = error;
    return r;
}

OpenResult Database::open()
{
    close();
    QString error;
    const QString driver = driverName(m_location.dialect);
    if (!QSqlDatabase::isDriverAvailable(driver))
        return fail(
            OpenStatus::Incompatible,
            QStringLiteral("%1: the Qt SQL driver %2 is not installed").arg(m_location.describe(), driver));
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(driver, m_connectionName);
        if (m_location.dialect == DatabaseDialect::Sqlite) {
            const QFileInfo file(m_location.path);
            if (!file.absoluteDir().exists() && !QDir().mkpath(file.absolutePath()))
                error = QStringLiteral("%1: cannot create the directory %2")
                            .arg(m_location.describe(), file.absolutePath());
            db.setDatabaseName(m_location.path);
        } else {
            db.setHostName(m_location.host);
            db.setPort(m_location.port);
            db.setUserName(m_location.user);
            db.setDatabaseName(m_location.database);
            const QString password = qEnvironmentVariable(m_location.passwordEnv.toLocal8Bit().constData());
            if (!password.isEmpty())
                db.setPassword(password);
            db.setConnectOptions(QStringLiteral("connect_timeout=%1;application_name=vega-console")
                                     .arg(qMax(1, m_options.connectTimeoutSeconds)));
        }
        if (error.isEmpty() && !db.open())
            error = errorText(db.lastError());
        if (error.isEmpty())
            SqlProfiler::registerConnection(db);
    }
    if (!error.isEmpty()) // outside the block: no handle may be alive when the connection is removed
        return fail(OpenStatus::Unavailable, error);

    // Session settings only: nothing here writes to the database.
    if (m_location.dialect == DatabaseDialect::Sqlite) {
        if (!run(QStringLiteral("PRAGMA busy_timeout = %1").arg(qMax(0, m_options.lockTimeoutMs)), kOpenCid,
                 &error))
            return fail(OpenStatus::Unavailable, error);
    } else {
        if (!m_location.schema.isEmpty() &&
            !run(QStringLiteral("SET search_path TO \"%1\"").arg(m_location.schema), kOpenCid, &error))
            return fail(OpenStatus::Unavailable, error);
        if (!run(QStringLiteral("SET lock_timeout = %1").arg(qMax(0, m_options.lockTimeoutMs)), kOpenCid,
                 &error) ||
            !run(QStringLiteral("SET client_min_messages = warning"), kOpenCid, &error))
            return fail(OpenStatus::Unavailable, error);
    }
    return inspectAndMigrate();
}

OpenResult Database::inspectAndMigrate()
{
    const QString where = m_location.describe();
    const bool lite = m_location.dialect == DatabaseDialect::Sqlite;
    // Inspect with reads only; nothing is written until the database is known to be ours.
    QString error;
    QStringList names = tables(&error);
    if (!error.isEmpty()) {
        // SQLITE_NOTADB: the file exists but is not an SQLite database at all.
        if (lite && error.contains(QLatin1String("not a database")))
            return fail(OpenStatus::Incompatible,
                        where % QStringLiteral(" is not an SQLite database; it was left unchanged (") %
                            error % QLatin1Char(')'));
        return fail(OpenStatus::Unavailable, error);
    }

    int found = 0;
    if (!names.isEmpty()) {
        if (!names.contains(QLatin1String("meta")))
            return fail(
                OpenStatus::Incompatible,
                QStringLiteral("%1 is not a Vega Console database: it has tables (%2) but no meta table; "
                               "it was left unchanged%3")
                    .arg(where, names.join(QStringLiteral(", ")),
                         lite ? QString()
                              : QStringLiteral(" (add ?schema=<name> to the URL to give Vega Console a "
                                               "schema of its own)")));
        const QString app = meta(kMetaApplicationId);
        if (app != m_options.applicationId)
            return fail(
                OpenStatus::Incompatible,
                QStringLiteral("%1 is not a Vega Console database: its application id is %2, expected "
                               "\"%3\"; it was left unchanged")
                    .arg(where,
                         app.isEmpty() ? QStringLiteral("missing")
                                       : QLatin1Char('"') % app % QLatin1Char('"'),
                         m_options.applicationId));
        bool ok = false;
        found = meta(kMetaSchemaVersion).toInt(&ok);
        if (!ok || found < 1)
            return fail(
                OpenStatus::Incompatible,
                QStringLiteral("%1 has no valid schema version in its meta table; it was left unchanged")
                    .arg(where));
        if (found > kSchemaVersion)
            return fail(
                OpenStatus::Incompatible,
                QStringLiteral("%1 has schema version %2, newer than version %3 that this program knows; "
                               "use a newer Vega Console or another database. It was left unchanged")
                    .arg(where)
                    .arg(found)
                    .arg(kSchemaVersion));
    }

    if (found < kSchemaVersion) {
        const QString cid = QStringLiteral("storage:migrate");
        if (!begin(cid, &error))
            return fail(OpenStatus::Unavailable, error);
        // Another process may have migrated between our look and our lock.
        const int again = tables().isEmpty() ? 0 : meta(kMetaSchemaVersion).toInt();
        if (again > kSchemaVersion) {
            rollback(cid);
            return inspectAndMigrate();
        }
        for (int v = again + 1; v <= kSchemaVersion; ++v) {
            if (!applyMigration(v, &error)) {
                rollback(cid);
                return fail(OpenStatus::Unavailable,
                            QStringLiteral("migrating to schema version %1 failed: %2").arg(v).arg(error));
            }
        }
        if (!commit(cid, &error)) {
            rollback(cid);
            return fail(OpenStatus::Unavailable, error);
        }
    }

    if (lite) {
        // WAL: readers never wait for the writer, and a killed writer loses at most its
        // uncommitted transaction. NORMAL sync is durable across process crashes in WAL mode.
        QSqlQuery q(connection());
        if (exec(q, QStringLiteral("PRAGMA journal_mode"), kOpenCid) && q.next() &&
            q.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0) {
            QSqlQuery set(connection());
            if (!exec(set, QStringLiteral("PRAGMA journal_mode = WAL"), kOpenCid) || !set.next() ||
                set.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) != 0)
                return fail(OpenStatus::Unavailable, where % QStringLiteral(": cannot switch to WAL mode (") %
                                                         errorText(set.lastError()) % QLatin1Char(')'));
        }
        if (!run(QStringLiteral("PRAGMA synchronous = NORMAL"), kOpenCid, &error))
            return fail(OpenStatus::Unavailable, error);
        // Set once the file is known to be ours: the pragma reads the header, and a file that
        // is not a database must be reported as Incompatible by the inspection above.
        if (m_options.sqliteCacheKib > 0 &&
            !run(QStringLiteral("PRAGMA cache_size = -%1").arg(m_options.sqliteCacheKib), kOpenCid, &error))
            return fail(OpenStatus::Unavailable, error);
    }

    m_schemaVersion = kSchemaVersion;
    OpenResult r;
    r.status = OpenStatus::Ok;
    r.foundVersion = found;
    r.schemaVersion = kSchemaVersion;
    return r;
}

bool Database::applyMigration(int toVersion, QString *error)
{
    const QString cid = QStringLiteral("storage:migrate:v%1").arg(toVersion);
    const QStringList statements = migrationDdl(m_location.dialect, toVersion);
    if (statements.isEmpty()) {
        *error = QStringLiteral("no migration to version %1").arg(toVersion);
        return false;
    }
    for (const QString &sql : statements) {
        if (!run(sql, cid, error))
            return false;
    }
    return true;
}

} // namespace vega
