#include "systemdiagnostics.h"

#include "clock.h"
#include "eventloopmonitor.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QFile>
#include <QFileInfo>
#include <QMap>
#include <QMutex>
#include <QMutexLocker>
#include <QStorageInfo>
#include <QSysInfo>
#include <QThread>
#include <QTimer>

#include <cmath>
#include <functional>
#include <iterator>
#include <optional>

#ifdef Q_OS_UNIX
#include <sys/resource.h>
#include <unistd.h>
#endif
#ifdef Q_OS_LINUX
#include <dirent.h>
#endif

namespace vega {

namespace {

// Kernel CPU times come in clock ticks (usually 10 ms): over a shorter window the
// quantisation error exceeds the reading itself, so such a window yields no rate and the
// older baseline is kept for the next sample.
constexpr qint64 kMinRateWindowNs = 50'000'000;
constexpr int kMinIntervalMs = 100;
constexpr double kMiB = 1024.0 * 1024.0;

struct CategoryInfo {
    const char *id;
    const char *title;
};

// Index into kCategories; the report keeps this order.
enum CategoryIndex {
    CpuIndex,
    MemoryIndex,
    DiskIndex,
    NetworkIndex,
    ProcessIndex,
    EventLoopIndex,
    RuntimeIndex,
    LoadIndex
};

constexpr CategoryInfo kCategories[] = {
    {"cpu", "CPU"},         {"memory", "Memory"},         {"disk", "Disk"},       {"network", "Network"},
    {"process", "Process"}, {"event_loop", "Event loop"}, {"runtime", "Runtime"}, {"load", "Load"},
};

DiagnosticCategory emptyCategory(int index)
{
    DiagnosticCategory c;
    c.id = QLatin1String(kCategories[index].id);
    c.title = QLatin1String(kCategories[index].title);
    return c;
}

DiagnosticValue numberValue(const QString &key, const QString &label, std::optional<double> v,
                            Unit unit = Unit::None)
{
    DiagnosticValue out;
    out.key = key;
    out.label = label;
    out.unit = unit;
    out.available = v.has_value() && std::isfinite(*v);
    out.number = out.available ? *v : 0;
    return out;
}

DiagnosticValue textValue(const QString &key, const QString &label, const QString &text)
{
    DiagnosticValue out;
    out.key = key;
    out.label = label;
    out.text = text;
    out.available = !text.isEmpty();
    return out;
}

std::optional<double> percentOf(std::optional<double> part, std::optional<double> whole)
{
    if (!part || !whole || *whole <= 0)
        return std::nullopt;
    return *part / *whole * 100.0;
}

// ---- /proc readers: each returns nullopt when the file is missing or malformed ----

struct CpuTimes {
    quint64 total = 0;
    quint64 idle = 0;
};

struct NetCounters {
    quint64 rx = 0;
    quint64 tx = 0;
};

struct SelfStat {
    quint64 cpuTicks = 0;   // utime + stime
    quint64 startTicks = 0; // since boot
};

using NetTable = QMap<QString, NetCounters>; // sorted, so interfaces keep a stable order

#ifdef Q_OS_LINUX
std::optional<QByteArray> readProcFile(const char *path)
{
    QFile file(QString::fromLatin1(path));
    if (!file.open(QIODevice::ReadOnly))
        return std::nullopt;
    // procfs reports size 0; readAll() then reads until EOF.
    QByteArray data = file.readAll();
    if (data.isEmpty())
        return std::nullopt;
    return data;
}

std::optional<qint64> toInt(const QByteArray &token)
{
    bool ok = false;
    const qint64 v = token.toLongLong(&ok);
    return ok ? std::optional<qint64>(v) : std::nullopt;
}

std::optional<double> toDouble(const QByteArray &token)
{
    bool ok = false;
    const double v = token.toDouble(&ok);
    return ok ? std::optional<double>(v) : std::nullopt;
}

/// The first number after "Key:" in /proc/self/status or /proc/meminfo style text.
std::optional<qint64> keyedNumber(const QByteArray &text, const QByteArray &key)
{
    const QByteArray prefix = key + ':';
    for (const QByteArray &line : text.split('\n')) {
        if (!line.startsWith(prefix))
            continue;
        const QList<QByteArray> parts = line.mid(prefix.size()).simplified().split(' ');
        return parts.isEmpty() ? std::nullopt : toInt(parts.first());
    }
    return std::nullopt;
}

std::optional<SelfStat> readSelfStat()
{
    const auto data = readProcFile("/proc/self/stat");
    if (!data)
        return std::nullopt;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const int close = data->lastIndexOf(')');
    if (close < 0)
        return std::nullopt;
    const QList<QByteArray> f = data->mid(close + 1).simplified().split(' ');
    // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
    if (f.size() < 20)
        return std::nullopt;
    const auto utime = toInt(f.at(11));
    const auto stime = toInt(f.at(12));
    const auto start = toInt(f.at(19));
    if (!utime || !stime || !start)
        return std::nullopt;
    return SelfStat{quint64(*utime + *stime), quint64(*start)};
}

std::optional<CpuTimes> readSystemCpu()
{
    const auto data = readProcFile("/proc/stat");
    if (!data)
        return std::nullopt;
    const QByteArray line = data->left(data->indexOf('\n')).simplified();
    const QList<QByteArray> f = line.split(' ');
    // cpu user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is
    // already counted in user, so only the first eight add up to the total.
    if (f.size() < 9 || f.first() != "cpu")
        return std::nullopt;
    CpuTimes t;
    for (int i = 1; i <= 8; ++i) {
        const auto v = toInt(f.at(i));
        if (!v)
            return std::nullopt;
        t.total += quint64(*v);
        if (i == 4 || i == 5) // idle, iowait
            t.idle += quint64(*v);
    }
    return t;
}

std::optional<NetTable> readNetDev()
{
    const auto data = readProcFile("/proc/net/dev");
    if (!data)
        return std::nullopt;
    NetTable table;
    const QList<QByteArray> lines = data->split('\n');
    for (int i = 2; i < lines.size(); ++i) { // two header lines
        const int colon = lines.at(i).indexOf(':');
        if (colon < 0)
            continue;
        const QList<QByteArray> f = lines.at(i).mid(colon + 1).simplified().split(' ');
        if (f.size() < 9)
            continue;
        const auto rx = toInt(f.at(0));
        const auto tx = toInt(f.at(8));
        if (!rx || !tx)
            continue;
        table.insert(QString::fromUtf8(lines.at(i).left(colon).trimmed()),
                     NetCounters{quint64(*rx), quint64(*tx)});
    }
    return table;
}

std::optional<int> countOpenFds()
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        return std::nullopt;
    const int own = dirfd(dir);
    int count = 0;
    while (const dirent *entry = readdir(dir)) {
        if (entry->d_name[0] == '.')
            continue;
        // The descriptor used to list the directory is not one of the process's own.
        if (QByteArray(entry->d_name) == QByteArray::number(own))
            continue;
        ++count;
    }
    closedir(dir);
    return count;
}
#endif // Q_OS_LINUX

int cpuCount()
{
#ifdef Q_OS_UNIX
    // Online CPUs, not this process's affinity: load and /proc/stat are machine-wide.
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0)
        return int(n);
#endif
    return QThread::idealThreadCount();
}

