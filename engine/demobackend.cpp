#include "demobackend.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QUrlQuery>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <vector>

namespace vega {

namespace {

enum RouteIndex { Search, Fetch, Slack, HomeAssistant, LlmModels, LlmChat, External, DbApi, RouteCount };

const QByteArray kJson = QByteArrayLiteral("application/json; charset=utf-8");
constexpr double kTokenIntervalMs = 20;   // between streamed LLM tokens, before scaling
constexpr qint64 kEpoch2024 = 1704067200; // 2024-01-01T00:00:00Z

// Stable across runs and processes, unlike qHash.
quint64 stableHash(const QByteArray &data)
{
    quint64 h = 14695981039346656037ULL;
    for (char c : data) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return h;
}

QByteArray toJson(const QJsonObject &object)
{
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

HttpServerResponse json(int status, const QJsonObject &object)
{
    return HttpServerResponse::make(status, toJson(object), kJson);
}

// The key segment after @p prefix: one non-empty path segment, percent-decoded.
QByteArray keyAfter(const QByteArray &path, const char *prefix)
{
    const QByteArray rest = path.mid(qsizetype(qstrlen(prefix)));
    if (rest.isEmpty() || rest.size() > 128 || rest.contains('/'))
        return {};
    return QByteArray::fromPercentEncoding(rest);
}

QString isoDay(quint64 hash)
{
    return QDateTime::fromSecsSinceEpoch(kEpoch2024 + qint64(hash % (365ULL * 86400ULL)), Qt::UTC)
        .toString(Qt::ISODate);
}

// If-None-Match uses the weak comparison: W/ prefixes are ignored.
bool matchesIfNoneMatch(const QByteArray &header, const QByteArray &etag)
{
    const auto strip = [](QByteArray tag) { return tag.startsWith("W/") ? tag.mid(2) : tag; };
    const QList<QByteArray> tags = header.split(',');
    for (const QByteArray &tag : tags) {
        const QByteArray t = tag.trimmed();
        if (t == "*" || (!t.isEmpty() && strip(t) == strip(etag)))
            return true;
    }
    return false;
}

QJsonObject openAiError(const QString &message, const QString &code)
{
    QJsonObject error{
        {QStringLiteral("message"), message},
        {QStringLiteral("type"), QStringLiteral("invalid_request_error")},
        {QStringLiteral("param"), QJsonValue::Null},
        {QStringLiteral("code"), code.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(code)}};
    return QJsonObject{{QStringLiteral("error"), error}};
}

} // namespace

struct DemoBackend::State {
    explicit State(const DemoBackendOptions &o)
        : options(o), routes(DemoBackend::routes()), counts(RouteCount), startMs(o.clock->nowMs()),
          rng(o.seed)
    {
        for (auto &c : counts)
            c.store(0);
    }

    enum class Auth { Ok, Missing, Wrong };

    bool faultActive() const
    {
        const int mode = faultMode.load();
        if (mode != 0)
            return mode == 1;
        const qint64 periodMs = qint64(options.faultPeriodSeconds) * 1000;
        const qint64 durationMs = qint64(options.faultDurationSeconds) * 1000;
        if (periodMs <= 0 || durationMs <= 0)
            return false;
        // The window sits at the end of each period, so a fresh backend starts healthy.
        const qint64 phase = (options.clock->nowMs() - startMs) % periodMs;
        return phase >= periodMs - durationMs;
    }

    // Log-normal around the route's median; server thread only (the generator is not shared).
    int latencyMs(RouteIndex route)
    {
        if (options.latencyScale <= 0)
            return 0;
        const double sigma = route == LlmModels || route == LlmChat ? 0.4 : 0.35;
        // Clamped so one draw cannot stall a demo (or a test) for seconds.
        const double z = std::clamp(normal(rng), -2.5, 3.0);
        const double ms = routes.at(route).medianLatencyMs * std::exp(sigma * z) * options.latencyScale;
        return int(std::lround(ms));
    }

    Auth bearer(const HttpServerRequest &r) const
    {
        const QByteArray value = r.header("authorization");
        if (value.isEmpty())
            return Auth::Missing;
        if (value.size() < 7 || value.left(7).compare("bearer ", Qt::CaseInsensitive) != 0)
            return Auth::Wrong;
        return value.mid(7).trimmed() == options.token ? Auth::Ok : Auth::Wrong;
    }

