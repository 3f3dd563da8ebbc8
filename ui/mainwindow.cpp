#include "mainwindow.h"

#include "breakerspage.h"
#include "chartgroup.h"
#include "configpage.h"
#include "connectdialog.h"
#include "connectionspage.h"
#include "consolestatusbar.h"
#include "databasepage.h"
#include "snapshotsource.h"
#include "eventlooppage.h"
#include "exportdialog.h"
#include "fleetpage.h"
#include "integrationspage.h"
#include "journalpage.h"
#include "memorypage.h"
#include "overviewpage.h"
#include "report.h"
#include "remoteagent.h"
#include "reportpdf.h"
#include "requestspage.h"
#include "settingsdialog.h"
#include "sourceview.h"
#include "streamspage.h"
#include "stalenesswatch.h"
#include "systempage.h"
#include "timechart.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPointer>
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
    setWindowIcon(QIcon(QStringLiteral(":/vega/vega.svg")));

    m_navigation = new QListWidget(this);
    m_navigation->setObjectName(QStringLiteral("pageNavigation"));
    m_navigation->setFixedWidth(160);
    m_navigation->setFrameShape(QFrame::NoFrame);
    m_navigation->setStyleSheet(QStringLiteral(
        "QListWidget { background: palette(window); font-size: 11pt; outline: 0; }"
        "QListWidget::item { padding: 8px 10px; border-radius: 4px; margin: 1px 4px; }"
        "QListWidget::item:selected { background: palette(highlight); color: palette(highlighted-text); }"));
    m_outer = new QStackedWidget(this);
    m_fleet = new FleetPage(m_outer);
    m_outer->addWidget(m_fleet);
    connect(m_fleet, &FleetPage::sourceActivated, this, [this](SnapshotSource *source) {
        setCurrentSource(source);
        setCurrentPage(OverviewPageIndex);
    });
    connect(m_fleet, &FleetPage::connectRequested, this, &MainWindow::openConnectDialog);

    m_statusBar = new ConsoleStatusBar(engine->config().metrics.snapshotIntervalMs, this);
    createActions();
    addPage(tr("Overview"), tr("Health of every diagnostics category"));
    addPage(tr("Event loop"), tr("Lag and stalls of the GUI event loop"));
    addPage(tr("System"), tr("Every diagnostics reading, CPU and memory"));
    addPage(tr("Requests"), tr("HTTP requests: rates, coalescing, cache hits, latency"));
    addPage(tr("Connections"), tr("Connection pools: reuse, connect time, occupancy"));
    addPage(tr("Breakers"), tr("Circuit breakers: error rate, volume, transitions, actions"));
    addPage(tr("Database"), tr("History storage, batch writer and the SQL profiler"));
    addPage(tr("Integrations"), tr("Health checks of external systems: state, latency, last error"));
    addPage(tr("Config"), tr("The configuration in force and its validation"));
    addPage(tr("Memory"), tr("RSS, heap in use, tracked types and leak suspects"));
    addPage(tr("Streams"), tr("Streamed responses: buffers, backpressure, throughput"));
    addPage(tr("Journal"), tr("Resets, breaker transitions, stalls, validations, leaks, operator actions"));
    addPage(tr("Fleet"), tr("Every source at once: the local engine and the connected agents"));
    createMenus();
    createToolBar();

    auto *central = new QWidget(this);
    auto *layout = new QHBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_navigation);
    layout->addWidget(m_outer, 1);
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
    connect(m_navigation, &QListWidget::currentRowChanged, this, &MainWindow::onNavigationRowChanged);

    addSource(engine);
    connect(engine, &SnapshotSource::snapshotAvailable, m_statusBar, [this](const SnapshotPtr &snapshot) {
        if (currentSource() != m_engine)
            m_statusBar->setConsoleSnapshot(snapshot);
    });
    restoreSettings();
}