QString compilerName()
{
#if defined(__clang__)
    return QStringLiteral("Clang %1.%2.%3")
        .arg(__clang_major__)
        .arg(__clang_minor__)
        .arg(__clang_patchlevel__);
#elif defined(__GNUC__)
    return QStringLiteral("GCC %1.%2.%3").arg(__GNUC__).arg(__GNUC_MINOR__).arg(__GNUC_PATCHLEVEL__);
#elif defined(_MSC_FULL_VER)
    return QStringLiteral("MSVC %1").arg(_MSC_FULL_VER);
#else
    return QStringLiteral("unknown");
#endif
}

QString buildType()
{
#ifdef VEGA_BUILD_TYPE
    const QString type = QStringLiteral(VEGA_BUILD_TYPE);
    if (!type.isEmpty())
        return type;
#endif
    return QStringLiteral("unknown");
}

/// The directory itself, or its nearest ancestor that exists (the data directory may not
/// have been created yet, but the volume it will live on can be measured).
QString nearestExisting(const QString &path)
{
    QString p = QFileInfo(path).absoluteFilePath();
    while (!QFileInfo::exists(p)) {
        const QString parent = QFileInfo(p).absolutePath();
        if (parent == p)
            return {};
        p = parent;
    }
    return p;
}

// ---- grading ----

struct Check {
    Health health = Health::Unknown;
    QString phrase;
};

QString formatNumber(double v, int decimals = 1)
{
    return QString::number(v, 'f', decimals);
}

QString formatThreshold(double v)
{
    return QString::number(v, 'g', 6);
}

Check thresholdCheck(const DiagnosticCategory &c, const QString &key, const QString &what,
                     const QString &suffix, const Threshold &t, Direction dir, double scale = 1,
                     int decimals = 1)
{
    const DiagnosticValue *v = c.value(key);
    if (!v || !v->available)
        return {Health::Unknown, what + QStringLiteral(" unavailable")};
    const double x = v->number * scale;
    const Health h = gradeReading(x, true, t, dir);
    const bool higher = dir == Direction::HigherIsWorse;
    const QString reading = what + QLatin1Char(' ') + formatNumber(x, decimals) + suffix;
    switch (h) {
    case Health::Critical:
        return {h, reading + (higher ? QStringLiteral(" ≥ critical ") : QStringLiteral(" ≤ critical ")) +
                       formatThreshold(t.critical) + suffix};
    case Health::Warning:
        return {h, reading + (higher ? QStringLiteral(" ≥ warning ") : QStringLiteral(" ≤ warning ")) +
                       formatThreshold(t.warning) + suffix};
    case Health::Ok:
        return {h, reading + (higher ? QStringLiteral(" < warning ") : QStringLiteral(" > warning ")) +
                       formatThreshold(t.warning) + suffix};
    case Health::Unknown:
        break;
    }
    return {Health::Unknown, what + QStringLiteral(" unavailable")};
}

