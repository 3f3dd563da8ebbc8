#include "configvalidator.h"

#include "database.h"
#include "metrics.h"

#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QHostAddress>
#include <QHostInfo>
#include <QJsonDocument>
#include <QMap>
#include <QSet>
#include <QThread>
#include <QTimer>
#include <QUrl>

#include <algorithm>
#include <limits>
#include <utility>

namespace vega {

int ValidationReport::errorCount() const
{
    return int(std::count_if(findings.begin(), findings.end(),
                             [](const ConfigFinding &f) { return f.severity == Severity::Error; }));
}

int ValidationReport::warningCount() const
{
    return int(std::count_if(findings.begin(), findings.end(),
                             [](const ConfigFinding &f) { return f.severity == Severity::Warning; }));
}

namespace {

const QString kInMemory = QStringLiteral("(configuration in memory)");

bool isLoopbackHost(const QString &host)
{
    const QString h = host.toLower();
    if (h == QLatin1String("localhost") || h.endsWith(QLatin1String(".localhost")))
        return true;
    QHostAddress address;
    return address.setAddress(h) && address.isLoopback();
}

/// The static part of a run: schema, URLs, variables, files. Runs on a worker thread, so
/// it touches nothing but its own data.
class StaticChecks {
public:
    StaticChecks(QString file, QHash<QString, QPair<int, int>> positions)
        : m_file(std::move(file)), m_positions(std::move(positions))
    {
    }

    void add(Severity severity, const QString &path, const QString &value, const QString &message)
    {
        ConfigFinding f;
        f.severity = severity;
        f.file = m_file;
        f.path = path;
        const auto pos = m_positions.value(path, {0, 0});
        f.line = pos.first;
        f.column = pos.second;
        f.value = value;
        f.message = message;
        findings.append(f);
    }

    void hostNamed(const QString &host, const QString &path)
    {
        if (host.isEmpty())
            return;
        QStringList &paths = hosts[host.toLower()];
        if (!paths.contains(path))
            paths.append(path);
    }

    // A directory the program will write into: it exists and is writable, or can be made.
    void checkWritableDirectory(const QString &dir, const QString &path, const QString &what)
    {
        const QFileInfo info(dir);
        if (info.exists()) {
            if (!info.isDir())
                add(Severity::Error, path, QString(), QStringLiteral("%1 %2 is not a directory").arg(what, dir));
            else if (!info.isWritable())
                add(Severity::Error, path, QString(), QStringLiteral("%1 %2 is not writable").arg(what, dir));
            return;
        }
        // The nearest thing that exists above it decides whether it can be made.
        QString ancestor = QDir::cleanPath(QDir(dir).absolutePath());
        while (!QFileInfo::exists(ancestor)) {
            const QString up = QFileInfo(ancestor).path();
            if (up == ancestor)
                break;
            ancestor = up;
        }
        const QFileInfo parent(ancestor);
        if (!parent.isDir())
            add(Severity::Error, path, QString(),
                QStringLiteral("%1 %2 does not exist and cannot be created (%3 is not a directory)")
                    .arg(what, dir, ancestor));
        else if (!parent.isWritable())
            add(Severity::Error, path, QString(),
                QStringLiteral("%1 %2 does not exist and cannot be created (%3 is not writable)")
                    .arg(what, dir, ancestor));
    }

    void checkStorage(const EngineConfig &config, const QString &dataDir)
    {
        const StorageConfig &s = config.storage;
        if (!s.enabled)
            return;
        const bool relative = s.url.isEmpty() || !QDir::isAbsolutePath(s.url.section(QLatin1Char(':'), -1));
        if (dataDir.isEmpty() && relative && !s.url.startsWith(QLatin1String("postgres")))
            return; // resolved against a data directory nobody named
        const DatabaseLocationResult parsed = parseDatabaseUrl(s.url, dataDir, s.passwordEnv);
        const QString path = QStringLiteral("$.storage.url");
        if (!parsed.ok()) {
            add(Severity::Error, path, QString(), parsed.error);
            return;
        }
        const DatabaseLocation &loc = parsed.location;
        if (loc.dialect == DatabaseDialect::Sqlite) {
            const QFileInfo file(loc.path);
            if (file.exists() && !file.isFile())
                add(Severity::Error, path, QString(),
                    QStringLiteral("the storage database %1 is not a regular file").arg(loc.path));
            else
                checkWritableDirectory(file.absolutePath(), path, QStringLiteral("the storage database's directory"));
            return;
        }
        hostNamed(loc.host, path);
        if (!qEnvironmentVariableIsSet(loc.passwordEnv.toLocal8Bit().constData()))
            add(Severity::Warning, QStringLiteral("$.storage.password_env"), QString(),
                QStringLiteral("environment variable %1 is not set (the PostgreSQL password)").arg(loc.passwordEnv));
    }

