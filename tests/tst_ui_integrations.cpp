// The Integrations page (and the Overview's integrations and memory tiles) against a real
// engine checking real local servers, configured through the real loader.
#include "engine.h"
#include "healthtile.h"
#include "integrationmodel.h"
#include "integrations.h"
#include "integrationspage.h"
#include "localhttpserver.h"
#include "overviewpage.h"
#include "stattile.h"
#include "timechart.h"

#include <QAbstractItemModelTester>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTreeView>
#include <QtTest>

#include <memory>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 15000;
constexpr char kTokenVar[] = "VEGA_TST_UI_HA_TOKEN";
constexpr char kToken[] = "ui-test-ha-token-31337";

/// {"integrations": ...} with snapshots every 200 ms and no storage, through the loader.
EngineConfig loadConfig(const QJsonObject &integrations, QString *error)
{
    const QJsonObject root{
        {QStringLiteral("metrics"), QJsonObject{{QStringLiteral("snapshot_interval_ms"), 200}}},
        {QStringLiteral("storage"), QJsonObject{{QStringLiteral("enabled"), false}}},
        {QStringLiteral("memory"), QJsonObject{{QStringLiteral("sample_interval_ms"), 200}}},
        {QStringLiteral("integrations"), integrations},
    };
    const ConfigLoadResult r =
        ConfigLoader::loadText(QJsonDocument(root).toJson(), QStringLiteral("ui.json"));
    if (!r.ok() && error)
        *error = r.findings.first().toString();
    return r.config;
}

/// A check schedule far longer than the test: only the first checks and "Check now" run.
QJsonObject integration(const QString &kind, const QString &url, const QJsonObject &extra = {})
{
    QJsonObject o = extra;
    o.insert(QStringLiteral("kind"), kind);
    o.insert(QStringLiteral("url"), url);
    // Degraded only far beyond the delay of the slow server, even on a loaded machine.
    o.insert(QStringLiteral("health"), QJsonObject{{QStringLiteral("interval_s"), 3600},
                                                   {QStringLiteral("latency_threshold_ms"), 10000}});
    return o;
}

int rowOf(const QSortFilterProxyModel *proxy, const QString &name)
{
    for (int r = 0; r < proxy->rowCount(); ++r)
        if (proxy->index(r, IntegrationModel::NameColumn).data().toString() == name)
            return r;
    return -1;
}

QStringList proxyNames(const QSortFilterProxyModel *proxy)
{
    QStringList names;
    for (int r = 0; r < proxy->rowCount(); ++r)
        names.append(proxy->index(r, IntegrationModel::NameColumn).data().toString());
    return names;
}

quint64 checksOf(const IntegrationModel *model, const QString &name)
{
    return model->status(model->rowOfKey(name)).checksRun;
}

IntegrationStatus status(const char *name, Health state, double latencyMs, quint64 checks)
{
    IntegrationStatus s;
    s.name = QString::fromLatin1(name);
    s.state = state;
    s.latencyMs = latencyMs;
    s.checksRun = checks;
    return s;
}

/// Two real servers: "ha" answers Home Assistant's API check after 400 ms (when the bearer
/// token is right), "api" always answers 503.
struct Backends {
    Backends()
        : healthy([](const HttpServerRequest &request) {
              const QByteArray expected = QByteArray("Bearer ") + QByteArray(kToken);
              if (request.path == "/api/" && request.header("Authorization") == expected) {
                  HttpServerResponse r =
                      HttpServerResponse::make(200, R"({"message": "API running."})", "application/json");
                  r.delayMs = 400;
                  return r;
              }
              return HttpServerResponse::make(401, R"({"message": "unauthorized"})", "application/json");
          }),
          failing([](const HttpServerRequest &) {
              return HttpServerResponse::make(503, "down for maintenance", "text/plain");
          })
    {
    }

    QJsonObject integrations() const
    {
        const QJsonObject auth{
            {QStringLiteral("token"), QStringLiteral("${%1}").arg(QLatin1String(kTokenVar))}};
        return {
            {QStringLiteral("ha"), integration(QStringLiteral("home_assistant"), healthy.baseUrl().toString(),
                                               {{QStringLiteral("auth"), auth}})},
            {QStringLiteral("api"), integration(QStringLiteral("external_api"),
                                                failing.baseUrl().toString() + QStringLiteral("/status"))},
        };
    }

    LocalHttpServerThread healthy;
    LocalHttpServerThread failing;
};
} // namespace

