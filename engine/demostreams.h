#pragma once

#include <QObject>
#include <QTimer>

#include <memory>

namespace vega {

class StreamRelay;
class StreamingTestServerThread;

/**
 * The demo's streaming traffic, so the Streams page has live data: a local streaming server
 * on its own thread serves an LLM-style token stream (server-sent events, one token every
 * 40 ms) and a bulk telemetry download; every few seconds the demo opens a shared token
 * stream with two subscribers (one keeps up, one reads twice a second with the DropOldest
 * policy) and a telemetry stream read slowly, so pauses, resumes and drops show.
 */
class DemoStreams : public QObject {
    Q_OBJECT
public:
    /// `relay` must outlive this object.
    explicit DemoStreams(StreamRelay *relay, QObject *parent = nullptr);
    ~DemoStreams() override;

    void start();
    void stop();
    int opened() const { return m_opened; }

private:
    void openRound();

    StreamRelay *m_relay;
    std::unique_ptr<StreamingTestServerThread> m_server;
    QTimer m_timer;
    int m_opened = 0;
};

} // namespace vega
