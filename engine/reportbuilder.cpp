#include "reportbuilder.h"


#include "historystore.h"
#include "prometheus.h"
#include "vega_version.h"
#include "zipwriter.h"
#include "statusjson.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLoggingCategory>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSysInfo>
#include <QThread>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

Q_LOGGING_CATEGORY(lcReport, "vega.report")

namespace vega {

namespace {

constexpr int kJournalLimit = 10000; // journal entries read from the store per report
constexpr int kHtmlJournalRows = 300;
constexpr int kHtmlStatements = 25;
constexpr int kHtmlSlowQueries = 50;
constexpr int kHtmlStalls = 30;

// ---- chart series -------------------------------------------------------------------------

struct Term {
    QString name;
    Labels filter; // labels the metric must have
    SeriesField field = SeriesField::Value;
};

/// How a chart derives from metrics: scale * sum(num), or scale * sum(num) / sum(den) (plus
/// sum(num) in the denominator when denAddsNum).
struct ChartSpec {
    QString id;
    QString title;
    QString unit;
    QList<Term> num;
    QList<Term> den;
    bool denAddsNum = false;
    double scale = 1.0;
    bool firstOnly = false; // one metric (the monitored thread's), not a sum
};

/// One concrete registry series a chart reads.
struct Component {
    int chart = 0;
    bool den = false;
    QString name;
    Labels labels;
    SeriesField field = SeriesField::Value;
};

QList<ChartSpec> chartSpecs(const Snapshot &snapshot)
{
    const Labels httpCache{{QStringLiteral("cache"), QStringLiteral("http")}};
    Labels thread;
    if (!snapshot.eventLoop.thread.isEmpty())
        thread.append({QStringLiteral("thread"), snapshot.eventLoop.thread});
    QList<ChartSpec> specs;
    specs.append({QStringLiteral("event_loop_lag_p99"),
                  QStringLiteral("Event-loop lag p99"),
                  QStringLiteral("ms"),
                  {{QStringLiteral("event_loop_lag"), thread, SeriesField::P99}},
                  {},
                  false,
                  1e-6,
                  true});
    specs.append({QStringLiteral("http_request_rate"),
                  QStringLiteral("Request rate"),
                  QStringLiteral("per_s"),
                  {{QStringLiteral("http_requests"), {}, SeriesField::Rate}},
                  {},
                  false,
                  1.0,
                  false});
    specs.append({QStringLiteral("http_backend_rate"),
                  QStringLiteral("Backend request rate"),
                  QStringLiteral("per_s"),
                  {{QStringLiteral("http_backend_requests"), {}, SeriesField::Rate}},
                  {},
                  false,
                  1.0,
                  false});
    specs.append({QStringLiteral("cache_hit_ratio"),
                  QStringLiteral("Cache hit ratio"),
                  QStringLiteral("percent"),
                  {{QStringLiteral("cache_hits"), httpCache, SeriesField::Rate}},
                  {{QStringLiteral("cache_misses"), httpCache, SeriesField::Rate}},
                  true,
                  100.0,
                  false});
    specs.append({QStringLiteral("coalesce_ratio"),
                  QStringLiteral("Coalesce ratio"),
                  QStringLiteral("percent"),
                  {{QStringLiteral("coalescer_waiters"), {}, SeriesField::Rate}},
                  {{QStringLiteral("http_requests"), {}, SeriesField::Rate}},
                  false,
                  100.0,
                  false});
    specs.append({QStringLiteral("storage_rows_rate"),
                  QStringLiteral("Storage rows written"),
                  QStringLiteral("per_s"),
                  {{QStringLiteral("storage_rows"), {}, SeriesField::Rate}},
                  {},
                  false,
                  1.0,
                  false});
    return specs;
}

bool hasLabels(const MetricSnapshot &m, const Labels &filter)
{
    for (const auto &l : filter)
        if (m.label(l.first) != l.second)
            return false;
    return true;
}

QList<Component> chartComponents(const QList<ChartSpec> &specs, const MetricsSnapshot *metrics)
{
    QList<Component> out;
    if (!metrics)
        return out;
    for (int c = 0; c < specs.size(); ++c) {
        const ChartSpec &spec = specs[c];
        for (int side = 0; side < 2; ++side) {
            const QList<Term> &terms = side == 0 ? spec.num : spec.den;
            for (const Term &t : terms) {
                const QList<const MetricSnapshot *> all = metrics->findAll(t.name);
                for (const MetricSnapshot *m : all) {
                    if (!hasLabels(*m, t.filter))
                        continue;
                    out.append({c, side == 1, m->name, m->labels, t.field});
                    if (spec.firstOnly)
                        break;
                }
            }
        }
    }
    return out;
}

qint64 bucketOf(qint64 tMs, qint64 bucketMs)
{
    if (bucketMs <= 1)
        return tMs;
    const qint64 q = tMs / bucketMs - ((tMs % bucketMs) < 0 ? 1 : 0);
    return q * bucketMs;
}

ReportChart combineChart(const ChartSpec &spec, const QList<QVector<SeriesPoint>> &num,
                         const QList<QVector<SeriesPoint>> &den, qint64 bucketMs)
{
    auto sums = [bucketMs](const QList<QVector<SeriesPoint>> &series) {
        std::map<qint64, double> out;
        for (const QVector<SeriesPoint> &points : series)
            for (const SeriesPoint &p : points)
                if (std::isfinite(p.value))
                    out[bucketOf(p.tMs, bucketMs)] += p.value;
        return out;
    };
    ReportChart chart;
    chart.id = spec.id;
    chart.title = spec.title;
    chart.unit = spec.unit;
    const std::map<qint64, double> n = sums(num);
    if (spec.den.isEmpty()) {
        for (const auto &[t, v] : n)
            chart.points.append({t, v * spec.scale});
        return chart;
    }
    const std::map<qint64, double> d = sums(den);
    for (const auto &[t, dv] : d) {
        const auto it = n.find(t);
        const double nv = it != n.end() ? it->second : 0.0;
        const double denominator = dv + (spec.denAddsNum ? nv : 0.0);
        if (denominator > 0)
            chart.points.append({t, spec.scale * nv / denominator});
    }
    return chart;
}

/// Charts from the snapshot's series, or from store answers where every component answered.
QList<ReportChart> buildCharts(const Snapshot &snapshot, qint64 fromMs, qint64 toMs,
                               const QList<std::optional<SeriesHistory>> *stored)
{
    const QList<ChartSpec> specs = chartSpecs(snapshot);
    const QList<Component> components = chartComponents(specs, snapshot.metrics.get());
    QList<ReportChart> charts;
    for (int c = 0; c < specs.size(); ++c) {
        bool fromStore = stored != nullptr;
        bool any = false;
        qint64 resolution = 0;
        for (int i = 0; i < components.size(); ++i) {
            if (components[i].chart != c)
                continue;
            any = true;
            if (!stored || i >= stored->size() || !(*stored)[i] || !(*stored)[i]->ok() ||
                !(*stored)[i]->found) {
                fromStore = false;
                break;
            }
            resolution = std::max(resolution, (*stored)[i]->resolutionMs);
        }
        fromStore = fromStore && any;
        QList<QVector<SeriesPoint>> num, den;
        for (int i = 0; i < components.size(); ++i) {
            const Component &comp = components[i];
            if (comp.chart != c)
                continue;
            QVector<SeriesPoint> points;
            if (fromStore) {
                for (const HistoryPoint &p : (*stored)[i]->points)
                    if (p.tMs >= fromMs && p.tMs <= toMs)
                        points.append({p.tMs, p.value});
            } else if (const MetricSnapshot *m = snapshot.metrics->find(comp.name, comp.labels)) {
                for (const SeriesPoint &p : m->seriesFor(comp.field).pointsSince(fromMs))
                    if (p.tMs <= toMs)
                        points.append(p);
            }
            (comp.den ? den : num).append(points);
        }
        ReportChart chart =
            combineChart(specs[c], num, den, fromStore ? std::max<qint64>(resolution, 1000) : 1);
        chart.source = fromStore ? QStringLiteral("history") : QStringLiteral("memory");
        chart.resolutionMs = fromStore ? resolution : 0;
        charts.append(chart);
    }
    return charts;
}

QVector<JournalEntry> journalFromSnapshot(const Snapshot &snapshot, qint64 fromMs)
{
    QVector<JournalEntry> out;
    if (!snapshot.metrics)
        return out;
    for (const EngineEvent &e : snapshot.metrics->events)
        if (e.wallMs >= fromMs)
            out.append({e.wallMs, e.kind, e.source, e.message, e.durationMs, QString()});
    return out;
}

// ---- formatting ---------------------------------------------------------------------------

QString esc(const QString &text)
{
    return text.toHtmlEscaped();
}

QString num(double v, int decimals = 2)
{
    if (!std::isfinite(v))
        return QStringLiteral("–");
    QString s = QString::number(v, 'f', decimals);
    if (s.contains(QLatin1Char('.'))) {
        while (s.endsWith(QLatin1Char('0')))
            s.chop(1);
        if (s.endsWith(QLatin1Char('.')))
            s.chop(1);
    }
    return s;
}

QString bytesText(double bytes)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (std::fabs(bytes) >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    return num(bytes, u == 0 ? 0 : 1) + QLatin1Char(' ') + QLatin1String(units[u]);
}

QString durationText(double seconds)
{
    if (seconds < 0)
        return QStringLiteral("–");
    const qint64 s = qint64(seconds);
    const qint64 d = s / 86400, h = (s % 86400) / 3600, m = (s % 3600) / 60, r = s % 60;
    if (d > 0)
        return QStringLiteral("%1 d %2 h %3 min").arg(d).arg(h).arg(m);
    if (h > 0)
        return QStringLiteral("%1 h %2 min %3 s").arg(h).arg(m).arg(r);
    if (m > 0)
        return QStringLiteral("%1 min %2 s").arg(m).arg(r);
    return QStringLiteral("%1 s").arg(num(seconds, 1));
}

QString unitLabel(const QString &unit)
{
    if (unit == QLatin1String("per_s"))
        return QStringLiteral("/s");
    if (unit == QLatin1String("percent"))
        return QStringLiteral("%");
    return unit;
}

QString timeText(qint64 wallMs)
{
    if (wallMs <= 0)
        return QStringLiteral("–");
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC)
               .toString(QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz")) +
           QStringLiteral(" UTC");
}

QString healthBadge(Health h, const QString &text = QString())
{
    struct Look {
        const char *label;
        const char *fg;
        const char *bg;
    };
    static constexpr Look kLooks[] = {
        {"Unknown", "#ffffff", "#757575"}, // Health::Unknown
        {"OK", "#ffffff", "#2e7d32"},      // Health::Ok
        {"Warning", "#000000", "#f9a825"}, // Health::Warning
        {"Critical", "#ffffff", "#c62828"} // Health::Critical
    };
    const Look &look = kLooks[std::clamp(int(h), 0, 3)];
    return QStringLiteral(
               "<span class=\"badge\" style=\"color:%1;background-color:%2\">&nbsp;%3&nbsp;</span>")
        .arg(QLatin1String(look.fg), QLatin1String(look.bg),
             text.isEmpty() ? QString::fromLatin1(look.label) : esc(text));
}

QString breakerBadge(const QString &state)
{
    Health h = Health::Unknown;
    if (state == QLatin1String("closed") || state == QLatin1String("forced_closed"))
        h = Health::Ok;
    else if (state == QLatin1String("half_open"))
        h = Health::Warning;
    else if (state == QLatin1String("open") || state == QLatin1String("forced_open"))
        h = Health::Critical;
    return healthBadge(h, state);
}

/// A table; cells are HTML already (escape text before).
QString table(const QStringList &headers, const QList<QStringList> &rows,
              const QString &cls = QStringLiteral("grid"))
{
    QString out =
        QStringLiteral("<table class=\"%1\" border=\"1\" cellspacing=\"0\" cellpadding=\"4\" width=\"100%\">")
            .arg(cls);
    if (!headers.isEmpty()) {
        out += QStringLiteral("<thead><tr>");
        for (const QString &h : headers)
            out += QStringLiteral("<th>") + esc(h) + QStringLiteral("</th>");
        out += QStringLiteral("</tr></thead>");
    }
    out += QStringLiteral("<tbody>");
    for (const QStringList &row : rows) {
        out += QStringLiteral("<tr>");
        for (const QString &cell : row)
            out += QStringLiteral("<td>") + cell + QStringLiteral("</td>");
        out += QStringLiteral("</tr>");
    }
    out += QStringLiteral("</tbody></table>\n");
    return out;
}

QString kvTable(const QList<QPair<QString, QString>> &rows)
{
    QList<QStringList> cells;
    for (const auto &r : rows)
        cells.append({QStringLiteral("<b>") + esc(r.first) + QStringLiteral("</b>"), r.second});
    return table({}, cells, QStringLiteral("kv"));
}

QString note(const QString &text)
{
    return QStringLiteral("<p class=\"note\">") + esc(text) + QStringLiteral("</p>\n");
}

QString diagnosticValueText(const DiagnosticValue &v)
{
    if (!v.available)
        return QStringLiteral("unavailable");
    if (!v.text.isEmpty())
        return v.text;
    switch (v.unit) {
    case Unit::Bytes:
        return bytesText(v.number);
    case Unit::BytesPerSecond:
        return bytesText(v.number) + QStringLiteral("/s");
    case Unit::Percent:
        return num(v.number, 1) + QStringLiteral(" %");
    case Unit::Milliseconds:
        return num(v.number, 2) + QStringLiteral(" ms");
    case Unit::Seconds:
        return num(v.number, 1) + QStringLiteral(" s");
    case Unit::Nanoseconds:
        return num(v.number / 1e6, 3) + QStringLiteral(" ms");
    default:
        return num(v.number, 2);
    }
}

QString labelsText(const Labels &labels)
{
    QStringList parts;
    for (const auto &l : labels)
        parts.append(l.first + QLatin1Char('=') + l.second);
    return parts.join(QStringLiteral(", "));
}

struct Transition {
    qint64 wallMs = 0;
    QString breaker, from, to, reason;
};

QList<Transition> breakerTransitions(const QVector<JournalEntry> &journal)
{
    const QString prefix = QStringLiteral("breaker:");
    QList<Transition> out;
    for (const JournalEntry &e : journal) {
        if (e.kind != QLatin1String("breaker"))
            continue;
        Transition t;
        t.wallMs = e.tMs;
        t.breaker = e.source.startsWith(prefix) ? e.source.mid(prefix.size()) : e.source;
        const qsizetype arrow = e.message.indexOf(QStringLiteral(" → "));
        const qsizetype colon = e.message.indexOf(QStringLiteral(": "), arrow < 0 ? 0 : arrow);
        if (arrow > 0 && colon > arrow) {
            t.from = e.message.left(arrow);
            t.to = e.message.mid(arrow + 3, colon - arrow - 3);
            t.reason = e.message.mid(colon + 2);
        } else {
            t.reason = e.message;
        }
        out.append(t);
    }
    return out;
}

QString csvField(const QString &text)
{
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')) && !text.contains(QLatin1Char('\r')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

double niceStep(double raw)
{
    if (!(raw > 0) || !std::isfinite(raw))
        return 1;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    const double f = raw / mag;
    const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
    return nice * mag;
}

// Chart geometry (SVG user units; the PDF painter scales the same layout).
constexpr double kChartWidth = kReportChartWidth, kChartHeight = kReportChartHeight;
constexpr double kPlotLeft = kReportPlotLeft, kPlotRight = kReportPlotRight, kPlotTop = kReportPlotTop,
                 kPlotBottom = kReportPlotBottom;

const char kCss[] =
    "body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif;color:#212121;"
    "margin:24px auto;max-width:1100px;padding:0 16px;font-size:14px;line-height:1.4}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;border-bottom:2px solid #1565c0;padding-bottom:4px;"
    "margin-top:32px}h3{font-size:15px;margin:18px 0 6px}"
    "table{border-collapse:collapse;margin:6px 0 12px;width:100%}"
    "th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f0f3f6}table.kv td:first-child{width:30%;white-space:nowrap}"
    "td.num{text-align:right}.badge{border-radius:8px;padding:1px 6px;font-size:12px;font-weight:bold}"
    ".note{color:#616161;font-size:12px}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px;"
    "border:1px solid #d0d7de}.chart{margin:8px 0 18px}svg.chart{max-width:100%;height:auto}"
    "code{font-family:'DejaVu Sans Mono',monospace;font-size:12px}footer{margin-top:40px;color:#757575;"
    "font-size:12px}";

} // namespace

// ---- charts -------------------------------------------------------------------------------

QString ReportChartAxis::yLabel(double value) const
{
    const double step = yTicks.size() > 1 ? yTicks[1] - yTicks[0] : 1.0;
    int decimals = 0;
    while (decimals < 6 &&
           std::fabs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) > 1e-9)
        ++decimals;
    return QString::number(value, 'f', decimals);
}

QString ReportChartAxis::xLabel(qint64 wallMs) const
{
    const QDateTime t = QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC);
    if (xToMs - xFromMs > 24 * 3600 * 1000LL)
        return t.toString(QStringLiteral("MM-dd HH:mm"));
    return t.toString(QStringLiteral("HH:mm:ss"));
}

