#pragma once

#include "snapshotpage.h"

#include <QList>

QT_BEGIN_NAMESPACE
class QBarCategoryAxis;
class QBarSet;
class QChartView;
class QLabel;
class QTreeView;
class QValueAxis;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class StallModel;
class TimeChart;

/**
 * The GUI event loop: lag p50/p99/max per snapshot interval in ms with stall markers, the
 * distribution of lag since the last reset, stall counts and the recent stalls.
 */
class EventLoopPage : public SnapshotPage {
    Q_OBJECT
public:
    /// Series of lagChart(), in this order.
    enum LagSeries { P50Series, P99Series, MaxSeries, StallSeries };

    explicit EventLoopPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~EventLoopPage() override;

    TimeChart *lagChart() const { return m_lagChart; }
    StallModel *stallModel() const { return m_stallModel; }
    /// Bars of the distribution chart (ms): p50, p90, p99, p99.9, max.
    QList<qreal> distributionValues() const;
    QString stallCountText() const;

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void updateStatistics(const Snapshot &snapshot);
    void updateDistribution(const EventLoopSummary &summary);

    QString m_thread;
    TimeChart *m_lagChart = nullptr;
    QChartView *m_distributionView = nullptr;
    QBarSet *m_distribution = nullptr;
    QBarCategoryAxis *m_distributionCategories = nullptr;
    QValueAxis *m_distributionAxis = nullptr;
    StallModel *m_stallModel = nullptr;
    QTreeView *m_stallView = nullptr;
    QLabel *m_lagSummary = nullptr;
    QLabel *m_samples = nullptr;
    QLabel *m_stalls100 = nullptr;
    QLabel *m_stalls1s = nullptr;
    QLabel *m_state = nullptr;
};

} // namespace vega::ui
