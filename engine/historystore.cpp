#include "historystore.h"

#include "sqlprofiler.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QLoggingCategory>
#include <QMap>
#include <QMutexLocker>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcStorage, "vega.storage", QtInfoMsg)

constexpr qint64 kSecondMs = 1000;
constexpr qint64 kMinuteMs = 60000;
constexpr qint64 kHourMs = 3600000;
constexpr qint64 kDayMs = 24 * kHourMs;
// Minutes re-aggregated on every rollup, so rows that arrive a little late still count.
constexpr qint64 kRollupOverlapMs = 2 * kMinuteMs;
const QString kRollupUntil = QStringLiteral("rollup_until_ms");

// The statements, shared by the worker and historyStatements() (the plan tests).
const QString kSelectSeriesId =
    QStringLiteral("SELECT id FROM series WHERE name = ? AND labels = ? AND field = ?");
const QString kSelectSeriesIds = QStringLiteral("SELECT id FROM series ORDER BY id");
const QString kChartRaw = QStringLiteral(
    "SELECT t_ms, value FROM points WHERE series_id = ? AND t_ms >= ? AND t_ms <= ? ORDER BY t_ms");
const QString kChartRollup =
    QStringLiteral("SELECT (t_ms / ?) * ? AS b, SUM(avg * n), SUM(n), MIN(min), MAX(max) FROM points_1m "
                   "WHERE series_id = ? AND t_ms >= ? AND t_ms <= ? AND t_ms < ? GROUP BY b ORDER BY b");
const QString kChartTail =
    QStringLiteral("SELECT (t_ms / ?) * ? AS b, SUM(value), COUNT(*), MIN(value), MAX(value) FROM points "
                   "WHERE series_id = ? AND t_ms >= ? AND t_ms <= ? GROUP BY b ORDER BY b");
const QString kJournalWindow =
    QStringLiteral("SELECT t_ms, kind, source, message, duration_ms, correlation_id FROM journal "
                   "WHERE t_ms >= ? AND t_ms <= ? ORDER BY t_ms LIMIT ?");
const QString kJournalKind =
    QStringLiteral("SELECT t_ms, kind, source, message, duration_ms, correlation_id FROM journal "
                   "WHERE kind = ? AND t_ms >= ? AND t_ms <= ? ORDER BY t_ms LIMIT ?");
const QString kRollup = QStringLiteral(
    "INSERT INTO points_1m (series_id, t_ms, avg, min, max, n) "
    "SELECT series_id, (t_ms / 60000) * 60000 AS m, AVG(value), MIN(value), MAX(value), COUNT(*) FROM points "
    "WHERE series_id = ? AND t_ms >= ? AND t_ms < ? GROUP BY series_id, m "
    "ON CONFLICT (series_id, t_ms) DO UPDATE SET avg = excluded.avg, min = excluded.min, max = excluded.max, "
    "n = excluded.n");
const QString kPrunePoints = QStringLiteral("DELETE FROM points WHERE series_id = ? AND t_ms < ?");
const QString kPruneMinutes = QStringLiteral("DELETE FROM points_1m WHERE series_id = ? AND t_ms < ?");
const QString kPruneJournal = QStringLiteral("DELETE FROM journal WHERE t_ms < ?");

qint64 floorTo(qint64 value, qint64 step)
{
    const qint64 q = value / step;
    return (value < 0 && q * step != value ? q - 1 : q) * step;
}

bool sameEvent(const EngineEvent &a, const EngineEvent &b)
{
    return a.wallMs == b.wallMs && a.durationMs == b.durationMs && a.kind == b.kind && a.source == b.source &&
           a.message == b.message;
}

/// The registry keeps its most recent events and every snapshot carries all of them: the
/// current list is the previous one with some dropped from the front and new ones appended.
/// Returns the index of the first new event.
int firstNewEvent(const QList<EngineEvent> &previous, const QList<EngineEvent> &current)
{
    const int p = int(previous.size());
    for (int k = std::min(p, int(current.size())); k > 0; --k) {
        bool match = true;
        for (int i = k - 1; i >= 0 && match; --i) // the newest first: fails fast
            match = sameEvent(current[i], previous[p - k + i]);
        if (match)
            return k;
    }
    return 0;
}

} // namespace

QList<StorageStatement> historyStatements()
{
    return {
        {QStringLiteral("series lookup"), kSelectSeriesId},
        {QStringLiteral("chart 1 s"), kChartRaw},
        {QStringLiteral("chart rollup"), kChartRollup},
        {QStringLiteral("chart tail"), kChartTail},
        {QStringLiteral("journal window"), kJournalWindow},
        {QStringLiteral("journal by kind"), kJournalKind},
        {QStringLiteral("rollup"), kRollup},
        {QStringLiteral("prune points"), kPrunePoints},
        {QStringLiteral("prune rollups"), kPruneMinutes},
        {QStringLiteral("prune journal"), kPruneJournal},
    };
}