ReportChartAxis reportChartAxis(const ReportChart &chart, qint64 fromMs, qint64 toMs)
{
    ReportChartAxis axis;
    axis.xFromMs = fromMs;
    axis.xToMs = std::max(toMs, fromMs + 1);
    double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
    for (const SeriesPoint &p : chart.points) {
        lo = std::min(lo, p.value);
        hi = std::max(hi, p.value);
    }
    if (!std::isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (lo >= 0)
        lo = 0;
    if (hi <= lo)
        hi = lo + 1;
    const double step = niceStep((hi - lo) / 4);
    axis.yMin = std::floor(lo / step) * step;
    axis.yMax = std::ceil(hi / step) * step;
    if (axis.yMax <= axis.yMin)
        axis.yMax = axis.yMin + step;
    for (double v = axis.yMin; v <= axis.yMax + step / 2; v += step)
        axis.yTicks.append(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    for (int i = 0; i <= 4; ++i)
        axis.xTicks.append(axis.xFromMs + (axis.xToMs - axis.xFromMs) * i / 4);
    return axis;
}

QString reportChartSvg(const ReportChart &chart, qint64 fromMs, qint64 toMs)
{
    const ReportChartAxis axis = reportChartAxis(chart, fromMs, toMs);
    const double w = kChartWidth - kPlotLeft - kPlotRight, h = kChartHeight - kPlotTop - kPlotBottom;
    auto xOf = [&](qint64 t) {
        return kPlotLeft + w * double(t - axis.xFromMs) / double(axis.xToMs - axis.xFromMs);
    };
    auto yOf = [&](double v) { return kPlotTop + h * (1.0 - (v - axis.yMin) / (axis.yMax - axis.yMin)); };
    QString svg =
        QStringLiteral("<svg class=\"chart\" viewBox=\"0 0 %1 %2\" width=\"%1\" height=\"%2\" role=\"img\" "
                       "aria-label=\"%3\">")
            .arg(kChartWidth)
            .arg(kChartHeight)
            .arg(esc(chart.title));
    svg += QStringLiteral("<title>") + esc(chart.title) + QStringLiteral("</title>");
    svg += QStringLiteral(
               "<rect x=\"%1\" y=\"%2\" width=\"%3\" height=\"%4\" fill=\"#fafafa\" stroke=\"#bdbdbd\"/>")
               .arg(kPlotLeft)
               .arg(kPlotTop)
               .arg(w)
               .arg(h);
    for (double v : axis.yTicks) {
        const double y = yOf(v);
        svg += QStringLiteral("<line x1=\"%1\" y1=\"%2\" x2=\"%3\" y2=\"%2\" stroke=\"#e0e0e0\"/>")
                   .arg(kPlotLeft)
                   .arg(num(y, 1))
                   .arg(kPlotLeft + w);
        svg += QStringLiteral(
                   "<text x=\"%1\" y=\"%2\" text-anchor=\"end\" font-size=\"11\" fill=\"#555\">%3</text>")
                   .arg(kPlotLeft - 6)
                   .arg(num(y + 4, 1))
                   .arg(esc(axis.yLabel(v)));
    }
    for (qint64 t : axis.xTicks) {
        svg += QStringLiteral(
                   "<text x=\"%1\" y=\"%2\" text-anchor=\"middle\" font-size=\"11\" fill=\"#555\">%3</text>")
                   .arg(num(std::clamp(xOf(t), kPlotLeft + 24, kPlotLeft + w - 24), 1))
                   .arg(kChartHeight - 10)
                   .arg(esc(axis.xLabel(t)));
    }
    if (chart.points.isEmpty()) {
        svg +=
            QStringLiteral("<text x=\"%1\" y=\"%2\" text-anchor=\"middle\" font-size=\"13\" fill=\"#757575\">"
                           "No data in this window</text>")
                .arg(kPlotLeft + w / 2)
                .arg(kPlotTop + h / 2);
    } else if (chart.points.size() == 1) {
        svg += QStringLiteral("<circle cx=\"%1\" cy=\"%2\" r=\"3\" fill=\"#1565c0\"/>")
                   .arg(num(xOf(chart.points.first().tMs), 1), num(yOf(chart.points.first().value), 1));
    } else {
        // At most two points (min, max) per pixel column keep spikes visible in long windows.
        QString points;
        const int columns = int(w);
        const bool thin = chart.points.size() > columns * 2;
        int i = 0;
        while (i < chart.points.size()) {
            const SeriesPoint &p = chart.points[i];
            if (!thin) {
                points += num(xOf(p.tMs), 1) + QLatin1Char(',') + num(yOf(p.value), 1) + QLatin1Char(' ');
                ++i;
                continue;
            }
            const int column = int(xOf(p.tMs));
            SeriesPoint lo = p, hi = p;
            int j = i;
            while (j < chart.points.size() && int(xOf(chart.points[j].tMs)) == column) {
                if (chart.points[j].value < lo.value)
                    lo = chart.points[j];
                if (chart.points[j].value > hi.value)
                    hi = chart.points[j];
                ++j;
            }
            const SeriesPoint &a = lo.tMs <= hi.tMs ? lo : hi;
            const SeriesPoint &b = lo.tMs <= hi.tMs ? hi : lo;
            points += num(xOf(a.tMs), 1) + QLatin1Char(',') + num(yOf(a.value), 1) + QLatin1Char(' ');
            points += num(xOf(b.tMs), 1) + QLatin1Char(',') + num(yOf(b.value), 1) + QLatin1Char(' ');
            i = j;
        }
        svg += QStringLiteral("<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" "
                              "stroke-linejoin=\"round\" points=\"%1\"/>")
                   .arg(points.trimmed());
    }
    svg += QStringLiteral("</svg>");
    return svg;
}

QByteArray reportChartCsv(const ReportChart &chart)
{
    QByteArray out = "time_utc," + chart.column().toUtf8() + "\n";
    for (const SeriesPoint &p : chart.points) {
        out += reportIsoUtc(p.tMs).toUtf8();
        out += ',';
        out += QByteArray::number(p.value, 'g', 12);
        out += '\n';
    }
    return out;
}

QByteArray reportJournalCsv(const QVector<JournalEntry> &journal)
{
    QString out = QStringLiteral("time_utc,kind,source,message,duration_ms,correlation_id\n");
    for (const JournalEntry &e : journal) {
        out += reportIsoUtc(e.tMs) + QLatin1Char(',') + csvField(e.kind) + QLatin1Char(',') +
               csvField(e.source) + QLatin1Char(',') + csvField(scrubSecrets(e.message)) + QLatin1Char(',') +
               (e.durationMs > 0 ? QString::number(e.durationMs, 'g', 12) : QString()) + QLatin1Char(',') +
               csvField(e.correlationId) + QLatin1Char('\n');
    }
    return out.toUtf8();
}

QList<ReportChart> reportChartsFromSnapshot(const Snapshot &snapshot, qint64 fromMs, qint64 toMs)
{
    if (!snapshot.metrics)
        return {};
    return buildCharts(snapshot, fromMs, toMs, nullptr);
}

ReportContent reportContentFromSnapshot(const SnapshotPtr &snapshot, ReportSections sections,
                                        qint64 historyWindowMs)
{
    ReportContent content;
    content.snapshot = snapshot;
    content.sections = sections;
    content.generatedWallMs = QDateTime::currentMSecsSinceEpoch();
    content.hostName = QSysInfo::machineHostName();
    content.historyToMs = snapshot->metrics ? snapshot->metrics->wallMs : content.generatedWallMs;
    content.historyFromMs = content.historyToMs - std::max<qint64>(historyWindowMs, 1000);
    if (sections.testFlag(ReportSection::History))
        content.charts = reportChartsFromSnapshot(*snapshot, content.historyFromMs, content.historyToMs);
    content.journalSource = QStringLiteral("snapshot");
    content.journal = journalFromSnapshot(*snapshot, content.historyFromMs);
    return content;
}

namespace {

/// Where the charts' time axis starts: the window's start, or the first point when every
/// series starts later (a young process), so the data is not squeezed against the right edge.
qint64 chartAxisFrom(const ReportContent &content)
{
    qint64 first = std::numeric_limits<qint64>::max();
    for (const ReportChart &c : content.charts)
        if (!c.points.isEmpty())
            first = std::min(first, c.points.first().tMs);
    if (first == std::numeric_limits<qint64>::max() || first <= content.historyFromMs)
        return content.historyFromMs;
    return std::min(first, content.historyToMs - 1000);
}

} // namespace

// ---- JSON ---------------------------------------------------------------------------------

namespace {

QJsonObject journalToJson(const ReportContent &content)
{
    QJsonObject o;
    o.insert(QStringLiteral("source"), content.journalSource);
    o.insert(QStringLiteral("from"), reportIsoUtc(content.historyFromMs));
    o.insert(QStringLiteral("to"), reportIsoUtc(content.historyToMs));
    o.insert(QStringLiteral("truncated"), content.journalTruncated);
    QJsonArray entries;
    for (const JournalEntry &e : content.journal) {
        QJsonObject eo;
        eo.insert(QStringLiteral("time"), reportIsoUtc(e.tMs));
        eo.insert(QStringLiteral("kind"), e.kind);
        eo.insert(QStringLiteral("source"), e.source);
        eo.insert(QStringLiteral("message"), scrubSecrets(e.message));
        if (e.durationMs > 0)
            eo.insert(QStringLiteral("duration_ms"), e.durationMs);
        if (!e.correlationId.isEmpty())
            eo.insert(QStringLiteral("correlation_id"), e.correlationId);
        entries.append(eo);
    }
    o.insert(QStringLiteral("entries"), entries);
    return o;
}

QJsonObject validationJson(const ReportContent &content)
{
    if (content.validation)
        return redactSecrets(*content.validation).toObject();
    // The engine's latest run, when there was one.
    if (content.snapshot && content.snapshot->validation)
        return redactSecrets(validationToJson(content.snapshot->validation.get())).toObject();
    QJsonObject o;
    o.insert(QStringLiteral("ran"), false);
    o.insert(QStringLiteral("note"), QStringLiteral("no configuration validation was run for this report"));
    return o;
}

QJsonArray transitionsJson(const ReportContent &content)
{
    QJsonArray out;
    for (const Transition &t : breakerTransitions(content.journal)) {
        QJsonObject o;
        o.insert(QStringLiteral("time"), reportIsoUtc(t.wallMs));
        o.insert(QStringLiteral("breaker"), t.breaker);
        o.insert(QStringLiteral("from"), t.from);
        o.insert(QStringLiteral("to"), t.to);
        o.insert(QStringLiteral("reason"), t.reason);
        out.append(o);
    }
    return out;
}

} // namespace

QByteArray renderReportJson(const ReportContent &content)
{
    QJsonObject root = snapshotToJson(*content.snapshot, content.sections);
    if (content.sections.testFlag(ReportSection::History)) {
        QJsonObject history;
        history.insert(QStringLiteral("from"), reportIsoUtc(content.historyFromMs));
        history.insert(QStringLiteral("to"), reportIsoUtc(content.historyToMs));
        history.insert(QStringLiteral("window_ms"), content.historyToMs - content.historyFromMs);
        QJsonArray series;
        for (const ReportChart &c : content.charts) {
            QJsonObject so;
            so.insert(QStringLiteral("id"), c.id);
            so.insert(QStringLiteral("title"), c.title);
            so.insert(QStringLiteral("unit"), c.unit);
            so.insert(QStringLiteral("source"), c.source);
            so.insert(QStringLiteral("resolution_ms"), c.resolutionMs);
            QJsonArray points;
            for (const SeriesPoint &p : c.points)
                points.append(QJsonArray{reportIsoUtc(p.tMs), p.value});
            so.insert(QStringLiteral("points"), points);
            series.append(so);
        }
        history.insert(QStringLiteral("series"), series);
        root.insert(QStringLiteral("history"), history);
    }
    if (content.sections.testFlag(ReportSection::Journal))
        root.insert(QStringLiteral("journal"), journalToJson(content));
    if (content.sections.testFlag(ReportSection::Breakers))
        root.insert(QStringLiteral("breaker_transitions"), transitionsJson(content));
    if (content.sections.testFlag(ReportSection::Validation))
        root.insert(QStringLiteral("validation"), validationJson(content));
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

// ---- HTML ---------------------------------------------------------------------------------

namespace {

QString sectionOpen(ReportSection s)
{
    return QStringLiteral("<section id=\"%1\">\n<h2>%2</h2>\n")
        .arg(reportSectionId(s).replace(QLatin1Char('_'), QLatin1Char('-')), esc(reportSectionTitle(s)));
}

const QString kSectionClose = QStringLiteral("</section>\n");

QString summaryHtml(const ReportContent &c)
{
    const Snapshot &s = *c.snapshot;
    const qint64 takenMs = s.metrics ? s.metrics->wallMs : c.generatedWallMs;
    QList<QPair<QString, QString>> rows{
        {QStringLiteral("Overall health"), healthBadge(s.diagnostics.overall)},
        {QStringLiteral("Version"), esc(s.info.version)},
        {QStringLiteral("Host"), esc(c.hostName)},
        {QStringLiteral("Report generated"), esc(timeText(c.generatedWallMs))},
        {QStringLiteral("Snapshot taken"), esc(timeText(takenMs))},
        {QStringLiteral("Engine started"), esc(timeText(s.info.startedWallMs))},
        {QStringLiteral("Uptime"),
         esc(s.info.startedWallMs > 0 ? durationText(double(takenMs - s.info.startedWallMs) / 1000.0)
                                      : QStringLiteral("–"))},
        {QStringLiteral("Mode"), esc(s.info.mode)},
        {QStringLiteral("Demo workload"),
         s.info.demo ? QStringLiteral("<b>yes</b> (built-in demo backend and traffic)")
                     : QStringLiteral("no")},
        {QStringLiteral("Configuration"),
         esc(s.info.configPath.isEmpty() ? QStringLiteral("defaults") : s.info.configPath)},
        {QStringLiteral("Data directory"), esc(s.info.dataDir)},
        {QStringLiteral("Sections"), esc(reportSectionIds(c.sections).join(QStringLiteral(", ")))},
    };
    return sectionOpen(ReportSection::Summary) + kvTable(rows) + kSectionClose;
}

QString healthHtml(const ReportContent &c)
{
    QList<QStringList> rows;
    for (const DiagnosticCategory &cat : c.snapshot->diagnostics.categories)
        rows.append({esc(cat.title), healthBadge(cat.health), esc(cat.reason)});
    QString out = sectionOpen(ReportSection::Health);
    out += QStringLiteral("<p>Overall: ") + healthBadge(c.snapshot->diagnostics.overall) +
           QStringLiteral("</p>\n");
    out += rows.isEmpty()
               ? note(QStringLiteral("No diagnostics were sampled yet."))
               : table({QStringLiteral("Category"), QStringLiteral("Health"), QStringLiteral("Reason")}, rows,
                       QStringLiteral("grid health"));
    return out + kSectionClose;
}

QString chartsHtml(const ReportContent &c, ReportHtmlCharts mode)
{
    QString out = sectionOpen(ReportSection::History);
    const qint64 axisFrom = chartAxisFrom(c);
    out +=
        note(QStringLiteral("Window from %1 to %2.").arg(timeText(c.historyFromMs), timeText(c.historyToMs)));
    for (const ReportChart &chart : c.charts) {
        out += QStringLiteral("<div class=\"chart\">\n<h3>%1 (%2)</h3>\n")
                   .arg(esc(chart.title), esc(unitLabel(chart.unit)));
        QString source =
            chart.source == QLatin1String("history")
                ? QStringLiteral("stored history, %1 s resolution").arg(chart.resolutionMs / 1000)
                : QStringLiteral("in-memory series of the snapshot");
        if (!chart.points.isEmpty()) {
            double lo = chart.points.first().value, hi = lo, sum = 0;
            for (const SeriesPoint &p : chart.points) {
                lo = std::min(lo, p.value);
                hi = std::max(hi, p.value);
                sum += p.value;
            }
            source += QStringLiteral("; %1 points; min %2, mean %3, max %4, last %5 %6")
                          .arg(chart.points.size())
                          .arg(num(lo), num(sum / chart.points.size()), num(hi),
                               num(chart.points.last().value), unitLabel(chart.unit));
        }
        out += note(QStringLiteral("Source: ") + source + QLatin1Char('.'));
        if (mode == ReportHtmlCharts::InlineSvg)
            out += reportChartSvg(chart, axisFrom, c.historyToMs);
        else
            out += QStringLiteral("<p><img src=\"chart:%1\" width=\"%2\" height=\"%3\"></p>")
                       .arg(esc(chart.id))
                       .arg(kChartWidth * 0.9)
                       .arg(kChartHeight * 0.9);
        out += QStringLiteral("\n</div>\n");
    }
    return out + kSectionClose;
}

QString eventLoopHtml(const ReportContent &c)
{
    const EventLoopSummary &l = c.snapshot->eventLoop;
    QString out = sectionOpen(ReportSection::EventLoop);
    out += kvTable({
        {QStringLiteral("Thread"), esc(l.thread)},
        {QStringLiteral("Timer interval"), esc(QStringLiteral("%1 ms").arg(l.intervalMs))},
        {QStringLiteral("Stall threshold"), esc(QStringLiteral("%1 ms").arg(l.stallThresholdMs))},
        {QStringLiteral("Lag p50 / p90 / p99 / max"),
         esc(QStringLiteral("%1 / %2 / %3 / %4 ms")
                 .arg(num(l.lagNs.p50 / 1e6, 3), num(l.lagNs.p90 / 1e6, 3), num(l.lagNs.p99 / 1e6, 3),
                      num(double(l.lagNs.max) / 1e6, 3)))},
        {QStringLiteral("Samples"), esc(QString::number(l.lagNs.count))},
        {QStringLiteral("Stalls over 100 ms / over 1 s"),
         esc(QStringLiteral("%1 / %2").arg(l.stallsOver100ms).arg(l.stallsOver1s))},
        {QStringLiteral("Stalled now"),
         l.stalledNow ? esc(QStringLiteral("yes, for %1 ms").arg(num(l.currentStallMs, 0)))
                      : QStringLiteral("no")},
    });
    QList<QStringList> rows;
    for (auto it = l.recentStalls.crbegin(); it != l.recentStalls.crend() && rows.size() < kHtmlStalls; ++it)
        rows.append({esc(timeText(it->startWallMs)), esc(num(it->durationMs, 1)),
                     it->ongoing ? QStringLiteral("yes") : QStringLiteral("no")});
    out += QStringLiteral("<h3>Recent stalls</h3>\n");
    out += rows.isEmpty()
               ? note(QStringLiteral("No stalls recorded."))
               : table({QStringLiteral("Start"), QStringLiteral("Duration (ms)"), QStringLiteral("Ongoing")},
                       rows);
    return out + kSectionClose;
}

QString requestsHtml(const ReportContent &c)
{
    const HttpClientSummary &h = c.snapshot->http;
    const HttpTotals &t = h.totals;
    QString out = sectionOpen(ReportSection::Requests);
    out += kvTable({
        {QStringLiteral("Requests (succeeded / failed)"),
         esc(QStringLiteral("%1 (%2 / %3)").arg(t.requests).arg(t.succeeded).arg(t.failed))},
        {QStringLiteral("Backend requests"), esc(QString::number(t.backendRequests))},
        {QStringLiteral("Coalesced callers"), esc(QString::number(t.coalesced))},
        {QStringLiteral("Cache hits / misses"),
         esc(QStringLiteral("%1 / %2").arg(t.cacheHits).arg(t.cacheMisses))},
        {QStringLiteral("Connections opened (reuse)"),
         esc(QStringLiteral("%1 (%2 %)").arg(t.connectionsOpened).arg(num(t.reuseRatio() * 100, 1)))},
        {QStringLiteral("Breaker rejections"), esc(QString::number(t.breakerRejections))},
        {QStringLiteral("Retries"), esc(QString::number(t.retries))},
        {QStringLiteral("Rate limited"), esc(QString::number(t.rateLimited))},
        {QStringLiteral("Request keys in flight"), esc(QString::number(h.inFlightKeys))},
    });
    QList<QStringList> rows;
    for (const TopKey &k : h.topCoalescedKeys)
        rows.append({QStringLiteral("<code>") + esc(scrubSecrets(k.key)) + QStringLiteral("</code>"),
                     esc(QString::number(k.coalesced))});
    out += QStringLiteral("<h3>Top coalesced request keys</h3>\n");
    out += rows.isEmpty() ? note(QStringLiteral("None."))
                          : table({QStringLiteral("Key"), QStringLiteral("Coalesced")}, rows);
    return out + kSectionClose;
}

QString breakersHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::Breakers);
    QList<QStringList> rows;
    for (const BreakerInfo &b : c.snapshot->http.breakers)
        rows.append({esc(b.name), breakerBadge(b.state), esc(num(b.failureRate * 100, 1)),
                     esc(num(b.slowCallRate * 100, 1)), esc(QString::number(b.callsInWindow)),
                     esc(QString::number(b.rejected)),
                     esc(b.openRemainingMs > 0 ? QStringLiteral("%1 ms").arg(b.openRemainingMs)
                                               : QStringLiteral("–"))});
    out +=
        rows.isEmpty()
            ? note(QStringLiteral("No circuit breakers yet."))
            : table({QStringLiteral("Breaker"), QStringLiteral("State"), QStringLiteral("Failure rate (%)"),
                     QStringLiteral("Slow-call rate (%)"), QStringLiteral("Calls in window"),
                     QStringLiteral("Rejected"), QStringLiteral("Open for")},
                    rows);
    const QList<Transition> transitions = breakerTransitions(c.journal);
    QList<QStringList> trows;
    for (auto it = transitions.crbegin(); it != transitions.crend() && trows.size() < kHtmlJournalRows; ++it)
        trows.append(
            {esc(timeText(it->wallMs)), esc(it->breaker), esc(it->from), esc(it->to), esc(it->reason)});
    out += QStringLiteral("<h3>Transitions</h3>\n");
    out += trows.isEmpty() ? note(QStringLiteral("No transitions in this window."))
                           : table({QStringLiteral("Time"), QStringLiteral("Breaker"), QStringLiteral("From"),
                                    QStringLiteral("To"), QStringLiteral("Reason")},
                                   trows);
    return out + kSectionClose;
}

QString poolsHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::Pools);
    QList<QStringList> rows;
    for (const HostPoolStats &p : c.snapshot->http.pools)
        rows.append({esc(p.host), esc(QString::number(p.requests)), esc(QString::number(p.connectionsOpened)),
                     esc(num(p.reuseRatio * 100, 1)), esc(QString::number(p.active)),
                     esc(QString::number(p.pending)), esc(QString::number(p.maxConnections)),
                     esc(QString::number(p.idleCleanups))});
    out +=
        rows.isEmpty()
            ? note(QStringLiteral("No connection pools yet."))
            : table({QStringLiteral("Host"), QStringLiteral("Requests"), QStringLiteral("Connections opened"),
                     QStringLiteral("Reuse (%)"), QStringLiteral("Active"), QStringLiteral("Pending"),
                     QStringLiteral("Max"), QStringLiteral("Idle cleanups")},
                    rows);
    return out + kSectionClose;
}

