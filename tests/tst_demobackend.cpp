#include "demobackend.h"

#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QSet>
#include <QtTest>

#include <memory>

using namespace vega;

namespace {

struct Result {
    QNetworkReply::NetworkError error = QNetworkReply::NoError;
    int status = 0;
    QByteArray body;
    QList<QNetworkReply::RawHeaderPair> headers;
    qint64 elapsedMs = 0;
    int readyReads = 0;

    QByteArray header(const QByteArray &name) const
    {
        for (const auto &h : headers) {
            if (h.first.compare(name, Qt::CaseInsensitive) == 0)
                return h.second;
        }
        return {};
    }
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
};

struct Call {
    QByteArray method = "GET";
    QByteArray target;
    QByteArray body;
    QByteArray token;
    QList<QPair<QByteArray, QByteArray>> headers;
    int timeoutMs = 0;
};

DemoBackendOptions fastOptions(ManualClock *clock)
{
    DemoBackendOptions options;
    options.latencyScale = 0;
    options.clock = clock;
    return options;
}

const QByteArray kChatBody =
    R"({"model":"vega-demo-small","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"How is the cache doing?"}]})";

} // namespace

class TestDemoBackend : public QObject {
    Q_OBJECT

private:
    QNetworkAccessManager m_nam;

    Result call(const DemoBackend &backend, const Call &c)
    {
        QNetworkRequest request(backend.url(c.target));
        if (!c.token.isEmpty())
            request.setRawHeader("Authorization", "Bearer " + c.token);
        for (const auto &h : c.headers)
            request.setRawHeader(h.first, h.second);
        if (!c.body.isEmpty() && !request.hasRawHeader("Content-Type"))
            request.setRawHeader("Content-Type", "application/json");
        if (c.timeoutMs > 0)
            request.setTransferTimeout(c.timeoutMs);
        QElapsedTimer timer;
        timer.start();
        std::unique_ptr<QNetworkReply> reply(
            c.method == "HEAD" ? m_nam.head(request) : m_nam.sendCustomRequest(request, c.method, c.body));
        Result result;
        connect(reply.get(), &QNetworkReply::readyRead, this, [&] {
            ++result.readyReads;
            result.body += reply->readAll();
        });
        if (!QTest::qWaitFor([&] { return reply->isFinished(); }, 10000))
            qWarning("request did not finish");
        result.elapsedMs = timer.elapsed();
        if (reply->isOpen())
            result.body += reply->readAll();
        result.error = reply->error();
        result.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        result.headers = reply->rawHeaderPairs();
        return result;
    }
    Result get(const DemoBackend &backend, const QByteArray &target, const QByteArray &token = {})
    {
        Call c;
        c.target = target;
        c.token = token;
        return call(backend, c);
    }

private Q_SLOTS:
    void initTestCase() { QNetworkProxy::setApplicationProxy(QNetworkProxy::NoProxy); }

    void routesCoverTheSevenIntegrations()
    {
        const QList<DemoRoute> routes = DemoBackend::routes();
        QCOMPARE(routes.size(), 8);
        QSet<QString> kinds;
        QSet<QString> names;
        for (const DemoRoute &r : routes) {
            kinds.insert(r.kind);
            names.insert(r.name);
            QVERIFY(r.medianLatencyMs > 0);
            QVERIFY(r.method == "GET" || r.method == "POST");
            QVERIFY(r.exampleTarget.startsWith('/'));
        }
        QCOMPARE(names.size(), routes.size());
        QCOMPARE(kinds,
                 (QSet<QString>{QStringLiteral("search"), QStringLiteral("fetch"), QStringLiteral("slack"),
                                QStringLiteral("homeassistant"), QStringLiteral("llm"),
                                QStringLiteral("external"), QStringLiteral("dbapi")}));
    }

