#pragma once

#include "reportbuilder.h"

#include <QDialog>
#include <QHash>
#include <QJsonObject>

#include <functional>
#include <optional>

QT_BEGIN_NAMESPACE
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
QT_END_NAMESPACE

namespace vega {
class HistoryStore;
}

namespace vega::ui {

/**
 * "Export report": a file (typed or chosen with Browse), the format (from the extension, or
 * the combo, which rewrites the extension), the sections to include and the history window.
 * Export runs a ReportBuilder: the dialog shows its progress and status, Cancel stops it (no
 * file is left) and closes the dialog when nothing runs, and errors are shown inline. On
 * success exportFinished(true, path) is emitted and the dialog accepts.
 */
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    /// The snapshot to report, asked for when Export is pressed.
    using SnapshotProvider = std::function<SnapshotPtr()>;
    /// Asks for a file to save to; empty when cancelled. Replaceable so tests need no modal
    /// dialog (the default is QFileDialog::getSaveFileName).
    using SaveFileFunction = std::function<QString(QWidget *parent, const QString &title,
                                                   const QString &suggestedPath, const QString &filter)>;

    /// `history` may be null (charts then come from the snapshot's series); an empty
    /// `pdfRenderer` disables PDF.
    ExportDialog(SnapshotProvider snapshots, HistoryStore *history, PdfRenderer pdfRenderer,
                 QWidget *parent = nullptr);
    ~ExportDialog() override;

    void setSaveFileFunction(SaveFileFunction chooser);
    /// Configuration findings to put in the report (configFindingsToJson()).
    void setValidation(const std::optional<QJsonObject> &validation) { m_validation = validation; }

    QString path() const;
    void setPath(const QString &path);
    ReportFormat format() const;
    void setFormat(ReportFormat format);
    ReportSections sections() const;
    void setSections(ReportSections sections);
    int historyWindowMinutes() const;
    void setHistoryWindowMinutes(int minutes);

    bool isExporting() const;
    QString statusText() const;
    /// The inline error shown, empty when none.
    QString errorText() const;

    QLineEdit *pathEdit() const { return m_path; }
    QComboBox *formatCombo() const { return m_format; }
    QCheckBox *sectionCheckBox(ReportSection section) const { return m_sectionBoxes.value(quint32(section)); }
    QPushButton *browseButton() const { return m_browse; }
    QPushButton *exportButton() const { return m_export; }
    QPushButton *cancelButton() const { return m_cancel; }
    QProgressBar *progressBar() const { return m_progress; }
    ReportBuilder *builder() const { return m_builder; }

public Q_SLOTS:
    /// Checks the inputs and starts the export (errors are shown inline).
    void startExport();
    void browse();
    /// Cancels a running export, or closes the dialog when idle.
    void cancelOrClose();
    /// Esc and the window's close button: the same as Cancel.
    void reject() override;

Q_SIGNALS:
    void exportStarted(const QString &path);
    void exportFinished(bool ok, const QString &errorOrPath);

private:
    void onFormatChosen(int index);
    void onPathEdited(const QString &text);
    void onProgress(int percent, const QString &step);
    void onFinished(bool ok, const QString &errorOrPath);
    void showError(const QString &error);
    void setBusy(bool busy);
    QString normalizedPath() const;

    SnapshotProvider m_snapshots;
    HistoryStore *m_history;
    SaveFileFunction m_chooseSaveFile;
    std::optional<QJsonObject> m_validation;
    ReportBuilder *m_builder;

    QLineEdit *m_path = nullptr;
    QPushButton *m_browse = nullptr;
    QComboBox *m_format = nullptr;
    QSpinBox *m_window = nullptr;
    QHash<quint32, QCheckBox *> m_sectionBoxes;
    QProgressBar *m_progress = nullptr;
    QLabel *m_status = nullptr;
    QLabel *m_error = nullptr;
    QPushButton *m_export = nullptr;
    QPushButton *m_cancel = nullptr;
};

} // namespace vega::ui
