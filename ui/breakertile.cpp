#include "breakertile.h"

#include "format.h"

#include <QEnterEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace vega::ui {

namespace {
const QColor kGreen(0x2e, 0x9e, 0x5b);
const QColor kAmber(0xe0, 0xa1, 0x1b);
const QColor kRed(0xd6, 0x3c, 0x3c);
const QColor kGrey(0x9c, 0xa3, 0xaf);
const QColor kSecondaryText(0x5f, 0x67, 0x73);

QColor mix(const QColor &a, const QColor &b, double t)
{
    t = std::clamp(t, 0.0, 1.0);
    return QColor::fromRgbF(float(a.redF() + (b.redF() - a.redF()) * t),
                            float(a.greenF() + (b.greenF() - a.greenF()) * t),
                            float(a.blueF() + (b.blueF() - a.blueF()) * t));
}

QFont scaled(const QFont &base, double factor, bool bold = false)
{
    QFont f = base;
    f.setPointSizeF(base.pointSizeF() * factor);
    f.setBold(bold);
    return f;
}
} // namespace

QString breakerStateLabel(const QString &state)
{
    if (state == QLatin1String("closed"))
        return BreakerTile::tr("Closed");
    if (state == QLatin1String("open"))
        return BreakerTile::tr("Open");
    if (state == QLatin1String("half_open"))
        return BreakerTile::tr("Half-open");
    if (state == QLatin1String("forced_open"))
        return BreakerTile::tr("Forced open");
    if (state == QLatin1String("forced_closed"))
        return BreakerTile::tr("Forced closed");
    return state.isEmpty() ? missingValueText() : state;
}

QColor breakerStateColor(const QString &state)
{
    if (state == QLatin1String("closed"))
        return kGreen;
    if (state == QLatin1String("open"))
        return kRed;
    if (state == QLatin1String("half_open"))
        return kAmber;
    if (state == QLatin1String("forced_open"))
        return QColor(0x8f, 0x1d, 0x1d);
    if (state == QLatin1String("forced_closed"))
        return QColor(0x5b, 0x5f, 0xc7);
    return QColor(0x7d, 0x84, 0x8f);
}

QColor breakerErrorColor(double failureRate, bool hasCalls)
{
    if (!hasCalls || !std::isfinite(failureRate))
        return kGrey;
    if (failureRate <= 0.25)
        return mix(kGreen, kAmber, failureRate / 0.25);
    return mix(kAmber, kRed, (failureRate - 0.25) / 0.25);
}

int breakerCircleDiameter(double callsPerSecond)
{
    const double v = std::isfinite(callsPerSecond) ? std::clamp(callsPerSecond, 0.0, 100.0) : 0.0;
    return int(std::lround(8 + 52 * std::sqrt(v / 100.0)));
}

BreakerTile::BreakerTile(const QString &name, QWidget *parent) : QWidget(parent)
{
    m_data.name = name;
    setObjectName(QStringLiteral("breakerTile"));
    setFixedHeight(kHeight);
    setMinimumWidth(kMinimumWidth);
    setCursor(Qt::PointingHandCursor);
    updateToolTip();
}

BreakerTile::~BreakerTile() = default;

QSize BreakerTile::sizeHint() const
{
    return {kMinimumWidth, kHeight};
}

void BreakerTile::setData(const BreakerTileData &data)
{
    m_data = data;
    updateToolTip();
    update();
}

void BreakerTile::setSelected(bool selected)
{
    if (m_selected == selected)
        return;
    m_selected = selected;
    update();
}

QString BreakerTile::stateText() const
{
    QString text = breakerStateLabel(m_data.state);
    if (m_data.state == QLatin1String("open") && m_data.openRemainingMs > 0)
        text += QStringLiteral(" · ") + tr("%1 left").arg(formatDurationMs(double(m_data.openRemainingMs)));
    return text;
}

QString BreakerTile::errorRateText() const
{
    return m_data.callsInWindow > 0 ? formatRatioPercent(m_data.failureRate) : missingValueText();
}

QString BreakerTile::volumeText() const
{
    return m_data.volume ? formatRate(*m_data.volume) : missingValueText();
}

QString BreakerTile::latencyText() const
{
    auto ms = [](const std::optional<double> &ns) {
        return ns ? formatValue(*ns, Unit::Nanoseconds) : missingValueText();
    };
    return tr("p50 %1 · p99 %2").arg(ms(m_data.latencyP50Ns), ms(m_data.latencyP99Ns));
}

