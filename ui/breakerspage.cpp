#include "breakerspage.h"

#include "breakertilegrid.h"
#include "breakertransitionmodel.h"
#include "snapshotsource.h"
#include "format.h"

#include <QAction>
#include <QComboBox>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPointer>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QToolButton>
#include <QTreeView>
#include <QVBoxLayout>

#include <map>

namespace vega::ui {

namespace {
constexpr qint64 kVolumeWindowMs = 10000;

bool askConfirmation(QWidget *parent, const QString &title, const QString &text)
{
    QMessageBox box(QMessageBox::Question, title, text, QMessageBox::Cancel, parent);
    QPushButton *confirm = box.addButton(title, QMessageBox::AcceptRole);
    box.setDefaultButton(QMessageBox::Cancel);
    box.exec();
    return box.clickedButton() == confirm;
}

QLabel *secondaryLabel(const QString &text, QWidget *parent)
{
    auto *label = new QLabel(text, parent);
    QPalette pal = label->palette();
    pal.setColor(QPalette::WindowText, pal.color(QPalette::Disabled, QPalette::WindowText).darker(130));
    label->setPalette(pal);
    return label;
}

QString swatch(const QColor &color)
{
    return QStringLiteral("<span style=\"color:%1; font-size:14pt;\">●</span>").arg(color.name());
}

/// The tiles' data: the client's breaker list joined with the registry's breaker and host
/// metrics of the same snapshot.
QList<BreakerTileData> tileData(const Snapshot &snapshot)
{
    const QString breakerLabel = QStringLiteral("breaker");
    // Volume: calls per second over the last 10 s. One interval is too short at fast refresh
    // rates (a single call in 200 ms reads as 5 calls/s, none as 0).
    QHash<QString, std::map<qint64, double>> callRates; // breaker -> capture instant -> calls/s
    QHash<QString, TimeSeries> history;
    QHash<QString, const MetricSnapshot *> latencyOfHost;
    if (const MetricsSnapshot *metrics = snapshot.metrics.get()) {
        for (const QString &name : {QStringLiteral("breaker_calls"), QStringLiteral("breaker_rejected")}) {
            const QList<const MetricSnapshot *> all = metrics->findAll(name);
            for (const MetricSnapshot *m : all) {
                std::map<qint64, double> &rates = callRates[m->label(breakerLabel)];
                const QVector<SeriesPoint> points =
                    m->seriesFor(SeriesField::Rate).pointsSince(metrics->wallMs - kVolumeWindowMs + 1);
                for (const SeriesPoint &p : points)
                    rates[p.tMs] += p.value;
            }
        }
        const QList<const MetricSnapshot *> rates = metrics->findAll(QStringLiteral("breaker_failure_rate"));
        for (const MetricSnapshot *m : rates)
            history.insert(m->label(breakerLabel), m->seriesFor(SeriesField::Value));
        const QList<const MetricSnapshot *> durations =
            metrics->findAll(QStringLiteral("http_request_duration"));
        for (const MetricSnapshot *m : durations)
            latencyOfHost.insert(m->label(QStringLiteral("host")), m);
    }

    QList<BreakerTileData> out;
    out.reserve(snapshot.http.breakers.size());
    for (const BreakerInfo &b : snapshot.http.breakers) {
        BreakerTileData d;
        d.name = b.name;
        const qsizetype space = b.name.indexOf(QLatin1Char(' '));
        d.host = space < 0 ? b.name : b.name.left(space);
        d.endpoint = space < 0 ? QString() : b.name.mid(space + 1);
        d.state = b.state;
        d.failureRate = b.failureRate;
        d.callsInWindow = b.callsInWindow;
        d.rejected = b.rejected;
        d.openRemainingMs = b.openRemainingMs;
        if (const auto rates = callRates.constFind(b.name); rates != callRates.constEnd()) {
            double sum = 0;
            for (const auto &point : *rates)
                sum += point.second;
            d.volume = rates->empty() ? 0.0 : sum / double(rates->size());
        }
        if (const MetricSnapshot *latency = latencyOfHost.value(d.host);
            latency && latency->interval.count > 0) {
            d.latencyP50Ns = latency->interval.p50;
            d.latencyP99Ns = latency->interval.p99;
        }
        d.failureRateHistory = history.value(b.name, TimeSeries(1));
        d.endMs = snapshot.metrics ? snapshot.metrics->wallMs : 0;
        out.append(d);
    }
    return out;
}
} // namespace

BreakersPage::BreakersPage(SnapshotSource *engine, QWidget *parent)
    : SnapshotPage(parent), m_engine(engine), m_confirm(askConfirmation)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Circuit breakers"), m_updated);

