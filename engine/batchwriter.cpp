#include "batchwriter.h"

#include "database.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QMutexLocker>
#include <QVariantList>

#include <algorithm>
#include <limits>

namespace vega {

namespace {
// A null QString binds as SQL NULL; every text column is NOT NULL.
QString text(const QString &s)
{
    return s.isNull() ? QStringLiteral("") : s;
}
} // namespace

QString labelsJson(const Labels &labels)
{
    QJsonObject o; // keys come out sorted, so equal label sets give equal text
    for (const auto &l : labels)
        o.insert(l.first, l.second);
    return QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Compact));
}

WriteQueue::WriteQueue(int capacity) : m_capacity(std::max(1, capacity)) {}

int WriteQueue::keyIndex(const SeriesKey &key)
{
    const QString composite = key.name % QChar(0x1f) % key.labels % QChar(0x1f) % key.field;
    QMutexLocker lock(&m_mutex);
    const auto it = m_keyIndex.constFind(composite);
    if (it != m_keyIndex.cend())
        return *it;
    const int index = int(m_keys.size());
    m_keys.push_back(key);
    m_keyIndex.insert(composite, index);
    return index;
}

WriteQueue::PushResult WriteQueue::pushSamples(const QVector<SampleRow> &rows)
{
    QMutexLocker lock(&m_mutex);
    PushResult r;
    r.sizeBefore = int(m_samples.size() + m_journal.size());
    if (m_closed) {
        r.dropped = int(rows.size());
        m_dropped += quint64(rows.size());
        r.sizeAfter = r.sizeBefore;
        return r;
    }
    for (const SampleRow &row : rows) {
        if (m_samples.size() + m_journal.size() >= size_t(m_capacity)) {
            if (m_samples.empty()) { // only journal entries queued: the sample gives way
                ++r.dropped;
                continue;
            }
            m_samples.pop_front();
            ++r.dropped;
        }
        m_samples.push_back(row);
    }
    m_dropped += quint64(r.dropped);
    r.sizeAfter = int(m_samples.size() + m_journal.size());
    return r;
}

WriteQueue::PushResult WriteQueue::pushJournal(const JournalEntry &entry, bool evenIfClosed)
{
    QMutexLocker lock(&m_mutex);
    PushResult r;
    r.sizeBefore = int(m_samples.size() + m_journal.size());
    if (m_closed && !evenIfClosed) {
        r.dropped = 1;
        ++m_dropped;
        r.sizeAfter = r.sizeBefore;
        return r;
    }
    if (m_samples.size() + m_journal.size() >= size_t(m_capacity) && !m_samples.empty()) {
        m_samples.pop_front();
        ++r.dropped;
        ++m_dropped;
    }
    m_journal.push_back(entry);
    r.sizeAfter = int(m_samples.size() + m_journal.size());
    return r;
}

WriteBatch WriteQueue::take(int maxRows)
{
    WriteBatch batch;
    QMutexLocker lock(&m_mutex);
    const int journal = std::min<int>(std::max(0, maxRows), int(m_journal.size()));
    batch.journal.reserve(journal);
    for (int i = 0; i < journal; ++i) {
        batch.journal.append(std::move(m_journal.front()));
        m_journal.pop_front();
    }
    const int samples = std::min<int>(std::max(0, maxRows - journal), int(m_samples.size()));
    batch.samples.reserve(samples);
    for (int i = 0; i < samples; ++i) {
        const SampleRow &row = m_samples.front();
        if (!batch.keys.contains(row.key))
            batch.keys.insert(row.key, m_keys[size_t(row.key)]);
        batch.samples.append(row);
        m_samples.pop_front();
    }
    return batch;
}

WriteBatch WriteQueue::takeAll()
{
    return take(std::numeric_limits<int>::max());
}

int WriteQueue::size() const
{
    QMutexLocker lock(&m_mutex);
    return int(m_samples.size() + m_journal.size());
}

quint64 WriteQueue::dropped() const
{
    QMutexLocker lock(&m_mutex);
    return m_dropped;
}

void WriteQueue::close()
{
    QMutexLocker lock(&m_mutex);
    m_closed = true;
}

BatchWriter::BatchWriter(Database *db) : m_db(db) {}