QString sqlHtml(const ReportContent &c)
{
    const DatabaseSummary &db = c.snapshot->database;
    QString out = sectionOpen(ReportSection::Sql);
    out += kvTable({
        {QStringLiteral("Storage"),
         db.enabled ? healthBadge(db.storage.health) : esc(QStringLiteral("disabled"))},
        {QStringLiteral("Location"), esc(db.storage.location)},
        {QStringLiteral("Schema version"), esc(QString::number(db.storage.schemaVersion))},
        {QStringLiteral("Write queue"),
         esc(QStringLiteral("%1 of %2 rows").arg(db.queueDepth).arg(db.queueCapacity))},
        {QStringLiteral("Error"),
         esc(db.storage.error.isEmpty() ? QStringLiteral("none") : scrubSecrets(db.storage.error))},
        {QStringLiteral("Slow-query threshold"), esc(QStringLiteral("%1 ms").arg(db.slowThresholdMs))},
    });
    QList<QStringList> rows;
    for (const StatementStats &st : db.statements) {
        if (rows.size() >= kHtmlStatements)
            break;
        rows.append({QStringLiteral("<code>") + esc(st.normalized) + QStringLiteral("</code>"),
                     esc(QString::number(st.calls)), esc(num(st.totalMs)), esc(num(st.meanMs, 3)),
                     esc(num(st.p95Ms, 3)), esc(num(st.maxMs, 3)), esc(QString::number(st.rows)),
                     esc(QString::number(st.errors))});
    }
    out += QStringLiteral("<h3>Top statements by total time</h3>\n");
    out += rows.isEmpty()
               ? note(QStringLiteral("No statements profiled."))
               : table({QStringLiteral("Statement"), QStringLiteral("Calls"), QStringLiteral("Total (ms)"),
                        QStringLiteral("Mean (ms)"), QStringLiteral("p95 (ms)"), QStringLiteral("Max (ms)"),
                        QStringLiteral("Rows"), QStringLiteral("Errors")},
                       rows);
    QList<QStringList> slow;
    for (auto it = db.slowLog.crbegin(); it != db.slowLog.crend() && slow.size() < kHtmlSlowQueries; ++it)
        slow.append({esc(timeText(it->wallMs)), esc(num(it->durationMs, 1)),
                     QStringLiteral("<code>") + esc(it->normalized) + QStringLiteral("</code>"),
                     esc(it->connection), esc(QString::number(it->rows)), esc(scrubSecrets(it->error))});
    out += QStringLiteral("<h3>Slow queries (newest first)</h3>\n");
    out += slow.isEmpty()
               ? note(QStringLiteral("No slow queries."))
               : table({QStringLiteral("Time"), QStringLiteral("Duration (ms)"), QStringLiteral("Statement"),
                        QStringLiteral("Connection"), QStringLiteral("Rows"), QStringLiteral("Error")},
                       slow);
    return out + kSectionClose;
}

