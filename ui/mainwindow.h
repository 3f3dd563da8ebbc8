#pragma once

#include "snapshot.h"
#include "theme.h"

#include <QMainWindow>

#include <functional>

QT_BEGIN_NAMESPACE
class QAction;
class QActionGroup;
class QLabel;
class QListWidget;
class QStackedWidget;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class BreakersPage;
class ConnectionsPage;
class ConfigPage;
class DatabasePage;
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
 * The console's window. It only assembles: a page list on the left, the pages in a stack,
 * menus, a toolbar and the status bar, and wires the engine's snapshots to them. Export opens
 * the ExportDialog (format, sections, progress, cancel); actions go to the engine.
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
    OverviewPage *overviewPage() const { return m_overview; }
    EventLoopPage *eventLoopPage() const { return m_eventLoop; }
    SystemPage *systemPage() const { return m_system; }
    RequestsPage *requestsPage() const { return m_requests; }
    ConnectionsPage *connectionsPage() const { return m_connections; }
    BreakersPage *breakersPage() const { return m_breakers; }
    DatabasePage *databasePage() const { return m_database; }
    IntegrationsPage *integrationsPage() const { return m_integrationsPage; }
    ConfigPage *configPage() const { return m_configPage; }
    MemoryPage *memoryPage() const { return m_memoryPage; }
    StreamsPage *streamsPage() const { return m_streamsPage; }
    EventJournalPage *journalPage() const { return m_journalPage; }
    ConsoleStatusBar *consoleStatusBar() const { return m_statusBar; }
    bool isStale() const;
    /// Whether the "Demo workload" badge is shown (the engine runs its built-in demo).
    bool isDemoShown() const;

    QAction *exportReportAction() const { return m_exportAction; }
    QAction *resetStatsAction() const { return m_resetAction; }
    QAction *validateAction() const { return m_validateAction; }
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
    void addPage(SnapshotPage *page, const QString &title, const QString &toolTip);
    void onNavigationRowChanged(int row);
    /// Resets, stalls and breaker transitions of the snapshot's events, marked on every chart.
    void updateAnnotations(const vega::SnapshotPtr &snapshot);
    void updateDemoIndicator(const vega::SnapshotPtr &snapshot);
    void restoreSettings();
    void saveSettings() const;

    SnapshotSource *m_engine;
    ConfirmFunction m_confirm;
    SaveFileFunction m_chooseSaveFile;

    QListWidget *m_navigation = nullptr;
    QStackedWidget *m_stack = nullptr;
    OverviewPage *m_overview = nullptr;
    EventLoopPage *m_eventLoop = nullptr;
    SystemPage *m_system = nullptr;
    RequestsPage *m_requests = nullptr;
    ConnectionsPage *m_connections = nullptr;
    BreakersPage *m_breakers = nullptr;
    DatabasePage *m_database = nullptr;
    IntegrationsPage *m_integrationsPage = nullptr;
    ConfigPage *m_configPage = nullptr;
    MemoryPage *m_memoryPage = nullptr;
    StreamsPage *m_streamsPage = nullptr;
    EventJournalPage *m_journalPage = nullptr;
    QList<TimeChart *> m_charts;
    QList<SnapshotPage *> m_pages;
    QAction *m_settingsAction = nullptr;
    int m_refreshMs = 1000;
    Theme m_theme = Theme::System;
    qint64 m_lastAnnotatedEventMs = -1;
    int m_lastAnnotatedEventCount = -1;
    QLabel *m_demoBadge = nullptr;
    ConsoleStatusBar *m_statusBar = nullptr;
    StalenessWatch *m_staleness = nullptr;

    QAction *m_exportAction = nullptr;
    QAction *m_quitAction = nullptr;
    QAction *m_resetAction = nullptr;
    QAction *m_validateAction = nullptr;
    QAction *m_aboutAction = nullptr;
    QActionGroup *m_pageActions = nullptr;
};

} // namespace vega::ui
