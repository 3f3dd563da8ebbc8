#include "timechart.h"

#include "downsample.h"
#include "format.h"
#include "historystore.h"
#include "niceaxis.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QCursor>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QScatterSeries>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vega::ui {

namespace {
QString windowLabel(int seconds)
{
    if (seconds % 3600 == 0)
        return TimeChart::tr("%1 h").arg(seconds / 3600);
    if (seconds % 60 == 0)
        return TimeChart::tr("%1 min").arg(seconds / 60);
    return TimeChart::tr("%1 s").arg(seconds);
}
} // namespace

TimeChart::TimeChart(const QString &title, QWidget *parent) : QWidget(parent)
{
    m_view = new QChartView(this); // owns its chart
    m_chart = m_view->chart();
    m_chart->setAnimationOptions(QChart::NoAnimation);
    m_chart->setMargins(QMargins(4, 4, 4, 4));
    m_chart->setBackgroundRoundness(0);
    m_chart->legend()->setAlignment(Qt::AlignTop);
    m_chart->legend()->setShowToolTips(true);

    m_axisX = new QDateTimeAxis(m_chart);
    m_axisX->setTickCount(6);
    m_axisX->setFormat(QStringLiteral("HH:mm:ss"));
    m_chart->addAxis(m_axisX, Qt::AlignBottom);
    m_axisY = new QValueAxis(m_chart);
    m_axisY->setLabelFormat(QStringLiteral("%.4g"));
    m_axisY->setRange(0, 1);
    m_chart->addAxis(m_axisY, Qt::AlignLeft);

    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setMinimumHeight(180);

    m_title = new QLabel(title, this);
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    m_title->setFont(titleFont);

    m_windowCombo = new QComboBox(this);
    m_windowCombo->setToolTip(tr("Time window shown"));
    const QList<int> presets = windowPresets();
    for (int seconds : presets)
        m_windowCombo->addItem(windowLabel(seconds), seconds);

    m_liveButton = new QToolButton(this);
    m_liveButton->setCheckable(true);
    m_liveButton->setChecked(true);
    m_liveButton->setAutoRaise(false);
    m_liveButton->setMinimumWidth(90);

    auto *headerRow = new QWidget(this);
    auto *header = new QHBoxLayout(headerRow);
    header->setContentsMargins(4, 0, 4, 0);
    header->addWidget(m_title);
    header->addStretch(1);
    header->addWidget(m_windowCombo);
    header->addWidget(m_liveButton);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(headerRow);
    layout->addWidget(m_view, 1);

    m_renderTimer.setSingleShot(true);
    connect(&m_renderTimer, &QTimer::timeout, this, &TimeChart::render);
    connect(m_liveButton, &QToolButton::toggled, this, &TimeChart::setLive);
    connect(m_windowCombo, &QComboBox::activated, this, &TimeChart::onWindowComboActivated);

    setWindowSeconds(300);
    updateLiveButton();
    m_needsRender = true; // the first show draws the axes even before any data
}

TimeChart::~TimeChart() = default;

QList<int> TimeChart::windowPresets()
{
    return {60, 300, 900, 3600, 86400};
}

int TimeChart::addSeries(const QString &name, const QColor &color, SeriesKind kind)
{
    QXYSeries *series = nullptr;
    if (kind == SeriesKind::Markers) {
        auto *scatter = new QScatterSeries(m_chart);
        scatter->setMarkerShape(QScatterSeries::MarkerShapeTriangle);
        scatter->setMarkerSize(11);
        scatter->setBorderColor(color.darker(140));
        scatter->setColor(color);
        series = scatter;
    } else {
        auto *line = new QLineSeries(m_chart);
        QPen pen(color);
        pen.setWidthF(1.6);
        line->setPen(pen);
        series = line;
    }
    series->setName(name);
    m_chart->addSeries(series);
    series->attachAxis(m_axisX);
    series->attachAxis(m_axisY);
    // QtCharts 6.4 drops the labels and grid of an axis when a series is added to a chart
    // already on screen; hiding and showing the axis lays it out again.
    if (isVisible()) {
        m_axisX->hide();
        m_axisX->show();
    }

    const int index = int(m_series.size());
    Series entry;
    entry.name = name;
    entry.kind = kind;
    entry.chartSeries = series;
    m_series.append(entry);
    m_latest.data.append(TimeSeries(1));
    m_latest.scale.append(1.0);
    m_shown.data.append(TimeSeries(1));
    m_shown.scale.append(1.0);
    connect(series, &QXYSeries::hovered, this,
            [this, index](const QPointF &point, bool state) { showPointToolTip(index, point, state); });
    return index;
}

void TimeChart::setSeriesData(int index, const TimeSeries &series, double scale)
{
    if (index < 0 || index >= m_series.size())
        return;
    m_latest.data[index] = series;
    m_latest.scale[index] = scale;
    if (m_live)
        requestRender();
}

