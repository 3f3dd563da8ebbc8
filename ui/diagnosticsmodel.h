#pragma once

#include "systemdiagnostics.h"

#include <QAbstractTableModel>
#include <QList>

namespace vega::ui {

/**
 * The diagnostics report as a table: one row per reading (category, reading, value with
 * its unit, the category's health and why). Health is graded per category, so the
 * category, health and reason cells are shown on a category's first row only (the roles
 * carry them on every row). A category without readings still gets a row, so all eight
 * are always listed. Rows keep their place across updates (only values change) so they do
 * not jump under the cursor.
 */
class DiagnosticsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { CategoryColumn, KeyColumn, ValueColumn, HealthColumn, ReasonColumn, ColumnCount };
    enum Role {
        HealthRole = Qt::UserRole + 1, // int(vega::Health)
        CategoryIdRole,
        KeyRole,
        NumberRole, // the raw number, or an invalid QVariant when unavailable / textual
    };

    explicit DiagnosticsModel(QObject *parent = nullptr);
    ~DiagnosticsModel() override;

    void setReport(const DiagnosticsReport &report);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    struct Row {
        QString categoryId;
        QString categoryTitle;
        Health health = Health::Unknown;
        QString reason;
        bool hasValue = false;
        bool firstOfCategory = false;
        DiagnosticValue value;
    };
    static QList<Row> rowsOf(const DiagnosticsReport &report);

    QList<Row> m_rows;
};

} // namespace vega::ui
