#include "diagnosticsmodel.h"

#include "format.h"
#include "healthstyle.h"

#include <QFont>

namespace vega::ui {

DiagnosticsModel::DiagnosticsModel(QObject *parent) : QAbstractTableModel(parent) {}

DiagnosticsModel::~DiagnosticsModel() = default;

QList<DiagnosticsModel::Row> DiagnosticsModel::rowsOf(const DiagnosticsReport &report)
{
    QList<Row> rows;
    for (const DiagnosticCategory &category : report.categories) {
        Row base;
        base.categoryId = category.id;
        base.categoryTitle = category.title.isEmpty() ? category.id : category.title;
        base.health = category.health;
        base.reason = category.reason;
        base.firstOfCategory = true;
        if (category.values.isEmpty()) {
            rows.append(base);
            continue;
        }
        for (int i = 0; i < category.values.size(); ++i) {
            Row row = base;
            row.hasValue = true;
            row.value = category.values.at(i);
            row.firstOfCategory = i == 0;
            rows.append(row);
        }
    }
    return rows;
}

void DiagnosticsModel::setReport(const DiagnosticsReport &report)
{
    QList<Row> rows = rowsOf(report);
    bool sameLayout = rows.size() == m_rows.size();
    for (int i = 0; sameLayout && i < rows.size(); ++i)
        sameLayout = rows.at(i).categoryId == m_rows.at(i).categoryId &&
                     rows.at(i).value.key == m_rows.at(i).value.key &&
                     rows.at(i).hasValue == m_rows.at(i).hasValue;
    if (sameLayout) {
        m_rows = std::move(rows);
        if (!m_rows.isEmpty())
            Q_EMIT dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
}

int DiagnosticsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int DiagnosticsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DiagnosticsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row &row = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case CategoryColumn:
            return row.firstOfCategory ? row.categoryTitle : QString();
        case KeyColumn:
            return row.hasValue ? (row.value.label.isEmpty() ? row.value.key : row.value.label)
                                : missingValueText();
        case ValueColumn:
            return row.hasValue ? formatDiagnosticValue(row.value) : unavailableText();
        case HealthColumn:
            return row.firstOfCategory ? healthLabel(row.health) : QString();
        case ReasonColumn:
            return row.firstOfCategory ? row.reason : QString();
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == KeyColumn && row.hasValue)
            return row.value.key;
        return row.reason.isEmpty() ? QVariant() : QVariant(row.reason);
    case Qt::TextAlignmentRole:
        if (index.column() == ValueColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        if (index.column() == HealthColumn)
            return QVariant::fromValue(Qt::AlignCenter);
        break;
    case Qt::BackgroundRole:
        if (index.column() == HealthColumn && row.firstOfCategory)
            return healthColor(row.health);
        break;
    case Qt::ForegroundRole:
        if (index.column() == HealthColumn && row.firstOfCategory)
            return healthTextColor(row.health);
        break;
    case Qt::FontRole:
        if (index.column() == CategoryColumn && row.firstOfCategory) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        break;
    case HealthRole:
        return int(row.health);
    case CategoryIdRole:
        return row.categoryId;
    case KeyRole:
        return row.hasValue ? QVariant(row.value.key) : QVariant();
    case NumberRole:
        if (row.hasValue && row.value.available && row.value.text.isEmpty())
            return row.value.number;
        break;
    }
    return {};
}

QVariant DiagnosticsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case CategoryColumn:
        return tr("Category");
    case KeyColumn:
        return tr("Reading");
    case ValueColumn:
        return tr("Value");
    case HealthColumn:
        return tr("Health");
    case ReasonColumn:
        return tr("Why");
    }
    return {};
}

} // namespace vega::ui
