#pragma once

#include "batchwriter.h"
#include "clock.h"
#include "database.h"
#include "metrics.h"
#include "systemdiagnostics.h"

#include <QMutex>
#include <QObject>
#include <QString>
#include <QVector>

#include <functional>
#include <memory>

class QThread;

namespace vega {

class SqlProfiler;
class StorageWorker;
struct StoreShared;

/// Storage options (the "storage" section of the configuration). Defaults as documented.
struct HistoryStoreOptions {
    /// Empty: SQLite at <dataDir>/vega.db. Or sqlite:<path>, or
    /// postgresql://user@host:port/db[?schema=name] (see parseDatabaseUrl()).
    QString url;
    QString dataDir;
    /// Environment variable holding the PostgreSQL password (never logged).
    QString passwordEnv = QStringLiteral("VEGA_DB_PASSWORD");

    int batchSize = 500;          // rows per transaction; a full batch is flushed at once
    int flushIntervalMs = 1000;   // a partial batch waits at most this long
    int queueCapacity = 100000;   // rows; beyond it the oldest metric samples are dropped
    int lockTimeoutMs = 1000;     // SQLite busy_timeout / PostgreSQL lock_timeout
    int sqliteCacheKib = 256;     // SQLite page cache (PRAGMA cache_size); ignored for PostgreSQL
    int retryInitialMs = 250;     // first retry after a database error; doubles each time
    int retryMaxMs = 30000;       // ... up to this
    int shutdownTimeoutMs = 5000; // stop(): longest wait for the final flush

    int rawRetentionHours = 24;   // 1 s points
    int minuteRetentionDays = 30; // 1 min rollups (avg/min/max)
    int journalRetentionDays = 30;
    int maintenanceIntervalMs = 60000; // rollup + pruning; 0 disables the schedule

