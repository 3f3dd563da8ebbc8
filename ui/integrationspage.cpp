#include "integrationspage.h"

#include "snapshotsource.h"
#include "format.h"
#include "healthstyle.h"
#include "integrationmodel.h"
#include "integrations.h"
#include "stattile.h"
#include "timechart.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace vega::ui {

namespace {
constexpr double kNsPerMs = 1e6;
const QColor kSlowestColor(0x3b, 0x82, 0xf6);

/// Series colours of the latency chart, in the order integrations first appear.
QColor seriesColor(int index)
{
    static const QList<QColor> palette = {
        QColor(0x3b, 0x82, 0xf6), QColor(0x0d, 0x94, 0x88), QColor(0xf5, 0x9e, 0x0b),
        QColor(0x8b, 0x5c, 0xf6), QColor(0xd6, 0x3c, 0x3c), QColor(0x06, 0xb6, 0xd4),
        QColor(0x65, 0xa3, 0x0d), QColor(0xdb, 0x27, 0x77), QColor(0x64, 0x74, 0x8b),
        QColor(0xea, 0x58, 0x0c),
    };
    return palette.at(index % palette.size());
}
} // namespace

IntegrationsPage::IntegrationsPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent), m_engine(engine)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Integrations"), m_updated);

    struct TileSpec {
        QString id;
        QString title;
        QString toolTip;
        QColor accent;
    };
    const QList<TileSpec> specs = {
        {QStringLiteral("healthy"), tr("Healthy"), tr("Integrations whose latest check passed in time"),
         healthColor(Health::Ok)},
        {QStringLiteral("degraded"), tr("Degraded"),
         tr("Integrations whose latest check passed but slower than their latency threshold"),
         healthColor(Health::Warning)},
        {QStringLiteral("unhealthy"), tr("Unhealthy"), tr("Integrations whose latest check failed"),
         healthColor(Health::Critical)},
        {QStringLiteral("unknown"), tr("Unknown"), tr("Integrations not checked yet"),
         healthColor(Health::Unknown)},
        {QStringLiteral("slowest"), tr("Slowest"), tr("The longest latest check among the integrations"),
         kSlowestColor},
    };
    auto *tileRow = new QWidget(this);
    auto *tileLayout = new QHBoxLayout(tileRow);
    tileLayout->setContentsMargins(0, 0, 0, 0);
    tileLayout->setSpacing(8);
    for (const TileSpec &spec : specs) {
        auto *tile = new StatTile(spec.id, spec.title, spec.toolTip, this);
        tile->setAccent(spec.accent);
        m_tiles.append(tile);
        tileLayout->addWidget(tile);
    }

    m_filter = new QLineEdit(this);
    m_filter->setObjectName(QStringLiteral("integrationFilter"));
    m_filter->setPlaceholderText(tr("Filter by name, kind or state"));
    m_filter->setClearButtonEnabled(true);
    m_checkNow = new QPushButton(tr("Check now"), this);
    m_checkNow->setObjectName(QStringLiteral("checkNowButton"));
    auto *actionRow = new QWidget(this);
    auto *actions = new QHBoxLayout(actionRow);
    actions->setContentsMargins(0, 0, 0, 0);
    actions->addWidget(m_filter, 1);
    actions->addWidget(m_checkNow);

    m_model = new IntegrationModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(IntegrationSortRole);
    m_proxy->setFilterRole(IntegrationFilterRole);
    m_proxy->setFilterKeyColumn(IntegrationModel::NameColumn);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    // Sorted again at each snapshot, but not while the pointer is over the rows.
    m_proxy->setDynamicSortFilter(false);

    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("integrationView"));
    m_view->setModel(m_proxy);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(IntegrationModel::NameColumn, Qt::AscendingOrder);
    m_view->setColumnWidth(IntegrationModel::NameColumn, 140);
    m_view->setColumnWidth(IntegrationModel::KindColumn, 110);
    m_view->setColumnWidth(IntegrationModel::StateColumn, 110);
    for (int c = IntegrationModel::LatencyColumn; c < IntegrationModel::ReasonColumn; ++c)
        m_view->setColumnWidth(c, 84);

    m_empty = new QLabel(
        tr("No integrations configured: add them under `integrations` in the config (docs/CONFIG.md)"), this);
    m_empty->setObjectName(QStringLiteral("integrationsEmptyState"));
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setWordWrap(true);
    m_empty->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_empty->hide();

    m_latencyChart = new TimeChart(tr("Health check latency p50 (ms)"), this);
    m_latencyChart->setObjectName(QStringLiteral("integrationLatencyChart"));
    m_latencyChart->setValueAxisTitle(tr("ms"));
    m_latencyChart->setValueSuffix(QStringLiteral(" ms"));
    m_latencyChart->setMinimumValueSpan(1);

    auto *table = new QWidget(this);
    auto *tableLayout = new QVBoxLayout(table);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->addWidget(actionRow);
    tableLayout->addWidget(m_view, 1);

    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(table);
    vertical->addWidget(m_latencyChart);
    vertical->setChildrenCollapsible(false);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    m_content = vertical;

    // The pane sizes the operator chose are kept across runs.
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("integrations"), {vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(tileRow);
    layout->addWidget(m_empty);
    layout->addWidget(m_content, 1);

    connect(m_checkNow, &QPushButton::clicked, this, &IntegrationsPage::checkNow);
    connect(m_filter, &QLineEdit::textChanged, this, &IntegrationsPage::setFilterText);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &IntegrationsPage::updateCheckButton);
    updateCheckButton();

    if (engine) {
        const UiConfig &ui = engine->config().ui;
        m_latencyChart->setWindowSeconds(ui.defaultWindowSeconds);
        m_latencyChart->setMinimumUpdateIntervalMs(std::max(500, ui.refreshIntervalMs / 2));
        setSnapshot(engine->latest());
    }
}