/// State shared by the store (any thread) and its worker (the database thread).
struct StoreShared {
    mutable QMutex mutex; // protects status
    StorageStatus status;
    std::atomic<bool> wakePending{false};
    std::atomic<int> inflightRows{0};
};

struct StorageMetrics {
    Counter *batches;
    Counter *rows;
    Counter *dropped;
    Counter *errors;
    Histogram *flushDuration;
    Gauge *depth;
    Gauge *healthy;
};

/// Lives on the database thread: owns the connection, writes batches, retries, maintains
/// and answers queries.
class StorageWorker : public QObject {
    Q_OBJECT
public:
    StorageWorker(const HistoryStoreOptions &options, const DatabaseLocation &location,
                  const QString &locationError, SqlProfiler *profiler, std::shared_ptr<WriteQueue> queue,
                  std::shared_ptr<StoreShared> shared, const StorageMetrics &metrics, Clock *clock,
                  qint64 wallOriginMs, qint64 monoOriginNs)
        : m_options(options), m_locationError(locationError), m_queue(std::move(queue)),
          m_shared(std::move(shared)), m_metrics(metrics), m_clock(clock), m_wallOriginMs(wallOriginMs),
          m_monoOriginNs(monoOriginNs),
          m_db(location, profiler,
               DatabaseOptions{options.lockTimeoutMs, 5, QStringLiteral("vega-console"), options.sqliteCacheKib}),
          m_writer(&m_db), m_flushTimer(new QTimer(this)), m_retryTimer(new QTimer(this)),
          m_maintenanceTimer(new QTimer(this))
    {
        m_flushTimer->setSingleShot(true);
        m_retryTimer->setSingleShot(true);
        connect(m_flushTimer, &QTimer::timeout, this, [this] { drain(true); });
        connect(m_retryTimer, &QTimer::timeout, this, &StorageWorker::reconnect);
        connect(m_maintenanceTimer, &QTimer::timeout, this, [this] { maintain(0); });
    }

    void startup()
    {
        if (!m_locationError.isEmpty()) {
            becomeFatal(m_locationError);
            return;
        }
        reconnect();
        if (m_options.maintenanceIntervalMs > 0)
            m_maintenanceTimer->start(m_options.maintenanceIntervalMs);
    }

    void shutdown()
    {
        m_flushTimer->stop();
        m_retryTimer->stop();
        m_maintenanceTimer->stop();
        m_queue->close();
        QElapsedTimer deadline;
        deadline.start();
        // Everything queued is written unless the database stays away for the whole timeout.
        while (m_state != State::Fatal) {
            if (m_inflight.isEmpty()) {
                m_inflight = m_queue->take(m_options.batchSize);
                m_shared->inflightRows.store(m_inflight.size());
                if (m_inflight.isEmpty())
                    break;
            }
            if (m_state == State::Ready)
                writeInflight();
            else
                reconnect(); // writes the in-flight batch first when it connects
            m_retryTimer->stop();
            if (m_state != State::Ready) {
                const qint64 left = m_options.shutdownTimeoutMs - deadline.elapsed();
                if (left <= 0)
                    break;
                QThread::msleep(quint64(std::min<qint64>(left, backoffMs())));
            }
        }
        const int lost = m_inflight.size() + m_queue->takeAll().size();
        if (lost > 0) {
            m_metrics.dropped->inc(quint64(lost));
            qCWarning(lcStorage).noquote() << lost << "rows could not be stored at shutdown:" << m_lastError;
        }
        m_inflight = {};
        m_shared->inflightRows.store(0);
        m_metrics.depth->set(0);
        m_db.close();
        m_state = State::Closed;
    }

    void wakeUp()
    {
        m_shared->wakePending.store(false);
        if (m_state == State::Ready)
            drain(false);
    }

    void loadSeries(quint64 id, const SeriesQuery &query) { Q_EMIT seriesLoaded(id, readSeries(query)); }
    void loadJournal(quint64 id, const JournalQuery &query) { Q_EMIT journalLoaded(id, readJournal(query)); }

    void flushNow(quint64 id)
    {
        if (m_state == State::Ready)
            drain(true);
        Q_EMIT flushed(id, m_state == State::Ready && m_inflight.isEmpty());
    }

    void maintainNow(quint64 id, qint64 wallNowMs) { Q_EMIT maintained(id, maintain(wallNowMs)); }

Q_SIGNALS:
    void statusChanged(const vega::StorageStatus &status);
    void seriesLoaded(quint64 id, const vega::SeriesHistory &history);
    void journalLoaded(quint64 id, const vega::JournalPage &page);
    void flushed(quint64 id, bool ok);
    void maintained(quint64 id, const vega::MaintenanceResult &result);

private:
    enum class State { Closed, Ready, Outage, Fatal };

    qint64 wallNowMs() const { return m_wallOriginMs + (m_clock->nowNs() - m_monoOriginNs) / 1000000; }

