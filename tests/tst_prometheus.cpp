#include "metrics.h"
#include "prometheus.h"

#include <QRegularExpression>
#include <QtTest>

#include <cmath>
#include <cstdlib>
#include <random>

using namespace vega;

namespace {

// A strict reader of the text exposition format 0.0.4, as far as this exporter uses it:
// "# HELP", "# TYPE" and sample lines, '\n' line ends, no blank lines, no other comments.
struct Sample {
    QString name;
    QList<QPair<QString, QString>> labels; // in the order written
    QString valueText;
    double value = 0;
    QString family;
    bool found = true;

    QString label(const QString &key) const
    {
        for (const auto &l : labels)
            if (l.first == key)
                return l.second;
        return {};
    }
    bool hasLabel(const QString &key) const
    {
        for (const auto &l : labels)
            if (l.first == key)
                return true;
        return false;
    }
    // Labels other than "le", as one comparable key.
    QString seriesKey() const
    {
        QString k;
        for (const auto &l : labels)
            if (l.first != QLatin1String("le"))
                k += l.first + QLatin1Char('=') + l.second + QLatin1Char('\x1f');
        return k;
    }
};

struct Exposition {
    QString error; // empty when the text is valid
    QStringList families; // in the order their TYPE lines appear
    QHash<QString, QString> help;
    QHash<QString, QString> type;
    QList<Sample> samples;