/// Worst check wins; within a category an unavailable key value outranks Ok (the category
/// cannot be called healthy when part of it is unknown) but not a real Warning/Critical.
void applyChecks(DiagnosticCategory &c, const QList<Check> &checks)
{
    auto rank = [](Health h) {
        switch (h) {
        case Health::Ok:
            return 0;
        case Health::Unknown:
            return 1;
        case Health::Warning:
            return 2;
        case Health::Critical:
            return 3;
        }
        return 1;
    };
    Health result = Health::Unknown;
    if (!checks.isEmpty()) {
        result = checks.first().health;
        for (const Check &ch : checks)
            if (rank(ch.health) > rank(result))
                result = ch.health;
    }
    QStringList phrases;
    for (const Check &ch : checks)
        if (ch.health == result)
            phrases << ch.phrase;
    c.health = result;
    c.reason = phrases.join(QStringLiteral("; "));
}

} // namespace

// ---- public value helpers ----

QString healthName(Health h)
{
    switch (h) {
    case Health::Ok:
        return QStringLiteral("ok");
    case Health::Warning:
        return QStringLiteral("warning");
    case Health::Critical:
        return QStringLiteral("critical");
    case Health::Unknown:
        break;
    }
    return QStringLiteral("unknown");
}

const DiagnosticValue *DiagnosticCategory::value(const QString &key) const
{
    for (const DiagnosticValue &v : values)
        if (v.key == key)
            return &v;
    return nullptr;
}

const DiagnosticCategory *DiagnosticsReport::category(const QString &id) const
{
    for (const DiagnosticCategory &c : categories)
        if (c.id == id)
            return &c;
    return nullptr;
}

Health gradeReading(double value, bool available, const Threshold &threshold, Direction direction)
{
    if (!available || std::isnan(value))
        return Health::Unknown;
    if (direction == Direction::HigherIsWorse) {
        if (value >= threshold.critical)
            return Health::Critical;
        if (value >= threshold.warning)
            return Health::Warning;
        return Health::Ok;
    }
    if (value <= threshold.critical)
        return Health::Critical;
    if (value <= threshold.warning)
        return Health::Warning;
    return Health::Ok;
}

DiagnosticCategory gradeCategory(DiagnosticCategory c, const DiagnosticsConfig &config)
{
    const QString pct = QStringLiteral("%");
    const QString id = c.id;
    if (id == QLatin1String("cpu")) {
        applyChecks(c,
                    {thresholdCheck(c, QStringLiteral("process_cpu_percent"), QStringLiteral("process CPU"),
                                    pct, config.cpuPercent, Direction::HigherIsWorse),
                     thresholdCheck(c, QStringLiteral("system_cpu_percent"), QStringLiteral("system CPU"),
                                    pct, config.systemCpuPercent, Direction::HigherIsWorse)});
    } else if (id == QLatin1String("memory")) {
        applyChecks(c, {thresholdCheck(c, QStringLiteral("memory_available_percent"),
                                       QStringLiteral("memory available"), pct, config.memoryAvailablePercent,
                                       Direction::LowerIsWorse),
                        thresholdCheck(c, QStringLiteral("process_rss_bytes"), QStringLiteral("process RSS"),
                                       QStringLiteral(" MB"), config.processRssMb, Direction::HigherIsWorse,
                                       1.0 / kMiB)});
    } else if (id == QLatin1String("disk")) {
        applyChecks(c, {thresholdCheck(c, QStringLiteral("disk_free_percent"), QStringLiteral("disk free"),
                                       pct, config.diskFreePercent, Direction::LowerIsWorse)});
    } else if (id == QLatin1String("process")) {
        applyChecks(c, {thresholdCheck(c, QStringLiteral("fd_usage_percent"), QStringLiteral("fd usage"), pct,
                                       config.fdUsagePercent, Direction::HigherIsWorse)});
    } else if (id == QLatin1String("load")) {
        applyChecks(c, {thresholdCheck(c, QStringLiteral("load_per_core"), QStringLiteral("load per core"),
                                       {}, config.loadPerCore, Direction::HigherIsWorse, 1, 2)});
    } else if (id == QLatin1String("event_loop")) {
        QList<Check> checks{thresholdCheck(c, QStringLiteral("lag_p99_ms"),
                                           QStringLiteral("event loop lag p99"), QStringLiteral(" ms"),
                                           config.eventLoopP99Ms, Direction::HigherIsWorse)};
        const DiagnosticValue *stalled = c.value(QStringLiteral("stalled_now"));
        if (stalled && stalled->available && stalled->number != 0) {
            const DiagnosticValue *current = c.value(QStringLiteral("current_stall_ms"));
            QString phrase = QStringLiteral("event loop stalled now");
            if (current && current->available)
                phrase += QStringLiteral(" (for %1 ms)").arg(formatNumber(current->number, 0));
            checks << Check{Health::Critical, phrase};
        }
        applyChecks(c, checks);
    } else if (id == QLatin1String("network")) {
        const DiagnosticValue *count = c.value(QStringLiteral("interfaces"));
        if (!count || !count->available) {
            c.health = Health::Unknown;
            c.reason = QStringLiteral("interface counters unavailable");
        } else {
            int rates = 0;
            for (const DiagnosticValue &v : std::as_const(c.values))
                if (v.available && v.key.startsWith(QLatin1String("receive_bytes_per_second:")))
                    ++rates;
            c.health = Health::Ok;
            const int n = int(count->number);
            c.reason = QStringLiteral("%1 %2 readable")
                           .arg(n)
                           .arg(n == 1 ? QStringLiteral("interface") : QStringLiteral("interfaces"));
            if (rates == 0 && n > 0)
                c.reason += QStringLiteral("; rates need a second sample");
        }
    } else if (id == QLatin1String("runtime")) {
        const DiagnosticValue *qt = c.value(QStringLiteral("qt_version"));
        if (!qt || !qt->available) {
            c.health = Health::Unknown;
            c.reason = QStringLiteral("Qt version unavailable");
        } else {
            c.health = Health::Ok;
            c.reason = QStringLiteral("Qt ") + qt->text;
            const DiagnosticValue *platform = c.value(QStringLiteral("platform"));
            if (platform && platform->available)
                c.reason += QStringLiteral(" on ") + platform->text;
        }
    } else {
        c.health = Health::Unknown;
        c.reason = QStringLiteral("unknown category");
    }
    return c;
}

