#pragma once
// Test support for agents: a real engine with its admin API (and so the snapshot stream), and
// the RemoteAgent options a console would use to watch it.

#include "adminapi.h"
#include "engine.h"
#include "remoteagent.h"

#include <QDebug>
#include <QUrl>

#include <memory>

namespace vega::testsupport {

inline QByteArray agentTestKey()
{
    return QByteArrayLiteral("agent-test-key-5b0e7d21");
}

/// An agent: a real engine (no demo, no storage unless the config says so) publishing every
/// `intervalMs`, with its admin API on 127.0.0.1 and a key only the tests know.
struct TestAgent {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<AdminApi> api;
    quint16 port = 0;
    int intervalMs = 250;

    explicit TestAgent(const QString &name, EngineConfig config = {}, int interval = 250, quint16 fixedPort = 0)
        : intervalMs(interval)
    {
        config.metrics.snapshotIntervalMs = intervalMs;
        engine = std::make_unique<Engine>(config, EngineOptions{});
        engine->start();
        startApi(name, fixedPort);
    }
    ~TestAgent() { api.reset(); } // before the engine, as AdminApi requires

    bool startApi(const QString &name, quint16 fixedPort = 0, AdminApiOptions options = {})
    {
        api.reset();
        options.port = fixedPort;
        options.keySha256 = {AdminApi::sha256Hex(agentTestKey())};
        options.keyEnvironmentVariable = QByteArrayLiteral("VEGA_TEST_UNSET_KEY_VARIABLE");
        options.agentName = name;
        if (options.streamIntervalMs == AdminApiOptions{}.streamIntervalMs)
            options.streamIntervalMs = intervalMs;
        api = std::make_unique<AdminApi>(engine.get(), options);
        QString error;
        if (!api->start(&error)) {
            qWarning() << "admin API did not start:" << error;
            return false;
        }
        port = api->port();
        return true;
    }

    RemoteAgentOptions remote(const QByteArray &key = agentTestKey()) const
    {
        RemoteAgentOptions o;
        o.baseUrl = QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port));
        o.apiKey = key;
        o.reconnectBaseMs = 100;
        o.reconnectMaxMs = 1000;
        return o;
    }

    /// A counter's total in a snapshot published now.
    quint64 counter(const QString &name) const
    {
        const MetricSnapshot *m = engine->publishNow()->metrics->find(name);
        return m ? m->total : 0;
    }
};

} // namespace vega::testsupport