QString journalHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::Journal);
    out += note(QStringLiteral("%1 entries from %2 between %3 and %4%5; newest first, at most %6 shown.")
                    .arg(c.journal.size())
                    .arg(c.journalSource == QLatin1String("store")
                             ? QStringLiteral("the stored journal")
                             : QStringLiteral("the snapshot's recent events"),
                         timeText(c.historyFromMs), timeText(c.historyToMs),
                         c.journalTruncated ? QStringLiteral(" (more matched: truncated)") : QString())
                    .arg(kHtmlJournalRows));
    QList<QStringList> rows;
    for (auto it = c.journal.crbegin(); it != c.journal.crend() && rows.size() < kHtmlJournalRows; ++it)
        rows.append({esc(timeText(it->tMs)), esc(it->kind), esc(it->source), esc(scrubSecrets(it->message)),
                     esc(it->durationMs > 0 ? num(it->durationMs, 1) : QString())});
    if (!rows.isEmpty())
        out += table({QStringLiteral("Time"), QStringLiteral("Kind"), QStringLiteral("Source"),
                      QStringLiteral("Message"), QStringLiteral("Duration (ms)")},
                     rows);
    return out + kSectionClose;
}

QString systemHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::System);
    const DiagnosticsReport &d = c.snapshot->diagnostics;
    out += note(QStringLiteral("Sampled at %1.").arg(timeText(d.wallMs)));
    for (const DiagnosticCategory &cat : d.categories) {
        out += QStringLiteral("<h3>%1 %2</h3>\n").arg(esc(cat.title), healthBadge(cat.health));
        QList<QPair<QString, QString>> rows;
        for (const DiagnosticValue &v : cat.values)
            rows.append({v.label.isEmpty() ? v.key : v.label, esc(diagnosticValueText(v))});
        out += rows.isEmpty() ? note(QStringLiteral("No readings.")) : kvTable(rows);
    }
    return out + kSectionClose;
}

