#pragma once

#include <QList>
#include <QString>
#include <QtGlobal>

#include <atomic>
#include <type_traits>

namespace vega {

/**
 * The live count of one tracked type. Created by LiveObjects::counter() and never destroyed
 * before the end of the process, so a pointer to it can be cached anywhere (and must be: the
 * lookup by name takes a lock, add() does not).
 *
 * add() is one relaxed atomic add: no lock, no allocation. A count that goes negative means
 * the owner released more than it registered; it is reported as it is, never clamped.
 */
class LiveCounter {
public:
    explicit LiveCounter(const QString &name) : m_name(name) {}
    LiveCounter(const LiveCounter &) = delete;
    LiveCounter &operator=(const LiveCounter &) = delete;

    const QString &name() const { return m_name; }
    void add(qint64 delta) { m_live.fetch_add(delta, std::memory_order_relaxed); }
    void increment() { add(1); }
    void decrement() { add(-1); }
    qint64 live() const { return m_live.load(std::memory_order_relaxed); }

private:
    const QString m_name;
    std::atomic<qint64> m_live{0};
};

/// One tracked type's count at one moment.
struct LiveCount {
    QString name;
    qint64 live = 0;
};

/**
 * The process-wide registry of live-object counters, one per tracked type name. Thread-safe.
 *
 * Classes embed a count with one line: inherit vega::Tracked<T>, or put VEGA_TRACK_TYPE(Name)
 * in the class body. Objects that cannot do either (a reply owned by Qt, an entry in a
 * container of plain structs) use the explicit API with a cached pointer:
 *
 *     static LiveCounter *const replies = LiveObjects::counter(QStringLiteral("http.reply"));
 *     replies->add(1); ... replies->add(-1);
 */
class LiveObjects {
public:
    /// The counter for `name`, created on first use. Never null; valid until the process
    /// exits. An empty name is a programming error: it is logged and counted as "(unnamed)".
    static LiveCounter *counter(const QString &name);
    /// The counter for `name` if it exists, else null.
    static LiveCounter *find(const QString &name);
    /// Every counter, in registration order (the list is a copy; the pointers stay valid).
    static QList<LiveCounter *> counters();
    /// Every count, sorted by name.
    static QList<LiveCount> snapshot();

    LiveObjects() = delete;
};

namespace detail {

/// Extracts T from a compiler's function signature of typeSignature<T>() (GCC, Clang, MSVC);
/// falls back to the whole signature when the format is not recognised.
QString typeNameFromSignature(const char *signature);

template <typename T> const char *typeSignature()
{
#if defined(_MSC_VER) && !defined(__clang__)
    return __FUNCSIG__;
#else
    return __PRETTY_FUNCTION__;
#endif
}

template <typename T, typename = void> struct HasTrackedName : std::false_type {
};
template <typename T> struct HasTrackedName<T, std::void_t<decltype(T::vegaTrackedName())>> : std::true_type {
};

inline QString toTrackedName(const QString &name)
{
    return name;
}
inline QString toTrackedName(const char *name)
{
    return QString::fromUtf8(name);
}

template <typename T> QString trackedName()
{
    if constexpr (HasTrackedName<T>::value)
        return toTrackedName(T::vegaTrackedName());
    else
        return typeNameFromSignature(typeSignature<T>());
}

} // namespace detail

/**
 * CRTP mixin that keeps LiveObjects' count of T exact: `class Reply : public vega::Tracked<Reply>`.
 *
 * The name is T::vegaTrackedName() when T declares one (a static function returning a
 * QString or a const char *), otherwise the compiler's spelling of T (e.g. "vega::Reply").
 * Constructing (including copying and moving) adds one and destroying removes one, each a
 * relaxed atomic add on a counter looked up once per type. Assignment changes no count.
 */
template <typename T> class Tracked {
public:
    /// The counter of T (registered on first use).
    static LiveCounter *liveCounter()
    {
        static LiveCounter *const counter = LiveObjects::counter(detail::trackedName<T>());
        return counter;
    }
    static qint64 liveCount() { return liveCounter()->live(); }

protected:
    Tracked() noexcept { liveCounter()->increment(); }
    Tracked(const Tracked &) noexcept { liveCounter()->increment(); }
    Tracked(Tracked &&) noexcept { liveCounter()->increment(); }
    Tracked &operator=(const Tracked &) noexcept = default;
    Tracked &operator=(Tracked &&) noexcept = default;
    ~Tracked() { liveCounter()->decrement(); }
};

} // namespace vega

/**
 * Tracks the enclosing class under the name `Name` without changing its base classes:
 * put it in the class body, e.g. `class Stream : public QObject { VEGA_TRACK_TYPE(Stream) ... };`.
 * It adds a one-byte member (plus padding) and a nested tag type; the enclosing class keeps
 * its copy and move semantics. A class and its subclass may both use it: each counts its own.
 */
#define VEGA_TRACK_TYPE(Name)                                                                                \
    struct VegaTrackedTag {                                                                                  \
        static const char *vegaTrackedName() { return #Name; }                                               \
    };                                                                                                       \
    class VegaTrackedMember : public ::vega::Tracked<VegaTrackedTag> {};                                     \
    VegaTrackedMember m_vegaTracked;
