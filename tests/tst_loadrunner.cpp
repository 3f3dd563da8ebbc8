#include "loadrunner.h"
#include "localhttpserver.h"
#include "metrics.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QMutex>
#include <QSignalSpy>
#include <QtTest>

#include <memory>

using namespace vega;

namespace {

/// Counts requests per path on the server's side.
class CountingBackend {
public:
    explicit CountingBackend(QByteArray cacheControl)
        : m_thread([this, cacheControl](const HttpServerRequest &req) {
              {
                  QMutexLocker lock(&m_mutex);
                  ++m_perPath[req.path];
              }
              HttpServerResponse r = HttpServerResponse::make(200, "item " + req.path, "text/plain");
              r.setHeader("Cache-Control", cacheControl);
              r.delayMs = 5; // long enough for concurrent callers to overlap
              return r;
          })
    {
    }
    QString urlTemplate() const { return m_thread.baseUrl().toString() + QStringLiteral("/items/{i}"); }
    quint64 served() const { return m_thread.server()->requestsServed(); }
    quint64 accepted() const { return m_thread.server()->connectionsAccepted(); }
    QMap<QByteArray, int> perPath() const
    {
        QMutexLocker lock(&m_mutex);
        return m_perPath;
    }

private:
    mutable QMutex m_mutex;
    QMap<QByteArray, int> m_perPath;
    LocalHttpServerThread m_thread; // last: stopped before the members its handler uses go
};

LoadResult run(HttpClient &client, const LoadOptions &options)
{
    LoadRunner runner(&client, options);
    QSignalSpy spy(&runner, &LoadRunner::finished);
    runner.start();
    if (!spy.wait(30000))
        return {};
    return spy.at(0).at(0).value<LoadResult>();
}

} // namespace

