#pragma once

#include "snapshot.h"

#include <QJsonObject>
#include <QString>

namespace vega {

/// Version of the report layout; bumped when a field changes meaning.
constexpr int kReportFormatVersion = 1;

/// The whole snapshot as JSON: engine info, event loop, diagnostics, every metric and the
/// recent events. Times are ISO-8601 UTC; durations carry their unit in the key.
QJsonObject snapshotToJson(const Snapshot &snapshot);

/**
 * Writes a diagnostic report of `snapshot` to `path`; the format follows the extension
 * (".json" today). The file is written atomically (a reader never sees half a report).
 * Returns false with a message naming the path and the reason on failure.
 */
bool writeReport(const Snapshot &snapshot, const QString &path, QString *error);

/// Checks up front that `path` can be written with a supported format, without leaving a
/// file behind, so a long run does not fail only at its end.
bool checkReportPath(const QString &path, QString *error);

} // namespace vega
