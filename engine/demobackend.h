#pragma once

#include "clock.h"
#include "localhttpserver.h"

#include <QByteArray>
#include <QHash>
#include <QList>
#include <QString>
#include <QUrl>

#include <memory>

namespace vega {

/// One endpoint the demo backend serves.
struct DemoRoute {
    QString name;              ///< stable id, e.g. "slack.auth.test"
    QString kind;              ///< integration: search, fetch, slack, homeassistant, llm, external, dbapi
    QByteArray method;         ///< "GET" or "POST" (GET routes also answer HEAD)
    QByteArray path;           ///< pattern; "{id}" marks the key segment
    QByteArray exampleTarget;  ///< a target that answers 200 (with the token where auth is required)
    int medianLatencyMs = 0;   ///< before DemoBackendOptions::latencyScale
    bool requiresAuth = false; ///< "Authorization: Bearer <token>"
};

struct DemoBackendOptions {
    /// Multiplies every simulated latency (and the LLM's token interval); 0 answers at once.
    double latencyScale = 1.0;
    /// A fault window opens once per period, at its end (0 = no scheduled faults).
    int faultPeriodSeconds = 60;
    int faultDurationSeconds = 12;
    /// How long a "timed out" external call stalls before it finally answers 504 (not scaled).
    int faultHangMs = 30000;
    /// The bearer token the authenticated integrations accept.
    QByteArray token = QByteArrayLiteral("vega-demo-token");
    quint16 port = 0;
    /// Seeds the latency draws so runs are repeatable.
    quint64 seed = 0x5eed5eedULL;
    /// Drives the fault schedule; tests pass a ManualClock.
    Clock *clock = Clock::system();
};

/**
 * The local backend the demo workload talks to: the seven integrations the console monitors,
 * each with its real contract shape and a realistic (log-normal) latency, served by a
 * LocalHttpServer on its own thread.
 *
 *  - search:        GET  /search?q=...                   Cache-Control: public, max-age=30
 *  - fetch:         GET  /fetch/{id}                     ETag + no-cache (If-None-Match gives 304)
 *  - slack:         POST /slack/api/auth.test            bearer; {"ok":false,"error":"not_authed"} without
 *  - homeassistant: GET  /homeassistant/api/             bearer; 401 without
 *  - llm:           GET  /llm/v1/models, POST /llm/v1/chat/completions (SSE when "stream": true); bearer
 *  - external:      GET  /external/items/{id}            Cache-Control: max-age=10; the faulty one
 *  - dbapi:         GET  /dbapi/orders/{id}              Cache-Control: no-store
 *
 * Bodies depend on the key in the URL and carry a per-route "serial" so caching and
 * request coalescing are visible to the client. During a fault window the external API answers
 * 503 (every other one with Retry-After) and every fourth call stalls (a timeout for the client).
 *
 * Thread-safe: everything runs on the server's thread; the counters are atomics.
 */
class DemoBackend {
public:
    explicit DemoBackend(const DemoBackendOptions &options = {});
    ~DemoBackend();
    DemoBackend(const DemoBackend &) = delete;
    DemoBackend &operator=(const DemoBackend &) = delete;

    bool isListening() const;
    quint16 port() const;
    QUrl baseUrl() const;
    /// baseUrl() + target, e.g. url("/search?q=x").
    QUrl url(const QByteArray &target) const;
    QByteArray token() const;
    const DemoBackendOptions &options() const;
    /// The underlying server, living on its own thread: call only its thread-safe members
    /// (counters, keep-alive settings).
    LocalHttpServer *server() const;

    /// Every route, in a stable order.
    static QList<DemoRoute> routes();

    /// Forces the external API's fault window on or off, overriding the schedule.
    void setFaultActive(bool active);
    /// Returns to the periodic schedule.
    void resumeFaultSchedule();
    /// Whether the external API is failing right now (forced or scheduled).
    bool faultActive() const;

    /// Requests that matched the route (any outcome), by DemoRoute::name; 0 for unknown names.
    quint64 requestCount(const QString &routeName) const;
    QHash<QString, quint64> requestCounts() const;
    quint64 totalRequests() const;
    /// Answers refused for a missing or wrong token.
    quint64 unauthorizedCount() const;
    /// 503s and stalls produced by the fault window.
    quint64 faultCount() const;
    /// Requests no route matched (404/405).
    quint64 unmatchedCount() const;

private:
    struct State;
    std::unique_ptr<State> m_state; // outlives the server thread, whose handler uses it
    std::unique_ptr<LocalHttpServerThread> m_thread;
};

} // namespace vega
