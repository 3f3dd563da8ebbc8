#pragma once

#include "snapshotpage.h"

#include <QJsonObject>

#include <memory>

QT_BEGIN_NAMESPACE
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
struct ValidationReport;
} // namespace vega

namespace vega::ui {

class FindingsModel;

/**
 * The configuration in force and its latest validation: where it came from (the file, or the
 * built-in defaults), the effective configuration as JSON (defaults filled in, secrets
 * redacted by the engine), and the findings of the latest validation run with their counts,
 * when it ran and how long it took. "Run validation" asks the engine for a run; the button
 * stays disabled while one is in progress.
 */
class ConfigPage : public SnapshotPage {
    Q_OBJECT
public:
    explicit ConfigPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~ConfigPage() override;

    QPushButton *runValidationButton() const { return m_run; }
    FindingsModel *findingsModel() const { return m_findings; }
    /// What the findings view shows: the model sorted (by severity, errors first, at start).
    QSortFilterProxyModel *findingsProxy() const { return m_proxy; }
    QTreeView *findingsView() const { return m_findingsView; }
    QPlainTextEdit *configView() const { return m_configText; }
    /// "File: <path>" or the built-in defaults.
    QString sourceText() const;
    /// The counts line ("1 error, 2 warnings · ..."), or the not-validated-yet hint.
    QString summaryText() const;

public Q_SLOTS:
    /// Starts a validation run as the operator (does nothing while one is in progress).
    void runValidation();

Q_SIGNALS:
    /// The operator started a validation run.
    void validationStarted();

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void showReport(const std::shared_ptr<const ValidationReport> &report);
    void updateRunButton();

    SnapshotSource *m_engine;
    QLabel *m_updated = nullptr;
    QLabel *m_source = nullptr;
    QLabel *m_summary = nullptr;
    QPushButton *m_run = nullptr;
    FindingsModel *m_findings = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_findingsView = nullptr;
    QPlainTextEdit *m_configText = nullptr;
    QJsonObject m_shownConfig;
    bool m_configShown = false;
    std::shared_ptr<const ValidationReport> m_shownReport;
    bool m_reportShown = false;
};

} // namespace vega::ui