    qint64 backoffMs() const
    {
        const int doublings = std::clamp(m_retries - 1, 0, 30);
        const double ms = double(std::max(1, m_options.retryInitialMs)) * std::pow(2.0, doublings);
        return qint64(std::min(ms, double(std::max(m_options.retryInitialMs, m_options.retryMaxMs))));
    }

    void publish(const std::function<void(StorageStatus &)> &change)
    {
        StorageStatus copy;
        {
            QMutexLocker lock(&m_shared->mutex);
            change(m_shared->status);
            copy = m_shared->status;
        }
        m_metrics.healthy->set(copy.health == Health::Ok ? 1 : 0);
        Q_EMIT statusChanged(copy);
    }

    void updateDepth() { m_metrics.depth->set(double(m_queue->size() + m_inflight.size())); }

    /// Connects (again): used at startup and for every retry, since a read-only file, a
    /// dropped server connection or a replaced file all need a fresh connection.
    void reconnect()
    {
        if (m_state == State::Fatal)
            return;
        m_writer.forgetSeriesIds();
        const OpenResult opened = m_db.open();
        if (opened.status == OpenStatus::Incompatible) {
            becomeFatal(opened.error);
            return;
        }
        if (!opened.ok()) {
            enterOutage(opened.error);
            return;
        }
        m_state = State::Ready;
        m_rollupUntilMs = m_db.meta(kRollupUntil, QStringLiteral("0")).toLongLong();
        if (opened.foundVersion != opened.schemaVersion)
            qCInfo(lcStorage).noquote() << m_db.location().describe() << "migrated from schema version"
                                        << opened.foundVersion << "to" << opened.schemaVersion;
        // The batch that failed goes first, so nothing is reordered or lost.
        if (!m_inflight.isEmpty() && !writeInflight())
            return;
        const bool wasOutage = m_outageStartNs != 0;
        if (wasOutage) {
            const double seconds = double(m_clock->nowNs() - m_outageStartNs) / 1e9;
            JournalEntry entry;
            entry.tMs = m_outageStartWallMs;
            entry.kind = QStringLiteral("storage");
            entry.source = QStringLiteral("storage");
            entry.message = QStringLiteral("Database unavailable for %1 s (%2 failed attempts): %3")
                                .arg(QString::number(seconds, 'f', 1))
                                .arg(m_retries)
                                .arg(m_lastError);
            entry.durationMs = seconds * 1000.0;
            m_queue->pushJournal(entry, true);
            qCInfo(lcStorage).noquote() << m_db.location().describe() << "is available again after"
                                        << QString::number(seconds, 'f', 1) << "s";
            m_outageStartNs = 0;
            m_outageStartWallMs = 0;
        }
        m_retries = 0;
        publish([&](StorageStatus &s) {
            s.health = Health::Ok;
            s.error.clear();
            s.fatal = false;
            s.schemaVersion = opened.schemaVersion;
            s.migratedFrom = opened.foundVersion;
            s.outageSinceMs = 0;
            s.retries = 0;
        });
        drain(false);
    }

    void enterOutage(const QString &error)
    {
        m_metrics.errors->inc();
        m_flushTimer->stop();
        m_db.close();
        m_writer.forgetSeriesIds();
        m_state = State::Outage;
        if (m_outageStartNs == 0) {
            m_outageStartNs = m_clock->nowNs();
            m_outageStartWallMs = wallNowMs();
            qCWarning(lcStorage).noquote() << "storage unavailable, retrying:" << error;
        } else if (error != m_lastError) {
            qCWarning(lcStorage).noquote() << "storage still unavailable:" << error;
        }
        m_lastError = error;
        ++m_retries;
        const qint64 since = m_outageStartWallMs;
        const int retries = m_retries;
        publish([&](StorageStatus &s) {
            s.health = Health::Critical;
            s.error = error;
            s.outageSinceMs = since;
            s.retries = retries;
        });
        m_retryTimer->start(int(backoffMs()));
    }

    void becomeFatal(const QString &error)
    {
        m_db.close();
        m_state = State::Fatal;
        m_lastError = error;
        m_flushTimer->stop();
        m_retryTimer->stop();
        m_maintenanceTimer->stop();
        qCCritical(lcStorage).noquote() << error;
        // Nothing will ever be written in this run: stop queueing instead of growing.
        m_queue->close();
        const int lost = m_inflight.size() + m_queue->takeAll().size();
        m_inflight = {};
        m_shared->inflightRows.store(0);
        if (lost > 0)
            m_metrics.dropped->inc(quint64(lost));
        updateDepth();
        m_metrics.errors->inc();
        publish([&](StorageStatus &s) {
            s.health = Health::Critical;
            s.error = error;
            s.fatal = true;
        });
    }

