#pragma once

#include "metrics.h"
#include "timeseries.h"

#include <QColor>
#include <QElapsedTimer>
#include <QPair>
#include <QList>
#include <QPointF>
#include <QTimer>
#include <QWidget>

#include <functional>

QT_BEGIN_NAMESPACE
class QChart;
class QChartView;
class QComboBox;
class QDateTimeAxis;
class QGraphicsLineItem;
class QGraphicsRectItem;
class QGraphicsSimpleTextItem;
class QLineSeries;
class QRubberBand;
class QLabel;
class QToolButton;
class QValueAxis;
class QXYSeries;
QT_END_NAMESPACE

namespace vega {
class HistoryStore;
}

namespace vega::ui {

/**
 * A live time chart: date-time x axis in local time, value y axis with auto range.
 *
 * Pages hand it whole engine series (TimeSeries copies share their storage, so this is
 * cheap) and the chart decides what to draw: the points inside the chosen window, bucketed
 * to about one point per horizontal pixel, pushed with one replace() per series. Redraws
 * are coalesced (at most one per minimumUpdateIntervalMs, 500 ms by default) and skipped
 * while the chart is not on screen. When paused, new data is kept but not drawn.
 *
 * History: the engine keeps about an hour of each series in memory, from the engine's start.
 * A series given with its metric (the MetricSnapshot overload of setSeriesData) and a chart
 * given the HistoryStore fills the part of the window before its oldest live point from the
 * database: after a restart, and for windows longer than memory holds (24 h). Stored
 * 1-minute rollups are drawn as their minimum and maximum, so spikes stay visible. The load
 * runs on the store's thread; the chart draws the live data meanwhile and redraws when the
 * history arrives. A window's history is read again once the live data has moved on by 1%
 * of the window (at least 5 s); a failed read is retried after 30 s.
 *
 * Operators: drag across the plot to zoom into a time range (zooming pauses; "Back" undoes
 * one zoom, Live returns to the moving window); hovering shows a crosshair with every
 * series' value at that moment (ChartGroup repeats it on every chart of a page); clicking a
 * legend entry hides or shows its series; the context menu exports the shown range as PNG
 * or CSV (ISO-8601 UTC times, units in the header). Threshold lines and annotations (resets,
 * stalls, breaker transitions) are drawn over the data.
 */
class TimeChart : public QWidget {
    Q_OBJECT
public:
    enum class SeriesKind { Line, Markers };

    /// A moment worth marking on the time axis.
    struct Annotation {
        qint64 tMs = 0;
        QString kind; // "reset", "stall", "breaker", ...
        QString text;
    };
    /// What a chart shows in time: shared by the charts of a page (ChartGroup).
    struct ViewState {
        bool live = true;
        int windowSeconds = 300;
        QPair<qint64, qint64> zoom{0, 0};          // {0, 0}: the moving window
        QList<QPair<qint64, qint64>> zoomHistory; // for Back, oldest first
    };
    /// Asks where to save an export; returns the path or empty for cancel. Tests replace it.
    using SaveFileFunction =
        std::function<QString(QWidget *parent, const QString &caption, const QString &suggestedName,
                              const QString &filter)>;

    explicit TimeChart(const QString &title, QWidget *parent = nullptr);
    ~TimeChart() override;

    /// Adds a series and returns its index.
    int addSeries(const QString &name, const QColor &color, SeriesKind kind = SeriesKind::Line);
    /// The data of series `index`; drawn values are value * scale.
    void setSeriesData(int index, const TimeSeries &series, double scale = 1.0);
    /// The same from a metric's series `field`; the chart also remembers which stored series
    /// to read history from.
    void setSeriesData(int index, const MetricSnapshot &metric, SeriesField field, double scale = 1.0);
    /// Where older data comes from (null: live data only). Not owned; must outlive the chart
    /// or be reset to null first.
    void setHistoryStore(HistoryStore *store);
    HistoryStore *historyStore() const { return m_store; }
    /// Loaded history points of series `index` (before downsampling); for tests.
    int historyPointCount(int seriesIndex) const;
    /// History reads started so far.
    int historyLoads() const { return m_historyLoads; }
    /// The right edge of the chart (UTC epoch ms), normally the snapshot time. Without it
    /// the newest point is the right edge.
    void setEndTime(qint64 wallMs);

    void setValueAxisTitle(const QString &title);
    /// Appended to values in tooltips, e.g. " ms".
    void setValueSuffix(const QString &suffix);
    /// The y axis spans at least this much, so idle noise does not fill the chart.
    void setMinimumValueSpan(double span);
    void setMinimumUpdateIntervalMs(int ms);
    int minimumUpdateIntervalMs() const { return m_minIntervalMs; }

    int seriesCount() const { return int(m_series.size()); }
    /// Points currently drawn by series `index`.
    int pointCount(int seriesIndex) const;
    QList<QPointF> points(int seriesIndex) const;
    /// How many times the chart has been redrawn (each redraw is one replace() per series).
    int renderCount() const { return m_renderCount; }

    bool isLive() const { return m_live; }
    int windowSeconds() const { return m_windowSeconds; }
    static QList<int> windowPresets();

    QChart *chart() const { return m_chart; }
    QChartView *chartView() const { return m_view; }
    QString title() const;

    /// A dashed horizontal line at `value` (in drawn units) with a legend entry. It does not
    /// widen the value axis: shown only when the data reaches near it.
    void addThreshold(double value, const QColor &color, const QString &label);
    /// Vertical markers; those inside the shown range are drawn, with `text` as tooltip.
    void setAnnotations(const QList<Annotation> &annotations);
    /// Annotations drawn at the last redraw.
    int visibleAnnotationCount() const { return m_visibleAnnotations; }