    // Sorting, filtering and the operator actions.
    m_sortCombo = new QComboBox(this);
    m_sortCombo->setObjectName(QStringLiteral("breakerSort"));
    m_sortCombo->addItem(tr("Error rate"), int(BreakerTileGrid::SortKey::ErrorRate));
    m_sortCombo->addItem(tr("Volume"), int(BreakerTileGrid::SortKey::Volume));
    m_sortCombo->addItem(tr("Name"), int(BreakerTileGrid::SortKey::Name));
    m_sortCombo->setToolTip(tr("Highest first. A tile only passes another when clearly ahead, and the "
                               "order holds while the pointer is over the tiles."));
    m_filterEdit = new QLineEdit(this);
    m_filterEdit->setObjectName(QStringLiteral("breakerFilter"));
    m_filterEdit->setPlaceholderText(tr("Filter by name, e.g. external"));
    m_filterEdit->setClearButtonEnabled(true);
    m_filterEdit->setMinimumWidth(200);
    m_frozenHint = secondaryLabel(QString(), this);
    m_frozenHint->setObjectName(QStringLiteral("orderHint"));

    m_forceOpen = new QAction(tr("Force open…"), this);
    m_forceOpen->setObjectName(QStringLiteral("forceOpenAction"));
    m_forceOpen->setShortcut(forceOpenShortcut());
    m_forceOpen->setToolTip(tr("Reject every call through the selected breaker until it is reset (%1)")
                                .arg(forceOpenShortcut().toString(QKeySequence::NativeText)));
    m_forceClosed = new QAction(tr("Force closed…"), this);
    m_forceClosed->setObjectName(QStringLiteral("forceClosedAction"));
    m_forceClosed->setShortcut(forceClosedShortcut());
    m_forceClosed->setToolTip(tr("Let every call through the selected breaker; it never trips until reset (%1)")
                                  .arg(forceClosedShortcut().toString(QKeySequence::NativeText)));
    m_reset = new QAction(tr("Reset…"), this);
    m_reset->setObjectName(QStringLiteral("resetBreakerAction"));
    m_reset->setShortcut(resetShortcut());
    m_reset->setToolTip(tr("Close the selected breaker with an empty window; ends a forced state (%1)")
                            .arg(resetShortcut().toString(QKeySequence::NativeText)));
    // The keys act while the focus is on this page (a tile, the filter, the transitions), so
    // they cannot clash with another page's; the tiles' context menu shows them.
    for (QAction *action : {m_forceOpen, m_forceClosed, m_reset}) {
        action->setShortcutContext(Qt::WidgetWithChildrenShortcut);
        action->setShortcutVisibleInContextMenu(true);
        addAction(action);
    }
    connect(m_forceOpen, &QAction::triggered, this, [this] { commandSelected(BreakerCommand::ForceOpen); });
    connect(m_forceClosed, &QAction::triggered, this,
            [this] { commandSelected(BreakerCommand::ForceClosed); });
    connect(m_reset, &QAction::triggered, this, [this] { commandSelected(BreakerCommand::Reset); });
    m_selectedLabel = secondaryLabel(tr("Select a tile for the actions"), this);
    m_selectedLabel->setObjectName(QStringLiteral("selectedBreaker"));

    auto *controls = new QWidget(this);
    auto *controlLayout = new QHBoxLayout(controls);
    controlLayout->setContentsMargins(0, 0, 0, 0);
    controlLayout->addWidget(new QLabel(tr("Sort by"), this));
    controlLayout->addWidget(m_sortCombo);
    controlLayout->addSpacing(8);
    controlLayout->addWidget(m_filterEdit);
    controlLayout->addStretch(1);
    controlLayout->addWidget(m_selectedLabel);
    for (QAction *action : {m_forceOpen, m_forceClosed, m_reset}) {
        auto *button = new QToolButton(this);
        button->setDefaultAction(action);
        button->setToolButtonStyle(Qt::ToolButtonTextOnly);
        controlLayout->addWidget(button);
    }