QString metricsHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::Metrics);
    QList<QStringList> rows;
    if (c.snapshot->metrics) {
        for (const MetricSnapshot &m : c.snapshot->metrics->metrics) {
            QString value;
            const QString unit = unitSymbol(m.unit);
            switch (m.type) {
            case MetricType::Counter:
                value = QStringLiteral("total %1, since reset %2, %3/s")
                            .arg(m.total)
                            .arg(m.sinceReset)
                            .arg(num(m.rate));
                break;
            case MetricType::Gauge:
                value = num(m.value, 3) + (unit.isEmpty() ? QString() : QLatin1Char(' ') + unit);
                break;
            case MetricType::Histogram:
                value = QStringLiteral("n %1, p50 %2, p99 %3, max %4 %5")
                            .arg(m.summary.count)
                            .arg(num(m.summary.p50), num(m.summary.p99), num(double(m.summary.max)), unit);
                break;
            }
            rows.append({QStringLiteral("<code>") + esc(m.name) + QStringLiteral("</code>"),
                         esc(labelsText(m.labels)), esc(metricTypeName(m.type)), esc(value.trimmed())});
        }
    }
    out += rows.isEmpty() ? note(QStringLiteral("No metrics."))
                          : table({QStringLiteral("Metric"), QStringLiteral("Labels"), QStringLiteral("Type"),
                                   QStringLiteral("Value")},
                                  rows);
    return out + kSectionClose;
}

