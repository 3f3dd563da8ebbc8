#include "journalmodel.h"

#include "format.h"

#include <QDateTime>

#include <algorithm>

namespace vega::ui {

namespace {
bool sameEntry(const JournalEntry &a, const JournalEntry &b)
{
    return a.tMs == b.tMs && a.kind == b.kind && a.source == b.source && a.message == b.message &&
           a.durationMs == b.durationMs && a.correlationId == b.correlationId;
}
} // namespace

QColor journalKindColor(const QString &kind)
{
    if (kind == QLatin1String("reset"))
        return QColor(0x3b, 0x82, 0xf6);
    if (kind == QLatin1String("breaker"))
        return QColor(0xd6, 0x3c, 0x3c);
    if (kind == QLatin1String("stall"))
        return QColor(0xea, 0x58, 0x0c);
    if (kind == QLatin1String("validation"))
        return QColor(0x8b, 0x5c, 0xf6);
    if (kind == QLatin1String("integration"))
        return QColor(0x0d, 0x94, 0x88);
    if (kind == QLatin1String("leak"))
        return QColor(0xe0, 0xa1, 0x1b);
    if (kind == QLatin1String("storage"))
        return QColor(0x47, 0x55, 0x69);
    if (kind == QLatin1String("admin"))
        return QColor(0x1d, 0x4e, 0xd8);
    return QColor(0x7d, 0x84, 0x8f);
}

QColor journalKindTextColor(const QString &kind)
{
    // Dark text on the light chip (leak's amber); white elsewhere.
    return kind == QLatin1String("leak") ? QColor(0x1a, 0x1a, 0x1a) : QColor(0xff, 0xff, 0xff);
}

QList<JournalEntry> journalEntriesFromEvents(const QList<EngineEvent> &events)
{
    QList<JournalEntry> out;
    out.reserve(events.size());
    for (const EngineEvent &e : events) {
        JournalEntry j;
        j.tMs = e.wallMs;
        j.kind = e.kind;
        j.source = e.source;
        j.message = e.message;
        j.durationMs = e.durationMs;
        out.append(j);
    }
    return out;
}

JournalModel::JournalModel(QObject *parent) : QAbstractTableModel(parent) {}

JournalModel::~JournalModel() = default;

void JournalModel::setEntries(const QList<JournalEntry> &entries)
{
    QList<JournalEntry> rows(entries.crbegin(), entries.crend());
    std::stable_sort(rows.begin(), rows.end(),
                     [](const JournalEntry &a, const JournalEntry &b) { return a.tMs > b.tMs; });

    // Where the newest shown entry is in the new rows: what comes before it is new.
    qsizetype top = -1;
    if (!m_rows.isEmpty()) {
        for (qsizetype i = 0; i < rows.size(); ++i) {
            if (sameEntry(rows.at(i), m_rows.first())) {
                top = i;
                break;
            }
        }
    }
    bool overlaps = top >= 0;
    for (qsizetype i = 0; overlaps && i < m_rows.size() && top + i < rows.size(); ++i)
        overlaps = sameEntry(rows.at(top + i), m_rows.at(i));
    if (!overlaps) {
        if (rows.isEmpty() && m_rows.isEmpty())
            return;
        beginResetModel();
        m_rows = std::move(rows);
        endResetModel();
        return;
    }
    if (top > 0) {
        beginInsertRows({}, 0, int(top) - 1);
        m_rows = rows.mid(0, top) + m_rows;
        endInsertRows();
    }
    if (m_rows.size() > rows.size()) {
        beginRemoveRows({}, int(rows.size()), int(m_rows.size()) - 1);
        m_rows.resize(rows.size());
        endRemoveRows();
    } else if (m_rows.size() < rows.size()) {
        const int first = int(m_rows.size());
        beginInsertRows({}, first, int(rows.size()) - 1);
        m_rows.append(rows.mid(first));
        endInsertRows();
    }
}

int JournalModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int JournalModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant JournalModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const JournalEntry &e = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return formatClockTime(e.tMs);
        case KindColumn:
            return e.kind;
        case SourceColumn:
            return e.source;
        case MessageColumn:
            return e.message;
        case DurationColumn:
            return e.durationMs > 0 ? formatDurationMs(e.durationMs) : QString();
        }
        break;
    case Qt::ToolTipRole:
        switch (index.column()) {
        case TimeColumn:
            return QDateTime::fromMSecsSinceEpoch(e.tMs, Qt::UTC).toString(Qt::ISODateWithMs);
        case MessageColumn:
            return e.correlationId.isEmpty()
                       ? e.message
                       : e.message + QLatin1Char('\n') + tr("Correlation: %1").arg(e.correlationId);
        case SourceColumn:
            return e.source;
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == DurationColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        if (index.column() == KindColumn)
            return QVariant::fromValue(Qt::AlignCenter);
        break;
    case Qt::ForegroundRole:
        if (index.column() == KindColumn)
            return journalKindTextColor(e.kind);
        break;
    case Qt::BackgroundRole:
        if (index.column() == KindColumn)
            return journalKindColor(e.kind);
        break;
    case WallMsRole:
        return e.tMs;
    case KindColorRole:
        return journalKindColor(e.kind);
    }
    return {};
}

QVariant JournalModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case TimeColumn:
            return tr("Time");
        case KindColumn:
            return tr("Kind");
        case SourceColumn:
            return tr("Source");
        case MessageColumn:
            return tr("Message");
        case DurationColumn:
            return tr("Duration");
        }
    } else if (role == Qt::ToolTipRole && section == TimeColumn) {
        return tr("Local time; the tooltip gives the UTC time");
    }
    return {};
}

} // namespace vega::ui
