#include "loadrunner.h"

#include <QJsonDocument>

namespace vega {

namespace {
HttpTotals minus(const HttpTotals &a, const HttpTotals &b)
{
    HttpTotals d;
    d.requests = a.requests - b.requests;
    d.succeeded = a.succeeded - b.succeeded;
    d.failed = a.failed - b.failed;
    d.leaders = a.leaders - b.leaders;
    d.coalesced = a.coalesced - b.coalesced;
    d.cacheHits = a.cacheHits - b.cacheHits;
    d.cacheMisses = a.cacheMisses - b.cacheMisses;
    d.backendRequests = a.backendRequests - b.backendRequests;
    d.connectionsOpened = a.connectionsOpened - b.connectionsOpened;
    d.breakerRejections = a.breakerRejections - b.breakerRejections;
    d.retries = a.retries - b.retries;
    d.rateLimited = a.rateLimited - b.rateLimited;
    return d;
}

double ms(double ns)
{
    return ns / 1e6;
}
} // namespace

LoadRunner::LoadRunner(HttpClient *client, const LoadOptions &options, QObject *parent)
    : QObject(parent), m_client(client), m_options(options)
{
}

QString LoadRunner::validate(const LoadOptions &o)
{
    const QUrl sample = urlFor(o.urlTemplate, 1);
    const QString scheme = sample.scheme().toLower();
    if (!sample.isValid() || sample.host().isEmpty() ||
        (scheme != QLatin1String("http") && scheme != QLatin1String("https")))
        return QStringLiteral("invalid URL \"%1\": expected http:// or https:// with a host")
            .arg(o.urlTemplate);
    if (o.requests < 1)
        return QStringLiteral("--requests must be at least 1 (got %1)").arg(o.requests);
    if (o.concurrency < 1)
        return QStringLiteral("--concurrency must be at least 1 (got %1)").arg(o.concurrency);
    if (o.distinct < 1)
        return QStringLiteral("--distinct must be at least 1 (got %1)").arg(o.distinct);
    if (o.method.isEmpty())
        return QStringLiteral("--method must not be empty");
    for (char c : o.method)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return QStringLiteral("--method \"%1\" is not an HTTP method").arg(QString::fromLatin1(o.method));
    return {};
}

QUrl LoadRunner::urlFor(const QString &urlTemplate, int key)
{
    QString text = urlTemplate;
    text.replace(QStringLiteral("{i}"), QString::number(key));
    return QUrl(text, QUrl::StrictMode);
}

void LoadRunner::start()
{
    if (m_elapsed.isValid())
        return; // one run per runner
    m_before = m_client->totals();
    m_elapsed.start();
    const int initial = std::min(m_options.concurrency, m_options.requests);
    for (int i = 0; i < initial; ++i)
        launchNext();
}

void LoadRunner::launchNext()
{
    if (m_sent >= m_options.requests)
        return;
    const int key = (m_sent % m_options.distinct) + 1;
    ++m_sent;
    HttpRequest request;
    request.method = m_options.method.toUpper();
    request.url = urlFor(m_options.urlTemplate, key);
    request.useCache = m_options.cache;
    if (!m_options.coalesce)
        request.coalesce = false;
    HttpCall *call = m_client->send(request);
    connect(call, &HttpCall::finished, this, &LoadRunner::onFinished);
}

void LoadRunner::onFinished(const HttpResponse &response)
{
    m_latency.record(response.latencyNs);
    if (!response.ok() && m_result.firstError.isEmpty())
        m_result.firstError =
            response.error != HttpError::None
                ? QStringLiteral("%1: %2").arg(httpErrorName(response.error), response.errorString)
                : QStringLiteral("HTTP %1").arg(response.status);
    ++m_done;
    if (m_done == m_options.requests) {
        m_result.durationSeconds = double(m_elapsed.nsecsElapsed()) / 1e9;
        m_result.totals = minus(m_client->totals(), m_before);
        const HistogramCounts counts = m_latency.cumulative();
        m_result.latencyNs = counts.summary();
        m_result.p95Ns = counts.quantile(0.95);
        Q_EMIT finished(m_result);
        return;
    }
    launchNext();
}

QJsonObject LoadResult::toJson() const
{
    QJsonObject o;
    o.insert(QStringLiteral("requests"), qint64(totals.requests));
    o.insert(QStringLiteral("succeeded"), qint64(totals.succeeded));
    o.insert(QStringLiteral("failed"), qint64(totals.failed));
    o.insert(QStringLiteral("backend_requests"), qint64(totals.backendRequests));
    o.insert(QStringLiteral("coalesced"), qint64(totals.coalesced));
    o.insert(QStringLiteral("cache_hits"), qint64(totals.cacheHits));
    o.insert(QStringLiteral("connections_opened"), qint64(totals.connectionsOpened));
    o.insert(QStringLiteral("connection_reuse_ratio"), totals.reuseRatio());
    o.insert(QStringLiteral("breaker_rejections"), qint64(totals.breakerRejections));
    o.insert(QStringLiteral("retries"), qint64(totals.retries));
    o.insert(QStringLiteral("rate_limited"), qint64(totals.rateLimited));
    QJsonObject latency;
    latency.insert(QStringLiteral("p50"), ms(latencyNs.p50));
    latency.insert(QStringLiteral("p95"), ms(p95Ns));
    latency.insert(QStringLiteral("p99"), ms(latencyNs.p99));
    latency.insert(QStringLiteral("max"), ms(double(latencyNs.max)));
    o.insert(QStringLiteral("latency_ms"), latency);
    o.insert(QStringLiteral("duration_s"), durationSeconds);
    return o;
}

QString LoadResult::toText() const
{
    const auto pct = [](quint64 part, quint64 whole) {
        return whole ? QString::number(100.0 * double(part) / double(whole), 'f', 1) + QLatin1Char('%')
                     : QStringLiteral("-");
    };
    QString t;
    t += QStringLiteral("Requests:            %1 in %2 s (%3 req/s)\n")
             .arg(totals.requests)
             .arg(durationSeconds, 0, 'f', 2)
             .arg(durationSeconds > 0 ? double(totals.requests) / durationSeconds : 0.0, 0, 'f', 0);
    t += QStringLiteral("Succeeded / failed:  %1 / %2\n").arg(totals.succeeded).arg(totals.failed);
    t += QStringLiteral("Backend requests:    %1 (%2 of requests reached the network, retries included)\n")
             .arg(totals.backendRequests)
             .arg(pct(totals.backendRequests, totals.requests));
    t += QStringLiteral("Coalesced:           %1 (%2)\n")
             .arg(totals.coalesced)
             .arg(pct(totals.coalesced, totals.requests));
    t += QStringLiteral("Cache hits:          %1 (%2)\n")
             .arg(totals.cacheHits)
             .arg(pct(totals.cacheHits, totals.requests));
    t += QStringLiteral("Connections opened:  %1 (reuse ratio %2)\n")
             .arg(totals.connectionsOpened)
             .arg(totals.reuseRatio(), 0, 'f', 3);
    t += QStringLiteral("Breaker rejections:  %1\nRetries:             %2\nRate limited:        %3\n")
             .arg(totals.breakerRejections)
             .arg(totals.retries)
             .arg(totals.rateLimited);
    t += QStringLiteral("Latency ms:          p50 %1  p95 %2  p99 %3  max %4\n")
             .arg(ms(latencyNs.p50), 0, 'f', 2)
             .arg(ms(p95Ns), 0, 'f', 2)
             .arg(ms(latencyNs.p99), 0, 'f', 2)
             .arg(ms(double(latencyNs.max)), 0, 'f', 2);
    if (!firstError.isEmpty())
        t += QStringLiteral("First failure:       %1\n").arg(firstError);
    return t;
}

} // namespace vega
