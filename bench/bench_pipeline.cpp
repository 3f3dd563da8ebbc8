// What the HTTP pipeline costs and what it saves.
//
// BM_CoalescerLookup: requestKey() plus the in-flight table lookup that every send() does
// (target <= 1 us). "auth" adds an Authorization header, hashed into the key.
//
// BM_PipelineOverhead: requests/s of HttpClient with every stage on (coalescer, cache,
// rate limiter with a rate it never reaches, breakers, retry budget, pool, metrics) against
// a bare QNetworkAccessManager, same local server (its own thread, answers at once), same
// concurrency (6 in flight), distinct keys so neither cache nor coalescing helps. Each
// iteration runs 5000 requests on each (alternating which goes first) so drift hits both
// alike. ratio = pipeline rate / bare rate over all iterations (target >= 0.95),
// ratio_median the median of the per-iteration ratios; cpu_ratio compares process CPU time
// per request (all threads), which other load on the machine disturbs less.
//
// BM_CoalescingDuplicates: waves of concurrent callers, `dup` per key, cache off so only the
// coalescer helps; callers_per_backend is the reduction (10 duplicates -> 10x).
#include "httpclient.h"
#include "localhttpserver.h"
#include "metrics.h"
#include "requestkey.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QHash>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <memory>
#include <vector>

using namespace vega;

namespace {

constexpr int kInFlight = 6;
constexpr int kRequestsPerBatch = 5000;

void BM_CoalescerLookup(benchmark::State &state)
{
    const bool auth = state.range(0) != 0;
    QHash<QByteArray, int> inFlight;
    std::vector<QUrl> urls;
    for (int i = 0; i < 1000; ++i) {
        const QUrl url(QStringLiteral("http://127.0.0.1:8080/api/v1/items/%1?view=full&lang=en").arg(i));
        urls.push_back(url);
        if (i % 2 == 0)
            inFlight.insert(requestKey("GET", url, {}, {}), i);
    }
    HeaderList headers;
    if (auth)
        headers.append(
            {QByteArrayLiteral("Authorization"), QByteArrayLiteral("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x")});
    size_t i = 0;
    int found = 0;
    for (auto _ : state) {
        const QByteArray key = requestKey("GET", urls[i], {}, headers);
        found += inFlight.contains(key) ? 1 : 0;
        i = (i + 1) % urls.size();
    }
    benchmark::DoNotOptimize(found);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CoalescerLookup)->ArgName("auth")->Arg(0)->Arg(1);

// Servers on their own threads, created in main() so that they stop before the application.
LocalHttpServerThread *g_fast = nullptr; // answers "ok" at once
LocalHttpServerThread *g_slow = nullptr; // answers after 2 ms, so that callers of a wave overlap

LocalHttpServerThread &server()
{
    return *g_fast;
}

QUrl batchUrl(int batch, int n)
{
    return QUrl(server().baseUrl().toString() + QStringLiteral("/items/%1?b=%2").arg(n).arg(batch));
}

/// kRequestsPerBatch requests, kInFlight at a time, on a plain QNetworkAccessManager.
double runBare(QNetworkAccessManager &nam, int batch)
{
    QEventLoop loop;
    int sent = 0;
    int done = 0;
    int failed = 0;
    std::function<void()> launch = [&] {
        QNetworkReply *reply = nam.get(QNetworkRequest(batchUrl(batch, sent++)));
        QObject::connect(reply, &QNetworkReply::finished, &loop, [&, reply] {
            if (reply->error() != QNetworkReply::NoError || reply->readAll().isEmpty())
                ++failed;
            reply->deleteLater();
            if (++done == kRequestsPerBatch)
                loop.quit();
            else if (sent < kRequestsPerBatch)
                launch();
        });
    };
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < kInFlight; ++i)
        launch();
    loop.exec();
    const double seconds = double(t.nsecsElapsed()) / 1e9;
    if (failed)
        qFatal("bare QNAM: %d failed requests", failed);
    return seconds;
}

/// The same through HttpClient.
double runPipeline(HttpClient &client, int batch)
{
    QEventLoop loop;
    int sent = 0;
    int done = 0;
    int failed = 0;
    std::function<void()> launch = [&] {
        HttpRequest request;
        request.url = batchUrl(batch, sent++);
        HttpCall *call = client.send(request);
        QObject::connect(call, &HttpCall::finished, &loop, [&](const HttpResponse &r) {
            if (!r.ok() || r.body.isEmpty() || r.fromCache || r.coalesced)
                ++failed;
            if (++done == kRequestsPerBatch)
                loop.quit();
            else if (sent < kRequestsPerBatch)
                launch();
        });
    };
    QElapsedTimer t;
    t.start();
    for (int i = 0; i < kInFlight; ++i)
        launch();
    loop.exec();
    const double seconds = double(t.nsecsElapsed()) / 1e9;
    if (failed)
        qFatal("pipeline: %d failed (or unexpectedly cached) requests", failed);
    return seconds;
}

HttpConfig allStagesOn()
{
    HttpConfig config;
    HttpPolicy &p = config.defaults;
    p.coalescing = true;
    p.cache = true;
    p.rateLimit = true;
    p.ratePerSecond = 1e7; // admits everything, but every request asks it
    p.burst = 1e7;
    p.breaker = true;
    p.maxConnections = kInFlight;
    return config;
}

double processCpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

struct Side {
    double seconds = 0;
    double cpuSeconds = 0;   // every thread of the process: client, Qt's HTTP thread, server
    quint64 connections = 0; // accepted by the server while this side ran
    std::vector<double> batchSeconds;

    template <typename Run> void measure(Run run)
    {
        const quint64 accepted = server().server()->connectionsAccepted();
        const double cpu = processCpuSeconds();
        const double s = run();
        cpuSeconds += processCpuSeconds() - cpu;
        connections += server().server()->connectionsAccepted() - accepted;
        seconds += s;
        batchSeconds.push_back(s);
    }
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

void BM_PipelineOverhead(benchmark::State &state)
{
    MetricsRegistry registry;
    HttpClient client(&registry, allStagesOn());
    QNetworkAccessManager nam;
    nam.setAutoDeleteReplies(false);
    static int batch = 0;
    // Warm both: connections open, code paths hot.
    runBare(nam, ++batch);
    runPipeline(client, ++batch);
    Side bare;
    Side pipeline;
    std::vector<double> ratios;
    int iteration = 0;
    for (auto _ : state) {
        const auto runB = [&] { return runBare(nam, ++batch); };
        const auto runP = [&] { return runPipeline(client, ++batch); };
        if (iteration++ % 2 == 0) {
            bare.measure(runB);
            pipeline.measure(runP);
        } else {
            pipeline.measure(runP);
            bare.measure(runB);
        }
        ratios.push_back(bare.batchSeconds.back() / pipeline.batchSeconds.back());
        state.SetIterationTime(bare.batchSeconds.back() + pipeline.batchSeconds.back());
    }
    const double n = double(state.iterations()) * kRequestsPerBatch;
    state.counters["bare_req_per_s"] = n / bare.seconds;
    state.counters["pipeline_req_per_s"] = n / pipeline.seconds;
    state.counters["ratio"] = bare.seconds / pipeline.seconds;
    state.counters["ratio_median"] = median(ratios);
    state.counters["bare_cpu_us_per_req"] = bare.cpuSeconds / n * 1e6;
    state.counters["pipeline_cpu_us_per_req"] = pipeline.cpuSeconds / n * 1e6;
    state.counters["cpu_ratio"] = bare.cpuSeconds / pipeline.cpuSeconds;
    // Qt's HTTP/1 client now and then drops a keep-alive connection to this very fast server
    // and opens another; these show how much each side was hit.
    state.counters["bare_new_connections"] = double(bare.connections);
    state.counters["pipeline_new_connections"] = double(pipeline.connections);
    const HttpTotals t = client.totals();
    state.counters["pipeline_backend_per_request"] = double(t.backendRequests) / double(t.requests);
}
BENCHMARK(BM_PipelineOverhead)->Iterations(10)->Unit(benchmark::kMillisecond)->UseManualTime();

void BM_CoalescingDuplicates(benchmark::State &state)
{
    const int dup = int(state.range(0));
    constexpr int kKeysPerWave = 20;
    LocalHttpServerThread &slow = *g_slow;
    MetricsRegistry registry;
    HttpConfig config;
    config.defaults.cache = false;
    HttpClient client(&registry, config);
    static int wave = 0;
    quint64 served0 = slow.server()->requestsServed();
    for (auto _ : state) {
        ++wave;
        QEventLoop loop;
        int done = 0;
        const int callers = kKeysPerWave * dup;
        for (int k = 0; k < kKeysPerWave; ++k) {
            const QUrl url(slow.baseUrl().toString() + QStringLiteral("/k/%1?w=%2").arg(k).arg(wave));
            for (int d = 0; d < dup; ++d) {
                HttpRequest request;
                request.url = url;
                QObject::connect(
                    client.send(request), &HttpCall::finished, &loop, [&](const HttpResponse &r) {
                        if (!r.ok())
                            qFatal("coalescing: a request failed: %s", qPrintable(r.errorString));
                        if (++done == callers)
                            loop.quit();
                    });
            }
        }
        loop.exec();
    }
    const HttpTotals t = client.totals();
    const double backend = double(slow.server()->requestsServed() - served0);
    state.counters["callers"] = double(t.requests);
    state.counters["backend_requests"] = backend;
    state.counters["callers_per_backend"] = double(t.requests) / backend;
    state.counters["coalesced"] = double(t.coalesced);
}
BENCHMARK(BM_CoalescingDuplicates)
    ->ArgName("dup")
    ->Arg(1)
    ->Arg(10)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    QCoreApplication app(argc, argv);
    LocalHttpServerThread fast([](const HttpServerRequest &) {
        return HttpServerResponse::make(200, QByteArrayLiteral("ok"), QByteArrayLiteral("text/plain"));
    });
    LocalHttpServerThread slow([](const HttpServerRequest &) {
        HttpServerResponse r = HttpServerResponse::make(200, QByteArrayLiteral("shared"));
        r.delayMs = 2;
        return r;
    });
    g_fast = &fast;
    g_slow = &slow;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
