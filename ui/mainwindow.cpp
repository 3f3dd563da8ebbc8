#include "mainwindow.h"

#include "breakerspage.h"
#include "chartgroup.h"
#include "configpage.h"
#include "connectionspage.h"
#include "consolestatusbar.h"
#include "databasepage.h"
#include "snapshotsource.h"
#include "eventlooppage.h"
#include "exportdialog.h"
#include "integrationspage.h"
#include "journalpage.h"
#include "memorypage.h"
#include "overviewpage.h"
#include "report.h"
#include "reportpdf.h"
#include "requestspage.h"
#include "settingsdialog.h"
#include "streamspage.h"
#include "stalenesswatch.h"
#include "systempage.h"
#include "timechart.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStandardPaths>
#include <QStyle>
#include <QToolBar>

namespace vega::ui {

namespace {
const QString kGeometryKey = QStringLiteral("mainWindow/geometry");
const QString kStateKey = QStringLiteral("mainWindow/state");
const QString kPageKey = QStringLiteral("mainWindow/page");
const QString kRefreshKey = QStringLiteral("console/refreshIntervalMs");
const QString kThemeKey = QStringLiteral("console/theme");

bool askConfirmation(QWidget *parent, const QString &title, const QString &text)
{
    QMessageBox box(QMessageBox::Question, title, text, QMessageBox::Cancel, parent);
    QPushButton *confirm = box.addButton(title, QMessageBox::AcceptRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    return box.clickedButton() == confirm;
}

QString askSaveFile(QWidget *parent, const QString &title, const QString &suggestedPath)
{
    return QFileDialog::getSaveFileName(parent, title, suggestedPath,
                                        MainWindow::tr("JSON report (*.json);;All files (*)"));
}
} // namespace

MainWindow::MainWindow(SnapshotSource *engine, QWidget *parent)
    : QMainWindow(parent), m_engine(engine), m_confirm(askConfirmation), m_chooseSaveFile(askSaveFile)
{
    Q_ASSERT(engine);
    setWindowTitle(tr("Vega Console"));
    setWindowIcon(QIcon(QStringLiteral(":/vega/vega.svg")));

    m_navigation = new QListWidget(this);
    m_navigation->setObjectName(QStringLiteral("pageNavigation"));
    m_navigation->setFixedWidth(160);
    m_navigation->setFrameShape(QFrame::NoFrame);
    m_navigation->setStyleSheet(QStringLiteral(
        "QListWidget { background: palette(window); font-size: 11pt; outline: 0; }"
        "QListWidget::item { padding: 8px 10px; border-radius: 4px; margin: 1px 4px; }"
        "QListWidget::item:selected { background: palette(highlight); color: palette(highlighted-text); }"));
    m_stack = new QStackedWidget(this);

    const int intervalMs = engine->config().metrics.snapshotIntervalMs;
    m_overview = new OverviewPage(engine, m_stack);
    m_eventLoop = new EventLoopPage(engine, m_stack);
    m_system = new SystemPage(engine, m_stack);
    m_requests = new RequestsPage(engine, m_stack);
    m_connections = new ConnectionsPage(engine, m_stack);
    m_breakers = new BreakersPage(engine, m_stack);
    m_database = new DatabasePage(engine, m_stack);
    m_integrationsPage = new IntegrationsPage(engine, m_stack);
    m_configPage = new ConfigPage(engine, m_stack);
    m_memoryPage = new MemoryPage(engine, m_stack);
    m_streamsPage = new StreamsPage(engine, m_stack);
    m_journalPage = new EventJournalPage(engine, m_stack);
    // Charts fill what memory no longer (or not yet) holds from the history database.
    m_charts = m_stack->findChildren<TimeChart *>();
    for (TimeChart *chart : std::as_const(m_charts))
        chart->setHistoryStore(engine->history());
    // The charts of a page share their time axis: crosshair, window, zoom, live.
    for (QWidget *page : {static_cast<QWidget *>(m_eventLoop), static_cast<QWidget *>(m_system),
                          static_cast<QWidget *>(m_requests), static_cast<QWidget *>(m_connections),
                          static_cast<QWidget *>(m_database), static_cast<QWidget *>(m_integrationsPage),
                          static_cast<QWidget *>(m_memoryPage), static_cast<QWidget *>(m_streamsPage)})
        ChartGroup::linkAll(page);
    // The page asks through the window's confirmation, so one replacement covers every action.
    m_breakers->setConfirmFunction([this](QWidget *parent, const QString &title, const QString &text) {
        return m_confirm(parent, title, text);
    });
    m_statusBar = new ConsoleStatusBar(intervalMs, this);
    m_staleness = new StalenessWatch(intervalMs, 3, this);

    createActions();
    addPage(m_overview, tr("Overview"), tr("Health of every diagnostics category"));
    addPage(m_eventLoop, tr("Event loop"), tr("Lag and stalls of the GUI event loop"));
    addPage(m_system, tr("System"), tr("Every diagnostics reading, CPU and memory"));
    addPage(m_requests, tr("Requests"), tr("HTTP requests: rates, coalescing, cache hits, latency"));
    addPage(m_connections, tr("Connections"), tr("Connection pools: reuse, connect time, occupancy"));
    addPage(m_breakers, tr("Breakers"), tr("Circuit breakers: error rate, volume, transitions, actions"));
    addPage(m_database, tr("Database"), tr("History storage, batch writer and the SQL profiler"));
    addPage(m_integrationsPage, tr("Integrations"), tr("Health checks of external systems: state, latency, last error"));
    addPage(m_configPage, tr("Config"), tr("The configuration in force and its validation"));
    addPage(m_memoryPage, tr("Memory"), tr("RSS, heap in use, tracked types and leak suspects"));
    addPage(m_streamsPage, tr("Streams"), tr("Streamed responses: buffers, backpressure, throughput"));
    addPage(m_journalPage, tr("Journal"), tr("Resets, breaker transitions, stalls, validations, leaks, operator actions"));
    createMenus();
    createToolBar();

    auto *central = new QWidget(this);
    auto *layout = new QHBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_navigation);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);
    setStatusBar(m_statusBar);
    m_demoBadge = new QLabel(tr("Demo workload"), this);
    m_demoBadge->setObjectName(QStringLiteral("demoBadge"));
    m_demoBadge->setStyleSheet(QStringLiteral(
        "background-color: #1d4ed8; color: white; border-radius: 4px; padding: 2px 8px; font-weight: 600;"));
    m_demoBadge->setToolTip(
        tr("The engine runs its built-in demo: generated traffic against a local backend. "
           "Start with a configuration to monitor your own integrations."));
    m_demoBadge->hide();
    m_statusBar->insertPermanentWidget(0, m_demoBadge);