QString configHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::Config);
    QStringList redacted;
    const QJsonValue config = redactSecrets(c.snapshot->info.effectiveConfig, &redacted);
    out +=
        note(QStringLiteral("Effective configuration (%1), defaults filled in. Secrets are replaced by %2%3.")
                 .arg(c.snapshot->info.configPath.isEmpty() ? QStringLiteral("defaults")
                                                            : c.snapshot->info.configPath,
                      QLatin1String(kRedacted),
                      redacted.isEmpty() ? QString()
                                         : QStringLiteral(" (%1)").arg(redacted.join(QStringLiteral(", ")))));
    out += QStringLiteral("<pre>") +
           esc(QString::fromUtf8(QJsonDocument(config.toObject()).toJson(QJsonDocument::Indented))) +
           QStringLiteral("</pre>\n");
    return out + kSectionClose;
}

QString validationHtml(const ReportContent &c)
{
    QString out = sectionOpen(ReportSection::Validation);
    const QJsonObject v = validationJson(c);
    if (!v.value(QStringLiteral("ran")).toBool()) {
        out += note(QStringLiteral("No configuration validation was run for this report."));
        return out + kSectionClose;
    }
    const QJsonArray findings = v.value(QStringLiteral("findings")).toArray();
    out +=
        QStringLiteral("<p>%1</p>\n")
            .arg(
                v.value(QStringLiteral("ok")).toBool()
                    ? healthBadge(Health::Ok) + esc(QStringLiteral(" valid"))
                    : healthBadge(Health::Critical) +
                          esc(QStringLiteral(" %1 error(s)").arg(v.value(QStringLiteral("errors")).toInt())));
    QList<QStringList> rows;
    for (const QJsonValue &f : findings) {
        const QJsonObject o = f.toObject();
        rows.append({esc(o.value(QStringLiteral("severity")).toString()),
                     esc(o.value(QStringLiteral("path")).toString()),
                     esc(o.value(QStringLiteral("message")).toString()),
                     esc(o.value(QStringLiteral("value")).toString())});
    }
    if (!rows.isEmpty())
        out += table({QStringLiteral("Severity"), QStringLiteral("Path"), QStringLiteral("Message"),
                      QStringLiteral("Value")},
                     rows);
    return out + kSectionClose;
}

} // namespace