    bool writeInflight()
    {
        const qint64 startNs = m_clock->nowNs();
        const int rows = m_inflight.size();
        QString error;
        const QString cid = QStringLiteral("storage:batch#%1").arg(++m_batchSequence);
        WriteOutcome outcome = m_writer.write(m_inflight, cid, &error);
        int rejected = 0;
        if (outcome == WriteOutcome::Rejected) {
            // Retrying a refused batch would block the queue forever: find the bad rows.
            qCWarning(lcStorage).noquote() << "batch refused, writing it row by row:" << error;
            outcome = m_writer.writeEachRow(m_inflight, cid, &error, &rejected);
            if (rejected > 0) {
                m_metrics.dropped->inc(quint64(rejected));
                qCWarning(lcStorage).noquote()
                    << rejected << "rows refused by the database were dropped:" << error;
            }
        }
        const int stored = rows - (outcome == WriteOutcome::Ok ? 0 : m_inflight.size()) - rejected;
        if (stored > 0)
            m_metrics.rows->inc(quint64(stored));
        if (outcome != WriteOutcome::Ok) {
            m_shared->inflightRows.store(m_inflight.size());
            enterOutage(error);
            return false;
        }
        m_metrics.flushDuration->record(m_clock->nowNs() - startNs);
        m_metrics.batches->inc();
        m_inflight = {};
        m_shared->inflightRows.store(0);
        updateDepth();
        return true;
    }

    /// Writes full batches; with `all`, also what was queued when called, partial batch included.
    void drain(bool all)
    {
        int budget = all ? m_queue->size() : 0;
        while (m_state == State::Ready) {
            if (m_inflight.isEmpty()) {
                const int queued = m_queue->size();
                if (queued == 0 || (queued < m_options.batchSize && budget <= 0))
                    break;
                m_inflight = m_queue->take(m_options.batchSize);
                m_shared->inflightRows.store(m_inflight.size());
                budget -= m_inflight.size();
            }
            if (!writeInflight())
                return;
        }
        if (m_state != State::Ready)
            return;
        if (m_queue->size() > 0) {
            if (!m_flushTimer->isActive())
                m_flushTimer->start(std::max(1, m_options.flushIntervalMs));
        } else {
            m_flushTimer->stop();
        }
    }

    QString unavailable() const
    {
        switch (m_state) {
        case State::Ready:
            return {};
        case State::Closed:
            return QStringLiteral("storage is not open");
        case State::Outage:
        case State::Fatal:
            break;
        }
        return QStringLiteral("database unavailable: ") % m_lastError;
    }

    QList<qint64> seriesIds(const QString &cid, QString *error)
    {
        QList<qint64> ids;
        QSqlQuery *q = m_db.prepared(kSelectSeriesIds, error);
        if (!q)
            return ids;
        if (!m_db.exec(*q, cid)) {
            *error = m_db.errorText(q->lastError());
            return ids;
        }
        while (q->next())
            ids << q->value(0).toLongLong();
        q->finish();
        return ids;
    }

    /// Runs a prepared statement bound with `values`; false (and *error) on failure.
    QSqlQuery *run(const QString &sql, const QVariantList &values, const QString &cid, QString *error)
    {
        QSqlQuery *q = m_db.prepared(sql, error);
        if (!q)
            return nullptr;
        for (const QVariant &v : values)
            q->addBindValue(v);
        if (!m_db.exec(*q, cid)) {
            *error = m_db.errorText(q->lastError());
            return nullptr;
        }
        return q;
    }

    MaintenanceResult maintain(qint64 nowMs)
    {
        MaintenanceResult r;
        if (nowMs <= 0)
            nowMs = wallNowMs();
        if (m_state == State::Ready)
            drain(true); // rollups must see what is queued
        r.error = unavailable();
        if (!r.error.isEmpty())
            return r;
        const QString cid = QStringLiteral("storage:maintenance#%1").arg(++m_maintenanceSequence);
        QString error;
        const auto failed = [&](const QString &why) {
            m_db.rollback(cid);
            r.error = why;
            enterOutage(why);
            return r;
        };
        const QList<qint64> ids = seriesIds(cid, &error);
        if (!error.isEmpty())
            return failed(error);

        // Rollup: whole minutes that ended a while ago (rows may still be on their way).
        const qint64 delayMs = std::max<qint64>(10 * kSecondMs, 2LL * m_options.flushIntervalMs);
        const qint64 until = floorTo(nowMs - delayMs, kMinuteMs);
        if (until > m_rollupUntilMs) {
            const qint64 from = m_rollupUntilMs > 0 ? m_rollupUntilMs - kRollupOverlapMs : 0;
            if (!m_db.begin(cid, &error))
                return failed(error);
            for (qint64 id : ids) {
                QSqlQuery *q = run(kRollup, {id, from, until}, cid, &error);
                if (!q)
                    return failed(error);
                r.rolledUpMinutes += std::max(0, q->numRowsAffected());
            }
            if (!m_db.setMeta(kRollupUntil, QString::number(until), cid, &error) || !m_db.commit(cid, &error))
                return failed(error);
            m_rollupUntilMs = until;
        }

        // Pruning: raw points only once rolled up, then rollups and journal by age.
        const qint64 rawCutoff = std::min(nowMs - qint64(m_options.rawRetentionHours) * kHourMs,
                                          m_rollupUntilMs - kRollupOverlapMs);
        const qint64 minuteCutoff = nowMs - qint64(m_options.minuteRetentionDays) * kDayMs;
        const qint64 journalCutoff = nowMs - qint64(m_options.journalRetentionDays) * kDayMs;
        if (!m_db.begin(cid, &error))
            return failed(error);
        for (qint64 id : ids) {
            QSqlQuery *q = run(kPrunePoints, {id, rawCutoff}, cid, &error);
            if (!q)
                return failed(error);
            r.prunedPoints += std::max(0, q->numRowsAffected());
            q = run(kPruneMinutes, {id, minuteCutoff}, cid, &error);
            if (!q)
                return failed(error);
            r.prunedMinutes += std::max(0, q->numRowsAffected());
        }
        QSqlQuery *q = run(kPruneJournal, {journalCutoff}, cid, &error);
        if (!q)
            return failed(error);
        r.prunedJournal = std::max(0, q->numRowsAffected());
        if (!m_db.commit(cid, &error))
            return failed(error);
        return r;
    }

