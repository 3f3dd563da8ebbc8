#pragma once

#include "snapshot.h"

#include <QJsonObject>
#include <QString>

#include <limits>

namespace vega {

/// The version snapshotToWire() writes and the only one snapshotFromWire() reads.
constexpr int kSnapshotWireVersion = 1;

/// Bounds snapshotFromWire() enforces on hostile input (an array beyond one is an error).
constexpr int kSnapshotWireMaxMetrics = 100000;
constexpr int kSnapshotWireMaxListItems = 100000;    // any other list (events, pools, findings...)
constexpr int kSnapshotWireMaxSeriesPoints = 100000; // per series (above metrics.series_capacity's 86400)

struct SnapshotWireOptions {
    /// Series points with tMs > seriesSinceMs are included in each metric's series. The default
    /// (max) sends no points: the receiver appends the metric's current values itself. Use
    /// std::numeric_limits<qint64>::min() for every point (a console's first message).
    qint64 seriesSinceMs = std::numeric_limits<qint64>::max();
    /// Carry each histogram's cumulative bucket counts (MetricSnapshot::cumulative, what the
    /// Prometheus export reads), sparse: only non-empty buckets. Off, the receiver's
    /// `cumulative` is null.
    bool histogramBuckets = true;
};

/**
 * The snapshot as one JSON object {"version":1, ...}, lossless: every field of every section,
 * enums as stable lowercase ids, times as UTC ms integers, counts as integers (a quint64
 * above 2^63-1 as a decimal string), doubles in shortest round-trip form with NaN and
 * infinities as the strings "nan", "inf", "-inf". No secrets: the snapshot holds none
 * (EngineInfo::effectiveConfig is already redacted by the engine).
 *
 * Layout: the top level has "version" and one key per Snapshot member ("metrics",
 * "diagnostics", "eventLoop", "http", "database", "integrations", "memory", "streams",
 * "validation" (null when none ran), "info"); inside, keys are the C++ field names. A metric
 * omits fields at their default (empty labels/help, unit none, zero numbers, empty
 * summaries); labels are a flat array [key, value, key, value...]. Series points, when sent,
 * are under the metric's "series" by field name ("rate", "p50"...) as
 * {"t": [first tMs, then deltas...], "v": [values...]}, and "metrics" then carries
 * "seriesSinceMs". Everything else (events, slow log, findings...) is sent whole each time:
 * each message stands alone apart from the series.
 *
 * Size: the demo engine's snapshot (about 240 metrics) is about 65 KB of compact JSON without
 * series points, of which histogram buckets are about 4 KB; encoding takes about 1 ms.
 */
QJsonObject snapshotToWire(const Snapshot &snapshot, const SnapshotWireOptions &options = {});

/**
 * Rebuilds a snapshot. Each metric's series continue `previous`'s series for the same metric
 * (name + labels, same type) when given: points from the message newer than the previous last
 * point are appended, and when the message carries no points (it was written with the
 * default seriesSinceMs) the receiver appends one point at the snapshot's wallMs from the
 * metric's current value, as MetricsRegistry::capture() does (counter: rate; gauge: value;
 * histogram: rate, and interval p50/p90/p99/max/mean when the interval saw observations),
 * unless the series already has a point at or after that time. Series hold at most
 * `seriesCapacity` points (the newest; below 1 counts as 1). A metric absent from `previous`
 * (or `previous` null) starts its series from this message alone.
 *
 * Missing keys inside a section take the field's default (an older sender); the top-level
 * sections, "version" and each metric's "name" and "type" are required. Returns null and sets
 * *error (naming the field path and the value) on malformed input, an unknown enum id, an
 * unknown version or an array beyond the limits above; never crashes on hostile input.
 */
SnapshotPtr snapshotFromWire(const QJsonObject &wire, const Snapshot *previous, int seriesCapacity,
                             QString *error);

} // namespace vega
