#include "loadcommand.h"

#include "config.h"
#include "httpclient.h"
#include "loadrunner.h"
#include "metrics.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonDocument>
#include <QTextStream>

namespace {

QTextStream &errStream()
{
    static QTextStream s(stderr);
    return s;
}

QTextStream &outStream()
{
    static QTextStream s(stdout);
    return s;
}

bool parsePositive(const QCommandLineParser &parser, const QString &name, int minimum, int *out)
{
    if (!parser.isSet(name))
        return true;
    bool ok = false;
    const int v = parser.value(name).toInt(&ok);
    if (!ok || v < minimum) {
        errStream() << "vega-console load: invalid --" << name << " '" << parser.value(name)
                    << "': expected a whole number of at least " << minimum << Qt::endl;
        return false;
    }
    *out = v;
    return true;
}

} // namespace

int runLoadCommand(const QStringList &arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Drive requests through the engine's full HTTP pipeline (coalescer, cache, rate limiter, "
        "breaker, retry, pool) and report what it saved.\n"
        "{i} in the URL is replaced by the key number, 1 to --distinct, chosen round-robin.\n"
        "Exit codes: 0 every request succeeded, 1 some failed, 2 bad input."));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("load"), QStringLiteral("The load command."));
    parser.addPositionalArgument(QStringLiteral("URL"), QStringLiteral("http:// or https:// URL; may contain {i}."));
    parser.addOptions({
        {QStringLiteral("requests"), QStringLiteral("Requests to send (default 100)."), QStringLiteral("N")},
        {QStringLiteral("concurrency"), QStringLiteral("Requests in flight at once (default 10)."), QStringLiteral("C")},
        {QStringLiteral("distinct"), QStringLiteral("Distinct keys substituted for {i} (default 1)."), QStringLiteral("K")},
        {QStringLiteral("method"), QStringLiteral("HTTP method (default GET)."), QStringLiteral("M")},
        {QStringLiteral("no-cache"), QStringLiteral("Bypass the response cache.")},
        {QStringLiteral("no-coalesce"), QStringLiteral("Do not coalesce identical in-flight requests.")},
        {QStringLiteral("cache-ttl"), QStringLiteral("Cache lifetime when the server gives no max-age."),
         QStringLiteral("SECONDS")},
        {QStringLiteral("config"), QStringLiteral("Pipeline policies from a configuration file."), QStringLiteral("FILE")},
        {QStringLiteral("json"), QStringLiteral("Print exactly one JSON object instead of the summary.")},
    });
    if (!parser.parse(arguments)) {
        errStream() << "vega-console load: " << parser.errorText() << "\nTry 'vega-console load --help'." << Qt::endl;
        return 2;
    }
    if (parser.isSet(QStringLiteral("help"))) {
        outStream() << parser.helpText();
        outStream().flush();
        return 0;
    }
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 2) {
        errStream() << "vega-console load: expected exactly one URL (got " << positional.size() - 1 << ")\n"
                    << "Try 'vega-console load --help'." << Qt::endl;
        return 2;
    }

    vega::LoadOptions options;
    options.urlTemplate = positional.at(1);
    if (!parsePositive(parser, QStringLiteral("requests"), 1, &options.requests) ||
        !parsePositive(parser, QStringLiteral("concurrency"), 1, &options.concurrency) ||
        !parsePositive(parser, QStringLiteral("distinct"), 1, &options.distinct))
        return 2;
    if (parser.isSet(QStringLiteral("method")))
        options.method = parser.value(QStringLiteral("method")).toLatin1().toUpper();
    options.cache = !parser.isSet(QStringLiteral("no-cache"));
    options.coalesce = !parser.isSet(QStringLiteral("no-coalesce"));
    const QString problem = vega::LoadRunner::validate(options);
    if (!problem.isEmpty()) {
        errStream() << "vega-console load: " << problem << Qt::endl;
        return 2;
    }

    vega::EngineConfig config;
    if (parser.isSet(QStringLiteral("config"))) {
        const QString path = parser.value(QStringLiteral("config"));
        const vega::ConfigLoadResult loaded = vega::ConfigLoader::loadFile(path);
        for (const auto &f : loaded.findings)
            errStream() << f.toString() << Qt::endl;
        if (!loaded.ok()) {
            errStream() << "vega-console load: " << path << " is invalid; nothing was sent" << Qt::endl;
            return 2;
        }
        config = loaded.config;
    }
    if (parser.isSet(QStringLiteral("cache-ttl"))) {
        int ttl = 0;
        if (!parsePositive(parser, QStringLiteral("cache-ttl"), 0, &ttl))
            return 2;
        config.http.defaults.cacheTtlMs = ttl * 1000;
        for (auto &policy : config.http.hosts)
            policy.cacheTtlMs = ttl * 1000;
    }

    vega::MetricsRegistry registry;
    vega::HttpClient client(&registry, config.http);
    vega::LoadRunner runner(&client, options);
    int exitCode = 0;
    QObject::connect(&runner, &vega::LoadRunner::finished, &runner, [&](const vega::LoadResult &result) {
        if (parser.isSet(QStringLiteral("json")))
            outStream() << QJsonDocument(result.toJson()).toJson(QJsonDocument::Compact) << Qt::endl;
        else
            outStream() << result.toText() << Qt::flush;
        exitCode = result.totals.failed > 0 ? 1 : 0;
        QCoreApplication::quit();
    });
    runner.start();
    QCoreApplication::exec();
    return exitCode;
}
