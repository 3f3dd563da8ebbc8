#include "fleetpage.h"

#include "fleetmodel.h"
#include "format.h"
#include "healthstyle.h"
#include "healthtile.h"
#include "keyedtablemodel.h"
#include "snapshotsource.h"
#include "stattile.h"

#include <QDateTime>
#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPushButton>
#include <QScrollArea>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace vega::ui {

namespace {
constexpr int kTileColumns = 3;

QString percentOrDash(double r)
{
    return std::isnan(r) ? missingValueText() : formatRatioPercent(r);
}
} // namespace

FleetPage::FleetPage(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("fleetPage"));
    m_model = new FleetModel(this);

    auto *title = new QLabel(tr("Fleet"), this);
    QFont font = title->font();
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.3);
    title->setFont(font);
    m_updated = new QLabel(this);
    m_updated->setObjectName(QStringLiteral("updatedLabel"));
    auto *connectButton = new QPushButton(tr("Connect to an agent…"), this);
    connectButton->setObjectName(QStringLiteral("connectAgentButton"));
    connectButton->setToolTip(tr("Watch another machine's engine: its agent's admin API address and key"));
    connect(connectButton, &QPushButton::clicked, this, &FleetPage::connectRequested);
    auto *header = new QHBoxLayout;
    header->addWidget(title);
    header->addStretch(1);
    header->addWidget(m_updated);
    header->addWidget(connectButton);

    auto *summaryRow = new QHBoxLayout;
    const struct {
        const char *id;
        QString title;
        QString tip;
    } summaries[] = {
        {"sources", tr("Sources"), tr("Sources with a live link, of all sources watched")},
        {"requests", tr("Requests"), tr("Requests per second summed over every live source (last 10 s)")},
        {"errors", tr("Errors"), tr("Failed requests of all finished ones, over every live source (last 10 s)")},
        {"cache", tr("Cache hits"), tr("Cache hits of all lookups, over every live source (last 10 s)")},
        {"coalesced", tr("Coalesced"), tr("Requests that joined an identical one in flight (last 10 s)")},
        {"reuse", tr("Connection reuse"), tr("Backend requests sent on a reused connection (last 10 s)")},
    };
    for (const auto &s : summaries) {
        auto *tile = new StatTile(QString::fromLatin1(s.id), s.title, s.tip, this);
        summaryRow->addWidget(tile);
        m_summary.insert(QString::fromLatin1(s.id), tile);
    }
    m_worst = new HealthTile(QStringLiteral("fleet"), tr("Worst health"), this);
    m_worst->setObjectName(QStringLiteral("fleetWorstHealth"));
    summaryRow->addWidget(m_worst);

    m_tileArea = new QWidget(this);
    m_tileGrid = new QGridLayout(m_tileArea);
    m_tileGrid->setContentsMargins(0, 0, 0, 0);
    auto *scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setWidget(m_tileArea);

    m_proxy = makeSortProxy(m_model, FleetModel::SortRole, this);
    m_view = makeTableView(m_proxy, QStringLiteral("fleetTable"), this);
    m_view->sortByColumn(FleetModel::NameColumn, Qt::AscendingOrder);
    connect(m_view, &QTreeView::activated, this, [this](const QModelIndex &index) {
        if (SnapshotSource *source = m_model->sourceAt(m_proxy->mapToSource(index).row()))
            Q_EMIT sourceActivated(source);
    });

    auto *split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("fleetSplitter"));
    split->addWidget(scroll);
    split->addWidget(m_view);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setSizes({600, 250}); // the tiles first: they are what the page is for
    split->setChildrenCollapsible(false);
    m_tileScroll = scroll;

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(header);
    layout->addLayout(summaryRow);
    layout->addWidget(split, 1);

    m_timer.setInterval(1000);
    connect(&m_timer, &QTimer::timeout, this, [this] {
        if (isVisible())
            refresh();
    });
    m_timer.start();
}

FleetPage::~FleetPage() = default;

void FleetPage::setRefreshIntervalMs(int ms)
{
    m_timer.setInterval(std::max(250, ms));
}

void FleetPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    refresh();
}

void FleetPage::addSource(SnapshotSource *source)
{
    if (!source || m_tiles.contains(source))
        return;
    m_model->addSource(source);
    auto *tile = new HealthTile(QStringLiteral("source"), source->sourceName(), m_tileArea);
    tile->setObjectName(QStringLiteral("fleetTile"));
    tile->setCursor(Qt::PointingHandCursor);
    tile->setToolTip(tr("Open this source's pages"));
    tile->installEventFilter(this);
    m_tiles.insert(source, tile);
    m_tileOrder.append(source);
    connect(source, &QObject::destroyed, this, [this, source] {
        if (HealthTile *t = m_tiles.take(source))
            t->deleteLater();
        m_tileOrder.removeAll(source);
        layoutTiles();
    });
    layoutTiles();
    refresh();
}

void FleetPage::removeSource(SnapshotSource *source)
{
    m_model->removeSource(source);
    if (HealthTile *tile = m_tiles.take(source))
        tile->deleteLater();
    m_tileOrder.removeAll(source);
    disconnect(source, nullptr, this, nullptr);
    layoutTiles();
    refresh();
}

