#pragma once

#include "clock.h"
#include "config.h"
#include "systemdiagnostics.h"

#include <QList>
#include <QObject>
#include <QString>

#include <memory>

namespace vega {

class HttpClient;
class MetricsRegistry;

/// An integration's state reuses vega::Health: Ok = healthy, Warning = degraded (answers
/// correctly but slower than health.latency_threshold_ms), Critical = unhealthy, Unknown =
/// not checked yet. Returns "healthy", "degraded", "unhealthy" or "unknown".
QString integrationStateName(Health state);

/// What is known about one integration after its latest health check. A value struct: the
/// monitor hands out copies.
struct IntegrationStatus {
    QString name;
    IntegrationKind kind = IntegrationKind::ExternalApi;
    /// What the check does, with ${NAME} references unexpanded: "POST https://slack.com/api/auth.test",
    /// "GET http://ha.local:8123/api/", "SELECT 1 on sqlite:/data/app.db".
    QString target;
    Health state = Health::Unknown;
    /// Why the state: empty when healthy, the latency when degraded, the error when unhealthy.
    QString reason;
    double latencyMs = -1;        // of the latest check; -1 before the first
    int httpStatus = 0;           // of the latest check; 0 without an HTTP answer
    qint64 lastCheckWallMs = 0;   // UTC ms since epoch; 0 before the first check
    qint64 lastSuccessWallMs = 0; // latest healthy or degraded check; 0 when none yet
    /// Text of the latest unhealthy check (kept after recovery). Never contains a secret:
    /// the token, the variables it references and variables in the url whose name contains
    /// TOKEN, KEY, SECRET, PASS, AUTH or CRED are replaced by "<redacted>".
    QString lastError;
    qint64 lastErrorWallMs = 0;
    int consecutiveFailures = 0; // unhealthy checks in a row
    quint64 checksRun = 0;
    bool checking = false; // a check is in flight
};

/**
 * Health-checks the configured integrations on a jittered schedule and publishes their
 * state. Every HTTP check goes through the engine's HttpClient (so the host's rate limiter,
 * circuit breaker and connection pool apply) with the response cache, coalescing and retries
 * bypassed: a check reports what the backend answers now, in one attempt bounded by
 * health.timeout_ms.
 *
 * Contracts (URL = integrations.<name>.url joined with health.path):
 *  - slack: POST URL/auth.test with "Authorization: Bearer <token>"; healthy on 200 with JSON
 *    "ok": true; "ok": false is unhealthy with Slack's "error" field as the reason.
 *  - home_assistant: GET URL/api/ (bearer); healthy on 200 with {"message": "API running."}.
 *  - llm: GET URL/v1/models (bearer when a token is set); healthy on 200 with a JSON "data" array.
 *  - search, fetch, external_api: GET URL+path (bearer when a token is set); healthy on 2xx.
 *  - database: on a worker thread (one QThread per database integration), a fresh Qt Sql
 *    connection per check runs SELECT 1 (SQLite: opened read-only, so a check never creates
 *    a file, and the schema is read so a non-database file fails). A check that has not
 *    answered after health.timeout_ms is unhealthy; its late answer is ignored, and no new
 *    check is queued behind one still running.
 * Any kind: healthy but slower than health.latency_threshold_ms is degraded.
 *
 * ${NAME} references in url, health.path and auth.token are expanded for each check and
 * never stored expanded; an unset variable makes the check unhealthy with "environment
 * variable NAME is not set" (no request is sent).
 *
 * Scheduling: after start(), the first checks are spread over the first
 * min(interval, 2 s), then each integration is checked every health.interval_s ±10%
 * (counted from the end of the previous check, so checks of one integration never overlap).
 *
 * Publishes, when a registry is given: gauge integration_up{integration,kind} (1 healthy or
 * degraded, 0 unhealthy; created at the first result), histogram
 * integration_check_duration{integration} (ns), counter
 * integration_checks{integration,outcome=healthy|degraded|unhealthy}; and every state
 * change as a journal event ("integration", <name>, "healthy -> unhealthy: <reason>"),
 * the first result included ("unknown -> healthy").
 *
 * Lives on the thread that creates it (the engine's); the HttpClient and the registry must
 * outlive it.
 */
class IntegrationMonitor : public QObject {
    Q_OBJECT
public:
    IntegrationMonitor(const QList<IntegrationConfig> &integrations, HttpClient *http, MetricsRegistry *registry,
                       Clock *clock = Clock::system(), QObject *parent = nullptr);
    ~IntegrationMonitor() override;

    /// Starts the schedule. Does nothing when already running.
    void start();
    /// Stops the schedule and abandons checks in flight (their results are dropped).
    void stop();
    bool isRunning() const;

    /// Every integration, sorted by name.
    QList<IntegrationStatus> statuses() const;
    /// One integration's status; a status with an empty name when there is none.
    IntegrationStatus status(const QString &name) const;
    QStringList names() const;

    /// Checks one integration (or all when `name` is empty) now, whether or not the
    /// schedule runs; an integration whose check is in flight is left alone. Returns false
    /// when `name` is not an integration.
    bool checkNow(const QString &name = {});

    /// Seeds the schedule's jitter (tests).
    void setRandomSeed(quint64 seed);

Q_SIGNALS:
    /// After every completed check (latency, counts and perhaps the state changed).
    void statusChanged(const vega::IntegrationStatus &status);

private:
    class Private;
    std::unique_ptr<Private> d;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::IntegrationStatus)
