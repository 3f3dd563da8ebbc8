#include "snapshotjson.h"

#include <QJsonArray>
#include <QUrl>

#include <array>
#include <cmath>
#include <type_traits>

namespace vega {

namespace {

// ---------------------------------------------------------------------------------------------
// Enums travel as stable lowercase ids, indexed by the enumerator's value.

template <class E> struct EnumIds;

template <> struct EnumIds<MetricType> {
    static constexpr const char *what = "metric type";
    static constexpr std::array<const char *, 3> ids{{"counter", "gauge", "histogram"}};
};
template <> struct EnumIds<Unit> {
    static constexpr const char *what = "unit";
    static constexpr std::array<const char *, 8> ids{
        {"none", "ns", "ms", "s", "bytes", "bytes_per_second", "percent", "ratio"}};
};
template <> struct EnumIds<Health> {
    static constexpr const char *what = "health";
    static constexpr std::array<const char *, 4> ids{{"unknown", "ok", "warning", "critical"}};
};
template <> struct EnumIds<IntegrationKind> {
    static constexpr const char *what = "integration kind";
    static constexpr std::array<const char *, 7> ids{
        {"slack", "home_assistant", "llm", "search", "fetch", "external_api", "database"}};
};
template <> struct EnumIds<Trend> {
    static constexpr const char *what = "trend";
    static constexpr std::array<const char *, 4> ids{{"unknown", "flat", "growing", "shrinking"}};
};
template <> struct EnumIds<MemorySeriesKind> {
    static constexpr const char *what = "memory series kind";
    static constexpr std::array<const char *, 3> ids{{"tracked_type", "heap", "rss"}};
};
template <> struct EnumIds<Severity> {
    static constexpr const char *what = "severity";
    static constexpr std::array<const char *, 3> ids{{"info", "warning", "error"}};
};

template <class E> QJsonValue enumToJson(E e)
{
    const auto &ids = EnumIds<E>::ids;
    const auto i = size_t(e);
    if (i < ids.size())
        return QJsonValue(QLatin1String(ids[i]));
    return QJsonValue(qint64(i)); // not a declared enumerator: the receiver rejects it
}

template <class T> struct IsList : std::false_type {
};
template <class T> struct IsList<QList<T>> : std::true_type {
};

template <class T> struct Tag {
};

// ---------------------------------------------------------------------------------------------
// Numbers. Qt writes integers exactly and doubles in shortest round-trip form; JSON has no
// NaN or infinity, so those are strings. A quint64 beyond qint64 is a decimal string.

QJsonValue doubleToJson(double d)
{
    if (std::isfinite(d))
        return QJsonValue(d);
    if (std::isnan(d))
        return QJsonValue(QLatin1String("nan"));
    return QJsonValue(d > 0 ? QLatin1String("inf") : QLatin1String("-inf"));
}

QJsonValue u64ToJson(quint64 v)
{
    if (v <= quint64(std::numeric_limits<qint64>::max()))
        return QJsonValue(qint64(v));
    return QJsonValue(QString::number(v));
}

QString describe(const QJsonValue &v)
{
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: {
        const qint64 i = v.toInteger(0);
        if (i == v.toInteger(1))
            return QString::number(i);
        return QString::number(v.toDouble(), 'g', QLocale::FloatingPointShortest);
    }
    case QJsonValue::String: {
        QString s = v.toString();
        if (s.size() > 60)
            s = s.left(60) + QStringLiteral("...");
        return QLatin1Char('"') + s + QLatin1Char('"');
    }
    case QJsonValue::Array:
        return QStringLiteral("an array of %1 items").arg(v.toArray().size());
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

/// Where a value sits in the message, formatted only when an error is reported.
struct Path {
    Path(const Path *parent_, const char *key_) : parent(parent_), key(key_) {}
    Path(const Path *parent_, qsizetype index_) : parent(parent_), index(index_) {}

    const Path *parent = nullptr;
    const char *key = nullptr; // a member; null for an array index
    qsizetype index = -1;

    QString toString() const
    {
        QString s = parent ? parent->toString() : QString();
        if (key) {
            if (!s.isEmpty())
                s += QLatin1Char('.');
            s += QLatin1String(key);
        } else {
            s += QLatin1Char('[') + QString::number(index) + QLatin1Char(']');
        }
        return s;
    }
};

/// The first error of a decode; every reader stops once it is set.
class Ctx {
public:
    bool failed() const { return !m_error.isEmpty(); }
    const QString &error() const { return m_error; }
    bool fail(const Path &path, const QString &problem)
    {
        if (m_error.isEmpty())
            m_error = path.toString() + QStringLiteral(": ") + problem;
        return false;
    }
    bool expected(const Path &path, const char *what, const QJsonValue &v)
    {
        return fail(path, QStringLiteral("expected %1, got %2").arg(QLatin1String(what), describe(v)));
    }

private:
    QString m_error;
};

bool readInt64(Ctx &c, const QJsonValue &v, const Path &p, qint64 *out)
{
    if (v.isDouble()) {
        // toInteger() gives the default for a non-integral or out-of-range number.
        const qint64 a = v.toInteger(0);
        if (a == v.toInteger(1)) {
            *out = a;
            return true;
        }
    }
    return c.expected(p, "an integer", v);
}

bool readUInt64(Ctx &c, const QJsonValue &v, const Path &p, quint64 *out)
{
    if (v.isString()) {
        bool ok = false;
        const QString s = v.toString();
        const quint64 x = s.toULongLong(&ok);
        if (ok && !s.startsWith(QLatin1Char('-')) && !s.startsWith(QLatin1Char('+'))) {
            *out = x;
            return true;
        }
        return c.expected(p, "an unsigned integer", v);
    }
    qint64 x = 0;
    if (!v.isDouble() || v.toInteger(0) != v.toInteger(1) || (x = v.toInteger(0)) < 0)
        return c.expected(p, "an unsigned integer", v);
    *out = quint64(x);
    return true;
}

bool readDouble(Ctx &c, const QJsonValue &v, const Path &p, double *out)
{
    if (v.isDouble()) {
        *out = v.toDouble();
        return true;
    }
    if (v.isString()) {
        const QString s = v.toString();
        if (s == QLatin1String("nan")) {
            *out = std::numeric_limits<double>::quiet_NaN();
            return true;
        }
        if (s == QLatin1String("inf") || s == QLatin1String("-inf")) {
            *out = s.startsWith(QLatin1Char('-')) ? -std::numeric_limits<double>::infinity()
                                                  : std::numeric_limits<double>::infinity();
            return true;
        }
    }
    return c.expected(p, "a number (or \"nan\", \"inf\", \"-inf\")", v);
}

template <class T> QJsonValue toJson(const T &v);
template <class T> bool fromJson(Ctx &c, const QJsonValue &j, const Path &p, T &out);

/// Field visitor writing a struct's fields into an object.
struct Writer {
    QJsonObject o;
    template <class T> void operator()(const char *key, const T &v)
    {
        o.insert(QLatin1String(key), toJson(v));
    }
};

/// Field visitor reading a struct's fields from an object; an absent key keeps the default.
struct Reader {
    Ctx &c;
    const QJsonObject &o;
    const Path &p;
    template <class T> void operator()(const char *key, T &v)
    {
        if (c.failed())
            return;
        const QJsonValue value = o.value(QLatin1String(key));
        if (value.isUndefined())
            return;
        const Path child{&p, key};
        fromJson(c, value, child, v);
    }
};

// ---------------------------------------------------------------------------------------------
// Every field of every struct, once: the same list writes and reads. JSON keys are the C++
// field names.

template <class V, class S> void fieldsOf(V &v, S &s, Tag<HistogramSummary>)
{
    v("count", s.count);
    v("sum", s.sum);
    v("min", s.min);
    v("max", s.max);
    v("mean", s.mean);
    v("p50", s.p50);
    v("p90", s.p90);
    v("p99", s.p99);
    v("p999", s.p999);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<EngineEvent>)
{
    v("wallMs", s.wallMs);
    v("kind", s.kind);
    v("source", s.source);
    v("message", s.message);
    v("durationMs", s.durationMs);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<StallRecord>)
{
    v("startWallMs", s.startWallMs);
    v("durationMs", s.durationMs);
    v("ongoing", s.ongoing);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<EventLoopSummary>)
{
    v("thread", s.thread);
    v("intervalMs", s.intervalMs);
    v("stallThresholdMs", s.stallThresholdMs);
    v("lagNs", s.lagNs);
    v("stallsOver100ms", s.stallsOver100ms);
    v("stallsOver1s", s.stallsOver1s);
    v("stalledNow", s.stalledNow);
    v("currentStallMs", s.currentStallMs);
    v("recentStalls", s.recentStalls);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<DiagnosticValue>)
{
    v("key", s.key);
    v("label", s.label);
    v("number", s.number);
    v("text", s.text);
    v("unit", s.unit);
    v("available", s.available);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<DiagnosticCategory>)
{
    v("id", s.id);
    v("title", s.title);
    v("health", s.health);
    v("reason", s.reason);
    v("values", s.values);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<DiagnosticsReport>)
{
    v("wallMs", s.wallMs);
    v("overall", s.overall);
    v("categories", s.categories);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<HttpTotals>)
{
    v("requests", s.requests);
    v("succeeded", s.succeeded);
    v("failed", s.failed);
    v("leaders", s.leaders);
    v("coalesced", s.coalesced);
    v("cacheHits", s.cacheHits);
    v("cacheMisses", s.cacheMisses);
    v("backendRequests", s.backendRequests);
    v("connectionsOpened", s.connectionsOpened);
    v("breakerRejections", s.breakerRejections);
    v("retries", s.retries);
    v("rateLimited", s.rateLimited);
    v("sharedCacheHits", s.sharedCacheHits);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<SharedCacheStatus>)
{
    v("enabled", s.enabled);
    v("state", s.state);
    v("endpoint", s.endpoint);
    v("lastError", s.lastError);
    v("downSinceMs", s.downSinceMs);
    v("breakerState", s.breakerState);
    v("hits", s.hits);
    v("misses", s.misses);
    v("errors", s.errors);
    v("timeouts", s.timeouts);
    v("fallbacks", s.fallbacks);
    v("writes", s.writes);
    v("lockAcquired", s.lockAcquired);
    v("lockWaits", s.lockWaits);
    v("waitHits", s.waitHits);
    v("connects", s.connects);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<HostPoolStats>)
{
    v("host", s.host);
    v("requests", s.requests);
    v("connectionsOpened", s.connectionsOpened);
    v("reuseRatio", s.reuseRatio);
    v("active", s.active);
    v("pending", s.pending);
    v("maxConnections", s.maxConnections);
    v("idleCleanups", s.idleCleanups);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<BreakerInfo>)
{
    v("name", s.name);
    v("state", s.state);
    v("failureRate", s.failureRate);
    v("slowCallRate", s.slowCallRate);
    v("callsInWindow", s.callsInWindow);
    v("rejected", s.rejected);
    v("openRemainingMs", s.openRemainingMs);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<TopKey>)
{
    v("key", s.key);
    v("coalesced", s.coalesced);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<HttpClientSummary>)
{
    v("totals", s.totals);
    v("pools", s.pools);
    v("breakers", s.breakers);
    v("topCoalescedKeys", s.topCoalescedKeys);
    v("inFlightKeys", s.inFlightKeys);
    v("sharedCache", s.sharedCache);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<StorageStatus>)
{
    v("health", s.health);
    v("error", s.error);
    v("fatal", s.fatal);
    v("location", s.location);
    v("schemaVersion", s.schemaVersion);
    v("migratedFrom", s.migratedFrom);
    v("outageSinceMs", s.outageSinceMs);
    v("retries", s.retries);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<StatementStats>)
{
    v("normalized", s.normalized);
    v("calls", s.calls);
    v("totalMs", s.totalMs);
    v("meanMs", s.meanMs);
    v("p95Ms", s.p95Ms);
    v("maxMs", s.maxMs);
    v("rows", s.rows);
    v("errors", s.errors);
    v("lastCallWallMs", s.lastCallWallMs);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<SlowQuery>)
{
    v("wallMs", s.wallMs);
    v("normalized", s.normalized);
    v("durationMs", s.durationMs);
    v("correlationId", s.correlationId);
    v("connection", s.connection);
    v("error", s.error);
    v("rows", s.rows);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<ConnectionUsage>)
{
    v("connection", s.connection);
    v("queries", s.queries);
    v("totalMs", s.totalMs);
    v("errors", s.errors);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<DatabaseSummary>)
{
    v("enabled", s.enabled);
    v("storage", s.storage);
    v("queueDepth", s.queueDepth);
    v("queueCapacity", s.queueCapacity);
    v("slowThresholdMs", s.slowThresholdMs);
    v("statements", s.statements);
    v("slowLog", s.slowLog);
    v("connections", s.connections);
    v("statementEvictions", s.statementEvictions);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<IntegrationStatus>)
{
    v("name", s.name);
    v("kind", s.kind);
    v("target", s.target);
    v("state", s.state);
    v("reason", s.reason);
    v("latencyMs", s.latencyMs);
    v("httpStatus", s.httpStatus);
    v("lastCheckWallMs", s.lastCheckWallMs);
    v("lastSuccessWallMs", s.lastSuccessWallMs);
    v("lastError", s.lastError);
    v("lastErrorWallMs", s.lastErrorWallMs);
    v("consecutiveFailures", s.consecutiveFailures);
    v("checksRun", s.checksRun);
    v("checking", s.checking);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<ProcessMemoryStatus>)
{
    v("available", s.available);
    v("unavailableReason", s.unavailableReason);
    v("bytes", s.bytes);
    v("slopeBytesPerMinute", s.slopeBytesPerMinute);
    v("confidence", s.confidence);
    v("trend", s.trend);
    v("suspect", s.suspect);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<TrackedTypeStatus>)
{
    v("name", s.name);
    v("live", s.live);
    v("slopePerMinute", s.slopePerMinute);
    v("confidence", s.confidence);
    v("thresholdPerMinute", s.thresholdPerMinute);
    v("trend", s.trend);
    v("suspect", s.suspect);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<LeakSuspect>)
{
    v("type", s.type);
    v("kind", s.kind);
    v("unit", s.unit);
    v("growthPerMinute", s.growthPerMinute);
    v("confidence", s.confidence);
    v("thresholdPerMinute", s.thresholdPerMinute);
    v("firstSeenWallMs", s.firstSeenWallMs);
    v("raisedWallMs", s.raisedWallMs);
    v("clearedWallMs", s.clearedWallMs);
    v("current", s.current);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<MemorySummary>)
{
    v("sampleWallMs", s.sampleWallMs);
    v("samplesInWindow", s.samplesInWindow);
    v("lastSampleDurationNs", s.lastSampleDurationNs);
    v("rss", s.rss);
    v("heap", s.heap);
    v("workloadKnown", s.workloadKnown);
    v("workloadSteady", s.workloadSteady);
    v("workloadDriftPerMinute", s.workloadDriftPerMinute);
    v("types", s.types);
    v("suspects", s.suspects);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<StreamInfo>)
{
    v("request", s.request);
    v("url", s.url);
    v("shared", s.shared);
    v("paused", s.paused);
    v("replayAvailable", s.replayAvailable);
    v("status", s.status);
    v("subscribers", s.subscribers);
    v("bufferedBytes", s.bufferedBytes);
    v("maxSubscriberBuffered", s.maxSubscriberBuffered);
    v("replayBytes", s.replayBytes);
    v("upstreamBufferedBytes", s.upstreamBufferedBytes);
    v("peakUpstreamBufferedBytes", s.peakUpstreamBufferedBytes);
    v("bytesIn", s.bytesIn);
    v("bytesOut", s.bytesOut);
    v("pauses", s.pauses);
    v("inBytesPerSecond", s.inBytesPerSecond);
    v("outBytesPerSecond", s.outBytesPerSecond);
    v("ageMs", s.ageMs);
    v("timeToFirstByteMs", s.timeToFirstByteMs);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<StreamRelaySummary>)
{
    v("streams", s.streams);
    v("activeStreams", s.activeStreams);
    v("subscribers", s.subscribers);
    v("bufferedBytes", s.bufferedBytes);
    v("streamsOpened", s.streamsOpened);
    v("pauses", s.pauses);
    v("resumes", s.resumes);
    v("droppedChunks", s.droppedChunks);
    v("disconnects", s.disconnects);
    v("sharedJoins", s.sharedJoins);
    v("bytesIn", s.bytesIn);
    v("bytesOut", s.bytesOut);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<ConfigFinding>)
{
    v("severity", s.severity);
    v("file", s.file);
    v("path", s.path);
    v("line", s.line);
    v("column", s.column);
    v("value", s.value);
    v("message", s.message);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<ValidationReport>)
{
    v("configPath", s.configPath);
    v("startedWallMs", s.startedWallMs);
    v("durationMs", s.durationMs);
    v("hostsLookedUp", s.hostsLookedUp);
    v("findings", s.findings);
}

template <class V, class S> void fieldsOf(V &v, S &s, Tag<EngineInfo>)
{
    v("version", s.version);
    v("configPath", s.configPath);
    v("dataDir", s.dataDir);
    v("startedWallMs", s.startedWallMs);
    v("mode", s.mode);
    v("demo", s.demo);
    v("effectiveConfig", s.effectiveConfig);
}

// ---------------------------------------------------------------------------------------------

template <class T> QJsonValue toJson(const T &v)
{
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int> || std::is_same_v<T, qint64> ||
                  std::is_same_v<T, QString> || std::is_same_v<T, QJsonObject>) {
        return QJsonValue(v);
    } else if constexpr (std::is_same_v<T, quint64>) {
        return u64ToJson(v);
    } else if constexpr (std::is_same_v<T, double>) {
        return doubleToJson(v);
    } else if constexpr (std::is_same_v<T, QUrl>) {
        return QJsonValue(v.toString(QUrl::FullyEncoded));
    } else if constexpr (std::is_enum_v<T>) {
        return enumToJson(v);
    } else if constexpr (IsList<T>::value) {
        QJsonArray a;
        for (const auto &item : v)
            a.append(toJson(item));
        return a;
    } else {
        Writer w;
        fieldsOf(w, v, Tag<T>{});
        return w.o;
    }
}

template <class T> bool fromJson(Ctx &c, const QJsonValue &j, const Path &p, T &out)
{
    if constexpr (std::is_same_v<T, bool>) {
        if (!j.isBool())
            return c.expected(p, "true or false", j);
        out = j.toBool();
        return true;
    } else if constexpr (std::is_same_v<T, int>) {
        qint64 x = 0;
        if (!readInt64(c, j, p, &x))
            return false;
        if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
            return c.fail(p, QStringLiteral("%1 is out of range for a 32-bit integer").arg(x));
        out = int(x);
        return true;
    } else if constexpr (std::is_same_v<T, qint64>) {
        return readInt64(c, j, p, &out);
    } else if constexpr (std::is_same_v<T, quint64>) {
        return readUInt64(c, j, p, &out);
    } else if constexpr (std::is_same_v<T, double>) {
        return readDouble(c, j, p, &out);
    } else if constexpr (std::is_same_v<T, QString>) {
        if (!j.isString())
            return c.expected(p, "a string", j);
        out = j.toString();
        return true;
    } else if constexpr (std::is_same_v<T, QUrl>) {
        if (!j.isString())
            return c.expected(p, "a URL string", j);
        const QString s = j.toString();
        QUrl url(s, QUrl::StrictMode);
        if (!s.isEmpty() && !url.isValid())
            return c.fail(p, QStringLiteral("invalid URL %1").arg(describe(j)));
        out = std::move(url);
        return true;
    } else if constexpr (std::is_same_v<T, QJsonObject>) {
        if (!j.isObject())
            return c.expected(p, "an object", j);
        out = j.toObject();
        return true;
    } else if constexpr (std::is_enum_v<T>) {
        if (!j.isString())
            return c.expected(p, "a string id", j);
        const QString s = j.toString();
        const auto &ids = EnumIds<T>::ids;
        for (size_t i = 0; i < ids.size(); ++i) {
            if (s == QLatin1String(ids[i])) {
                out = T(i);
                return true;
            }
        }
        QStringList known;
        for (const char *id : ids)
            known.append(QLatin1String(id));
        return c.fail(
            p, QStringLiteral("unknown %1 %2 (known: %3)")
                   .arg(QLatin1String(EnumIds<T>::what), describe(j), known.join(QStringLiteral(", "))));
    } else if constexpr (IsList<T>::value) {
        if (!j.isArray())
            return c.expected(p, "an array", j);
        const QJsonArray a = j.toArray();
        if (a.size() > kSnapshotWireMaxListItems)
            return c.fail(p, QStringLiteral("%1 items exceed the limit of %2")
                                 .arg(a.size())
                                 .arg(kSnapshotWireMaxListItems));
        out.clear();
        out.reserve(a.size());
        for (qsizetype i = 0; i < a.size(); ++i) {
            typename T::value_type item;
            const Path ip{&p, i};
            if (!fromJson(c, a.at(i), ip, item))
                return false;
            out.append(std::move(item));
        }
        return true;
    } else {
        if (!j.isObject())
            return c.expected(p, "an object", j);
        const QJsonObject o = j.toObject();
        Reader r{c, o, p};
        fieldsOf(r, out, Tag<T>{});
        return !c.failed();
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics: written by hand, compactly (the bulk of every message).

bool isDefault(const HistogramSummary &s)
{
    return s.count == 0 && s.sum == 0 && s.min == 0 && s.max == 0 && s.mean == 0 && s.p50 == 0 &&
           s.p90 == 0 && s.p99 == 0 && s.p999 == 0;
}

QJsonObject bucketsToJson(const HistogramCounts &h)
{
    QJsonObject o;
    o.insert(QLatin1String("count"), u64ToJson(h.count));
    o.insert(QLatin1String("sum"), doubleToJson(h.sum));
    o.insert(QLatin1String("min"), QJsonValue(h.min));
    o.insert(QLatin1String("max"), QJsonValue(h.max));
    o.insert(QLatin1String("size"), qint64(h.buckets.size()));
    QJsonArray b; // index, count, index, count... of the non-empty buckets
    for (size_t i = 0; i < h.buckets.size(); ++i) {
        if (h.buckets[i]) {
            b.append(qint64(i));
            b.append(u64ToJson(h.buckets[i]));
        }
    }
    o.insert(QLatin1String("b"), b);
    return o;
}

bool bucketsFromJson(Ctx &c, const QJsonValue &j, const Path &p, std::shared_ptr<const HistogramCounts> *out)
{
    if (!j.isObject())
        return c.expected(p, "an object", j);
    const QJsonObject o = j.toObject();
    auto h = std::make_shared<HistogramCounts>();
    Reader r{c, o, p};
    r("count", h->count);
    r("sum", h->sum);
    r("min", h->min);
    r("max", h->max);
    qint64 size = 0;
    r("size", size);
    if (c.failed())
        return false;
    if (size < 0 || size > Histogram::bucketCount()) {
        const Path sp{&p, "size"};
        return c.fail(sp,
                      QStringLiteral("%1 buckets is outside 0..%2").arg(size).arg(Histogram::bucketCount()));
    }
    h->buckets.assign(size_t(size), 0);
    const Path bp{&p, "b"};
    const QJsonValue bv = o.value(QLatin1String("b"));
    if (!bv.isUndefined()) {
        if (!bv.isArray())
            return c.expected(bp, "an array", bv);
        const QJsonArray b = bv.toArray();
        if (b.size() % 2 || b.size() > 2 * size)
            return c.fail(
                bp,
                QStringLiteral("%1 items is not index/count pairs of %2 buckets").arg(b.size()).arg(size));
        qint64 last = -1;
        for (qsizetype i = 0; i < b.size(); i += 2) {
            const Path ip{&bp, i};
            qint64 index = 0;
            if (!readInt64(c, b.at(i), ip, &index))
                return false;
            if (index <= last || index >= size)
                return c.fail(ip, QStringLiteral("bucket index %1 is not increasing within 0..%2")
                                      .arg(index)
                                      .arg(size - 1));
            last = index;
            const Path np{&bp, i + 1};
            if (!readUInt64(c, b.at(i + 1), np, &h->buckets[size_t(index)]))
                return false;
        }
    }
    *out = std::move(h);
    return true;
}

QJsonObject seriesToJson(const QVector<SeriesPoint> &points)
{
    QJsonArray t; // first tMs, then the difference to the previous point
    QJsonArray v;
    qint64 previous = 0;
    for (qsizetype i = 0; i < points.size(); ++i) {
        const qint64 tMs = points.at(i).tMs;
        t.append(i == 0 ? tMs : qint64(quint64(tMs) - quint64(previous)));
        v.append(doubleToJson(points.at(i).value));
        previous = tMs;
    }
    QJsonObject o;
    o.insert(QLatin1String("t"), t);
    o.insert(QLatin1String("v"), v);
    return o;
}

QJsonObject metricToJson(const MetricSnapshot &m, const SnapshotWireOptions &options, bool withPoints)
{
    QJsonObject o;
    o.insert(QLatin1String("name"), m.name);
    if (!m.labels.isEmpty()) {
        QJsonArray labels;
        for (const auto &l : m.labels) {
            labels.append(l.first);
            labels.append(l.second);
        }
        o.insert(QLatin1String("labels"), labels);
    }
    if (!m.help.isEmpty())
        o.insert(QLatin1String("help"), m.help);
    o.insert(QLatin1String("type"), enumToJson(m.type));
    if (m.unit != Unit::None)
        o.insert(QLatin1String("unit"), enumToJson(m.unit));
    if (m.total)
        o.insert(QLatin1String("total"), u64ToJson(m.total));
    if (m.sinceReset)
        o.insert(QLatin1String("sinceReset"), u64ToJson(m.sinceReset));
    if (m.rate != 0)
        o.insert(QLatin1String("rate"), doubleToJson(m.rate));
    if (m.value != 0)
        o.insert(QLatin1String("value"), doubleToJson(m.value));
    if (!isDefault(m.summary))
        o.insert(QLatin1String("summary"), toJson(m.summary));
    if (!isDefault(m.interval))
        o.insert(QLatin1String("interval"), toJson(m.interval));
    if (options.histogramBuckets && m.cumulative)
        o.insert(QLatin1String("buckets"), bucketsToJson(*m.cumulative));
    if (withPoints) {
        QJsonObject series;
        for (int f = 0; f < int(SeriesField::Count_); ++f) {
            const QVector<SeriesPoint> points = m.series[size_t(f)].pointsSince(options.seriesSinceMs + 1);
            if (!points.isEmpty())
                series.insert(seriesFieldName(SeriesField(f)), seriesToJson(points));
        }
        if (!series.isEmpty())
            o.insert(QLatin1String("series"), series);
    }
    return o;
}

/// `old` continued with another capacity (a copy shares its chunks when the capacity agrees).
TimeSeries continuedSeries(const TimeSeries *old, int capacity)
{
    if (!old)
        return TimeSeries(capacity);
    if (old->capacity() == capacity)
        return *old;
    TimeSeries s(capacity);
    for (int i = std::max(0, old->size() - capacity); i < old->size(); ++i) {
        const SeriesPoint pt = old->at(i);
        s.append(pt.tMs, pt.value);
    }
    return s;
}

/// Appends the message's points newer than the series' last point.
bool appendPoints(Ctx &c, const QJsonValue &j, const Path &p, TimeSeries *series)
{
    if (!j.isObject())
        return c.expected(p, "an object {\"t\": [...], \"v\": [...]}", j);
    const QJsonObject o = j.toObject();
    const Path tp{&p, "t"};
    const Path vp{&p, "v"};
    const QJsonValue tv = o.value(QLatin1String("t"));
    const QJsonValue vv = o.value(QLatin1String("v"));
    if (!tv.isArray())
        return c.expected(tp, "an array", tv);
    if (!vv.isArray())
        return c.expected(vp, "an array", vv);
    const QJsonArray t = tv.toArray();
    const QJsonArray v = vv.toArray();
    if (t.size() > kSnapshotWireMaxSeriesPoints)
        return c.fail(tp, QStringLiteral("%1 points exceed the limit of %2")
                              .arg(t.size())
                              .arg(kSnapshotWireMaxSeriesPoints));
    if (t.size() != v.size())
        return c.fail(vp, QStringLiteral("%1 values for %2 times").arg(v.size()).arg(t.size()));
    // Only points after the series' last one count; points of the message that share a time
    // are all kept, as the registry keeps them.
    const qint64 after = series->isEmpty() ? std::numeric_limits<qint64>::min() : series->last().tMs;
    qint64 tMs = 0;
    for (qsizetype i = 0; i < t.size(); ++i) {
        const Path ip{&tp, i};
        qint64 x = 0;
        if (!readInt64(c, t.at(i), ip, &x))
            return false;
        if (i == 0) {
            tMs = x;
        } else {
            if (x < 0)
                return c.fail(ip, QStringLiteral("time goes backwards by %1 ms").arg(-x));
            if (x > std::numeric_limits<qint64>::max() - tMs)
                return c.fail(ip, QStringLiteral("time overflows"));
            tMs += x;
        }
        double value = 0;
        const Path vip{&vp, i};
        if (!readDouble(c, v.at(i), vip, &value))
            return false;
        if (tMs > after || (i == 0 && series->isEmpty()))
            series->append(tMs, value);
    }
    return true;
}

bool metricFromJson(Ctx &c, const QJsonValue &j, const Path &p, bool withPoints, qint64 wallMs,
                    const MetricsSnapshot *previous, int capacity, MetricSnapshot &m)
{
    if (!j.isObject())
        return c.expected(p, "an object", j);
    const QJsonObject o = j.toObject();
    const QJsonValue name = o.value(QLatin1String("name"));
    const Path np{&p, "name"};
    if (name.isUndefined())
        return c.fail(np, QStringLiteral("missing"));
    if (!fromJson(c, name, np, m.name))
        return false;
    const QJsonValue type = o.value(QLatin1String("type"));
    const Path tp{&p, "type"};
    if (type.isUndefined())
        return c.fail(tp, QStringLiteral("missing"));
    if (!fromJson(c, type, tp, m.type))
        return false;

    const QJsonValue labels = o.value(QLatin1String("labels"));
    if (!labels.isUndefined()) {
        const Path lp{&p, "labels"};
        if (!labels.isArray())
            return c.expected(lp, "an array [key, value, ...]", labels);
        const QJsonArray a = labels.toArray();
        if (a.size() % 2 || a.size() > 2 * kSnapshotWireMaxListItems)
            return c.fail(lp, QStringLiteral("%1 items is not key/value pairs").arg(a.size()));
        m.labels.reserve(a.size() / 2);
        for (qsizetype i = 0; i < a.size(); i += 2) {
            const Path kp{&lp, i};
            const Path vp{&lp, i + 1};
            QPair<QString, QString> label;
            if (!fromJson(c, a.at(i), kp, label.first) || !fromJson(c, a.at(i + 1), vp, label.second))
                return false;
            m.labels.append(std::move(label));
        }
    }

    Reader r{c, o, p};
    r("help", m.help);
    r("unit", m.unit);
    r("total", m.total);
    r("sinceReset", m.sinceReset);
    r("rate", m.rate);
    r("value", m.value);
    r("summary", m.summary);
    r("interval", m.interval);
    if (c.failed())
        return false;
    const QJsonValue buckets = o.value(QLatin1String("buckets"));
    if (!buckets.isUndefined()) {
        const Path bp{&p, "buckets"};
        if (!bucketsFromJson(c, buckets, bp, &m.cumulative))
            return false;
    }

    const MetricSnapshot *old = previous ? previous->find(m.name, m.labels) : nullptr;
    if (old && old->type != m.type)
        old = nullptr; // another metric now: start over
    for (size_t f = 0; f < m.series.size(); ++f)
        m.series[f] = continuedSeries(old ? &old->series[f] : nullptr, capacity);

    const QJsonValue series = o.value(QLatin1String("series"));
    const Path sp{&p, "series"};
    if (withPoints) {
        if (series.isUndefined())
            return true;
        if (!series.isObject())
            return c.expected(sp, "an object", series);
        const QJsonObject so = series.toObject();
        for (auto it = so.constBegin(); it != so.constEnd(); ++it) {
            int field = 0;
            while (field < int(SeriesField::Count_) && seriesFieldName(SeriesField(field)) != it.key())
                ++field;
            if (field == int(SeriesField::Count_))
                return c.fail(sp, QStringLiteral("unknown series field \"%1\"").arg(it.key()));
            const QByteArray key = it.key().toLatin1();
            const Path fp{&sp, key.constData()};
            if (!appendPoints(c, it.value(), fp, &m.series[size_t(field)]))
                return false;
        }
        return true;
    }
    if (!series.isUndefined())
        return c.fail(sp, QStringLiteral("points without metrics.seriesSinceMs"));
    // The rule of MetricsRegistry::capture(): one point per interval from the current values.
    const auto add = [&](SeriesField f, double value) {
        TimeSeries &s = m.series[size_t(f)];
        if (s.isEmpty() || wallMs > s.last().tMs)
            s.append(wallMs, value);
    };
    switch (m.type) {
    case MetricType::Counter:
        add(SeriesField::Rate, m.rate);
        break;
    case MetricType::Gauge:
        add(SeriesField::Value, m.value);
        break;
    case MetricType::Histogram:
        add(SeriesField::Rate, m.rate);
        if (m.interval.count) {
            add(SeriesField::P50, m.interval.p50);
            add(SeriesField::P90, m.interval.p90);
            add(SeriesField::P99, m.interval.p99);
            add(SeriesField::Max, double(m.interval.max));
            add(SeriesField::Mean, m.interval.mean);
        }
        break;
    }
    return true;
}

QJsonObject metricsToJson(const MetricsSnapshot &s, const SnapshotWireOptions &options)
{
    const bool withPoints = options.seriesSinceMs != std::numeric_limits<qint64>::max();
    QJsonObject o;
    o.insert(QLatin1String("sequence"), u64ToJson(s.sequence));
    o.insert(QLatin1String("wallMs"), QJsonValue(s.wallMs));
    o.insert(QLatin1String("monotonicMs"), QJsonValue(s.monotonicMs));
    o.insert(QLatin1String("lastResetWallMs"), QJsonValue(s.lastResetWallMs));
    o.insert(QLatin1String("resetCount"), s.resetCount);
    o.insert(QLatin1String("intervalMs"), s.intervalMs);
    if (withPoints)
        o.insert(QLatin1String("seriesSinceMs"), QJsonValue(options.seriesSinceMs));
    QJsonArray metrics;
    for (const MetricSnapshot &m : s.metrics)
        metrics.append(metricToJson(m, options, withPoints));
    o.insert(QLatin1String("metrics"), metrics);
    o.insert(QLatin1String("events"), toJson(s.events));
    return o;
}

bool metricsFromJson(Ctx &c, const QJsonValue &j, const Path &p, const Snapshot *previous, int capacity,
                     std::shared_ptr<const MetricsSnapshot> *out)
{
    if (j.isNull()) {
        out->reset();
        return true;
    }
    if (!j.isObject())
        return c.expected(p, "an object or null", j);
    const QJsonObject o = j.toObject();
    auto s = std::make_shared<MetricsSnapshot>();
    Reader r{c, o, p};
    r("sequence", s->sequence);
    r("wallMs", s->wallMs);
    r("monotonicMs", s->monotonicMs);
    r("lastResetWallMs", s->lastResetWallMs);
    r("resetCount", s->resetCount);
    r("intervalMs", s->intervalMs);
    r("events", s->events);
    qint64 since = 0;
    r("seriesSinceMs", since);
    if (c.failed())
        return false;
    const bool withPoints = o.contains(QLatin1String("seriesSinceMs"));

    const Path mp{&p, "metrics"};
    const QJsonValue metrics = o.value(QLatin1String("metrics"));
    if (metrics.isUndefined())
        return c.fail(mp, QStringLiteral("missing"));
    if (!metrics.isArray())
        return c.expected(mp, "an array", metrics);
    const QJsonArray a = metrics.toArray();
    if (a.size() > kSnapshotWireMaxMetrics)
        return c.fail(
            mp,
            QStringLiteral("%1 metrics exceed the limit of %2").arg(a.size()).arg(kSnapshotWireMaxMetrics));
    const MetricsSnapshot *old = previous ? previous->metrics.get() : nullptr;
    s->metrics.reserve(a.size());
    for (qsizetype i = 0; i < a.size(); ++i) {
        const Path ip{&mp, i};
        MetricSnapshot m;
        if (!metricFromJson(c, a.at(i), ip, withPoints, s->wallMs, old, capacity, m))
            return false;
        s->metrics.append(std::move(m));
    }
    s->rebuildIndex();
    for (qsizetype i = 0; i < s->metrics.size(); ++i) {
        const MetricSnapshot &m = s->metrics.at(i);
        if (s->find(m.name, m.labels) != &m) {
            const Path ip{&mp, i};
            return c.fail(
                ip, QStringLiteral("metric \"%1\" appears again later with the same labels").arg(m.name));
        }
    }
    *out = std::move(s);
    return true;
}

/// A top-level section: required.
template <class T> bool section(Ctx &c, const QJsonObject &wire, const char *key, T &out)
{
    const Path p{nullptr, key};
    const QJsonValue v = wire.value(QLatin1String(key));
    if (v.isUndefined())
        return c.fail(p, QStringLiteral("missing"));
    return fromJson(c, v, p, out);
}

bool snapshotFromJson(Ctx &c, const QJsonObject &wire, const Snapshot *previous, int capacity, Snapshot &s)
{
    const Path vp{nullptr, "version"};
    const QJsonValue version = wire.value(QLatin1String("version"));
    if (version.isUndefined())
        return c.fail(vp, QStringLiteral("missing (not a snapshot message)"));
    qint64 v = 0;
    if (!readInt64(c, version, vp, &v))
        return false;
    if (v != kSnapshotWireVersion)
        return c.fail(vp,
                      QStringLiteral("unsupported snapshot wire version %1 (this program reads version %2)")
                          .arg(v)
                          .arg(kSnapshotWireVersion));

    const Path mp{nullptr, "metrics"};
    const QJsonValue metrics = wire.value(QLatin1String("metrics"));
    if (metrics.isUndefined())
        return c.fail(mp, QStringLiteral("missing"));
    if (!metricsFromJson(c, metrics, mp, previous, capacity, &s.metrics))
        return false;

    if (!section(c, wire, "diagnostics", s.diagnostics) || !section(c, wire, "eventLoop", s.eventLoop) ||
        !section(c, wire, "http", s.http) || !section(c, wire, "database", s.database) ||
        !section(c, wire, "integrations", s.integrations) || !section(c, wire, "memory", s.memory) ||
        !section(c, wire, "streams", s.streams) || !section(c, wire, "info", s.info))
        return false;

    const Path valp{nullptr, "validation"};
    const QJsonValue validation = wire.value(QLatin1String("validation"));
    if (validation.isUndefined())
        return c.fail(valp, QStringLiteral("missing"));
    if (!validation.isNull()) {
        auto report = std::make_shared<ValidationReport>();
        if (!fromJson(c, validation, valp, *report))
            return false;
        s.validation = std::move(report);
    }
    return true;
}

} // namespace

QJsonObject snapshotToWire(const Snapshot &snapshot, const SnapshotWireOptions &options)
{
    QJsonObject o;
    o.insert(QLatin1String("version"), kSnapshotWireVersion);
    o.insert(QLatin1String("metrics"), snapshot.metrics
                                           ? QJsonValue(metricsToJson(*snapshot.metrics, options))
                                           : QJsonValue(QJsonValue::Null));
    o.insert(QLatin1String("diagnostics"), toJson(snapshot.diagnostics));
    o.insert(QLatin1String("eventLoop"), toJson(snapshot.eventLoop));
    o.insert(QLatin1String("http"), toJson(snapshot.http));
    o.insert(QLatin1String("database"), toJson(snapshot.database));
    o.insert(QLatin1String("integrations"), toJson(snapshot.integrations));
    o.insert(QLatin1String("memory"), toJson(snapshot.memory));
    o.insert(QLatin1String("streams"), toJson(snapshot.streams));
    o.insert(QLatin1String("validation"),
             snapshot.validation ? toJson(*snapshot.validation) : QJsonValue(QJsonValue::Null));
    o.insert(QLatin1String("info"), toJson(snapshot.info));
    return o;
}

SnapshotPtr snapshotFromWire(const QJsonObject &wire, const Snapshot *previous, int seriesCapacity,
                             QString *error)
{
    Ctx c;
    auto snapshot = std::make_shared<Snapshot>();
    if (!snapshotFromJson(c, wire, previous, std::max(1, seriesCapacity), *snapshot)) {
        if (error)
            *error = c.error();
        return nullptr;
    }
    if (error)
        error->clear();
    return snapshot;
}

} // namespace vega