    int defaultMaxPoints = 2000; // chart queries: points per series when the query says 0
};

/// One chart point: a 1 s sample (min == max == value) or a bucket of rollups.
struct HistoryPoint {
    qint64 tMs = 0;   // bucket start, UTC ms since epoch
    double value = 0; // the sample, or the bucket's mean
    double min = 0;
    double max = 0;
};

struct SeriesQuery {
    QString name;
    Labels labels;
    SeriesField field = SeriesField::Value;
    qint64 fromMs = 0; // UTC ms, inclusive
    qint64 toMs = 0;   // UTC ms, inclusive
    int maxPoints = 0; // 0: HistoryStoreOptions::defaultMaxPoints
};

struct SeriesHistory {
    SeriesQuery query;
    /// 1000 (1 s samples), 60000 (1 min rollups) or a multiple of 60000 when even minutes
    /// would exceed maxPoints. 0 when nothing was read.
    qint64 resolutionMs = 0;
    QVector<HistoryPoint> points; // oldest first
    bool found = false;           // the series exists in the database
    QString error;                // empty on success
    bool ok() const { return error.isEmpty(); }
};

struct JournalQuery {
    qint64 fromMs = 0; // inclusive
    qint64 toMs = 0;   // inclusive
    QString kind;      // empty: every kind
    int limit = 1000;  // oldest first; `truncated` tells when more matched
};

struct JournalPage {
    JournalQuery query;
    QVector<JournalEntry> entries;
    bool truncated = false;
    QString error;
    bool ok() const { return error.isEmpty(); }
};

struct MaintenanceResult {
    qint64 rolledUpMinutes = 0; // points_1m rows written or refreshed
    qint64 prunedPoints = 0;
    qint64 prunedMinutes = 0;
    qint64 prunedJournal = 0;
    QString error;
    bool ok() const { return error.isEmpty(); }
};

/// A statement the store runs for the console (charts, journal) or for maintenance, with
/// `?` placeholders; the plan tests EXPLAIN each one and require an index for it.
struct StorageStatement {
    QString name;
    QString sql;
};
QList<StorageStatement> historyStatements();

/// What the storage is doing; published on every health change and readable any time.
struct StorageStatus {
    Health health = Health::Unknown; // Unknown until the first open; Ok; Critical with `error`
    QString error;
    /// The database cannot be used by this program (not ours, newer schema, bad URL):
    /// nothing is retried and nothing was changed.
    bool fatal = false;
    QString location; // DatabaseLocation::describe(): never a password
    int schemaVersion = 0;
    int migratedFrom = -1;    // schema version found at the last open (0: new database)
    qint64 outageSinceMs = 0; // UTC ms when the current outage began; 0 when none
    int retries = 0;          // failed attempts in the current outage
};

/**
 * Metric history and the event journal, in SQLite (default) or PostgreSQL, written in
 * batches on a dedicated database thread. The calling (GUI) thread never waits on a query:
 * feeding only appends to a bounded in-memory queue, and queries answer through callbacks
 * delivered on the thread of the `context` object given with them.
 *
 * Feed: recordSnapshot() takes every published MetricsSnapshot; each series keeps at most
 * one point per second (the first), and each registry event is stored once. recordEvent()
 * adds an operator action (or anything else) to the journal. Non-finite values (NaN, inf)
 * are not stored.
 *
 * Writing: rows are flushed when `batchSize` are queued or `flushIntervalMs` after the first,
 * in one transaction per batch. On a database error (locked, read-only, disk full, server
 * gone) the batch is kept and retried after a reconnect with exponential backoff; health
 * turns Critical with the error text meanwhile, and once the database is back a "storage"
 * journal entry records the outage. Journal entries are never dropped; under queue pressure
 * the oldest metric samples are (counted in storage_dropped_rows). A batch the database
 * refuses as data (a constraint) is written row by row and only the refused rows are dropped.
 *
 * History: 1 s points are kept rawRetentionHours; a scheduled maintenance rolls them up into
 * 1 minute avg/min/max rows kept minuteRetentionDays, and prunes the journal.
 *
 * Metrics: counters storage_batches, storage_rows, storage_dropped_rows, storage_errors;
 * histogram storage_flush_duration (ns); gauges storage_queue_depth, storage_healthy (1/0).
 * Every statement runs through the SqlProfiler.
 */
class HistoryStore : public QObject {
    Q_OBJECT
public:
    /// `registry` and `profiler` must outlive the store; `profiler` may be null, in which
    /// case the store profiles into a profiler of its own.
    HistoryStore(const HistoryStoreOptions &options, MetricsRegistry *registry, SqlProfiler *profiler,
                 Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~HistoryStore() override;

    /// Starts the database thread, which connects and migrates (statusChanged tells how
    /// that went). Does nothing when already started, or once stopped (a store runs once).
    void start();
    /// Flushes every queued row (waiting at most shutdownTimeoutMs for the database), closes
    /// the connection and joins the thread. Blocks: call it at shutdown only. Rows fed
    /// after stop() are counted as dropped.
    void stop();
    bool isRunning() const;

    /// Queues the snapshot's new series points and events. Thread-safe, never blocks on the
    /// database.
    void recordSnapshot(const std::shared_ptr<const MetricsSnapshot> &snapshot);
    /// Queues one journal entry (tMs 0: now). Thread-safe.
    void recordEvent(const JournalEntry &entry);
    /// Queues samples of one series with explicit timestamps (imports, tests). Thread-safe.
    void recordSamples(const SeriesKey &key, const QVector<SeriesPoint> &points);

    /// Loads one series for a window; picks 1 s points when the window fits in maxPoints,
    /// 1 minute rollups (bucketed further if needed) otherwise. `callback` runs on
    /// `context`'s thread, and not at all if `context` is destroyed first.
    void loadSeries(const SeriesQuery &query, QObject *context,
                    std::function<void(const vega::SeriesHistory &)> callback);
    /// Journal entries in a window, optionally of one kind.
    void loadJournal(const JournalQuery &query, QObject *context,
                     std::function<void(const vega::JournalPage &)> callback);
    /// Flushes the queue now (callback: true when everything queued before the call is
    /// stored).
    void flush(QObject *context, std::function<void(bool ok)> callback);
    /// Runs rollup and pruning now as of `wallNowMs` (0: the current time); the schedule
    /// does the same every maintenanceIntervalMs.
    void runMaintenance(qint64 wallNowMs, QObject *context,
                        std::function<void(const vega::MaintenanceResult &)> callback);

    StorageStatus status() const; // thread-safe
    DatabaseLocation location() const { return m_location; }
    const HistoryStoreOptions &options() const { return m_options; }
    /// Rows waiting in the queue (thread-safe).
    int queueDepth() const;

Q_SIGNALS:
    /// Health or schema changed (emitted on the store's thread).
    void statusChanged(const vega::StorageStatus &status);

private:
    void wake(const WriteQueue::PushResult &pushed);
    qint64 wallNowMs() const;

    const HistoryStoreOptions m_options;
    MetricsRegistry *const m_registry;
    Clock *const m_clock;
    const qint64 m_wallOriginMs;
    const qint64 m_monoOriginNs;
    DatabaseLocation m_location;
    QString m_locationError;
    std::unique_ptr<SqlProfiler> m_ownProfiler;
    SqlProfiler *m_profiler;
    std::shared_ptr<WriteQueue> m_queue;
    std::shared_ptr<StoreShared> m_shared;
    std::unique_ptr<QThread> m_thread;
    mutable QMutex m_workerMutex;      // protects m_worker and m_stopped (feeding may come from any thread)
    StorageWorker *m_worker = nullptr; // lives on m_thread
    bool m_stopped = false;
    Counter *m_droppedCounter;
    Gauge *m_depthGauge;

    // Producer side of recordSnapshot(): what was already queued.
    mutable QMutex m_feedMutex;      // protects m_lastSecond, m_keyCache and m_lastEvents
    QHash<QString, int> m_keyCache;  // registry key + field -> queue key index
    QHash<int, qint64> m_lastSecond; // queue key index -> last second queued
    QList<EngineEvent> m_lastEvents; // the previous snapshot's events
    bool m_seenSnapshot = false;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::StorageStatus)
Q_DECLARE_METATYPE(vega::SeriesHistory)
Q_DECLARE_METATYPE(vega::JournalPage)
Q_DECLARE_METATYPE(vega::MaintenanceResult)
