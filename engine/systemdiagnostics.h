#pragma once

#include "config.h"
#include "metrics.h"

#include <QList>
#include <QObject>
#include <QString>
#include <QVariant>

#include <memory>

namespace vega {

class EventLoopMonitor;

/// Ordered from "nothing known" to worst; see overallHealth() for how Unknown combines.
enum class Health { Unknown, Ok, Warning, Critical };
/// Stable lowercase id: "unknown", "ok", "warning", "critical".
QString healthName(Health h);

/// One reading. When the platform cannot provide it, `available` is false and `value` is
/// meaningless: it is reported as unavailable, never faked.
struct DiagnosticValue {
    QString key;   // stable id, e.g. "rss_bytes"
    QString label; // for people, e.g. "Resident memory"
    double number = 0;
    QString text; // for textual values (versions, platform); empty for numbers
    Unit unit = Unit::None;
    bool available = true;
};

/**
 * One graded area. Value keys per category (all numbers unless marked text):
 *  - cpu: process_cpu_percent (% of one core), system_cpu_percent (% of the machine), cores
 *  - memory: process_rss_bytes, memory_total_bytes, memory_available_bytes,
 *    memory_available_percent
 *  - disk: disk_path (text: the directory measured), disk_total_bytes, disk_available_bytes,
 *    disk_free_percent, mount_point (text), device (text), filesystem (text)
 *  - network: interfaces (count), then per interface receive_bytes_per_second:<name> and
 *    transmit_bytes_per_second:<name>
 *  - process: pid, uptime_seconds, threads, open_fds, fd_limit, fd_usage_percent
 *  - event_loop: lag_p50_ms, lag_p99_ms, lag_max_ms, stalls_over_100ms, stalls_over_1s,
 *    stalled_now (0/1), current_stall_ms
 *  - runtime (text): qt_version, qt_build_version, platform, kernel, cpu_architecture,
 *    compiler, build_type
 *  - load: load_1m, load_5m, load_15m, load_per_core (1-minute load / cores)
 *
 * Rates (CPU, network) need two samples at least 50 ms apart; until then they are
 * unavailable.
 */
struct DiagnosticCategory {
    QString id;    // cpu, memory, disk, network, process, event_loop, runtime, load
    QString title; // CPU, Memory, ...
    Health health = Health::Unknown;
    QString reason; // why this health, e.g. "process CPU 91.0% ≥ warning 80%"
    QList<DiagnosticValue> values;

    const DiagnosticValue *value(const QString &key) const;
};

struct DiagnosticsReport {
    qint64 wallMs = 0;
    Health overall = Health::Unknown;     // worst of the categories
    QList<DiagnosticCategory> categories; // the eight below in a fixed order; Engine snapshots add "database"

    const DiagnosticCategory *category(const QString &id) const;
};

/// Which side of a threshold is bad.
enum class Direction { HigherIsWorse, LowerIsWorse };

/// Grades one reading: Warning at or beyond `warning`, Critical at or beyond `critical`
/// ("beyond" is below for LowerIsWorse). Unknown when the reading is not available.
Health gradeReading(double value, bool available, const Threshold &threshold,
                    Direction direction = Direction::HigherIsWorse);

/**
 * Sets `health` and `reason` of a category from its values alone (see DiagnosticCategory for
 * the keys) and the thresholds; pure, so it can be driven with synthetic readings.
 *
 * Several checks in one category: the worst wins, and an unavailable key value makes the
 * category Unknown unless another check is Warning or Critical. event_loop is Critical while
 * a stall is ongoing; network and runtime are Ok when readable.
 */
DiagnosticCategory gradeCategory(DiagnosticCategory category, const DiagnosticsConfig &config);

/// The worst of the categories' health, where Unknown never beats a known grade: Unknown only
/// when no category is known.
Health overallHealth(const QList<DiagnosticCategory> &categories);

/**
 * Samples the system and the process on a timer, on a worker thread (reading /proc must
 * not cost the GUI loop), and grades each of eight categories against the configured
 * thresholds. Linux reads /proc; elsewhere values are reported unavailable.
 *
 * Publishes gauges: system_cpu_percent{scope=process|system}, process_rss_bytes,
 * system_memory_total_bytes, system_memory_available_bytes, disk_total_bytes,
 * disk_available_bytes, network_receive_bytes_per_second{interface},
 * network_transmit_bytes_per_second{interface}, process_threads, process_open_fds,
 * process_uptime_seconds, system_load_average{period=1m|5m|15m}. A gauge is created the
 * first time its reading is available, so no gauge ever shows a made-up zero.
 */
class SystemDiagnostics : public QObject {
    Q_OBJECT
public:
    /// `registry` may be null (no gauges are published); `loopMonitor` may be null (the
    /// event_loop category is then Unknown). The monitor must outlive this object.
    SystemDiagnostics(MetricsRegistry *registry, const DiagnosticsConfig &config, const QString &dataDir,
                      EventLoopMonitor *loopMonitor = nullptr, QObject *parent = nullptr);
    ~SystemDiagnostics() override;

    /// Starts the worker thread: one sample right away, then one per interval
    /// (DiagnosticsConfig::intervalMs, at least 100 ms). Does nothing when already running.
    void start();
    /// Stops the timer, quits and waits for the worker thread. Safe when not running.
    void stop();
    bool isRunning() const;

    /// The latest graded report (thread-safe). Before the first sample every category is
    /// Unknown.
    DiagnosticsReport latest() const;

    /// Takes one sample synchronously on the calling thread (for tests and the CLI). It
    /// updates latest() and the gauges but does not emit reportAvailable. Shares the rate
    /// baselines with the timer, so two calls give CPU and network rates.
    DiagnosticsReport sampleNow();

Q_SIGNALS:
    /// Emitted on this object's thread after each timer-driven sample.
    void reportAvailable(const vega::DiagnosticsReport &report);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::DiagnosticsReport)
