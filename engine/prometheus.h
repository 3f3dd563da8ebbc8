#pragma once

#include "metrics.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <QStringList>

namespace vega {

/// How prometheusText() names and labels what it writes.
struct PrometheusOptions {
    /// Put in front of every family name (sanitised like a name; may be empty).
    QString prefix = QStringLiteral("vega_");
    /// Added to every sample, e.g. {{"instance", "host:port"}}. A label the metric has itself
    /// wins over a constant label of the same (sanitised) name.
    Labels constantLabels;
};

/**
 * Renders a snapshot in the Prometheus text exposition format 0.0.4
 * (Content-Type: text/plain; version=0.0.4; charset=utf-8). The rules are in
 * docs/METRICS_EXPORT.md; in short:
 *
 * - Family name = prefix + name sanitised to [a-zA-Z_:][a-zA-Z0-9_:]* (every run of other
 *   characters, colons included, becomes one '_'), then the base-unit suffix
 *   (`_seconds`, `_bytes`, `_bytes_per_second`, `_ratio`) unless the name already ends in it
 *   (a contradicting `_ns`/`_ms`/`_percent` suffix is replaced), then `_total` for counters.
 * - Values in base units: nanoseconds and milliseconds become seconds, percent becomes a
 *   0–1 ratio. Counters export the cumulative `total` (never reset by "reset stats").
 * - Histograms export the fixed bounds of prometheusBucketBounds() for their unit, computed
 *   from the cumulative log buckets, plus `+Inf`, `_sum` (base unit) and `_count`.
 * - One `# HELP` and one `# TYPE` per family, families sorted by name, samples of a family
 *   contiguous and sorted by their label text, so the output is deterministic.
 *
 * Metrics that cannot be written without breaking the format (a family name or sample name
 * already taken by a metric of another type, or a duplicate series after sanitising) are
 * left out; if @p problems is given, one line per metric left out is appended to it.
 */
QByteArray prometheusText(const MetricsSnapshot &snapshot, const PrometheusOptions &options = {},
                          QStringList *problems = nullptr);

/// The `le` bounds (in base units, ascending, without +Inf) a histogram of @p unit exports.
QList<double> prometheusBucketBounds(Unit unit);

/// The family name a metric gets (prefix, sanitising, unit and `_total` suffixes).
QString prometheusFamilyName(const QString &name, MetricType type, Unit unit,
                             const QString &prefix = QStringLiteral("vega_"));

/// @p name with every run of characters outside [a-zA-Z0-9_] replaced by one '_', a leading
/// digit prefixed with '_', "__" at the start (reserved) reduced to "_"; never empty.
QString prometheusLabelName(const QString &name);

} // namespace vega
