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
#include <QFileDialog>
#include <QFileInfo>
#include <QGraphicsLineItem>
#include <QGraphicsRectItem>
#include <QGraphicsSimpleTextItem>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QMap>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QPolygonF>
#include <QRegularExpression>
#include <QRubberBand>
#include <QSaveFile>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace vega::ui {

namespace {
TimeChart::SaveFileFunction &saveFileFunction()
{
    static TimeChart::SaveFileFunction function = [](QWidget *parent, const QString &caption,
                                                     const QString &suggestedName, const QString &filter) {
        return QFileDialog::getSaveFileName(parent, caption, suggestedName, filter);
    };
    return function;
}

QString csvField(const QString &text)
{
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) && !text.contains(QLatin1Char('\n')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

constexpr int kMinimumZoomPixels = 8;
constexpr int kAntialiasedPoints = 2000;
constexpr int kMarkerSize = 11;
constexpr qreal kLineWidth = 1.6;

/// An upward triangle filled with `color` and outlined a little darker, kMarkerSize logical
/// pixels wide, for `dpr` device pixels per logical pixel.
QImage triangleMarker(const QColor &color, qreal dpr)
{
    dpr = std::max<qreal>(1.0, dpr);
    const int side = int(std::ceil(kMarkerSize * dpr));
    QImage image(side, side, QImage::Format_ARGB32_Premultiplied);
    image.setDevicePixelRatio(dpr);
    image.fill(Qt::transparent);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(color.darker(140), 1.0));
    painter.setBrush(color);
    const double s = kMarkerSize;
    painter.drawPolygon(QPolygonF({QPointF(0.5, s - 0.5), QPointF(s - 0.5, s - 0.5), QPointF(s / 2, 0.5)}));
    return image;
}

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
    m_liveButton->setObjectName(QStringLiteral("liveButton"));
    m_liveButton->setCheckable(true);
    m_liveButton->setChecked(true);
    m_liveButton->setAutoRaise(false);
    m_liveButton->setMinimumWidth(90);

    m_backButton = new QToolButton(this);
    m_backButton->setObjectName(QStringLiteral("backButton"));
    m_backButton->setText(tr("◀ Back"));
    m_backButton->setToolTip(tr("Undo the last zoom"));
    m_backButton->hide();

    auto *headerRow = new QWidget(this);
    auto *header = new QHBoxLayout(headerRow);
    header->setContentsMargins(4, 0, 4, 0);
    header->addWidget(m_title);
    header->addStretch(1);
    header->addWidget(m_backButton);
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
    connect(m_backButton, &QToolButton::clicked, this, &TimeChart::zoomBack);

    // Crosshair, drawn over the plot (children of the chart item, so the scene owns them).
    m_crossLine = new QGraphicsLineItem(m_chart);
    m_crossLine->setPen(QPen(QColor(0x55, 0x5d, 0x68), 1, Qt::DashLine));
    m_crossLine->setZValue(20);
    m_crossBox = new QGraphicsRectItem(m_chart);
    m_crossBox->setBrush(QColor(255, 255, 255, 225));
    m_crossBox->setPen(QPen(QColor(0x9a, 0xa1, 0xab)));
    m_crossBox->setZValue(21);
    m_crossText = new QGraphicsSimpleTextItem(m_chart);
    m_crossText->setZValue(22);
    for (QGraphicsItem *item : {static_cast<QGraphicsItem *>(m_crossLine), static_cast<QGraphicsItem *>(m_crossBox),
                                static_cast<QGraphicsItem *>(m_crossText)})
        item->hide();
    connect(m_chart, &QChart::plotAreaChanged, this, [this] { updateOverlays(); });

