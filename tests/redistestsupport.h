#pragma once
// Test support for the Redis tier: a real redis-server the test starts in the foreground, a
// counting backend with cacheable answers, and helpers to send and collect requests.

#include "config.h"
#include "httpclient.h"
#include "localhttpserver.h"
#include "redisclient.h"

#include <QElapsedTimer>
#include <QHash>
#include <QMutex>
#include <QProcess>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>
#include <optional>
#include <vector>

namespace vega::testsupport {

inline quint16 freePort()
{
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost, 0))
        return 0;
    const quint16 port = probe.serverPort();
    probe.close();
    return port;
}

/// A real redis-server in the foreground on 127.0.0.1, killed on destruction.
class RedisServer {
public:
    static QString binary() { return QStandardPaths::findExecutable(QStringLiteral("redis-server")); }

    explicit RedisServer(quint16 port = 0) : m_port(port ? port : freePort()) {}
    ~RedisServer() { stop(); }

    bool start()
    {
        stop();
        m_process = std::make_unique<QProcess>();
        m_process->setProcessChannelMode(QProcess::MergedChannels);
        m_process->start(binary(), {QStringLiteral("--port"), QString::number(m_port), QStringLiteral("--save"),
                                    QString(), QStringLiteral("--appendonly"), QStringLiteral("no"),
                                    QStringLiteral("--bind"), QStringLiteral("127.0.0.1"), QStringLiteral("--dir"),
                                    m_dir.path()});
        if (!m_process->waitForStarted(10000))
            return false;
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 15000) {
            if (ping())
                return true;
            if (m_process->state() != QProcess::Running)
                return false;
            QTest::qWait(50);
        }
        return false;
    }

    bool ping() const
    {
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, m_port);
        if (!s.waitForConnected(1000))
            return false;
        s.write("PING\r\n");
        if (!s.waitForBytesWritten(1000) || !s.waitForReadyRead(1000))
            return false;
        return s.readAll().startsWith("+PONG");
    }

    void stop()
    {
        if (!m_process)
            return;
        if (m_process->processId() > 0)
            ::kill(pid_t(m_process->processId()), SIGCONT);
        m_process->kill();
        m_process->waitForFinished(10000);
        m_process.reset();
    }
    void pause()
    {
        if (m_process && m_process->processId() > 0)
            ::kill(pid_t(m_process->processId()), SIGSTOP);
    }
    void resume()
    {
        if (m_process && m_process->processId() > 0)
            ::kill(pid_t(m_process->processId()), SIGCONT);
    }

    quint16 port() const { return m_port; }
    QString url() const { return QStringLiteral("redis://127.0.0.1:%1").arg(m_port); }
    RedisEndpoint endpoint() const
    {
        RedisEndpoint e;
        e.host = QStringLiteral("127.0.0.1");
        e.port = m_port;
        return e;
    }

private:
    quint16 m_port;
    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_process;
};

/// The local backend: counts requests per path, answers cacheable responses after a delay
/// (so that concurrent requests overlap), "no-store" ones under /private/.
class Backend {
public:
    Backend()
        : m_thread([this](const HttpServerRequest &request) {
              {
                  QMutexLocker lock(&m_mutex);
                  ++m_counts[request.path];
              }
              HttpServerResponse r = HttpServerResponse::make(200, QByteArray("body of " + request.path), "text/plain");
              r.setHeader("Cache-Control", request.path.startsWith("/private/") ? "no-store" : "max-age=60");
              r.setHeader("X-Origin", "backend");
              r.delayMs = 100;
              return r;
          })
    {
    }
    QUrl url(const QString &path) const { return QUrl(m_thread.baseUrl().toString() + path); }
    int count(const QByteArray &path) const
    {
        QMutexLocker lock(&m_mutex);
        return m_counts.value(path);
    }
    quint64 served() const { return m_thread.server()->requestsServed(); }

private:
    mutable QMutex m_mutex; // protects m_counts (the handler runs on the server thread)
    QHash<QByteArray, int> m_counts;
    LocalHttpServerThread m_thread;
};

inline RedisConfig redisConfig(const RedisServer &server)
{
    RedisConfig c;
    c.enabled = true;
    c.url = server.url();
    c.keyPrefix = QStringLiteral("tst:");
    // Generous: a loaded 2-core machine must not turn ordinary commands into fallbacks.
    c.commandTimeoutMs = 2000;
    c.connectTimeoutMs = 2000;
    c.lockTtlMs = 5000;
    c.waitPollMs = 10;
    c.reconnectBaseMs = 50;
    c.reconnectCapMs = 300;
    c.breakerOpenBaseMs = 300;
    c.breakerOpenCapMs = 1000;
    return c;
}

/// Responses of many calls, by send order.
class Collector {
public:
    void track(HttpCall *call)
    {
        const size_t index = m_responses->size();
        m_responses->emplace_back();
        auto responses = m_responses;
        QObject::connect(call, &HttpCall::finished, call,
                         [responses, index](const HttpResponse &r) { (*responses)[index] = r; });
    }
    int done() const
    {
        int n = 0;
        for (const auto &r : *m_responses)
            n += r.has_value();
        return n;
    }
    int size() const { return int(m_responses->size()); }
    const HttpResponse &at(int i) const { return *(*m_responses)[size_t(i)]; }

private:
    std::shared_ptr<std::vector<std::optional<HttpResponse>>> m_responses =
        std::make_shared<std::vector<std::optional<HttpResponse>>>();
};

inline HttpResponse fetch(HttpClient &client, const QUrl &url)
{
    Collector c;
    HttpRequest request;
    request.url = url;
    c.track(client.send(request));
    QElapsedTimer t;
    t.start();
    while (c.done() == 0 && t.elapsed() < 20000)
        QTest::qWait(5);
    if (c.done() == 0) {
        HttpResponse none;
        none.errorString = QStringLiteral("test: no answer");
        return none;
    }
    return c.at(0);
}

} // namespace vega::testsupport
