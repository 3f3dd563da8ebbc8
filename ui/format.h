#pragma once

#include "metrics.h"
#include "systemdiagnostics.h"

#include <QString>

namespace vega::ui {

/// What every page shows for a value it does not have: never a made-up number.
QString missingValueText();
/// What a reading the platform cannot provide shows.
QString unavailableText();

/// "512 B", "1.5 KiB", "3.20 GiB" (binary units, as /proc reports memory).
QString formatBytes(double bytes);
/// "0.42 ms", "12.3 ms", "1.25 s", "3 min 20 s", "2 h 05 min".
QString formatDurationMs(double ms);
/// A raw metric value in its unit, for people ("12.5 %", "1.2 MiB/s", "3.4 ms").
QString formatValue(double value, Unit unit);
/// A diagnostics reading; unavailable readings say so.
QString formatDiagnosticValue(const DiagnosticValue &value);
/// A per-second rate for people: "12.3 req/s", "0.25 req/s", "1.2k req/s".
QString formatRate(double perSecond, const QString &unit = QStringLiteral("req/s"));
/// A ratio 0-1 as a percentage: "42.5 %".
QString formatRatioPercent(double ratio);
/// Local wall-clock time "HH:mm:ss" of a UTC epoch-ms instant; the missing text when 0.
QString formatClockTime(qint64 wallMs);

} // namespace vega::ui