    m_rubberBand = new QRubberBand(QRubberBand::Rectangle, m_view->viewport());
    m_view->viewport()->setMouseTracking(true);
    m_view->viewport()->installEventFilter(this);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QWidget::customContextMenuRequested, this, &TimeChart::showContextMenu);

    setWindowSeconds(300);
    applyPalette();
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
    auto *line = new QLineSeries(m_chart);
    if (kind == SeriesKind::Markers) {
        // Markers are a line series without its line, each point drawn as one image: a
        // QScatterSeries keeps a graphics item per point and re-brushes all of them whenever
        // the point count changes (quadratic in QtCharts 6.4), which cost more than every line
        // of a page. The legend keeps the marker's colour; hover still finds the points.
        QPen pen(color);
        pen.setStyle(Qt::NoPen);
        line->setPen(pen);
        line->setMarkerSize(kMarkerSize);
        line->setLightMarker(triangleMarker(color, devicePixelRatioF()));
    } else {
        QPen pen(color);
        pen.setWidthF(kLineWidth);
        line->setPen(pen);
    }
    series = line;
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
    const QList<QLegendMarker *> markers = m_chart->legend()->markers(series);
    for (QLegendMarker *marker : markers) {
        if (kind == SeriesKind::Markers)
            marker->setBrush(color); // the series has no pen to take it from
        connect(marker, &QLegendMarker::clicked, this,
                [this, index] { setSeriesVisible(index, !isSeriesVisible(index)); });
    }
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
    if (m_live) {
        // Back to live leaves any zoom.
        m_zoom = {0, 0};
        m_zoomHistory.clear();
        m_backButton->hide();
    }
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
    Q_EMIT viewChanged();
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
    Q_EMIT viewChanged();
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
    // A bucket keeps its minimum and maximum: one bucket per two pixels is about one point
    // per pixel, which is all a line can show.
    return std::max(32, width / 2);
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
    qint64 from = end - qint64(m_windowSeconds) * 1000;
    if (isZoomed()) {
        from = m_zoom.first;
        end = m_zoom.second;
    }
    m_shownFrom = from;
    m_shownTo = end;
    const int buckets = bucketCount();

    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    // Threshold lines do not stretch the value axis: a 100 ms limit must not flatten 0.2 ms
    // of lag; a line beyond the range is clipped away.
    for (const Threshold &t : std::as_const(m_thresholds))
        t.series->replace({QPointF(double(from), t.value), QPointF(double(end), t.value)});
    int drawn = 0;
    QList<QList<QPointF>> visiblePoints(m_series.size());
    for (int i = 0; i < m_series.size(); ++i) {
        if (!m_series.at(i).chartSeries->isVisible())
            continue;
        // Markers are bucketed too: a dense marker series (3600 points an hour) would otherwise
        // cost more to draw than every line of the page.
        visiblePoints[i] = windowAndDownsample(pointsForWindow(i, m_shown.data.at(i), from), from, end, buckets,
                                               m_shown.scale.at(i));
        for (const QPointF &p : std::as_const(visiblePoints.at(i))) {
            lo = std::min(lo, p.y());
            hi = std::max(hi, p.y());
        }
        drawn += int(visiblePoints.at(i).size());
    }
    // QtCharts lays a series out again (mapping every point and stroking its whole line for
    // hit tests) at each replace() and at each change of either axis' range: emptied first, the
    // series cost nothing while the axes move, and each is laid out once, with its new points.
    for (int i = 0; i < m_series.size(); ++i)
        if (m_series.at(i).chartSeries->isVisible())
            m_series.at(i).chartSeries->replace(QList<QPointF>());
    // Antialiasing many thousand points costs more than it shows: dense charts draw without it.
    const bool dense = drawn > kAntialiasedPoints;
    m_view->setRenderHint(QPainter::Antialiasing, !dense);
    for (const Series &s : std::as_const(m_series)) {
        if (s.kind != SeriesKind::Line)
            continue;
        QPen pen = s.chartSeries->pen();
        const qreal width = dense ? 1.0 : kLineWidth;
        if (pen.widthF() != width) {
            pen.setWidthF(width);
            s.chartSeries->setPen(pen);
        }
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
    for (int i = 0; i < m_series.size(); ++i)
        if (m_series.at(i).chartSeries->isVisible())
            m_series.at(i).chartSeries->replace(visiblePoints.at(i));
    updateOverlays();

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
    // A marker series reports hovering over its invisible line too: only its points count.
    const Series &series = m_series.at(seriesIndex);
    if (series.kind == SeriesKind::Markers && !series.chartSeries->points().contains(point))
        return;
    const QString text = m_series.at(seriesIndex).name + QStringLiteral(": ") +
                         QString::number(point.y(), 'g', 4) + m_valueSuffix + QStringLiteral(" at ") +
                         formatClockTime(qint64(point.x()));
    QToolTip::showText(QCursor::pos(), text, m_view);
}