    m_pages = {static_cast<SnapshotPage *>(m_overview),    static_cast<SnapshotPage *>(m_eventLoop),
               static_cast<SnapshotPage *>(m_system),      static_cast<SnapshotPage *>(m_requests),
               static_cast<SnapshotPage *>(m_connections), static_cast<SnapshotPage *>(m_breakers),
               static_cast<SnapshotPage *>(m_database),    static_cast<SnapshotPage *>(m_integrationsPage),
               static_cast<SnapshotPage *>(m_configPage),  static_cast<SnapshotPage *>(m_memoryPage),
               static_cast<SnapshotPage *>(m_streamsPage), static_cast<SnapshotPage *>(m_journalPage)};
    for (SnapshotPage *page : std::as_const(m_pages))
        connect(engine, &SnapshotSource::snapshotAvailable, page, &SnapshotPage::setSnapshot);
    connect(engine, &SnapshotSource::snapshotAvailable, this, &MainWindow::updateDemoIndicator);
    connect(engine, &SnapshotSource::snapshotAvailable, this, &MainWindow::updateAnnotations);
    connect(m_breakers, &BreakersPage::breakerCommanded, m_statusBar,
            [this](const QString &description) { m_statusBar->showMessage(description, 5000); });
    connect(m_breakers, &BreakersPage::breakerCommandFailed, m_statusBar,
            [this](const QString &error) { m_statusBar->showMessage(error, 8000); });
    connect(m_integrationsPage, &IntegrationsPage::checkRequested, m_statusBar,
            [this](const QString &description) { m_statusBar->showMessage(description, 5000); });
    connect(m_configPage, &ConfigPage::validationStarted, m_statusBar,
            [this] { m_statusBar->showMessage(tr("Validating the configuration…"), 5000); });
    connect(engine, &SnapshotSource::snapshotAvailable, m_statusBar, &ConsoleStatusBar::setSnapshot);
    connect(engine, &SnapshotSource::snapshotAvailable, m_staleness, &StalenessWatch::snapshotArrived);
    connect(m_staleness, &StalenessWatch::staleChanged, m_statusBar, &ConsoleStatusBar::setStale);
    connect(m_staleness, &StalenessWatch::staleChanged, m_overview, &OverviewPage::setStale);
    connect(m_navigation, &QListWidget::currentRowChanged, this, &MainWindow::onNavigationRowChanged);

    m_statusBar->setSnapshot(engine->latest());
    updateDemoIndicator(engine->latest());
    updateAnnotations(engine->latest());
    restoreSettings();
}

MainWindow::~MainWindow() = default;

