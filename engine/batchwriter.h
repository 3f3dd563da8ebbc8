#pragma once

#include "metrics.h"

#include <QHash>
#include <QMutex>
#include <QString>
#include <QVector>

#include <deque>
#include <vector>

namespace vega {

class Database;

/// One stored series: a metric's name and labels plus which of its series it is.
struct SeriesKey {
    QString name;
    QString labels; // canonical JSON object, keys sorted: {"host":"a","status":"200"}
    QString field;  // seriesFieldName(): value, rate, p50, p90, p99, max, mean
    QString unit;   // unitSymbol() of the metric
};

/// The canonical JSON text of a label set (what the series table stores and matches on).
QString labelsJson(const Labels &labels);

struct SampleRow {
    int key = -1;   // WriteQueue::keyIndex()
    qint64 tMs = 0; // UTC ms since epoch
    double value = 0;
};

/// One journal entry: an operator action, a breaker transition, a stall, a health change...
struct JournalEntry {
    qint64 tMs = 0; // UTC ms since epoch
    QString kind;
    QString source;
    QString message;
    double durationMs = 0;
    QString correlationId;
};

/// Rows taken from the queue to be written in one transaction.
struct WriteBatch {
    QVector<JournalEntry> journal;
    QVector<SampleRow> samples;
    QHash<int, SeriesKey> keys; // every key the samples use
    int size() const { return int(journal.size() + samples.size()); }
    bool isEmpty() const { return journal.isEmpty() && samples.isEmpty(); }
};

/**
 * The bounded queue between producers (any thread) and the storage thread. Thread-safe.
 *
 * Policy under pressure: when `capacity` rows are queued, each new row first evicts the
 * oldest queued metric sample (counted in dropped()). Journal entries are never dropped: when
 * the queue holds only journal entries it grows past its capacity rather than lose one.
 * After close(), pushes are refused and counted as dropped.
 */
class WriteQueue {
public:
    explicit WriteQueue(int capacity);

    /// The index of a series key, stable for the queue's lifetime.
    int keyIndex(const SeriesKey &key);

    struct PushResult {
        int sizeBefore = 0;
        int sizeAfter = 0;
        int dropped = 0; // samples dropped to make room (or refused after close())
    };
    PushResult pushSamples(const QVector<SampleRow> &rows);
    /// `evenIfClosed`: the storage's own last words (an outage record written at shutdown).
    PushResult pushJournal(const JournalEntry &entry, bool evenIfClosed = false);

    /// Takes up to `maxRows`: journal entries first, then samples oldest first.
    WriteBatch take(int maxRows);
    /// Takes everything (shutdown).
    WriteBatch takeAll();

    int size() const;
    int capacity() const { return m_capacity; }
    quint64 dropped() const;
    void close();

private:
    const int m_capacity;
    mutable QMutex m_mutex; // protects everything below
    std::deque<SampleRow> m_samples;
    std::deque<JournalEntry> m_journal;
    std::vector<SeriesKey> m_keys;
    QHash<QString, int> m_keyIndex;
    quint64 m_dropped = 0;
    bool m_closed = false;
};

enum class WriteOutcome {
    Ok,
    Failed,  // the database failed (locked, I/O, connection...): retry the same rows later
    Rejected // the database refused the data itself: retrying the same batch cannot succeed
};

/**
 * Writes a WriteBatch in one transaction: journal rows and samples each with one
 * QSqlQuery::execBatch(), series rows created on first use. Runs on the storage thread.
 */
class BatchWriter {
public:
    explicit BatchWriter(Database *db);

    /// One transaction; on failure everything is rolled back and *error says why.
    WriteOutcome write(const WriteBatch &batch, const QString &cid, QString *error);
    /// After a Rejected batch: writes the rows one per transaction, removing each from
    /// `batch` once stored or refused (refused rows are counted in *rejected and described
    /// in *error). Returns Failed, with the unwritten rows left in `batch`, on a database error.
    WriteOutcome writeEachRow(WriteBatch &batch, const QString &cid, QString *error, int *rejected);
    /// Forgets cached series ids (after a reconnect or a rolled-back transaction).
    void forgetSeriesIds() { m_ids.clear(); }

private:
    qint64 seriesId(int keyIndex, const SeriesKey &key, const QString &cid, QString *error);

    Database *const m_db;
    QHash<int, qint64> m_ids; // WriteQueue key index -> series.id
    bool m_dataError = false; // the last failure was a refusal of the data
};

} // namespace vega