QString TimeChart::title() const
{
    return m_title->text();
}

TimeChart::ViewState TimeChart::viewState() const
{
    ViewState state;
    state.live = m_live;
    state.windowSeconds = m_windowSeconds;
    state.zoom = m_zoom;
    state.zoomHistory = m_zoomHistory;
    return state;
}

void TimeChart::setViewState(const ViewState &state)
{
    const QSignalBlocker blocker(this);
    setWindowSeconds(state.windowSeconds);
    setLive(state.live);
    m_zoom = state.zoom;
    m_zoomHistory = state.zoomHistory;
    m_backButton->setVisible(isZoomed() || !m_zoomHistory.isEmpty());
    if (isOnScreen())
        render();
    else
        m_needsRender = true;
}

void TimeChart::zoomTo(qint64 fromMs, qint64 toMs)
{
    if (toMs <= fromMs)
        return;
    m_zoomHistory.append(m_zoom);
    m_zoom = {fromMs, toMs};
    m_backButton->show();
    if (m_live) {
        m_live = false;
        m_renderTimer.stop();
        updateLiveButton();
        Q_EMIT liveChanged(false);
    }
    if (isOnScreen())
        render();
    else
        m_needsRender = true;
    Q_EMIT viewChanged();
}

void TimeChart::zoomBack()
{
    if (m_zoomHistory.isEmpty())
        return;
    m_zoom = m_zoomHistory.takeLast();
    m_backButton->setVisible(isZoomed() || !m_zoomHistory.isEmpty());
    if (isOnScreen())
        render();
    else
        m_needsRender = true;
    Q_EMIT viewChanged();
}

void TimeChart::addThreshold(double value, const QColor &color, const QString &label)
{
    auto *line = new QLineSeries(m_chart);
    QPen pen(color);
    pen.setStyle(Qt::DashLine);
    pen.setWidthF(1.2);
    line->setPen(pen);
    line->setName(label);
    m_chart->addSeries(line);
    line->attachAxis(m_axisX);
    line->attachAxis(m_axisY);
    if (isVisible()) {
        m_axisX->hide();
        m_axisX->show();
    }
    m_thresholds.append({value, line});
    requestRender();
}

void TimeChart::setAnnotations(const QList<Annotation> &annotations)
{
    m_annotations = annotations;
    updateOverlays();
}

void TimeChart::setSeriesVisible(int index, bool visible)
{
    if (index < 0 || index >= m_series.size())
        return;
    QXYSeries *series = m_series.at(index).chartSeries;
    series->setVisible(visible);
    // A hidden series keeps its legend entry, greyed, so it can be clicked back.
    const QList<QLegendMarker *> markers = m_chart->legend()->markers(series);
    for (QLegendMarker *marker : markers) {
        marker->setVisible(true);
        QColor labelColor = m_chart->legend()->labelColor();
        labelColor.setAlphaF(visible ? 1.0 : 0.4);
        marker->setLabelBrush(labelColor);
        marker->setFont([&] {
            QFont f = m_chart->legend()->font();
            f.setStrikeOut(!visible);
            return f;
        }());
    }
    if (isOnScreen())
        render();
    else
        m_needsRender = true;
}

bool TimeChart::isSeriesVisible(int index) const
{
    return index >= 0 && index < m_series.size() && m_series.at(index).chartSeries->isVisible();
}

void TimeChart::setCrosshair(qint64 tMs)
{
    m_crosshairMs = tMs;
    updateOverlays();
}