    SeriesHistory readSeries(const SeriesQuery &query)
    {
        SeriesHistory h;
        h.query = query;
        h.error = unavailable();
        if (!h.error.isEmpty())
            return h;
        const QString cid = QStringLiteral("storage:chart#%1").arg(++m_querySequence);
        QString error;
        QSqlQuery *q = run(kSelectSeriesId,
                           {query.name, labelsJson(query.labels), seriesFieldName(query.field)}, cid, &error);
        if (!q) {
            h.error = error;
            return h;
        }
        if (!q->next()) {
            q->finish();
            return h; // never stored
        }
        const qint64 id = q->value(0).toLongLong();
        q->finish();
        h.found = true;

        const qint64 from = query.fromMs;
        const qint64 to = std::max(query.fromMs, query.toMs);
        const qint64 maxPoints =
            std::max(1, query.maxPoints > 0 ? query.maxPoints : m_options.defaultMaxPoints);
        const qint64 rawFloor = wallNowMs() - qint64(m_options.rawRetentionHours) * kHourMs;
        if ((to - from) / kSecondMs + 1 <= maxPoints && from >= rawFloor) {
            h.resolutionMs = kSecondMs;
            q = run(kChartRaw, {id, from, to}, cid, &error);
            if (!q) {
                h.error = error;
                return h;
            }
            h.points.reserve(q->size() > 0 ? q->size() : 0);
            while (q->next()) {
                const double v = q->value(1).toDouble();
                h.points.append({q->value(0).toLongLong(), v, v, v});
            }
            q->finish();
            return h;
        }

        // Rollups: whole minutes, or k-minute buckets so that at most maxPoints come back;
        // minutes not rolled up yet are aggregated from the 1 s points.
        const qint64 minutes = (to - from) / kMinuteMs + 1;
        const qint64 bucket = ((minutes + maxPoints - 1) / maxPoints) * kMinuteMs;
        h.resolutionMs = bucket;
        const qint64 fromBucket = floorTo(from, bucket);
        struct Acc {
            double sum = 0;
            qint64 n = 0;
            double min = 0;
            double max = 0;
        };
        QMap<qint64, Acc> buckets;
        const auto add = [&](QSqlQuery *rows) {
            while (rows->next()) {
                const qint64 b = rows->value(0).toLongLong();
                const double sum = rows->value(1).toDouble();
                const qint64 n = rows->value(2).toLongLong();
                const double mn = rows->value(3).toDouble();
                const double mx = rows->value(4).toDouble();
                auto it = buckets.find(b);
                if (it == buckets.end()) {
                    buckets.insert(b, {sum, n, mn, mx});
                } else {
                    it->sum += sum;
                    it->n += n;
                    it->min = std::min(it->min, mn);
                    it->max = std::max(it->max, mx);
                }
            }
            rows->finish();
        };
        if (fromBucket < m_rollupUntilMs) {
            q = run(kChartRollup, {bucket, bucket, id, fromBucket, to, m_rollupUntilMs}, cid, &error);
            if (!q) {
                h.error = error;
                return h;
            }
            add(q);
        }
        if (to >= m_rollupUntilMs) {
            q = run(kChartTail, {bucket, bucket, id, std::max(fromBucket, m_rollupUntilMs), to}, cid, &error);
            if (!q) {
                h.error = error;
                return h;
            }
            add(q);
        }
        h.points.reserve(buckets.size());
        for (auto it = buckets.cbegin(); it != buckets.cend(); ++it) {
            if (it->n > 0)
                h.points.append({it.key(), it->sum / double(it->n), it->min, it->max});
        }
        return h;
    }

