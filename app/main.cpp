// vega-console: the dashboard, a headless agent, and command-line tools over one engine.
#include "adminapi.h"
#include "config.h"
#include "configvalidator.h"
#include "engine.h"
#include "loadcommand.h"
#include "mainwindow.h"
#include "remoteagent.h"
#include "report.h"
#include "reportbuilder.h"
#include "reportpdf.h"
#include "signalwatcher.h"
#include "vega_version.h"

#include <QAction>
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QEventLoop>
#include <QFileInfo>
#include <QGuiApplication>
#include <QIcon>
#include <QStandardPaths>
#include <QTextStream>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <optional>

namespace {

enum ExitCode { ExitOk = 0, ExitRuntime = 1, ExitBadInput = 2 };

QTextStream &err()
{
    static QTextStream stream(stderr);
    return stream;
}

QTextStream &out()
{
    static QTextStream stream(stdout);
    return stream;
}

bool argvHas(int argc, char **argv, const char *option)
{
    const QByteArray wanted(option);
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == wanted || arg.startsWith(QByteArray(wanted).append('=')))
            return true;
    }
    return false;
}

QByteArray argvValue(int argc, char **argv, const char *option)
{
    const QByteArray wanted(option);
    for (int i = 1; i < argc; ++i) {
        const QByteArray arg(argv[i]);
        if (arg == wanted && i + 1 < argc)
            return QByteArray(argv[i + 1]);
        if (arg.startsWith(QByteArray(wanted).append('=')))
            return arg.mid(wanted.size() + 1);
    }
    return {};
}

/// A PDF report needs QtGui (fonts, painting) even without a window.
bool wantsPdfReport(int argc, char **argv)
{
    return argvValue(argc, argv, "--report").toLower().endsWith(".pdf");
}

bool isLoadCommand(int argc, char **argv)
{
    return argc > 1 && QByteArray(argv[1]) == "load";
}

bool needsWindow(int argc, char **argv)
{
    if (isLoadCommand(argc, argv))
        return false;
    for (const char *opt : {"--headless", "--validate-config", "--help", "-h", "--help-all", "--version", "-v",
                            "--config-schema"}) {
        if (argvHas(argc, argv, opt))
            return false;
    }
    return true;
}

bool displayAvailable()
{
    return qEnvironmentVariableIsSet("DISPLAY") || qEnvironmentVariableIsSet("WAYLAND_DISPLAY") ||
           qEnvironmentVariableIsSet("QT_QPA_PLATFORM");
}

void printFindings(const QList<vega::ConfigFinding> &findings, QTextStream &stream)
{
    for (const vega::ConfigFinding &f : findings)
        stream << f.toString() << Qt::endl;
}

/// --validate-config: the load-time checks, then the on-demand ones (URLs, environment
/// variables, files, host names within a bound) unless `lookups` is off.
int validateConfig(const QString &path, bool lookups, const QString &dataDir)
{
    const vega::ConfigLoadResult result = vega::ConfigLoader::loadFile(path);
    if (!result.ok()) {
        printFindings(result.findings, out());
        out() << path << ": invalid: " << result.errorCount() << " error(s)" << Qt::endl;
        return ExitBadInput;
    }
    vega::ConfigValidator validator;
    validator.setDataDir(dataDir);
    validator.setHostLookups(lookups);
    std::optional<vega::ValidationReport> report;
    QEventLoop loop;
    QObject::connect(&validator, &vega::ConfigValidator::finished, &loop, [&](const vega::ValidationReport &r) {
        report = r;
        loop.quit();
    });
    validator.run(result.config, path);
    if (!report)
        loop.exec();
    printFindings(report->findings, out());
    if (!report->ok()) {
        out() << path << ": invalid: " << report->errorCount() << " error(s), " << report->warningCount()
              << " warning(s)" << Qt::endl;
        return ExitBadInput;
    }
    out() << path << ": valid";
    if (report->warningCount() > 0)
        out() << " with " << report->warningCount() << " warning(s)";
    out() << Qt::endl;
    return ExitOk;
}

