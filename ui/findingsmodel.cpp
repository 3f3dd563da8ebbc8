#include "findingsmodel.h"

#include "format.h"
#include "healthstyle.h"

#include <QColor>
#include <QFont>

#include <algorithm>

namespace vega::ui {

namespace {
int severityRank(Severity s)
{
    switch (s) {
    case Severity::Info:
        return 0;
    case Severity::Warning:
        return 1;
    case Severity::Error:
        return 2;
    }
    return 0;
}

QColor severityColor(Severity s)
{
    switch (s) {
    case Severity::Error:
        return healthColor(Health::Critical);
    case Severity::Warning:
        return healthColor(Health::Warning).darker(150); // readable on a light row
    case Severity::Info:
        break;
    }
    return healthColor(Health::Unknown);
}

QString positionText(const ConfigFinding &f)
{
    if (f.line <= 0)
        return missingValueText();
    return f.column > 0 ? QStringLiteral("%1:%2").arg(f.line).arg(f.column) : QString::number(f.line);
}
} // namespace

FindingsModel::FindingsModel(QObject *parent) : QAbstractTableModel(parent) {}

FindingsModel::~FindingsModel() = default;

void FindingsModel::setFindings(const QList<ConfigFinding> &findings)
{
    beginResetModel();
    m_findings = findings;
    endResetModel();
}

int FindingsModel::errorCount() const
{
    return int(std::count_if(m_findings.cbegin(), m_findings.cend(),
                             [](const ConfigFinding &f) { return f.severity == Severity::Error; }));
}

int FindingsModel::warningCount() const
{
    return int(std::count_if(m_findings.cbegin(), m_findings.cend(),
                             [](const ConfigFinding &f) { return f.severity == Severity::Warning; }));
}

int FindingsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_findings.size());
}

int FindingsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FindingsModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ConfigFinding &f = m_findings.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case SeverityColumn:
            return severityName(f.severity);
        case PathColumn:
            return f.path.isEmpty() ? missingValueText() : f.path;
        case PositionColumn:
            return positionText(f);
        case ValueColumn:
            return f.value;
        case MessageColumn:
            return f.message;
        }
        break;
    case Qt::ToolTipRole:
        switch (index.column()) {
        case PositionColumn:
            return f.file.isEmpty() ? QVariant() : QVariant(f.file);
        case ValueColumn:
            return f.value.isEmpty() ? QVariant() : QVariant(f.value);
        case MessageColumn:
        case PathColumn:
        case SeverityColumn:
            return f.toString();
        }
        break;
    case Qt::ForegroundRole:
        if (index.column() == SeverityColumn)
            return severityColor(f.severity);
        break;
    case Qt::FontRole:
        if (index.column() == SeverityColumn && f.severity == Severity::Error) {
            QFont bold;
            bold.setBold(true);
            return bold;
        }
        break;
    case FindingsSortRole:
        switch (index.column()) {
        case SeverityColumn:
            return severityRank(f.severity);
        case PositionColumn:
            return qint64(f.line) * 100000 + f.column;
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    return {};
}

QVariant FindingsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case SeverityColumn:
            return tr("Severity");
        case PathColumn:
            return tr("JSON path");
        case PositionColumn:
            return tr("Line:col");
        case ValueColumn:
            return tr("Value");
        case MessageColumn:
            return tr("Message");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case PositionColumn:
            return tr("Where in the file the value is written; — when the configuration has no file or the "
                      "key is not written");
        case ValueColumn:
            return tr("The value as written; secrets are never shown");
        }
    }
    return {};
}

} // namespace vega::ui