    JournalPage readJournal(const JournalQuery &query)
    {
        JournalPage page;
        page.query = query;
        page.error = unavailable();
        if (!page.error.isEmpty())
            return page;
        const QString cid = QStringLiteral("storage:journal#%1").arg(++m_querySequence);
        const int limit = std::max(1, query.limit);
        QString error;
        QSqlQuery *q =
            query.kind.isEmpty()
                ? run(kJournalWindow, {query.fromMs, query.toMs, limit + 1}, cid, &error)
                : run(kJournalKind, {query.kind, query.fromMs, query.toMs, limit + 1}, cid, &error);
        if (!q) {
            page.error = error;
            return page;
        }
        while (q->next()) {
            if (page.entries.size() == limit) {
                page.truncated = true;
                break;
            }
            JournalEntry e;
            e.tMs = q->value(0).toLongLong();
            e.kind = q->value(1).toString();
            e.source = q->value(2).toString();
            e.message = q->value(3).toString();
            e.durationMs = q->value(4).toDouble();
            e.correlationId = q->value(5).toString();
            page.entries.append(e);
        }
        q->finish();
        return page;
    }

    const HistoryStoreOptions m_options;
    const QString m_locationError;
    const std::shared_ptr<WriteQueue> m_queue;
    const std::shared_ptr<StoreShared> m_shared;
    const StorageMetrics m_metrics;
    Clock *const m_clock;
    const qint64 m_wallOriginMs;
    const qint64 m_monoOriginNs;
    Database m_db;
    BatchWriter m_writer;
    QTimer *const m_flushTimer;
    QTimer *const m_retryTimer;
    QTimer *const m_maintenanceTimer;

    State m_state = State::Closed;
    WriteBatch m_inflight; // taken from the queue, not committed yet: kept across retries
    QString m_lastError;
    qint64 m_outageStartNs = 0; // 0: no outage
    qint64 m_outageStartWallMs = 0;
    int m_retries = 0;
    qint64 m_rollupUntilMs = 0;
    quint64 m_batchSequence = 0;
    quint64 m_maintenanceSequence = 0;
    quint64 m_querySequence = 0;
};

namespace {

/// Connects `signal` to `callback` for the one emission carrying `id`, delivered on
/// `context`'s thread; Qt drops the connection if `context` goes away first.
template <typename Signal, typename Result>
void deliverOnce(StorageWorker *worker, Signal signal, quint64 id, QObject *context,
                 std::function<void(const Result &)> callback)
{
    auto connection = std::make_shared<QMetaObject::Connection>();
    *connection = QObject::connect(
        worker, signal, context,
        [connection, id, callback = std::move(callback)](quint64 replyId, const Result &result) {
            if (replyId != id)
                return;
            QObject::disconnect(*connection);
            if (callback)
                callback(result);
        },
        Qt::QueuedConnection);
}

std::atomic<quint64> g_requestIds{0};

} // namespace

HistoryStore::HistoryStore(const HistoryStoreOptions &options, MetricsRegistry *registry,
                           SqlProfiler *profiler, Clock *clock, QObject *parent)
    : QObject(parent), m_options(options), m_registry(registry), m_clock(clock),
      m_wallOriginMs(QDateTime::currentMSecsSinceEpoch()), m_monoOriginNs(clock->nowNs()),
      m_profiler(profiler), m_queue(std::make_shared<WriteQueue>(options.queueCapacity)),
      m_shared(std::make_shared<StoreShared>())
{
    Q_ASSERT(registry);
    qRegisterMetaType<vega::StorageStatus>();
    qRegisterMetaType<vega::SeriesHistory>();
    qRegisterMetaType<vega::JournalPage>();
    qRegisterMetaType<vega::MaintenanceResult>();
    if (!m_profiler) {
        m_ownProfiler = std::make_unique<SqlProfiler>(registry, SqlProfilerOptions{}, clock);
        m_profiler = m_ownProfiler.get();
    }
    const DatabaseLocationResult parsed = parseDatabaseUrl(options.url, options.dataDir, options.passwordEnv);
    m_location = parsed.location;
    m_locationError = parsed.error;
    m_shared->status.location = parsed.ok() ? m_location.describe() : QString();
    m_droppedCounter = registry->counter(QStringLiteral("storage_dropped_rows"), {},
                                         QStringLiteral("Rows not stored: metric samples dropped under queue "
                                                        "pressure, rows the database refused, rows fed to a "
                                                        "stopped or unusable store"));
    m_depthGauge = registry->gauge(QStringLiteral("storage_queue_depth"), {},
                                   QStringLiteral("Rows waiting to be written to the history database"));
}

HistoryStore::~HistoryStore()
{
    stop();
}