void printSchema()
{
    out() << "| Key | Type | Default | Range | Meaning |\n|---|---|---|---|---|\n";
    for (const vega::ConfigKeyInfo &k : vega::ConfigLoader::schema())
        out() << "| `" << k.path << "` | " << k.type << " | `" << k.defaultValue << "` | " << k.range << " | "
              << k.description << " |\n";
    out().flush();
}

struct RunOptions {
    vega::EngineConfig config;
    vega::EngineOptions engine;
    QString reportPath;
    QString screenshotDir;
    int durationSeconds = 0;
    int adminPort = -1; // --admin-port; -1: from the config and the mode
    QString agentName;  // --agent-name: what the snapshot stream announces
    QList<vega::RemoteAgentOptions> agents; // --connect
};

// Saves every page of the window as <dir>/<nn>-<page>.png, one page per second, then quits.
void captureScreenshots(vega::ui::MainWindow *window, const QString &dir)
{
    auto page = std::make_shared<int>(0);
    auto *timer = new QTimer(window); // owned by the window
    timer->setInterval(1500);
    QObject::connect(timer, &QTimer::timeout, window, [window, dir, page, timer] {
        if (*page > 0) {
            // The previous page has had time to draw its charts.
            QString name = window->pageAction(*page - 1)->text().remove(QLatin1Char('&')).toLower();
            name.replace(QLatin1Char(' '), QLatin1Char('-'));
            const QString path = QDir(dir).filePath(QStringLiteral("%1-%2.png").arg(*page, 2, 10, QLatin1Char('0')).arg(name));
            if (!window->grab().save(path))
                err() << "vega-console: cannot write " << path << Qt::endl;
            else
                err() << "vega-console: saved " << path << Qt::endl;
        }
        if (*page >= vega::ui::MainWindow::PageCount) {
            timer->stop();
            QCoreApplication::quit();
            return;
        }
        window->setCurrentPage(*page);
        ++*page;
    });
    timer->start();
}

/// Writes the run's report: JSON directly, the other formats through a ReportBuilder (with
/// the stored history), waiting for it in a local event loop.
int writeRunReport(vega::Engine &engine, const vega::SnapshotPtr &last, const QString &reportPath)
{
    vega::ReportFormat format = vega::ReportFormat::Json;
    vega::reportFormatForPath(reportPath, &format);
    if (format == vega::ReportFormat::Json) {
        QString error;
        if (!vega::writeReport(*last, reportPath, &error)) {
            err() << "vega-console: " << error << Qt::endl;
            return ExitRuntime;
        }
    } else {
        vega::ReportBuilder builder;
        builder.setPdfRenderer(vega::ui::reportPdfRenderer());
        vega::ReportRequest request;
        request.path = reportPath;
        request.snapshot = last;
        request.history = engine.history();
        bool ok = false;
        QString message;
        QEventLoop loop;
        QObject::connect(&builder, &vega::ReportBuilder::finished, &loop, [&](bool success, const QString &text) {
            ok = success;
            message = text;
            loop.quit();
        });
        if (!builder.start(request)) {
            err() << "vega-console: cannot write report " << reportPath << Qt::endl;
            return ExitRuntime;
        }
        loop.exec();
        if (!ok) {
            err() << "vega-console: " << message << Qt::endl;
            return ExitRuntime;
        }
    }
    err() << "vega-console: report written to " << QFileInfo(reportPath).absoluteFilePath() << Qt::endl;
    return ExitOk;
}

int finishRun(vega::Engine &engine, const QString &reportPath)
{
    const vega::SnapshotPtr last = engine.publishNow();
    // Before stop(): the report reads the stored history.
    const int code = reportPath.isEmpty() ? int(ExitOk) : writeRunReport(engine, last, reportPath);
    engine.stop();
    return code;
}

