#pragma once

#include "snapshot.h"

#include <QWidget>

#include <functional>

QT_BEGIN_NAMESPACE
class QStackedWidget;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class BreakersPage;
class ConfigPage;
class ConnectionsPage;
class DatabasePage;
class EventJournalPage;
class EventLoopPage;
class IntegrationsPage;
class MemoryPage;
class OverviewPage;
class RequestsPage;
class SnapshotPage;
class StalenessWatch;
class StreamsPage;
class SystemPage;
class TimeChart;

/**
 * Every page for one SnapshotSource (the local engine or a remote agent), in a stack: the
 * window shows the current source's view. The view wires the source's snapshots to its pages,
 * links the charts of each page, marks events on them, and watches for staleness; what the
 * operator should read in the status bar comes out as statusMessage().
 */
class SourceView : public QWidget {
    Q_OBJECT
public:
    using ConfirmFunction = std::function<bool(QWidget *parent, const QString &title, const QString &text)>;

    SourceView(SnapshotSource *source, ConfirmFunction confirm, QWidget *parent = nullptr);
    ~SourceView() override;

    SnapshotSource *source() const { return m_source; }
    int pageCount() const;
    int currentPage() const;
    void setCurrentPage(int page);
    SnapshotPage *page(int index) const;
    QList<TimeChart *> charts() const { return m_charts; }
    QList<SnapshotPage *> pages() const { return m_pages; }
    StalenessWatch *staleness() const { return m_staleness; }
    bool isStale() const;
    /// Redraw at most once per `ms`.
    void setRefreshIntervalMs(int ms);
    /// Where breaker commands of this view's Breakers page go (default: its own source).
    void setBreakerTargets(std::function<QList<vega::SnapshotSource *>()> targets);

    OverviewPage *overviewPage() const { return m_overview; }
    EventLoopPage *eventLoopPage() const { return m_eventLoop; }
    SystemPage *systemPage() const { return m_system; }
    RequestsPage *requestsPage() const { return m_requests; }
    ConnectionsPage *connectionsPage() const { return m_connections; }
    BreakersPage *breakersPage() const { return m_breakers; }
    DatabasePage *databasePage() const { return m_database; }
    IntegrationsPage *integrationsPage() const { return m_integrations; }
    ConfigPage *configPage() const { return m_config; }
    MemoryPage *memoryPage() const { return m_memory; }
    StreamsPage *streamsPage() const { return m_streams; }
    EventJournalPage *journalPage() const { return m_journal; }

Q_SIGNALS:
    void statusMessage(const QString &text, int timeoutMs);

private:
    /// Resets, stalls and breaker transitions of the snapshot's events, marked on every chart.
    void updateAnnotations(const vega::SnapshotPtr &snapshot);

    SnapshotSource *m_source;
    QStackedWidget *m_stack = nullptr;
    OverviewPage *m_overview = nullptr;
    EventLoopPage *m_eventLoop = nullptr;
    SystemPage *m_system = nullptr;
    RequestsPage *m_requests = nullptr;
    ConnectionsPage *m_connections = nullptr;
    BreakersPage *m_breakers = nullptr;
    DatabasePage *m_database = nullptr;
    IntegrationsPage *m_integrations = nullptr;
    ConfigPage *m_config = nullptr;
    MemoryPage *m_memory = nullptr;
    StreamsPage *m_streams = nullptr;
    EventJournalPage *m_journal = nullptr;
    QList<TimeChart *> m_charts;
    QList<SnapshotPage *> m_pages;
    StalenessWatch *m_staleness = nullptr;
    qint64 m_lastAnnotatedEventMs = -1;
    int m_lastAnnotatedEventCount = -1;
};

} // namespace vega::ui