    QList<Sample> samplesOf(const QString &family) const
    {
        QList<Sample> out;
        for (const auto &s : samples)
            if (s.family == family)
                out.append(s);
        return out;
    }
};

const QRegularExpression &metricNameRe()
{
    static const QRegularExpression re(QStringLiteral("^[a-zA-Z_:][a-zA-Z0-9_:]*$"));
    return re;
}

bool parseValue(const QString &text, double *value)
{
    if (text == QLatin1String("NaN")) {
        *value = std::nan("");
        return true;
    }
    if (text == QLatin1String("+Inf")) {
        *value = INFINITY;
        return true;
    }
    if (text == QLatin1String("-Inf")) {
        *value = -INFINITY;
        return true;
    }
    static const QRegularExpression re(QStringLiteral("^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$"));
    if (!re.match(text).hasMatch())
        return false;
    const QByteArray latin = text.toLatin1();
    char *end = nullptr;
    *value = std::strtod(latin.constData(), &end);
    return end == latin.constData() + latin.size();
}

// Reads an escaped string up to (not including) @p terminator; allowed escapes: @p escapes.
bool unescape(const QString &in, int &pos, QChar terminator, const QString &escapes, QString *out)
{
    out->clear();
    while (pos < in.size()) {
        const QChar c = in.at(pos);
        if (c == terminator)
            return true;
        if (c == QLatin1Char('\\')) {
            if (pos + 1 >= in.size() || !escapes.contains(in.at(pos + 1)))
                return false;
            const QChar e = in.at(pos + 1);
            *out += e == QLatin1Char('n') ? QLatin1Char('\n') : e;
            pos += 2;
            continue;
        }
        if (c == QLatin1Char('\n'))
            return false;
        *out += c;
        ++pos;
    }
    return terminator.isNull();
}

Exposition parse(const QByteArray &text)
{
    Exposition x;
    if (text.isEmpty())
        return x;
    if (!text.endsWith('\n')) {
        x.error = QStringLiteral("text does not end with a newline");
        return x;
    }
    const QString all = QString::fromUtf8(text);
    if (all.toUtf8() != text) {
        x.error = QStringLiteral("text is not valid UTF-8");
        return x;
    }
    QStringList lines = all.split(QLatin1Char('\n'));
    lines.removeLast();
    QString current; // family whose lines are being read
    QSet<QString> finished;
    QSet<QString> withSamples;
    for (int n = 0; n < lines.size(); ++n) {
        const QString &line = lines.at(n);
        auto fail = [&](const QString &why) { x.error = QStringLiteral("line %1: %2: %3").arg(n + 1).arg(why, line); };
        if (line.isEmpty())
            return fail(QStringLiteral("blank line")), x;
        if (line.contains(QLatin1Char('\r')))
            return fail(QStringLiteral("carriage return")), x;
        if (line.startsWith(QLatin1Char('#'))) {
            const bool isHelp = line.startsWith(QLatin1String("# HELP "));
            const bool isType = line.startsWith(QLatin1String("# TYPE "));
            if (!isHelp && !isType)
                return fail(QStringLiteral("unexpected comment")), x;
            const QString rest = line.mid(7);
            const int space = rest.indexOf(QLatin1Char(' '));
            if (space <= 0)
                return fail(QStringLiteral("no text after the name")), x;
            const QString name = rest.left(space);
            if (!metricNameRe().match(name).hasMatch())
                return fail(QStringLiteral("bad metric name")), x;
            if (name != current) {
                if (finished.contains(name) || x.help.contains(name) || x.type.contains(name))
                    return fail(QStringLiteral("family lines not contiguous")), x;
                if (!current.isEmpty())
                    finished.insert(current);
                current = name;
            }
            if (withSamples.contains(name))
                return fail(QStringLiteral("HELP/TYPE after samples")), x;
            if (isHelp) {
                if (x.help.contains(name) || x.type.contains(name))
                    return fail(QStringLiteral("second HELP, or HELP after TYPE")), x;
                int pos = space + 1;
                QString help;
                if (!unescape(rest, pos, QChar(), QStringLiteral("\\n"), &help))
                    return fail(QStringLiteral("bad escape in HELP")), x;
                x.help.insert(name, help);
            } else {
                if (x.type.contains(name))
                    return fail(QStringLiteral("second TYPE")), x;
                const QString t = rest.mid(space + 1);
                static const QStringList types{QStringLiteral("counter"), QStringLiteral("gauge"),
                                               QStringLiteral("histogram"), QStringLiteral("summary"),
                                               QStringLiteral("untyped")};
                if (!types.contains(t))
                    return fail(QStringLiteral("bad type")), x;
                x.type.insert(name, t);
                x.families.append(name);
            }
            continue;
        }
        // Sample line: name [ "{" label="value" { "," label="value" } [ "," ] "}" ] value
        Sample s;
        int pos = 0;
        while (pos < line.size() && line.at(pos) != QLatin1Char('{') && line.at(pos) != QLatin1Char(' '))
            ++pos;
        s.name = line.left(pos);
        if (!metricNameRe().match(s.name).hasMatch())
            return fail(QStringLiteral("bad sample name")), x;
        if (pos < line.size() && line.at(pos) == QLatin1Char('{')) {
            ++pos;
            static const QRegularExpression labelRe(QStringLiteral("^[a-zA-Z_][a-zA-Z0-9_]*$"));
            while (pos < line.size() && line.at(pos) != QLatin1Char('}')) {
                const int eq = line.indexOf(QLatin1Char('='), pos);
                if (eq < 0)
                    return fail(QStringLiteral("label without '='")), x;
                const QString key = line.mid(pos, eq - pos);
                if (!labelRe.match(key).hasMatch() || key.startsWith(QLatin1String("__")))
                    return fail(QStringLiteral("bad label name \"%1\"").arg(key)), x;
                if (s.hasLabel(key))
                    return fail(QStringLiteral("duplicate label")), x;
                pos = eq + 1;
                if (pos >= line.size() || line.at(pos) != QLatin1Char('"'))
                    return fail(QStringLiteral("label value not quoted")), x;
                ++pos;
                QString value;
                if (!unescape(line, pos, QLatin1Char('"'), QStringLiteral("\\\"n"), &value))
                    return fail(QStringLiteral("bad label value")), x;
                ++pos; // closing quote
                s.labels.append({key, value});
                if (pos < line.size() && line.at(pos) == QLatin1Char(','))
                    ++pos;
                else if (pos >= line.size() || line.at(pos) != QLatin1Char('}'))
                    return fail(QStringLiteral("expected ',' or '}'")), x;
            }
            if (pos >= line.size())
                return fail(QStringLiteral("unterminated labels")), x;
            ++pos; // '}'
        }
        if (pos >= line.size() || line.at(pos) != QLatin1Char(' '))
            return fail(QStringLiteral("no space before the value")), x;
        s.valueText = line.mid(pos + 1);
        if (!parseValue(s.valueText, &s.value))
            return fail(QStringLiteral("bad value")), x;
        // Which family the sample belongs to.
        if (x.type.contains(s.name) && x.type.value(s.name) != QLatin1String("histogram")) {
            s.family = s.name;
        } else {
            for (const char *suffix : {"_bucket", "_sum", "_count"}) {
                if (s.name.endsWith(QLatin1String(suffix))) {
                    const QString base = s.name.chopped(int(qstrlen(suffix)));
                    if (x.type.value(base) == QLatin1String("histogram"))
                        s.family = base;
                }
            }
        }
        if (s.family.isEmpty())
            return fail(QStringLiteral("sample of no declared family")), x;
        if (s.family != current)
            return fail(QStringLiteral("sample outside its family's block")), x;
        if (s.name.endsWith(QLatin1String("_bucket")) && !s.hasLabel(QStringLiteral("le")))
            return fail(QStringLiteral("bucket without le")), x;
        withSamples.insert(s.family);
        x.samples.append(s);
    }
    return x;
}

// Checks every histogram family: per series, le increasing, counts non-decreasing, +Inf last
// and equal to _count. Returns an empty string when all is well.
QString checkHistograms(const Exposition &x)
{
    for (const QString &family : x.families) {
        if (x.type.value(family) != QLatin1String("histogram"))
            continue;
        QHash<QString, QList<Sample>> buckets;
        QHash<QString, double> counts;
        QStringList order;
        for (const Sample &s : x.samplesOf(family)) {
            if (s.name == family + QLatin1String("_bucket")) {
                if (!buckets.contains(s.seriesKey()))
                    order.append(s.seriesKey());
                buckets[s.seriesKey()].append(s);
            } else if (s.name == family + QLatin1String("_count")) {
                counts.insert(s.seriesKey(), s.value);
            }
        }
        for (const QString &key : order) {
            const QList<Sample> &b = buckets.value(key);
            double lastLe = -INFINITY;
            double lastCount = 0;
            for (const Sample &s : b) {
                double le = 0;
                if (!parseValue(s.label(QStringLiteral("le")), &le) || std::isnan(le))
                    return QStringLiteral("%1: bad le").arg(family);
                if (!(le > lastLe))
                    return QStringLiteral("%1: le not increasing").arg(family);
                if (s.value < lastCount)
                    return QStringLiteral("%1: bucket counts decrease at le=%2").arg(family).arg(le);
                lastLe = le;
                lastCount = s.value;
            }
            if (!std::isinf(lastLe))
                return QStringLiteral("%1: last bucket is not +Inf").arg(family);
            if (!counts.contains(key) || counts.value(key) != lastCount)
                return QStringLiteral("%1: +Inf bucket != _count").arg(family);
        }
    }
    return {};
}

// Never null: a missing sample is a stand-in with found == false and a NaN value, so that
// the comparison that follows fails instead of crashing.
const Sample *findSample(const Exposition &x, const QString &name, const QString &key = {},
                         const QString &value = {})
{
    for (const auto &s : x.samples)
        if (s.name == name && (key.isEmpty() || s.label(key) == value))
            return &s;
    static const Sample missing = [] {
        Sample m;
        m.name = QStringLiteral("<missing>");
        m.valueText = QStringLiteral("<missing>");
        m.value = std::nan("");
        m.found = false;
        return m;
    }();
    return &missing;
}

QString L(const char *s)
{
    return QString::fromUtf8(s);
}

} // namespace