void TimeChart::setSeriesData(int index, const MetricSnapshot &metric, SeriesField field, double scale)
{
    if (index < 0 || index >= m_series.size())
        return;
    HistorySource &source = m_series[index].source;
    if (source.metric != metric.name || source.labels != metric.labels || source.field != field) {
        source = HistorySource{metric.name, metric.labels, field};
        m_series[index].history = History{};
    }
    setSeriesData(index, metric.seriesFor(field), scale);
}

void TimeChart::setHistoryStore(HistoryStore *store)
{
    if (m_store == store)
        return;
    m_store = store;
    for (Series &s : m_series)
        s.history = History{};
    requestRender();
}

int TimeChart::historyPointCount(int seriesIndex) const
{
    if (seriesIndex < 0 || seriesIndex >= m_series.size())
        return 0;
    return int(m_series.at(seriesIndex).history.points.size());
}

QVector<SeriesPoint> TimeChart::pointsForWindow(int index, const TimeSeries &live, qint64 fromMs)
{
    QVector<SeriesPoint> pts = live.pointsSince(fromMs);
    Series &series = m_series[index];
    if (!m_store || series.source.metric.isEmpty())
        return pts;
    const qint64 firstLive = live.isEmpty() ? std::numeric_limits<qint64>::max() : live.at(0).tMs;
    const qint64 windowMs = qint64(m_windowSeconds) * 1000;
    const qint64 tolerance = std::max<qint64>(5000, windowMs / 100);
    if (firstLive <= fromMs + tolerance)
        return pts; // memory covers the window
    const qint64 wantTo = live.isEmpty() ? QDateTime::currentMSecsSinceEpoch() : firstLive - 1;
    History &h = series.history;
    const bool covers = h.loaded && h.fromMs <= fromMs + tolerance && h.toMs >= wantTo - tolerance;
    if (!covers && !h.pending && QDateTime::currentMSecsSinceEpoch() >= h.retryAfterMs)
        loadHistory(index, fromMs, wantTo);
    if (h.points.isEmpty())
        return pts;
    QVector<SeriesPoint> merged;
    merged.reserve(h.points.size() + pts.size());
    for (const SeriesPoint &p : std::as_const(h.points))
        if (p.tMs >= fromMs && p.tMs < firstLive)
            merged.append(p);
    merged += pts;
    return merged;
}

void TimeChart::loadHistory(int index, qint64 fromMs, qint64 toMs)
{
    Series &series = m_series[index];
    series.history.pending = true;
    ++m_historyLoads;
    SeriesQuery query;
    query.name = series.source.metric;
    query.labels = series.source.labels;
    query.field = series.source.field;
    query.fromMs = fromMs;
    query.toMs = toMs;
    // Windows up to an hour read 1 s points (cheap, see PERFORMANCE.md); longer ones rollups.
    query.maxPoints = std::max(3601, 2 * bucketCount());
    const HistorySource asked = series.source;
    m_store->loadSeries(query, this, [this, index, asked](const SeriesHistory &result) {
        if (index >= m_series.size())
            return;
        Series &s = m_series[index];
        if (s.source.metric != asked.metric || s.source.labels != asked.labels || s.source.field != asked.field)
            return; // the series was re-pointed meanwhile
        History &h = s.history;
        h.pending = false;
        if (!result.ok()) {
            h.retryAfterMs = QDateTime::currentMSecsSinceEpoch() + 30000;
            return;
        }
        h.loaded = true;
        h.fromMs = result.query.fromMs;
        h.toMs = result.query.toMs;
        h.points.clear();
        h.points.reserve(result.points.size() * 2);
        const qint64 half = std::max<qint64>(1, result.resolutionMs / 2);
        for (const HistoryPoint &p : result.points) {
            if (p.min == p.max) {
                h.points.append({p.tMs, p.value});
            } else {
                // A rollup: its extremes, so a spike inside the minute still shows.
                h.points.append({p.tMs, p.min});
                h.points.append({p.tMs + half, p.max});
            }
        }
        requestRender();
    });
}

void TimeChart::setEndTime(qint64 wallMs)
{
    m_latest.endMs = wallMs;
    if (m_live)
        requestRender();
}

void TimeChart::setValueAxisTitle(const QString &title)
{
    m_axisY->setTitleText(title);
}

void TimeChart::setValueSuffix(const QString &suffix)
{
    m_valueSuffix = suffix;
}

void TimeChart::setMinimumValueSpan(double span)
{
    m_minSpan = std::max(0.0, span);
}

void TimeChart::setMinimumUpdateIntervalMs(int ms)
{
    m_minIntervalMs = std::max(0, ms);
}

int TimeChart::pointCount(int seriesIndex) const
{
    if (seriesIndex < 0 || seriesIndex >= m_series.size())
        return 0;
    return m_series.at(seriesIndex).chartSeries->count();
}

QList<QPointF> TimeChart::points(int seriesIndex) const
{
    if (seriesIndex < 0 || seriesIndex >= m_series.size())
        return {};
    return m_series.at(seriesIndex).chartSeries->points();
}

