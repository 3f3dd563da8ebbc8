#include "circuitbreaker.h"
#include "metrics.h"

#include <QtTest>

#include <memory>
#include <vector>

using namespace vega;

namespace {
constexpr qint64 kMs = 1000000;

CircuitBreakerOptions exactOptions()
{
    CircuitBreakerOptions o;
    o.openJitter = 0; // exact periods unless a test is about jitter
    o.seed = 42;
    return o;
}

void calls(CircuitBreaker &b, int n, CallOutcome outcome, qint64 durationNs = 10 * kMs)
{
    for (int i = 0; i < n; ++i) {
        const auto permit = b.tryAcquire();
        QVERIFY(permit);
        b.record(permit, outcome, durationNs);
    }
}

Labels breakerLabels(const QString &name, const QString &key = {}, const QString &value = {})
{
    Labels l{{QStringLiteral("breaker"), name}};
    if (!key.isEmpty())
        l.append({key, value});
    return l;
}
} // namespace

class TestCircuitBreaker : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void burstOfFailuresOpensAtMinimumCalls()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 19, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Closed);
        calls(b, 1, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Open);
        QCOMPARE(b.transitions().size(), 1);
        QCOMPARE(b.stats().trips, 1);
    }

    void belowMinimumCallsStaysClosed()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 19, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Closed);
        QCOMPARE(b.stats().failureRatePercent, 100.0);
        QVERIFY(b.tryAcquire().permitted);
    }

    void failureRateBelowThresholdStaysClosed()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        for (int i = 0; i < 50; ++i) {
            calls(b, 1, CallOutcome::Success);
            if (i % 2)
                calls(b, 1, CallOutcome::Success);
            else
                calls(b, 1, CallOutcome::Failure);
        }
        // 25 failures in 100 calls.
        QCOMPARE(b.state(), CircuitState::Closed);
        QCOMPARE(b.stats().failureRatePercent, 25.0);
    }

    void countWindowKeepsLastNCalls()
    {
        ManualClock clock;
        CircuitBreakerOptions o = exactOptions();
        o.windowCalls = 10;
        o.minimumCalls = 10;
        CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
        calls(b, 4, CallOutcome::Failure);
        calls(b, 20, CallOutcome::Success); // pushes the failures out
        QCOMPARE(b.stats().callsInWindow, 10);
        QCOMPARE(b.stats().failuresInWindow, 0);
        calls(b, 4, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Closed);
        calls(b, 1, CallOutcome::Failure); // 5 of the last 10
        QCOMPARE(b.state(), CircuitState::Open);
    }

    void openRejectsWithRemainingTime()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        auto p = b.tryAcquire();
        QVERIFY(!p.permitted);
        QCOMPARE(p.state, CircuitState::Open);
        QCOMPARE(p.remainingOpenMs, qint64(5000));
        clock.advanceMs(1200);
        p = b.tryAcquire();
        QVERIFY(!p.permitted);
        QCOMPARE(p.remainingOpenMs, qint64(3800));
        const auto s = b.stats();
        QCOMPARE(s.rejected, quint64(2));
        QCOMPARE(s.openPeriodMs, qint64(5000));
        QCOMPARE(s.remainingOpenMs, qint64(3800));
        clock.advanceMs(3799);
        QVERIFY(!b.tryAcquire().permitted);
        QCOMPARE(b.state(), CircuitState::Open);
    }

    void halfOpenLetsExactlyNTrialsThrough()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        clock.advanceMs(5000);
        QCOMPARE(b.state(), CircuitState::HalfOpen); // lazily, without a tryAcquire
        QList<CircuitBreaker::Permit> trials;
        for (int i = 0; i < 5; ++i) {
            trials.append(b.tryAcquire());
            QVERIFY(trials.last().permitted);
            QCOMPARE(trials.last().state, CircuitState::HalfOpen);
        }
        const auto extra = b.tryAcquire();
        QVERIFY(!extra.permitted);
        QCOMPARE(extra.remainingOpenMs, qint64(0));
        QCOMPARE(b.stats().halfOpenInFlight, 5);

        // Still undecided until the last trial completes.
        for (int i = 0; i < 4; ++i)
            b.onSuccess(trials[i], kMs);
        QCOMPARE(b.state(), CircuitState::HalfOpen);
        QVERIFY(!b.tryAcquire().permitted);
        b.onSuccess(trials[4], kMs);
        QCOMPARE(b.state(), CircuitState::Closed);
        const auto s = b.stats();
        QCOMPARE(s.trips, 0);
        QCOMPARE(s.callsInWindow, 0); // fresh window after recovery
        QVERIFY(b.tryAcquire().permitted);
    }

    void fewTrialFailuresStillClose()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        clock.advanceMs(5000);
        calls(b, 2, CallOutcome::Failure);
        calls(b, 3, CallOutcome::Success); // 40% < 50%
        QCOMPARE(b.state(), CircuitState::Closed);
        QVERIFY(b.transitions().last().reason.contains(QStringLiteral("2 of 5 trial calls failed")));
    }

    void trialFailuresReopenWithLongerPeriod()
    {
        ManualClock clock;
        CircuitBreakerOptions o = exactOptions();
        o.openCapMs = 30000;
        CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        QCOMPARE(b.stats().openPeriodMs, qint64(5000));

        const qint64 expected[] = {10000, 20000, 30000, 30000};
        for (qint64 period : expected) {
            clock.advanceMs(b.stats().openPeriodMs);
            QCOMPARE(b.state(), CircuitState::HalfOpen);
            calls(b, 3, CallOutcome::Failure);
            calls(b, 2, CallOutcome::Success); // 60% ≥ 50%
            QCOMPARE(b.state(), CircuitState::Open);
            QCOMPARE(b.stats().openPeriodMs, period);
            QCOMPARE(b.tryAcquire().remainingOpenMs, period);
        }
        QCOMPARE(b.stats().trips, 5);

        // A successful close resets the growth.
        clock.advanceMs(30000);
        calls(b, 5, CallOutcome::Success);
        QCOMPARE(b.state(), CircuitState::Closed);
        calls(b, 20, CallOutcome::Failure);
        QCOMPARE(b.stats().openPeriodMs, qint64(5000));
        QCOMPARE(b.stats().trips, 1);
    }

    void jitteredPeriodsGrowWithinBounds()
    {
        // Many seeds: every first period within base ±10%, the second ≈ 2× the first within
        // the jitter bounds, and the cap is never exceeded.
        bool sawBelow = false, sawAbove = false;
        for (quint64 seed = 1; seed <= 200; ++seed) {
            ManualClock clock;
            CircuitBreakerOptions o;
            o.seed = seed;
            o.openCapMs = 20000;
            CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
            calls(b, 20, CallOutcome::Failure);
            const qint64 first = b.stats().openPeriodMs;
            QVERIFY2(first >= 4500 && first <= 5500, qPrintable(QString::number(first)));
            sawBelow |= first < 5000;
            sawAbove |= first > 5000;

            clock.advanceMs(first);
            calls(b, 5, CallOutcome::Failure);
            const qint64 second = b.stats().openPeriodMs;
            QVERIFY2(second >= 9000 && second <= 11000, qPrintable(QString::number(second)));
            const double ratio = double(second) / double(first);
            QVERIFY(ratio >= 2.0 * 0.9 / 1.1 - 1e-9 && ratio <= 2.0 * 1.1 / 0.9 + 1e-9);

            for (int trip = 3; trip <= 5; ++trip) {
                clock.advanceMs(b.stats().openPeriodMs);
                calls(b, 5, CallOutcome::Failure);
                const qint64 p = b.stats().openPeriodMs;
                // trip 3 is nominally exactly the cap, 4 and 5 are capped: never above it.
                QVERIFY2(p >= 18000 && p <= 20000, qPrintable(QString::number(p)));
            }
        }
        QVERIFY(sawBelow && sawAbove);
    }

    void sameSeedSamePeriods()
    {
        ManualClock c1, c2;
        CircuitBreakerOptions o;
        o.seed = 7;
        CircuitBreaker a(QStringLiteral("a"), o, nullptr, &c1);
        CircuitBreaker b(QStringLiteral("b"), o, nullptr, &c2);
        calls(a, 20, CallOutcome::Failure);
        calls(b, 20, CallOutcome::Failure);
        QCOMPARE(a.stats().openPeriodMs, b.stats().openPeriodMs);
    }

    void timeWindowForgetsOldFailures()
    {
        ManualClock clock; // starts at exactly 1 s
        CircuitBreakerOptions o = exactOptions();
        o.windowType = CircuitBreakerOptions::WindowType::Time;
        o.windowSeconds = 10;
        CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
        calls(b, 15, CallOutcome::Failure);
        clock.advanceMs(9999); // still within the 10 one-second buckets
        QCOMPARE(b.stats().callsInWindow, 15);
        clock.advanceMs(1);
        QCOMPARE(b.stats().callsInWindow, 0);
        calls(b, 15, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Closed); // 30 failures, but only 15 in the window

        clock.advanceMs(3000);
        calls(b, 4, CallOutcome::Failure);
        QCOMPARE(b.stats().callsInWindow, 19);
        calls(b, 1, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Open);
    }

    void timeWindowSlidesBucketByBucket()
    {
        ManualClock clock;
        CircuitBreakerOptions o = exactOptions();
        o.windowType = CircuitBreakerOptions::WindowType::Time;
        o.windowSeconds = 3;
        CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
        calls(b, 1, CallOutcome::Failure);
        clock.advanceMs(1000);
        calls(b, 2, CallOutcome::Success);
        clock.advanceMs(1000);
        calls(b, 3, CallOutcome::Success);
        QCOMPARE(b.stats().callsInWindow, 6);
        clock.advanceMs(1000);
        QCOMPARE(b.stats().callsInWindow, 5);
        QCOMPARE(b.stats().failuresInWindow, 0);
        clock.advanceMs(1000);
        QCOMPARE(b.stats().callsInWindow, 3);
        // A long idle gap reuses buckets cleanly.
        clock.advanceMs(60000);
        QCOMPARE(b.stats().callsInWindow, 0);
        calls(b, 2, CallOutcome::Failure);
        QCOMPARE(b.stats().callsInWindow, 2);
        QCOMPARE(b.stats().failuresInWindow, 2);
    }

    void slowCallsTripWhenThresholdLowered()
    {
        ManualClock clock;
        CircuitBreakerOptions o = exactOptions();
        o.slowCallDurationMs = 1000;
        {
            CircuitBreaker b(QStringLiteral("default"), o, nullptr, &clock);
            calls(b, 40, CallOutcome::Success, 2000 * kMs);
            QCOMPARE(b.state(), CircuitState::Closed); // 100% = off
            QCOMPARE(b.stats().slowCallRatePercent, 100.0);
        }
        o.slowCallRateThreshold = 50;
        CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
        calls(b, 10, CallOutcome::Success, 999 * kMs);
        calls(b, 9, CallOutcome::Success, 1000 * kMs);
        QCOMPARE(b.state(), CircuitState::Closed);
        calls(b, 1, CallOutcome::Success, 1500 * kMs); // 10 of 20 slow
        QCOMPARE(b.state(), CircuitState::Open);
        QVERIFY(b.transitions().last().reason.startsWith(
            QStringLiteral("slow-call rate 50.0% ≥ 50% over 20 calls")));
    }

    void forceOpenRejectsAlways()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        b.forceOpen();
        QCOMPARE(b.state(), CircuitState::ForcedOpen);
        for (int i = 0; i < 3; ++i) {
            const auto p = b.tryAcquire();
            QVERIFY(!p.permitted);
            QCOMPARE(p.remainingOpenMs, qint64(-1));
            clock.advanceMs(600000);
        }
        QCOMPARE(b.state(), CircuitState::ForcedOpen);
        b.reset();
        QCOMPARE(b.state(), CircuitState::Closed);
        QVERIFY(b.tryAcquire().permitted);
    }

    void forceClosedPermitsAlways()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Open);
        b.forceClosed();
        calls(b, 100, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::ForcedClosed);
        QCOMPARE(b.stats().failureRatePercent, 100.0);

        b.reset();
        const auto s = b.stats();
        QCOMPARE(s.state, CircuitState::Closed);
        QCOMPARE(s.callsInWindow, 0);
        QCOMPARE(s.trips, 0);
        calls(b, 19, CallOutcome::Failure);
        QCOMPARE(b.state(), CircuitState::Closed);
    }

    void classify_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<bool>("networkError");
        QTest::addColumn<bool>("timeout");
        QTest::addColumn<CallOutcome>("expected");
        QTest::newRow("200") << 200 << false << false << CallOutcome::Success;
        QTest::newRow("304") << 304 << false << false << CallOutcome::Success;
        QTest::newRow("400") << 400 << false << false << CallOutcome::Success;
        QTest::newRow("404") << 404 << false << false << CallOutcome::Success;
        QTest::newRow("408") << 408 << false << false << CallOutcome::Success;
        QTest::newRow("429") << 429 << false << false << CallOutcome::Ignored;
        QTest::newRow("500") << 500 << false << false << CallOutcome::Failure;
        QTest::newRow("503") << 503 << false << false << CallOutcome::Failure;
        QTest::newRow("599") << 599 << false << false << CallOutcome::Failure;
        QTest::newRow("connection error") << 0 << true << false << CallOutcome::Failure;
        QTest::newRow("timeout") << 0 << false << true << CallOutcome::Failure;
        QTest::newRow("cancelled") << 0 << false << false << CallOutcome::Ignored;
    }

    void classify()
    {
        QFETCH(int, status);
        QFETCH(bool, networkError);
        QFETCH(bool, timeout);
        QFETCH(CallOutcome, expected);
        CircuitBreaker b(QStringLiteral("api"));
        QCOMPARE(b.classify(status, networkError, timeout), expected);
    }

    void classificationIsConfigurable()
    {
        CallClassification rules;
        rules.failureStatuses = {429};
        rules.ignoredStatuses = {501};
        rules.timeoutsAreFailures = false;
        QCOMPARE(CircuitBreaker::classify(rules, 429, false, false), CallOutcome::Failure);
        QCOMPARE(CircuitBreaker::classify(rules, 501, false, false), CallOutcome::Ignored);
        QCOMPARE(CircuitBreaker::classify(rules, 502, false, false), CallOutcome::Failure);
        QCOMPARE(CircuitBreaker::classify(rules, 0, false, true), CallOutcome::Ignored);
        rules.serverErrorsAreFailures = false;
        QCOMPARE(CircuitBreaker::classify(rules, 502, false, false), CallOutcome::Success);
    }

    void clientErrorsDoNotOpen()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        for (int i = 0; i < 200; ++i) {
            const auto p = b.tryAcquire();
            QVERIFY(p);
            b.record(p, b.classify(i % 2 ? 404 : 429, false, false), kMs);
        }
        QCOMPARE(b.state(), CircuitState::Closed);
        QCOMPARE(b.stats().failuresInWindow, 0);
    }

    void halfOpenTrialAnsweredWith4xxCloses()
    {
        // Hystrix #2005: a 4xx trial kept the circuit open.
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        clock.advanceMs(5000);
        for (int i = 0; i < 5; ++i) {
            const auto p = b.tryAcquire();
            QVERIFY(p);
            b.record(p, b.classify(404, false, false), kMs);
        }
        QCOMPARE(b.state(), CircuitState::Closed);
    }

    void ignoredReleasesHalfOpenSlot()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        clock.advanceMs(5000);
        QList<CircuitBreaker::Permit> trials;
        for (int i = 0; i < 5; ++i)
            trials.append(b.tryAcquire());
        QVERIFY(!b.tryAcquire().permitted);
        b.onIgnored(trials[0]); // e.g. cancelled: nothing learnt, slot back
        const auto replacement = b.tryAcquire();
        QVERIFY(replacement.permitted);
        QVERIFY(!b.tryAcquire().permitted);
        for (int i = 1; i < 5; ++i)
            b.onSuccess(trials[i], kMs);
        QCOMPARE(b.state(), CircuitState::HalfOpen);
        b.onSuccess(replacement, kMs);
        QCOMPARE(b.state(), CircuitState::Closed);
    }

    void latePermitIsNotTakenForATrial()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        const auto early = b.tryAcquire(); // admitted while closed, finishes much later
        calls(b, 20, CallOutcome::Failure);
        clock.advanceMs(5000);
        const auto trial = b.tryAcquire();
        QCOMPARE(trial.state, CircuitState::HalfOpen);
        b.onFailure(early, 30000 * kMs);
        QCOMPARE(b.stats().halfOpenCompleted, 0);
        QCOMPARE(b.stats().halfOpenInFlight, 1);
        b.onSuccess(trial, kMs);
        QCOMPARE(b.stats().halfOpenCompleted, 1);
    }

    void unattributedResultsNeverExceedTrials()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        calls(b, 20, CallOutcome::Failure);
        clock.advanceMs(5000);
        b.onFailure(kMs); // nothing in flight: a straggler from before the trip
        QCOMPARE(b.state(), CircuitState::HalfOpen);
        QCOMPARE(b.stats().halfOpenCompleted, 0);
        // Results while open are dropped too.
        CircuitBreaker c(QStringLiteral("c"), exactOptions(), nullptr, &clock);
        calls(c, 20, CallOutcome::Failure);
        c.onSuccess(kMs);
        QCOMPARE(c.state(), CircuitState::Open);
    }

    void transitionsAndEventsAreRecorded()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), &registry, &clock);
        calls(b, 8, CallOutcome::Success);
        calls(b, 12, CallOutcome::Failure);
        QVERIFY(!b.tryAcquire().permitted);
        clock.advanceMs(7000); // the half-open transition is stamped when it became due
        calls(b, 5, CallOutcome::Success);
        b.forceOpen();
        b.forceClosed();
        b.reset();

        const auto t = b.transitions();
        QCOMPARE(t.size(), 6);
        QCOMPARE(t[0].from, CircuitState::Closed);
        QCOMPARE(t[0].to, CircuitState::Open);
        QCOMPARE(t[0].reason,
                 QStringLiteral("failure rate 60.0% ≥ 50% over 20 calls; open for 5000 ms (trip 1)"));
        QCOMPARE(t[1].to, CircuitState::HalfOpen);
        QCOMPARE(t[1].wallMs - t[0].wallMs, qint64(5000));
        QCOMPARE(t[1].reason, QStringLiteral("open period of 5000 ms elapsed"));
        QCOMPARE(t[2].to, CircuitState::Closed);
        QCOMPARE(t[2].wallMs - t[0].wallMs, qint64(7000));
        QCOMPARE(t[2].reason, QStringLiteral("0 of 5 trial calls failed (0.0% < 50%)"));
        QCOMPARE(t[3].to, CircuitState::ForcedOpen);
        QCOMPARE(t[4].to, CircuitState::ForcedClosed);
        QCOMPARE(t[5].from, CircuitState::ForcedClosed);
        QCOMPARE(t[5].to, CircuitState::Closed);
        QCOMPARE(t[5].reason, QStringLiteral("reset by operator"));

        const auto snap = registry.capture();
        QList<EngineEvent> events;
        for (const EngineEvent &e : snap->events)
            if (e.kind == QStringLiteral("breaker"))
                events.append(e);
        QCOMPARE(events.size(), 6);
        QCOMPARE(events[0].source, QStringLiteral("breaker:api"));
        QCOMPARE(events[0].message, QStringLiteral("closed → open: ") + t[0].reason);

        const auto value = [&](const QString &metric, const Labels &labels) {
            const MetricSnapshot *m = snap->find(metric, labels);
            return m ? (m->type == MetricType::Counter ? double(m->total) : m->value) : -1.0;
        };
        const QString api = QStringLiteral("api");
        QCOMPARE(value(QStringLiteral("breaker_calls"),
                       breakerLabels(api, QStringLiteral("outcome"), QStringLiteral("success"))),
                 13.0);
        QCOMPARE(value(QStringLiteral("breaker_calls"),
                       breakerLabels(api, QStringLiteral("outcome"), QStringLiteral("failure"))),
                 12.0);
        QCOMPARE(value(QStringLiteral("breaker_calls"),
                       breakerLabels(api, QStringLiteral("outcome"), QStringLiteral("ignored"))),
                 0.0);
        QCOMPARE(value(QStringLiteral("breaker_rejected"), breakerLabels(api)), 1.0);
        QCOMPARE(value(QStringLiteral("breaker_transitions"),
                       breakerLabels(api, QStringLiteral("to"), QStringLiteral("open"))),
                 1.0);
        QCOMPARE(value(QStringLiteral("breaker_transitions"),
                       breakerLabels(api, QStringLiteral("to"), QStringLiteral("half_open"))),
                 1.0);
        QCOMPARE(value(QStringLiteral("breaker_transitions"),
                       breakerLabels(api, QStringLiteral("to"), QStringLiteral("closed"))),
                 2.0);
        QCOMPARE(value(QStringLiteral("breaker_transitions"),
                       breakerLabels(api, QStringLiteral("to"), QStringLiteral("forced_open"))),
                 1.0);
        QCOMPARE(value(QStringLiteral("breaker_transitions"),
                       breakerLabels(api, QStringLiteral("to"), QStringLiteral("forced_closed"))),
                 1.0);
        QCOMPARE(value(QStringLiteral("breaker_state"), breakerLabels(api)), 0.0);
        QCOMPARE(snap->find(QStringLiteral("breaker_failure_rate"), breakerLabels(api))->unit, Unit::Ratio);
    }

    void gaugesFollowState()
    {
        ManualClock clock;
        MetricsRegistry registry(&clock);
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), &registry, &clock);
        Gauge *state = registry.gauge(QStringLiteral("breaker_state"), breakerLabels(QStringLiteral("api")));
        Gauge *rate =
            registry.gauge(QStringLiteral("breaker_failure_rate"), breakerLabels(QStringLiteral("api")));
        calls(b, 10, CallOutcome::Success);
        calls(b, 10, CallOutcome::Failure);
        QCOMPARE(state->value(), 1.0);
        QCOMPARE(rate->value(), 0.5);
        clock.advanceMs(5000);
        QCOMPARE(b.state(), CircuitState::HalfOpen);
        QCOMPARE(state->value(), 2.0);
        b.forceOpen();
        QCOMPARE(state->value(), 3.0);
        b.forceClosed();
        QCOMPARE(state->value(), 4.0);
        b.reset();
        QCOMPARE(state->value(), 0.0);
        QCOMPARE(rate->value(), 0.0);
    }

    void transitionLogIsBounded()
    {
        ManualClock clock;
        CircuitBreaker b(QStringLiteral("api"), exactOptions(), nullptr, &clock);
        for (int i = 0; i < 80; ++i) {
            b.forceOpen();
            b.reset();
        }
        const auto t = b.transitions();
        QCOMPARE(t.size(), 100);
        QCOMPARE(t.last().reason, QStringLiteral("reset by operator"));
    }

    void concurrentCallersKeepCountsConsistent()
    {
        ManualClock clock;
        CircuitBreakerOptions o = exactOptions();
        o.failureRateThreshold = 100;
        o.windowCalls = 100000;
        CircuitBreaker b(QStringLiteral("api"), o, nullptr, &clock);
        std::vector<std::unique_ptr<QThread>> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back(QThread::create([&b, t] {
                for (int i = 0; i < 2000; ++i) {
                    const auto p = b.tryAcquire();
                    if (p)
                        b.onSuccess(p, (t + i) % 3 ? kMs : 10 * kMs);
                }
            }));
            threads.back()->start();
        }
        for (const auto &t : threads)
            QVERIFY(t->wait(30000));
        QCOMPARE(b.stats().callsInWindow, 8000);
    }
};

QTEST_GUILESS_MAIN(TestCircuitBreaker)
#include "tst_circuitbreaker.moc"
