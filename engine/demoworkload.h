#pragma once

#include "demobackend.h"

#include <QObject>
#include <QTimer>

#include <memory>
#include <random>
#include <vector>

namespace vega {

class Counter;
class HttpClient;
class MetricsRegistry;

struct DemoWorkloadOptions {
    double requestsPerSecond = 40;  // steady traffic, spread over the integrations
    int keysPerRoute = 300;         // distinct keys per keyed route
    double zipfExponent = 1.0;      // skew of key popularity
    int burstEverySeconds = 3;      // a burst of identical requests (coalescing)
    int burstSize = 20;
    DemoBackendOptions backend;
};

/**
 * The clearly labelled demo that runs when no configuration is given: a local backend with
 * the seven integrations on its own thread, and traffic through the engine's HTTP client with
 * Zipf-skewed keys, bursts of duplicates and the backend's periodic fault window, so every
 * chart has live data on first launch. A user's configuration replaces it.
 */
class DemoWorkload : public QObject {
    Q_OBJECT
public:
    DemoWorkload(HttpClient *client, MetricsRegistry *registry, const DemoWorkloadOptions &options = {},
                 QObject *parent = nullptr);
    ~DemoWorkload() override;

    void start();
    void stop();
    bool isRunning() const { return m_tick.isActive(); }
    DemoBackend *backend() const { return m_backend.get(); }
    /// Starts the backend (on its own thread) without the traffic, so its URLs are known
    /// early; start() does it too.
    DemoBackend *startBackend();
    quint64 sent() const { return m_sent; }

private:
    void tick();
    void sendOne(int routeIndex, int key);
    int pickRoute();
    int pickKey();

    HttpClient *m_client;
    DemoWorkloadOptions m_options;
    std::unique_ptr<DemoBackend> m_backend;
    QTimer m_tick;
    std::mt19937_64 m_rng{0xdeadbeefULL};
    std::vector<double> m_zipfCdf;
    std::vector<double> m_routeCdf;
    double m_carry = 0;
    qint64 m_lastBurstMs = 0;
    quint64 m_sent = 0;
    Counter *m_sentCounter = nullptr;
};

} // namespace vega