QString TimeChart::crosshairText() const
{
    return m_crosshairMs > 0 && m_crossText->isVisible() ? m_crossText->text() : QString();
}

void TimeChart::updateOverlays()
{
    const QRectF plot = m_chart->plotArea();
    const bool haveRange = m_shownTo > m_shownFrom && plot.width() > 1;
    auto xOf = [&](qint64 t) {
        return plot.left() + plot.width() * double(t - m_shownFrom) / double(m_shownTo - m_shownFrom);
    };

    // Annotations: one dashed vertical line each, reusing the items.
    int shown = 0;
    if (haveRange) {
        for (const Annotation &a : std::as_const(m_annotations)) {
            if (a.tMs < m_shownFrom || a.tMs > m_shownTo)
                continue;
            if (shown == m_annotationItems.size()) {
                auto *item = new QGraphicsLineItem(m_chart);
                item->setZValue(10);
                m_annotationItems.append(item);
            }
            QGraphicsLineItem *item = m_annotationItems.at(shown++);
            QColor color = a.kind == QLatin1String("reset")     ? QColor(0x25, 0x63, 0xeb)
                           : a.kind == QLatin1String("stall")   ? QColor(0xd6, 0x3c, 0x3c)
                           : a.kind == QLatin1String("breaker") ? QColor(0xb4, 0x53, 0x09)
                                                                : QColor(0x6b, 0x72, 0x80);
            item->setPen(QPen(color, 1.2, Qt::DotLine));
            const double x = xOf(a.tMs);
            item->setLine(x, plot.top(), x, plot.bottom());
            item->setToolTip(QStringLiteral("%1 %2: %3").arg(formatClockTime(a.tMs), a.kind, a.text));
            item->show();
        }
    }
    for (int i = shown; i < m_annotationItems.size(); ++i)
        m_annotationItems.at(i)->hide();
    m_visibleAnnotations = shown;

    // Crosshair.
    const bool cross = haveRange && m_crosshairMs >= m_shownFrom && m_crosshairMs <= m_shownTo;
    m_crossLine->setVisible(cross);
    m_crossBox->setVisible(cross);
    m_crossText->setVisible(cross);
    if (!cross)
        return;
    const double x = xOf(m_crosshairMs);
    m_crossLine->setLine(x, plot.top(), x, plot.bottom());
    QStringList parts{formatClockTime(m_crosshairMs)};
    for (const Series &s : std::as_const(m_series)) {
        if (!s.chartSeries->isVisible())
            continue;
        const QList<QPointF> pts = s.chartSeries->points();
        if (pts.isEmpty())
            continue;
        // The drawn point nearest in time.
        const auto it = std::lower_bound(pts.cbegin(), pts.cend(), double(m_crosshairMs),
                                         [](const QPointF &p, double t) { return p.x() < t; });
        auto nearest = it == pts.cend() ? it - 1 : it;
        if (it != pts.cbegin() && it != pts.cend() &&
            std::abs((it - 1)->x() - double(m_crosshairMs)) < std::abs(it->x() - double(m_crosshairMs)))
            nearest = it - 1;
        parts.append(s.name + QStringLiteral(" ") + QString::number(nearest->y(), 'g', 4) + m_valueSuffix);
    }
    m_crossText->setText(parts.join(QStringLiteral("\n")));
    const QRectF textRect = m_crossText->boundingRect();
    double left = x + 8;
    if (left + textRect.width() + 8 > plot.right())
        left = x - 8 - textRect.width();
    m_crossText->setPos(left, plot.top() + 6);
    m_crossBox->setRect(left - 4, plot.top() + 3, textRect.width() + 8, textRect.height() + 6);
}

qint64 TimeChart::timeAt(const QPoint &viewportPos) const
{
    const QPointF scenePos = m_view->mapToScene(viewportPos);
    const QPointF chartPos = m_chart->mapFromScene(scenePos);
    if (!m_chart->plotArea().contains(chartPos))
        return 0;
    return qint64(m_chart->mapToValue(chartPos).x());
}

