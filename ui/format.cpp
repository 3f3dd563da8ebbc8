#include "format.h"

#include <QCoreApplication>
#include <QDateTime>

#include <cmath>

namespace vega::ui {

namespace {
QString trimmedNumber(double v, int decimals)
{
    return QString::number(v, 'f', decimals);
}

int decimalsFor(double v)
{
    const double a = std::abs(v);
    if (a >= 100)
        return 0;
    if (a >= 10)
        return 1;
    return 2;
}
} // namespace

QString missingValueText()
{
    return QStringLiteral("—");
}

QString unavailableText()
{
    return QCoreApplication::translate("vega::ui::Format", "unavailable");
}

QString formatBytes(double bytes)
{
    if (!std::isfinite(bytes))
        return missingValueText();
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = bytes;
    int u = 0;
    while (std::abs(v) >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    if (u == 0)
        return QString::number(qint64(std::llround(v))) + QStringLiteral(" B");
    return trimmedNumber(v, decimalsFor(v)) + QLatin1Char(' ') + QLatin1String(units[u]);
}

QString formatDurationMs(double ms)
{
    if (!std::isfinite(ms))
        return missingValueText();
    if (std::abs(ms) < 1000)
        return trimmedNumber(ms, decimalsFor(ms)) + QStringLiteral(" ms");
    const double s = ms / 1000;
    if (std::abs(s) < 60)
        return trimmedNumber(s, decimalsFor(s)) + QStringLiteral(" s");
    const qint64 totalSeconds = qint64(std::llround(s));
    if (totalSeconds < 3600)
        return QStringLiteral("%1 min %2 s")
            .arg(totalSeconds / 60)
            .arg(totalSeconds % 60, 2, 10, QLatin1Char('0'));
    const qint64 totalMinutes = totalSeconds / 60;
    if (totalMinutes < 24 * 60)
        return QStringLiteral("%1 h %2 min")
            .arg(totalMinutes / 60)
            .arg(totalMinutes % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 d %2 h").arg(totalMinutes / (24 * 60)).arg((totalMinutes / 60) % 24);
}

QString formatValue(double value, Unit unit)
{
    if (!std::isfinite(value))
        return missingValueText();
    switch (unit) {
    case Unit::Nanoseconds:
        return formatDurationMs(value / 1e6);
    case Unit::Milliseconds:
        return formatDurationMs(value);
    case Unit::Seconds:
        return formatDurationMs(value * 1000);
    case Unit::Bytes:
        return formatBytes(value);
    case Unit::BytesPerSecond:
        return formatBytes(value) + QStringLiteral("/s");
    case Unit::Percent:
        return trimmedNumber(value, 1) + QStringLiteral(" %");
    case Unit::Ratio:
        return trimmedNumber(value, 2);
    case Unit::None:
        break;
    }
    if (value == std::floor(value) && std::abs(value) < 1e15)
        return QString::number(qint64(value));
    return trimmedNumber(value, decimalsFor(value));
}

QString formatRate(double perSecond, const QString &unit)
{
    if (!std::isfinite(perSecond))
        return missingValueText();
    const QString number = std::abs(perSecond) >= 10000
                               ? trimmedNumber(perSecond / 1000, 1) + QLatin1Char('k')
                               : trimmedNumber(perSecond, std::abs(perSecond) >= 100 ? 0 : 1);
    return number + QLatin1Char(' ') + unit;
}

QString formatRatioPercent(double ratio)
{
    return formatValue(ratio * 100, Unit::Percent);
}

QString formatDiagnosticValue(const DiagnosticValue &value)
{
    if (!value.available)
        return unavailableText();
    if (!value.text.isEmpty())
        return value.text;
    return formatValue(value.number, value.unit);
}

QString formatClockTime(qint64 wallMs)
{
    if (wallMs <= 0)
        return missingValueText();
    return QDateTime::fromMSecsSinceEpoch(wallMs).toLocalTime().toString(QStringLiteral("HH:mm:ss"));
}

} // namespace vega::ui