void BreakerTile::updateToolTip()
{
    QStringList lines;
    lines << QStringLiteral("<b>%1</b>").arg(m_data.name.toHtmlEscaped());
    lines << tr("State: %1").arg(stateText());
    lines
        << tr("Failure rate: %1 over %2 calls in the window").arg(errorRateText()).arg(m_data.callsInWindow);
    lines << tr("Volume: %1 (calls admitted and rejected, average of the last 10 s)").arg(volumeText());
    lines << tr("Rejected since start: %1").arg(m_data.rejected);
    lines << tr("Latency of the host, last interval: %1").arg(latencyText());
    lines << tr("Click to select; right-click for the operator actions.");
    setToolTip(lines.join(QStringLiteral("<br>")));
}

void BreakerTile::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF frame = QRectF(rect()).adjusted(1, 1, -1, -1);

    // Card.
    QColor border(0xd3, 0xd7, 0xde);
    qreal borderWidth = 1;
    if (m_selected) {
        border = palette().color(QPalette::Highlight);
        borderWidth = 2.5;
    } else if (m_hovered) {
        border = QColor(0x9a, 0xa3, 0xaf);
    }
    p.setPen(QPen(border, borderWidth));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(frame, 6, 6);

    const QColor text = palette().color(QPalette::Text);
    const QFont base = font();
    const int left = 10;
    const int right = width() - 10;

    // State badge, top right.
    const QString badgeText = breakerStateLabel(m_data.state);
    const QFont badgeFont = scaled(base, 0.85, true);
    const QFontMetrics badgeMetrics(badgeFont);
    const int badgeWidth = badgeMetrics.horizontalAdvance(badgeText) + 12;
    const QRect badge(right - badgeWidth, 8, badgeWidth, badgeMetrics.height() + 4);
    const QColor stateColor = breakerStateColor(m_data.state);
    p.setPen(Qt::NoPen);
    p.setBrush(stateColor);
    p.drawRoundedRect(badge, 4, 4);
    p.setFont(badgeFont);
    p.setPen(m_data.state == QLatin1String("half_open") ? QColor(0x1a, 0x1a, 0x1a) : QColor(Qt::white));
    p.drawText(badge, Qt::AlignCenter, badgeText);

    // Title and subtitle.
    const QFont titleFont = scaled(base, 1.0, true);
    p.setFont(titleFont);
    p.setPen(text);
    const QString title = m_data.endpoint.isEmpty() ? m_data.host : m_data.endpoint;
    const QRect titleRect(left, 8, badge.left() - 6 - left, badge.height());
    p.drawText(titleRect, Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(titleFont).elidedText(title.isEmpty() ? m_data.name : title, Qt::ElideMiddle,
                                                  titleRect.width()));
    const QFont smallFont = scaled(base, 0.85);
    p.setFont(smallFont);
    p.setPen(kSecondaryText);
    QString subtitle = m_data.endpoint.isEmpty() ? tr("whole host") : m_data.host;
    if (m_data.state == QLatin1String("open") && m_data.openRemainingMs > 0)
        subtitle += QStringLiteral(" · ") +
                    tr("trial calls in %1").arg(formatDurationMs(double(m_data.openRemainingMs)));
    const QRect subtitleRect(left, badge.bottom() + 2, right - left, QFontMetrics(smallFont).height());
    p.drawText(subtitleRect, Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(smallFont).elidedText(subtitle, Qt::ElideRight, subtitleRect.width()));

    // Circle: colour = error rate, area = volume.
    const bool hasCalls = m_data.callsInWindow > 0;
    const QColor errorColor = breakerErrorColor(m_data.failureRate, hasCalls);
    const QPointF centre(left + 32, 76);
    const double diameter = breakerCircleDiameter(m_data.volume.value_or(0));
    QColor fill = errorColor;
    fill.setAlphaF(0.85f);
    p.setPen(QPen(errorColor.darker(130), 1.2));
    p.setBrush(fill);
    p.drawEllipse(centre, diameter / 2, diameter / 2);

    // Numbers.
    const int numbersLeft = left + 72;
    const QFont bigFont = scaled(base, 1.5, true);
    p.setFont(bigFont);
    p.setPen(text);
    const int bigHeight = QFontMetrics(bigFont).height();
    p.drawText(QRect(numbersLeft, 48, 110, bigHeight), Qt::AlignLeft | Qt::AlignVCenter, errorRateText());
    p.setFont(smallFont);
    p.setPen(kSecondaryText);
    const int smallHeight = QFontMetrics(smallFont).height();
    p.drawText(QRect(numbersLeft, 48 + bigHeight, 110, smallHeight), Qt::AlignLeft | Qt::AlignVCenter,
               m_data.callsInWindow == 1 ? tr("errors of 1 call")
                                         : tr("errors of %1 calls").arg(m_data.callsInWindow));
    p.setFont(scaled(base, 1.0, true));
    p.setPen(text);
    const int volumeTop = 48 + bigHeight + smallHeight + 2;
    p.drawText(QRect(numbersLeft, volumeTop, 110, QFontMetrics(p.font()).height()),
               Qt::AlignLeft | Qt::AlignVCenter, volumeText());

    // Sparkline of the failure rate.
    const QRectF spark(numbersLeft + 112, 50, right - (numbersLeft + 112), 40);
    paintSparkline(p, spark, errorColor);
    p.setFont(scaled(base, 0.75));
    p.setPen(kSecondaryText);
    p.drawText(QRectF(spark.left(), spark.bottom() + 1, spark.width(), 14), Qt::AlignLeft | Qt::AlignTop,
               tr("2 min"));

    // Bottom line: latency and rejections.
    p.setFont(smallFont);
    const int bottom = height() - 10 - smallHeight;
    p.setPen(kSecondaryText);
    const QString latency = tr("Host %1").arg(latencyText());
    const QString rejected = tr("rejected %1").arg(m_data.rejected);
    const int rejectedWidth = QFontMetrics(smallFont).horizontalAdvance(rejected);
    p.drawText(QRect(left, bottom, right - left - rejectedWidth - 8, smallHeight),
               Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(smallFont).elidedText(latency, Qt::ElideRight, right - left - rejectedWidth - 8));
    p.setPen(m_data.rejected > 0 ? QColor(0xb4, 0x23, 0x18) : kSecondaryText);
    p.drawText(QRect(right - rejectedWidth, bottom, rejectedWidth, smallHeight),
               Qt::AlignRight | Qt::AlignVCenter, rejected);
}

