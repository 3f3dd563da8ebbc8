#include "sourceview.h"

#include "breakerspage.h"
#include "chartgroup.h"
#include "configpage.h"
#include "connectionspage.h"
#include "databasepage.h"
#include "eventlooppage.h"
#include "integrationspage.h"
#include "journalpage.h"
#include "memorypage.h"
#include "overviewpage.h"
#include "requestspage.h"
#include "snapshotsource.h"
#include "stalenesswatch.h"
#include "streamspage.h"
#include "systempage.h"
#include "timechart.h"

#include <QStackedWidget>
#include <QVBoxLayout>

namespace vega::ui {

SourceView::SourceView(SnapshotSource *source, ConfirmFunction confirm, QWidget *parent)
    : QWidget(parent), m_source(source)
{
    Q_ASSERT(source);
    setObjectName(QStringLiteral("sourceView-") + source->sourceName());
    m_stack = new QStackedWidget(this);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_stack);

    m_overview = new OverviewPage(source, m_stack);
    m_eventLoop = new EventLoopPage(source, m_stack);
    m_system = new SystemPage(source, m_stack);
    m_requests = new RequestsPage(source, m_stack);
    m_connections = new ConnectionsPage(source, m_stack);
    m_breakers = new BreakersPage(source, m_stack);
    m_database = new DatabasePage(source, m_stack);
    m_integrations = new IntegrationsPage(source, m_stack);
    m_config = new ConfigPage(source, m_stack);
    m_memory = new MemoryPage(source, m_stack);
    m_streams = new StreamsPage(source, m_stack);
    m_journal = new EventJournalPage(source, m_stack);
    m_pages = {static_cast<SnapshotPage *>(m_overview),    static_cast<SnapshotPage *>(m_eventLoop),
               static_cast<SnapshotPage *>(m_system),      static_cast<SnapshotPage *>(m_requests),
               static_cast<SnapshotPage *>(m_connections), static_cast<SnapshotPage *>(m_breakers),
               static_cast<SnapshotPage *>(m_database),    static_cast<SnapshotPage *>(m_integrations),
               static_cast<SnapshotPage *>(m_config),      static_cast<SnapshotPage *>(m_memory),
               static_cast<SnapshotPage *>(m_streams),     static_cast<SnapshotPage *>(m_journal)};
    for (SnapshotPage *page : std::as_const(m_pages))
        m_stack->addWidget(page);

    // Charts fill what memory no longer (or not yet) holds from the history database.
    m_charts = m_stack->findChildren<TimeChart *>();
    for (TimeChart *chart : std::as_const(m_charts))
        chart->setHistoryStore(source->history());
    // The charts of a page share their time axis: crosshair, window, zoom, live.
    for (QWidget *page : {static_cast<QWidget *>(m_eventLoop), static_cast<QWidget *>(m_system),
                          static_cast<QWidget *>(m_requests), static_cast<QWidget *>(m_connections),
                          static_cast<QWidget *>(m_database), static_cast<QWidget *>(m_integrations),
                          static_cast<QWidget *>(m_memory), static_cast<QWidget *>(m_streams)})
        ChartGroup::linkAll(page);
    // The page asks through the window's confirmation, so one replacement covers every action.
    m_breakers->setConfirmFunction(std::move(confirm));

    m_staleness = new StalenessWatch(source->config().metrics.snapshotIntervalMs, 3, this);
    for (SnapshotPage *page : std::as_const(m_pages))
        connect(source, &SnapshotSource::snapshotAvailable, page, &SnapshotPage::setSnapshot);
    connect(source, &SnapshotSource::snapshotAvailable, this, &SourceView::updateAnnotations);
    connect(source, &SnapshotSource::snapshotAvailable, m_staleness, &StalenessWatch::snapshotArrived);
    connect(m_staleness, &StalenessWatch::staleChanged, m_overview, &OverviewPage::setStale);

    connect(m_breakers, &BreakersPage::breakerCommanded, this,
            [this](const QString &description) { Q_EMIT statusMessage(description, 5000); });
    connect(m_breakers, &BreakersPage::breakerCommandFailed, this,
            [this](const QString &error) { Q_EMIT statusMessage(error, 8000); });
    connect(m_integrations, &IntegrationsPage::checkRequested, this,
            [this](const QString &description) { Q_EMIT statusMessage(description, 5000); });
    connect(m_config, &ConfigPage::validationStarted, this,
            [this] { Q_EMIT statusMessage(tr("Validating the configuration…"), 5000); });

    updateAnnotations(source->latest());
}

SourceView::~SourceView() = default;

int SourceView::pageCount() const
{
    return m_stack->count();
}

int SourceView::currentPage() const
{
    return m_stack->currentIndex();
}

void SourceView::setCurrentPage(int page)
{
    if (page >= 0 && page < m_stack->count())
        m_stack->setCurrentIndex(page);
}

SnapshotPage *SourceView::page(int index) const
{
    return index >= 0 && index < m_pages.size() ? m_pages.at(index) : nullptr;
}

bool SourceView::isStale() const
{
    return m_staleness->isStale();
}

void SourceView::setRefreshIntervalMs(int ms)
{
    for (SnapshotPage *page : std::as_const(m_pages))
        page->setRefreshIntervalMs(ms);
    for (TimeChart *chart : std::as_const(m_charts))
        chart->setMinimumUpdateIntervalMs(std::max(250, ms / 2));
}

void SourceView::setBreakerTargets(std::function<QList<SnapshotSource *>()> targets)
{
    m_breakers->setCommandTargets(std::move(targets));
}

void SourceView::updateAnnotations(const SnapshotPtr &snapshot)
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