class TestUiIntegrations : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qputenv(kTokenVar, kToken); }

    void pageShowsStatesTilesAndActions()
    {
        Backends backends;
        QVERIFY(backends.healthy.isListening() && backends.failing.isListening());
        QString error;
        const EngineConfig config = loadConfig(backends.integrations(), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QCOMPARE(config.integrations.size(), 2);
        Engine engine(config, EngineOptions{});
        engine.start();

        IntegrationsPage page(&engine);
        QAbstractItemModelTester modelTester(page.model(),
                                             QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester proxyTester(page.proxy(),
                                             QAbstractItemModelTester::FailureReportingMode::QtTest);
        connect(&engine, &Engine::snapshotAvailable, &page, &IntegrationsPage::setSnapshot);
        page.resize(1300, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        // The first checks run within two seconds of the start.
        QTRY_COMPARE_WITH_TIMEOUT(page.tile(QStringLiteral("healthy"))->valueText(), QStringLiteral("1"),
                                  kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(page.tile(QStringLiteral("unhealthy"))->valueText(), QStringLiteral("1"),
                                  kTimeoutMs);
        QCOMPARE(page.tile(QStringLiteral("unknown"))->valueText(), QStringLiteral("0"));
        QCOMPARE(page.tile(QStringLiteral("degraded"))->valueText(), QStringLiteral("0"));
        QCOMPARE(page.tile(QStringLiteral("unhealthy"))->captionText(), QStringLiteral("api"));
        QVERIFY(page.emptyStateLabel()->isHidden());

        const IntegrationModel *model = page.model();
        QCOMPARE(model->rowCount(), 2);
        const int ha = model->rowOfKey(QStringLiteral("ha"));
        const int api = model->rowOfKey(QStringLiteral("api"));
        QVERIFY(ha >= 0 && api >= 0);
        QCOMPARE(model->index(ha, IntegrationModel::StateColumn).data().toString(),
                 QStringLiteral("healthy"));
        QCOMPARE(model->index(ha, IntegrationModel::KindColumn).data().toString(),
                 QStringLiteral("home_assistant"));
        QCOMPARE(model->index(ha, IntegrationModel::HttpStatusColumn).data().toString(),
                 QStringLiteral("200"));
        QCOMPARE(model->index(ha, IntegrationModel::StateColumn).data(Qt::DecorationRole).value<QColor>(),
                 QColor(0x2e, 0x9e, 0x5b));
        QVERIFY(model->index(ha, IntegrationModel::LastSuccessColumn)
                    .data()
                    .toString()
                    .contains(QRegularExpression(QStringLiteral("just now|\\d+ s ago"))));
        QCOMPARE(model->index(api, IntegrationModel::StateColumn).data().toString(),
                 QStringLiteral("unhealthy"));
        QCOMPARE(model->index(api, IntegrationModel::ReasonColumn).data().toString(),
                 QStringLiteral("HTTP 503"));
        QCOMPARE(model->index(api, IntegrationModel::HttpStatusColumn).data().toString(),
                 QStringLiteral("503"));
        QCOMPARE(model->index(api, IntegrationModel::LastSuccessColumn).data().toString(),
                 QStringLiteral("never"));
        QCOMPARE(model->index(api, IntegrationModel::FailuresColumn).data(IntegrationSortRole).toInt(), 1);
        QVERIFY(model->index(api, IntegrationModel::ReasonColumn)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .contains(QStringLiteral("HTTP 503")));
        // The token never reaches the table.
        for (int r = 0; r < model->rowCount(); ++r)
            for (int c = 0; c < model->columnCount(); ++c)
                QVERIFY(!model->index(r, c).data(Qt::ToolTipRole).toString().contains(QLatin1String(kToken)));
        // The slowest check is the one the server delays.
        QCOMPARE(page.tile(QStringLiteral("slowest"))->captionText(), QStringLiteral("ha"));

        // Sorting by latency, both ways.
        QSortFilterProxyModel *proxy = page.proxy();
        page.view()->sortByColumn(IntegrationModel::LatencyColumn, Qt::AscendingOrder);
        QCOMPARE(proxyNames(proxy), (QStringList{QStringLiteral("api"), QStringLiteral("ha")}));
        page.view()->sortByColumn(IntegrationModel::LatencyColumn, Qt::DescendingOrder);
        QCOMPARE(proxyNames(proxy), (QStringList{QStringLiteral("ha"), QStringLiteral("api")}));
        QVERIFY(proxy->index(0, IntegrationModel::LatencyColumn).data(IntegrationSortRole).toDouble() >=
                proxy->index(1, IntegrationModel::LatencyColumn).data(IntegrationSortRole).toDouble());

        // Check now with nothing selected checks every integration.
        const quint64 haBefore = checksOf(model, QStringLiteral("ha"));
        const quint64 apiBefore = checksOf(model, QStringLiteral("api"));
        QSignalSpy requested(&page, &IntegrationsPage::checkRequested);
        QVERIFY(page.checkNowButton()->isEnabled());
        QTest::mouseClick(page.checkNowButton(), Qt::LeftButton);
        QCOMPARE(requested.count(), 1);
        QTRY_VERIFY_WITH_TIMEOUT(checksOf(model, QStringLiteral("api")) > apiBefore, kTimeoutMs);
        QTRY_VERIFY_WITH_TIMEOUT(checksOf(model, QStringLiteral("ha")) > haBefore, kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(
            model->index(model->rowOfKey(QStringLiteral("api")), IntegrationModel::FailuresColumn)
                .data(IntegrationSortRole)
                .toInt(),
            2, kTimeoutMs);

        // With a row selected, only that integration is checked.
        const quint64 haMid = checksOf(model, QStringLiteral("ha"));
        const quint64 apiMid = checksOf(model, QStringLiteral("api"));
        page.view()->selectionModel()->select(proxy->index(rowOf(proxy, QStringLiteral("ha")), 0),
                                              QItemSelectionModel::ClearAndSelect |
                                                  QItemSelectionModel::Rows);
        QCOMPARE(page.selectedIntegrations(), QStringList{QStringLiteral("ha")});
        QTest::mouseClick(page.checkNowButton(), Qt::LeftButton);
        QCOMPARE(requested.last().at(0).toString(), QStringLiteral("Checking ha now"));
        QTRY_VERIFY_WITH_TIMEOUT(checksOf(model, QStringLiteral("ha")) > haMid, kTimeoutMs);
        QTest::qWait(500); // a few snapshots: the other one must not have been checked
        QCOMPARE(checksOf(model, QStringLiteral("api")), apiMid);
        page.view()->clearSelection();

        // The filter box narrows the rows by name, kind or state.
        QTest::keyClicks(page.filterEdit(), QStringLiteral("unhealthy"));
        QCOMPARE(proxyNames(proxy), QStringList{QStringLiteral("api")});
        page.setFilterText(QStringLiteral("HOME_ASS"));
        QCOMPARE(page.filterEdit()->text(), QStringLiteral("HOME_ASS"));
        QCOMPARE(proxyNames(proxy), QStringList{QStringLiteral("ha")});
        page.setFilterText(QStringLiteral("nothing-matches"));
        QCOMPARE(proxy->rowCount(), 0);
        page.filterEdit()->clear();
        QCOMPARE(proxy->rowCount(), 2);

        // The latency chart has one series per integration, fed from the check histogram.
        QVERIFY(page.seriesOf(QStringLiteral("ha")) >= 0);
        QVERIFY(page.seriesOf(QStringLiteral("api")) >= 0);
        QCOMPARE(page.latencyChart()->seriesCount(), 2);
        QTRY_VERIFY_WITH_TIMEOUT(page.latencyChart()->pointCount(page.seriesOf(QStringLiteral("ha"))) > 0,
                                 kTimeoutMs);
        // p50 in ms: the 400 ms the server waits, give or take a histogram bucket.
        const QList<QPointF> points = page.latencyChart()->points(page.seriesOf(QStringLiteral("ha")));
        QVERIFY2(points.last().y() >= 200 && points.last().y() < 10000,
                 qPrintable(QString::number(points.last().y())));
    }

    void overviewSummarisesIntegrationsAndMemory()
    {
        Backends backends;
        QString error;
        const EngineConfig config = loadConfig(backends.integrations(), &error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        Engine engine(config, EngineOptions{});
        engine.start();
        OverviewPage page(&engine);
        connect(&engine, &Engine::snapshotAvailable, &page, &OverviewPage::setSnapshot);
        page.resize(1200, 900);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        QCOMPARE(page.tileCount(), 13); // the system's eight, database, shared cache, breakers, integrations, memory trend
        QCOMPARE(OverviewPage::categoryIds().size(), 13);
        HealthTile *integrations = page.tile(OverviewPage::integrationsTileId());
        QVERIFY(integrations);
        QTRY_COMPARE_WITH_TIMEOUT(integrations->valueText(), QStringLiteral("1 of 2 healthy"), kTimeoutMs);
        QCOMPARE(integrations->health(), Health::Critical);
        QVERIFY2(integrations->reasonText().contains(QStringLiteral("api (HTTP 503)")),
                 qPrintable(integrations->reasonText()));
        QVERIFY(!integrations->reasonText().contains(QStringLiteral("Degraded")));
        QCOMPARE(integrations->detailText(), QStringLiteral("1 unhealthy"));

        HealthTile *memory = page.tile(OverviewPage::memoryTrendTileId());
        QVERIFY(memory);
        QTRY_VERIFY_WITH_TIMEOUT(memory->health() != Health::Unknown, kTimeoutMs);
        // A fresh process has no leak suspects yet (growth must hold for minutes).
        QCOMPARE(memory->health(), Health::Ok);
        QCOMPARE(memory->reasonText(), QStringLiteral("no leak suspects"));
        QVERIFY(memory->valueText().contains(QStringLiteral("iB")));
        QVERIFY2(memory->detailText().startsWith(QStringLiteral("Heap ")), qPrintable(memory->detailText()));
        // The system's tiles keep their ids.
        QVERIFY(page.tile(QStringLiteral("memory")));
        QVERIFY(page.tile(QStringLiteral("database")));
    }

    void overviewTilesFromSnapshots()
    {
        OverviewPage page(nullptr);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto snap = std::make_shared<Snapshot>();
        snap->diagnostics.wallMs = 1'700'000'000'000;
        IntegrationStatus slow = status("llm", Health::Warning, 1500, 3);
        slow.reason = QStringLiteral("1500 ms > threshold 1000 ms");
        snap->integrations = {status("a", Health::Ok, 5, 1), slow, status("new", Health::Unknown, -1, 0)};
        snap->memory.sampleWallMs = snap->diagnostics.wallMs;
        snap->memory.rss.available = true;
        snap->memory.rss.bytes = 300 * 1024 * 1024;
        snap->memory.rss.trend = Trend::Flat;
        snap->memory.heap.available = true;
        snap->memory.heap.bytes = 64 * 1024 * 1024;
        snap->memory.heap.trend = Trend::Growing;
        snap->memory.heap.slopeBytesPerMinute = 2 * 1024 * 1024;
        LeakSuspect suspect;
        suspect.type = QStringLiteral("RequestContext");
        snap->memory.suspects = {suspect};
        page.setSnapshot(snap);

        HealthTile *integrations = page.tile(OverviewPage::integrationsTileId());
        QCOMPARE(integrations->health(), Health::Warning); // degraded is the worst here
        QCOMPARE(integrations->valueText(), QStringLiteral("1 of 3 healthy"));
        QCOMPARE(integrations->detailText(), QStringLiteral("1 degraded · 1 unknown"));
        QCOMPARE(integrations->reasonText(), QStringLiteral("Degraded: llm (1500 ms > threshold 1000 ms)"));

        HealthTile *memory = page.tile(OverviewPage::memoryTrendTileId());
        QCOMPARE(memory->health(), Health::Warning);
        QCOMPARE(memory->valueText(), QStringLiteral("300 MiB"));
        QCOMPARE(memory->detailText(), QStringLiteral("Heap 64.0 MiB, growing +2.00 MiB/min · RSS flat"));
        QCOMPARE(memory->reasonText(), QStringLiteral("Leak suspects: RequestContext"));
    }

    void emptyStateWithoutIntegrations()
    {
        EngineConfig config;
        config.storage.enabled = false;
        Engine engine(config, EngineOptions{});
        engine.publishNow();
        IntegrationsPage page(&engine);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        QVERIFY(page.emptyStateLabel()->isVisible());
        QVERIFY(page.emptyStateLabel()->text().startsWith(QStringLiteral("No integrations configured")));
        QVERIFY(page.emptyStateLabel()->text().contains(QStringLiteral("docs/CONFIG.md")));
        QVERIFY(!page.checkNowButton()->isEnabled());
        QCOMPARE(page.tile(QStringLiteral("slowest"))->captionText(), QStringLiteral("no integrations"));

        OverviewPage overview(&engine);
        overview.show();
        QVERIFY(QTest::qWaitForWindowExposed(&overview));
        QCOMPARE(overview.tile(OverviewPage::integrationsTileId())->health(), Health::Unknown);
        QCOMPARE(overview.tile(OverviewPage::integrationsTileId())->valueText(), QStringLiteral("None"));
    }

    void filterFollowsStateChanges()
    {
        IntegrationsPage page(nullptr);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));
        auto snapshot = [](Health a, Health b) {
            auto snap = std::make_shared<Snapshot>();
            snap->diagnostics.wallMs = 1'700'000'000'000;
            snap->integrations = {status("a", a, 5, 1), status("b", b, 7, 1)};
            return SnapshotPtr(snap);
        };
        page.setSnapshot(snapshot(Health::Ok, Health::Critical));
        page.setFilterText(QStringLiteral("unhealthy"));
        QCOMPARE(proxyNames(page.proxy()), QStringList{QStringLiteral("b")});
        QCOMPARE(page.tile(QStringLiteral("unhealthy"))->captionText(), QStringLiteral("b"));
        // Without an engine there is nothing to check.
        QVERIFY(!page.checkNowButton()->isEnabled());
        page.setSnapshot(snapshot(Health::Critical, Health::Ok));
        QCOMPARE(proxyNames(page.proxy()), QStringList{QStringLiteral("a")});
        QCOMPARE(page.tile(QStringLiteral("slowest"))->captionText(), QStringLiteral("b"));
    }

    void modelKeepsRowsInPlace()
    {
        IntegrationModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const qint64 now = 1'700'000'000'000;
        model.setIntegrations({status("b", Health::Ok, 12, 1), status("a", Health::Critical, 3, 1)}, now);
        QCOMPARE(model.keys(), (QStringList{QStringLiteral("b"), QStringLiteral("a")}));
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changes(&model, &QAbstractItemModel::dataChanged);
        // Same keys, new values: rows stay, only the changed row is announced.
        model.setIntegrations({status("a", Health::Critical, 3, 1), status("b", Health::Ok, 15, 2)}, now);
        QCOMPARE(model.keys(), (QStringList{QStringLiteral("b"), QStringLiteral("a")}));
        QCOMPARE(resets.count(), 0);
        QCOMPARE(changes.count(), 1);
        QCOMPARE(changes.first().at(0).toModelIndex().row(), 0);
        QCOMPARE(model.index(0, IntegrationModel::ChecksColumn).data().toString(), QStringLiteral("2"));
        // Nothing changed: nothing announced.
        model.setIntegrations({status("a", Health::Critical, 3, 1), status("b", Health::Ok, 15, 2)}, now);
        QCOMPARE(changes.count(), 1);
        // A new one is appended, a gone one removed, duplicates and unnamed ignored.
        model.setIntegrations({status("c", Health::Unknown, -1, 0), status("b", Health::Ok, 15, 2),
                               status("c", Health::Ok, 1, 1), status("", Health::Ok, 1, 1)},
                              now);
        QCOMPARE(model.keys(), (QStringList{QStringLiteral("b"), QStringLiteral("c")}));
        const int c = model.rowOfKey(QStringLiteral("c"));
        QCOMPARE(model.index(c, IntegrationModel::LatencyColumn).data().toString(), QStringLiteral("—"));
        QCOMPARE(model.index(c, IntegrationModel::StateColumn).data().toString(), QStringLiteral("unknown"));
        QCOMPARE(model.index(c, IntegrationModel::StateColumn).data(IntegrationSortRole).toInt(), 1);
        QCOMPARE(model.index(c, IntegrationModel::NameColumn).data(IntegrationFilterRole).toString(),
                 QStringLiteral("c external_api unknown"));
        // States sort by severity: unhealthy above degraded above unknown above healthy.
        QVERIFY(integrationStateRank(Health::Critical) > integrationStateRank(Health::Warning));
        QVERIFY(integrationStateRank(Health::Warning) > integrationStateRank(Health::Unknown));
        QVERIFY(integrationStateRank(Health::Unknown) > integrationStateRank(Health::Ok));
        model.setIntegrations({}, now);
        QCOMPARE(model.rowCount(), 0);
    }

    void timeAgo_data()
    {
        QTest::addColumn<qint64>("agoMs");
        QTest::addColumn<QString>("expected");
        QTest::newRow("just now") << qint64(400) << QStringLiteral("just now");
        QTest::newRow("future") << qint64(-3000) << QStringLiteral("just now");
        QTest::newRow("seconds") << qint64(12'900) << QStringLiteral("12 s ago");
        QTest::newRow("minutes") << qint64(185'000) << QStringLiteral("3 min ago");
        QTest::newRow("hours") << qint64(2 * 3600'000 + 5000) << QStringLiteral("2 h ago");
        QTest::newRow("days") << qint64(4 * 86400'000LL) << QStringLiteral("4 d ago");
    }

    void timeAgo()
    {
        QFETCH(qint64, agoMs);
        QFETCH(QString, expected);
        const qint64 now = 1'700'000'000'000;
        QCOMPARE(formatTimeAgo(now - agoMs, now), expected);
        QCOMPARE(formatTimeAgo(0, now), QStringLiteral("never"));
    }
};

QTEST_MAIN(TestUiIntegrations)
#include "tst_ui_integrations.moc"