void BreakerTile::paintSparkline(QPainter &p, const QRectF &area, const QColor &color) const
{
    p.setPen(QPen(QColor(0xe5, 0xe7, 0xeb), 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(area);
    const qint64 end = m_data.endMs > 0
                           ? m_data.endMs
                           : (m_data.failureRateHistory.isEmpty() ? 0 : m_data.failureRateHistory.last().tMs);
    const QVector<SeriesPoint> points = m_data.failureRateHistory.pointsSince(end - kSparklineMs);
    if (points.size() < 2) {
        p.setFont(scaled(font(), 0.75));
        p.setPen(kSecondaryText);
        p.drawText(area, Qt::AlignCenter, tr("no history yet"));
        return;
    }
    const qint64 from = end - kSparklineMs;
    // Many more points than pixels at short intervals: keep each pixel column's maximum.
    const int columns = std::max(2, int(area.width()));
    QVector<double> maxima(columns, -1.0);
    for (const SeriesPoint &pt : points) {
        const int c =
            std::clamp(int(double(pt.tMs - from) / double(kSparklineMs) * (columns - 1)), 0, columns - 1);
        maxima[c] = std::max(maxima[c], std::clamp(pt.value, 0.0, 1.0));
    }
    QPainterPath line;
    QPainterPath fillPath;
    bool started = false;
    double firstX = 0;
    double lastX = 0;
    for (int c = 0; c < columns; ++c) {
        if (maxima.at(c) < 0)
            continue;
        const double x = area.left() + c * area.width() / (columns - 1);
        const double y = area.bottom() - maxima.at(c) * (area.height() - 2) - 1;
        if (!started) {
            line.moveTo(x, y);
            fillPath.moveTo(x, area.bottom());
            fillPath.lineTo(x, y);
            firstX = x;
            started = true;
        } else {
            line.lineTo(x, y);
            fillPath.lineTo(x, y);
        }
        lastX = x;
    }
    fillPath.lineTo(lastX, area.bottom());
    fillPath.lineTo(firstX, area.bottom());
    QColor fill = color;
    fill.setAlphaF(0.25f);
    p.setPen(Qt::NoPen);
    p.setBrush(fill);
    p.drawPath(fillPath);
    p.setPen(QPen(color.darker(120), 1.4));
    p.setBrush(Qt::NoBrush);
    p.drawPath(line);
}

void BreakerTile::mousePressEvent(QMouseEvent *event)
{
    // Any button selects, so a right-click's actions apply to this breaker.
    Q_EMIT clicked(m_data.name);
    QWidget::mousePressEvent(event);
}

void BreakerTile::enterEvent(QEnterEvent *event)
{
    m_hovered = true;
    update();
    QWidget::enterEvent(event);
}

void BreakerTile::leaveEvent(QEvent *event)
{
    m_hovered = false;
    update();
    QWidget::leaveEvent(event);
}

} // namespace vega::ui
