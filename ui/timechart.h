#pragma once

#include "metrics.h"
#include "timeseries.h"

#include <QColor>
#include <QElapsedTimer>
#include <QList>
#include <QPointF>
#include <QTimer>
#include <QWidget>

QT_BEGIN_NAMESPACE
class QChart;
class QChartView;
class QComboBox;
class QDateTimeAxis;
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
 * to about two points per horizontal pixel, pushed with one replace() per series. Redraws
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
 */
class TimeChart : public QWidget {
    Q_OBJECT
public:
    enum class SeriesKind { Line, Markers };

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

public Q_SLOTS:
    void setLive(bool live);
    void setWindowSeconds(int seconds);

Q_SIGNALS:
    void liveChanged(bool live);
    void windowSecondsChanged(int seconds);
    void rendered();

protected:
    void showEvent(QShowEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

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

    QChart *m_chart = nullptr;
    QChartView *m_view = nullptr;
    QDateTimeAxis *m_axisX = nullptr;
    QValueAxis *m_axisY = nullptr;
    QLabel *m_title = nullptr;
    QComboBox *m_windowCombo = nullptr;
    QToolButton *m_liveButton = nullptr;

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
