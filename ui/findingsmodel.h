#pragma once

#include "config.h"

#include <QAbstractTableModel>
#include <QList>

namespace vega::ui {

/// Roles of the findings table.
enum FindingsRole {
    FindingsSortRole = Qt::UserRole + 1, // severity rank (error 2, warning 1, info 0), numbers, text
};

/**
 * The findings of a configuration validation (ValidationReport::findings): severity
 * (coloured), JSON path, line:column, the value as written (secrets already redacted by the
 * validator) and the message. A run's findings replace the previous run's as a whole.
 */
class FindingsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { SeverityColumn, PathColumn, PositionColumn, ValueColumn, MessageColumn, ColumnCount };

    explicit FindingsModel(QObject *parent = nullptr);
    ~FindingsModel() override;

    void setFindings(const QList<ConfigFinding> &findings);
    const ConfigFinding &finding(int row) const { return m_findings.at(row); }
    int errorCount() const;
    int warningCount() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<ConfigFinding> m_findings;
};

} // namespace vega::ui
