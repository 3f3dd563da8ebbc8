#pragma once

#include "batchwriter.h"
#include "report.h"
#include "snapshot.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QTimer>
#include <QVector>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

class QIODevice;
class QThread;

namespace vega {

class HistoryStore;

/// One chart of a report: a series derived from the metrics over the history window.
struct ReportChart {
    QString id;                  // file-name safe, e.g. "event_loop_lag_p99" (history/<id>.csv)
    QString title;               // "Event-loop lag p99"
    QString unit;                // "ms", "per_s" or "percent"
    QString source;              // "history" (the store) or "memory" (the snapshot's series)
    qint64 resolutionMs = 0;     // store resolution; 0 for the snapshot's series (as captured)
    QVector<SeriesPoint> points; // oldest first, UTC ms

    /// The CSV value column: "<id>_<unit>", e.g. "event_loop_lag_p99_ms".
    QString column() const { return id + QLatin1Char('_') + unit; }
};

/// Chart geometry in SVG user units (the PDF paints the same layout, scaled).
constexpr double kReportChartWidth = 720;
constexpr double kReportChartHeight = 220;
constexpr double kReportPlotLeft = 60;
constexpr double kReportPlotRight = 12;
constexpr double kReportPlotTop = 12;
constexpr double kReportPlotBottom = 30;

/// Axis layout shared by the SVG charts and the PDF's painted ones.
struct ReportChartAxis {
    double yMin = 0;
    double yMax = 1;
    QList<double> yTicks;
    qint64 xFromMs = 0;
    qint64 xToMs = 0;
    QList<qint64> xTicks; // UTC ms
    /// Label of a y tick (as many decimals as the tick step needs) and of an x tick (UTC).
    QString yLabel(double value) const;
    QString xLabel(qint64 wallMs) const;
};
ReportChartAxis reportChartAxis(const ReportChart &chart, qint64 fromMs, qint64 toMs);

/// Everything a report is made of, gathered before a format is rendered. Pure data: the
/// renderers below are thread-safe functions of it.
struct ReportContent {
    SnapshotPtr snapshot; // never null for the renderers
    ReportSections sections = allReportSectionFlags();
    qint64 generatedWallMs = 0;
    QString hostName;
    qint64 historyFromMs = 0; // the chart / journal window, UTC ms
    qint64 historyToMs = 0;
    QList<ReportChart> charts;
    QString journalSource;                 // "store" or "snapshot"
    QVector<JournalEntry> journal;         // oldest first
    bool journalTruncated = false;         // the store had more entries in the window
    std::optional<QJsonObject> validation; // none: validation was not run
};

/// Content from the snapshot alone: charts from its in-memory series over the last
/// `historyWindowMs` before the snapshot, the journal from its recent events.
ReportContent reportContentFromSnapshot(const SnapshotPtr &snapshot, ReportSections sections,
                                        qint64 historyWindowMs);
/// The report's charts from the snapshot's in-memory series in [fromMs, toMs].
QList<ReportChart> reportChartsFromSnapshot(const Snapshot &snapshot, qint64 fromMs, qint64 toMs);

/// The .json report: snapshotToJson() of the sections plus "history", "journal" and
/// "validation" when those sections are chosen.
QByteArray renderReportJson(const ReportContent &content);

enum class ReportHtmlCharts {
    InlineSvg,     // <svg> elements (the .html file)
    ImageResources // <img src="chart:<id>"> for a renderer that paints them (the PDF)
};
/// The self-contained HTML report (inline CSS, no script, no external resource).
QString renderReportHtml(const ReportContent &content, ReportHtmlCharts charts = ReportHtmlCharts::InlineSvg);
/// One chart as an inline SVG element.
QString reportChartSvg(const ReportChart &chart, qint64 fromMs, qint64 toMs);
/// "time_utc,<column>" then one row per point, ISO-8601 UTC with milliseconds.
QByteArray reportChartCsv(const ReportChart &chart);
/// "time_utc,kind,source,message,duration_ms,correlation_id".
QByteArray reportJournalCsv(const QVector<JournalEntry> &journal);

/// One file of a support bundle.
struct BundleFile {
    QString name;
    QByteArray data;
};
/// The bundle's files for the chosen sections, manifest.json first (see docs/REPORTS.md).
/// `cancelled` is polled between files; when it says so, an empty list is returned.
QList<BundleFile> supportBundleFiles(const ReportContent &content,
                                     const std::function<bool()> &cancelled = {});
/// Writes the files as a ZIP archive to `out`. False with `error` naming the problem.
bool writeSupportBundle(const QList<BundleFile> &files, qint64 wallMs, QIODevice *out, QString *error,
                        const std::function<bool()> &cancelled = {});

/// What a PDF renderer is given: the report as printable HTML whose charts are
/// <img src="chart:<id>"> references to `charts` (ReportHtmlCharts::ImageResources).
struct ReportDocument {
    QString title;
    QString html;
    QList<ReportChart> charts;
    qint64 fromMs = 0; // the charts' time axis
    qint64 toMs = 0;
};

/**
 * Turns a ReportDocument into PDF bytes on `out` (open for writing). The engine does not
 * link QtGui, so the program supplies this (ui/reportpdf.h: writeReportPdf). It is called on
 * the builder's worker thread, must not touch widgets, and returns false with `error` on
 * failure.
 */
using PdfRenderer = std::function<bool(const ReportDocument &document, QIODevice *out, QString *error)>;

struct ReportRequest {
    QString path; // the format follows the extension
    ReportSections sections = allReportSectionFlags();
    qint64 historyWindowMs = 15 * 60 * 1000; // charts, CSV and journal cover this much
    SnapshotPtr snapshot;                    // required
    /// Stored history and journal; null: the snapshot's in-memory series and events. Must
    /// outlive the run (a destroyed store is noticed and the snapshot used instead).
    HistoryStore *history = nullptr;
    /// Configuration findings (configFindingsToJson()); none: "validation was not run".
    std::optional<QJsonObject> validation;
};

/**
 * Writes a report in any format without blocking the caller's event loop.
 *
 * start() gathers on the caller's thread through the HistoryStore's asynchronous API (a
 * flush, then the chart series and the journal over the window; a store that does not answer
 * within storeTimeoutMs is given up and the snapshot's series used), then renders, compresses,
 * hashes and writes on a worker thread. The file is written through QSaveFile: it appears
 * complete at the end or not at all. progress() reports along the way; finished() comes
 * exactly once per accepted start(), always after start() returned, with the absolute path or
 * the error ("cancelled" after cancel()).
 *
 * Destroying a builder while it runs cancels and waits for the worker (which stops at its next
 * step; a PDF renderer in progress is waited for).
 */
class ReportBuilder : public QObject {
    Q_OBJECT
public:
    explicit ReportBuilder(QObject *parent = nullptr);
    ~ReportBuilder() override;