class TestLoadRunner : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qRegisterMetaType<vega::LoadResult>(); }

    void cachedAndCoalescedRunReachesTheBackendOncePerKey()
    {
        CountingBackend backend("max-age=60");
        MetricsRegistry registry;
        HttpClient client(&registry, HttpConfig{});
        LoadOptions o;
        o.urlTemplate = backend.urlTemplate();
        o.requests = 200;
        o.concurrency = 20;
        o.distinct = 10;
        const LoadResult result = run(client, o);
        const QJsonObject json = result.toJson();

        QStringList keys = json.keys();
        keys.sort();
        QStringList expected{QStringLiteral("requests"),
                             QStringLiteral("succeeded"),
                             QStringLiteral("failed"),
                             QStringLiteral("backend_requests"),
                             QStringLiteral("coalesced"),
                             QStringLiteral("cache_hits"),
                             QStringLiteral("connections_opened"),
                             QStringLiteral("connection_reuse_ratio"),
                             QStringLiteral("breaker_rejections"),
                             QStringLiteral("retries"),
                             QStringLiteral("rate_limited"),
                             QStringLiteral("latency_ms"),
                             QStringLiteral("duration_s")};
        expected.sort();
        QCOMPARE(keys, expected);
        QStringList latencyKeys = json.value(QStringLiteral("latency_ms")).toObject().keys();
        latencyKeys.sort();
        QCOMPARE(latencyKeys, (QStringList{QStringLiteral("max"), QStringLiteral("p50"),
                                           QStringLiteral("p95"), QStringLiteral("p99")}));

        QCOMPARE(json.value(QStringLiteral("requests")).toInteger(), 200);
        QCOMPARE(json.value(QStringLiteral("succeeded")).toInteger(), 200);
        QCOMPARE(json.value(QStringLiteral("failed")).toInteger(), 0);
        QCOMPARE(json.value(QStringLiteral("backend_requests")).toInteger(), 10);
        // The first wave (20 callers, 10 keys) coalesces; a later caller joins a call still in
        // flight or hits the cache.
        QVERIFY(json.value(QStringLiteral("coalesced")).toInteger() >= 10);
        QCOMPARE(json.value(QStringLiteral("coalesced")).toInteger() +
                     json.value(QStringLiteral("cache_hits")).toInteger(),
                 190);
        QCOMPARE(json.value(QStringLiteral("retries")).toInteger(), 0);
        QCOMPARE(json.value(QStringLiteral("breaker_rejections")).toInteger(), 0);
        QCOMPARE(json.value(QStringLiteral("rate_limited")).toInteger(), 0);
        QCOMPARE(backend.served(), 10u);
        QCOMPARE(json.value(QStringLiteral("connections_opened")).toInteger(), qint64(backend.accepted()));
        QCOMPARE(json.value(QStringLiteral("connection_reuse_ratio")).toDouble(),
                 1.0 - double(backend.accepted()) / 10.0);
        const QJsonObject latency = json.value(QStringLiteral("latency_ms")).toObject();
        const double p50 = latency.value(QStringLiteral("p50")).toDouble();
        const double p95 = latency.value(QStringLiteral("p95")).toDouble();
        const double p99 = latency.value(QStringLiteral("p99")).toDouble();
        const double max = latency.value(QStringLiteral("max")).toDouble();
        QVERIFY(p50 >= 0 && p50 <= p95 && p95 <= p99);
        QVERIFY(max >= 5); // someone waited for the server's 5 ms
        QVERIFY(json.value(QStringLiteral("duration_s")).toDouble() > 0);
        QCOMPARE(client.activeFlights(), 0);
    }

    void uncachedUncoalescedRunSendsEverything()
    {
        CountingBackend backend("max-age=60");
        MetricsRegistry registry;
        HttpClient client(&registry, HttpConfig{});
        LoadOptions o;
        o.urlTemplate = backend.urlTemplate();
        o.requests = 200;
        o.concurrency = 20;
        o.distinct = 10;
        o.cache = false;
        o.coalesce = false;
        const LoadResult result = run(client, o);
        QCOMPARE(result.totals.requests, 200u);
        QCOMPARE(result.totals.succeeded, 200u);
        QCOMPARE(result.totals.backendRequests, 200u);
        QCOMPARE(result.totals.coalesced, 0u);
        QCOMPARE(result.totals.cacheHits, 0u);
        QCOMPARE(backend.served(), 200u);
        QVERIFY(backend.accepted() <= 6); // the pool bound
        QCOMPARE(result.totals.connectionsOpened, backend.accepted());
        // {i} is replaced round-robin by 1..distinct: every key got exactly its share.
        const QMap<QByteArray, int> perPath = backend.perPath();
        QCOMPARE(perPath.size(), 10);
        for (int i = 1; i <= 10; ++i)
            QCOMPARE(perPath.value("/items/" + QByteArray::number(i)), 20);
        QVERIFY(result.firstError.isEmpty());
        QVERIFY(result.toText().contains(QStringLiteral("Backend requests:    200")));
    }

    void countsAreDeltasOfASharedClient()
    {
        CountingBackend backend("no-store");
        MetricsRegistry registry;
        HttpClient client(&registry, HttpConfig{});
        LoadOptions o;
        o.urlTemplate = backend.urlTemplate();
        o.requests = 30;
        o.concurrency = 3;
        o.distinct = 3;
        QCOMPARE(run(client, o).totals.requests, 30u);
        const LoadResult second = run(client, o);
        QCOMPARE(second.totals.requests, 30u);
        QCOMPARE(second.totals.succeeded, 30u);
        QCOMPARE(second.totals.leaders + second.totals.coalesced, 30u);
        QCOMPARE(client.totals().requests, 60u);
    }

    void failuresAreReported()
    {
        LocalHttpServerThread server(
            [](const HttpServerRequest &) { return HttpServerResponse::make(404, "no"); });
        MetricsRegistry registry;
        HttpClient client(&registry, HttpConfig{});
        LoadOptions o;
        o.urlTemplate = server.baseUrl().toString() + QStringLiteral("/missing/{i}");
        o.requests = 10;
        o.concurrency = 10; // more than requests: never sends more than asked
        o.distinct = 20;
        const LoadResult r = run(client, o);
        QCOMPARE(r.totals.requests, 10u);
        QCOMPARE(r.totals.failed, 10u);
        QCOMPARE(r.firstError, QStringLiteral("HTTP 404"));
        QVERIFY(r.toText().contains(QStringLiteral("First failure:       HTTP 404")));
        QCOMPARE(server.server()->requestsServed(), 10u);
    }

    void urlTemplateSubstitution()
    {
        QCOMPARE(LoadRunner::urlFor(QStringLiteral("http://h/items/{i}?v={i}"), 7),
                 QUrl(QStringLiteral("http://h/items/7?v=7")));
        QCOMPARE(LoadRunner::urlFor(QStringLiteral("http://h/fixed"), 3),
                 QUrl(QStringLiteral("http://h/fixed")));
    }

    void validation_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<int>("requests");
        QTest::addColumn<int>("concurrency");
        QTest::addColumn<int>("distinct");
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QString>("problem"); // empty: valid
        QTest::newRow("valid") << "http://h/{i}" << 10 << 2 << 3 << QByteArray("GET") << QString();
        QTest::newRow("lower-case method") << "https://h/" << 1 << 1 << 1 << QByteArray("post") << QString();
        QTest::newRow("ftp") << "ftp://h/{i}" << 10 << 2 << 3 << QByteArray("GET") << "invalid URL";
        QTest::newRow("no host") << "http:///x" << 10 << 2 << 3 << QByteArray("GET") << "invalid URL";
        QTest::newRow("not a URL") << "items" << 10 << 2 << 3 << QByteArray("GET") << "invalid URL";
        QTest::newRow("no requests") << "http://h/" << 0 << 2 << 3 << QByteArray("GET") << "--requests";
        QTest::newRow("no concurrency") << "http://h/" << 1 << 0 << 3 << QByteArray("GET") << "--concurrency";
        QTest::newRow("no keys") << "http://h/" << 1 << 1 << 0 << QByteArray("GET") << "--distinct";
        QTest::newRow("empty method") << "http://h/" << 1 << 1 << 1 << QByteArray() << "--method";
        QTest::newRow("bad method") << "http://h/" << 1 << 1 << 1 << QByteArray("GE T") << "--method";
    }

    void validation()
    {
        QFETCH(QString, url);
        QFETCH(int, requests);
        QFETCH(int, concurrency);
        QFETCH(int, distinct);
        QFETCH(QByteArray, method);
        QFETCH(QString, problem);
        LoadOptions o;
        o.urlTemplate = url;
        o.requests = requests;
        o.concurrency = concurrency;
        o.distinct = distinct;
        o.method = method;
        const QString found = LoadRunner::validate(o);
        if (problem.isEmpty())
            QVERIFY2(found.isEmpty(), qPrintable(found));
        else
            QVERIFY2(found.contains(problem), qPrintable(found));
    }
};

QTEST_GUILESS_MAIN(TestLoadRunner)
#include "tst_loadrunner.moc"