void TimeChart::setLive(bool live)
{
    if (m_live == live)
        return;
    m_live = live;
    updateLiveButton();
    if (m_live) {
        // Back to live: show the newest data now, not at the next snapshot.
        if (isOnScreen())
            render();
        else
            m_needsRender = true;
    } else {
        m_renderTimer.stop();
    }
    Q_EMIT liveChanged(m_live);
}

void TimeChart::setWindowSeconds(int seconds)
{
    if (seconds <= 0)
        return;
    const int comboIndex = m_windowCombo->findData(seconds);
    m_windowCombo->setCurrentIndex(comboIndex);
    if (seconds == m_windowSeconds)
        return;
    m_windowSeconds = seconds;
    m_axisX->setFormat(seconds > 900 ? QStringLiteral("HH:mm") : QStringLiteral("HH:mm:ss"));
    // A user choice: redraw at once (what is shown stays frozen when paused).
    if (isOnScreen())
        render();
    else
        m_needsRender = true;
    Q_EMIT windowSecondsChanged(m_windowSeconds);
}

void TimeChart::onWindowComboActivated(int comboIndex)
{
    setWindowSeconds(m_windowCombo->itemData(comboIndex).toInt());
}

void TimeChart::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_needsRender)
        requestRender();
}

void TimeChart::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    // The bucket count follows the width.
    requestRender();
}

bool TimeChart::isOnScreen() const
{
    return isVisible() && !window()->isMinimized();
}

void TimeChart::requestRender()
{
    m_needsRender = true;
    if (!isOnScreen() || m_renderTimer.isActive())
        return;
    const qint64 since = m_sinceRender.isValid() ? m_sinceRender.elapsed() : qint64(m_minIntervalMs);
    m_renderTimer.start(int(std::max<qint64>(0, m_minIntervalMs - since)));
}

int TimeChart::bucketCount() const
{
    int width = int(m_chart->plotArea().width());
    if (width < 16)
        width = m_view->width() - 80;
    return std::max(32, width);
}

void TimeChart::render()
{
    m_renderTimer.stop();
    if (m_live)
        m_shown = m_latest; // shares the series' storage
    m_needsRender = false;

    qint64 end = m_shown.endMs;
    if (end <= 0) {
        for (const TimeSeries &s : std::as_const(m_shown.data))
            if (!s.isEmpty())
                end = std::max(end, s.last().tMs);
    }
    if (end <= 0)
        end = QDateTime::currentMSecsSinceEpoch();
    const qint64 from = end - qint64(m_windowSeconds) * 1000;
    const int buckets = bucketCount();

    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < m_series.size(); ++i) {
        const bool line = m_series.at(i).kind == SeriesKind::Line;
        const QList<QPointF> pts = windowAndDownsample(pointsForWindow(i, m_shown.data.at(i), from), from, end,
                                                       line ? buckets : 0, m_shown.scale.at(i));
        for (const QPointF &p : pts) {
            lo = std::min(lo, p.y());
            hi = std::max(hi, p.y());
        }
        m_series.at(i).chartSeries->replace(pts);
    }

    m_axisX->setRange(QDateTime::fromMSecsSinceEpoch(from), QDateTime::fromMSecsSinceEpoch(end));
    if (!std::isfinite(lo)) {
        lo = 0;
        hi = std::max(1.0, m_minSpan);
    }
    lo = std::min(0.0, lo);
    hi = std::max(hi, lo + m_minSpan);
    hi += (hi - lo) * 0.05; // headroom: the top of a spike stays inside the plot
    const NiceRange range = niceRange(lo, hi);
    m_axisY->setRange(range.min, range.max);
    m_axisY->setTickCount(range.tickCount);

    ++m_renderCount;
    m_sinceRender.start();
    Q_EMIT rendered();
}

void TimeChart::updateLiveButton()
{
    const QSignalBlocker blocker(m_liveButton);
    m_liveButton->setChecked(m_live);
    if (m_live) {
        m_liveButton->setText(tr("● Live"));
        m_liveButton->setToolTip(tr("Following new data. Click to pause."));
        m_liveButton->setStyleSheet(
            QStringLiteral("QToolButton { color: #1f7a45; font-weight: 600; padding: 2px 8px; }"));
    } else {
        m_liveButton->setText(tr("❚❚ Paused"));
        m_liveButton->setToolTip(tr("New data is not drawn. Click to go back to live."));
        m_liveButton->setStyleSheet(QStringLiteral(
            "QToolButton { background-color: #e0a11b; color: #1a1a1a; font-weight: 600; padding: 2px 8px; "
            "border-radius: 3px; }"));
    }
}

void TimeChart::showPointToolTip(int seriesIndex, const QPointF &point, bool hovering)
{
    if (!hovering) {
        QToolTip::hideText();
        return;
    }
    const QString text = m_series.at(seriesIndex).name + QStringLiteral(": ") +
                         QString::number(point.y(), 'g', 4) + m_valueSuffix + QStringLiteral(" at ") +
                         formatClockTime(qint64(point.x()));
    QToolTip::showText(QCursor::pos(), text, m_view);
}

} // namespace vega::ui
