#pragma once

#include "config.h"
#include "snapshot.h"

#include <QFlags>
#include <QJsonArray>
#include <QJsonObject>
#include <QJsonValue>
#include <QList>
#include <QString>
#include <QStringList>

namespace vega {

/// Version of the report layout; bumped when a field changes meaning.
constexpr int kReportFormatVersion = 1;

/// What a redacted secret is replaced with, in every format.
inline const char kRedacted[] = "[redacted]";

/// The report formats; the file extension chooses one (see docs/REPORTS.md).
enum class ReportFormat { Json, Html, Pdf, Zip };

/// The format `path` asks for by its extension (case-insensitive); false when the extension
/// is none of .json, .html (.htm), .pdf, .zip.
bool reportFormatForPath(const QString &path, ReportFormat *format);
/// "json", "html", "pdf", "zip".
QString reportFormatExtension(ReportFormat format);
/// "JSON", "HTML", "PDF", "ZIP support bundle".
QString reportFormatTitle(ReportFormat format);

/**
 * The parts of a report a caller can leave out. Every format honours the flags; which file
 * or block each one becomes per format is in docs/REPORTS.md. The report header (format,
 * version, generation time) and, in a bundle, manifest.json and snapshot.json are always
 * written.
 */
enum class ReportSection : quint32 {
    Summary = 1u << 0,    // version, host, time, uptime, overall health, demo or not
    Health = 1u << 1,     // health per diagnostics category, with reasons
    EventLoop = 1u << 2,  // lag summary and recent stalls
    Requests = 1u << 3,   // HTTP totals, top coalesced keys
    Metrics = 1u << 4,    // every metric (JSON, HTML table, metrics.prom)
    History = 1u << 5,    // chart series over the history window (charts, history/*.csv)
    Journal = 1u << 6,    // recent events, or the stored journal over the window
    Config = 1u << 7,     // effective configuration, secrets redacted
    Validation = 1u << 8, // configuration findings given by the caller
    Sql = 1u << 9,        // storage status, top statements, slow queries
    Breakers = 1u << 10,  // breaker states and transitions
    Pools = 1u << 11,     // connection pools per host
    System = 1u << 12,    // diagnostics readings (CPU, memory, disk, ...)
};
Q_DECLARE_FLAGS(ReportSections, ReportSection)

/// Every section, in the order reports show them.
QList<ReportSection> allReportSections();
ReportSections allReportSectionFlags();
/// Stable lowercase id ("summary", "event_loop", ...), used in JSON and on command lines.
QString reportSectionId(ReportSection section);
/// For people: "Summary", "Event loop", ...
QString reportSectionTitle(ReportSection section);
/// Parses a comma-separated list of section ids ("all" for every one). Returns false with an
/// error naming the unknown id.
bool parseReportSections(const QString &text, ReportSections *sections, QString *error);
QStringList reportSectionIds(ReportSections sections);

/// The whole snapshot as JSON: engine info, event loop, diagnostics, every metric and the
/// recent events. Times are ISO-8601 UTC; durations carry their unit in the key. The
/// effective configuration is redacted (redactSecrets()).
QJsonObject snapshotToJson(const Snapshot &snapshot);
/// Only the chosen sections (the header fields are always there).
QJsonObject snapshotToJson(const Snapshot &snapshot, ReportSections sections);

/// Parts of snapshotToJson() that bundles write as files of their own.
QJsonObject diagnosticsToJson(const DiagnosticsReport &report, bool withValues = true);
QJsonObject databaseToJson(const DatabaseSummary &database);
QJsonArray breakersToJson(const QList<BreakerInfo> &breakers);
QJsonArray poolsToJson(const QList<HostPoolStats> &pools);

/// Configuration findings (ConfigLoader) as the report's "validation" object:
/// {"ran": true, "ok": bool, "errors": n, "findings": [...]}; a value given for a secret key
/// is redacted.
QJsonObject configFindingsToJson(const QList<ConfigFinding> &findings);

/**
 * Secret redaction, applied to everything a report copies from the configuration:
 * - a key whose name has a word token, password, passwd, pwd, secret, key, apikey,
 *   credential(s), auth, authorization, cookie or bearer (words split at '_', '-', '.' and
 *   case changes: "api_key", "apiKey", "X-Api-Token") has its value replaced by kRedacted,
 *   whatever its type; except a string that is only ${NAME} references (optionally after a
 *   scheme word such as "Bearer"), which is kept as written (never expanded), and a key whose
 *   last word is "env" (e.g. password_env) whose value is an environment variable *name*;
 * - any string that looks like a credential (looksLikeSecret()) is replaced whole;
 * - a password in a URL ("scheme://user:pw@host") is replaced inside the string.
 * `redactedPaths` collects the dotted paths of what was replaced.
 */
QJsonValue redactSecrets(const QJsonValue &value, QStringList *redactedPaths = nullptr);
bool isSecretKeyName(const QString &key);
/// A bearer/basic authorization value, a JWT, or a well-known API token prefix.
bool looksLikeSecret(const QString &value);
/// Free text (event messages, errors) with bearer tokens, JWTs and URL passwords replaced.
QString scrubSecrets(const QString &text);

/// "YYYY-MM-DDTHH:mm:ss.zzzZ".
QString reportIsoUtc(qint64 wallMs);

/**
 * Writes a diagnostic report of `snapshot` to `path` synchronously, with every section and
 * no stored history (charts from the snapshot's in-memory series); the format follows the
 * extension: .json (snapshotToJson()), .html, .zip. PDF needs a renderer and the history
 * store's asynchronous API: use ReportBuilder. The file is written atomically (a reader
 * never sees half a report). Returns false with a message naming the path and the reason.
 */
bool writeReport(const Snapshot &snapshot, const QString &path, QString *error);

/// Checks up front that `path` can be written with a supported format, without leaving a
/// file behind, so a long run does not fail only at its end. `.pdf` is accepted only when
/// the caller says a PDF renderer is available.
bool checkReportPath(const QString &path, QString *error, bool pdfAvailable = false);

} // namespace vega

Q_DECLARE_OPERATORS_FOR_FLAGS(vega::ReportSections)
