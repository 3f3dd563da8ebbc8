#pragma once

#include "timeseries.h"

#include <QColor>
#include <QWidget>

#include <optional>

namespace vega::ui {

/// What one breaker tile shows; built by the breakers page from a snapshot.
struct BreakerTileData {
    QString name;           ///< "host" or "host METHOD /path", as the client names it
    QString host;           ///< the host part of the name
    QString endpoint;       ///< "METHOD /path"; empty for the host's own breaker
    QString state;          ///< closed, open, half_open, forced_open, forced_closed
    double failureRate = 0; ///< 0-1 over the breaker's window
    int callsInWindow = 0;
    quint64 rejected = 0;       ///< cumulative
    qint64 openRemainingMs = 0; ///< while open
    /// Calls offered per second, admitted and rejected, averaged over the last 10 s; none
    /// without metrics.
    std::optional<double> volume;
    /// The host's request latency over the last interval (ns); none when it saw no request.
    std::optional<double> latencyP50Ns;
    std::optional<double> latencyP99Ns;
    TimeSeries failureRateHistory{1}; ///< breaker_failure_rate (0-1)
    qint64 endMs = 0;                 ///< snapshot time: the right edge of the sparkline
};

/// "Closed", "Open", "Half-open", "Forced open", "Forced closed"; the raw name otherwise.
QString breakerStateLabel(const QString &state);
QColor breakerStateColor(const QString &state);
/// Error-rate colour of a tile: green at 0 %, amber at 25 %, red from 50 % (the default trip
/// threshold), interpolated in between; grey without calls.
QColor breakerErrorColor(double failureRate, bool hasCalls);
/// Circle diameter for a volume: the area grows with the rate (diameter with its square root),
/// from 8 px at 0 to 60 px at 100 calls/s and beyond.
int breakerCircleDiameter(double callsPerSecond);

/**
 * One circuit breaker at a glance, as on the Hystrix dashboard: a circle whose colour is the
 * error rate and whose size is the volume, a two-minute sparkline of the failure rate, the
 * state, the error rate, volume, rejections and the host's latency. Painted in one go.
 */
class BreakerTile : public QWidget {
    Q_OBJECT
public:
    /// Tiles are this high; the grid stretches them from kMinimumWidth to fill its rows.
    static constexpr int kMinimumWidth = 260;
    static constexpr int kHeight = 134;
    static constexpr qint64 kSparklineMs = 120000;

    explicit BreakerTile(const QString &name, QWidget *parent = nullptr);
    ~BreakerTile() override;

    QString name() const { return m_data.name; }
    const BreakerTileData &data() const { return m_data; }
    void setData(const BreakerTileData &data);

    bool isSelected() const { return m_selected; }
    void setSelected(bool selected);

    /// The texts drawn, for tests and accessibility.
    QString stateText() const;
    QString errorRateText() const;
    QString volumeText() const;
    QString latencyText() const;

    QSize sizeHint() const override;

Q_SIGNALS:
    void clicked(const QString &name);

protected:
    void paintEvent(QPaintEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void enterEvent(QEnterEvent *event) override;
    void leaveEvent(QEvent *event) override;

private:
    void updateToolTip();
    void paintSparkline(QPainter &painter, const QRectF &area, const QColor &color) const;

    BreakerTileData m_data;
    bool m_selected = false;
    bool m_hovered = false;
};

} // namespace vega::ui
