#pragma once

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

namespace vega::ui {

/**
 * A live time chart: date-time x axis in local time, value y axis with auto range.
 *
 * Pages hand it whole engine series (TimeSeries copies share their storage, so this is
 * cheap) and the chart decides what to draw: the points inside the chosen window, bucketed
 * to about two points per horizontal pixel, pushed with one replace() per series. Redraws
 * are coalesced (at most one per minimumUpdateIntervalMs, 500 ms by default) and skipped
 * while the chart is not on screen. When paused, new data is kept but not drawn.
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
    struct Series {
        QString name;
        SeriesKind kind = SeriesKind::Line;
        QXYSeries *chartSeries = nullptr;
    };
    /// What one redraw shows: the data of every series and the right edge.
    struct Frame {
        QList<TimeSeries> data;
        QList<double> scale;
        qint64 endMs = 0;
    };

    void requestRender();
    void render();
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
    bool m_live = true;
    bool m_needsRender = false;
};

} // namespace vega::ui