Health overallHealth(const QList<DiagnosticCategory> &categories)
{
    Health worst = Health::Unknown;
    for (const DiagnosticCategory &c : categories)
        if (int(c.health) > int(worst)) // Unknown is the lowest value, so any known grade beats it
            worst = c.health;
    return worst;
}

// ---- the sampler ----

namespace {

/// Lives on the worker thread and calls `tick` once right away and then per interval.
class IntervalWorker : public QObject {
public:
    IntervalWorker(int intervalMs, std::function<void()> tick) : m_timer(this), m_tick(std::move(tick))
    {
        m_timer.setInterval(intervalMs);
        // A coarse timer may fire up to 5% early; rates prefer even windows.
        m_timer.setTimerType(Qt::PreciseTimer);
        connect(&m_timer, &QTimer::timeout, this, [this] { m_tick(); });
    }

    void begin()
    {
        m_tick();
        m_timer.start();
    }

    // Stops the timer on its own thread (a timer cannot be stopped from another) and ends
    // the thread's event loop.
    void end()
    {
        m_timer.stop();
        thread()->quit();
    }

private:
    QTimer m_timer;
    std::function<void()> m_tick;
};

} // namespace

class SystemDiagnostics::Private {
public:
    Private(SystemDiagnostics *q, MetricsRegistry *registry, const DiagnosticsConfig &config,
            const QString &dataDir, EventLoopMonitor *monitor)
        : q(q), registry(registry), config(config), dataDir(dataDir), monitor(monitor)
    {
        for (int i = 0; i < int(std::size(kCategories)); ++i) {
            DiagnosticCategory c = emptyCategory(i);
            c.reason = QStringLiteral("not sampled yet");
            latest.categories << c;
        }
    }

    DiagnosticsReport sample();
    void timerTick();

    DiagnosticCategory sampleCpu(const std::optional<SelfStat> &self, const std::optional<CpuTimes> &system,
                                 double windowS, bool haveWindow) const;
    DiagnosticCategory sampleMemory() const;
    DiagnosticCategory sampleDisk() const;
    DiagnosticCategory sampleNetwork(const std::optional<NetTable> &net, double windowS,
                                     bool haveWindow) const;
    DiagnosticCategory sampleProcess(const std::optional<SelfStat> &self) const;
    DiagnosticCategory sampleEventLoop() const;
    DiagnosticCategory sampleRuntime() const;
    DiagnosticCategory sampleLoad() const;
    void publish(const DiagnosticsReport &report);
    void setGauge(const QString &name, const Labels &labels, const QString &help, Unit unit,
                  const DiagnosticValue *v);

    SystemDiagnostics *const q;
    MetricsRegistry *const registry;
    const DiagnosticsConfig config;
    const QString dataDir;
    EventLoopMonitor *const monitor;
    const int cores = cpuCount();
#ifdef Q_OS_UNIX
    const long clockTicksPerSecond = sysconf(_SC_CLK_TCK);
#else
    const long clockTicksPerSecond = 0;
#endif