IntegrationsPage::~IntegrationsPage() = default;

QStringList IntegrationsPage::tileIds()
{
    return {QStringLiteral("healthy"), QStringLiteral("degraded"), QStringLiteral("unhealthy"),
            QStringLiteral("unknown"), QStringLiteral("slowest")};
}

StatTile *IntegrationsPage::tile(const QString &id) const
{
    for (StatTile *t : m_tiles)
        if (t->id() == id)
            return t;
    return nullptr;
}

QStringList IntegrationsPage::selectedIntegrations() const
{
    QStringList names;
    const QModelIndexList rows = m_view->selectionModel()->selectedRows(IntegrationModel::NameColumn);
    for (const QModelIndex &index : rows) {
        const QString name = m_model->keyAt(m_proxy->mapToSource(index).row());
        if (!name.isEmpty())
            names.append(name);
    }
    names.sort();
    return names;
}

void IntegrationsPage::checkNow()
{
    if (!m_engine || !m_engine->canCheckIntegrations())
        return;
    const QStringList names = selectedIntegrations();
    if (names.isEmpty()) {
        m_engine->checkIntegrations();
        Q_EMIT checkRequested(tr("Checking every integration now"));
        return;
    }
    for (const QString &name : names)
        m_engine->checkIntegrations(name);
    Q_EMIT checkRequested(tr("Checking %1 now").arg(names.join(QStringLiteral(", "))));
}

void IntegrationsPage::setFilterText(const QString &text)
{
    if (m_filter->text() != text)
        m_filter->setText(text); // comes back here through textChanged
    else
        m_proxy->setFilterFixedString(text.trimmed());
}

void IntegrationsPage::updateCheckButton()
{
    const bool any = m_model->rowCount() > 0;
    m_checkNow->setEnabled(any && m_engine && m_engine->canCheckIntegrations());
    m_checkNow->setToolTip(m_view->selectionModel()->hasSelection()
                               ? tr("Check the selected integrations now, outside their schedule")
                               : tr("Check every integration now, outside their schedule (select rows to "
                                    "check only those)"));
}

void IntegrationsPage::applySnapshot(const Snapshot &snapshot)
{
    const qint64 nowMs = snapshot.metrics ? snapshot.metrics->wallMs : snapshot.diagnostics.wallMs;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(nowMs)));
    m_model->setIntegrations(snapshot.integrations, nowMs);
    // The proxy is not dynamic: a row whose state changed is filtered again here, like the
    // sort, but not while the pointer is over the rows.
    if (!m_proxy->filterRegularExpression().pattern().isEmpty() && !m_view->viewport()->underMouse())
        m_proxy->invalidate();
    resortUnlessHovered(m_view, m_proxy);
    const bool empty = snapshot.integrations.isEmpty();
    m_empty->setVisible(empty);
    m_content->setVisible(!empty);
    updateCheckButton();
    updateTiles(snapshot);
    updateChart(snapshot);
}

void IntegrationsPage::updateTiles(const Snapshot &snapshot)
{
    int counts[4] = {0, 0, 0, 0}; // by Health
    QStringList names[4];
    const IntegrationStatus *slowest = nullptr;
    for (const IntegrationStatus &s : snapshot.integrations) {
        ++counts[int(s.state)];
        names[int(s.state)].append(s.name);
        if (s.latencyMs >= 0 && (!slowest || s.latencyMs > slowest->latencyMs))
            slowest = &s;
    }
    const QLocale locale;
    const int total = int(snapshot.integrations.size());
    auto show = [&](const char *id, Health health) {
        const QStringList &which = names[int(health)];
        QString caption =
            which.isEmpty() ? tr("of %1").arg(locale.toString(total)) : which.join(QStringLiteral(", "));
        if (caption.size() > 48)
            caption = caption.left(47) + QStringLiteral("…");
        StatTile *t = tile(QString::fromLatin1(id));
        t->setContent(locale.toString(counts[int(health)]), caption);
    };
    show("healthy", Health::Ok);
    show("degraded", Health::Warning);
    show("unhealthy", Health::Critical);
    show("unknown", Health::Unknown);
    StatTile *slow = tile(QStringLiteral("slowest"));
    if (slowest)
        slow->setContent(formatDurationMs(slowest->latencyMs), slowest->name);
    else
        slow->setContent(missingValueText(), total > 0 ? tr("not checked yet") : tr("no integrations"));
}

void IntegrationsPage::updateChart(const Snapshot &snapshot)
{
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    // The integrations are fixed for an engine's life: a series is added the first time one
    // is seen and kept.
    for (const IntegrationStatus &s : snapshot.integrations) {
        int series = m_seriesByName.value(s.name, -1);
        if (series < 0) {
            series = m_latencyChart->addSeries(s.name, seriesColor(int(m_seriesByName.size())));
            m_seriesByName.insert(s.name, series);
        }
        const MetricSnapshot *m = metrics.find(QStringLiteral("integration_check_duration"),
                                               {{QStringLiteral("integration"), s.name}});
        if (m)
            m_latencyChart->setSeriesData(series, *m, SeriesField::P50, 1.0 / kNsPerMs);
    }
    m_latencyChart->setEndTime(metrics.wallMs);
}

} // namespace vega::ui