    void checkIntegration(const IntegrationConfig &c)
    {
        const QString prefix = QStringLiteral("$.integrations.") + c.name;
        const QString urlPath = prefix + QStringLiteral(".url");
        const QString tokenPath = prefix + QStringLiteral(".auth.token");
        const QString tokenShown = redactSecret(c.authToken);
        bool urlUsable = true;
        const QList<std::pair<QString, QString>> strings = {
            {QStringLiteral(".url"), c.url},
            {QStringLiteral(".health.path"), c.healthPath},
            {QStringLiteral(".auth.token"), c.authToken}};
        for (const auto &[key, value] : strings) {
            QStringList missing;
            expandEnvironment(value, &missing);
            for (const QString &name : std::as_const(missing))
                add(Severity::Warning, prefix + key, key == QLatin1String(".auth.token") ? tokenShown : value,
                    QStringLiteral("environment variable %1 is not set").arg(name));
            if (key == QLatin1String(".url") && !missing.isEmpty())
                urlUsable = false;
        }
        if (!c.authToken.isEmpty() && !isPureEnvironmentReference(c.authToken))
            add(Severity::Warning, tokenPath, tokenShown,
                QStringLiteral("the secret is written in the file; reference an environment variable instead "
                               "(\"${NAME}\")"));
        if (!urlUsable)
            return;
        const QString url = expandEnvironment(c.url);
        const QString token = expandEnvironment(c.authToken);
        const QString problem = integrationUrlProblem(c.kind, url);
        if (!problem.isEmpty()) {
            add(Severity::Error, urlPath, problem.contains(QLatin1String("password")) ? QString() : redactUrlPassword(c.url),
                problem);
            return;
        }
        if (c.kind == IntegrationKind::Database) {
            const DatabaseLocationResult parsed = parseDatabaseUrl(url, QString());
            if (!parsed.ok())
                return; // integrationUrlProblem() reported it
            const DatabaseLocation &loc = parsed.location;
            if (loc.dialect == DatabaseDialect::Postgres) {
                hostNamed(loc.host, urlPath);
                return;
            }
            const QFileInfo file(loc.path);
            if (!file.absoluteDir().exists())
                add(Severity::Error, urlPath, c.url,
                    QStringLiteral("the directory %1 of the SQLite file does not exist").arg(file.absolutePath()));
            else if (!file.exists())
                add(Severity::Warning, urlPath, c.url,
                    QStringLiteral("the SQLite file %1 does not exist; its health check fails until it does")
                        .arg(loc.path));
            else if (!file.isFile())
                add(Severity::Error, urlPath, c.url, QStringLiteral("%1 is not a regular file").arg(loc.path));
            else if (!file.isReadable())
                add(Severity::Error, urlPath, c.url, QStringLiteral("the SQLite file %1 is not readable").arg(loc.path));
            return;
        }
        const QUrl u(url, QUrl::StrictMode);
        hostNamed(u.host(), urlPath);
        if (u.scheme().toLower() == QLatin1String("http") && !token.isEmpty() && !isLoopbackHost(u.host()))
            add(Severity::Warning, tokenPath, tokenShown,
                QStringLiteral("token sent unencrypted: plain http to %1, which is not a loopback host; use https")
                    .arg(u.host()));
    }