    // Serialises sampling (timer and sampleNow() may run at once) and protects the rate
    // baseline below; it also keeps latest in sample order.
    QMutex sampleMutex;
    struct Baseline {
        bool valid = false;
        qint64 monoNs = 0;
        std::optional<SelfStat> self;
        std::optional<CpuTimes> system;
        std::optional<NetTable> net;
    } base;

    mutable QMutex latestMutex; // protects latest
    DiagnosticsReport latest;

    // Owned and touched on q's thread only.
    std::unique_ptr<QThread> thread;
    std::unique_ptr<IntervalWorker> worker;
};

DiagnosticsReport SystemDiagnostics::Private::sample()
{
    QMutexLocker lock(&sampleMutex);
    const qint64 nowNs = Clock::system()->nowNs();
    std::optional<SelfStat> self;
    std::optional<CpuTimes> system;
    std::optional<NetTable> net;
#ifdef Q_OS_LINUX
    self = readSelfStat();
    system = readSystemCpu();
    net = readNetDev();
#endif
    const bool haveWindow = base.valid && nowNs - base.monoNs >= kMinRateWindowNs;
    const double windowS = haveWindow ? double(nowNs - base.monoNs) / 1e9 : 0;

    DiagnosticsReport report;
    report.wallMs = registry ? registry->wallNowMs() : QDateTime::currentMSecsSinceEpoch();
    report.categories = {sampleCpu(self, system, windowS, haveWindow),
                         sampleMemory(),
                         sampleDisk(),
                         sampleNetwork(net, windowS, haveWindow),
                         sampleProcess(self),
                         sampleEventLoop(),
                         sampleRuntime(),
                         sampleLoad()};
    for (DiagnosticCategory &c : report.categories)
        c = gradeCategory(std::move(c), config);
    if (!monitor)
        report.categories[EventLoopIndex].reason = QStringLiteral("no event loop monitor");
    report.overall = overallHealth(report.categories);

    if (!base.valid || haveWindow)
        base = Baseline{true, nowNs, self, system, net};

    publish(report);
    QMutexLocker latestLock(&latestMutex);
    latest = report;
    return report;
}

void SystemDiagnostics::Private::timerTick()
{
    const DiagnosticsReport report = sample();
    // Posted to q so the signal is emitted on q's thread; dropped if q is gone.
    QMetaObject::invokeMethod(
        q, [owner = q, report] { Q_EMIT owner->reportAvailable(report); }, Qt::QueuedConnection);
}

