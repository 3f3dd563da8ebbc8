#include "eventlooppage.h"

#include "snapshotsource.h"
#include "format.h"
#include "healthstyle.h"
#include "niceaxis.h"
#include "stallmodel.h"
#include "timechart.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHorizontalBarSeries>
#include <QLabel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

namespace vega::ui {

namespace {
constexpr double kNsPerMs = 1e6;

QLabel *valueLabel(QWidget *parent, const QString &objectName)
{
    auto *label = new QLabel(missingValueText(), parent);
    label->setObjectName(objectName);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont f = label->font();
    f.setBold(true);
    label->setFont(f);
    return label;
}

constexpr int kDistributionBars = 5;

/// Bar labels, bottom bar first (a horizontal bar chart starts at the bottom): max ... p50,
/// each with its value.
QStringList distributionCategories(const QList<qreal> &valuesMs)
{
    const QStringList names{EventLoopPage::tr("p50"), EventLoopPage::tr("p90"), EventLoopPage::tr("p99"),
                            EventLoopPage::tr("p99.9"), EventLoopPage::tr("max")};
    QStringList out;
    for (int i = names.size() - 1; i >= 0; --i)
        out.append(names.at(i) + QStringLiteral("  ") +
                   (i < valuesMs.size() ? formatDurationMs(valuesMs.at(i)) : missingValueText()));
    return out;
}

/// "3 since reset · 5 total" from the counter; the summary's cumulative count when the
/// counter is missing.
QString stallCount(const MetricsSnapshot *metrics, const QString &thread, const QString &threshold,
                   quint64 cumulative)
{
    const MetricSnapshot *m =
        metrics
            ? metrics->find(QStringLiteral("event_loop_stalls"),
                            {{QStringLiteral("thread"), thread}, {QStringLiteral("threshold"), threshold}})
            : nullptr;
    if (!m)
        return EventLoopPage::tr("%1 total").arg(cumulative);
    return EventLoopPage::tr("%1 since reset · %2 total").arg(m->sinceReset).arg(m->total);
}
} // namespace

EventLoopPage::EventLoopPage(SnapshotSource *engine, QWidget *parent)
    : SnapshotPage(parent), m_thread(QStringLiteral("gui"))
{
    // Statistics.
    auto *stats = new QGroupBox(tr("Event loop of the GUI thread"), this);
    m_lagSummary = valueLabel(stats, QStringLiteral("lagSummary"));
    m_samples = valueLabel(stats, QStringLiteral("lagSamples"));
    m_stalls100 = valueLabel(stats, QStringLiteral("stalls100ms"));
    m_stalls1s = valueLabel(stats, QStringLiteral("stalls1s"));
    m_state = valueLabel(stats, QStringLiteral("loopState"));
    auto *grid = new QGridLayout(stats);
    grid->setHorizontalSpacing(12);
    grid->addWidget(new QLabel(tr("Lag p50 / p99 / max (since reset):"), stats), 0, 0);
    grid->addWidget(m_lagSummary, 0, 1);
    grid->addWidget(new QLabel(tr("Samples:"), stats), 1, 0);
    grid->addWidget(m_samples, 1, 1);
    grid->addWidget(new QLabel(tr("Stalls ≥ 100 ms:"), stats), 0, 2);
    grid->addWidget(m_stalls100, 0, 3);
    grid->addWidget(new QLabel(tr("Stalls ≥ 1 s:"), stats), 1, 2);
    grid->addWidget(m_stalls1s, 1, 3);
    grid->addWidget(new QLabel(tr("Now:"), stats), 0, 4);
    grid->addWidget(m_state, 0, 5);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(3, 1);
    grid->setColumnStretch(5, 1);

    // Live lag chart.
    m_lagChart = new TimeChart(tr("Lag per interval (ms)"), this);
    m_lagChart->setObjectName(QStringLiteral("lagChart"));
    m_lagChart->addSeries(tr("p50"), QColor(0x3b, 0x82, 0xf6));
    m_lagChart->addSeries(tr("p99"), QColor(0xf5, 0x9e, 0x0b));
    m_lagChart->addSeries(tr("max"), QColor(0xd6, 0x3c, 0x3c));
    m_lagChart->addSeries(tr("stall"), QColor(0x6d, 0x28, 0xd9), TimeChart::SeriesKind::Markers);
    m_lagChart->setValueAxisTitle(tr("ms"));
    m_lagChart->setValueSuffix(QStringLiteral(" ms"));
    m_lagChart->setMinimumValueSpan(1.0);
    if (engine) {
        const Threshold &limits = engine->config().diagnostics.eventLoopP99Ms;
        m_lagChart->addThreshold(limits.warning, QColor(0xe0, 0xa1, 0x1b), tr("p99 warning"));
        m_lagChart->addThreshold(limits.critical, QColor(0xd6, 0x3c, 0x3c), tr("p99 critical"));
    }

    // Distribution since reset.
    m_distribution = new QBarSet(tr("Lag since reset (ms)"), this);
    m_distribution->setColor(QColor(0x3b, 0x82, 0xf6));
    m_distribution->append(QList<qreal>(kDistributionBars, 0.0));
    m_distributionView = new QChartView(this);
    QChart *chart = m_distributionView->chart();
    auto *bars = new QHorizontalBarSeries(chart);
    bars->append(m_distribution);
    bars->setBarWidth(0.6);
    chart->addSeries(bars);
    // The values are written under the bars: next to a stall the small percentiles have no
    // visible height.
    m_distributionCategories = new QBarCategoryAxis(chart);
    m_distributionCategories->append(distributionCategories({}));
    chart->addAxis(m_distributionCategories, Qt::AlignLeft);
    bars->attachAxis(m_distributionCategories);
    m_distributionAxis = new QValueAxis(chart);
    m_distributionAxis->setLabelFormat(QStringLiteral("%.4g"));
    m_distributionAxis->setTitleText(tr("ms"));
    chart->addAxis(m_distributionAxis, Qt::AlignBottom);
    bars->attachAxis(m_distributionAxis);
    chart->setTitle(tr("Lag distribution since reset"));
    chart->legend()->hide();
    chart->setAnimationOptions(QChart::NoAnimation);
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_distributionView->setRenderHint(QPainter::Antialiasing);
    m_distributionView->setMinimumHeight(200);

    // Recent stalls.
    m_stallModel = new StallModel(this);
    m_stallView = new QTreeView(this);
    m_stallView->setModel(m_stallModel);
    m_stallView->setRootIsDecorated(false);
    m_stallView->setUniformRowHeights(true);
    m_stallView->setAlternatingRowColors(true);
    m_stallView->header()->setStretchLastSection(true);
    auto *stallBox = new QGroupBox(tr("Recent stalls"), this);
    auto *stallLayout = new QVBoxLayout(stallBox);
    stallLayout->setContentsMargins(4, 4, 4, 4);
    stallLayout->addWidget(m_stallView);

    auto *bottom = new QWidget(this);
    auto *bottomLayout = new QHBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addWidget(m_distributionView, 3);
    bottomLayout->addWidget(stallBox, 2);

    auto *vertical = new QSplitter(Qt::Vertical, this);
    vertical->addWidget(m_lagChart);
    vertical->addWidget(bottom);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    vertical->setChildrenCollapsible(false);

    // The pane sizes the operator chose are kept across runs.
    vertical->setObjectName(QStringLiteral("verticalSplitter"));
    keepSplitterSizes(QStringLiteral("eventLoop"), {vertical});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(stats);
    layout->addWidget(vertical, 1);

    if (engine) {
        m_lagChart->setWindowSeconds(engine->config().ui.defaultWindowSeconds);
        m_lagChart->setMinimumUpdateIntervalMs(std::max(500, engine->config().ui.refreshIntervalMs / 2));
        setSnapshot(engine->latest());
    }
}

EventLoopPage::~EventLoopPage() = default;

QList<qreal> EventLoopPage::distributionValues() const
{
    QList<qreal> values;
    for (int i = m_distribution->count() - 1; i >= 0; --i)
        values.append(m_distribution->at(i));
    return values;
}

QString EventLoopPage::stallCountText() const
{
    return m_stalls100->text();
}

void EventLoopPage::applySnapshot(const Snapshot &snapshot)
{
    if (!snapshot.eventLoop.thread.isEmpty())
        m_thread = snapshot.eventLoop.thread;
    if (snapshot.metrics) {
        if (const MetricSnapshot *lag = snapshot.metrics->find(QStringLiteral("event_loop_lag"),
                                                               {{QStringLiteral("thread"), m_thread}})) {
            const double scale = 1.0 / kNsPerMs;
            m_lagChart->setSeriesData(P50Series, *lag, SeriesField::P50, scale);
            m_lagChart->setSeriesData(P99Series, *lag, SeriesField::P99, scale);
            m_lagChart->setSeriesData(MaxSeries, *lag, SeriesField::Max, scale);
        }
        m_lagChart->setEndTime(snapshot.metrics->wallMs);
    }
    TimeSeries stalls(std::max(1, int(snapshot.eventLoop.recentStalls.size())));
    for (const StallRecord &stall : snapshot.eventLoop.recentStalls)
        stalls.append(stall.startWallMs, stall.durationMs);
    m_lagChart->setSeriesData(StallSeries, stalls);

    m_stallModel->setStalls(snapshot.eventLoop.recentStalls);
    updateStatistics(snapshot);
    updateDistribution(snapshot.eventLoop);
}

void EventLoopPage::updateStatistics(const Snapshot &snapshot)
{
    const EventLoopSummary &loop = snapshot.eventLoop;
    if (loop.lagNs.count > 0) {
        m_lagSummary->setText(QStringLiteral("%1 / %2 / %3")
                                  .arg(formatValue(loop.lagNs.p50, Unit::Nanoseconds),
                                       formatValue(loop.lagNs.p99, Unit::Nanoseconds),
                                       formatValue(double(loop.lagNs.max), Unit::Nanoseconds)));
        m_samples->setText(QString::number(loop.lagNs.count));
    } else {
        m_lagSummary->setText(missingValueText());
        m_samples->setText(QStringLiteral("0"));
    }
    m_stalls100->setText(
        stallCount(snapshot.metrics.get(), m_thread, QStringLiteral("100ms"), loop.stallsOver100ms));
    m_stalls1s->setText(
        stallCount(snapshot.metrics.get(), m_thread, QStringLiteral("1s"), loop.stallsOver1s));

    if (loop.intervalMs <= 0) {
        m_state->setText(tr("not monitored"));
        m_state->setStyleSheet(healthBadgeStyleSheet(Health::Unknown));
    } else if (loop.stalledNow) {
        m_state->setText(tr("stalled for %1").arg(formatDurationMs(loop.currentStallMs)));
        m_state->setStyleSheet(healthBadgeStyleSheet(Health::Critical));
    } else {
        m_state->setText(tr("responsive"));
        m_state->setStyleSheet(healthBadgeStyleSheet(Health::Ok));
    }
}

void EventLoopPage::updateDistribution(const EventLoopSummary &summary)
{
    const HistogramSummary &lag = summary.lagNs;
    const QList<qreal> values = lag.count > 0
                                    ? QList<qreal>{lag.p50 / kNsPerMs, lag.p90 / kNsPerMs, lag.p99 / kNsPerMs,
                                                   lag.p999 / kNsPerMs, double(lag.max) / kNsPerMs}
                                    : QList<qreal>(kDistributionBars, 0.0);
    for (int i = 0; i < values.size(); ++i)
        m_distribution->replace(kDistributionBars - 1 - i, values.at(i));
    const QStringList categories = distributionCategories(lag.count > 0 ? values : QList<qreal>{});
    if (categories != m_distributionCategories->categories())
        m_distributionCategories->setCategories(categories);
    const double top = *std::max_element(values.cbegin(), values.cend());
    const NiceRange range = niceRange(0, top > 0 ? top * 1.05 : 1.0);
    m_distributionAxis->setRange(range.min, range.max);
    m_distributionAxis->setTickCount(range.tickCount);
    m_distributionView->chart()->setTitle(lag.count > 0
                                              ? tr("Lag distribution since reset (%1 samples)").arg(lag.count)
                                              : tr("Lag distribution since reset: no samples yet"));
}

} // namespace vega::ui
