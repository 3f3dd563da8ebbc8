// vega-console: the dashboard, a headless agent, and command-line tools over one engine.
#include "config.h"
#include "engine.h"
#include "loadcommand.h"
#include "mainwindow.h"
#include "report.h"
#include "signalwatcher.h"
#include "vega_version.h"

#include <QApplication>
#include <QIcon>
#include <QMessageBox>
#include <QStatusBar>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTextStream>
#include <QTimer>

#include <cstdio>
#include <memory>
#include <QAction>

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

int validateConfig(const QString &path)
{
    const vega::ConfigLoadResult result = vega::ConfigLoader::loadFile(path);
    printFindings(result.findings, out());
    if (!result.ok()) {
        out() << path << ": invalid: " << result.errorCount() << " error(s)" << Qt::endl;
        return ExitBadInput;
    }
    out() << path << ": valid" << Qt::endl;
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

int finishRun(vega::Engine &engine, const QString &reportPath)
{
    const vega::SnapshotPtr last = engine.publishNow();
    engine.stop();
    if (reportPath.isEmpty())
        return ExitOk;
    QString error;
    if (!vega::writeReport(*last, reportPath, &error)) {
        err() << "vega-console: " << error << Qt::endl;
        return ExitRuntime;
    }
    err() << "vega-console: report written to " << QFileInfo(reportPath).absoluteFilePath() << Qt::endl;
    return ExitOk;
}

int runHeadless(QCoreApplication &app, const RunOptions &run)
{
    vega::Engine engine(run.config, run.engine);
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
    return finishRun(engine, run.reportPath);
}

int runWindow(QApplication &app, const RunOptions &run)
{
    vega::Engine engine(run.config, run.engine);
    vega::ui::MainWindow window(&engine);
    // Writing the report is the engine's job; the window only asks for it.
    QObject::connect(&window, &vega::ui::MainWindow::exportReportRequested, &window, [&engine, &window](const QString &path) {
        QString error;
        if (!vega::writeReport(*engine.latest(), path, &error))
            QMessageBox::warning(&window, QStringLiteral("Export failed"), error);
        else
            window.statusBar()->showMessage(QStringLiteral("Report written to %1").arg(path), 5000);
    });
    window.setWindowIcon(QIcon(QStringLiteral(":/vega/vega.svg")));
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
    if (window)
        app = std::make_unique<QApplication>(argc, argv);
    else
        app = std::make_unique<QCoreApplication>(argc, argv);
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
                                                      "<file>; the format follows the extension (.json)."),
                                       QStringLiteral("file"));
    const QCommandLineOption validateOpt(QStringLiteral("validate-config"),
                                         QStringLiteral("Check <file>, print every finding and exit: 0 when valid, "
                                                        "2 when not."),
                                         QStringLiteral("file"));
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
    parser.addOptions({configOpt, dataDirOpt, headlessOpt, durationOpt, reportOpt, validateOpt, schemaOpt, noDemoOpt,
                       screenshotsOpt});

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
        return validateConfig(parser.value(validateOpt));

    RunOptions run;
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
    run.engine.demo = !parser.isSet(configOpt) && !parser.isSet(noDemoOpt);
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
        if (!vega::checkReportPath(run.reportPath, &error)) {
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