bool TimeChart::eventFilter(QObject *watched, QEvent *event)
{
    if (watched != m_view->viewport())
        return QWidget::eventFilter(watched, event);
    switch (event->type()) {
    case QEvent::MouseMove: {
        auto *me = static_cast<QMouseEvent *>(event);
        const QPoint pos = me->position().toPoint();
        if (m_dragStartX >= 0) {
            m_rubberBand->setGeometry(QRect(QPoint(std::min(m_dragStartX, pos.x()), int(m_chart->plotArea().top())),
                                            QPoint(std::max(m_dragStartX, pos.x()), int(m_chart->plotArea().bottom())))
                                          .normalized());
            m_rubberBand->show();
        }
        const qint64 t = timeAt(pos);
        setCrosshair(t);
        Q_EMIT hovered(t);
        break;
    }
    case QEvent::Leave:
        setCrosshair(0);
        Q_EMIT hovered(0);
        break;
    case QEvent::MouseButtonPress: {
        auto *me = static_cast<QMouseEvent *>(event);
        if (me->button() == Qt::LeftButton && timeAt(me->position().toPoint()) > 0) {
            m_dragStartX = me->position().toPoint().x();
            return true;
        }
        break;
    }
    case QEvent::MouseButtonRelease: {
        auto *me = static_cast<QMouseEvent *>(event);
        if (me->button() != Qt::LeftButton || m_dragStartX < 0)
            break;
        const int startX = std::exchange(m_dragStartX, -1);
        m_rubberBand->hide();
        const int endX = me->position().toPoint().x();
        if (std::abs(endX - startX) < kMinimumZoomPixels)
            return true; // a click, not a drag
        const QRectF plot = m_chart->plotArea();
        auto timeOfX = [&](int x) {
            const double clamped = std::clamp(double(x), plot.left(), plot.right());
            return m_shownFrom + qint64((clamped - plot.left()) / plot.width() * double(m_shownTo - m_shownFrom));
        };
        zoomTo(timeOfX(std::min(startX, endX)), timeOfX(std::max(startX, endX)));
        return true;
    }
    case QEvent::MouseButtonDblClick:
        if (isZoomed() || !m_zoomHistory.isEmpty())
            zoomBack();
        return true;
    default:
        break;
    }
    return QWidget::eventFilter(watched, event);
}

QString TimeChart::unitLabel() const
{
    const QString title = m_axisY->titleText().trimmed();
    return title.isEmpty() ? m_valueSuffix.trimmed() : title;
}

QVector<SeriesPoint> TimeChart::rawPointsInRange(int index) const
{
    QVector<SeriesPoint> out;
    const Series &series = m_series.at(index);
    const TimeSeries &live = m_shown.data.at(index);
    const double scale = m_shown.scale.at(index);
    const qint64 firstLive = live.isEmpty() ? std::numeric_limits<qint64>::max() : live.at(0).tMs;
    for (const SeriesPoint &p : series.history.points)
        if (p.tMs >= m_shownFrom && p.tMs <= m_shownTo && p.tMs < firstLive)
            out.append({p.tMs, p.value * scale});
    const QVector<SeriesPoint> livePoints = live.pointsSince(m_shownFrom);
    for (const SeriesPoint &p : livePoints) {
        if (p.tMs > m_shownTo)
            break;
        if (std::isfinite(p.value))
            out.append({p.tMs, p.value * scale});
    }
    return out;
}

