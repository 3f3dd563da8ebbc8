// Two agents sharing one real redis-server, watched by one console (offscreen): what a fleet
// does across instances, end to end through engines, admin APIs, snapshot streams and pages.
#include "adminapi.h"
#include "agenttestsupport.h"
#include "engine.h"
#include "fleetmodel.h"
#include "fleetpage.h"
#include "mainwindow.h"
#include "redistestsupport.h"
#include "remoteagent.h"

#include <QSettings>
#include <QtTest>

#include <memory>

using namespace vega;
using namespace vega::testsupport;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 30000;

/// An agent whose HTTP client has the Redis tier.
struct RedisAgent : TestAgent {
    RedisAgent(const QString &name, const RedisConfig &redis) : TestAgent(name, withRedis(redis)) {}
    static EngineConfig withRedis(const RedisConfig &redis)
    {
        EngineConfig config;
        config.http.redis = redis;
        return config;
    }
    QString sharedState() const { return engine->http()->sharedCacheStatus().state; }
};

const DiagnosticCategory *sharedCategory(const SnapshotPtr &snapshot)
{
    return snapshot ? snapshot->diagnostics.category(QStringLiteral("shared_cache")) : nullptr;
}
} // namespace

class TestUiFleetRedis : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        if (RedisServer::binary().isEmpty())
            QSKIP("redis-server is not installed (Debian package redis-server)");
        QCoreApplication::setOrganizationName(QStringLiteral("VegaTest"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_ui_fleet_redis"));
    }

    void twoAgentsShareOneRedisAndTheConsoleSeesIt()
    {
        QTemporaryDir settingsDir;
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir.path());
        RedisServer redis;
        QVERIFY(redis.start());
        Backend backend;
        RedisAgent a(QStringLiteral("agent-a"), redisConfig(redis));
        RedisAgent b(QStringLiteral("agent-b"), redisConfig(redis));
        QTRY_COMPARE_WITH_TIMEOUT(a.sharedState(), QStringLiteral("up"), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(b.sharedState(), QStringLiteral("up"), kTimeoutMs);

        // The console watches both.
        EngineConfig localConfig;
        localConfig.metrics.snapshotIntervalMs = 250;
        Engine local(localConfig, EngineOptions{});
        local.start();
        MainWindow window(&local);
        window.show();
        RemoteAgent *ra = window.connectAgent(a.remote());
        RemoteAgent *rb = window.connectAgent(b.remote());
        QTRY_VERIFY_WITH_TIMEOUT(ra->latest() && rb->latest(), kTimeoutMs);

        // 1. A response fetched through agent A is a Redis hit for agent B.
        const HttpResponse first = fetch(*a.engine->http(), backend.url(QStringLiteral("/shared/1")));
        QVERIFY2(first.ok(), qPrintable(first.errorString));
        const HttpResponse second = fetch(*b.engine->http(), backend.url(QStringLiteral("/shared/1")));
        QVERIFY2(second.ok(), qPrintable(second.errorString));
        QVERIFY(second.fromCache);
        QCOMPARE(backend.count("/shared/1"), 1);
        QCOMPARE(b.engine->http()->sharedCacheStatus().hits, quint64(1));
        // ... and the console shows it for agent B.
        QTRY_COMPARE_WITH_TIMEOUT(rb->latest()->http.sharedCache.hits, quint64(1), kTimeoutMs);

        // 2. 50 concurrent identical requests split over both agents reach the backend once.
        Collector calls;
        for (int i = 0; i < 50; ++i) {
            HttpRequest request;
            request.url = backend.url(QStringLiteral("/shared/burst"));
            calls.track((i % 2 ? b : a).engine->http()->send(request));
        }
        QTRY_COMPARE_WITH_TIMEOUT(calls.done(), 50, kTimeoutMs);
        for (int i = 0; i < 50; ++i)
            QVERIFY2(calls.at(i).ok(), qPrintable(calls.at(i).errorString));
        QCOMPARE(backend.count("/shared/burst"), 1);

        // 3. Redis killed mid-run: every request still succeeds, health shows Redis down.
        redis.stop();
        Collector during;
        for (int i = 0; i < 20; ++i) {
            HttpRequest request;
            request.url = backend.url(QStringLiteral("/down/%1").arg(i / 2));
            during.track((i % 2 ? b : a).engine->http()->send(request));
        }
        QTRY_COMPARE_WITH_TIMEOUT(during.done(), 20, kTimeoutMs);
        for (int i = 0; i < 20; ++i)
            QVERIFY2(during.at(i).ok(), qPrintable(during.at(i).errorString));
        QTRY_VERIFY_WITH_TIMEOUT(a.sharedState() != QLatin1String("up") && b.sharedState() != QLatin1String("up"),
                                 kTimeoutMs);
        // The console sees the agents' health: the shared cache is a warning, not an outage.
        QTRY_VERIFY_WITH_TIMEOUT(sharedCategory(rb->latest()) &&
                                     sharedCategory(rb->latest())->health == Health::Warning,
                                 kTimeoutMs);
        QVERIFY2(sharedCategory(rb->latest())->reason.contains(QStringLiteral("local cache")),
                 qPrintable(sharedCategory(rb->latest())->reason));
        FleetPage *fleet = window.fleetPage();
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                fleet->refresh();
                return fleet->model()->totals().worstHealth >= Health::Warning &&
                       fleet->model()->totals().connected == 3;
            }(),
            kTimeoutMs);

        // 4. Redis back on the same port: both agents use it again by themselves.
        QVERIFY(redis.start());
        QTRY_COMPARE_WITH_TIMEOUT(a.sharedState(), QStringLiteral("up"), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(b.sharedState(), QStringLiteral("up"), kTimeoutMs);
        const quint64 hitsBefore = b.engine->http()->sharedCacheStatus().hits;
        QVERIFY(fetch(*a.engine->http(), backend.url(QStringLiteral("/shared/after"))).ok());
        const HttpResponse again = fetch(*b.engine->http(), backend.url(QStringLiteral("/shared/after")));
        QVERIFY2(again.ok(), qPrintable(again.errorString));
        QCOMPARE(backend.count("/shared/after"), 1);
        QCOMPARE(b.engine->http()->sharedCacheStatus().hits, hitsBefore + 1);
        QTRY_VERIFY_WITH_TIMEOUT(sharedCategory(rb->latest()) && sharedCategory(rb->latest())->health == Health::Ok,
                                 kTimeoutMs);
    }
};

QTEST_MAIN(TestUiFleetRedis)
#include "tst_ui_fleet_redis.moc"