MainWindow::~MainWindow()
{
    // Sources may outlive the window, or die with it among its children: either way nothing
    // of theirs may reach a half-destroyed window.
    for (SourceView *view : std::as_const(m_views)) {
        disconnect(view->source(), nullptr, this, nullptr);
        disconnect(view->source(), nullptr, m_statusBar, nullptr);
    }
}

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
    connect(m_validateAction, &QAction::triggered, this, &MainWindow::runValidation);

    m_connectAction = new QAction(style()->standardIcon(QStyle::SP_DriveNetIcon), tr("&Connect to agent…"), this);
    m_connectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_connectAction->setToolTip(tr("Watch another machine's engine through its agent (Ctrl+Shift+C)"));
    connect(m_connectAction, &QAction::triggered, this, &MainWindow::openConnectDialog);

    m_disconnectAction = new QAction(tr("&Disconnect agent"), this);
    m_disconnectAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    m_disconnectAction->setToolTip(tr("Stop watching the current agent (Ctrl+Shift+D)"));
    m_disconnectAction->setEnabled(false);
    connect(m_disconnectAction, &QAction::triggered, this, [this] {
        SnapshotSource *source = currentSource();
        if (!source || source == m_engine)
            return;
        const QString name = source->sourceName();
        if (!m_confirm(this, tr("Disconnect agent"), tr("Stop watching the agent “%1”?").arg(name)))
            return;
        removeSource(source);
        m_statusBar->showMessage(tr("Disconnected from %1").arg(name), 5000);
    });

    m_allSourcesAction = new QAction(tr("Send actions to &every source"), this);
    m_allSourcesAction->setCheckable(true);
    m_allSourcesAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_A));
    m_allSourcesAction->setToolTip(tr("Reset stats, validation and breaker commands go to every source, not only "
                                      "the one shown (Ctrl+Shift+A)"));

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

void MainWindow::addPage(const QString &title, const QString &toolTip)
{
    const int index = m_navigation->count();
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
    file->addAction(m_connectAction);
    file->addAction(m_disconnectAction);
    file->addSeparator();
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
    actions->addSeparator();
    actions->addAction(m_allSourcesAction);

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
    bar->addSeparator();
    bar->addWidget(new QLabel(tr(" Source: "), bar));
    m_sourceSelector = new QComboBox(bar);
    m_sourceSelector->setObjectName(QStringLiteral("sourceSelector"));
    m_sourceSelector->setToolTip(tr("Whose pages are shown: the local engine or a connected agent"));
    m_sourceSelector->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(m_sourceSelector);
    connect(m_sourceSelector, &QComboBox::activated, this, [this](int index) { setCurrentSource(index); });
    bar->addAction(m_connectAction);
}

int MainWindow::currentPage() const
{
    return m_currentPage;
}

QAction *MainWindow::pageAction(int page) const
{
    const QList<QAction *> actions = m_pageActions->actions();
    return page >= 0 && page < actions.size() ? actions.at(page) : nullptr;
}

bool MainWindow::isStale() const
{
    const SourceView *view = m_views.value(m_currentView);
    return view && view->isStale();
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
    updateWindowTitle();
}

void MainWindow::updateWindowTitle()
{
    QString title = tr("Vega Console");
    const SnapshotSource *source = currentSource();
    if (source && source != m_engine)
        title += QStringLiteral(" — ") + source->sourceName();
    if (isDemoShown())
        title += QStringLiteral(" — ") + tr("Demo workload");
    setWindowTitle(title);
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
    if (page < 0 || page >= PageCount)
        return;
    m_navigation->setCurrentRow(page);
}

void MainWindow::onNavigationRowChanged(int row)
{
    if (row < 0 || row >= PageCount)
        return;
    m_currentPage = row;
    showCurrent();
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
    for (SnapshotSource *target : actionTargets())
        target->resetStats(QStringLiteral("operator"), reportTo(tr("Statistics reset")));
}

void MainWindow::runValidation()
{
    for (SnapshotSource *target : actionTargets())
        target->validateConfig(QStringLiteral("operator"), reportTo(tr("Validating the configuration…")));
    setCurrentPage(ConfigPageIndex);
}

ActionCallback MainWindow::reportTo(const QString &what)
{
    return [window = QPointer<MainWindow>(this), what](const ActionResult &result) {
        if (!window)
            return;
        // A remote source's message names it; the local one's plain text is enough.
        window->m_statusBar->showMessage(result.ok && !result.message.contains(QLatin1Char(':')) ? what
                                                                                                 : result.message,
                                         result.ok ? 5000 : 10000);
    };
}