class TestPrometheus : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void wholeRegistryIsValidExposition()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        r.counter(L("http_requests"), {{L("host"), L("a.example")}, {L("status"), L("200")}},
                  L("Requests sent"))->inc(7);
        r.counter(L("http_requests"), {{L("host"), L("b.example")}, {L("status"), L("500")}},
                  L("Requests sent"))->inc(2);
        r.counter(L("cache_hits"))->inc();
        r.gauge(L("cache_bytes"), {{L("cache"), L("main")}}, L("Bytes in the cache"), Unit::Bytes)->set(4096);
        r.gauge(L("pool_reuse_ratio"), {}, L("Reuse"), Unit::Ratio)->set(0.75);
        r.gauge(L("weird"), {{L("path"), L("C:\\dir \"x\"\nnext")}}, L("Help with \\ and\nnewline"));
        Histogram *h = r.histogram(L("http_request_duration"), {{L("host"), L("a.example")}},
                                   L("Request duration"), Unit::Nanoseconds);
        for (int i = 1; i <= 1000; ++i)
            h->record(qint64(i) * 37000);
        r.histogram(L("http_request_duration"), {{L("host"), L("b.example")}}, L("Request duration"),
                    Unit::Nanoseconds); // empty
        r.histogram(L("response_size"), {}, L("Response body size"), Unit::Bytes)->record(5000);
        const auto snap = r.capture();

        QStringList problems;
        const QByteArray text = prometheusText(*snap, {}, &problems);
        QVERIFY2(problems.isEmpty(), qPrintable(problems.join(QLatin1Char('\n'))));
        const Exposition x = parse(text);
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error + QLatin1Char('\n') + QString::fromUtf8(text)));
        const QString hist = checkHistograms(x);
        QVERIFY2(hist.isEmpty(), qPrintable(hist));

        // One HELP and one TYPE per family (the parser rejects a second), families sorted.
        QStringList expected{L("vega_cache_bytes"), L("vega_cache_hits_total"),
                             L("vega_http_request_duration_seconds"), L("vega_http_requests_total"),
                             L("vega_pool_reuse_ratio"), L("vega_response_size_bytes"), L("vega_weird")};
        QCOMPARE(x.families, expected);
        for (const QString &f : expected) {
            QVERIFY2(x.help.contains(f), qPrintable(f));
            QVERIFY2(!x.samplesOf(f).isEmpty(), qPrintable(f));
        }
        QCOMPARE(x.type.value(L("vega_http_requests_total")), L("counter"));
        QCOMPARE(x.type.value(L("vega_cache_bytes")), L("gauge"));
        QCOMPARE(x.type.value(L("vega_http_request_duration_seconds")), L("histogram"));
        QCOMPARE(x.help.value(L("vega_http_requests_total")), L("Requests sent"));
        QCOMPARE(x.help.value(L("vega_cache_hits_total")), L("cache_hits")); // default help
        QCOMPARE(x.help.value(L("vega_weird")), L("Help with \\ and\nnewline"));

        const Sample *a = findSample(x, L("vega_http_requests_total"), L("host"), L("a.example"));
        QVERIFY(a->found);
        QCOMPARE(a->valueText, L("7"));
        QCOMPARE(a->label(L("status")), L("200"));
        QCOMPARE(findSample(x, L("vega_cache_bytes"))->value, 4096.0);
        QCOMPARE(findSample(x, L("vega_pool_reuse_ratio"))->value, 0.75);

        // Both histogram series are there, the empty one with zero buckets.
        const Sample *emptyCount = findSample(x, L("vega_http_request_duration_seconds_count"), L("host"),
                                              L("b.example"));
        QVERIFY(emptyCount->found);
        QCOMPARE(emptyCount->value, 0.0);
        const Sample *count = findSample(x, L("vega_http_request_duration_seconds_count"), L("host"),
                                         L("a.example"));
        QCOMPARE(count->value, 1000.0);
        // The fixed bounds, in order, then +Inf.
        QStringList les;
        for (const auto &s : x.samplesOf(L("vega_http_request_duration_seconds")))
            if (s.label(L("host")) == L("a.example") && s.hasLabel(L("le")))
                les.append(s.label(L("le")));
        QStringList expectedLes;
        for (double b : prometheusBucketBounds(Unit::Nanoseconds))
            expectedLes.append(QString::number(b, 'g', 17));
        expectedLes.append(L("+Inf"));
        QCOMPARE(les.size(), expectedLes.size());
        for (int i = 0; i + 1 < les.size(); ++i)
            QCOMPARE(les.at(i).toDouble(), expectedLes.at(i).toDouble());
        QCOMPARE(les.last(), L("+Inf"));

        // Exporting again gives the same bytes.
        QCOMPARE(prometheusText(*snap), text);
    }

    void orderDoesNotDependOnRegistration()
    {
        MetricsRegistry a;
        MetricsRegistry b;
        const QStringList names{L("zeta"), L("alpha"), L("mid")};
        for (const QString &n : names)
            a.counter(n, {{L("k"), L("1")}})->inc();
        for (const QString &n : names)
            a.counter(n, {{L("k"), L("0")}})->inc();
        for (auto it = names.crbegin(); it != names.crend(); ++it) {
            b.counter(*it, {{L("k"), L("0")}})->inc();
            b.counter(*it, {{L("k"), L("1")}})->inc();
        }
        const QByteArray ta = prometheusText(*a.capture());
        QCOMPARE(prometheusText(*b.capture()), ta);
        QVERIFY(ta.indexOf("vega_alpha_total{k=\"0\"}") < ta.indexOf("vega_alpha_total{k=\"1\"}"));
        QVERIFY(ta.indexOf("vega_alpha_total") < ta.indexOf("vega_mid_total"));
    }

    void countersStayMonotonicAcrossReset()
    {
        ManualClock clock;
        MetricsRegistry r(&clock);
        Counter *c = r.counter(L("jobs"), {{L("queue"), L("q")}}, L("Jobs"));
        c->inc(5);
        const Exposition before = parse(prometheusText(*r.capture()));
        QVERIFY2(before.error.isEmpty(), qPrintable(before.error));
        r.resetStats(L("test"));
        clock.advanceMs(1000);
        const auto afterReset = r.capture();
        QCOMPARE(afterReset->find(L("jobs"), {{L("queue"), L("q")}})->sinceReset, quint64(0));
        const Exposition mid = parse(prometheusText(*afterReset));
        c->inc(3);
        clock.advanceMs(1000);
        const Exposition after = parse(prometheusText(*r.capture()));
        QVERIFY2(after.error.isEmpty(), qPrintable(after.error));

        const double v1 = findSample(before, L("vega_jobs_total"))->value;
        const double v2 = findSample(mid, L("vega_jobs_total"))->value;
        const double v3 = findSample(after, L("vega_jobs_total"))->value;
        QCOMPARE(v1, 5.0);
        QCOMPARE(v2, 5.0);
        QCOMPARE(v3, 8.0);
        QCOMPARE(after.type.value(L("vega_jobs_total")), L("counter"));
    }

    void histogramBucketsStayMonotonicAcrossReset()
    {
        MetricsRegistry r;
        Histogram *h = r.histogram(L("lat"), {}, {}, Unit::Milliseconds);
        h->record(3);
        h->record(40);
        const Exposition before = parse(prometheusText(*r.capture()));
        r.resetStats();
        h->record(3);
        const Exposition after = parse(prometheusText(*r.capture()));
        QVERIFY2(after.error.isEmpty(), qPrintable(after.error));
        QCOMPARE(findSample(after, L("vega_lat_seconds_count"))->value, 3.0);
        QCOMPARE(findSample(after, L("vega_lat_seconds_sum"))->value, 0.046);
        for (const auto &s : before.samplesOf(L("vega_lat_seconds"))) {
            if (!s.hasLabel(L("le")))
                continue;
            const Sample *later = findSample(after, s.name, L("le"), s.label(L("le")));
            QVERIFY(later->found);
            QVERIFY2(later->value >= s.value, qPrintable(s.label(L("le"))));
        }
        QCOMPARE(findSample(after, L("vega_lat_seconds_bucket"), L("le"), L("0.0025"))->value, 0.0);
        QCOMPARE(findSample(after, L("vega_lat_seconds_bucket"), L("le"), L("0.005"))->value, 2.0);
        QCOMPARE(findSample(after, L("vega_lat_seconds_bucket"), L("le"), L("0.05"))->value, 3.0);
    }

    void unitsAreConverted()
    {
        MetricsRegistry r;
        Histogram *h = r.histogram(L("query_duration"), {}, L("Query"), Unit::Nanoseconds);
        for (int i = 0; i < 1000; ++i)
            h->record(1000000); // 1 ms
        r.gauge(L("lag_p50_ms"), {}, {}, Unit::Milliseconds)->set(250);
        r.gauge(L("process_cpu_percent"), {}, {}, Unit::Percent)->set(42);
        r.gauge(L("uptime_seconds"), {}, {}, Unit::Seconds)->set(12.5);
        r.gauge(L("failure_rate"), {}, {}, Unit::Ratio)->set(0.5);
        r.gauge(L("rx"), {}, {}, Unit::BytesPerSecond)->set(1e6);
        r.gauge(L("rss_bytes"), {}, {}, Unit::Bytes)->set(123456789);
        r.counter(L("busy_time"), {}, {}, Unit::Nanoseconds)->inc(1500000000);
        r.counter(L("sent_total"), {}, {}, Unit::Bytes)->inc(10);
        const Exposition x = parse(prometheusText(*r.capture()));
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error));
        QVERIFY(checkHistograms(x).isEmpty());

        // 1,000,000 ns observations are 0.001 s; an observation exactly on a bound is in it.
        QCOMPARE(x.type.value(L("vega_query_duration_seconds")), L("histogram"));
        const Sample *sum = findSample(x, L("vega_query_duration_seconds_sum"));
        QVERIFY(sum->found);
        QVERIFY2(std::abs(sum->value - 1.0) < 1e-9, qPrintable(sum->valueText));
        QCOMPARE(findSample(x, L("vega_query_duration_seconds_bucket"), L("le"), L("0.0005"))->value, 0.0);
        QCOMPARE(findSample(x, L("vega_query_duration_seconds_bucket"), L("le"), L("0.001"))->value, 1000.0);
        QCOMPARE(findSample(x, L("vega_query_duration_seconds_count"))->value, 1000.0);

        QCOMPARE(findSample(x, L("vega_lag_p50_seconds"))->value, 0.25);
        QCOMPARE(findSample(x, L("vega_process_cpu_ratio"))->value, 0.42);
        QCOMPARE(findSample(x, L("vega_uptime_seconds"))->value, 12.5);
        QCOMPARE(findSample(x, L("vega_failure_rate_ratio"))->value, 0.5);
        QCOMPARE(findSample(x, L("vega_rx_bytes_per_second"))->value, 1e6);
        QCOMPARE(findSample(x, L("vega_rss_bytes"))->valueText, L("123456789"));
        QCOMPARE(findSample(x, L("vega_busy_time_seconds_total"))->value, 1.5);
        QCOMPARE(findSample(x, L("vega_sent_bytes_total"))->valueText, L("10"));
        QCOMPARE(x.type.value(L("vega_sent_bytes_total")), L("counter"));
    }

    void bucketCountsMatchObservations()
    {
        // Log-spread values: every exported bucket holds at least the values <= le and at most
        // those within one log bucket (1/64) above it.
        MetricsRegistry r;
        Histogram *h = r.histogram(L("spread"), {}, {}, Unit::Nanoseconds);
        std::mt19937_64 rng(42);
        std::uniform_real_distribution<double> exponent(2.0, 11.0); // 100 ns .. 100 s
        std::vector<qint64> values;
        for (int i = 0; i < 20000; ++i) {
            const qint64 v = qint64(std::pow(10.0, exponent(rng)));
            values.push_back(v);
            h->record(v);
        }
        const Exposition x = parse(prometheusText(*r.capture()));
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error));
        QVERIFY(checkHistograms(x).isEmpty());
        double sum = 0;
        for (qint64 v : values)
            sum += double(v);
        const double exportedSum = findSample(x, L("vega_spread_seconds_sum"))->value;
        QVERIFY(std::abs(exportedSum - sum / 1e9) <= 1e-9 * sum / 1e9);
        int checked = 0;
        for (const auto &s : x.samplesOf(L("vega_spread_seconds"))) {
            if (!s.hasLabel(L("le")) || s.label(L("le")) == L("+Inf"))
                continue;
            const double le = s.label(L("le")).toDouble();
            const double rawLe = std::round(le * 1e9);
            quint64 exact = 0;
            quint64 loose = 0;
            for (qint64 v : values) {
                exact += double(v) <= rawLe;
                loose += double(v) <= rawLe * (1.0 + 1.0 / 64) + 1;
            }
            QVERIFY2(s.value >= double(exact) && s.value <= double(loose),
                     qPrintable(QStringLiteral("le=%1 exported %2, exact %3, loose %4")
                                    .arg(s.label(L("le")), s.valueText).arg(exact).arg(loose)));
            ++checked;
        }
        QCOMPARE(checked, prometheusBucketBounds(Unit::Nanoseconds).size());
    }

    void escapingRoundTrips_data()
    {
        QTest::addColumn<QString>("value");
        QTest::newRow("quote") << L("say \"hi\"");
        QTest::newRow("backslash") << L("C:\\temp\\");
        QTest::newRow("newline") << L("line1\nline2\n");
        QTest::newRow("escaped-looking") << L("\\n is not a newline, \\\" neither");
        QTest::newRow("unicode") << L("naïve café – 東京");
        QTest::newRow("braces") << L("{a=\"b\"},c");
        QTest::newRow("empty") << QString();
    }

    void escapingRoundTrips()
    {
        QFETCH(QString, value);
        MetricsRegistry r;
        const QString help = L("Help: ") + value;
        r.gauge(L("g"), {{L("v"), value}}, help)->set(1);
        r.histogram(L("h"), {{L("v"), value}}, help)->record(10);
        const QByteArray text = prometheusText(*r.capture());
        const Exposition x = parse(text);
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error + QLatin1Char('\n') + QString::fromUtf8(text)));
        QCOMPARE(x.help.value(L("vega_g")), help);
        QCOMPARE(findSample(x, L("vega_g"))->label(L("v")), value);
        QCOMPARE(findSample(x, L("vega_h_seconds_bucket"))->label(L("v")), value);
        QCOMPARE(findSample(x, L("vega_h_seconds_count"))->label(L("v")), value);
    }

    void namesAreSanitised_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("unit");
        QTest::addColumn<QString>("expected");
        const int counter = int(MetricType::Counter);
        const int gauge = int(MetricType::Gauge);
        const int histogram = int(MetricType::Histogram);
        QTest::newRow("illegal chars") << L("http requests/sec (ok)") << gauge << int(Unit::None)
                                       << L("vega_http_requests_sec_ok");
        QTest::newRow("colon and dash") << L("a:b-c") << gauge << int(Unit::None) << L("vega_a_b_c");
        QTest::newRow("leading digit") << L("5xx") << gauge << int(Unit::None) << L("vega_5xx");
        QTest::newRow("non-ascii") << L("latência") << gauge << int(Unit::None) << L("vega_lat_ncia");
        QTest::newRow("nothing left") << L("***") << gauge << int(Unit::None) << L("vega_unnamed");
        QTest::newRow("counter") << L("requests") << counter << int(Unit::None) << L("vega_requests_total");
        QTest::newRow("counter with total") << L("requests_total") << counter << int(Unit::None)
                                            << L("vega_requests_total");
        QTest::newRow("counter bytes") << L("sent_bytes") << counter << int(Unit::Bytes)
                                       << L("vega_sent_bytes_total");
        QTest::newRow("ns histogram") << L("duration") << histogram << int(Unit::Nanoseconds)
                                      << L("vega_duration_seconds");
        QTest::newRow("ns suffix replaced") << L("flush_ns") << histogram << int(Unit::Nanoseconds)
                                            << L("vega_flush_seconds");
        QTest::newRow("seconds kept") << L("uptime_seconds") << gauge << int(Unit::Seconds)
                                      << L("vega_uptime_seconds");
        QTest::newRow("ms suffix replaced") << L("lag_ms") << gauge << int(Unit::Milliseconds)
                                            << L("vega_lag_seconds");
        QTest::newRow("percent") << L("cpu_percent") << gauge << int(Unit::Percent) << L("vega_cpu_ratio");
        QTest::newRow("ratio kept") << L("reuse_ratio") << gauge << int(Unit::Ratio) << L("vega_reuse_ratio");
        QTest::newRow("bytes kept") << L("cache_bytes") << gauge << int(Unit::Bytes) << L("vega_cache_bytes");
        QTest::newRow("bytes added") << L("cache_size") << gauge << int(Unit::Bytes)
                                     << L("vega_cache_size_bytes");
    }

    void namesAreSanitised()
    {
        QFETCH(QString, name);
        QFETCH(int, type);
        QFETCH(int, unit);
        QFETCH(QString, expected);
        QCOMPARE(prometheusFamilyName(name, MetricType(type), Unit(unit)), expected);
        QVERIFY(metricNameRe().match(expected).hasMatch());

        // And the same name goes through a whole export.
        MetricsRegistry r;
        switch (MetricType(type)) {
        case MetricType::Counter: r.counter(name, {}, {}, Unit(unit))->inc(); break;
        case MetricType::Gauge: r.gauge(name, {}, {}, Unit(unit))->set(1); break;
        case MetricType::Histogram: r.histogram(name, {}, {}, Unit(unit))->record(1); break;
        }
        const Exposition x = parse(prometheusText(*r.capture()));
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error));
        QCOMPARE(x.families, QStringList{expected});
    }

    void labelNamesAreSanitised()
    {
        QCOMPARE(prometheusLabelName(L("content-type")), L("content_type"));
        QCOMPARE(prometheusLabelName(L("__reserved")), L("_reserved"));
        QCOMPARE(prometheusLabelName(L("1st")), L("_1st"));
        QCOMPARE(prometheusLabelName(QString()), L("_"));
        MetricsRegistry r;
        r.gauge(L("g"), {{L("content-type"), L("json")}, {L("a b"), L("x")}})->set(1);
        r.histogram(L("h"), {{L("le"), L("user")}})->record(1); // "le" is the bucket label
        const Exposition x = parse(prometheusText(*r.capture()));
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error));
        const Sample *g = findSample(x, L("vega_g"));
        QCOMPARE(g->label(L("content_type")), L("json"));
        QCOMPARE(g->label(L("a_b")), L("x"));
        const Sample *b = findSample(x, L("vega_h_seconds_bucket"));
        QCOMPARE(b->label(L("exported_le")), L("user"));
    }

    void gaugeSpecialValues_data()
    {
        QTest::addColumn<double>("value");
        QTest::addColumn<QString>("text");
        QTest::newRow("nan") << std::nan("") << L("NaN");
        QTest::newRow("+inf") << double(INFINITY) << L("+Inf");
        QTest::newRow("-inf") << double(-INFINITY) << L("-Inf");
        QTest::newRow("tenth") << 0.1 << L("0.1");
        QTest::newRow("third") << 1.0 / 3 << QString();
        QTest::newRow("tiny") << 1e-300 << QString();
        QTest::newRow("huge") << 1.7976931348623157e308 << QString();
        QTest::newRow("negative") << -2.5 << L("-2.5");
        QTest::newRow("integer") << 1e15 << QString();
    }

    void gaugeSpecialValues()
    {
        QFETCH(double, value);
        QFETCH(QString, text);
        MetricsRegistry r;
        r.gauge(L("g"))->set(value);
        const Exposition x = parse(prometheusText(*r.capture()));
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error));
        const Sample *s = findSample(x, L("vega_g"));
        QVERIFY(s->found);
        if (!text.isEmpty())
            QCOMPARE(s->valueText, text);
        if (std::isnan(value))
            QVERIFY(std::isnan(s->value));
        else
            QCOMPARE(s->value, value); // exact: the text reads back as the same double
    }

    void constantLabelsAndPrefix()
    {
        MetricsRegistry r;
        r.counter(L("c"), {{L("instance"), L("own")}})->inc();
        r.gauge(L("g"))->set(1);
        r.histogram(L("h"))->record(1);
        PrometheusOptions options;
        options.prefix = L("my-app.");
        options.constantLabels = {{L("instance"), L("host:9000")}, {L("ver sion"), L("1.2")}};
        const Exposition x = parse(prometheusText(*r.capture(), options));
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error));
        QCOMPARE(x.families, (QStringList{L("my_app_c_total"), L("my_app_g"), L("my_app_h_seconds")}));
        for (const auto &s : x.samples) {
            QCOMPARE(s.label(L("ver_sion")), L("1.2"));
            QCOMPARE(s.label(L("instance")), s.family == L("my_app_c_total") ? L("own") : L("host:9000"));
        }
        QVERIFY(checkHistograms(x).isEmpty());
    }

    void collisionsAreLeftOutAndReported()
    {
        MetricsRegistry r;
        r.counter(L("jobs"))->inc(); // vega_jobs_total, counter
        r.gauge(L("jobs_total"))->set(3); // vega_jobs_total, gauge: collides
        r.histogram(L("lat"), {}, {}, Unit::None)->record(1); // vega_lat_bucket/_sum/_count
        r.gauge(L("lat_count"))->set(1); // collides with a histogram sample name
        r.gauge(L("a-b"), {{L("k"), L("v")}})->set(1);
        r.gauge(L("a_b"), {{L("k"), L("v")}})->set(2); // same series after sanitising
        QStringList problems;
        const QByteArray text = prometheusText(*r.capture(), {}, &problems);
        const Exposition x = parse(text);
        QVERIFY2(x.error.isEmpty(), qPrintable(x.error + QLatin1Char('\n') + QString::fromUtf8(text)));
        QCOMPARE(x.families, (QStringList{L("vega_a_b"), L("vega_jobs_total"), L("vega_lat")}));
        QCOMPARE(x.type.value(L("vega_jobs_total")), L("counter"));
        QCOMPARE(x.samplesOf(L("vega_a_b")).size(), 1);
        QCOMPARE(findSample(x, L("vega_a_b"))->value, 1.0); // "a-b" sorts first
        QCOMPARE(problems.size(), 3);
        QVERIFY2(problems.filter(L("jobs_total")).size() == 1, qPrintable(problems.join(L("; "))));
        QVERIFY2(problems.filter(L("lat_count")).size() == 1, qPrintable(problems.join(L("; "))));
        QVERIFY2(problems.filter(L("a_b")).size() >= 1, qPrintable(problems.join(L("; "))));
    }

    void emptySnapshotIsEmptyText()
    {
        MetricsSnapshot empty;
        QVERIFY(prometheusText(empty).isEmpty());
    }

    void parserRejectsBrokenText_data()
    {
        // The checks above are only as good as the parser: make sure it does reject.
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("no newline") << QByteArray("# TYPE a gauge\na 1");
        QTest::newRow("no type") << QByteArray("a 1\n");
        QTest::newRow("two types") << QByteArray("# TYPE a gauge\n# TYPE a gauge\na 1\n");
        QTest::newRow("help after sample") << QByteArray("# TYPE a gauge\na 1\n# HELP a x\n");
        QTest::newRow("bad escape") << QByteArray("# TYPE a gauge\na{l=\"\\t\"} 1\n");
        QTest::newRow("raw quote") << QByteArray("# TYPE a gauge\na{l=\"\"\"} 1\n");
        QTest::newRow("bad value") << QByteArray("# TYPE a gauge\na 1,5\n");
        QTest::newRow("bad name") << QByteArray("# TYPE a-b gauge\na-b 1\n");
        QTest::newRow("split family") << QByteArray("# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n");
        QTest::newRow("blank line") << QByteArray("# TYPE a gauge\n\na 1\n");
    }

    void parserRejectsBrokenText()
    {
        QFETCH(QByteArray, text);
        QVERIFY(!parse(text).error.isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestPrometheus)
#include "tst_prometheus.moc"
