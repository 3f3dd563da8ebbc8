#include "config.h"

#include "jsonparser.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonObject>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <functional>

namespace vega {

namespace {

enum class Kind { Integer, Number };

struct Leaf {
    QString path;
    Kind kind;
    double min;
    double max;
    QString description;
    std::function<void(EngineConfig &, double)> set;
    std::function<double(const EngineConfig &)> get;
};

struct ThresholdPair {
    QString path; // e.g. diagnostics.thresholds.cpu_percent
    bool lowerIsWorse;
};

#define VEGA_INT(path, member, lo, hi, desc)                                                                  \
    Leaf{QStringLiteral(path), Kind::Integer, lo, hi, QStringLiteral(desc),                                   \
         [](EngineConfig &c, double v) { c.member = int(v); },                                                \
         [](const EngineConfig &c) { return double(c.member); }}
#define VEGA_NUM(path, member, lo, hi, desc)                                                                  \
    Leaf{QStringLiteral(path), Kind::Number, lo, hi, QStringLiteral(desc),                                    \
         [](EngineConfig &c, double v) { c.member = v; }, [](const EngineConfig &c) { return c.member; }}
#define VEGA_THRESHOLD(name, member, lo, hi, what)                                                            \
    VEGA_NUM("diagnostics.thresholds." name ".warning", diagnostics.member.warning, lo, hi,                   \
             "Warning level of " what "."),                                                                   \
        VEGA_NUM("diagnostics.thresholds." name ".critical", diagnostics.member.critical, lo, hi,             \
                 "Critical level of " what ".")

const QList<Leaf> &leaves()
{
    static const QList<Leaf> table = {
        VEGA_INT("metrics.snapshot_interval_ms", metrics.snapshotIntervalMs, 50, 60000,
                 "How often the engine publishes a snapshot (UI, reports and exports read it)."),
        VEGA_INT("metrics.series_capacity", metrics.seriesCapacity, 10, 86400,
                 "Points kept per metric time series (3600 = 1 h at 1 s)."),
        VEGA_INT("event_loop.interval_ms", eventLoop.intervalMs, 1, 1000,
                 "Sampling interval of the event-loop lag timer."),
        VEGA_INT("event_loop.stall_threshold_ms", eventLoop.stallThresholdMs, 10, 600000,
                 "The loop is stalled when it has not ticked for longer than this."),
        VEGA_INT("event_loop.stall_history", eventLoop.stallHistory, 1, 10000, "Stalls kept for display."),
        VEGA_INT("diagnostics.interval_ms", diagnostics.intervalMs, 100, 600000,
                 "How often system diagnostics are sampled (on a worker thread)."),
        VEGA_THRESHOLD("cpu_percent", cpuPercent, 0, 100000, "process CPU, percent of one core"),
        VEGA_THRESHOLD("system_cpu_percent", systemCpuPercent, 0, 100, "whole-machine CPU percent"),
        VEGA_THRESHOLD("memory_available_percent", memoryAvailablePercent, 0, 100,
                       "available system memory percent (lower is worse)"),
        VEGA_THRESHOLD("process_rss_mb", processRssMb, 1, 1048576, "the process's resident memory in MiB"),
        VEGA_THRESHOLD("disk_free_percent", diskFreePercent, 0, 100,
                       "free space percent on the data directory's volume (lower is worse)"),
        VEGA_THRESHOLD("fd_usage_percent", fdUsagePercent, 0, 100,
                       "open file descriptors as a percent of the soft limit"),
        VEGA_THRESHOLD("load_per_core", loadPerCore, 0, 1000, "1-minute load average divided by the cores"),
        VEGA_THRESHOLD("event_loop_p99_ms", eventLoopP99Ms, 0, 600000, "GUI event-loop lag p99 in ms"),
        VEGA_INT("ui.refresh_interval_ms", ui.refreshIntervalMs, 100, 60000,
                 "How often the console redraws the visible page."),
        VEGA_INT("ui.default_window_seconds", ui.defaultWindowSeconds, 60, 86400,
                 "Time window charts open with (60, 300, 900 or 3600)."),
        VEGA_INT("headless.default_duration_seconds", headless.defaultDurationSeconds, 0, 31536000,
                 "Headless run time when --duration is not given; 0 runs until SIGINT/SIGTERM."),
    };
    return table;
}

#undef VEGA_INT
#undef VEGA_NUM
#undef VEGA_THRESHOLD

const QList<ThresholdPair> &thresholdPairs()
{
    static const QList<ThresholdPair> pairs = {
        {QStringLiteral("diagnostics.thresholds.cpu_percent"), false},
        {QStringLiteral("diagnostics.thresholds.system_cpu_percent"), false},
        {QStringLiteral("diagnostics.thresholds.memory_available_percent"), true},
        {QStringLiteral("diagnostics.thresholds.process_rss_mb"), false},
        {QStringLiteral("diagnostics.thresholds.disk_free_percent"), true},
        {QStringLiteral("diagnostics.thresholds.fd_usage_percent"), false},
        {QStringLiteral("diagnostics.thresholds.load_per_core"), false},
        {QStringLiteral("diagnostics.thresholds.event_loop_p99_ms"), false},
    };
    return pairs;
}

int editDistance(const QString &a, const QString &b)
{
    std::vector<int> prev(size_t(b.size()) + 1);
    std::vector<int> cur(size_t(b.size()) + 1);
    for (int j = 0; j <= b.size(); ++j)
        prev[size_t(j)] = j;
    for (int i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (int j = 1; j <= b.size(); ++j) {
            const int cost = a.at(i - 1).toLower() == b.at(j - 1).toLower() ? 0 : 1;
            cur[size_t(j)] = std::min({prev[size_t(j)] + 1, cur[size_t(j - 1)] + 1, prev[size_t(j - 1)] + cost});
        }
        std::swap(prev, cur);
    }
    return prev[size_t(b.size())];
}

QString formatNumber(double v)
{
    return QString::number(v, 'g', 12);
}

class Checker {
public:
    Checker(const QString &file, ConfigLoadResult *result) : m_file(file), m_result(result)
    {
        for (const Leaf &leaf : leaves()) {
            m_leafByPath.insert(leaf.path, &leaf);
            const QStringList parts = leaf.path.split(QLatin1Char('.'));
            QString prefix;
            for (int i = 0; i < parts.size(); ++i) {
                m_children[prefix].insert(parts.at(i));
                prefix = prefix.isEmpty() ? parts.at(i) : prefix + QLatin1Char('.') + parts.at(i);
            }
        }
    }

