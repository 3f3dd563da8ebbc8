#pragma once

#include "config.h"

#include <QList>
#include <QObject>
#include <QString>

#include <memory>
#include <vector>

namespace vega {

class MetricsRegistry;

/// The outcome of one validation run. Findings reuse ConfigFinding: severity, file, JSON
/// path, line/column when known, the value (secrets redacted: an auth.token is shown only
/// when it is a pure ${NAME} reference) and the message.
struct ValidationReport {
    QString configPath; // empty when an in-memory configuration was checked
    qint64 startedWallMs = 0;
    qint64 durationMs = 0;
    int hostsLookedUp = 0;
    /// Errors first, then warnings, then info; in file order within each.
    QList<ConfigFinding> findings;

    int errorCount() const;
    int warningCount() const;
    bool ok() const { return errorCount() == 0; }
};

/**
 * Validates a configuration on demand, beyond what loading checks, without blocking the
 * event loop of the thread it lives on.
 *
 * A run:
 *  1. re-runs the loader's schema checks (types, ranges, unknown keys, ordering of
 *     thresholds and of retry/breaker/timeout pairs): from the file when a path is given, so
 *     a file edited since it was loaded is checked as it is now; otherwise on the given
 *     configuration;
 *  2. checks what the schema cannot: integration URLs parse (http/https with a host, port in
 *     1-65535; database URLs), referenced environment variables are set, referenced files
 *     and directories exist or can be created (a database integration's SQLite file and its
 *     directory, the storage database's directory, the data directory), and TLS sanity (an
 *     auth token sent over plain http to a host that is not loopback is a warning);
 *  3. resolves every host name the configuration names (integrations, a PostgreSQL storage
 *     host, http.hosts keys) with QHostInfo, all in parallel, bounded by the lookup timeout
 *     (default 3 s for the whole run): a name that does not exist is an error, a lookup that
 *     fails otherwise or does not finish in time is a warning.
 * Steps 1 and 2 run on a short-lived worker thread (file reads and stat calls stay off the
 * caller's loop); lookups are asynchronous. Each run ends with finished() and, when a
 * registry is given, the journal event ("validation", "config", "N errors, M warnings").
 * Runs are independent: several may be in progress at once.
 */
class ConfigValidator : public QObject {
    Q_OBJECT
public:
    explicit ConfigValidator(MetricsRegistry *registry = nullptr, QObject *parent = nullptr);
    ~ConfigValidator() override;

    /// The data directory the engine uses (checked to exist or be creatable, and used for
    /// a relative storage URL). Empty: not checked.
    void setDataDir(const QString &dir) { m_dataDir = dir; }
    /// Bound on all host name lookups of one run (milliseconds, at least 1).
    void setLookupTimeoutMs(int ms) { m_lookupTimeoutMs = ms < 1 ? 1 : ms; }
    int lookupTimeoutMs() const { return m_lookupTimeoutMs; }
    /// Whether runs resolve host names (default true; off for machines without DNS).
    void setHostLookups(bool enabled) { m_hostLookups = enabled; }

    /// Starts a run; returns at once. `configPath` empty: checks `config` itself.
    void run(const EngineConfig &config, const QString &configPath = {});
    /// Runs in progress.
    int activeRuns() const { return int(m_runs.size()); }

Q_SIGNALS:
    void finished(const vega::ValidationReport &report);

private:
    struct Run;
    void lookUp(Run *run);
    void complete(Run *run);

    MetricsRegistry *m_registry;
    QString m_dataDir;
    int m_lookupTimeoutMs = 3000;
    bool m_hostLookups = true;
    std::vector<std::unique_ptr<Run>> m_runs;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::ValidationReport)