DiagnosticCategory SystemDiagnostics::Private::sampleCpu(const std::optional<SelfStat> &self,
                                                         const std::optional<CpuTimes> &system,
                                                         double windowS, bool haveWindow) const
{
    std::optional<double> processPct;
    if (haveWindow && self && base.self && clockTicksPerSecond > 0 && self->cpuTicks >= base.self->cpuTicks) {
        const double cpuS = double(self->cpuTicks - base.self->cpuTicks) / double(clockTicksPerSecond);
        // Tick rounding can push a short window a little past what the CPUs can deliver.
        processPct = qMin(cpuS / windowS * 100.0, 100.0 * cores);
    }
    std::optional<double> systemPct;
    if (haveWindow && system && base.system && system->total > base.system->total &&
        system->idle >= base.system->idle) {
        const double total = double(system->total - base.system->total);
        const double idle = double(system->idle - base.system->idle);
        systemPct = qBound(0.0, (total - idle) / total * 100.0, 100.0);
    }
    DiagnosticCategory c = emptyCategory(CpuIndex);
    c.values = {numberValue(QStringLiteral("process_cpu_percent"),
                            QStringLiteral("Process CPU (of one core)"), processPct, Unit::Percent),
                numberValue(QStringLiteral("system_cpu_percent"), QStringLiteral("System CPU"), systemPct,
                            Unit::Percent),
                numberValue(QStringLiteral("cores"), QStringLiteral("Logical CPUs"), double(cores))};
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleMemory() const
{
    std::optional<double> rss, total, available;
#ifdef Q_OS_LINUX
    if (const auto status = readProcFile("/proc/self/status"))
        if (const auto kb = keyedNumber(*status, "VmRSS"))
            rss = double(*kb) * 1024.0;
    if (const auto meminfo = readProcFile("/proc/meminfo")) {
        if (const auto kb = keyedNumber(*meminfo, "MemTotal"))
            total = double(*kb) * 1024.0;
        if (const auto kb = keyedNumber(*meminfo, "MemAvailable"))
            available = double(*kb) * 1024.0;
    }
#endif
    DiagnosticCategory c = emptyCategory(MemoryIndex);
    c.values = {
        numberValue(QStringLiteral("process_rss_bytes"), QStringLiteral("Resident memory"), rss, Unit::Bytes),
        numberValue(QStringLiteral("memory_total_bytes"), QStringLiteral("System memory"), total,
                    Unit::Bytes),
        numberValue(QStringLiteral("memory_available_bytes"), QStringLiteral("Available memory"), available,
                    Unit::Bytes),
        numberValue(QStringLiteral("memory_available_percent"), QStringLiteral("Available memory"),
                    percentOf(available, total), Unit::Percent)};
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleDisk() const
{
    const QString path = dataDir.isEmpty() ? QString() : nearestExisting(dataDir);
    std::optional<double> total, available;
    QString mountPoint, device, fileSystem;
    if (!path.isEmpty()) {
        const QStorageInfo storage(path);
        if (storage.isValid() && storage.isReady() && storage.bytesTotal() > 0) {
            total = double(storage.bytesTotal());
            if (storage.bytesAvailable() >= 0)
                available = double(storage.bytesAvailable());
            mountPoint = storage.rootPath();
            device = QString::fromLocal8Bit(storage.device());
            fileSystem = QString::fromLatin1(storage.fileSystemType());
        }
    }
    DiagnosticCategory c = emptyCategory(DiskIndex);
    c.values = {
        textValue(QStringLiteral("disk_path"), QStringLiteral("Measured directory"), path),
        numberValue(QStringLiteral("disk_total_bytes"), QStringLiteral("Volume size"), total, Unit::Bytes),
        numberValue(QStringLiteral("disk_available_bytes"), QStringLiteral("Available"), available,
                    Unit::Bytes),
        numberValue(QStringLiteral("disk_free_percent"), QStringLiteral("Free"), percentOf(available, total),
                    Unit::Percent),
        textValue(QStringLiteral("mount_point"), QStringLiteral("Mount point"), mountPoint),
        textValue(QStringLiteral("device"), QStringLiteral("Device"), device),
        textValue(QStringLiteral("filesystem"), QStringLiteral("File system"), fileSystem)};
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleNetwork(const std::optional<NetTable> &net,
                                                             double windowS, bool haveWindow) const
{
    DiagnosticCategory c = emptyCategory(NetworkIndex);
    c.values << numberValue(QStringLiteral("interfaces"), QStringLiteral("Interfaces"),
                            net ? std::optional<double>(net->size()) : std::nullopt);
    if (!net)
        return c;
    for (auto it = net->cbegin(); it != net->cend(); ++it) {
        std::optional<double> rx, tx;
        if (haveWindow && base.net && base.net->contains(it.key())) {
            const NetCounters before = base.net->value(it.key());
            // A counter that went backwards means the interface was re-created: no rate.
            if (it->rx >= before.rx)
                rx = double(it->rx - before.rx) / windowS;
            if (it->tx >= before.tx)
                tx = double(it->tx - before.tx) / windowS;
        }
        c.values << numberValue(QStringLiteral("receive_bytes_per_second:") + it.key(),
                                it.key() + QStringLiteral(" receive"), rx, Unit::BytesPerSecond)
                 << numberValue(QStringLiteral("transmit_bytes_per_second:") + it.key(),
                                it.key() + QStringLiteral(" transmit"), tx, Unit::BytesPerSecond);
    }
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleProcess(const std::optional<SelfStat> &self) const
{
    std::optional<double> uptime, threads, fds, limit;
    QString limitText;
#ifdef Q_OS_LINUX
    if (const auto data = readProcFile("/proc/uptime")) {
        const auto systemUptime = toDouble(data->simplified().split(' ').value(0));
        if (systemUptime && self && clockTicksPerSecond > 0)
            uptime = qMax(0.0, *systemUptime - double(self->startTicks) / double(clockTicksPerSecond));
    }
    if (const auto status = readProcFile("/proc/self/status"))
        if (const auto n = keyedNumber(*status, "Threads"))
            threads = double(*n);
    if (const auto n = countOpenFds())
        fds = double(*n);
#else
    Q_UNUSED(self);
#endif
    std::optional<double> usage;
#ifdef Q_OS_UNIX
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur == RLIM_INFINITY) {
            limitText = QStringLiteral("unlimited");
            if (fds)
                usage = 0.0;
        } else {
            limit = double(rl.rlim_cur);
            usage = percentOf(fds, limit);
        }
    }
#endif
    DiagnosticCategory c = emptyCategory(ProcessIndex);
    DiagnosticValue limitValue =
        numberValue(QStringLiteral("fd_limit"), QStringLiteral("Open file limit (soft)"), limit);
    limitValue.text = limitText;
    c.values = {
        numberValue(QStringLiteral("pid"), QStringLiteral("Process id"),
                    double(QCoreApplication::applicationPid())),
        numberValue(QStringLiteral("uptime_seconds"), QStringLiteral("Uptime"), uptime, Unit::Seconds),
        numberValue(QStringLiteral("threads"), QStringLiteral("Threads"), threads),
        numberValue(QStringLiteral("open_fds"), QStringLiteral("Open file descriptors"), fds),
        limitValue,
        numberValue(QStringLiteral("fd_usage_percent"), QStringLiteral("Open files (of limit)"), usage,
                    Unit::Percent)};
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleEventLoop() const
{
    std::optional<double> p50, p99, max, over100, over1s, stalled, current;
    if (monitor) {
        const EventLoopSummary s = monitor->summary();
        // An empty histogram has no lag to report yet (e.g. right after a reset).
        if (s.lagNs.count > 0) {
            p50 = s.lagNs.p50 / 1e6;
            p99 = s.lagNs.p99 / 1e6;
            max = double(s.lagNs.max) / 1e6;
        }
        over100 = double(s.stallsOver100ms);
        over1s = double(s.stallsOver1s);
        stalled = s.stalledNow ? 1.0 : 0.0;
        current = s.stalledNow ? std::optional<double>(s.currentStallMs) : std::optional<double>(0.0);
    }
    DiagnosticCategory c = emptyCategory(EventLoopIndex);
    c.values = {
        numberValue(QStringLiteral("lag_p50_ms"), QStringLiteral("Lag p50"), p50, Unit::Milliseconds),
        numberValue(QStringLiteral("lag_p99_ms"), QStringLiteral("Lag p99"), p99, Unit::Milliseconds),
        numberValue(QStringLiteral("lag_max_ms"), QStringLiteral("Lag max"), max, Unit::Milliseconds),
        numberValue(QStringLiteral("stalls_over_100ms"), QStringLiteral("Stalls over 100 ms"), over100),
        numberValue(QStringLiteral("stalls_over_1s"), QStringLiteral("Stalls over 1 s"), over1s),
        numberValue(QStringLiteral("stalled_now"), QStringLiteral("Stalled now"), stalled),
        numberValue(QStringLiteral("current_stall_ms"), QStringLiteral("Current stall"), current,
                    Unit::Milliseconds)};
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleRuntime() const
{
    DiagnosticCategory c = emptyCategory(RuntimeIndex);
    c.values = {
        textValue(QStringLiteral("qt_version"), QStringLiteral("Qt (running)"),
                  QString::fromLatin1(qVersion())),
        textValue(QStringLiteral("qt_build_version"), QStringLiteral("Qt (built with)"),
                  QStringLiteral(QT_VERSION_STR)),
        textValue(QStringLiteral("platform"), QStringLiteral("Platform"), QSysInfo::prettyProductName()),
        textValue(QStringLiteral("kernel"), QStringLiteral("Kernel"),
                  QSysInfo::kernelType() + QLatin1Char(' ') + QSysInfo::kernelVersion()),
        textValue(QStringLiteral("cpu_architecture"), QStringLiteral("CPU architecture"),
                  QSysInfo::currentCpuArchitecture()),
        textValue(QStringLiteral("compiler"), QStringLiteral("Compiler"), compilerName()),
        textValue(QStringLiteral("build_type"), QStringLiteral("Build type"), buildType())};
    return c;
}

DiagnosticCategory SystemDiagnostics::Private::sampleLoad() const
{
    std::optional<double> l1, l5, l15;
#ifdef Q_OS_LINUX
    if (const auto data = readProcFile("/proc/loadavg")) {
        const QList<QByteArray> f = data->simplified().split(' ');
        if (f.size() >= 3) {
            l1 = toDouble(f.at(0));
            l5 = toDouble(f.at(1));
            l15 = toDouble(f.at(2));
        }
    }
#endif
    std::optional<double> perCore;
    if (l1 && cores > 0)
        perCore = *l1 / cores;
    DiagnosticCategory c = emptyCategory(LoadIndex);
    c.values = {
        numberValue(QStringLiteral("load_1m"), QStringLiteral("Load (1 min)"), l1),
        numberValue(QStringLiteral("load_5m"), QStringLiteral("Load (5 min)"), l5),
        numberValue(QStringLiteral("load_15m"), QStringLiteral("Load (15 min)"), l15),
        numberValue(QStringLiteral("load_per_core"), QStringLiteral("Load per core (1 min)"), perCore)};
    return c;
}

void SystemDiagnostics::Private::setGauge(const QString &name, const Labels &labels, const QString &help,
                                          Unit unit, const DiagnosticValue *v)
{
    // Created on first availability, so an unreadable value never shows up as 0.
    if (registry && v && v->available)
        registry->gauge(name, labels, help, unit)->set(v->number);
}

void SystemDiagnostics::Private::publish(const DiagnosticsReport &report)
{
    if (!registry)
        return;
    const auto value = [&report](const char *category, const QString &key) {
        const DiagnosticCategory *c = report.category(QLatin1String(category));
        return c ? c->value(key) : nullptr;
    };
    const QString scope = QStringLiteral("scope");
    const QString cpuHelp = QStringLiteral("CPU use: process as % of one core, system as % of all cores");
    setGauge(QStringLiteral("system_cpu_percent"), {{scope, QStringLiteral("process")}}, cpuHelp,
             Unit::Percent, value("cpu", QStringLiteral("process_cpu_percent")));
    setGauge(QStringLiteral("system_cpu_percent"), {{scope, QStringLiteral("system")}}, cpuHelp,
             Unit::Percent, value("cpu", QStringLiteral("system_cpu_percent")));
    setGauge(QStringLiteral("process_rss_bytes"), {}, QStringLiteral("Resident memory of this process"),
             Unit::Bytes, value("memory", QStringLiteral("process_rss_bytes")));
    setGauge(QStringLiteral("system_memory_total_bytes"), {}, QStringLiteral("Total system memory"),
             Unit::Bytes, value("memory", QStringLiteral("memory_total_bytes")));
    setGauge(QStringLiteral("system_memory_available_bytes"), {}, QStringLiteral("Available system memory"),
             Unit::Bytes, value("memory", QStringLiteral("memory_available_bytes")));
    setGauge(QStringLiteral("disk_total_bytes"), {}, QStringLiteral("Size of the data directory's volume"),
             Unit::Bytes, value("disk", QStringLiteral("disk_total_bytes")));
    setGauge(QStringLiteral("disk_available_bytes"), {}, QStringLiteral("Space available on the data volume"),
             Unit::Bytes, value("disk", QStringLiteral("disk_available_bytes")));
    setGauge(QStringLiteral("process_threads"), {}, QStringLiteral("Threads of this process"), Unit::None,
             value("process", QStringLiteral("threads")));
    setGauge(QStringLiteral("process_open_fds"), {}, QStringLiteral("Open file descriptors"), Unit::None,
             value("process", QStringLiteral("open_fds")));
    setGauge(QStringLiteral("process_uptime_seconds"), {},
             QStringLiteral("Seconds since the process started"), Unit::Seconds,
             value("process", QStringLiteral("uptime_seconds")));
    const QString period = QStringLiteral("period");
    const QString loadHelp = QStringLiteral("System load average");
    setGauge(QStringLiteral("system_load_average"), {{period, QStringLiteral("1m")}}, loadHelp, Unit::None,
             value("load", QStringLiteral("load_1m")));
    setGauge(QStringLiteral("system_load_average"), {{period, QStringLiteral("5m")}}, loadHelp, Unit::None,
             value("load", QStringLiteral("load_5m")));
    setGauge(QStringLiteral("system_load_average"), {{period, QStringLiteral("15m")}}, loadHelp, Unit::None,
             value("load", QStringLiteral("load_15m")));

    const QString rxPrefix = QStringLiteral("receive_bytes_per_second:");
    const QString txPrefix = QStringLiteral("transmit_bytes_per_second:");
    const QString iface = QStringLiteral("interface");
    if (const DiagnosticCategory *net = report.category(QStringLiteral("network"))) {
        for (const DiagnosticValue &v : net->values) {
            if (v.key.startsWith(rxPrefix))
                setGauge(QStringLiteral("network_receive_bytes_per_second"),
                         {{iface, v.key.mid(rxPrefix.size())}}, QStringLiteral("Bytes received per second"),
                         Unit::BytesPerSecond, &v);
            else if (v.key.startsWith(txPrefix))
                setGauge(QStringLiteral("network_transmit_bytes_per_second"),
                         {{iface, v.key.mid(txPrefix.size())}},
                         QStringLiteral("Bytes transmitted per second"), Unit::BytesPerSecond, &v);
        }
    }
}

// ---- SystemDiagnostics ----

SystemDiagnostics::SystemDiagnostics(MetricsRegistry *registry, const DiagnosticsConfig &config,
                                     const QString &dataDir, EventLoopMonitor *loopMonitor, QObject *parent)
    : QObject(parent), d(std::make_unique<Private>(this, registry, config, dataDir, loopMonitor))
{
    qRegisterMetaType<vega::DiagnosticsReport>();
}

SystemDiagnostics::~SystemDiagnostics()
{
    stop();
}

void SystemDiagnostics::start()
{
    if (d->thread)
        return;
    d->thread = std::make_unique<QThread>();
    d->thread->setObjectName(QStringLiteral("vega-diagnostics"));
    Private *dp = d.get();
    d->worker = std::make_unique<IntervalWorker>(qMax(d->config.intervalMs, kMinIntervalMs),
                                                 [dp] { dp->timerTick(); });
    d->worker->moveToThread(d->thread.get());
    d->thread->start();
    QMetaObject::invokeMethod(d->worker.get(), &IntervalWorker::begin, Qt::QueuedConnection);
}

void SystemDiagnostics::stop()
{
    if (!d->thread)
        return;
    QMetaObject::invokeMethod(d->worker.get(), &IntervalWorker::end, Qt::QueuedConnection);
    d->thread->wait();
    // The thread has finished, so nothing can be delivering events to the worker.
    d->worker.reset();
    d->thread.reset();
}

bool SystemDiagnostics::isRunning() const
{
    return d->thread != nullptr;
}

DiagnosticsReport SystemDiagnostics::latest() const
{
    QMutexLocker lock(&d->latestMutex);
    return d->latest;
}

DiagnosticsReport SystemDiagnostics::sampleNow()
{
    return d->sample();
}

} // namespace vega