    void checkRoot(const JsonNode &root)
    {
        if (root.type != JsonNode::Type::Object) {
            add(Severity::Error, QString(), root.line, root.column, root.raw,
                QStringLiteral("the configuration must be a JSON object, not %1").arg(root.typeName()));
            return;
        }
        checkObject(root, QString());
        checkThresholdOrder();
    }

private:
    static QString jsonPath(const QString &dotted)
    {
        return dotted.isEmpty() ? QStringLiteral("$") : QStringLiteral("$.") + dotted;
    }

    void add(Severity severity, const QString &dotted, int line, int column, const QString &value,
             const QString &message)
    {
        ConfigFinding f;
        f.severity = severity;
        f.file = m_file;
        f.path = jsonPath(dotted);
        f.line = line;
        f.column = column;
        f.value = value;
        f.message = message;
        m_result->findings.append(f);
    }

    QString suggestion(const QString &parent, const QString &key) const
    {
        QString best;
        int bestDistance = 1 << 30;
        for (const QString &candidate : m_children.value(parent)) {
            const int d = editDistance(key, candidate);
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        const int allowed = std::max(2, int(key.size()) / 3);
        if (!best.isEmpty() && bestDistance <= allowed)
            return best;
        // The key may be valid but misplaced: look for it anywhere in the schema.
        for (const Leaf &leaf : leaves()) {
            if (leaf.path.section(QLatin1Char('.'), -1) == key)
                return QStringLiteral("$.") + leaf.path;
        }
        return {};
    }

    void checkObject(const JsonNode &node, const QString &prefix)
    {
        QSet<QString> seen;
        for (int i = 0; i < node.members.size(); ++i) {
            const QString &key = node.members.at(i).first;
            const JsonNode &value = node.members.at(i).second;
            const auto keyPos = node.keyPositions.at(i);
            const QString path = prefix.isEmpty() ? key : prefix + QLatin1Char('.') + key;
            if (prefix.isEmpty() && key == QLatin1String("$schema"))
                continue;
            if (seen.contains(key)) {
                add(Severity::Error, path, keyPos.first, keyPos.second, value.raw,
                    QStringLiteral("duplicate key \"%1\"; only one is allowed").arg(key));
                continue;
            }
            seen.insert(key);
            if (const Leaf *leaf = m_leafByPath.value(path)) {
                checkLeaf(*leaf, value);
            } else if (m_children.contains(path)) {
                if (value.type != JsonNode::Type::Object) {
                    add(Severity::Error, path, value.line, value.column, value.raw,
                        QStringLiteral("expected an object but found %1").arg(value.typeName()));
                } else {
                    checkObject(value, path);
                }
            } else {
                const QString hint = suggestion(prefix, key);
                QString message = QStringLiteral("unknown key \"%1\"").arg(key);
                if (!hint.isEmpty())
                    message += QStringLiteral("; did you mean \"%1\"?").arg(hint);
                add(Severity::Error, path, keyPos.first, keyPos.second, QString(), message);
            }
        }
    }

    void checkLeaf(const Leaf &leaf, const JsonNode &value)
    {
        const QString expected = leaf.kind == Kind::Integer ? QStringLiteral("an integer") : QStringLiteral("a number");
        if (value.type != JsonNode::Type::Number) {
            add(Severity::Error, leaf.path, value.line, value.column, value.raw,
                QStringLiteral("expected %1 but found %2").arg(expected, value.typeName()));
            return;
        }
        if (leaf.kind == Kind::Integer && (!value.integral || value.number != std::floor(value.number))) {
            add(Severity::Error, leaf.path, value.line, value.column, value.raw,
                QStringLiteral("expected an integer but found a fractional number"));
            return;
        }
        if (value.number < leaf.min || value.number > leaf.max) {
            add(Severity::Error, leaf.path, value.line, value.column, value.raw,
                QStringLiteral("out of range: must be between %1 and %2").arg(formatNumber(leaf.min),
                                                                               formatNumber(leaf.max)));
            return;
        }
        leaf.set(m_result->config, value.number);
        m_positions.insert(leaf.path, {value.line, value.column});
        m_raw.insert(leaf.path, value.raw);
    }

    void checkThresholdOrder()
    {
        for (const ThresholdPair &pair : thresholdPairs()) {
            const Leaf *warning = m_leafByPath.value(pair.path + QStringLiteral(".warning"));
            const Leaf *critical = m_leafByPath.value(pair.path + QStringLiteral(".critical"));
            const double w = warning->get(m_result->config);
            const double c = critical->get(m_result->config);
            const bool ordered = pair.lowerIsWorse ? c < w : w < c;
            if (ordered)
                continue;
            // Point at whichever of the two the file set (the critical one when both).
            QString at = critical->path;
            if (!m_positions.contains(at))
                at = warning->path;
            const auto pos = m_positions.value(at, {0, 0});
            const QString relation = pair.lowerIsWorse ? QStringLiteral("below") : QStringLiteral("above");
            add(Severity::Error, at, pos.first, pos.second, m_raw.value(at),
                QStringLiteral("critical (%1) must be %2 warning (%3) for %4")
                    .arg(formatNumber(c), relation, formatNumber(w), pair.path.section(QLatin1Char('.'), -1)));
        }
    }

    QString m_file;
    ConfigLoadResult *m_result;
    QHash<QString, const Leaf *> m_leafByPath;
    QHash<QString, QSet<QString>> m_children; // object path -> child keys ("" = root)
    QHash<QString, QPair<int, int>> m_positions;
    QHash<QString, QString> m_raw;
};

} // namespace

QString severityName(Severity s)
{
    switch (s) {
    case Severity::Info: return QStringLiteral("info");
    case Severity::Warning: return QStringLiteral("warning");
    case Severity::Error: return QStringLiteral("error");
    }
    return {};
}

QString ConfigFinding::toString() const
{
    QString where = file;
    if (line > 0)
        where += QStringLiteral(":%1:%2").arg(line).arg(column);
    QString text = where + QStringLiteral(": ") + severityName(severity) + QStringLiteral(": ");
    if (!path.isEmpty())
        text += path + QStringLiteral(": ");
    text += message;
    if (!value.isEmpty())
        text += QStringLiteral(" (value: %1)").arg(value);
    return text;
}

bool ConfigLoadResult::ok() const
{
    return errorCount() == 0;
}

int ConfigLoadResult::errorCount() const
{
    return int(std::count_if(findings.begin(), findings.end(),
                             [](const ConfigFinding &f) { return f.severity == Severity::Error; }));
}

ConfigLoadResult ConfigLoader::loadFile(const QString &path)
{
    QFile file(path);
    if (!QFileInfo(path).isFile() || !file.open(QIODevice::ReadOnly)) {
        ConfigLoadResult result;
        ConfigFinding f;
        f.file = path;
        f.message = QFileInfo::exists(path) && !QFileInfo(path).isFile()
                        ? QStringLiteral("cannot read the configuration: it is not a regular file")
                        : QStringLiteral("cannot read the configuration: %1").arg(
                              QFileInfo::exists(path) ? file.errorString() : QStringLiteral("no such file"));
        result.findings.append(f);
        return result;
    }
    // A configuration file is small; refuse something that clearly is not one.
    constexpr qint64 kMaxSize = 16 * 1024 * 1024;
    if (file.size() > kMaxSize) {
        ConfigLoadResult result;
        ConfigFinding f;
        f.file = path;
        f.message = QStringLiteral("the file is %1 bytes; a configuration is at most 16 MiB").arg(file.size());
        result.findings.append(f);
        return result;
    }
    return loadText(file.readAll(), path);
}

ConfigLoadResult ConfigLoader::loadText(const QByteArray &text, const QString &fileName)
{
    ConfigLoadResult result;
    JsonNode root;
    JsonSyntaxError syntax;
    if (!parseJson(text, &root, &syntax)) {
        ConfigFinding f;
        f.file = fileName;
        f.line = syntax.line;
        f.column = syntax.column;
        f.message = QStringLiteral("syntax error: ") + syntax.message;
        result.findings.append(f);
        return result;
    }
    Checker checker(fileName, &result);
    checker.checkRoot(root);
    std::stable_sort(result.findings.begin(), result.findings.end(),
                     [](const ConfigFinding &a, const ConfigFinding &b) { return a.line < b.line; });
    return result;
}

QList<ConfigKeyInfo> ConfigLoader::schema()
{
    const EngineConfig defaults;
    QList<ConfigKeyInfo> out;
    for (const Leaf &leaf : leaves()) {
        ConfigKeyInfo info;
        info.path = leaf.path;
        info.type = leaf.kind == Kind::Integer ? QStringLiteral("integer") : QStringLiteral("number");
        info.defaultValue = formatNumber(leaf.get(defaults));
        info.range = formatNumber(leaf.min) + QStringLiteral(" to ") + formatNumber(leaf.max);
        info.description = leaf.description;
        out.append(info);
    }
    return out;
}

QJsonObject ConfigLoader::toJson(const EngineConfig &config)
{
    // Build nested objects from dotted paths.
    QJsonObject root;
    for (const Leaf &leaf : leaves()) {
        const QStringList parts = leaf.path.split(QLatin1Char('.'));
        std::function<void(QJsonObject &, int)> put = [&](QJsonObject &obj, int i) {
            if (i == parts.size() - 1) {
                const double v = leaf.get(config);
                obj.insert(parts.at(i), leaf.kind == Kind::Integer ? QJsonValue(qint64(v)) : QJsonValue(v));
                return;
            }
            QJsonObject child = obj.value(parts.at(i)).toObject();
            put(child, i + 1);
            obj.insert(parts.at(i), child);
        };
        put(root, 0);
    }
    return root;
}

} // namespace vega
