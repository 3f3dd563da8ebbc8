#pragma once

#include "configvalidator.h"
#include "integrations.h"
#include "memorymonitor.h"
#include "streamrelay.h"

#include <QJsonArray>
#include <QJsonObject>

namespace vega {

/// JSON of the snapshot's newer sections, shared by reports and the admin API. Times are
/// ISO-8601 UTC, units are in the keys; no secret is ever part of these structures.
QJsonArray integrationsToJson(const QList<IntegrationStatus> &integrations);
QJsonObject memoryToJson(const MemorySummary &memory);
QJsonObject streamsToJson(const StreamRelaySummary &streams);
/// A validation run; null when none ran.
QJsonValue validationToJson(const ValidationReport *report);

} // namespace vega