/// Starts the admin API when the mode calls for it. Returns false only when the operator
/// asked for it explicitly (--admin-port) and it cannot start.
bool startAdminApi(vega::Engine &engine, const RunOptions &run, std::unique_ptr<vega::AdminApi> *api)
{
    const vega::AdminConfig &cfg = run.config.admin;
    const bool wanted = run.adminPort >= 0 || (run.engine.mode == QLatin1String("headless") ? cfg.headless : cfg.gui);
    if (!wanted)
        return true;
    vega::AdminApiOptions options;
    options.bindAddress = QHostAddress(cfg.bind);
    options.port = quint16(run.adminPort >= 0 ? run.adminPort : cfg.port);
    options.keySha256 = cfg.keyHashes();
    options.agentName = run.agentName;
    options.streamIntervalMs = run.config.metrics.snapshotIntervalMs;
    auto candidate = std::make_unique<vega::AdminApi>(&engine, options);
    QString error;
    if (!candidate->start(&error)) {
        err() << "vega-console: admin API not started: " << error << Qt::endl;
        return run.adminPort < 0;
    }
    err() << "vega-console: admin API on http://" << options.bindAddress.toString() << ':' << candidate->port()
          << " (X-API-Key required)" << Qt::endl;
    *api = std::move(candidate);
    return true;
}

int runHeadless(QCoreApplication &app, const RunOptions &run)
{
    vega::Engine engine(run.config, run.engine);
    std::unique_ptr<vega::AdminApi> api;
    if (!startAdminApi(engine, run, &api))
        return ExitRuntime;
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, &app, [&app](int number) {
        err() << "vega-console: signal " << number << " received, stopping" << Qt::endl;
        app.quit();
    });
    if (run.durationSeconds > 0)
        QTimer::singleShot(run.durationSeconds * 1000, &app, &QCoreApplication::quit);
    err() << "vega-console " << VEGA_VERSION_STRING << ": headless, data in " << run.engine.dataDir << ", "
          << (run.durationSeconds > 0 ? QStringLiteral("running for %1 s").arg(run.durationSeconds)
                                      : QStringLiteral("running until SIGINT/SIGTERM"))
          << Qt::endl;
    engine.start();
    app.exec();
    api.reset(); // before the engine
    return finishRun(engine, run.reportPath);
}

int runWindow(QApplication &app, const RunOptions &run)
{
    vega::Engine engine(run.config, run.engine);
    std::unique_ptr<vega::AdminApi> api;
    if (!startAdminApi(engine, run, &api))
        return ExitRuntime;
    vega::ui::MainWindow window(&engine);
    window.setWindowIcon(QIcon(QStringLiteral(":/vega/vega.svg")));
    for (const vega::RemoteAgentOptions &agent : run.agents)
        window.connectAgent(agent);
    if (!run.agents.isEmpty())
        window.setCurrentPage(vega::ui::MainWindow::FleetPageIndex);
    window.show();
    engine.start();
    SignalWatcher watcher;
    QObject::connect(&watcher, &SignalWatcher::terminationRequested, &app, &QCoreApplication::quit);
    if (!run.screenshotDir.isEmpty()) {
        window.resize(1400, 900);
        // Let the charts gather some history first.
        const int warmup = run.durationSeconds > 0 ? run.durationSeconds : 15;
        QTimer::singleShot(warmup * 1000, &window, [&window, &run] { captureScreenshots(&window, run.screenshotDir); });
    } else if (run.durationSeconds > 0) {
        QTimer::singleShot(run.durationSeconds * 1000, &app, &QCoreApplication::quit);
    }
    app.exec();
    api.reset(); // before the engine
    return finishRun(engine, run.reportPath);
}

} // namespace

