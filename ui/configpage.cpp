#include "configpage.h"

#include "configvalidator.h"
#include "snapshotsource.h"
#include "findingsmodel.h"
#include "format.h"
#include "healthstyle.h"

#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

namespace vega::ui {

namespace {
QString countText(int n, const QString &one, const QString &many)
{
    return n == 1 ? one : many.arg(n);
}

QLabel *sectionTitle(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    return label;
}

QString sourceOf(const QString &configPath, bool demo)
{
    if (!configPath.isEmpty())
        return ConfigPage::tr("File: %1").arg(configPath);
    return demo ? ConfigPage::tr("Built-in defaults / demo workload (no configuration file)")
                : ConfigPage::tr("Built-in defaults (no configuration file)");
}
} // namespace

ConfigPage::ConfigPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent), m_engine(engine)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Configuration"), m_updated);

    m_source = new QLabel(this);
    m_source->setObjectName(QStringLiteral("configSource"));
    m_source->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_source->setWordWrap(true);

    m_run = new QPushButton(tr("Run validation"), this);
    m_run->setObjectName(QStringLiteral("runValidationButton"));
    m_run->setToolTip(tr("Check the configuration now (the file as it is on disk): URLs, environment "
                         "variables, files and directories, and host names"));
    m_summary = new QLabel(this);
    m_summary->setObjectName(QStringLiteral("validationSummary"));
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *runRow = new QWidget(this);
    auto *runLayout = new QHBoxLayout(runRow);
    runLayout->setContentsMargins(0, 0, 0, 0);
    runLayout->addWidget(m_run);
    runLayout->addSpacing(8);
    runLayout->addWidget(m_summary, 1);

    m_findings = new FindingsModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_findings);
    m_proxy->setSortRole(FindingsSortRole);
    m_findingsView = new QTreeView(this);
    m_findingsView->setObjectName(QStringLiteral("findingsView"));
    m_findingsView->setModel(m_proxy);
    m_findingsView->setRootIsDecorated(false);
    m_findingsView->setUniformRowHeights(true);
    m_findingsView->setAlternatingRowColors(true);
    m_findingsView->setSortingEnabled(true);
    m_findingsView->sortByColumn(FindingsModel::SeverityColumn, Qt::DescendingOrder);
    m_findingsView->setColumnWidth(FindingsModel::SeverityColumn, 80);
    m_findingsView->setColumnWidth(FindingsModel::PathColumn, 260);
    m_findingsView->setColumnWidth(FindingsModel::PositionColumn, 70);
    m_findingsView->setColumnWidth(FindingsModel::ValueColumn, 200);

    auto *validation = new QWidget(this);
    auto *validationLayout = new QVBoxLayout(validation);
    validationLayout->setContentsMargins(0, 0, 0, 0);
    validationLayout->addWidget(sectionTitle(tr("Validation"), this));
    validationLayout->addWidget(runRow);
    validationLayout->addWidget(m_findingsView, 1);

    m_configText = new QPlainTextEdit(this);
    m_configText->setObjectName(QStringLiteral("effectiveConfig"));
    m_configText->setReadOnly(true);
    m_configText->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_configText->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_configText->setToolTip(tr("The configuration in force, defaults filled in; secrets are redacted"));
    auto *effective = new QWidget(this);
    auto *effectiveLayout = new QVBoxLayout(effective);
    effectiveLayout->setContentsMargins(0, 0, 0, 0);
    effectiveLayout->addWidget(sectionTitle(tr("Effective configuration"), this));
    effectiveLayout->addWidget(m_configText, 1);

    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(validation);
    vertical->addWidget(effective);
    vertical->setChildrenCollapsible(false);
    vertical->setStretchFactor(0, 2);
    vertical->setStretchFactor(1, 3);

    // The pane sizes the operator chose are kept across runs.
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("config"), {vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(m_source);
    layout->addWidget(vertical, 1);

    connect(m_run, &QPushButton::clicked, this, &ConfigPage::runValidation);
    showReport(nullptr);
    if (engine) {
        m_source->setText(sourceOf(engine->configPath(), engine->isDemo()));
        // The outcome shows at once, even on a hidden page: the operator asked for it.
        connect(engine, &SnapshotSource::validationFinished, this, [this] {
            updateRunButton();
            showReport(m_engine->lastValidation());
        });
        setSnapshot(engine->latest());
    }
    updateRunButton();
}

ConfigPage::~ConfigPage() = default;

QString ConfigPage::sourceText() const
{
    return m_source->text();
}

QString ConfigPage::summaryText() const
{
    return m_summary->text();
}

void ConfigPage::runValidation()
{
    if (!m_engine || m_engine->isValidating())
        return;
    m_engine->validateConfig(QStringLiteral("operator"));
    updateRunButton();
    Q_EMIT validationStarted();
}

void ConfigPage::updateRunButton()
{
    const bool validating = m_engine && m_engine->isValidating();
    m_run->setEnabled(m_engine && !validating);
    m_run->setText(validating ? tr("Validating…") : tr("Run validation"));
}

void ConfigPage::applySnapshot(const Snapshot &snapshot)
{
    const qint64 nowMs = snapshot.metrics ? snapshot.metrics->wallMs : snapshot.diagnostics.wallMs;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(nowMs)));
    m_source->setText(sourceOf(snapshot.info.configPath, snapshot.info.demo));
    // Fixed for an engine's life: drawn once, so the operator's scroll position stays.
    if (!m_configShown || snapshot.info.effectiveConfig != m_shownConfig) {
        m_shownConfig = snapshot.info.effectiveConfig;
        m_configShown = true;
        m_configText->setPlainText(
            QString::fromUtf8(QJsonDocument(m_shownConfig).toJson(QJsonDocument::Indented)));
    }
    showReport(snapshot.validation);
    updateRunButton();
}

void ConfigPage::showReport(const std::shared_ptr<const ValidationReport> &report)
{
    if (m_reportShown && report == m_shownReport)
        return;
    m_reportShown = true;
    m_shownReport = report;
    if (!report) {
        m_findings->setFindings({});
        m_summary->setText(tr("Not validated yet — Run validation checks URLs, environment variables, files "
                              "and host names."));
        m_summary->setStyleSheet(QString());
        return;
    }
    m_findings->setFindings(report->findings);
    m_proxy->sort(m_proxy->sortColumn(), m_proxy->sortOrder());
    const int errors = report->errorCount();
    const int warnings = report->warningCount();
    QString counts = errors == 0 && warnings == 0
                         ? tr("No problems found")
                         : countText(errors, tr("1 error"), tr("%1 errors")) + QStringLiteral(", ") +
                               countText(warnings, tr("1 warning"), tr("%1 warnings"));
    QString details =
        tr("run at %1, took %2")
            .arg(formatClockTime(report->startedWallMs), formatDurationMs(double(report->durationMs)));
    if (report->hostsLookedUp > 0)
        details += QStringLiteral(", ") + countText(report->hostsLookedUp, tr("1 host name looked up"),
                                                    tr("%1 host names looked up"));
    m_summary->setText(counts + QStringLiteral(" · ") + details);
    const Health health = errors > 0 ? Health::Critical : warnings > 0 ? Health::Warning : Health::Ok;
    m_summary->setStyleSheet(
        QStringLiteral("color: %1; font-weight: 600;")
            .arg((health == Health::Warning ? healthColor(health).darker(150) : healthColor(health)).name()));
    m_summary->setToolTip(report->configPath.isEmpty() ? tr("Checked the configuration in memory")
                                                       : tr("Checked %1").arg(report->configPath));
}

} // namespace vega::ui