QString renderReportHtml(const ReportContent &c, ReportHtmlCharts charts)
{
    const QString title =
        QStringLiteral("Vega Console report – %1 – %2").arg(c.hostName, timeText(c.generatedWallMs));
    QString out;
    out.reserve(256 * 1024);
    out +=
        QStringLiteral("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    out += esc(title) + QStringLiteral("</title>\n<style>") + QLatin1String(kCss) +
           QStringLiteral("</style>\n</head>\n<body>\n");
    out += QStringLiteral("<header>\n<h1>Vega Console diagnostic report</h1>\n");
    out += note(QStringLiteral("%1 · generated %2 · report format %3")
                    .arg(c.hostName, timeText(c.generatedWallMs))
                    .arg(kReportFormatVersion));
    out += QStringLiteral("</header>\n");
    const ReportSections s = c.sections;
    if (s.testFlag(ReportSection::Summary))
        out += summaryHtml(c);
    if (s.testFlag(ReportSection::Health))
        out += healthHtml(c);
    if (s.testFlag(ReportSection::History))
        out += chartsHtml(c, charts);
    if (s.testFlag(ReportSection::EventLoop))
        out += eventLoopHtml(c);
    if (s.testFlag(ReportSection::Requests))
        out += requestsHtml(c);
    if (s.testFlag(ReportSection::Breakers))
        out += breakersHtml(c);
    if (s.testFlag(ReportSection::Pools))
        out += poolsHtml(c);
    if (s.testFlag(ReportSection::Sql))
        out += sqlHtml(c);
    if (s.testFlag(ReportSection::Journal))
        out += journalHtml(c);
    if (s.testFlag(ReportSection::System))
        out += systemHtml(c);
    if (s.testFlag(ReportSection::Metrics))
        out += metricsHtml(c);
    if (s.testFlag(ReportSection::Config))
        out += configHtml(c);
    if (s.testFlag(ReportSection::Validation))
        out += validationHtml(c);
    out += QStringLiteral("<footer>Vega Console %1 · %2</footer>\n</body>\n</html>\n")
               .arg(esc(c.snapshot->info.version), esc(timeText(c.generatedWallMs)));
    return out;
}

// ---- support bundle -----------------------------------------------------------------------

QList<BundleFile> supportBundleFiles(const ReportContent &c, const std::function<bool()> &cancelled)
{
    const Snapshot &snap = *c.snapshot;
    const ReportSections s = c.sections;
    auto json = [](const QJsonValue &v) {
        return v.isArray() ? QJsonDocument(v.toArray()).toJson(QJsonDocument::Indented)
                           : QJsonDocument(v.toObject()).toJson(QJsonDocument::Indented);
    };
    auto stop = [&cancelled] { return cancelled && cancelled(); };
    QList<BundleFile> files;
    files.append({QStringLiteral("snapshot.json"), json(snapshotToJson(snap, s))});
    if (s.testFlag(ReportSection::Metrics) && snap.metrics)
        files.append({QStringLiteral("metrics.prom"), prometheusText(*snap.metrics)});
    if (s.testFlag(ReportSection::History)) {
        for (const ReportChart &chart : c.charts) {
            if (stop())
                return {};
            files.append({QStringLiteral("history/%1.csv").arg(chart.id), reportChartCsv(chart)});
        }
    }
    if (s.testFlag(ReportSection::Config)) {
        QStringList redacted;
        QJsonObject o;
        o.insert(QStringLiteral("config_path"),
                 snap.info.configPath.isEmpty() ? QJsonValue() : QJsonValue(snap.info.configPath));
        o.insert(QStringLiteral("effective_config"), redactSecrets(snap.info.effectiveConfig, &redacted));
        o.insert(QStringLiteral("redacted_paths"), QJsonArray::fromStringList(redacted));
        files.append({QStringLiteral("config.json"), json(o)});
    }
    if (s.testFlag(ReportSection::Validation))
        files.append({QStringLiteral("validation.json"), json(validationJson(c))});
    if (s.testFlag(ReportSection::Journal))
        files.append({QStringLiteral("journal.csv"), reportJournalCsv(c.journal)});
    if (s.testFlag(ReportSection::System))
        files.append({QStringLiteral("system.json"), json(diagnosticsToJson(snap.diagnostics, true))});
    if (s.testFlag(ReportSection::Health)) {
        QJsonObject o;
        o.insert(QStringLiteral("integrations"), redactSecrets(integrationsToJson(snap.integrations)));
        files.append({QStringLiteral("integrations.json"), json(o)});
    }
    if (s.testFlag(ReportSection::System))
        files.append({QStringLiteral("memory.json"), json(memoryToJson(snap.memory))});
    if (s.testFlag(ReportSection::Sql))
        files.append({QStringLiteral("sql.json"), json(databaseToJson(snap.database))});
    if (s.testFlag(ReportSection::Breakers)) {
        QJsonObject o;
        o.insert(QStringLiteral("breakers"), breakersToJson(snap.http.breakers));
        o.insert(QStringLiteral("transitions"), transitionsJson(c));
        o.insert(QStringLiteral("transitions_source"), c.journalSource);
        files.append({QStringLiteral("breakers.json"), json(o)});
    }
    if (s.testFlag(ReportSection::Pools))
        files.append({QStringLiteral("pools.json"), json(poolsToJson(snap.http.pools))});
    if (stop())
        return {};

    QJsonObject manifest;
    manifest.insert(QStringLiteral("format"), QStringLiteral("vega-console-support-bundle"));
    manifest.insert(QStringLiteral("format_version"), kReportFormatVersion);
    manifest.insert(QStringLiteral("program"), QStringLiteral("vega-console"));
    manifest.insert(QStringLiteral("program_version"),
                    snap.info.version.isEmpty() ? QStringLiteral(VEGA_VERSION_STRING) : snap.info.version);
    manifest.insert(QStringLiteral("generated_at"), reportIsoUtc(c.generatedWallMs));
    manifest.insert(QStringLiteral("host"), c.hostName);
    manifest.insert(QStringLiteral("sections"), QJsonArray::fromStringList(reportSectionIds(s)));
    QJsonObject history;
    history.insert(QStringLiteral("from"), reportIsoUtc(c.historyFromMs));
    history.insert(QStringLiteral("to"), reportIsoUtc(c.historyToMs));
    history.insert(QStringLiteral("window_ms"), c.historyToMs - c.historyFromMs);
    QJsonObject sources;
    for (const ReportChart &chart : c.charts)
        sources.insert(chart.id, chart.source);
    history.insert(QStringLiteral("sources"), sources);
    manifest.insert(QStringLiteral("history"), history);
    manifest.insert(QStringLiteral("journal_source"), c.journalSource);
    QJsonArray list;
    for (const BundleFile &f : std::as_const(files)) {
        if (stop())
            return {};
        QJsonObject fo;
        fo.insert(QStringLiteral("name"), f.name);
        fo.insert(QStringLiteral("size_bytes"), qint64(f.data.size()));
        fo.insert(QStringLiteral("sha256"),
                  QString::fromLatin1(QCryptographicHash::hash(f.data, QCryptographicHash::Sha256).toHex()));
        list.append(fo);
    }
    manifest.insert(QStringLiteral("files"), list);
    files.prepend({QStringLiteral("manifest.json"), json(manifest)});
    return files;
}

bool writeSupportBundle(const QList<BundleFile> &files, qint64 wallMs, QIODevice *out, QString *error,
                        const std::function<bool()> &cancelled)
{
    ZipWriter zip(out);
    const QDateTime modified = QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC);
    for (const BundleFile &f : files) {
        if (cancelled && cancelled()) {
            *error = QStringLiteral("cancelled");
            return false;
        }
        if (!zip.addFile(f.name, f.data, modified)) {
            *error = zip.errorString();
            return false;
        }
    }
    if (!zip.close()) {
        *error = zip.errorString();
        return false;
    }
    return true;
}

// ---- the builder --------------------------------------------------------------------------

struct ReportBuilder::Gather {
    ReportRequest request;
    ReportFormat format = ReportFormat::Json;
    QString path; // absolute
    qint64 fromMs = 0;
    qint64 toMs = 0;
    QList<Component> components;
    QList<std::optional<SeriesHistory>> series; // per component
    std::optional<JournalPage> journal;
    bool wantJournal = false;
    int pending = 0;
    int total = 0;
    bool loading = false; // flush answered (or timed out) and loads were sent
    QPointer<HistoryStore> store;
};

struct ReportBuilder::Job {
    SnapshotPtr snapshot;
    ReportSections sections;
    ReportFormat format = ReportFormat::Json;
    QString path;
    qint64 fromMs = 0;
    qint64 toMs = 0;
    QList<std::optional<SeriesHistory>> series;
    bool fromStore = false;
    std::optional<JournalPage> journal;
    std::optional<QJsonObject> validation;
    PdfRenderer pdf;
    std::shared_ptr<std::atomic_bool> cancelled;
    std::function<void(int, const QString &)> progress;
    // Results, read after the thread finished.
    bool ok = false;
    QString error;
};

ReportBuilder::ReportBuilder(QObject *parent) : QObject(parent)
{
    m_storeTimer.setSingleShot(true);
    connect(&m_storeTimer, &QTimer::timeout, this, [this] {
        if (!m_gather)
            return;
        qCWarning(lcReport) << "history store did not answer in" << m_storeTimeoutMs
                            << "ms; the report uses the snapshot's series";
        if (!m_gather->loading)
            m_gather->store.clear();
        finishGathering();
    });
}

ReportBuilder::~ReportBuilder()
{
    if (m_cancelled)
        *m_cancelled = true;
    if (m_thread) {
        m_thread->wait();
        // Destroying a running builder is cancelling it: not even a just-committed file stays.
        if (m_job && m_job->ok)
            QFile::remove(m_job->path);
    }
}

void ReportBuilder::setPdfRenderer(PdfRenderer renderer)
{
    m_pdfRenderer = std::move(renderer);
}

void ReportBuilder::report(int percent, const QString &step)
{
    Q_EMIT progress(percent, step);
}

bool ReportBuilder::start(const ReportRequest &request)
{
    if (m_running)
        return false;
    m_running = true;
    ++m_generation;
    m_cancelled = std::make_shared<std::atomic_bool>(false);
    QString error;
    ReportFormat format = ReportFormat::Json;
    if (!request.snapshot) {
        finish(false, QStringLiteral("cannot write report %1: no snapshot to report").arg(request.path));
        return true;
    }
    if (request.path.isEmpty()) {
        finish(false, QStringLiteral("cannot write report: no file name given"));
        return true;
    }
    if (!checkReportPath(request.path, &error, canWritePdf())) {
        finish(false, error);
        return true;
    }
    reportFormatForPath(request.path, &format);

    m_gather = std::make_unique<Gather>();
    Gather &g = *m_gather;
    g.request = request;
    g.format = format;
    g.path = QFileInfo(request.path).absoluteFilePath();
    g.toMs =
        request.snapshot->metrics ? request.snapshot->metrics->wallMs : QDateTime::currentMSecsSinceEpoch();
    g.fromMs = g.toMs - std::max<qint64>(request.historyWindowMs, 1000);
    g.store = request.history;
    g.wantJournal = request.sections & (ReportSection::Journal | ReportSection::Breakers);
    if (request.sections.testFlag(ReportSection::History))
        g.components = chartComponents(chartSpecs(*request.snapshot), request.snapshot->metrics.get());
    report(0, tr("Preparing"));
    if (g.store && (!g.components.isEmpty() || g.wantJournal))
        gatherFromStore();
    else
        // Always asynchronous: finished() never comes from inside start().
        QMetaObject::invokeMethod(
            this,
            [this, gen = m_generation] {
                if (gen == m_generation && m_gather)
                    finishGathering();
            },
            Qt::QueuedConnection);
    return true;
}