    void everyExampleTargetAnswers()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        QVERIFY(backend.isListening());
        for (const DemoRoute &r : DemoBackend::routes()) {
            Call c;
            c.method = r.method;
            c.target = r.exampleTarget;
            c.token = r.requiresAuth ? backend.token() : QByteArray();
            if (r.name == QLatin1String("llm.chat.completions"))
                c.body = kChatBody;
            const Result result = call(backend, c);
            QVERIFY2(result.status == 200, qPrintable(r.name));
            QCOMPARE(backend.requestCount(r.name), quint64(1));
        }
        QCOMPARE(backend.totalRequests(), quint64(DemoBackend::routes().size()));
        QCOMPARE(backend.unauthorizedCount(), quint64(0));
        QCOMPARE(backend.requestCounts().size(), DemoBackend::routes().size());
    }

    void search()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        const Result a = get(backend, "/search?q=vega+console");
        QCOMPARE(a.status, 200);
        QVERIFY(a.header("Content-Type").startsWith("application/json"));
        QCOMPARE(a.header("Cache-Control"), QByteArray("public, max-age=30"));
        const QJsonObject json = a.json();
        QCOMPARE(json.value(QStringLiteral("query")).toString(), QStringLiteral("vega console"));
        const QJsonArray results = json.value(QStringLiteral("results")).toArray();
        QVERIFY(!results.isEmpty());
        QCOMPARE(json.value(QStringLiteral("total")).toInt(), results.size());
        QVERIFY(results.first()
                    .toObject()
                    .value(QStringLiteral("url"))
                    .toString()
                    .startsWith(QLatin1String("https://")));

        // Same key: same results, next serial. Other key: other results.
        const QJsonObject again = get(backend, "/search?q=vega%20console").json();
        QCOMPARE(again.value(QStringLiteral("results")), json.value(QStringLiteral("results")));
        QCOMPARE(again.value(QStringLiteral("serial")).toInt(),
                 json.value(QStringLiteral("serial")).toInt() + 1);
        const QJsonObject other = get(backend, "/search?q=breaker").json();
        QVERIFY(other.value(QStringLiteral("results")) != json.value(QStringLiteral("results")));

        QCOMPARE(get(backend, "/search").status, 400);
        QCOMPARE(backend.requestCount(QStringLiteral("search")), quint64(4));
    }

    void fetchRevalidates()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        const Result a = get(backend, "/fetch/42");
        QCOMPARE(a.status, 200);
        QCOMPARE(a.json().value(QStringLiteral("id")).toString(), QStringLiteral("42"));
        QCOMPARE(a.header("Cache-Control"), QByteArray("no-cache"));
        const QByteArray etag = a.header("ETag");
        QVERIFY(etag.startsWith("W/\""));
        QVERIFY(get(backend, "/fetch/43").header("ETag") != etag);

        Call c;
        c.target = "/fetch/42";
        c.headers = {{"If-None-Match", etag}};
        const Result notModified = call(backend, c);
        QCOMPARE(notModified.status, 304);
        QVERIFY(notModified.body.isEmpty());
        QCOMPARE(notModified.header("ETag"), etag);
        QCOMPARE(get(backend, "/fetch/").status, 404);
    }

    void slackAuthTest()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        Call c;
        c.method = "POST";
        c.target = "/slack/api/auth.test";
        Result r = call(backend, c);
        // Slack reports auth errors in the body with HTTP 200.
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(QStringLiteral("ok")).toBool(true), false);
        QCOMPARE(r.json().value(QStringLiteral("error")).toString(), QStringLiteral("not_authed"));

        c.token = "wrong";
        r = call(backend, c);
        QCOMPARE(r.json().value(QStringLiteral("error")).toString(), QStringLiteral("invalid_auth"));

        c.token = backend.token();
        r = call(backend, c);
        QCOMPARE(r.status, 200);
        QCOMPARE(r.json().value(QStringLiteral("ok")).toBool(), true);
        QCOMPARE(r.json().value(QStringLiteral("team")).toString(), QStringLiteral("Vega Demo"));
        QVERIFY(!r.json().value(QStringLiteral("user_id")).toString().isEmpty());
        QVERIFY(!r.header("X-Slack-Req-Id").isEmpty());

        // The form-field token works too.
        Call form;
        form.method = "POST";
        form.target = "/slack/api/auth.test";
        form.body = "token=" + backend.token();
        form.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
        QCOMPARE(call(backend, form).json().value(QStringLiteral("ok")).toBool(), true);

        QCOMPARE(get(backend, "/slack/api/auth.test").status, 405);
        QCOMPARE(backend.unauthorizedCount(), quint64(2));
        QCOMPARE(backend.unmatchedCount(), quint64(1));
    }

    void homeAssistant()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        const Result denied = get(backend, "/homeassistant/api/");
        QCOMPARE(denied.status, 401);
        QCOMPARE(denied.body, QByteArray("401: Unauthorized"));
        QCOMPARE(get(backend, "/homeassistant/api/", "nope").status, 401);
        const Result ok = get(backend, "/homeassistant/api/", backend.token());
        QCOMPARE(ok.status, 200);
        QCOMPARE(ok.json(), QJsonObject({{QStringLiteral("message"), QStringLiteral("API running.")}}));
    }

    void llmModels()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        const Result denied = get(backend, "/llm/v1/models");
        QCOMPARE(denied.status, 401);
        QCOMPARE(
            denied.json().value(QStringLiteral("error")).toObject().value(QStringLiteral("type")).toString(),
            QStringLiteral("invalid_request_error"));
        const Result ok = get(backend, "/llm/v1/models", backend.token());
        QCOMPARE(ok.status, 200);
        QCOMPARE(ok.json().value(QStringLiteral("object")).toString(), QStringLiteral("list"));
        const QJsonArray data = ok.json().value(QStringLiteral("data")).toArray();
        QVERIFY(!data.isEmpty());
        QCOMPARE(data.first().toObject().value(QStringLiteral("object")).toString(), QStringLiteral("model"));
    }

    void llmChatCompletion()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        Call c;
        c.method = "POST";
        c.target = "/llm/v1/chat/completions";
        c.token = backend.token();
        c.body = kChatBody;
        const Result r = call(backend, c);
        QCOMPARE(r.status, 200);
        const QJsonObject json = r.json();
        QCOMPARE(json.value(QStringLiteral("object")).toString(), QStringLiteral("chat.completion"));
        const QJsonObject message = json.value(QStringLiteral("choices"))
                                        .toArray()
                                        .first()
                                        .toObject()
                                        .value(QStringLiteral("message"))
                                        .toObject();
        QCOMPARE(message.value(QStringLiteral("role")).toString(), QStringLiteral("assistant"));
        QVERIFY(message.value(QStringLiteral("content"))
                    .toString()
                    .contains(QLatin1String("How is the cache doing?")));
        QVERIFY(json.value(QStringLiteral("usage")).toObject().value(QStringLiteral("total_tokens")).toInt() >
                0);

        c.body = "{not json";
        QCOMPARE(call(backend, c).status, 400);
        c.body = R"({"model":"gpt-missing","messages":[{"role":"user","content":"x"}]})";
        QCOMPARE(call(backend, c).status, 404);
    }

    void llmChatStreams()
    {
        ManualClock clock;
        DemoBackendOptions options = fastOptions(&clock);
        options.latencyScale = 0.5; // 10 ms between tokens
        DemoBackend backend(options);
        Call c;
        c.method = "POST";
        c.target = "/llm/v1/chat/completions";
        c.token = backend.token();
        c.body =
            R"({"model":"vega-demo-small","stream":true,"messages":[{"role":"user","content":"status?"}]})";
        const Result r = call(backend, c);
        QCOMPARE(r.status, 200);
        QVERIFY(r.header("Content-Type").startsWith("text/event-stream"));
        QVERIFY(r.readyReads > 3);

        QString content;
        QString finish;
        bool done = false;
        const QList<QByteArray> events = r.body.split('\n');
        for (const QByteArray &line : events) {
            if (!line.startsWith("data: "))
                continue;
            const QByteArray data = line.mid(6);
            if (data == "[DONE]") {
                done = true;
                continue;
            }
            QVERIFY(!done);
            const QJsonObject chunk = QJsonDocument::fromJson(data).object();
            QCOMPARE(chunk.value(QStringLiteral("object")).toString(),
                     QStringLiteral("chat.completion.chunk"));
            const QJsonObject choice = chunk.value(QStringLiteral("choices")).toArray().first().toObject();
            content +=
                choice.value(QStringLiteral("delta")).toObject().value(QStringLiteral("content")).toString();
            if (choice.value(QStringLiteral("finish_reason")).isString())
                finish = choice.value(QStringLiteral("finish_reason")).toString();
        }
        QVERIFY(done);
        QCOMPARE(finish, QStringLiteral("stop"));
        QVERIFY(content.contains(QLatin1String("status?")));
        QVERIFY(content.endsWith(QLatin1String("responded.")));
    }

    void externalApiAndFaultWindow()
    {
        ManualClock clock;
        DemoBackendOptions options = fastOptions(&clock);
        options.faultHangMs = 60000;
        DemoBackend backend(options);
        const Result ok = get(backend, "/external/items/7");
        QCOMPARE(ok.status, 200);
        QCOMPARE(ok.header("Cache-Control"), QByteArray("public, max-age=10"));
        QCOMPARE(ok.json().value(QStringLiteral("id")).toString(), QStringLiteral("7"));
        QVERIFY(get(backend, "/external/items/8").json().value(QStringLiteral("name")) !=
                ok.json().value(QStringLiteral("name")));

        backend.setFaultActive(true);
        QVERIFY(backend.faultActive());
        const Result first = get(backend, "/external/items/7");
        QCOMPARE(first.status, 503);
        QCOMPARE(first.header("Retry-After"), QByteArray("2"));
        const Result second = get(backend, "/external/items/7");
        QCOMPARE(second.status, 503);
        QVERIFY(second.header("Retry-After").isEmpty());
        QCOMPARE(get(backend, "/external/items/7").status, 503);
        // Every fourth call during a fault stalls: the client's timeout is what ends it.
        Call stalled;
        stalled.target = "/external/items/7";
        stalled.timeoutMs = 300;
        const Result timedOut = call(backend, stalled);
        QVERIFY(timedOut.error != QNetworkReply::NoError);
        QVERIFY(timedOut.elapsedMs >= 250);
        QCOMPARE(backend.faultCount(), quint64(4));

        // Other integrations are unaffected.
        QCOMPARE(get(backend, "/dbapi/orders/1").status, 200);

        backend.setFaultActive(false);
        QVERIFY(!backend.faultActive());
        QCOMPARE(get(backend, "/external/items/7").status, 200);
        QCOMPARE(backend.requestCount(QStringLiteral("external.items")), quint64(7));
    }

    void faultWindowFollowsTheClock()
    {
        ManualClock clock;
        DemoBackendOptions options = fastOptions(&clock);
        options.faultPeriodSeconds = 60;
        options.faultDurationSeconds = 12;
        DemoBackend backend(options);
        QVERIFY(!backend.faultActive());
        clock.advanceMs(47000);
        QVERIFY(!backend.faultActive());
        QCOMPARE(get(backend, "/external/items/1").status, 200);
        clock.advanceMs(2000); // 49 s: inside [48, 60)
        QVERIFY(backend.faultActive());
        QCOMPARE(get(backend, "/external/items/1").status, 503);
        clock.advanceMs(11000); // 60 s: the next period starts healthy
        QVERIFY(!backend.faultActive());
        QCOMPARE(get(backend, "/external/items/1").status, 200);
        clock.advanceMs(50000); // 110 s
        QVERIFY(backend.faultActive());

        backend.setFaultActive(false);
        QVERIFY(!backend.faultActive());
        backend.resumeFaultSchedule();
        QVERIFY(backend.faultActive());

        DemoBackendOptions never = fastOptions(&clock);
        never.faultPeriodSeconds = 0;
        DemoBackend healthy(never);
        clock.advanceMs(55000);
        QVERIFY(!healthy.faultActive());
    }

    void databaseApi()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        const Result r = get(backend, "/dbapi/orders/1001");
        QCOMPARE(r.status, 200);
        QCOMPARE(r.header("Cache-Control"), QByteArray("no-store"));
        const QJsonObject order = r.json();
        QCOMPARE(order.value(QStringLiteral("orderId")).toInteger(), qint64(1001));
        QVERIFY(!order.value(QStringLiteral("items")).toArray().isEmpty());
        QVERIFY(order.value(QStringLiteral("total")).toDouble() > 0);
        QCOMPARE(get(backend, "/dbapi/orders/1001").json().value(QStringLiteral("items")),
                 order.value(QStringLiteral("items")));
        QCOMPARE(get(backend, "/dbapi/orders/abc").status, 404);
    }

    void unknownPathsAndHead()
    {
        ManualClock clock;
        DemoBackend backend(fastOptions(&clock));
        QCOMPARE(get(backend, "/nope").status, 404);
        QCOMPARE(get(backend, "/external/items/a/b").status, 404);
        QCOMPARE(backend.unmatchedCount(), quint64(2));
        Call head;
        head.method = "HEAD";
        head.target = "/search?q=x";
        const Result r = call(backend, head);
        QCOMPARE(r.status, 200);
        QVERIFY(r.body.isEmpty());
        QVERIFY(r.header("Content-Length").toInt() > 0);
    }

    void latencyScales()
    {
        ManualClock clock;
        DemoBackendOptions options = fastOptions(&clock);
        options.latencyScale = 0.1;
        DemoBackend scaled(options);
        // Draws are clamped: LLM at 0.1 takes >= 22 ms, the database API at most ~5 ms.
        for (int i = 0; i < 3; ++i) {
            const Result llm = get(scaled, "/llm/v1/models", scaled.token());
            QCOMPARE(llm.status, 200);
            QVERIFY2(llm.elapsedMs >= 20, qPrintable(QString::number(llm.elapsedMs)));
            QVERIFY(llm.elapsedMs < 1000);
        }

        DemoBackend instant(fastOptions(&clock));
        QElapsedTimer timer;
        timer.start();
        for (int i = 0; i < 5; ++i)
            QCOMPARE(get(instant, "/llm/v1/models", instant.token()).status, 200);
        QVERIFY2(timer.elapsed() < 500, qPrintable(QString::number(timer.elapsed())));
    }

    void parallelRequestsAreServedTogether()
    {
        ManualClock clock;
        DemoBackendOptions options = fastOptions(&clock);
        options.latencyScale = 0.25;
        DemoBackend backend(options);
        std::vector<std::unique_ptr<QNetworkReply>> replies;
        for (int i = 0; i < 4; ++i) {
            QNetworkRequest request(backend.url("/llm/v1/models"));
            request.setRawHeader("Authorization", "Bearer " + backend.token());
            replies.emplace_back(m_nam.get(request));
        }
        QVERIFY(QTest::qWaitFor(
            [&] {
                return std::all_of(replies.begin(), replies.end(),
                                   [](const auto &r) { return r->isFinished(); });
            },
            10000));
        for (const auto &r : replies)
            QCOMPARE(r->error(), QNetworkReply::NoError);
        QCOMPARE(backend.server()->connectionsAccepted(), quint64(4));
        QCOMPARE(backend.server()->requestsServed(), quint64(4));
        QCOMPARE(backend.requestCount(QStringLiteral("llm.models")), quint64(4));
    }
};

QTEST_GUILESS_MAIN(TestDemoBackend)
#include "tst_demobackend.moc"