    // What the colours and shapes mean.
    auto *legend = secondaryLabel(
        tr("Colour = error rate: %1 0 %  %2 25 %  %3 ≥ 50 %  %4 no calls in the window  ·  circle area = "
           "calls per second  ·  line = failure rate, last 2 minutes (0–100 %)")
            .arg(swatch(breakerErrorColor(0, true)), swatch(breakerErrorColor(0.25, true)),
                 swatch(breakerErrorColor(0.5, true)), swatch(breakerErrorColor(0, false))),
        this);
    legend->setTextFormat(Qt::RichText);
    legend->setWordWrap(true);
    auto *legendRow = new QWidget(this);
    auto *legendLayout = new QHBoxLayout(legendRow);
    legendLayout->setContentsMargins(0, 0, 0, 0);
    legendLayout->addWidget(legend, 1);
    legendLayout->addSpacing(12);
    legendLayout->addWidget(m_frozenHint);

    // Tiles.
    m_grid = new BreakerTileGrid(this);
    m_grid->setTileActions({m_forceOpen, m_forceClosed, m_reset});
    auto *scroll = new QScrollArea(this);
    scroll->setObjectName(QStringLiteral("breakerScroll"));
    scroll->setWidget(m_grid);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumHeight(BreakerTile::kHeight + 4);
    m_empty =
        secondaryLabel(tr("No circuit breakers yet: each host and endpoint gets one with its first HTTP "
                          "request through the engine."),
                       this);
    m_empty->setAlignment(Qt::AlignCenter);
    auto *tilesArea = new QWidget(this);
    auto *tilesLayout = new QVBoxLayout(tilesArea);
    tilesLayout->setContentsMargins(0, 0, 0, 0);
    tilesLayout->addWidget(m_empty);
    tilesLayout->addWidget(scroll, 1);

    // Transitions.
    m_transitions = new BreakerTransitionModel(this);
    m_transitionView = new QTreeView(this);
    m_transitionView->setObjectName(QStringLiteral("transitionView"));
    m_transitionView->setModel(m_transitions);
    m_transitionView->setRootIsDecorated(false);
    m_transitionView->setUniformRowHeights(true);
    m_transitionView->setAlternatingRowColors(true);
    m_transitionView->header()->setStretchLastSection(true);
    m_transitionView->setColumnWidth(BreakerTransitionModel::TimeColumn, 80);
    m_transitionView->setColumnWidth(BreakerTransitionModel::BreakerColumn, 300);
    m_transitionView->setColumnWidth(BreakerTransitionModel::FromColumn, 100);
    m_transitionView->setColumnWidth(BreakerTransitionModel::ToColumn, 100);
    auto *transitionBox = new QGroupBox(tr("Recent transitions"), this);
    auto *transitionLayout = new QVBoxLayout(transitionBox);
    transitionLayout->setContentsMargins(4, 4, 4, 4);
    transitionLayout->addWidget(m_transitionView);

    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(tilesArea);
    split->addWidget(transitionBox);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);

    // The pane sizes the operator chose are kept across runs.
    split->setObjectName(QStringLiteral("splitSplitter"));
    keepSplitterSizes(QStringLiteral("breakers"), {split});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(controls);
    layout->addWidget(legendRow);
    layout->addWidget(split, 1);

    connect(m_sortCombo, &QComboBox::currentIndexChanged, this, &BreakersPage::onSortChosen);
    connect(m_filterEdit, &QLineEdit::textChanged, m_grid, &BreakerTileGrid::setFilterText);
    connect(m_grid, &BreakerTileGrid::selectedBreakerChanged, this, &BreakersPage::onSelectionChanged);
    connect(m_grid, &BreakerTileGrid::orderFrozenChanged, this, &BreakersPage::updateFrozenHint);
    onSelectionChanged(QString());
    updateFrozenHint(false);

    if (engine)
        setSnapshot(engine->latest());
}

BreakersPage::~BreakersPage() = default;