void HistoryStore::start()
{
    QMutexLocker lock(&m_workerMutex);
    if (m_thread || m_stopped)
        return;
    const StorageMetrics metrics{
        m_registry->counter(QStringLiteral("storage_batches"), {},
                            QStringLiteral("Transactions written to the history database")),
        m_registry->counter(QStringLiteral("storage_rows"), {},
                            QStringLiteral("Rows written to the history database")),
        m_droppedCounter,
        m_registry->counter(QStringLiteral("storage_errors"), {},
                            QStringLiteral("Failed attempts to open or write the history database")),
        m_registry->histogram(QStringLiteral("storage_flush_duration"), {},
                              QStringLiteral("Time to write one batch transaction"), Unit::Nanoseconds),
        m_depthGauge,
        m_registry->gauge(QStringLiteral("storage_healthy"), {},
                          QStringLiteral("1 while the history database accepts writes, 0 otherwise")),
    };
    m_thread = std::make_unique<QThread>();
    m_thread->setObjectName(QStringLiteral("vega-storage"));
    m_worker = new StorageWorker(m_options, m_location, m_locationError, m_profiler, m_queue, m_shared,
                                 metrics, m_clock, m_wallOriginMs, m_monoOriginNs);
    m_worker->moveToThread(m_thread.get());
    connect(m_thread.get(), &QThread::finished, m_worker, &QObject::deleteLater);
    connect(m_worker, &StorageWorker::statusChanged, this, &HistoryStore::statusChanged,
            Qt::QueuedConnection);
    m_thread->start();
    QMetaObject::invokeMethod(m_worker, &StorageWorker::startup, Qt::QueuedConnection);
}

void HistoryStore::stop()
{
    StorageWorker *worker = nullptr;
    {
        QMutexLocker lock(&m_workerMutex);
        worker = m_worker;
        m_worker = nullptr;
        m_stopped = true;
    }
    if (!worker) {
        m_queue->close();
        return;
    }
    QMetaObject::invokeMethod(worker, &StorageWorker::shutdown, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    m_thread.reset();
}

bool HistoryStore::isRunning() const
{
    QMutexLocker lock(&m_workerMutex);
    return m_worker != nullptr;
}

qint64 HistoryStore::wallNowMs() const
{
    return m_wallOriginMs + (m_clock->nowNs() - m_monoOriginNs) / 1000000;
}

void HistoryStore::wake(const WriteQueue::PushResult &pushed)
{
    if (pushed.dropped > 0)
        m_droppedCounter->inc(quint64(pushed.dropped));
    m_depthGauge->set(double(pushed.sizeAfter + m_shared->inflightRows.load()));
    const int batch = std::max(1, m_options.batchSize);
    const bool first = pushed.sizeBefore == 0 && pushed.sizeAfter > 0;
    const bool full = pushed.sizeBefore < batch && pushed.sizeAfter >= batch;
    if (!first && !full)
        return;
    QMutexLocker lock(&m_workerMutex);
    if (m_worker && !m_shared->wakePending.exchange(true))
        QMetaObject::invokeMethod(m_worker, &StorageWorker::wakeUp, Qt::QueuedConnection);
}

void HistoryStore::recordSnapshot(const std::shared_ptr<const MetricsSnapshot> &snapshot)
{
    if (!snapshot)
        return;
    QVector<SampleRow> rows;
    QVector<JournalEntry> events;
    {
        QMutexLocker lock(&m_feedMutex);
        for (const MetricSnapshot &m : snapshot->metrics) {
            QString registryKey;
            for (int f = 0; f < int(SeriesField::Count_); ++f) {
                const TimeSeries &series = m.series[size_t(f)];
                if (series.isEmpty())
                    continue;
                if (registryKey.isEmpty())
                    registryKey = MetricsRegistry::key(m.name, m.labels);
                const QString cacheKey = registryKey % QChar(0x1f) % QChar(u'0' + f);
                auto keyIt = m_keyCache.find(cacheKey);
                if (keyIt == m_keyCache.end()) {
                    const SeriesKey key{m.name, labelsJson(m.labels), seriesFieldName(SeriesField(f)),
                                        unitSymbol(m.unit)};
                    keyIt = m_keyCache.insert(cacheKey, m_queue->keyIndex(key));
                }
                const int key = *keyIt;
                auto lastIt = m_lastSecond.find(key);
                qint64 lastSecond =
                    lastIt == m_lastSecond.end() ? std::numeric_limits<qint64>::min() : *lastIt;
                if (floorTo(series.last().tMs, kSecondMs) <= lastSecond)
                    continue;
                // New points are at the end; find where they start, then keep one per second.
                int i = series.size() - 1;
                while (i > 0 && floorTo(series.at(i - 1).tMs, kSecondMs) > lastSecond)
                    --i;
                for (; i < series.size(); ++i) {
                    const SeriesPoint p = series.at(i);
                    const qint64 second = floorTo(p.tMs, kSecondMs);
                    if (second <= lastSecond || !std::isfinite(p.value))
                        continue;
                    rows.append({key, p.tMs, p.value});
                    lastSecond = second;
                }
                m_lastSecond.insert(key, lastSecond);
            }
        }
        const int first = m_seenSnapshot ? firstNewEvent(m_lastEvents, snapshot->events) : 0;
        for (int i = first; i < snapshot->events.size(); ++i) {
            const EngineEvent &ev = snapshot->events[i];
            events.append({ev.wallMs, ev.kind, ev.source, ev.message, ev.durationMs, QString()});
        }
        m_lastEvents = snapshot->events;
        m_seenSnapshot = true;
    }
    for (const JournalEntry &e : std::as_const(events))
        wake(m_queue->pushJournal(e));
    if (!rows.isEmpty())
        wake(m_queue->pushSamples(rows));
}

void HistoryStore::recordEvent(const JournalEntry &entry)
{
    JournalEntry e = entry;
    if (e.tMs == 0)
        e.tMs = wallNowMs();
    wake(m_queue->pushJournal(e));
}

void HistoryStore::recordSamples(const SeriesKey &key, const QVector<SeriesPoint> &points)
{
    if (points.isEmpty())
        return;
    const int index = m_queue->keyIndex(key);
    QVector<SampleRow> rows;
    rows.reserve(points.size());
    for (const SeriesPoint &p : points) {
        if (std::isfinite(p.value))
            rows.append({index, p.tMs, p.value});
    }
    wake(m_queue->pushSamples(rows));
}

void HistoryStore::loadSeries(const SeriesQuery &query, QObject *context,
                              std::function<void(const SeriesHistory &)> callback)
{
    QMutexLocker lock(&m_workerMutex);
    if (!m_worker) {
        SeriesHistory h;
        h.query = query;
        h.error = QStringLiteral("storage is not running");
        QMetaObject::invokeMethod(
            context, [callback, h] { callback(h); }, Qt::QueuedConnection);
        return;
    }
    const quint64 id = ++g_requestIds;
    deliverOnce(m_worker, &StorageWorker::seriesLoaded, id, context, std::move(callback));
    StorageWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        worker, [worker, id, query] { worker->loadSeries(id, query); }, Qt::QueuedConnection);
}

