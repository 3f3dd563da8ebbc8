#pragma once

#include "snapshotpage.h"

QT_BEGIN_NAMESPACE
class QLabel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class DiagnosticsModel;
class TimeChart;

/// The diagnostics live: every reading with its unit and health, and CPU and memory charts.
class SystemPage : public SnapshotPage {
    Q_OBJECT
public:
    enum CpuSeries { ProcessCpuSeries, SystemCpuSeries };

    explicit SystemPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~SystemPage() override;

    DiagnosticsModel *model() const { return m_model; }
    TimeChart *cpuChart() const { return m_cpuChart; }
    TimeChart *memoryChart() const { return m_memoryChart; }

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    DiagnosticsModel *m_model = nullptr;
    QTreeView *m_view = nullptr;
    QLabel *m_updated = nullptr;
    TimeChart *m_cpuChart = nullptr;
    TimeChart *m_memoryChart = nullptr;
    bool m_columnsSized = false;
};

} // namespace vega::ui