void MainWindow::exportReport()
{
    SnapshotSource *source = currentSource();
    auto *dialog = new ExportDialog([source = QPointer<SnapshotSource>(source)] {
        return source ? source->latest() : SnapshotPtr();
    }, source->history(), reportPdfRenderer(), this);
    dialog->setObjectName(QStringLiteral("exportDialog"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    dialog->setPath(QDir(dir).filePath(QStringLiteral("vega-report-") +
                                       QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")) +
                                       QStringLiteral(".html")));
    if (const auto validation = source->lastValidation())
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
    for (SourceView *view : std::as_const(m_views))
        view->setRefreshIntervalMs(m_refreshMs);
    m_fleet->setRefreshIntervalMs(m_refreshMs);
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
    setCurrentPage(page >= 0 && page < PageCount ? page : int(OverviewPageIndex));
}

void MainWindow::saveSettings() const
{
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
    settings.setValue(kPageKey, currentPage());
}

OverviewPage *MainWindow::overviewPage() const
{
    return m_views.first()->overviewPage();
}

EventLoopPage *MainWindow::eventLoopPage() const
{
    return m_views.first()->eventLoopPage();
}

SystemPage *MainWindow::systemPage() const
{
    return m_views.first()->systemPage();
}

RequestsPage *MainWindow::requestsPage() const
{
    return m_views.first()->requestsPage();
}

ConnectionsPage *MainWindow::connectionsPage() const
{
    return m_views.first()->connectionsPage();
}

BreakersPage *MainWindow::breakersPage() const
{
    return m_views.first()->breakersPage();
}

DatabasePage *MainWindow::databasePage() const
{
    return m_views.first()->databasePage();
}

IntegrationsPage *MainWindow::integrationsPage() const
{
    return m_views.first()->integrationsPage();
}

ConfigPage *MainWindow::configPage() const
{
    return m_views.first()->configPage();
}

MemoryPage *MainWindow::memoryPage() const
{
    return m_views.first()->memoryPage();
}

StreamsPage *MainWindow::streamsPage() const
{
    return m_views.first()->streamsPage();
}

EventJournalPage *MainWindow::journalPage() const
{
    return m_views.first()->journalPage();
}

QList<SnapshotSource *> MainWindow::sources() const
{
    QList<SnapshotSource *> out;
    for (const SourceView *view : m_views)
        out.append(view->source());
    return out;
}

SnapshotSource *MainWindow::currentSource() const
{
    const SourceView *view = m_views.value(m_currentView);
    return view ? view->source() : m_engine;
}

SourceView *MainWindow::sourceView(int index) const
{
    return m_views.value(index);
}

bool MainWindow::actionsToAllSources() const
{
    return m_allSourcesAction->isChecked();
}

void MainWindow::setActionsToAllSources(bool all)
{
    m_allSourcesAction->setChecked(all);
}

QList<SnapshotSource *> MainWindow::actionTargets() const
{
    return actionsToAllSources() ? sources() : QList<SnapshotSource *>{currentSource()};
}

void MainWindow::addSource(SnapshotSource *source)
{
    if (!source || sources().contains(source))
        return;
    auto *view = new SourceView(
        source, [this](QWidget *parent, const QString &title, const QString &text) { return m_confirm(parent, title, text); },
        m_outer);
    m_outer->insertWidget(int(m_views.size()), view);
    m_views.append(view);
    view->setRefreshIntervalMs(m_refreshMs);
    view->setBreakerTargets([this, source = QPointer<SnapshotSource>(source)] {
        if (actionsToAllSources())
            return sources();
        return source ? QList<SnapshotSource *>{source.data()} : QList<SnapshotSource *>{};
    });
    connect(view, &SourceView::statusMessage, m_statusBar,
            [this](const QString &text, int timeoutMs) { m_statusBar->showMessage(text, timeoutMs); });
    connect(source, &SnapshotSource::linkChanged, this, [this] { rebuildSourceSelector(); });
    connect(source, &SnapshotSource::snapshotAvailable, this, [this, source] {
        // An agent announces its name after connecting: keep the selector in step.
        const int index = sources().indexOf(source);
        if (index >= 0 && m_sourceSelector->itemData(index).toString() != source->sourceName())
            rebuildSourceSelector();
    });
    m_fleet->addSource(source);
    rebuildSourceSelector();
    if (m_views.size() == 1)
        setCurrentSource(0);
}

RemoteAgent *MainWindow::connectAgent(const RemoteAgentOptions &options)
{
    auto *agent = new RemoteAgent(options, this);
    addSource(agent);
    agent->start();
    return agent;
}

void MainWindow::removeSource(SnapshotSource *source)
{
    const int index = int(sources().indexOf(source));
    if (index <= 0) // unknown, or the local engine
        return;
    SnapshotSource *current = currentSource();
    SourceView *view = m_views.takeAt(index);
    m_outer->removeWidget(view);
    view->deleteLater();
    m_fleet->removeSource(source);
    disconnect(source, nullptr, this, nullptr);
    if (source->parent() == this) {
        if (auto *agent = qobject_cast<RemoteAgent *>(source))
            agent->stop();
        source->deleteLater();
    }
    m_currentView = -1;
    setCurrentSource(current == source ? 0 : int(sources().indexOf(current)));
}

void MainWindow::setCurrentSource(SnapshotSource *source)
{
    const int index = int(sources().indexOf(source));
    if (index >= 0)
        setCurrentSource(index);
}

void MainWindow::setCurrentSource(int index)
{
    if (index < 0 || index >= int(m_views.size()))
        return;
    const bool changed = index != m_currentView;
    m_currentView = index;
    SourceView *view = m_views.at(index);
    SnapshotSource *source = view->source();
    if (changed) {
        for (const QMetaObject::Connection &c : std::as_const(m_currentConnections))
            disconnect(c);
        // The last update is the shown source's; the CPU is always the console's own.
        m_statusBar->setCpuFromSnapshots(source == m_engine);
        m_currentConnections = {
            connect(source, &SnapshotSource::snapshotAvailable, m_statusBar, &ConsoleStatusBar::setSnapshot),
            connect(source, &SnapshotSource::snapshotAvailable, this, &MainWindow::updateDemoIndicator),
            connect(view->staleness(), &StalenessWatch::staleChanged, m_statusBar, &ConsoleStatusBar::setStale),
        };
        m_statusBar->setSnapshot(source->latest());
        m_statusBar->setStale(view->isStale());
        updateDemoIndicator(source->latest());
    }
    m_disconnectAction->setEnabled(source != m_engine);
    rebuildSourceSelector();
    updateWindowTitle();
    showCurrent();
}

void MainWindow::showCurrent()
{
    if (m_currentPage == FleetPageIndex) {
        m_outer->setCurrentWidget(m_fleet);
        return;
    }
    SourceView *view = m_views.value(m_currentView);
    if (!view)
        return;
    view->setCurrentPage(m_currentPage);
    m_outer->setCurrentWidget(view);
}

void MainWindow::rebuildSourceSelector()
{
    if (!m_sourceSelector)
        return;
    const QSignalBlocker block(m_sourceSelector);
    const QList<SnapshotSource *> all = sources();
    while (m_sourceSelector->count() > int(all.size()))
        m_sourceSelector->removeItem(m_sourceSelector->count() - 1);
    for (int i = 0; i < int(all.size()); ++i) {
        const SnapshotSource *s = all.at(i);
        QString text = s->sourceName();
        switch (s->link()) {
        case SnapshotSource::Link::Local:
            text = tr("%1 (this console)").arg(text);
            break;
        case SnapshotSource::Link::Connecting:
            text = tr("%1 (connecting)").arg(text);
            break;
        case SnapshotSource::Link::Lost:
            text = tr("%1 (lost)").arg(text);
            break;
        case SnapshotSource::Link::Connected:
            break;
        }
        if (i < m_sourceSelector->count()) {
            m_sourceSelector->setItemText(i, text);
            m_sourceSelector->setItemData(i, s->sourceName());
        } else {
            m_sourceSelector->addItem(text, s->sourceName());
        }
    }
    m_sourceSelector->setCurrentIndex(m_currentView);
    m_allSourcesAction->setEnabled(all.size() > 1);
}

void MainWindow::openConnectDialog()
{
    ConnectDialog dialog(this);
    if (dialog.exec() != QDialog::Accepted)
        return;
    RemoteAgent *agent = connectAgent(dialog.options());
    setCurrentSource(agent);
    setCurrentPage(FleetPageIndex);
    m_statusBar->showMessage(tr("Connecting to %1…").arg(agent->streamUrl().toString()), 5000);
}

} // namespace vega::ui