QKeySequence BreakersPage::forceOpenShortcut()
{
    return QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O);
}

QKeySequence BreakersPage::forceClosedShortcut()
{
    return QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L);
}

QKeySequence BreakersPage::resetShortcut()
{
    return QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_B);
}

void BreakersPage::setConfirmFunction(ConfirmFunction confirm)
{
    m_confirm = confirm ? std::move(confirm) : ConfirmFunction(askConfirmation);
}

void BreakersPage::setCommandTargets(std::function<QList<SnapshotSource *>()> targets)
{
    m_targets = std::move(targets);
}

void BreakersPage::commandSelected(BreakerCommand command)
{
    const QString name = m_grid->selectedBreaker();
    if (name.isEmpty() || !m_engine)
        return;
    QString title;
    QString text;
    QString done;
    switch (command) {
    case BreakerCommand::ForceOpen:
        title = tr("Force open");
        text = tr("Force the circuit breaker “%1” open?\n\nEvery call through it is rejected at once, "
                  "without touching the network, until an operator resets it.")
                   .arg(name);
        done = tr("Circuit breaker “%1” forced open").arg(name);
        break;
    case BreakerCommand::ForceClosed:
        title = tr("Force closed");
        text = tr("Force the circuit breaker “%1” closed?\n\nEvery call is let through even while the "
                  "upstream fails; failures are still counted but never trip it until an operator resets it.")
                   .arg(name);
        done = tr("Circuit breaker “%1” forced closed").arg(name);
        break;
    case BreakerCommand::Reset:
        title = tr("Reset breaker");
        text = tr("Reset the circuit breaker “%1”?\n\nIt closes with an empty window and no trip history; "
                  "a forced state ends.")
                   .arg(name);
        done = tr("Circuit breaker “%1” reset").arg(name);
        break;
    }
    if (!m_confirm(this, title, text))
        return;
    QList<SnapshotSource *> targets = m_targets ? m_targets() : QList<SnapshotSource *>{m_engine};
    if (targets.isEmpty())
        targets = {m_engine};
    for (SnapshotSource *target : std::as_const(targets)) {
        const QString prefix = targets.size() > 1 ? target->sourceName() + QStringLiteral(": ") : QString();
        target->commandBreaker(name, command,
                               [page = QPointer<BreakersPage>(this), done, prefix](const ActionResult &result) {
                                   if (!page)
                                       return;
                                   if (result.ok)
                                       Q_EMIT page->breakerCommanded(prefix + done);
                                   else
                                       Q_EMIT page->breakerCommandFailed(result.message);
                               });
    }
}

void BreakersPage::applySnapshot(const Snapshot &snapshot)
{
    const qint64 wallMs = snapshot.metrics ? snapshot.metrics->wallMs : 0;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(wallMs)));
    m_grid->setBreakers(tileData(snapshot));
    m_empty->setVisible(m_grid->tileCount() == 0);
    if (snapshot.metrics)
        m_transitions->setEvents(snapshot.metrics->events);
}

void BreakersPage::onSelectionChanged(const QString &name)
{
    const bool enabled = !name.isEmpty() && m_engine;
    for (QAction *action : {m_forceOpen, m_forceClosed, m_reset})
        action->setEnabled(enabled);
    const QString text = name.isEmpty() ? tr("Select a tile for the actions") : name;
    m_selectedLabel->setText(m_selectedLabel->fontMetrics().elidedText(text, Qt::ElideMiddle, 260));
    m_selectedLabel->setToolTip(name);
}

void BreakersPage::onSortChosen(int index)
{
    m_grid->setSortKey(BreakerTileGrid::SortKey(m_sortCombo->itemData(index).toInt()));
}

void BreakersPage::updateFrozenHint(bool frozen)
{
    if (frozen) {
        m_frozenHint->setText(tr("❚❚ Order held while the pointer is over the tiles"));
        m_frozenHint->setStyleSheet(QStringLiteral("color: #8a5a00; font-weight: 600;"));
    } else {
        m_frozenHint->setText(tr("Live order: it holds while the pointer is over the tiles"));
        m_frozenHint->setStyleSheet(QString());
    }
}

} // namespace vega::ui