    QList<ConfigFinding> findings;
    QMap<QString, QStringList> hosts; // host name -> JSON paths naming it

private:
    QString m_file;
    QHash<QString, QPair<int, int>> m_positions;
};

struct StaticOutcome {
    QList<ConfigFinding> findings;
    QMap<QString, QStringList> hosts;            // host name -> JSON paths naming it
    QHash<QString, QPair<int, int>> positions;   // JSON path -> line/column in the file
};

StaticOutcome runStaticChecks(const EngineConfig &given, const QString &configPath, const QString &dataDir)
{
    StaticOutcome out;
    EngineConfig config = given;
    QHash<QString, QPair<int, int>> positions;
    QList<ConfigFinding> schemaFindings;
    if (!configPath.isEmpty()) {
        const ConfigLoadResult loaded = ConfigLoader::loadFile(configPath);
        schemaFindings = loaded.findings;
        // Unreadable or not JSON: nothing more can be said about its content.
        const bool unparsable = std::any_of(loaded.findings.begin(), loaded.findings.end(), [](const ConfigFinding &f) {
            return f.severity == Severity::Error && f.path.isEmpty();
        });
        if (unparsable) {
            out.findings = schemaFindings;
            return out;
        }
        config = loaded.config;
        positions = loaded.positions;
    } else {
        // The loader's checks, on the configuration as it would be written. Secrets are
        // redacted in that text, so findings about auth.token come from the checks below.
        const QByteArray text = QJsonDocument(ConfigLoader::toJson(given)).toJson();
        for (ConfigFinding f : ConfigLoader::loadText(text, kInMemory).findings) {
            if (f.path.endsWith(QLatin1String(".auth.token")))
                continue;
            f.line = 0;
            f.column = 0;
            schemaFindings.append(f);
        }
    }
    StaticChecks checks(configPath.isEmpty() ? kInMemory : configPath, positions);
    if (!dataDir.isEmpty())
        checks.checkWritableDirectory(dataDir, QString(), QStringLiteral("the data directory"));
    checks.checkStorage(config, dataDir);
    for (auto it = config.http.hosts.constBegin(); it != config.http.hosts.constEnd(); ++it) {
        QString host = it.key();
        if (host.startsWith(QLatin1Char('['))) {
            host = host.mid(1, host.indexOf(QLatin1Char(']')) - 1);
        } else if (host.count(QLatin1Char(':')) == 1) {
            host = host.section(QLatin1Char(':'), 0, 0);
        }
        checks.hostNamed(host, QStringLiteral("$.http.hosts.") + it.key());
    }
    for (const IntegrationConfig &c : config.integrations)
        checks.checkIntegration(c);

    // The same problem may be found by the loader and by the checks above: keep the first.
    QSet<QString> seen;
    for (const ConfigFinding &f : schemaFindings + checks.findings) {
        const QString key = severityName(f.severity) + QLatin1Char('\n') + f.path + QLatin1Char('\n') + f.message;
        if (seen.contains(key))
            continue;
        seen.insert(key);
        out.findings.append(f);
    }
    out.hosts = checks.hosts;
    out.positions = positions;
    return out;
}

} // namespace

struct ConfigValidator::Run {
    QObject context; // lookups and the timer die with it
    std::unique_ptr<QThread> thread;
    EngineConfig config;
    QString configPath;
    QString dataDir;
    StaticOutcome outcome; // written by the thread, read once it has finished
    QHash<int, QString> pending; // lookup id -> host
    QTimer deadline;
    QElapsedTimer elapsed;
    ValidationReport report;
    bool done = false;
};

ConfigValidator::ConfigValidator(MetricsRegistry *registry, QObject *parent) : QObject(parent), m_registry(registry)
{
    qRegisterMetaType<vega::ValidationReport>();
}

ConfigValidator::~ConfigValidator()
{
    for (auto &run : m_runs) {
        if (run->thread)
            run->thread->wait(); // file checks only: short
        for (auto it = run->pending.constBegin(); it != run->pending.constEnd(); ++it)
            QHostInfo::abortHostLookup(it.key());
    }
}

void ConfigValidator::run(const EngineConfig &config, const QString &configPath)
{
    auto owned = std::make_unique<Run>();
    Run *r = owned.get();
    m_runs.push_back(std::move(owned));
    r->config = config;
    r->configPath = configPath;
    r->dataDir = m_dataDir;
    r->report.configPath = configPath;
    r->report.startedWallMs = QDateTime::currentMSecsSinceEpoch();
    r->elapsed.start();
    r->thread.reset(QThread::create([r] { r->outcome = runStaticChecks(r->config, r->configPath, r->dataDir); }));
    r->thread->setObjectName(QStringLiteral("vega-config-validator"));
    connect(r->thread.get(), &QThread::finished, &r->context, [this, r] { lookUp(r); });
    r->thread->start();
}

void ConfigValidator::lookUp(Run *r)
{
    r->thread->wait();
    r->report.findings = r->outcome.findings;
    for (auto it = r->outcome.hosts.constBegin(); m_hostLookups && it != r->outcome.hosts.constEnd(); ++it) {
        QHostAddress literal;
        if (literal.setAddress(it.key()))
            continue; // an address needs no lookup
        ++r->report.hostsLookedUp;
        const QString host = it.key();
        const QStringList paths = it.value();
        const int id = QHostInfo::lookupHost(host, &r->context, [this, r, host, paths](const QHostInfo &info) {
            r->pending.remove(info.lookupId());
            for (const QString &path : paths) {
                ConfigFinding f;
                f.file = r->configPath.isEmpty() ? kInMemory : r->configPath;
                f.path = path;
                f.line = r->outcome.positions.value(path).first;
                f.column = r->outcome.positions.value(path).second;
                f.value = host;
                if (info.error() == QHostInfo::HostNotFound) {
                    f.severity = Severity::Error;
                    f.message = QStringLiteral("host name %1 does not resolve (no such host)").arg(host);
                } else if (info.error() != QHostInfo::NoError || info.addresses().isEmpty()) {
                    f.severity = Severity::Warning;
                    f.message = QStringLiteral("host name %1 could not be resolved: %2").arg(host, info.errorString());
                } else {
                    continue;
                }
                r->report.findings.append(f);
            }
            if (r->pending.isEmpty())
                complete(r);
        });
        r->pending.insert(id, host);
    }
    if (r->pending.isEmpty()) {
        complete(r);
        return;
    }
    r->deadline.setSingleShot(true);
    connect(&r->deadline, &QTimer::timeout, &r->context, [this, r] {
        for (auto it = r->pending.constBegin(); it != r->pending.constEnd(); ++it) {
            QHostInfo::abortHostLookup(it.key());
            for (const QString &path : r->outcome.hosts.value(it.value())) {
                ConfigFinding f;
                f.severity = Severity::Warning;
                f.file = r->configPath.isEmpty() ? kInMemory : r->configPath;
                f.path = path;
                f.line = r->outcome.positions.value(path).first;
                f.column = r->outcome.positions.value(path).second;
                f.value = it.value();
                f.message = QStringLiteral("host name %1 did not resolve within %2 ms (lookup timed out)")
                                .arg(it.value())
                                .arg(m_lookupTimeoutMs);
                r->report.findings.append(f);
            }
        }
        r->pending.clear();
        complete(r);
    });
    r->deadline.start(m_lookupTimeoutMs);
}

void ConfigValidator::complete(Run *r)
{
    if (r->done)
        return;
    r->done = true;
    r->deadline.stop();
    // Errors first; within a severity in file order, findings without a position last.
    const auto line = [](const ConfigFinding &f) { return f.line > 0 ? f.line : std::numeric_limits<int>::max(); };
    std::stable_sort(r->report.findings.begin(), r->report.findings.end(),
                     [line](const ConfigFinding &a, const ConfigFinding &b) {
                         if (a.severity != b.severity)
                             return int(a.severity) > int(b.severity);
                         return line(a) < line(b);
                     });
    r->report.durationMs = r->elapsed.elapsed();
    const ValidationReport report = r->report;
    if (m_registry)
        m_registry->recordEvent(QStringLiteral("validation"), QStringLiteral("config"),
                                QStringLiteral("%1 errors, %2 warnings").arg(report.errorCount()).arg(report.warningCount()),
                                double(report.durationMs));
    // The run is removed from the event loop, not from inside one of its own callbacks.
    QMetaObject::invokeMethod(
        this,
        [this, r] {
            const auto it = std::find_if(m_runs.begin(), m_runs.end(), [r](const auto &p) { return p.get() == r; });
            if (it != m_runs.end())
                m_runs.erase(it);
        },
        Qt::QueuedConnection);
    Q_EMIT finished(report);
}

} // namespace vega