QByteArray TimeChart::toCsv() const
{
    const QString unit = unitLabel();
    QStringList header{QStringLiteral("time_utc")};
    QMap<qint64, QVector<QString>> rows;
    const int columns = int(m_series.size());
    for (int i = 0; i < columns; ++i) {
        header.append(csvField(unit.isEmpty() ? m_series.at(i).name
                                              : QStringLiteral("%1 (%2)").arg(m_series.at(i).name, unit)));
        const QVector<SeriesPoint> pts = rawPointsInRange(i);
        for (const SeriesPoint &p : pts) {
            QVector<QString> &row = rows[p.tMs];
            row.resize(columns);
            row[i] = QString::number(p.value, 'g', 10);
        }
    }
    QByteArray out = header.join(QLatin1Char(',')).toUtf8() + "\n";
    for (auto it = rows.cbegin(); it != rows.cend(); ++it) {
        QVector<QString> row = it.value();
        row.resize(columns);
        out += QDateTime::fromMSecsSinceEpoch(it.key(), Qt::UTC).toString(Qt::ISODateWithMs).toUtf8();
        for (const QString &cell : std::as_const(row))
            out += ',' + cell.toUtf8();
        out += '\n';
    }
    return out;
}

bool TimeChart::exportCsv(const QString &path, QString *error) const
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(toCsv()) < 0 || !file.commit()) {
        if (error)
            *error = tr("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

bool TimeChart::exportPng(const QString &path, QString *error)
{
    const QPixmap pixmap = grab();
    if (pixmap.isNull() || !pixmap.save(path, "PNG")) {
        if (error)
            *error = tr("cannot write %1: the image could not be saved there").arg(path);
        return false;
    }
    return true;
}

void TimeChart::setSaveFileFunction(SaveFileFunction function)
{
    saveFileFunction() = std::move(function);
}

void TimeChart::exportWithDialog(bool png)
{
    QString base = m_title->text().toLower();
    base.replace(QRegularExpression(QStringLiteral("[^a-z0-9]+")), QStringLiteral("-"));
    base = base.trimmed();
    const QString suggested = base + (png ? QStringLiteral(".png") : QStringLiteral(".csv"));
    const QString path = saveFileFunction()(this, png ? tr("Export chart as PNG") : tr("Export chart data as CSV"),
                                            suggested, png ? tr("PNG images (*.png)") : tr("CSV files (*.csv)"));
    if (path.isEmpty())
        return;
    QString error;
    const bool ok = png ? exportPng(path, &error) : exportCsv(path, &error);
    QToolTip::showText(QCursor::pos(), ok ? tr("Saved %1").arg(QFileInfo(path).fileName()) : error, this);
}

void TimeChart::showContextMenu(const QPoint &pos)
{
    QMenu menu(this);
    menu.addAction(tr("Export PNG…"), this, [this] { exportWithDialog(true); });
    menu.addAction(tr("Export CSV…"), this, [this] { exportWithDialog(false); });
    menu.addSeparator();
    QAction *back = menu.addAction(tr("Back (undo zoom)"), this, &TimeChart::zoomBack);
    back->setEnabled(!m_zoomHistory.isEmpty());
    QAction *live = menu.addAction(tr("Back to live"), this, [this] { setLive(true); });
    live->setEnabled(!m_live);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

void TimeChart::changeEvent(QEvent *event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::PaletteChange)
        applyPalette();
}

void TimeChart::applyPalette()
{
    const QPalette p = palette();
    const QColor text = p.color(QPalette::Text);
    QColor grid = p.color(QPalette::Mid);
    grid.setAlpha(110);
    m_chart->setBackgroundBrush(p.brush(QPalette::Base));
    m_chart->setPlotAreaBackgroundVisible(false);
    m_chart->legend()->setLabelColor(text);
    for (QAbstractAxis *axis : {static_cast<QAbstractAxis *>(m_axisX), static_cast<QAbstractAxis *>(m_axisY)}) {
        axis->setLabelsColor(text);
        axis->setTitleBrush(text);
        axis->setGridLineColor(grid);
        axis->setLinePenColor(grid);
    }
    QColor box = p.color(QPalette::Base);
    box.setAlpha(225);
    m_crossBox->setBrush(box);
    m_crossText->setBrush(text);
    m_view->setBackgroundBrush(p.brush(QPalette::Base));
    // Hidden series keep their greyed legend entries.
    for (int i = 0; i < m_series.size(); ++i)
        if (!isSeriesVisible(i))
            setSeriesVisible(i, false);
}

} // namespace vega::ui
