#include "breakertransitionmodel.h"

#include "breakertile.h"
#include "format.h"

namespace vega::ui {

namespace {
const QString kBreakerKind = QStringLiteral("breaker");
const QString kSourcePrefix = QStringLiteral("breaker:");
} // namespace

BreakerTransitionModel::BreakerTransitionModel(QObject *parent) : QAbstractTableModel(parent) {}

BreakerTransitionModel::~BreakerTransitionModel() = default;

BreakerTransitionModel::Row BreakerTransitionModel::rowOf(const EngineEvent &event)
{
    Row row;
    row.wallMs = event.wallMs;
    row.source = event.source;
    row.message = event.message;
    row.breaker =
        event.source.startsWith(kSourcePrefix) ? event.source.mid(kSourcePrefix.size()) : event.source;
    // "from → to: reason"; anything else is shown whole as the reason.
    const qsizetype arrow = event.message.indexOf(QStringLiteral(" → "));
    const qsizetype colon = event.message.indexOf(QStringLiteral(": "), arrow < 0 ? 0 : arrow);
    if (arrow > 0 && colon > arrow) {
        row.from = event.message.left(arrow);
        row.to = event.message.mid(arrow + 3, colon - arrow - 3);
        row.reason = event.message.mid(colon + 2);
    } else {
        row.reason = event.message;
    }
    return row;
}

void BreakerTransitionModel::setEvents(const QList<EngineEvent> &events)
{
    // The journal is ordered oldest first; walk back from its end to the newest row shown.
    QList<Row> fresh; // newest first
    for (auto it = events.crbegin(); it != events.crend(); ++it) {
        if (it->kind != kBreakerKind)
            continue;
        if (!m_rows.isEmpty()) {
            const Row &newest = m_rows.first();
            if (it->wallMs < newest.wallMs ||
                (it->wallMs == newest.wallMs && it->source == newest.source && it->message == newest.message))
                break;
        }
        fresh.append(rowOf(*it));
        if (fresh.size() >= maxRows())
            break;
    }
    if (fresh.isEmpty())
        return;
    beginInsertRows({}, 0, int(fresh.size()) - 1);
    m_rows = fresh + m_rows;
    endInsertRows();
    if (m_rows.size() > maxRows()) {
        beginRemoveRows({}, maxRows(), int(m_rows.size()) - 1);
        m_rows.resize(maxRows());
        endRemoveRows();
    }
}

int BreakerTransitionModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int BreakerTransitionModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant BreakerTransitionModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TimeColumn:
            return formatClockTime(row.wallMs);
        case BreakerColumn:
            return row.breaker;
        case FromColumn:
            return row.from.isEmpty() ? missingValueText() : breakerStateLabel(row.from);
        case ToColumn:
            return row.to.isEmpty() ? missingValueText() : breakerStateLabel(row.to);
        case ReasonColumn:
            return row.reason;
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == ReasonColumn || index.column() == BreakerColumn)
            return QString(row.breaker + QStringLiteral(": ") + row.message);
        break;
    case Qt::ForegroundRole:
        if (index.column() == ToColumn && !row.to.isEmpty())
            // Amber text needs more contrast on a light row than the badge colour gives.
            return breakerStateColor(row.to).darker(row.to == QLatin1String("half_open") ? 150 : 115);
        break;
    case WallMsRole:
        return row.wallMs;
    case BreakerRole:
        return row.breaker;
    case FromStateRole:
        return row.from;
    case ToStateRole:
        return row.to;
    }
    return {};
}

QVariant BreakerTransitionModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case TimeColumn:
        return tr("Time");
    case BreakerColumn:
        return tr("Breaker");
    case FromColumn:
        return tr("From");
    case ToColumn:
        return tr("To");
    case ReasonColumn:
        return tr("Why");
    }
    return {};
}

} // namespace vega::ui