    /// Shows [fromMs, toMs] and pauses; the previous view goes to the zoom history.
    void zoomTo(qint64 fromMs, qint64 toMs);
    /// Undoes the last zoom (the moving window after the first one, still paused).
    void zoomBack();
    bool isZoomed() const { return m_zoom.second > m_zoom.first; }
    int zoomDepth() const { return int(m_zoomHistory.size()); }
    /// The time range drawn at the last redraw (UTC ms).
    QPair<qint64, qint64> shownRange() const { return {m_shownFrom, m_shownTo}; }
    ViewState viewState() const;
    /// Takes another chart's view without emitting viewChanged().
    void setViewState(const ViewState &state);

    /// A vertical line at `tMs` with every visible series' value there; 0 hides it.
    void setCrosshair(qint64 tMs);
    qint64 crosshair() const { return m_crosshairMs; }
    /// The crosshair's text ("hh:mm:ss  name value, ..."); empty when hidden.
    QString crosshairText() const;

    void setSeriesVisible(int index, bool visible);
    bool isSeriesVisible(int index) const;

    /// The data of the shown range, not downsampled: `time_utc` (ISO-8601 with ms, UTC) and
    /// one column per series, named with its unit ("p99 (ms)"). Empty cells where a series has
    /// no point at that time.
    QByteArray toCsv() const;
    bool exportCsv(const QString &path, QString *error) const;
    bool exportPng(const QString &path, QString *error);
    static void setSaveFileFunction(SaveFileFunction function);

public Q_SLOTS:
    void setLive(bool live);
    void setWindowSeconds(int seconds);

Q_SIGNALS:
    void liveChanged(bool live);
    void windowSecondsChanged(int seconds);
    void rendered();
    /// The pointer is over the plot at `tMs` (0: it left).
    void hovered(qint64 tMs);
    /// Live, window or zoom changed by the operator (or a call), not by setViewState().
    void viewChanged();

protected:
    void showEvent(QShowEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    bool eventFilter(QObject *watched, QEvent *event) override;
    void changeEvent(QEvent *event) override;

private:
    struct HistorySource {
        QString metric; // empty: this series has no stored history
        Labels labels;
        SeriesField field = SeriesField::Value;
    };
    struct History {
        qint64 fromMs = 0; // the window read; the points cover [fromMs, toMs]
        qint64 toMs = 0;
        QVector<SeriesPoint> points;
        bool loaded = false;
        bool pending = false;
        qint64 retryAfterMs = 0; // after a failed read
    };
    struct Series {
        QString name;
        SeriesKind kind = SeriesKind::Line;
        QXYSeries *chartSeries = nullptr;
        HistorySource source;
        History history;
    };
    /// What one redraw shows: the data of every series and the right edge.
    struct Frame {
        QList<TimeSeries> data;
        QList<double> scale;
        qint64 endMs = 0;
    };

    void requestRender();
    void render();
    /// Live points of series `index` in [fromMs, ...], preceded by history where the live data
    /// starts later than fromMs (and a history read started when that part is missing).
    QVector<SeriesPoint> pointsForWindow(int index, const TimeSeries &live, qint64 fromMs);
    void loadHistory(int index, qint64 fromMs, qint64 toMs);
    bool isOnScreen() const;
    int bucketCount() const;
    void updateLiveButton();
    void onWindowComboActivated(int comboIndex);
    void showPointToolTip(int seriesIndex, const QPointF &point, bool hovering);
    void updateOverlays();
    void showContextMenu(const QPoint &pos);
    void exportWithDialog(bool png);
    QVector<SeriesPoint> rawPointsInRange(int index) const;
    qint64 timeAt(const QPoint &viewportPos) const;
    QString unitLabel() const;
    /// Chart background, axes, grid and legend from the widget's palette (light or dark).
    void applyPalette();

    QChart *m_chart = nullptr;
    QChartView *m_view = nullptr;
    QDateTimeAxis *m_axisX = nullptr;
    QValueAxis *m_axisY = nullptr;
    QLabel *m_title = nullptr;
    QComboBox *m_windowCombo = nullptr;
    QToolButton *m_liveButton = nullptr;
    QToolButton *m_backButton = nullptr;
    QRubberBand *m_rubberBand = nullptr;
    int m_dragStartX = -1;
    QGraphicsLineItem *m_crossLine = nullptr;
    QGraphicsRectItem *m_crossBox = nullptr;
    QGraphicsSimpleTextItem *m_crossText = nullptr;
    qint64 m_crosshairMs = 0;
    struct Threshold {
        double value = 0;
        QLineSeries *series = nullptr;
    };
    QList<Threshold> m_thresholds;
    QList<Annotation> m_annotations;
    QList<QGraphicsLineItem *> m_annotationItems;
    int m_visibleAnnotations = 0;
    QPair<qint64, qint64> m_zoom{0, 0}; // {0, 0}: the moving window
    QList<QPair<qint64, qint64>> m_zoomHistory;
    qint64 m_shownFrom = 0;
    qint64 m_shownTo = 0;

    QList<Series> m_series;
    Frame m_latest; // newest data received
    Frame m_shown;  // what is drawn; frozen while paused

    QTimer m_renderTimer;
    QElapsedTimer m_sinceRender;
    QString m_valueSuffix;
    double m_minSpan = 0;
    int m_minIntervalMs = 500;
    int m_windowSeconds = 300;
    int m_renderCount = 0;
    int m_historyLoads = 0;
    HistoryStore *m_store = nullptr;
    bool m_live = true;
    bool m_needsRender = false;
};

} // namespace vega::ui
