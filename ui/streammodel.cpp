#include "streammodel.h"

#include "format.h"
#include "healthstyle.h"

#include <QColor>
#include <QDateTime>
#include <QLocale>
#include <QSet>

#include <cstdlib>

namespace vega::ui {

namespace {
bool sameInfo(const StreamInfo &a, const StreamInfo &b)
{
    return a.shared == b.shared && a.paused == b.paused && a.subscribers == b.subscribers &&
           a.bufferedBytes == b.bufferedBytes && a.maxSubscriberBuffered == b.maxSubscriberBuffered &&
           a.inBytesPerSecond == b.inBytesPerSecond && a.outBytesPerSecond == b.outBytesPerSecond &&
           a.timeToFirstByteMs == b.timeToFirstByteMs && a.ageMs == b.ageMs && a.status == b.status &&
           a.bytesIn == b.bytesIn && a.bytesOut == b.bytesOut && a.pauses == b.pauses;
}

QString byteRate(double perSecond)
{
    return formatBytes(perSecond) + QStringLiteral("/s");
}
} // namespace

StreamModel::StreamModel(QObject *parent) : KeyedTableModel(parent) {}

StreamModel::~StreamModel() = default;

void StreamModel::setStreams(const QList<StreamInfo> &streams, qint64 wallMs)
{
    QSet<QString> claimed;
    QStringList order;
    QHash<QString, Row> next;
    const QStringList existing = keys();
    for (const StreamInfo &info : streams) {
        const qint64 start = wallMs - info.ageMs;
        // The existing row of this stream: same request, closest start within the tolerance.
        QString key;
        qint64 bestDistance = kStartToleranceMs + 1;
        for (const QString &candidate : existing) {
            if (claimed.contains(candidate))
                continue;
            const auto it = m_rows.constFind(candidate);
            if (it == m_rows.constEnd() || it->info.request != info.request)
                continue;
            const qint64 distance = std::llabs(it->startMs - start);
            if (distance < bestDistance) {
                bestDistance = distance;
                key = candidate;
            }
        }
        Row row{start, info};
        if (key.isEmpty()) {
            key = info.request + QStringLiteral(" @") + QString::number(start);
            // Two identical requests started in the same millisecond still get a row each.
            for (int n = 2; claimed.contains(key) || m_rows.contains(key) || next.contains(key); ++n)
                key = info.request + QStringLiteral(" @") + QString::number(start) + QLatin1Char('#') +
                      QString::number(n);
        } else {
            row.startMs = m_rows.value(key).startMs; // the row's start does not drift
        }
        claimed.insert(key);
        order.append(key);
        next.insert(key, row);
    }
    syncKeys(order);
    QList<int> changed;
    for (int r = 0; r < rowCount(); ++r) {
        const auto before = m_rows.constFind(keyAt(r));
        if (before == m_rows.constEnd() || !sameInfo(before->info, next.value(keyAt(r)).info))
            changed.append(r);
    }
    m_rows = std::move(next);
    notifyRowsChanged(changed);
}

int StreamModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant StreamModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_rows.constFind(keyAt(index.row()));
    if (it == m_rows.constEnd())
        return {};
    const StreamInfo &s = it->info;
    const QLocale locale;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case RequestColumn:
            return s.request;
        case SharedColumn:
            return s.shared ? (s.replayAvailable ? tr("yes, joinable") : tr("yes")) : tr("no");
        case PausedColumn:
            return s.paused ? tr("paused") : tr("reading");
        case SubscribersColumn:
            return locale.toString(s.subscribers);
        case BufferedColumn:
            return formatBytes(double(s.bufferedBytes));
        case MostBehindColumn:
            return formatBytes(double(s.maxSubscriberBuffered));
        case InRateColumn:
            return byteRate(s.inBytesPerSecond);
        case OutRateColumn:
            return byteRate(s.outBytesPerSecond);
        case FirstByteColumn:
            return s.timeToFirstByteMs < 0 ? tr("waiting") : formatDurationMs(double(s.timeToFirstByteMs));
        case AgeColumn:
            return formatDurationMs(double(s.ageMs));
        }
        break;
    case Qt::ToolTipRole:
        switch (index.column()) {
        case RequestColumn:
            return tr("%1\nHTTP status %2 · started %3 (%4 UTC)\n%5 in, %6 out, paused %7 times")
                .arg(s.request, s.status > 0 ? QString::number(s.status) : missingValueText(),
                     formatClockTime(it->startMs),
                     QDateTime::fromMSecsSinceEpoch(it->startMs, Qt::UTC).toString(Qt::ISODateWithMs),
                     formatBytes(double(s.bytesIn)), formatBytes(double(s.bytesOut)),
                     locale.toString(s.pauses));
        case PausedColumn:
            return s.paused
                       ? tr("Not reading the upstream: a subscriber is at its high watermark (backpressure)")
                       : tr("Reading the upstream");
        case MostBehindColumn:
            return tr("Bytes buffered for the subscriber furthest behind: it sets the pace of a Wait stream");
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == SharedColumn || index.column() == PausedColumn)
            return QVariant::fromValue(Qt::AlignCenter);
        if (index.column() != RequestColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::BackgroundRole:
        if (index.column() == PausedColumn && s.paused)
            return healthColor(Health::Warning);
        break;
    case Qt::ForegroundRole:
        if (index.column() == PausedColumn && s.paused)
            return healthTextColor(Health::Warning);
        break;
    case StreamSortRole:
        switch (index.column()) {
        case RequestColumn:
            return s.request;
        case SharedColumn:
            return s.shared ? 1 : 0;
        case PausedColumn:
            return s.paused ? 1 : 0;
        case SubscribersColumn:
            return s.subscribers;
        case BufferedColumn:
            return s.bufferedBytes;
        case MostBehindColumn:
            return s.maxSubscriberBuffered;
        case InRateColumn:
            return s.inBytesPerSecond;
        case OutRateColumn:
            return s.outBytesPerSecond;
        case FirstByteColumn:
            return s.timeToFirstByteMs;
        case AgeColumn:
            return s.ageMs;
        }
        break;
    }
    return {};
}

QVariant StreamModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case RequestColumn:
            return tr("Request");
        case SharedColumn:
            return tr("Shared");
        case PausedColumn:
            return tr("State");
        case SubscribersColumn:
            return tr("Subscribers");
        case BufferedColumn:
            return tr("Buffered");
        case MostBehindColumn:
            return tr("Most behind");
        case InRateColumn:
            return tr("In");
        case OutRateColumn:
            return tr("Out");
        case FirstByteColumn:
            return tr("First byte");
        case AgeColumn:
            return tr("Age");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case RequestColumn:
            return tr("Method and URL (query values hidden)");
        case SharedColumn:
            return tr(
                "Identical shared requests use this one upstream; joinable while its replay buffer holds "
                "the stream from the start");
        case BufferedColumn:
            return tr("Bytes waiting in the subscribers' buffers");
        case InRateColumn:
            return tr("Recent bytes per second read from the upstream");
        case OutRateColumn:
            return tr("Recent bytes per second handed to the subscribers");
        case FirstByteColumn:
            return tr("From opening the stream to its first body byte");
        }
    }
    return {};
}

} // namespace vega::ui
