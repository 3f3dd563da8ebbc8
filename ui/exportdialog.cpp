#include "exportdialog.h"

#include "historystore.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace vega::ui {

namespace {

constexpr ReportFormat kFormats[] = {ReportFormat::Html, ReportFormat::Pdf, ReportFormat::Json,
                                     ReportFormat::Zip};

QString fileFilter(ReportFormat format)
{
    switch (format) {
    case ReportFormat::Json:
        return QObject::tr("JSON report (*.json)");
    case ReportFormat::Html:
        return QObject::tr("HTML report (*.html *.htm)");
    case ReportFormat::Pdf:
        return QObject::tr("PDF report (*.pdf)");
    case ReportFormat::Zip:
        return QObject::tr("Support bundle (*.zip)");
    }
    return {};
}

} // namespace

ExportDialog::ExportDialog(SnapshotProvider snapshots, HistoryStore *history, PdfRenderer pdfRenderer,
                           QWidget *parent)
    : QDialog(parent), m_snapshots(std::move(snapshots)), m_history(history),
      m_builder(new ReportBuilder(this))
{
    setWindowTitle(tr("Export report"));
    m_builder->setPdfRenderer(std::move(pdfRenderer));
    m_chooseSaveFile = [](QWidget *parentWidget, const QString &title, const QString &suggested,
                          const QString &filter) {
        return QFileDialog::getSaveFileName(parentWidget, title, suggested, filter);
    };

    m_path = new QLineEdit(this);
    m_path->setObjectName(QStringLiteral("exportPath"));
    m_browse = new QPushButton(tr("Browse…"), this);
    auto *pathRow = new QHBoxLayout;
    pathRow->addWidget(m_path, 1);
    pathRow->addWidget(m_browse);

    m_format = new QComboBox(this);
    for (ReportFormat f : kFormats)
        m_format->addItem(reportFormatTitle(f), int(f));
    if (!m_builder->canWritePdf()) {
        if (auto *model = qobject_cast<QStandardItemModel *>(m_format->model())) {
            QStandardItem *item = model->item(m_format->findData(int(ReportFormat::Pdf)));
            item->setEnabled(false);
            item->setToolTip(tr("PDF is not available in this program"));
        }
    }

    m_window = new QSpinBox(this);
    m_window->setRange(1, 7 * 24 * 60);
    m_window->setValue(15);
    m_window->setSuffix(tr(" min"));
    m_window->setToolTip(
        tr("Charts, history files and the journal cover this much time before the snapshot"));

    auto *sectionsBox = new QGroupBox(tr("Sections"), this);
    auto *grid = new QGridLayout(sectionsBox);
    const QList<ReportSection> all = allReportSections();
    for (int i = 0; i < all.size(); ++i) {
        auto *box = new QCheckBox(reportSectionTitle(all[i]), sectionsBox);
        box->setObjectName(QStringLiteral("section_") + reportSectionId(all[i]));
        box->setChecked(true);
        m_sectionBoxes.insert(quint32(all[i]), box);
        grid->addWidget(box, i / 3, i % 3);
    }

    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_progress->setValue(0);
    m_status = new QLabel(tr("Choose a file and the sections, then Export."), this);
    m_status->setWordWrap(true);
    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("exportError"));
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_error->hide();

    m_export = new QPushButton(tr("Export"), this);
    m_export->setDefault(true);
    m_cancel = new QPushButton(tr("Cancel"), this);
    auto *buttons = new QDialogButtonBox(this);
    buttons->addButton(m_export, QDialogButtonBox::AcceptRole);
    buttons->addButton(m_cancel, QDialogButtonBox::RejectRole);

    auto *form = new QFormLayout;
    form->addRow(tr("File:"), pathRow);
    form->addRow(tr("Format:"), m_format);
    form->addRow(tr("History window:"), m_window);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(sectionsBox);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(m_error);
    layout->addWidget(buttons);

    connect(m_browse, &QPushButton::clicked, this, &ExportDialog::browse);
    connect(m_format, &QComboBox::activated, this, &ExportDialog::onFormatChosen);
    connect(m_path, &QLineEdit::textEdited, this, &ExportDialog::onPathEdited);
    connect(m_export, &QPushButton::clicked, this, &ExportDialog::startExport);
    connect(m_cancel, &QPushButton::clicked, this, &ExportDialog::cancelOrClose);
    connect(m_builder, &ReportBuilder::progress, this, &ExportDialog::onProgress);
    connect(m_builder, &ReportBuilder::finished, this, &ExportDialog::onFinished);

    const QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    setPath(QDir(dir).filePath(QStringLiteral("vega-report-") +
                               QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")) +
                               QStringLiteral(".html")));
}

ExportDialog::~ExportDialog() = default;

void ExportDialog::setSaveFileFunction(SaveFileFunction chooser)
{
    m_chooseSaveFile = std::move(chooser);
}

QString ExportDialog::path() const
{
    return m_path->text();
}

void ExportDialog::setPath(const QString &path)
{
    m_path->setText(path);
    onPathEdited(path);
}

ReportFormat ExportDialog::format() const
{
    return ReportFormat(m_format->currentData().toInt());
}

