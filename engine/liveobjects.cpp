#include "liveobjects.h"

#include <QHash>
#include <QLoggingCategory>
#include <QMutex>
#include <QMutexLocker>

#include <algorithm>
#include <deque>

namespace vega {

namespace {

Q_LOGGING_CATEGORY(lcLiveObjects, "vega.liveobjects", QtInfoMsg)

struct Registry {
    QMutex mutex;                     // protects counters and byName
    std::deque<LiveCounter> counters; // a deque never moves its elements
    QHash<QString, LiveCounter *> byName;
};

// A function-local static: a Tracked<> object with static storage registers its type (and so
// constructs the registry) before its own construction completes, so it is destroyed first.
Registry &registry()
{
    static Registry r;
    return r;
}

} // namespace

LiveCounter *LiveObjects::counter(const QString &name)
{
    QString key = name.trimmed();
    if (key.isEmpty()) {
        qCWarning(lcLiveObjects) << "LiveObjects::counter: empty type name; counting it as \"(unnamed)\"";
        key = QStringLiteral("(unnamed)");
    }
    Registry &r = registry();
    QMutexLocker lock(&r.mutex);
    if (LiveCounter *existing = r.byName.value(key))
        return existing;
    LiveCounter *created = &r.counters.emplace_back(key);
    r.byName.insert(key, created);
    return created;
}

LiveCounter *LiveObjects::find(const QString &name)
{
    Registry &r = registry();
    QMutexLocker lock(&r.mutex);
    return r.byName.value(name.trimmed());
}

QList<LiveCounter *> LiveObjects::counters()
{
    Registry &r = registry();
    QMutexLocker lock(&r.mutex);
    QList<LiveCounter *> out;
    out.reserve(qsizetype(r.counters.size()));
    for (LiveCounter &c : r.counters)
        out.append(&c);
    return out;
}

QList<LiveCount> LiveObjects::snapshot()
{
    QList<LiveCount> out;
    const QList<LiveCounter *> all = counters();
    out.reserve(all.size());
    for (const LiveCounter *c : all)
        out.append(LiveCount{c->name(), c->live()});
    std::sort(out.begin(), out.end(), [](const LiveCount &a, const LiveCount &b) { return a.name < b.name; });
    return out;
}

namespace detail {

QString typeNameFromSignature(const char *signature)
{
    const QString s = QString::fromUtf8(signature);
    // GCC: "... typeSignature() [with T = Foo]"; Clang: "... typeSignature() [T = Foo]".
    const QString marker = QStringLiteral("T = ");
    const int at = int(s.indexOf(marker));
    if (at >= 0) {
        const int begin = at + int(marker.size());
        int end = int(s.indexOf(QLatin1Char(';'), begin));
        if (end < 0)
            end = int(s.lastIndexOf(QLatin1Char(']')));
        if (end > begin)
            return s.mid(begin, end - begin).trimmed();
    }
    // MSVC: "const char *__cdecl vega::detail::typeSignature<class Foo>(void)".
    const int open = int(s.indexOf(QLatin1String("typeSignature<")));
    const int close = int(s.lastIndexOf(QLatin1String(">(")));
    if (open >= 0 && close > open) {
        QString name = s.mid(open + 14, close - open - 14).trimmed();
        for (const char *prefix : {"class ", "struct ", "enum "}) {
            if (name.startsWith(QLatin1String(prefix)))
                name = name.mid(int(qstrlen(prefix)));
        }
        return name;
    }
    return s;
}

} // namespace detail

} // namespace vega
