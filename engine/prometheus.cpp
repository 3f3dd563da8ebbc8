#include "prometheus.h"

#include <QSet>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <vector>

namespace vega {

namespace {

struct UnitRule {
    double divisor = 1;        // raw value / divisor = value in the base unit
    QLatin1String suffix;      // base-unit suffix of the family name
    QList<QLatin1String> replaces; // name suffixes that contradict the base unit
};

UnitRule unitRule(Unit unit)
{
    switch (unit) {
    case Unit::Nanoseconds:
        return {1e9, QLatin1String("_seconds"),
                {QLatin1String("_ns"), QLatin1String("_nanoseconds"), QLatin1String("_nanos")}};
    case Unit::Milliseconds:
        return {1e3, QLatin1String("_seconds"),
                {QLatin1String("_ms"), QLatin1String("_milliseconds"), QLatin1String("_millis")}};
    case Unit::Seconds:
        return {1, QLatin1String("_seconds"), {QLatin1String("_sec"), QLatin1String("_secs")}};
    case Unit::Bytes: return {1, QLatin1String("_bytes"), {}};
    case Unit::BytesPerSecond: return {1, QLatin1String("_bytes_per_second"), {}};
    case Unit::Percent:
        return {100, QLatin1String("_ratio"), {QLatin1String("_percent"), QLatin1String("_pct")}};
    case Unit::Ratio: return {1, QLatin1String("_ratio"), {}};
    case Unit::None: break;
    }
    return {1, QLatin1String(), {}};
}

bool isNameChar(QChar c, bool first)
{
    const char16_t u = c.unicode();
    if ((u >= u'a' && u <= u'z') || (u >= u'A' && u <= u'Z') || u == u'_')
        return true;
    return !first && u >= u'0' && u <= u'9';
}

// Every run of characters outside [a-zA-Z0-9_] becomes one '_'. Colons are legal in the
// grammar but reserved for recording rules, so they are replaced as well.
QString replaceInvalidRuns(const QString &in)
{
    QString out;
    out.reserve(in.size());
    bool inRun = false;
    for (const QChar c : in) {
        if (isNameChar(c, false)) {
            out += c;
            inRun = false;
        } else if (!inRun) {
            out += QLatin1Char('_');
            inRun = true;
        }
    }
    return out;
}

QString sanitisedBody(const QString &name)
{
    QString body = replaceInvalidRuns(name);
    while (body.startsWith(QLatin1Char('_')))
        body.remove(0, 1);
    while (body.endsWith(QLatin1Char('_')))
        body.chop(1);
    if (body.isEmpty())
        body = QStringLiteral("unnamed");
    return body;
}

QString familyName(const QString &name, MetricType type, Unit unit, const QString &prefix)
{
    QString body = sanitisedBody(name);
    if (type == MetricType::Counter && body.endsWith(QLatin1String("_total")) && body.size() > 6)
        body.chop(6);
    const UnitRule rule = unitRule(unit);
    if (!rule.suffix.isEmpty() && !body.endsWith(rule.suffix)) {
        for (const QLatin1String r : rule.replaces) {
            if (body.endsWith(r) && body.size() > r.size()) {
                body.chop(r.size());
                break;
            }
        }
        if (!body.endsWith(rule.suffix))
            body += rule.suffix;
    }
    if (type == MetricType::Counter)
        body += QLatin1String("_total");
    QString full = replaceInvalidRuns(prefix) + body;
    if (!isNameChar(full.at(0), true))
        full.prepend(QLatin1Char('_'));
    return full;
}

QByteArray formatDouble(double v)
{
    if (std::isnan(v))
        return QByteArrayLiteral("NaN");
    if (std::isinf(v))
        return v > 0 ? QByteArrayLiteral("+Inf") : QByteArrayLiteral("-Inf");
    // The shortest digits that read back as the same double; plain notation for exponents
    // -4..20 (le="0.0005", "1048576"), scientific beyond (1e-05, 1.5e+300), like printf's %g.
    char buf[400];
    auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const QByteArray sci(buf, int(res.ptr - buf));
    const int exponent = sci.mid(sci.indexOf('e') + 1).toInt();
    if (v == 0 || exponent < -4 || exponent > 20)
        return v == 0 ? QByteArray(std::signbit(v) ? "-0" : "0") : sci;
    res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
    return QByteArray(buf, int(res.ptr - buf));
}

QByteArray escapeHelp(const QString &text)
{
    QByteArray out;
    const QByteArray utf8 = text.toUtf8();
    out.reserve(utf8.size());
    for (const char c : utf8) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

QByteArray escapeLabelValue(const QString &text)
{
    QByteArray out;
    const QByteArray utf8 = text.toUtf8();
    out.reserve(utf8.size() + 2);
    for (const char c : utf8) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

// Raw-unit integer bound for an `le` given in base units: values v (integers) with
// v <= result are exactly the values <= le. Snaps products like 0.29 * 100 = 28.999...
double rawBound(double le, double divisor)
{
    double x = le * divisor;
    const double r = std::round(x);
    if (std::abs(x - r) <= 1e-9 * std::max(1.0, std::abs(x)))
        x = r;
    return std::floor(x);
}

struct Series {
    const MetricSnapshot *metric = nullptr;
    QByteArray labelText;  // `a="x",b="y"` without braces, labels sorted by name
};

struct Family {
    QString name;
    MetricType type = MetricType::Gauge;
    QString help;
    std::vector<Series> series;
    QSet<QByteArray> labelSets;
};

struct Pending {
    QString family;
    const MetricSnapshot *metric = nullptr;
    QByteArray labelText;
};

QByteArray labelText(const MetricSnapshot &m, const PrometheusOptions &options, QStringList *problems)
{
    std::map<QString, QString> labels; // sorted by name
    for (const auto &l : m.labels) {
        QString name = prometheusLabelName(l.first);
        if (m.type == MetricType::Histogram && name == QLatin1String("le"))
            name = QStringLiteral("exported_le");
        if (labels.count(name)) {
            if (problems)
                problems->append(QStringLiteral("%1: label \"%2\" dropped, its sanitised name \"%3\" is "
                                                "already used by another label")
                                     .arg(m.name, l.first, name));
            continue;
        }
        labels.emplace(name, l.second);
    }
    for (const auto &l : options.constantLabels) {
        QString name = prometheusLabelName(l.first);
        if (m.type == MetricType::Histogram && name == QLatin1String("le"))
            name = QStringLiteral("exported_le");
        labels.emplace(name, l.second); // no-op when the metric has that label
    }
    QByteArray out;
    for (const auto &[name, value] : labels) {
        if (!out.isEmpty())
            out += ',';
        out += name.toLatin1() + "=\"" + escapeLabelValue(value) + '"';
    }
    return out;
}

QByteArray braces(const QByteArray &labels)
{
    return labels.isEmpty() ? QByteArray() : '{' + labels + '}';
}

void writeCounter(QByteArray &out, const QString &family, const Series &s)
{
    const UnitRule rule = unitRule(s.metric->unit);
    out += family.toLatin1() + braces(s.labelText) + ' ';
    if (rule.divisor == 1)
        out += QByteArray::number(s.metric->total);
    else
        out += formatDouble(double(s.metric->total) / rule.divisor);
    out += '\n';
}

void writeGauge(QByteArray &out, const QString &family, const Series &s)
{
    const UnitRule rule = unitRule(s.metric->unit);
    out += family.toLatin1() + braces(s.labelText) + ' ' + formatDouble(s.metric->value / rule.divisor) + '\n';
}

void writeHistogram(QByteArray &out, const QString &family, const Series &s)
{
    static const HistogramCounts empty;
    const HistogramCounts &c = s.metric->cumulative ? *s.metric->cumulative : empty;
    const UnitRule rule = unitRule(s.metric->unit);
    const QByteArray name = family.toLatin1();
    const QByteArray labelPrefix = s.labelText.isEmpty() ? QByteArray("{") : '{' + s.labelText + ',';

    size_t index = 0;
    quint64 below = 0; // observations in buckets [0, index)
    for (const double le : prometheusBucketBounds(s.metric->unit)) {
        const double raw = rawBound(le, rule.divisor);
        // A bucket whose lower bound is <= the bound counts as at or below it, straddling or
        // not: values exactly on a bound are counted where they belong, and the error is at most
        // one log bucket (< 1/64 of the bound). The exact min and max tighten both ends.
        while (index < c.buckets.size() && double(Histogram::bucketLower(int(index))) <= raw)
            below += c.buckets[index++];
        quint64 n = std::min(below, c.count);
        if (c.count && raw >= double(c.max))
            n = c.count;
        else if (c.count && raw < double(c.min))
            n = 0;
        out += name + "_bucket" + labelPrefix + "le=\"" + formatDouble(le) + "\"} " + QByteArray::number(n) + '\n';
    }
    out += name + "_bucket" + labelPrefix + "le=\"+Inf\"} " + QByteArray::number(c.count) + '\n';
    out += name + "_sum" + braces(s.labelText) + ' ' + formatDouble(c.sum / rule.divisor) + '\n';
    out += name + "_count" + braces(s.labelText) + ' ' + QByteArray::number(c.count) + '\n';
}

} // namespace

QString prometheusFamilyName(const QString &name, MetricType type, Unit unit, const QString &prefix)
{
    return familyName(name, type, unit, prefix);
}

QString prometheusLabelName(const QString &name)
{
    QString out = replaceInvalidRuns(name);
    if (out.isEmpty())
        return QStringLiteral("_");
    if (!isNameChar(out.at(0), true))
        out.prepend(QLatin1Char('_'));
    while (out.startsWith(QLatin1String("__")))
        out.remove(0, 1);
    return out;
}

QList<double> prometheusBucketBounds(Unit unit)
{
    switch (unit) {
    case Unit::Nanoseconds:
    case Unit::Milliseconds:
    case Unit::Seconds:
        return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                0.05,    0.1,      0.25,    0.5,    1,       2.5,    5,     10,     30,    60};
    case Unit::Bytes:
    case Unit::BytesPerSecond:
        // Powers of 4 from 64 B to 1 GiB.
        return {64,      256,      1024,      4096,       16384,      65536,     262144,
                1048576, 4194304,  16777216,  67108864,   268435456,  1073741824};
    case Unit::Percent:
    case Unit::Ratio:
        return {0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1};
    case Unit::None: break;
    }
    return {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 100000, 1000000};
}

QByteArray prometheusText(const MetricsSnapshot &snapshot, const PrometheusOptions &options,
                          QStringList *problems)
{
    std::vector<Pending> pending;
    pending.reserve(size_t(snapshot.metrics.size()));
    for (const auto &m : snapshot.metrics)
        pending.push_back({familyName(m.name, m.type, m.unit, options.prefix), &m, labelText(m, options, problems)});
    std::sort(pending.begin(), pending.end(), [](const Pending &a, const Pending &b) {
        if (a.family != b.family)
            return a.family < b.family;
        if (a.metric->name != b.metric->name)
            return a.metric->name < b.metric->name;
        return a.labelText < b.labelText;
    });

    std::map<QString, Family> families;
    for (const auto &p : pending) {
        auto it = families.find(p.family);
        if (it == families.end())
            it = families.emplace(p.family, Family{p.family, p.metric->type, {}, {}, {}}).first;
        Family &f = it->second;
        if (f.type != p.metric->type) {
            if (problems)
                problems->append(QStringLiteral("%1 (%2): left out, family %3 is already a %4")
                                     .arg(p.metric->name, metricTypeName(p.metric->type), p.family,
                                          metricTypeName(f.type)));
            continue;
        }
        if (f.labelSets.contains(p.labelText)) {
            if (problems)
                problems->append(QStringLiteral("%1{%2}: left out, the same series of %3 already exists")
                                     .arg(p.metric->name, QString::fromUtf8(p.labelText), p.family));
            continue;
        }
        if (f.help.isEmpty())
            f.help = p.metric->help;
        f.labelSets.insert(p.labelText);
        f.series.push_back({p.metric, p.labelText});
    }
    for (auto &entry : families)
        std::stable_sort(entry.second.series.begin(), entry.second.series.end(),
                         [](const Series &a, const Series &b) { return a.labelText < b.labelText; });

    // A histogram's samples are <name>_bucket/_sum/_count: no other family may use those names.
    QSet<QString> histogramSamples;
    for (const auto &[name, f] : families)
        if (f.type == MetricType::Histogram && !f.series.empty())
            for (const char *suffix : {"_bucket", "_sum", "_count"})
                histogramSamples.insert(name + QLatin1String(suffix));

    QByteArray out;
    for (const auto &[name, f] : families) {
        if (f.series.empty())
            continue;
        if (histogramSamples.contains(name)) {
            if (problems)
                for (const auto &s : f.series)
                    problems->append(QStringLiteral("%1: left out, %2 is a sample name of a histogram")
                                         .arg(s.metric->name, name));
            continue;
        }
        const QString help = f.help.isEmpty() ? f.series.front().metric->name : f.help;
        out += "# HELP " + name.toLatin1() + ' ' + escapeHelp(help) + '\n';
        out += "# TYPE " + name.toLatin1() + ' ' + metricTypeName(f.type).toLatin1() + '\n';
        for (const auto &s : f.series) {
            switch (f.type) {
            case MetricType::Counter: writeCounter(out, name, s); break;
            case MetricType::Gauge: writeGauge(out, name, s); break;
            case MetricType::Histogram: writeHistogram(out, name, s); break;
            }
        }
    }
    return out;
}

} // namespace vega