void MainWindow::createActions()
{
    m_exportAction =
        new QAction(style()->standardIcon(QStyle::SP_DialogSaveButton), tr("&Export report…"), this);
    m_exportAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_exportAction->setToolTip(tr("Save a diagnostic report of the latest snapshot (Ctrl+E)"));
    connect(m_exportAction, &QAction::triggered, this, &MainWindow::exportReport);

    m_quitAction = new QAction(tr("&Quit"), this);
    m_quitAction->setShortcut(QKeySequence::Quit);
    m_quitAction->setMenuRole(QAction::QuitRole);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);

    m_resetAction = new QAction(style()->standardIcon(QStyle::SP_BrowserReload), tr("&Reset stats…"), this);
    m_resetAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    m_resetAction->setToolTip(tr("Start the shown counters, histograms and charts again (Ctrl+Shift+R)"));
    connect(m_resetAction, &QAction::triggered, this, &MainWindow::resetStats);

    m_validateAction = new QAction(style()->standardIcon(QStyle::SP_DialogApplyButton), tr("Run &validation"), this);
    m_validateAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V));
    m_validateAction->setToolTip(tr("Check the configuration: URLs, environment variables, files, host names "
                                    "(Ctrl+Shift+V); the findings show on the Config page"));
    connect(m_validateAction, &QAction::triggered, this, [this] {
        m_engine->validateConfig(QStringLiteral("operator"));
        setCurrentPage(ConfigPageIndex);
        m_statusBar->showMessage(tr("Validating the configuration…"), 5000);
    });

    m_settingsAction = new QAction(tr("&Settings…"), this);
    m_settingsAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Comma));
    m_settingsAction->setMenuRole(QAction::PreferencesRole);
    m_settingsAction->setToolTip(tr("Refresh interval and theme (Ctrl+,)"));
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::openSettings);

    m_aboutAction = new QAction(tr("&About Vega Console"), this);
    m_aboutAction->setMenuRole(QAction::AboutRole);
    connect(m_aboutAction, &QAction::triggered, this, &MainWindow::showAbout);

    m_pageActions = new QActionGroup(this);
    m_pageActions->setExclusive(true);
}

void MainWindow::addPage(SnapshotPage *page, const QString &title, const QString &toolTip)
{
    const int index = m_stack->addWidget(page);
    auto *item = new QListWidgetItem(title, m_navigation);
    item->setToolTip(toolTip);

    auto *action = new QAction(title, m_pageActions);
    action->setCheckable(true);
    // Ctrl+1 ... Ctrl+9, then Ctrl+0 for the tenth page; later pages only from the list.
    if (index < 9)
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + index)));
    else if (index == 9)
        action->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    action->setToolTip(toolTip);
    connect(action, &QAction::triggered, this, [this, index] { setCurrentPage(index); });
}

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_exportAction);
    file->addSeparator();
    file->addAction(m_quitAction);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    view->addActions(m_pageActions->actions());
    view->addSeparator();
    view->addAction(m_settingsAction);

    QMenu *actions = menuBar()->addMenu(tr("&Actions"));
    actions->addAction(m_resetAction);
    actions->addAction(m_validateAction);

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_aboutAction);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);
}

void MainWindow::createToolBar()
{
    QToolBar *bar = addToolBar(tr("Main"));
    bar->setObjectName(QStringLiteral("mainToolBar"));
    bar->setMovable(false);
    bar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    bar->addAction(m_exportAction);
    bar->addAction(m_resetAction);
    bar->addAction(m_validateAction);
    bar->addAction(m_settingsAction);
}

int MainWindow::currentPage() const
{
    return m_stack->currentIndex();
}

QAction *MainWindow::pageAction(int page) const
{
    const QList<QAction *> actions = m_pageActions->actions();
    return page >= 0 && page < actions.size() ? actions.at(page) : nullptr;
}

bool MainWindow::isStale() const
{
    return m_staleness->isStale();
}

bool MainWindow::isDemoShown() const
{
    return !m_demoBadge->isHidden();
}

void MainWindow::updateDemoIndicator(const SnapshotPtr &snapshot)
{
    const bool demo = snapshot && snapshot->info.demo;
    if (demo == isDemoShown())
        return;
    m_demoBadge->setVisible(demo);
    setWindowTitle(demo ? tr("Vega Console — Demo workload") : tr("Vega Console"));
}

void MainWindow::setConfirmFunction(ConfirmFunction confirm)
{
    m_confirm = confirm ? std::move(confirm) : ConfirmFunction(askConfirmation);
}

void MainWindow::setSaveFileFunction(SaveFileFunction chooser)
{
    m_chooseSaveFile = chooser ? std::move(chooser) : SaveFileFunction(askSaveFile);
}

void MainWindow::setCurrentPage(int page)
{
    if (page < 0 || page >= m_stack->count())
        return;
    m_navigation->setCurrentRow(page);
}