void ReportBuilder::gatherFromStore()
{
    report(5, tr("Flushing the history store"));
    m_storeTimer.start(m_storeTimeoutMs);
    // Rows still queued would be missing from the charts: flush first, then read.
    const quint64 gen = m_generation;
    m_gather->store->flush(this, [this, gen](bool) {
        if (gen == m_generation && m_gather && !m_gather->loading)
            loadFromStore();
    });
}

void ReportBuilder::loadFromStore()
{
    Gather &g = *m_gather;
    g.loading = true;
    if (!g.store) { // destroyed meanwhile
        finishGathering();
        return;
    }
    const quint64 gen = m_generation;
    g.series.resize(g.components.size());
    g.total = int(g.components.size()) + (g.wantJournal ? 1 : 0);
    g.pending = g.total;
    auto answered = [this](const QString &step) {
        Gather &gg = *m_gather;
        --gg.pending;
        report(10 + 35 * (gg.total - gg.pending) / std::max(1, gg.total), step);
        if (gg.pending == 0)
            finishGathering();
    };
    for (int i = 0; i < g.components.size(); ++i) {
        const Component &c = g.components[i];
        SeriesQuery q;
        q.name = c.name;
        q.labels = c.labels;
        q.field = c.field;
        q.fromMs = g.fromMs;
        q.toMs = g.toMs;
        g.store->loadSeries(q, this, [this, gen, i, answered](const SeriesHistory &h) {
            if (gen != m_generation || !m_gather || i >= m_gather->series.size())
                return;
            m_gather->series[i] = h;
            answered(tr("Loading history: %1").arg(h.query.name));
        });
    }
    if (g.wantJournal) {
        JournalQuery q;
        q.fromMs = g.fromMs;
        q.toMs = g.toMs;
        q.limit = kJournalLimit;
        g.store->loadJournal(q, this, [this, gen, answered](const JournalPage &page) {
            if (gen != m_generation || !m_gather)
                return;
            m_gather->journal = page;
            answered(tr("Loading the journal"));
        });
    }
    if (g.total == 0)
        finishGathering();
}

void ReportBuilder::finishGathering()
{
    if (!m_gather)
        return;
    m_storeTimer.stop();
    startWorker();
}

void ReportBuilder::startWorker()
{
    std::unique_ptr<Gather> g = std::move(m_gather);
    auto job = std::make_shared<Job>();
    job->snapshot = g->request.snapshot;
    job->sections = g->request.sections;
    job->format = g->format;
    job->path = g->path;
    job->fromMs = g->fromMs;
    job->toMs = g->toMs;
    job->fromStore = g->loading;
    job->series = g->series;
    if (g->journal && g->journal->ok())
        job->journal = g->journal;
    job->validation = g->request.validation;
    job->pdf = m_pdfRenderer;
    job->cancelled = m_cancelled;
    const quint64 gen = m_generation;
    job->progress = [this, gen](int percent, const QString &step) {
        // Posted to the builder's thread; the destructor joins the worker first, so `this`
        // outlives every post, and events left for a destroyed builder are dropped.
        QMetaObject::invokeMethod(
            this,
            [this, gen, percent, step] {
                if (gen == m_generation && m_running)
                    report(percent, step);
            },
            Qt::QueuedConnection);
    };
    m_job = job;
    report(45, tr("Writing %1").arg(reportFormatTitle(job->format)));
    m_thread.reset(QThread::create([job] { runJob(*job); }));
    m_thread->setObjectName(QStringLiteral("vega-report"));
    connect(m_thread.get(), &QThread::finished, this, &ReportBuilder::onWorkerFinished, Qt::QueuedConnection);
    m_thread->start(QThread::LowPriority);
}

void ReportBuilder::onWorkerFinished()
{
    if (!m_thread)
        return;
    m_thread->wait();
    m_thread.reset();
    std::shared_ptr<Job> job = std::move(m_job);
    if (!job)
        return;
    if (*job->cancelled) {
        // A cancel that raced with the commit: the caller asked for no file.
        if (job->ok)
            QFile::remove(job->path);
        finish(false, QStringLiteral("cancelled"));
        return;
    }
    if (job->ok)
        report(100, tr("Done"));
    finish(job->ok, job->ok ? job->path : job->error);
}

void ReportBuilder::cancel()
{
    if (!m_running || !m_cancelled || *m_cancelled)
        return;
    *m_cancelled = true;
    if (m_gather) {
        // Still gathering: drop the store's answers (the generation changes) and finish now.
        m_gather.reset();
        m_storeTimer.stop();
        finish(false, QStringLiteral("cancelled"));
    }
    // Otherwise the worker stops at its next step and onWorkerFinished() reports.
}

void ReportBuilder::finish(bool ok, const QString &errorOrPath)
{
    const quint64 gen = ++m_generation; // answers of this run are ignored from now on
    QMetaObject::invokeMethod(
        this,
        [this, gen, ok, errorOrPath] {
            if (gen != m_generation)
                return;
            m_running = false;
            Q_EMIT finished(ok, errorOrPath);
        },
        Qt::QueuedConnection);
}

void ReportBuilder::runJob(Job &job)
{
    auto cancelled = [&job] { return bool(*job.cancelled); };
    auto fail = [&job](const QString &why) {
        job.ok = false;
        job.error = QStringLiteral("cannot write report %1: %2").arg(job.path, why);
    };
    job.progress(50, tr("Building charts"));
    ReportContent content;
    content.snapshot = job.snapshot;
    content.sections = job.sections;
    content.generatedWallMs = QDateTime::currentMSecsSinceEpoch();
    content.hostName = QSysInfo::machineHostName();
    content.historyFromMs = job.fromMs;
    content.historyToMs = job.toMs;
    content.validation = job.validation;
    if (job.sections.testFlag(ReportSection::History) && job.snapshot->metrics)
        content.charts =
            buildCharts(*job.snapshot, job.fromMs, job.toMs, job.fromStore ? &job.series : nullptr);
    if (job.journal) {
        content.journalSource = QStringLiteral("store");
        content.journal = job.journal->entries;
        content.journalTruncated = job.journal->truncated;
    } else {
        content.journalSource = QStringLiteral("snapshot");
        content.journal = journalFromSnapshot(*job.snapshot, job.fromMs);
    }
    if (cancelled())
        return;

    QSaveFile file(job.path);
    if (!file.open(QIODevice::WriteOnly)) {
        fail(file.errorString());
        return;
    }
    QString error;
    bool written = true;
    switch (job.format) {
    case ReportFormat::Json:
        job.progress(60, tr("Writing JSON"));
        written = file.write(renderReportJson(content)) >= 0;
        break;
    case ReportFormat::Html:
        job.progress(60, tr("Rendering HTML"));
        written = file.write(renderReportHtml(content).toUtf8()) >= 0;
        break;
    case ReportFormat::Pdf: {
        job.progress(60, tr("Rendering PDF"));
        ReportDocument doc;
        doc.title = QStringLiteral("Vega Console report – %1").arg(content.hostName);
        doc.html = renderReportHtml(content, ReportHtmlCharts::ImageResources);
        doc.charts = content.charts;
        doc.fromMs = chartAxisFrom(content);
        doc.toMs = content.historyToMs;
        if (!job.pdf) {
            error = QStringLiteral("no PDF renderer");
            written = false;
        } else if (cancelled()) {
            written = false;
        } else {
            written = job.pdf(doc, &file, &error);
        }
        break;
    }
    case ReportFormat::Zip: {
        job.progress(60, tr("Hashing the bundle's files"));
        const QList<BundleFile> files = supportBundleFiles(content, cancelled);
        if (cancelled())
            break;
        job.progress(75, tr("Compressing the bundle"));
        written = writeSupportBundle(files, content.generatedWallMs, &file, &error, cancelled);
        break;
    }
    }
    if (cancelled()) {
        file.cancelWriting();
        return;
    }
    if (!written) {
        file.cancelWriting();
        fail(error.isEmpty() ? file.errorString() : error);
        return;
    }
    job.progress(95, tr("Saving"));
    if (!file.commit()) {
        fail(file.errorString());
        return;
    }
    job.ok = true;
}

} // namespace vega
