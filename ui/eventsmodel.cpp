#include "eventsmodel.h"

#include "format.h"

namespace vega::ui {

namespace {
bool sameEvent(const EngineEvent &a, const EngineEvent &b)
{
    return a.wallMs == b.wallMs && a.kind == b.kind && a.source == b.source && a.message == b.message;
}
} // namespace

EventsModel::EventsModel(QObject *parent) : QAbstractTableModel(parent) {}

EventsModel::~EventsModel() = default;

void EventsModel::setEvents(const QList<EngineEvent> &events)
{
    // The journal only grows at its end (and drops its oldest): equal ends mean no change.
    if (events.size() == m_rows.size() && (events.isEmpty() || (sameEvent(events.last(), m_rows.first()) &&
                                                                sameEvent(events.first(), m_rows.last()))))
        return;
    beginResetModel();
    m_rows = QList<EngineEvent>(events.crbegin(), events.crend());
    endResetModel();
}

int EventsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int EventsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant EventsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const EngineEvent &event = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return formatClockTime(event.wallMs);
        case KindColumn:
            return event.kind;
        case SourceColumn:
            return event.source;
        case MessageColumn:
            return event.durationMs > 0 ? event.message + QStringLiteral(" (") +
                                              formatDurationMs(event.durationMs) + QLatin1Char(')')
                                        : event.message;
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == MessageColumn)
            return event.message;
        break;
    case WallMsRole:
        return event.wallMs;
    }
    return {};
}

QVariant EventsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case KindColumn:
        return tr("Kind");
    case SourceColumn:
        return tr("Source");
    case MessageColumn:
        return tr("Message");
    }
    return {};
}

} // namespace vega::ui
