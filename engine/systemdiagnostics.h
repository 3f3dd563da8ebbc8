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

enum class Health { Unknown, Ok, Warning, Critical };
QString healthName(Health h);

/// One reading. When the platform cannot provide it, `available` is false and `value` is
/// meaningless: it is reported as unavailable, never faked.
struct DiagnosticValue {
    QString key;   // stable id, e.g. "rss_bytes"
    QString label; // for people, e.g. "Resident memory"
    double number = 0;
    QString text;  // for textual values (versions, platform); empty for numbers
    Unit unit = Unit::None;
    bool available = true;
};

struct DiagnosticCategory {
    QString id;    // cpu, memory, disk, network, process, event_loop, runtime, load
    QString title; // CPU, Memory, ...
    Health health = Health::Unknown;
    QString reason; // why this health, e.g. "process CPU 91% >= warning 80%"
    QList<DiagnosticValue> values;

    const DiagnosticValue *value(const QString &key) const;
};

struct DiagnosticsReport {
    qint64 wallMs = 0;
    Health overall = Health::Unknown; // worst of the categories
    QList<DiagnosticCategory> categories; // always the eight, in a fixed order

    const DiagnosticCategory *category(const QString &id) const;
};

/**
 * Samples the system and the process on a timer, on a worker thread (reading /proc must
 * not cost the GUI loop), and grades each of eight categories against the configured
 * thresholds. Linux reads /proc; elsewhere values are reported unavailable.
 *
 * Publishes gauges: system_cpu_percent{scope=process|system}, process_rss_bytes,
 * system_memory_total_bytes, system_memory_available_bytes, disk_total_bytes,
 * disk_available_bytes, network_receive_bytes_per_second{interface},
 * network_transmit_bytes_per_second{interface}, process_threads, process_open_fds,
 * process_uptime_seconds, system_load_average{period=1m|5m|15m}.
 */
class SystemDiagnostics : public QObject {
    Q_OBJECT
public:
    SystemDiagnostics(MetricsRegistry *registry, const DiagnosticsConfig &config, const QString &dataDir,
                      EventLoopMonitor *loopMonitor = nullptr, QObject *parent = nullptr);
    ~SystemDiagnostics() override;

    void start();
    void stop();

    /// The latest graded report (thread-safe). Before the first sample every category is
    /// Unknown.
    DiagnosticsReport latest() const;

    /// Takes one sample synchronously on the calling thread (for tests and the CLI).
    DiagnosticsReport sampleNow();

Q_SIGNALS:
    void reportAvailable(const vega::DiagnosticsReport &report);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::DiagnosticsReport)