    /// Enables .pdf. Called on the worker thread (see PdfRenderer).
    void setPdfRenderer(PdfRenderer renderer);
    bool canWritePdf() const { return bool(m_pdfRenderer); }
    /// How long gathering waits for the store (default 20 s).
    void setStoreTimeoutMs(int ms) { m_storeTimeoutMs = ms; }

    /// Starts a report. Returns false (and emits nothing) when one is already running; a bad
    /// request (path, format, no snapshot) is reported through finished(false, error).
    bool start(const ReportRequest &request);
    /// Stops the running report; no file is left. finished(false, "cancelled") follows.
    void cancel();
    bool isRunning() const { return m_running; }

Q_SIGNALS:
    void progress(int percent, const QString &step);
    void finished(bool ok, const QString &errorOrPath);

private:
    struct Job;
    struct Gather;
    void gatherFromStore();
    void loadFromStore();
    void finishGathering();
    void startWorker();
    void onWorkerFinished();
    void finish(bool ok, const QString &errorOrPath);
    void report(int percent, const QString &step);
    static void runJob(Job &job); // on the worker thread

    PdfRenderer m_pdfRenderer;
    int m_storeTimeoutMs = 20000;
    bool m_running = false;
    quint64 m_generation = 0; // store answers for an earlier run are ignored
    std::shared_ptr<std::atomic_bool> m_cancelled;
    std::unique_ptr<Gather> m_gather;
    std::shared_ptr<Job> m_job;
    std::unique_ptr<QThread> m_thread;
    QTimer m_storeTimer;
};

} // namespace vega