int main(int argc, char **argv)
{
    const bool window = needsWindow(argc, argv);
    if (window && !displayAvailable()) {
        std::fprintf(stderr, "vega-console: no display found (DISPLAY and WAYLAND_DISPLAY are unset).\n"
                             "Run the same engine without a window with --headless, or set QT_QPA_PLATFORM.\n");
        return ExitRuntime;
    }
    std::unique_ptr<QCoreApplication> app;
    if (window) {
        app = std::make_unique<QApplication>(argc, argv);
    } else if (wantsPdfReport(argc, argv)) {
        if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        app = std::make_unique<QGuiApplication>(argc, argv);
    } else {
        app = std::make_unique<QCoreApplication>(argc, argv);
    }
    QCoreApplication::setApplicationName(QStringLiteral("vega-console"));
    QCoreApplication::setOrganizationName(QStringLiteral("Vega"));
    QCoreApplication::setApplicationVersion(QStringLiteral(VEGA_VERSION_STRING));
    if (isLoadCommand(argc, argv))
        return runLoadCommand(QCoreApplication::arguments());

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Vega Console: resilience and observability for Qt programs.\n"
        "With no arguments, opens the dashboard. Without --config it runs the built-in demo\n"
        "workload (a local backend and traffic) so every chart has data.\n\n"
        "Commands:\n"
        "  vega-console load URL [options]   drive requests through the HTTP pipeline\n"
        "                                    (see 'vega-console load --help')\n\n"
        "Exit codes: 0 success, 1 runtime failure, 2 bad input (arguments, configuration)."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption configOpt(QStringLiteral("config"),
                                       QStringLiteral("Load the configuration from <file> (JSON, see docs/CONFIG.md). "
                                                      "An invalid file stops the program with exit code 2."),
                                       QStringLiteral("file"));
    const QCommandLineOption dataDirOpt(QStringLiteral("data-dir"),
                                        QStringLiteral("Keep data and state in <dir> (default: %1).")
                                            .arg(QStandardPaths::writableLocation(QStandardPaths::AppDataLocation)),
                                        QStringLiteral("dir"));
    const QCommandLineOption headlessOpt(QStringLiteral("headless"),
                                         QStringLiteral("Run the engine without a window until --duration ends or "
                                                        "SIGINT/SIGTERM arrives."));
    const QCommandLineOption durationOpt(QStringLiteral("duration"),
                                         QStringLiteral("Stop after <seconds> (whole number, at least 1)."),
                                         QStringLiteral("seconds"));
    const QCommandLineOption reportOpt(QStringLiteral("report"),
                                       QStringLiteral("At exit, write a diagnostic report of the final snapshot to "
                                                      "<file>; the format follows the extension: .json (everything), "
                                                      ".html (a summary with charts), .pdf (the same, printed) or "
                                                      ".zip (a support bundle)."),
                                       QStringLiteral("file"));
    const QCommandLineOption validateOpt(QStringLiteral("validate-config"),
                                         QStringLiteral("Check <file> (schema, URLs, environment variables, files, "
                                                        "host names), print every finding and exit: 0 when valid, "
                                                        "2 when not."),
                                         QStringLiteral("file"));
    const QCommandLineOption noLookupsOpt(QStringLiteral("no-dns"),
                                          QStringLiteral("With --validate-config: do not resolve host names (for "
                                                         "machines that cannot reach the configured network)."));
    const QCommandLineOption adminPortOpt(QStringLiteral("admin-port"),
                                          QStringLiteral("Serve the admin HTTP API on <port> (0: any free port), in "
                                                         "the window too. Needs VEGA_API_KEY or admin.key_sha256. "
                                                         "Headless runs serve it on admin.port by default."),
                                          QStringLiteral("port"));
    const QCommandLineOption schemaOpt(QStringLiteral("config-schema"),
                                       QStringLiteral("Print every configuration key with its type, default and "
                                                      "range (Markdown) and exit."));
    const QCommandLineOption noDemoOpt(QStringLiteral("no-demo"),
                                       QStringLiteral("Do not run the built-in demo workload (it runs when no --config "
                                                      "is given)."));
    const QCommandLineOption screenshotsOpt(QStringLiteral("screenshots"),
                                            QStringLiteral("Open the window, let it gather data for --duration seconds "
                                                           "(default 15), save a PNG of every page to <dir> and exit."),
                                            QStringLiteral("dir"));
    const QCommandLineOption demoOpt(QStringLiteral("demo"),
                                     QStringLiteral("Run the built-in demo workload also with --config (to try a "
                                                    "configuration's settings against the demo's traffic)."));
    const QCommandLineOption demoRateOpt(QStringLiteral("demo-rate"),
                                         QStringLiteral("Requests per second of the demo traffic (default 40)."),
                                         QStringLiteral("n"));
    const QCommandLineOption connectOpt(
        QStringLiteral("connect"),
        QStringLiteral("Watch the agent at <address> (host:port or http://host:port, optionally name=address) "
                       "besides the local engine; repeat for more agents. Without --config the local demo "
                       "then does not run."),
        QStringLiteral("address"));
    const QCommandLineOption apiKeyEnvOpt(QStringLiteral("api-key-env"),
                                          QStringLiteral("Environment variable holding the agents' API key for "
                                                         "--connect (default VEGA_API_KEY)."),
                                          QStringLiteral("name"), QStringLiteral("VEGA_API_KEY"));
    const QCommandLineOption agentNameOpt(QStringLiteral("agent-name"),
                                          QStringLiteral("The name this engine announces to consoles on its "
                                                         "snapshot stream (default: the host name)."),
                                          QStringLiteral("name"));
    parser.addOptions({configOpt, dataDirOpt, headlessOpt, durationOpt, reportOpt, validateOpt, noLookupsOpt,
                       schemaOpt, noDemoOpt, demoOpt, demoRateOpt, screenshotsOpt, adminPortOpt, connectOpt,
                       apiKeyEnvOpt, agentNameOpt});

    if (!parser.parse(QCoreApplication::arguments())) {
        err() << "vega-console: " << parser.errorText() << "\nTry 'vega-console --help'." << Qt::endl;
        return ExitBadInput;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        out() << parser.helpText();
        out().flush();
        return ExitOk;
    }
    if (parser.isSet(QStringLiteral("version"))) {
        out() << "vega-console " << VEGA_VERSION_STRING << " (Qt " << qVersion() << ")" << Qt::endl;
        return ExitOk;
    }
    if (!parser.positionalArguments().isEmpty()) {
        err() << "vega-console: unexpected argument '" << parser.positionalArguments().first()
              << "'\nTry 'vega-console --help'." << Qt::endl;
        return ExitBadInput;
    }
    if (parser.isSet(schemaOpt)) {
        printSchema();
        return ExitOk;
    }
    if (parser.isSet(validateOpt))
        return validateConfig(parser.value(validateOpt), !parser.isSet(noLookupsOpt),
                              parser.isSet(dataDirOpt) ? parser.value(dataDirOpt) : QString());

    RunOptions run;
    if (parser.isSet(adminPortOpt)) {
        bool ok = false;
        run.adminPort = parser.value(adminPortOpt).toInt(&ok);
        if (!ok || run.adminPort < 0 || run.adminPort > 65535) {
            err() << "vega-console: invalid --admin-port '" << parser.value(adminPortOpt)
                  << "': expected a port number from 0 to 65535" << Qt::endl;
            return ExitBadInput;
        }
    }
    if (parser.isSet(durationOpt)) {
        bool ok = false;
        run.durationSeconds = parser.value(durationOpt).toInt(&ok);
        if (!ok || run.durationSeconds < 1) {
            err() << "vega-console: invalid --duration '" << parser.value(durationOpt)
                  << "': expected a whole number of seconds, at least 1" << Qt::endl;
            return ExitBadInput;
        }
    }
    if (parser.isSet(configOpt)) {
        const QString path = parser.value(configOpt);
        const vega::ConfigLoadResult loaded = vega::ConfigLoader::loadFile(path);
        printFindings(loaded.findings, err());
        if (!loaded.ok()) {
            err() << "vega-console: " << path << " is invalid (" << loaded.errorCount()
                  << " error(s)); nothing was started" << Qt::endl;
            return ExitBadInput;
        }
        run.config = loaded.config;
        run.engine.configPath = QFileInfo(path).absoluteFilePath();
    }
    if (parser.isSet(demoOpt) && parser.isSet(noDemoOpt)) {
        err() << "vega-console: --demo and --no-demo contradict each other" << Qt::endl;
        return ExitBadInput;
    }
    if (parser.isSet(connectOpt)) {
        if (parser.isSet(headlessOpt)) {
            err() << "vega-console: --connect needs the window; an agent (--headless) serves consoles, it does "
                     "not watch other agents"
                  << Qt::endl;
            return ExitBadInput;
        }
        const QString variable = parser.value(apiKeyEnvOpt);
        const QByteArray key = qgetenv(variable.toLocal8Bit().constData()).trimmed();
        if (key.isEmpty()) {
            err() << "vega-console: --connect: the environment variable " << variable
                  << " (--api-key-env) holds no API key" << Qt::endl;
            return ExitBadInput;
        }
        for (const QString &address : parser.values(connectOpt)) {
            vega::RemoteAgentOptions agent;
            QString error;
            if (!vega::parseAgentAddress(address, &agent.baseUrl, &agent.name, &error)) {
                err() << "vega-console: --connect: " << error << Qt::endl;
                return ExitBadInput;
            }
            agent.apiKey = key;
            run.agents.append(agent);
        }
    }
    if (parser.isSet(agentNameOpt))
        run.agentName = parser.value(agentNameOpt).trimmed();
    run.engine.demo = parser.isSet(demoOpt) ||
                      (!parser.isSet(configOpt) && !parser.isSet(noDemoOpt) && !parser.isSet(connectOpt));
    if (parser.isSet(demoRateOpt)) {
        bool ok = false;
        run.engine.demoRequestsPerSecond = parser.value(demoRateOpt).toDouble(&ok);
        if (!ok || run.engine.demoRequestsPerSecond <= 0 || run.engine.demoRequestsPerSecond > 100000) {
            err() << "vega-console: invalid --demo-rate '" << parser.value(demoRateOpt)
                  << "': expected requests per second, above 0 and at most 100000" << Qt::endl;
            return ExitBadInput;
        }
    }
    if (!parser.isSet(durationOpt) && parser.isSet(headlessOpt))
        run.durationSeconds = run.config.headless.defaultDurationSeconds;

    run.engine.dataDir = parser.isSet(dataDirOpt) ? parser.value(dataDirOpt)
                                                  : QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    run.engine.dataDir = QDir(run.engine.dataDir).absolutePath();
    if (!QDir().mkpath(run.engine.dataDir) || !QFileInfo(run.engine.dataDir).isWritable()) {
        err() << "vega-console: cannot use data directory " << run.engine.dataDir
              << ": it cannot be created or is not writable" << Qt::endl;
        return ExitRuntime;
    }
    if (parser.isSet(reportOpt)) {
        run.reportPath = parser.value(reportOpt);
        QString error;
        if (!vega::checkReportPath(run.reportPath, &error, /*pdfAvailable=*/true)) {
            err() << "vega-console: " << error << Qt::endl;
            return ExitRuntime;
        }
    }

    if (parser.isSet(screenshotsOpt)) {
        run.screenshotDir = parser.value(screenshotsOpt);
        if (!QDir().mkpath(run.screenshotDir)) {
            err() << "vega-console: cannot create screenshot directory " << run.screenshotDir << Qt::endl;
            return ExitRuntime;
        }
    }
    if (parser.isSet(headlessOpt)) {
        run.engine.mode = QStringLiteral("headless");
        return runHeadless(*app, run);
    }
    run.engine.mode = QStringLiteral("gui");
    return runWindow(*static_cast<QApplication *>(app.get()), run);
}