void MainWindow::onNavigationRowChanged(int row)
{
    if (row < 0 || row >= m_stack->count())
        return;
    m_stack->setCurrentIndex(row);
    if (QAction *action = pageAction(row))
        action->setChecked(true);
    QSettings().setValue(kPageKey, row);
    Q_EMIT currentPageChanged(row);
}

void MainWindow::resetStats()
{
    const QString text =
        tr("Reset the shown statistics?\n\nCounters, latency histograms and charts start again from "
           "zero. Exported totals are not affected.");
    if (!m_confirm(this, tr("Reset stats"), text))
        return;
    m_engine->resetStats(QStringLiteral("operator"));
    m_statusBar->showMessage(tr("Statistics reset"), 5000);
}

void MainWindow::exportReport()
{
    auto *dialog = new ExportDialog([engine = m_engine] { return engine->latest(); }, m_engine->history(),
                                    reportPdfRenderer(), this);
    dialog->setObjectName(QStringLiteral("exportDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    dialog->setPath(QDir(dir).filePath(QStringLiteral("vega-report-") +
                                       QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")) +
                                       QStringLiteral(".html")));
    if (const auto validation = m_engine->lastValidation())
        dialog->setValidation(configFindingsToJson(validation->findings));
    dialog->setSaveFileFunction([this](QWidget *parent, const QString &title, const QString &suggested,
                                       const QString &) { return m_chooseSaveFile(parent, title, suggested); });
    connect(dialog, &ExportDialog::exportFinished, this, [this](bool ok, const QString &pathOrError) {
        if (ok)
            m_statusBar->showMessage(tr("Report written to %1").arg(QDir::toNativeSeparators(pathOrError)), 5000);
        Q_EMIT reportExported(ok, pathOrError);
    });
    dialog->open();
}

void MainWindow::showAbout()
{
    const SnapshotPtr snapshot = m_engine->latest();
    const QString version = snapshot ? snapshot->info.version : QString();
    QMessageBox::about(
        this, tr("About Vega Console"),
        tr("<h3>Vega Console %1</h3><p>Monitors the engine's event loop, the process and the "
           "system.</p><p>Built with Qt %2, running on Qt %3.</p>")
            .arg(version.toHtmlEscaped(), QStringLiteral(QT_VERSION_STR), QString::fromLatin1(qVersion())));
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    QMainWindow::closeEvent(event);
}

void MainWindow::openSettings()
{
    SettingsDialog dialog(m_refreshMs, m_theme, this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    setRefreshIntervalMs(dialog.refreshIntervalMs());
    setTheme(dialog.theme());
}

void MainWindow::setRefreshIntervalMs(int ms)
{
    m_refreshMs = std::clamp(ms, 250, 10000);
    for (SnapshotPage *page : std::as_const(m_pages))
        page->setRefreshIntervalMs(m_refreshMs);
    for (TimeChart *chart : std::as_const(m_charts))
        chart->setMinimumUpdateIntervalMs(std::max(250, m_refreshMs / 2));
    m_statusBar->setRefreshIntervalMs(m_refreshMs);
    QSettings().setValue(kRefreshKey, m_refreshMs);
}

void MainWindow::setTheme(Theme theme)
{
    m_theme = theme;
    applyTheme(theme);
    QSettings().setValue(kThemeKey, themeId(theme));
}

void MainWindow::restoreSettings()
{
    const QSettings settings;
    setRefreshIntervalMs(settings.value(kRefreshKey, m_engine->config().ui.refreshIntervalMs).toInt());
    const Theme theme = themeFromId(settings.value(kThemeKey, themeId(Theme::System)).toString());
    if (theme != Theme::System)
        setTheme(theme);
    if (!restoreGeometry(settings.value(kGeometryKey).toByteArray()))
        resize(1280, 820);
    restoreState(settings.value(kStateKey).toByteArray());
    const int page = settings.value(kPageKey, int(OverviewPageIndex)).toInt();
    setCurrentPage(page >= 0 && page < m_stack->count() ? page : int(OverviewPageIndex));
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
    settings.setValue(kPageKey, currentPage());
}

void MainWindow::updateAnnotations(const SnapshotPtr &snapshot)
{
    if (!snapshot || !snapshot->metrics)
        return;
    const QList<EngineEvent> &events = snapshot->metrics->events;
    const qint64 newest = events.isEmpty() ? 0 : events.last().wallMs;
    if (newest == m_lastAnnotatedEventMs && int(events.size()) == m_lastAnnotatedEventCount)
        return;
    m_lastAnnotatedEventMs = newest;
    m_lastAnnotatedEventCount = int(events.size());
    QList<TimeChart::Annotation> annotations;
    for (const EngineEvent &e : events)
        annotations.append({e.wallMs, e.kind, e.source + QStringLiteral(": ") + e.message});
    for (TimeChart *chart : std::as_const(m_charts))
        chart->setAnnotations(annotations);
}

} // namespace vega::ui
