#pragma once

#include "snapshot.h"
#include "snapshotsource.h"
#include "theme.h"

#include <QMainWindow>

#include <functional>

QT_BEGIN_NAMESPACE
class QAction;
class QActionGroup;
class QComboBox;
class QLabel;
class QListWidget;
class QStackedWidget;
QT_END_NAMESPACE

namespace vega {
class RemoteAgent;
class SnapshotSource;
struct RemoteAgentOptions;
}

namespace vega::ui {

class BreakersPage;
class ConnectionsPage;
class ConfigPage;
class DatabasePage;
class FleetPage;
class SourceView;
class EventJournalPage;
class IntegrationsPage;
class MemoryPage;
class StreamsPage;
class TimeChart;
class ConsoleStatusBar;
class EventLoopPage;
class OverviewPage;
class RequestsPage;
class SnapshotPage;
class StalenessWatch;
class SystemPage;

/**
 * The console's window. It only assembles: a page list on the left, the current source's
 * pages (a SourceView per source: the local engine and every connected agent), the Fleet page
 * over all sources, menus, a toolbar with the source selector, and the status bar. Export
 * opens the ExportDialog (format, sections, progress, cancel); actions go to the current
 * source, or to every source when "Send actions to every source" is on.
 */
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    int refreshIntervalMs() const { return m_refreshMs; }
    Theme theme() const { return m_theme; }
    QAction *settingsAction() const { return m_settingsAction; }
    enum Page {
        OverviewPageIndex,
        EventLoopPageIndex,
        SystemPageIndex,
        RequestsPageIndex,
        ConnectionsPageIndex,
        BreakersPageIndex,
        DatabasePageIndex,
        IntegrationsPageIndex,
        ConfigPageIndex,
        MemoryPageIndex,
        StreamsPageIndex,
        JournalPageIndex,
        FleetPageIndex,
        PageCount
    };

    /// Asks the operator to confirm; true to go ahead. Replaceable so tests need no modal dialog.
    using ConfirmFunction = std::function<bool(QWidget *parent, const QString &title, const QString &text)>;
    /// Asks for a file to save to; empty when cancelled.
    using SaveFileFunction =
        std::function<QString(QWidget *parent, const QString &title, const QString &suggestedPath)>;

    explicit MainWindow(SnapshotSource *engine, QWidget *parent = nullptr);
    ~MainWindow() override;

    int currentPage() const;
    // The pages of the local engine's view (the first source).
    OverviewPage *overviewPage() const;
    EventLoopPage *eventLoopPage() const;
    SystemPage *systemPage() const;
    RequestsPage *requestsPage() const;
    ConnectionsPage *connectionsPage() const;
    BreakersPage *breakersPage() const;
    DatabasePage *databasePage() const;
    IntegrationsPage *integrationsPage() const;
    ConfigPage *configPage() const;
    MemoryPage *memoryPage() const;
    StreamsPage *streamsPage() const;
    EventJournalPage *journalPage() const;
    FleetPage *fleetPage() const { return m_fleet; }

    // Sources: the local engine first, then the agents in the order they were added.
    QList<vega::SnapshotSource *> sources() const;
    vega::SnapshotSource *currentSource() const;
    int currentSourceIndex() const { return m_currentView; }
    void setCurrentSource(int index);
    void setCurrentSource(vega::SnapshotSource *source);
    SourceView *sourceView(int index) const;
    /// Adds a source (not owned) with its own view of every page, and a fleet tile.
    void addSource(vega::SnapshotSource *source);
    /// Connects to an agent: a RemoteAgent owned by the window, started at once.
    vega::RemoteAgent *connectAgent(const vega::RemoteAgentOptions &options);
    /// Removes a source added with addSource() or connectAgent() (an agent is stopped and
    /// deleted); the local engine stays.
    void removeSource(vega::SnapshotSource *source);
    /// Whether operator actions go to every source instead of the current one.
    bool actionsToAllSources() const;
    void setActionsToAllSources(bool all);
    /// The sources an action goes to now.
    QList<vega::SnapshotSource *> actionTargets() const;
    ConsoleStatusBar *consoleStatusBar() const { return m_statusBar; }
    bool isStale() const;
    /// Whether the "Demo workload" badge is shown (the engine runs its built-in demo).
    bool isDemoShown() const;

    QAction *exportReportAction() const { return m_exportAction; }
    QAction *resetStatsAction() const { return m_resetAction; }
    QAction *validateAction() const { return m_validateAction; }
    QAction *connectAgentAction() const { return m_connectAction; }
    QAction *disconnectAgentAction() const { return m_disconnectAction; }
    QAction *allSourcesAction() const { return m_allSourcesAction; }
    QAction *quitAction() const { return m_quitAction; }
    QAction *pageAction(int page) const;

    void setConfirmFunction(ConfirmFunction confirm);
    void setSaveFileFunction(SaveFileFunction chooser);

public Q_SLOTS:
    void setCurrentPage(int page);
    /// Asks for confirmation, then resets the engine's shown statistics.
    void resetStats();
    /// Opens the export dialog (JSON, HTML, PDF or a ZIP support bundle).
    void exportReport();
    void showAbout();
    /// Opens the Connect dialog (File > Connect to agent…).
    void openConnectDialog();
    /// Runs a validation on the action targets and shows the Config page.
    void runValidation();
    /// Opens the settings dialog (refresh interval, theme) and applies what is accepted.
    void openSettings();
    /// Redraw the pages at most once per `ms`; kept in QSettings.
    void setRefreshIntervalMs(int ms);
    void setTheme(vega::ui::Theme theme);

Q_SIGNALS:
    void currentPageChanged(int page);
    /// An export finished: the path written, or the error.
    void reportExported(bool ok, const QString &pathOrError);

protected:
    void closeEvent(QCloseEvent *event) override;

private:
    void createActions();
    void createMenus();
    void createToolBar();
    void addPage(const QString &title, const QString &toolTip);
    void onNavigationRowChanged(int row);
    void showCurrent();
    void updateDemoIndicator(const vega::SnapshotPtr &snapshot);
    void updateWindowTitle();
    void rebuildSourceSelector();
    /// Reports the outcome of an action in the status bar.
    vega::ActionCallback reportTo(const QString &what);
    void restoreSettings();
    void saveSettings() const;

    SnapshotSource *m_engine; // the local engine
    ConfirmFunction m_confirm;
    SaveFileFunction m_chooseSaveFile;

    QListWidget *m_navigation = nullptr;
    QStackedWidget *m_outer = nullptr; // every SourceView, then the Fleet page
    QList<SourceView *> m_views;
    int m_currentView = -1;
    int m_currentPage = 0;
    FleetPage *m_fleet = nullptr;
    QComboBox *m_sourceSelector = nullptr;
    QList<QMetaObject::Connection> m_currentConnections; // status bar <- current source
    QAction *m_settingsAction = nullptr;
    int m_refreshMs = 1000;
    Theme m_theme = Theme::System;
    QLabel *m_demoBadge = nullptr;
    ConsoleStatusBar *m_statusBar = nullptr;
    QAction *m_connectAction = nullptr;
    QAction *m_disconnectAction = nullptr;
    QAction *m_allSourcesAction = nullptr;

    QAction *m_exportAction = nullptr;
    QAction *m_quitAction = nullptr;
    QAction *m_resetAction = nullptr;
    QAction *m_validateAction = nullptr;
    QAction *m_aboutAction = nullptr;
    QActionGroup *m_pageActions = nullptr;
};

} // namespace vega::ui
