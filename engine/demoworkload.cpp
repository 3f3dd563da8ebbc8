#include "demoworkload.h"

#include "httpclient.h"
#include "metrics.h"

#include <QDateTime>

#include <algorithm>
#include <cmath>

namespace vega {

namespace {

struct DemoTraffic {
    const char *kind;
    QByteArray method;
    QByteArray target; // "{id}" is the key
    bool auth;
    double weight;
    QByteArray body;
};

const std::vector<DemoTraffic> &traffic()
{
    static const std::vector<DemoTraffic> t = {
        {"search", "GET", "/search?q=term{id}", false, 30, {}},
        {"fetch", "GET", "/fetch/{id}", false, 15, {}},
        {"external", "GET", "/external/items/{id}", false, 25, {}},
        {"dbapi", "GET", "/dbapi/orders/{id}", false, 15, {}},
        {"homeassistant", "GET", "/homeassistant/api/", true, 6, {}},
        {"slack", "POST", "/slack/api/auth.test", true, 3, {}},
        {"llm", "GET", "/llm/v1/models", true, 6, {}},
    };
    return t;
}

} // namespace

DemoWorkload::DemoWorkload(HttpClient *client, MetricsRegistry *registry, const DemoWorkloadOptions &options,
                           QObject *parent)
    : QObject(parent), m_client(client), m_options(options)
{
    m_sentCounter = registry->counter(QStringLiteral("demo_requests_sent"), {},
                                      QStringLiteral("Requests the demo workload sent"));
    double total = 0;
    for (int k = 1; k <= std::max(1, options.keysPerRoute); ++k) {
        total += 1.0 / std::pow(double(k), options.zipfExponent);
        m_zipfCdf.push_back(total);
    }
    for (double &c : m_zipfCdf)
        c /= total;
    double routeTotal = 0;
    for (const auto &t : traffic()) {
        routeTotal += t.weight;
        m_routeCdf.push_back(routeTotal);
    }
    for (double &c : m_routeCdf)
        c /= routeTotal;
    m_tick.setInterval(20);
    m_tick.setTimerType(Qt::CoarseTimer);
    connect(&m_tick, &QTimer::timeout, this, &DemoWorkload::tick);
}

DemoWorkload::~DemoWorkload()
{
    stop();
}

DemoBackend *DemoWorkload::startBackend()
{
    if (!m_backend)
        m_backend = std::make_unique<DemoBackend>(m_options.backend);
    return m_backend.get();
}

void DemoWorkload::start()
{
    startBackend();
    m_lastBurstMs = QDateTime::currentMSecsSinceEpoch();
    m_tick.start();
}

void DemoWorkload::stop()
{
    m_tick.stop();
}

int DemoWorkload::pickRoute()
{
    const double u = std::uniform_real_distribution<double>(0, 1)(m_rng);
    return int(std::lower_bound(m_routeCdf.begin(), m_routeCdf.end(), u) - m_routeCdf.begin());
}

int DemoWorkload::pickKey()
{
    const double u = std::uniform_real_distribution<double>(0, 1)(m_rng);
    return int(std::lower_bound(m_zipfCdf.begin(), m_zipfCdf.end(), u) - m_zipfCdf.begin()) + 1;
}

void DemoWorkload::tick()
{
    if (!m_backend || !m_backend->isListening())
        return;
    m_carry += m_options.requestsPerSecond * m_tick.interval() / 1000.0;
    while (m_carry >= 1.0) {
        m_carry -= 1.0;
        sendOne(pickRoute(), pickKey());
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (m_options.burstEverySeconds > 0 && now - m_lastBurstMs >= m_options.burstEverySeconds * 1000LL) {
        m_lastBurstMs = now;
        // A burst of identical requests, as when many widgets ask for the same thing at once.
        const int route = pickRoute();
        const int key = pickKey();
        for (int i = 0; i < m_options.burstSize; ++i)
            sendOne(route, key);
    }
}

void DemoWorkload::sendOne(int routeIndex, int key)
{
    const DemoTraffic &t = traffic().at(size_t(std::clamp(routeIndex, 0, int(traffic().size()) - 1)));
    QByteArray target = t.target;
    target.replace("{id}", QByteArray::number(key));
    HttpRequest request;
    request.method = t.method;
    request.url = m_backend->url(target);
    if (t.auth)
        request.headers.append({QByteArrayLiteral("Authorization"), QByteArrayLiteral("Bearer ") + m_backend->token()});
    request.body = t.body;
    m_client->send(request); // the call deletes itself once finished; metrics record the outcome
    ++m_sent;
    m_sentCounter->inc();
}

} // namespace vega