void HistoryStore::loadJournal(const JournalQuery &query, QObject *context,
                               std::function<void(const JournalPage &)> callback)
{
    QMutexLocker lock(&m_workerMutex);
    if (!m_worker) {
        JournalPage page;
        page.query = query;
        page.error = QStringLiteral("storage is not running");
        QMetaObject::invokeMethod(
            context, [callback, page] { callback(page); }, Qt::QueuedConnection);
        return;
    }
    const quint64 id = ++g_requestIds;
    deliverOnce(m_worker, &StorageWorker::journalLoaded, id, context, std::move(callback));
    StorageWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        worker, [worker, id, query] { worker->loadJournal(id, query); }, Qt::QueuedConnection);
}

void HistoryStore::flush(QObject *context, std::function<void(bool)> callback)
{
    QMutexLocker lock(&m_workerMutex);
    if (!m_worker) {
        QMetaObject::invokeMethod(
            context, [callback] { callback(false); }, Qt::QueuedConnection);
        return;
    }
    const quint64 id = ++g_requestIds;
    auto connection = std::make_shared<QMetaObject::Connection>();
    *connection = connect(
        m_worker, &StorageWorker::flushed, context,
        [connection, id, callback = std::move(callback)](quint64 replyId, bool ok) {
            if (replyId != id)
                return;
            QObject::disconnect(*connection);
            if (callback)
                callback(ok);
        },
        Qt::QueuedConnection);
    StorageWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        worker, [worker, id] { worker->flushNow(id); }, Qt::QueuedConnection);
}

void HistoryStore::runMaintenance(qint64 wallNowMs, QObject *context,
                                  std::function<void(const MaintenanceResult &)> callback)
{
    QMutexLocker lock(&m_workerMutex);
    if (!m_worker) {
        MaintenanceResult r;
        r.error = QStringLiteral("storage is not running");
        QMetaObject::invokeMethod(
            context, [callback, r] { callback(r); }, Qt::QueuedConnection);
        return;
    }
    const quint64 id = ++g_requestIds;
    deliverOnce(m_worker, &StorageWorker::maintained, id, context, std::move(callback));
    StorageWorker *worker = m_worker;
    QMetaObject::invokeMethod(
        worker, [worker, id, wallNowMs] { worker->maintainNow(id, wallNowMs); }, Qt::QueuedConnection);
}

StorageStatus HistoryStore::status() const
{
    QMutexLocker lock(&m_shared->mutex);
    return m_shared->status;
}

int HistoryStore::queueDepth() const
{
    return m_queue->size() + m_shared->inflightRows.load();
}

} // namespace vega

#include "historystore.moc"
