// The Streams page against a real engine relaying a real stream from a local server.
#include "engine.h"
#include "stattile.h"
#include "streamingtestserver.h"
#include "streammodel.h"
#include "streamrelay.h"
#include "streamspage.h"
#include "timechart.h"

#include <QAbstractItemModelTester>
#include <QPointer>
#include <QSignalSpy>
#include <QtTest>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 20000;
constexpr qint64 KiB = 1024;
constexpr qint64 MiB = 1024 * KiB;

StreamInfo info(const char *request, qint64 ageMs, qint64 buffered = 0)
{
    StreamInfo i;
    i.request = QString::fromLatin1(request);
    i.ageMs = ageMs;
    i.bufferedBytes = buffered;
    i.subscribers = 1;
    return i;
}
} // namespace

class TestUiStreams : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void pageShowsASlowStream()
    {
        StreamingTestServerThread server;
        StreamingScript script;
        script.totalBytes = 6 * MiB;
        script.chunkBytes = 32 * KiB;
        script.intervalMs = 5; // about 6 MiB/s at most: slow, but far faster than the reader below
        server.server()->setScript("/slow", script);

        EngineConfig config;
        config.storage.enabled = false;
        config.metrics.snapshotIntervalMs = 200;
        config.streaming.highWatermarkBytes = 256 * KiB;
        config.streaming.lowWatermarkBytes = 64 * KiB;
        config.streaming.readChunkBytes = 32 * KiB;
        Engine engine(config, EngineOptions{});
        engine.start();

        StreamsPage page(&engine);
        QAbstractItemModelTester tester(page.streamModel(),
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        connect(&engine, &Engine::snapshotAvailable, &page, &StreamsPage::setSnapshot);
        page.resize(1300, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        QCOMPARE(page.tile(QStringLiteral("active"))->valueText(), QStringLiteral("0"));

        StreamRequest request;
        request.url = server.url("/slow");
        QPointer<StreamSubscription> subscription = engine.streams()->open(request);
        QVERIFY(subscription);
        // A slow reader: 8 KiB every 50 ms (160 KiB/s), so the buffer reaches its watermark.
        qint64 read = 0;
        QTimer reader;
        reader.setInterval(50);
        connect(&reader, &QTimer::timeout, &reader, [&] {
            if (subscription)
                read += subscription->read(8 * KiB).size();
        });
        reader.start();

        QTRY_COMPARE_WITH_TIMEOUT(page.tile(QStringLiteral("active"))->valueText(), QStringLiteral("1"),
                                  kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(page.streamModel()->rowCount(), 1, kTimeoutMs);
        QVERIFY(page.streamModel()
                    ->index(0, StreamModel::RequestColumn)
                    .data()
                    .toString()
                    .contains(QLatin1String("/slow")));
        // Backpressure: the relay pauses the stream, and the page shows it (coloured).
        QTRY_VERIFY_WITH_TIMEOUT(page.streamModel()->stream(0).paused, kTimeoutMs);
        QCOMPARE(page.streamModel()->index(0, StreamModel::PausedColumn).data().toString(),
                 QStringLiteral("paused"));
        QVERIFY(page.streamModel()->index(0, StreamModel::PausedColumn).data(Qt::BackgroundRole).isValid());
        QTRY_VERIFY_WITH_TIMEOUT(page.streamModel()->stream(0).bufferedBytes > 0, kTimeoutMs);
        QVERIFY(page.tile(QStringLiteral("buffered"))->valueText() != QStringLiteral("0 B"));
        QVERIFY(page.tile(QStringLiteral("buffered"))->valueText().endsWith(QLatin1String("iB")));
        QTRY_VERIFY_WITH_TIMEOUT(
            page.tile(QStringLiteral("pauses"))->valueText().split(QLatin1Char(' ')).first().toInt() > 0,
            kTimeoutMs);
        QCOMPARE(page.tile(QStringLiteral("subscribers"))->valueText(), QStringLiteral("1"));
        // The row stays the same row while the stream runs (its key does not drift with its age).
        const QString key = page.streamModel()->keyAt(0);
        QTRY_VERIFY_WITH_TIMEOUT(page.streamModel()->stream(0).ageMs > 1000, kTimeoutMs);
        QCOMPARE(page.streamModel()->rowCount(), 1);
        QCOMPARE(page.streamModel()->keyAt(0), key);
        QVERIFY(read > 0);
        // The charts are fed from the relay's metrics.
        QTRY_VERIFY_WITH_TIMEOUT(page.bufferChart()->pointCount(StreamsPage::BufferedSeries) > 0, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(page.throughputChart()->pointCount(StreamsPage::InSeries) > 0, kTimeoutMs);

        reader.stop();
        subscription->close();
        subscription->deleteLater();
        QTRY_COMPARE_WITH_TIMEOUT(page.tile(QStringLiteral("active"))->valueText(), QStringLiteral("0"),
                                  kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(page.streamModel()->rowCount(), 0, kTimeoutMs);
        QCOMPARE(page.tile(QStringLiteral("buffered"))->valueText(), QStringLiteral("0 B"));
        engine.stop();
    }

    void rowsKeepTheirStream()
    {
        StreamModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const qint64 t0 = 1700000000000;
        // Two identical requests, started 5 s apart, and another one.
        model.setStreams(
            {info("GET http://a/x", 10000), info("GET http://a/x", 5000), info("GET http://b/y", 1000)}, t0);
        QCOMPARE(model.rowCount(), 3);
        const QStringList keys = model.keys();
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        // 1 s later, measured a few ms apart: the same rows, updated.
        model.setStreams({info("GET http://a/x", 11003, 7), info("GET http://a/x", 5998, 9),
                          info("GET http://b/y", 2001, 11)},
                         t0 + 1000);
        QCOMPARE(model.keys(), keys);
        QCOMPARE(resets.size(), 0);
        QCOMPARE(model.stream(0).bufferedBytes, 7);
        QCOMPARE(model.stream(1).bufferedBytes, 9);
        // The older /x stream ends: the younger keeps its row (and its values); nothing jumps.
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        model.setStreams({info("GET http://a/x", 7000, 9), info("GET http://b/y", 3000, 11)}, t0 + 2000);
        QCOMPARE(removed.size(), 1);
        QCOMPARE(model.keys(), (QStringList{keys.at(1), keys.at(2)}));
        QCOMPARE(model.stream(0).bufferedBytes, 9);
        // A new identical request is a new row, at the end.
        model.setStreams(
            {info("GET http://a/x", 8000), info("GET http://b/y", 4000), info("GET http://a/x", 0)},
            t0 + 3000);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.keys().mid(0, 2), (QStringList{keys.at(1), keys.at(2)}));
        QVERIFY(!keys.contains(model.keyAt(2)));
    }
};

QTEST_MAIN(TestUiStreams)
#include "tst_ui_streams.moc"