qint64 BatchWriter::seriesId(int keyIndex, const SeriesKey &key, const QString &cid, QString *error)
{
    const auto it = m_ids.constFind(keyIndex);
    if (it != m_ids.cend())
        return *it;
    const auto select = [&]() -> qint64 {
        QSqlQuery *q = m_db->prepared(
            QStringLiteral("SELECT id FROM series WHERE name = ? AND labels = ? AND field = ?"), error);
        if (!q)
            return -1;
        q->addBindValue(text(key.name));
        q->addBindValue(text(key.labels));
        q->addBindValue(text(key.field));
        if (!m_db->exec(*q, cid)) {
            *error = m_db->errorText(q->lastError());
            return -1;
        }
        const qint64 id = q->next() ? q->value(0).toLongLong() : 0;
        q->finish();
        return id;
    };
    qint64 id = select();
    if (id == 0) {
        QSqlQuery *insert = m_db->prepared(
            QStringLiteral("INSERT INTO series (name, labels, field, unit) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (name, labels, field) DO NOTHING"),
            error);
        if (!insert)
            return -1;
        insert->addBindValue(text(key.name));
        insert->addBindValue(text(key.labels));
        insert->addBindValue(text(key.field));
        insert->addBindValue(text(key.unit));
        if (!m_db->exec(*insert, cid)) {
            m_dataError = m_db->isDataError(insert->lastError());
            *error = m_db->errorText(insert->lastError());
            return -1;
        }
        id = select();
        if (id == 0) {
            *error = m_db->location().describe() % QStringLiteral(": series row for ") % key.name %
                     QStringLiteral(" vanished after insert");
            return -1;
        }
    }
    if (id > 0)
        m_ids.insert(keyIndex, id);
    return id;
}

WriteOutcome BatchWriter::write(const WriteBatch &batch, const QString &cid, QString *error)
{
    if (batch.isEmpty())
        return WriteOutcome::Ok;
    m_dataError = false;
    if (!m_db->begin(cid, error))
        return WriteOutcome::Failed;
    const auto failed = [&](const QString &why) {
        *error = why;
        m_db->rollback(cid);
        // Ids first seen in this transaction were rolled back with it.
        forgetSeriesIds();
        return m_dataError ? WriteOutcome::Rejected : WriteOutcome::Failed;
    };
    const auto queryFailed = [&](QSqlQuery *q) {
        m_dataError = m_db->isDataError(q->lastError());
        return failed(m_db->errorText(q->lastError()));
    };

    if (!batch.journal.isEmpty()) {
        QSqlQuery *q = m_db->prepared(
            QStringLiteral("INSERT INTO journal (t_ms, kind, source, message, duration_ms, correlation_id) "
                           "VALUES (?, ?, ?, ?, ?, ?)"),
            error);
        if (!q)
            return failed(*error);
        QVariantList t, kind, source, message, duration, correlation;
        for (const JournalEntry &e : batch.journal) {
            t << e.tMs;
            kind << text(e.kind);
            source << text(e.source);
            message << text(e.message);
            duration << e.durationMs;
            correlation << text(e.correlationId);
        }
        q->addBindValue(t);
        q->addBindValue(kind);
        q->addBindValue(source);
        q->addBindValue(message);
        q->addBindValue(duration);
        q->addBindValue(correlation);
        if (!m_db->execBatch(*q, cid))
            return queryFailed(q);
    }

    if (!batch.samples.isEmpty()) {
        QVariantList ids, t, values;
        ids.reserve(batch.samples.size());
        t.reserve(batch.samples.size());
        values.reserve(batch.samples.size());
        for (const SampleRow &row : batch.samples) {
            const qint64 id = seriesId(row.key, batch.keys.value(row.key), cid, error);
            if (id < 0)
                return failed(*error);
            ids << id;
            t << row.tMs;
            values << row.value;
        }
        // A point already stored for that series and millisecond wins (a replayed batch
        // after an ambiguous commit writes nothing twice).
        QSqlQuery *q =
            m_db->prepared(QStringLiteral("INSERT INTO points (series_id, t_ms, value) VALUES (?, ?, ?) "
                                          "ON CONFLICT (series_id, t_ms) DO NOTHING"),
                           error);
        if (!q)
            return failed(*error);
        q->addBindValue(ids);
        q->addBindValue(t);
        q->addBindValue(values);
        if (!m_db->execBatch(*q, cid))
            return queryFailed(q);
    }
    m_dataError = false;
    if (!m_db->commit(cid, error))
        return failed(*error);
    return WriteOutcome::Ok;
}

WriteOutcome BatchWriter::writeEachRow(WriteBatch &batch, const QString &cid, QString *error, int *rejected)
{
    while (!batch.isEmpty()) {
        WriteBatch one;
        if (!batch.journal.isEmpty()) {
            one.journal.append(batch.journal.first());
        } else {
            const SampleRow &row = batch.samples.first();
            one.samples.append(row);
            one.keys.insert(row.key, batch.keys.value(row.key));
        }
        QString why;
        switch (write(one, cid, &why)) {
        case WriteOutcome::Failed:
            *error = why;
            return WriteOutcome::Failed;
        case WriteOutcome::Rejected:
            ++*rejected;
            *error = why;
            break;
        case WriteOutcome::Ok:
            break;
        }
        if (!one.journal.isEmpty())
            batch.journal.removeFirst();
        else
            batch.samples.removeFirst();
    }
    return WriteOutcome::Ok;
}

} // namespace vega