HealthTile *FleetPage::tileFor(const SnapshotSource *source) const
{
    return m_tiles.value(source);
}

StatTile *FleetPage::summaryTile(const QString &id) const
{
    return m_summary.value(id);
}

void FleetPage::layoutTiles()
{
    while (m_tileGrid->count() > 0)
        m_tileGrid->takeAt(0); // the tiles stay, only their places go
    int i = 0;
    for (const SnapshotSource *source : std::as_const(m_tileOrder)) {
        if (HealthTile *tile = m_tiles.value(source))
            m_tileGrid->addWidget(tile, i / kTileColumns, i % kTileColumns);
        ++i;
    }
    m_tileGrid->setRowStretch(m_tileGrid->rowCount(), 1);
    // Never cut a tile in half: at least one whole row shows, two when there are.
    const HealthTile *any = m_tiles.isEmpty() ? nullptr : m_tiles.cbegin().value();
    const int rows = (int(m_tileOrder.size()) + kTileColumns - 1) / kTileColumns;
    if (any)
        m_tileScroll->setMinimumHeight(std::min(rows, 2) * (any->sizeHint().height() + m_tileGrid->spacing()) + 4);
}

bool FleetPage::eventFilter(QObject *watched, QEvent *event)
{
    if (event->type() == QEvent::MouseButtonRelease) {
        const auto *mouse = static_cast<QMouseEvent *>(event);
        if (mouse->button() == Qt::LeftButton) {
            for (auto it = m_tiles.cbegin(); it != m_tiles.cend(); ++it) {
                if (it.value() == watched) {
                    Q_EMIT sourceActivated(const_cast<SnapshotSource *>(it.key()));
                    return true;
                }
            }
        }
    }
    return QWidget::eventFilter(watched, event);
}

void FleetPage::refresh()
{
    m_model->refresh();
    resortUnlessHovered(m_view, m_proxy);
    const FleetTotals totals = m_model->totals();
    m_summary.value(QStringLiteral("sources"))
        ->setContent(tr("%1 / %2").arg(totals.connected).arg(totals.sources),
                     totals.lost > 0 ? tr("%n lost or stale", nullptr, totals.lost) : tr("every link live"));
    m_summary.value(QStringLiteral("requests"))->setContent(formatRate(totals.requestRate), tr("summed, last 10 s"));
    m_summary.value(QStringLiteral("errors"))->setContent(percentOrDash(totals.errorRatio), tr("of finished requests"));
    m_summary.value(QStringLiteral("cache"))->setContent(percentOrDash(totals.cacheHitRatio), tr("of lookups"));
    m_summary.value(QStringLiteral("coalesced"))->setContent(percentOrDash(totals.coalesceRatio), tr("of requests"));
    m_summary.value(QStringLiteral("reuse"))->setContent(percentOrDash(totals.reuseRatio), tr("of backend requests"));
    m_worst->setContent(totals.worstHealth, healthLabel(totals.worstHealth),
                        tr("worst over %n source(s)", nullptr, totals.sources),
                        tr("%n open breaker(s)", nullptr, totals.openBreakers),
                        totals.lost > 0 ? tr("%n source(s) not reporting", nullptr, totals.lost)
                                        : tr("every source reporting"));

    for (int row = 0; row < m_model->rowCount(); ++row) {
        SnapshotSource *source = m_model->sourceAt(row);
        HealthTile *tile = m_tiles.value(source);
        if (!tile)
            continue;
        const FleetRow &r = m_model->rowData(row);
        QString state;
        Health health = r.hasSnapshot ? r.health : Health::Unknown;
        switch (r.link) {
        case SnapshotSource::Link::Local:
            state = tr("local engine");
            break;
        case SnapshotSource::Link::Connecting:
            state = tr("connecting…");
            break;
        case SnapshotSource::Link::Connected:
            state = r.stale ? tr("stale: no snapshot for %1").arg(formatDurationMs(double(r.ageMs)))
                            : tr("connected");
            break;
        case SnapshotSource::Link::Lost:
            state = tr("lost: %1; reconnecting").arg(r.linkError.isEmpty() ? tr("no link") : r.linkError);
            break;
        }
        if (r.hasSnapshot && (r.stale || r.link == SnapshotSource::Link::Lost)) {
            state += QStringLiteral("\n") + tr("showing the snapshot of %1").arg(formatClockTime(r.snapshotWallMs));
            health = Health::Unknown;
        }
        const QString value = std::isnan(r.requestRate) ? missingValueText() : formatRate(r.requestRate);
        const QString caption = tr("errors %1 · cache %2 · coalesced %3")
                                    .arg(percentOrDash(r.errorRatio), percentOrDash(r.cacheHitRatio),
                                         percentOrDash(r.coalesceRatio));
        const QString detail =
            tr("reuse %1 · loop p99 %2 · breakers %3/%4 open")
                .arg(percentOrDash(r.reuseRatio),
                     std::isnan(r.lagP99Ms) ? missingValueText() : formatDurationMs(r.lagP99Ms))
                .arg(r.openBreakers)
                .arg(r.breakers);
        tile->setTitle(r.name);
        tile->setContent(health, value, caption, detail, state);
    }
    m_updated->setText(tr("Updated %1").arg(formatClockTime(QDateTime::currentMSecsSinceEpoch())));
}

} // namespace vega::ui
