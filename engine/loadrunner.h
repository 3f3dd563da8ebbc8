#pragma once

#include "histogram.h"
#include "httpclient.h"

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QString>

namespace vega {

struct LoadOptions {
    QString urlTemplate; // "{i}" is replaced by the key number, 1..distinct
    int requests = 100;
    int concurrency = 10;
    int distinct = 1;
    QByteArray method = QByteArrayLiteral("GET");
    bool cache = true;
    bool coalesce = true;
};

/// What a load run measured. Every count is exact: it comes from the client's own totals.
struct LoadResult {
    HttpTotals totals;
    HistogramSummary latencyNs;
    double p95Ns = 0;
    double durationSeconds = 0;
    QString firstError; // the first failure's reason, for the summary

    QJsonObject toJson() const;
    QString toText() const;
};

/**
 * Drives `requests` requests through an HttpClient (the full pipeline), `concurrency` in
 * flight at once, over `distinct` keys chosen round-robin: request n uses key (n % distinct) + 1.
 */
class LoadRunner : public QObject {
    Q_OBJECT
public:
    LoadRunner(HttpClient *client, const LoadOptions &options, QObject *parent = nullptr);

    /// Checks the options; returns an empty string when they are usable.
    static QString validate(const LoadOptions &options);
    static QUrl urlFor(const QString &urlTemplate, int key);

    void start();
    const LoadResult &result() const { return m_result; }

Q_SIGNALS:
    void finished(const vega::LoadResult &result);

private:
    void launchNext();
    void onFinished(const HttpResponse &response);

    HttpClient *m_client;
    LoadOptions m_options;
    Histogram m_latency;
    QElapsedTimer m_elapsed;
    HttpTotals m_before;
    LoadResult m_result;
    int m_sent = 0;
    int m_done = 0;
};

} // namespace vega

Q_DECLARE_METATYPE(vega::LoadResult)