    quint64 count(RouteIndex route) { return counts[size_t(route)].fetch_add(1) + 1; }

    HttpServerResponse handle(const HttpServerRequest &r);
    HttpServerResponse search(const HttpServerRequest &r, quint64 serial);
    HttpServerResponse fetch(const HttpServerRequest &r, const QByteArray &id, quint64 serial);
    HttpServerResponse slack(const HttpServerRequest &r, quint64 serial);
    HttpServerResponse homeAssistant(const HttpServerRequest &r);
    HttpServerResponse llmModels(const HttpServerRequest &r);
    HttpServerResponse llmChat(const HttpServerRequest &r, quint64 serial);
    HttpServerResponse external(const QByteArray &id, quint64 serial);
    HttpServerResponse dbapi(const QByteArray &id, quint64 serial);

    const DemoBackendOptions options;
    const QList<DemoRoute> routes;
    std::vector<std::atomic<quint64>> counts; // by RouteIndex
    std::atomic<quint64> total{0};
    std::atomic<quint64> unauthorized{0};
    std::atomic<quint64> faults{0};
    std::atomic<quint64> unmatched{0};
    std::atomic<int> faultMode{0}; // 0 scheduled, 1 forced on, 2 forced off
    const qint64 startMs;
    std::mt19937_64 rng;                           // server thread only
    std::normal_distribution<double> normal{0, 1}; // server thread only
};

HttpServerResponse DemoBackend::State::handle(const HttpServerRequest &r)
{
    total.fetch_add(1);
    const QByteArray &path = r.path;
    const bool get = r.method == "GET" || r.method == "HEAD";
    const bool post = r.method == "POST";

    RouteIndex route = RouteCount;
    QByteArray id;
    if (path == "/search") {
        route = Search;
    } else if (path.startsWith("/fetch/")) {
        id = keyAfter(path, "/fetch/");
        route = id.isEmpty() ? RouteCount : Fetch;
    } else if (path == "/slack/api/auth.test") {
        route = Slack;
    } else if (path == "/homeassistant/api/") {
        route = HomeAssistant;
    } else if (path == "/llm/v1/models") {
        route = LlmModels;
    } else if (path == "/llm/v1/chat/completions") {
        route = LlmChat;
    } else if (path.startsWith("/external/items/")) {
        id = keyAfter(path, "/external/items/");
        route = id.isEmpty() ? RouteCount : External;
    } else if (path.startsWith("/dbapi/orders/")) {
        id = keyAfter(path, "/dbapi/orders/");
        route = id.isEmpty() ? RouteCount : DbApi;
    }
    if (route == RouteCount) {
        unmatched.fetch_add(1);
        return json(404, {{QStringLiteral("error"), QStringLiteral("not_found")},
                          {QStringLiteral("path"), QString::fromUtf8(path)}});
    }
    const DemoRoute &info = routes.at(route);
    if (!(info.method == "GET" ? get : post)) {
        unmatched.fetch_add(1);
        return json(405, {{QStringLiteral("error"), QStringLiteral("method_not_allowed")}})
            .setHeader("Allow", info.method == "GET" ? QByteArrayLiteral("GET, HEAD") : info.method);
    }

    const quint64 serial = count(route);
    HttpServerResponse response;
    switch (route) {
    case Search:
        response = search(r, serial);
        break;
    case Fetch:
        response = fetch(r, id, serial);
        break;
    case Slack:
        response = slack(r, serial);
        break;
    case HomeAssistant:
        response = homeAssistant(r);
        break;
    case LlmModels:
        response = llmModels(r);
        break;
    case LlmChat:
        response = llmChat(r, serial);
        break;
    case External:
        response = external(id, serial);
        break;
    case DbApi:
        response = dbapi(id, serial);
        break;
    case RouteCount:
        break;
    }
    // A fault's own delay (a stall) replaces the route's latency.
    if (response.delayMs == 0)
        response.delayMs = latencyMs(route);
    return response;
}

HttpServerResponse DemoBackend::State::search(const HttpServerRequest &r, quint64 serial)
{
    // Forms encode spaces as '+'; QUrlQuery does not.
    QByteArray query = r.query;
    query.replace('+', "%20");
    const QString q =
        QUrlQuery(QString::fromLatin1(query)).queryItemValue(QStringLiteral("q"), QUrl::FullyDecoded);
    if (q.trimmed().isEmpty())
        return json(400, {{QStringLiteral("error"), QStringLiteral("missing query parameter q")}});
    const quint64 h = stableHash(q.toUtf8());
    const int total = 3 + int(h % 5);
    QJsonArray results;
    for (int i = 0; i < total; ++i) {
        const quint64 doc = (h >> (i * 4)) % 100000;
        results.append(QJsonObject{
            {QStringLiteral("id"), QStringLiteral("doc-%1").arg(doc)},
            {QStringLiteral("title"), QStringLiteral("%1 — result %2").arg(q).arg(i + 1)},
            {QStringLiteral("url"), QStringLiteral("https://docs.example.com/articles/%1").arg(doc)},
            {QStringLiteral("snippet"),
             QStringLiteral("How %1 works, with examples and troubleshooting notes.").arg(q)},
            {QStringLiteral("score"), std::round((1.0 - i * 0.12) * 1000) / 1000},
        });
    }
    return json(200, {{QStringLiteral("query"), q},
                      {QStringLiteral("total"), total},
                      {QStringLiteral("results"), results},
                      {QStringLiteral("serial"), qint64(serial)}})
        .setHeader("Cache-Control", "public, max-age=30");
}

HttpServerResponse DemoBackend::State::fetch(const HttpServerRequest &r, const QByteArray &id, quint64 serial)
{
    const quint64 h = stableHash(id);
    const QString key = QString::fromUtf8(id);
    const QString content = QStringLiteral("Page %1. ").arg(key).repeated(4 + int(h % 12));
    // Weak: the serial differs between otherwise equivalent bodies.
    const QByteArray etag =
        "W/\"" +
        QCryptographicHash::hash(QByteArray(id + content.toUtf8()), QCryptographicHash::Sha1)
            .toHex()
            .left(16) +
        '"';
    if (matchesIfNoneMatch(r.header("if-none-match"), etag)) {
        HttpServerResponse notModified;
        notModified.status = 304;
        return notModified.setHeader("ETag", etag).setHeader("Cache-Control", "no-cache");
    }
    return json(200, {{QStringLiteral("id"), key},
                      {QStringLiteral("url"), QStringLiteral("https://example.com/pages/%1").arg(key)},
                      {QStringLiteral("title"), QStringLiteral("Page %1").arg(key)},
                      {QStringLiteral("content"), content},
                      {QStringLiteral("fetchedAt"), isoDay(h)},
                      {QStringLiteral("serial"), qint64(serial)}})
        .setHeader("ETag", etag)
        .setHeader("Cache-Control", "no-cache");
}

HttpServerResponse DemoBackend::State::slack(const HttpServerRequest &r, quint64 serial)
{
    // Slack takes the token as a bearer header or as a form field; errors are HTTP 200 with ok:false.
    Auth auth = bearer(r);
    if (auth == Auth::Missing && r.header("content-type").startsWith("application/x-www-form-urlencoded")) {
        const QString token = QUrlQuery(QString::fromLatin1(r.body))
                                  .queryItemValue(QStringLiteral("token"), QUrl::FullyDecoded);
        if (!token.isEmpty())
            auth = token.toUtf8() == options.token ? Auth::Ok : Auth::Wrong;
    }
    HttpServerResponse response;
    if (auth != Auth::Ok) {
        unauthorized.fetch_add(1);
        response =
            json(200, {{QStringLiteral("ok"), false},
                       {QStringLiteral("error"), auth == Auth::Missing ? QStringLiteral("not_authed")
                                                                       : QStringLiteral("invalid_auth")}});
    } else {
        response = json(200, {{QStringLiteral("ok"), true},
                              {QStringLiteral("url"), QStringLiteral("https://vega-demo.slack.com/")},
                              {QStringLiteral("team"), QStringLiteral("Vega Demo")},
                              {QStringLiteral("user"), QStringLiteral("vega-bot")},
                              {QStringLiteral("team_id"), QStringLiteral("T0VEGADEMO")},
                              {QStringLiteral("user_id"), QStringLiteral("U0VEGABOT")},
                              {QStringLiteral("bot_id"), QStringLiteral("B0VEGABOT")},
                              {QStringLiteral("is_enterprise_install"), false}});
    }
    return response.setHeader("Cache-Control", "private, no-cache, no-store, must-revalidate")
        .setHeader("X-Slack-Req-Id", QByteArray::number(serial, 16).rightJustified(12, '0'));
}

HttpServerResponse DemoBackend::State::homeAssistant(const HttpServerRequest &r)
{
    if (bearer(r) != Auth::Ok) {
        unauthorized.fetch_add(1);
        return HttpServerResponse::make(401, "401: Unauthorized", "text/plain; charset=utf-8");
    }
    return json(200, {{QStringLiteral("message"), QStringLiteral("API running.")}});
}

HttpServerResponse DemoBackend::State::llmModels(const HttpServerRequest &r)
{
    const Auth auth = bearer(r);
    if (auth != Auth::Ok) {
        unauthorized.fetch_add(1);
        return auth == Auth::Missing
                   ? json(401, openAiError(QStringLiteral("You didn't provide an API key."), {}))
                   : json(401, openAiError(QStringLiteral("Incorrect API key provided."),
                                           QStringLiteral("invalid_api_key")));
    }
    QJsonArray models;
    const QStringList ids = {QStringLiteral("vega-demo-small"), QStringLiteral("vega-demo-large")};
    for (const QString &id : ids) {
        models.append(QJsonObject{{QStringLiteral("id"), id},
                                  {QStringLiteral("object"), QStringLiteral("model")},
                                  {QStringLiteral("created"), qint64(kEpoch2024)},
                                  {QStringLiteral("owned_by"), QStringLiteral("vega")}});
    }
    return json(200, {{QStringLiteral("object"), QStringLiteral("list")}, {QStringLiteral("data"), models}});
}

HttpServerResponse DemoBackend::State::llmChat(const HttpServerRequest &r, quint64 serial)
{
    const Auth auth = bearer(r);
    if (auth != Auth::Ok) {
        unauthorized.fetch_add(1);
        return auth == Auth::Missing
                   ? json(401, openAiError(QStringLiteral("You didn't provide an API key."), {}))
                   : json(401, openAiError(QStringLiteral("Incorrect API key provided."),
                                           QStringLiteral("invalid_api_key")));
    }
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(r.body, &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject())
        return json(400,
                    openAiError(QStringLiteral("We could not parse the JSON body of your request."), {}));
    const QJsonObject request = doc.object();
    const QJsonArray messages = request.value(QStringLiteral("messages")).toArray();
    if (messages.isEmpty())
        return json(400, openAiError(QStringLiteral("'messages' is a required property"), {}));
    const QString model = request.value(QStringLiteral("model")).toString(QStringLiteral("vega-demo-small"));
    if (model != QLatin1String("vega-demo-small") && model != QLatin1String("vega-demo-large"))
        return json(404, openAiError(QStringLiteral("The model `%1` does not exist").arg(model),
                                     QStringLiteral("model_not_found")));

    QString prompt;
    int promptChars = 0;
    for (const QJsonValue &m : messages) {
        const QString content = m.toObject().value(QStringLiteral("content")).toString();
        promptChars += int(content.size());
        if (m.toObject().value(QStringLiteral("role")).toString() == QLatin1String("user"))
            prompt = content;
    }
    const QString topic = prompt.simplified().left(48);
    const QString reply =
        QStringLiteral("Here is a short answer about \"%1\": the Vega demo backend is healthy "
                       "and every integration responded.")
            .arg(topic.isEmpty() ? QStringLiteral("nothing") : topic);
    const QStringList words = reply.split(QLatin1Char(' '));
    const int promptTokens = qMax(1, promptChars / 4);
    const int completionTokens = int(words.size());
    const QString id = QStringLiteral("chatcmpl-vega%1").arg(serial);
    const qint64 created = QDateTime::currentSecsSinceEpoch();

    if (!request.value(QStringLiteral("stream")).toBool()) {
        const QJsonObject message{{QStringLiteral("role"), QStringLiteral("assistant")},
                                  {QStringLiteral("content"), reply}};
        const QJsonObject choice{{QStringLiteral("index"), 0},
                                 {QStringLiteral("message"), message},
                                 {QStringLiteral("finish_reason"), QStringLiteral("stop")}};
        const QJsonObject usage{{QStringLiteral("prompt_tokens"), promptTokens},
                                {QStringLiteral("completion_tokens"), completionTokens},
                                {QStringLiteral("total_tokens"), promptTokens + completionTokens}};
        return json(200, {{QStringLiteral("id"), id},
                          {QStringLiteral("object"), QStringLiteral("chat.completion")},
                          {QStringLiteral("created"), created},
                          {QStringLiteral("model"), model},
                          {QStringLiteral("choices"), QJsonArray{choice}},
                          {QStringLiteral("usage"), usage}});
    }

    // Server-sent events: a role delta, one delta per token, a stop delta, then [DONE].
    const auto event = [&](const QJsonObject &delta, const QJsonValue &finish) -> QByteArray {
        const QJsonObject choice{{QStringLiteral("index"), 0},
                                 {QStringLiteral("delta"), delta},
                                 {QStringLiteral("finish_reason"), finish}};
        const QJsonObject chunk{{QStringLiteral("id"), id},
                                {QStringLiteral("object"), QStringLiteral("chat.completion.chunk")},
                                {QStringLiteral("created"), created},
                                {QStringLiteral("model"), model},
                                {QStringLiteral("choices"), QJsonArray{choice}}};
        return "data: " + toJson(chunk) + "\n\n";
    };
    HttpServerResponse response;
    response.setHeader("Content-Type", "text/event-stream; charset=utf-8")
        .setHeader("Cache-Control", "no-cache");
    response.chunks.append(event(QJsonObject{{QStringLiteral("role"), QStringLiteral("assistant")},
                                             {QStringLiteral("content"), QString()}},
                                 QJsonValue::Null));
    for (qsizetype i = 0; i < words.size(); ++i) {
        const QString token = i == 0 ? words.at(i) : QLatin1Char(' ') + words.at(i);
        response.chunks.append(event(QJsonObject{{QStringLiteral("content"), token}}, QJsonValue::Null));
    }
    response.chunks.append(event(QJsonObject{}, QStringLiteral("stop")));
    response.chunks.append(QByteArrayLiteral("data: [DONE]\n\n"));
    response.chunkIntervalMs = int(std::lround(kTokenIntervalMs * qMax(0.0, options.latencyScale)));
    return response;
}

HttpServerResponse DemoBackend::State::external(const QByteArray &id, quint64 serial)
{
    if (faultActive()) {
        const quint64 n = faults.fetch_add(1) + 1;
        if (n % 4 == 0) {
            // A stall: the client's timeout fires long before this 504 would arrive.
            HttpServerResponse stall =
                json(504, {{QStringLiteral("error"), QStringLiteral("upstream_timeout")}});
            stall.delayMs = qMax(1, options.faultHangMs);
            return stall;
        }
        HttpServerResponse unavailable = json(
            503, {{QStringLiteral("error"), QStringLiteral("service_unavailable")},
                  {QStringLiteral("message"), QStringLiteral("The items service is temporarily degraded.")}});
        if (n % 2 == 1)
            unavailable.setHeader("Retry-After", "2");
        return unavailable.setHeader("Cache-Control", "no-store");
    }
    const quint64 h = stableHash(id);
    const QString key = QString::fromUtf8(id);
    const QJsonObject price{{QStringLiteral("amount"), double(500 + h % 99500) / 100.0},
                            {QStringLiteral("currency"), QStringLiteral("EUR")}};
    return json(200, {{QStringLiteral("id"), key},
                      {QStringLiteral("name"), QStringLiteral("Item %1").arg(key)},
                      {QStringLiteral("price"), price},
                      {QStringLiteral("stock"), int(h % 250)},
                      {QStringLiteral("updatedAt"), isoDay(h)},
                      {QStringLiteral("serial"), qint64(serial)}})
        .setHeader("Cache-Control", "public, max-age=10");
}

HttpServerResponse DemoBackend::State::dbapi(const QByteArray &id, quint64 serial)
{
    bool numeric = false;
    const qint64 orderId = id.toLongLong(&numeric);
    if (!numeric || orderId <= 0)
        return json(404, {{QStringLiteral("error"), QStringLiteral("order_not_found")},
                          {QStringLiteral("orderId"), QString::fromUtf8(id)}})
            .setHeader("Cache-Control", "no-store");
    const quint64 h = stableHash(id);
    static const char *const statuses[] = {"pending", "paid", "shipped", "delivered"};
    QJsonArray items;
    double total = 0;
    const int lines = 1 + int(h % 4);
    for (int i = 0; i < lines; ++i) {
        const quint64 item = (h >> (8 * i)) & 0xffff;
        const int qty = 1 + int(item % 3);
        const double unit = double(199 + item % 9800) / 100.0;
        total += qty * unit;
        items.append(
            QJsonObject{{QStringLiteral("sku"), QStringLiteral("SKU-%1").arg(item, 5, 10, QLatin1Char('0'))},
                        {QStringLiteral("qty"), qty},
                        {QStringLiteral("unitPrice"), unit}});
    }
    return json(200, {{QStringLiteral("orderId"), orderId},
                      {QStringLiteral("customerId"),
                       QStringLiteral("C%1").arg(h % 100000, 5, 10, QLatin1Char('0'))},
                      {QStringLiteral("status"), QLatin1String(statuses[h % 4])},
                      {QStringLiteral("items"), items},
                      {QStringLiteral("total"), std::round(total * 100) / 100},
                      {QStringLiteral("currency"), QStringLiteral("EUR")},
                      {QStringLiteral("serial"), qint64(serial)}})
        .setHeader("Cache-Control", "no-store");
}

DemoBackend::DemoBackend(const DemoBackendOptions &options) : m_state(std::make_unique<State>(options))
{
    State *state = m_state.get();
    m_thread = std::make_unique<LocalHttpServerThread>(
        [state](const HttpServerRequest &r) { return state->handle(r); }, options.port);
}

DemoBackend::~DemoBackend() = default;

bool DemoBackend::isListening() const
{
    return m_thread->isListening();
}

quint16 DemoBackend::port() const
{
    return m_thread->port();
}

QUrl DemoBackend::baseUrl() const
{
    return m_thread->baseUrl();
}

QUrl DemoBackend::url(const QByteArray &target) const
{
    return baseUrl().resolved(QUrl::fromEncoded(target));
}

QByteArray DemoBackend::token() const
{
    return m_state->options.token;
}

const DemoBackendOptions &DemoBackend::options() const
{
    return m_state->options;
}

LocalHttpServer *DemoBackend::server() const
{
    return m_thread->server();
}

QList<DemoRoute> DemoBackend::routes()
{
    // Order matches RouteIndex.
    return {
        {QStringLiteral("search"), QStringLiteral("search"), "GET", "/search", "/search?q=vega+console", 40,
         false},
        {QStringLiteral("fetch"), QStringLiteral("fetch"), "GET", "/fetch/{id}", "/fetch/42", 80, false},
        {QStringLiteral("slack.auth.test"), QStringLiteral("slack"), "POST", "/slack/api/auth.test",
         "/slack/api/auth.test", 120, true},
        {QStringLiteral("homeassistant.api"), QStringLiteral("homeassistant"), "GET", "/homeassistant/api/",
         "/homeassistant/api/", 25, true},
        {QStringLiteral("llm.models"), QStringLiteral("llm"), "GET", "/llm/v1/models", "/llm/v1/models", 600,
         true},
        {QStringLiteral("llm.chat.completions"), QStringLiteral("llm"), "POST", "/llm/v1/chat/completions",
         "/llm/v1/chat/completions", 600, true},
        {QStringLiteral("external.items"), QStringLiteral("external"), "GET", "/external/items/{id}",
         "/external/items/7", 60, false},
        {QStringLiteral("dbapi.orders"), QStringLiteral("dbapi"), "GET", "/dbapi/orders/{id}",
         "/dbapi/orders/1001", 15, false},
    };
}

void DemoBackend::setFaultActive(bool active)
{
    m_state->faultMode.store(active ? 1 : 2);
}

void DemoBackend::resumeFaultSchedule()
{
    m_state->faultMode.store(0);
}

bool DemoBackend::faultActive() const
{
    return m_state->faultActive();
}

quint64 DemoBackend::requestCount(const QString &routeName) const
{
    for (int i = 0; i < RouteCount; ++i) {
        if (m_state->routes.at(i).name == routeName)
            return m_state->counts[size_t(i)].load();
    }
    return 0;
}

QHash<QString, quint64> DemoBackend::requestCounts() const
{
    QHash<QString, quint64> counts;
    for (int i = 0; i < RouteCount; ++i)
        counts.insert(m_state->routes.at(i).name, m_state->counts[size_t(i)].load());
    return counts;
}

quint64 DemoBackend::totalRequests() const
{
    return m_state->total.load();
}

quint64 DemoBackend::unauthorizedCount() const
{
    return m_state->unauthorized.load();
}

quint64 DemoBackend::faultCount() const
{
    return m_state->faults.load();
}

quint64 DemoBackend::unmatchedCount() const
{
    return m_state->unmatched.load();
}

} // namespace vega