void ExportDialog::setFormat(ReportFormat format)
{
    const int index = m_format->findData(int(format));
    m_format->setCurrentIndex(index);
    onFormatChosen(index);
}

ReportSections ExportDialog::sections() const
{
    ReportSections out;
    for (auto it = m_sectionBoxes.cbegin(); it != m_sectionBoxes.cend(); ++it)
        if (it.value()->isChecked())
            out |= ReportSection(it.key());
    return out;
}

void ExportDialog::setSections(ReportSections sections)
{
    for (auto it = m_sectionBoxes.cbegin(); it != m_sectionBoxes.cend(); ++it)
        it.value()->setChecked(sections.testFlag(ReportSection(it.key())));
}

int ExportDialog::historyWindowMinutes() const
{
    return m_window->value();
}

void ExportDialog::setHistoryWindowMinutes(int minutes)
{
    m_window->setValue(minutes);
}

bool ExportDialog::isExporting() const
{
    return m_builder->isRunning();
}

QString ExportDialog::statusText() const
{
    return m_status->text();
}

QString ExportDialog::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

void ExportDialog::onFormatChosen(int index)
{
    if (index < 0)
        return;
    const ReportFormat f = ReportFormat(m_format->itemData(index).toInt());
    QString path = m_path->text().trimmed();
    if (path.isEmpty())
        return;
    const QFileInfo info(path);
    ReportFormat current = ReportFormat::Json;
    if (reportFormatForPath(path, &current) || !info.suffix().isEmpty())
        path.chop(info.suffix().size() + 1);
    m_path->setText(path + QLatin1Char('.') + reportFormatExtension(f));
}

void ExportDialog::onPathEdited(const QString &text)
{
    ReportFormat f = ReportFormat::Json;
    if (reportFormatForPath(text.trimmed(), &f))
        m_format->setCurrentIndex(m_format->findData(int(f)));
}

QString ExportDialog::normalizedPath() const
{
    QString path = m_path->text().trimmed();
    if (!path.isEmpty() && QFileInfo(path).suffix().isEmpty())
        path += QLatin1Char('.') + reportFormatExtension(format());
    return path;
}

void ExportDialog::browse()
{
    const QString chosen =
        m_chooseSaveFile(this, tr("Export report"), normalizedPath(), fileFilter(format()));
    if (!chosen.isEmpty())
        setPath(chosen);
}

void ExportDialog::showError(const QString &error)
{
    m_error->setText(error);
    m_error->setVisible(!error.isEmpty());
}

void ExportDialog::setBusy(bool busy)
{
    m_path->setEnabled(!busy);
    m_browse->setEnabled(!busy);
    m_format->setEnabled(!busy);
    m_window->setEnabled(!busy);
    for (QCheckBox *box : std::as_const(m_sectionBoxes))
        box->setEnabled(!busy);
    m_export->setEnabled(!busy);
}

void ExportDialog::startExport()
{
    if (isExporting())
        return;
    showError(QString());
    const QString path = normalizedPath();
    if (path.isEmpty()) {
        showError(tr("Choose a file to write the report to."));
        return;
    }
    if (path != m_path->text())
        setPath(path);
    QString error;
    if (!checkReportPath(path, &error, m_builder->canWritePdf())) {
        showError(error);
        return;
    }
    if (sections() == ReportSections()) {
        showError(tr("Choose at least one section."));
        return;
    }
    const SnapshotPtr snapshot = m_snapshots ? m_snapshots() : SnapshotPtr();
    if (!snapshot) {
        showError(tr("There is no snapshot to report yet."));
        return;
    }
    ReportRequest request;
    request.path = path;
    request.sections = sections();
    request.historyWindowMs = qint64(m_window->value()) * 60 * 1000;
    request.snapshot = snapshot;
    request.history = m_history;
    request.validation = m_validation;
    if (!m_builder->start(request))
        return;
    setBusy(true);
    m_progress->setValue(0);
    m_status->setText(tr("Exporting to %1…").arg(QDir::toNativeSeparators(path)));
    Q_EMIT exportStarted(path);
}

void ExportDialog::cancelOrClose()
{
    if (isExporting()) {
        m_status->setText(tr("Cancelling…"));
        m_builder->cancel();
        return;
    }
    QDialog::reject();
}

void ExportDialog::reject()
{
    cancelOrClose();
}

void ExportDialog::onProgress(int percent, const QString &step)
{
    m_progress->setValue(percent);
    m_status->setText(step);
}

void ExportDialog::onFinished(bool ok, const QString &errorOrPath)
{
    setBusy(false);
    if (ok) {
        m_progress->setValue(100);
        m_status->setText(tr("Report written to %1").arg(QDir::toNativeSeparators(errorOrPath)));
    } else if (errorOrPath == QLatin1String("cancelled")) {
        m_progress->setValue(0);
        m_status->setText(tr("Export cancelled; no file was written."));
    } else {
        m_progress->setValue(0);
        m_status->setText(tr("Export failed."));
        showError(errorOrPath);
    }
    Q_EMIT exportFinished(ok, errorOrPath);
    if (ok)
        accept();
}

} // namespace vega::ui
