#include "systempage.h"

#include "diagnosticsmodel.h"
#include "snapshotsource.h"
#include "format.h"
#include "timechart.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace vega::ui {

namespace {
constexpr double kMiB = 1024.0 * 1024.0;
}

SystemPage::SystemPage(SnapshotSource *engine, QWidget *parent) : SnapshotPage(parent)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("System diagnostics"), m_updated);

    m_model = new DiagnosticsModel(this);
    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("diagnosticsView"));
    m_view->setModel(m_model);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->header()->setStretchLastSection(true);

    m_cpuChart = new TimeChart(tr("CPU (%)"), this);
    m_cpuChart->setObjectName(QStringLiteral("cpuChart"));
    m_cpuChart->addSeries(tr("this process (of one core)"), QColor(0x3b, 0x82, 0xf6));
    m_cpuChart->addSeries(tr("system"), QColor(0xa8, 0x55, 0xf7));
    m_cpuChart->setValueAxisTitle(tr("%"));
    m_cpuChart->setValueSuffix(QStringLiteral(" %"));
    m_cpuChart->setMinimumValueSpan(10);

    m_memoryChart = new TimeChart(tr("Resident memory (MiB)"), this);
    m_memoryChart->setObjectName(QStringLiteral("memoryChart"));
    m_memoryChart->addSeries(tr("RSS"), QColor(0x10, 0xb9, 0x81));
    m_memoryChart->setValueAxisTitle(tr("MiB"));
    m_memoryChart->setValueSuffix(QStringLiteral(" MiB"));
    m_memoryChart->setMinimumValueSpan(1);

    auto *charts = new QSplitter(Qt::Vertical, this);
    charts->addWidget(m_cpuChart);
    charts->addWidget(m_memoryChart);
    charts->setChildrenCollapsible(false);

    auto *split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(m_view);
    split->addWidget(charts);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setSizes({700, 500});
    split->setChildrenCollapsible(false);

    // The pane sizes the operator chose are kept across runs.
    charts->setObjectName(QStringLiteral("chartsSplitter"));
    split->setObjectName(QStringLiteral("splitSplitter"));
    keepSplitterSizes(QStringLiteral("system"), {charts, split});

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(split, 1);

    if (engine) {
        setUpCharts(engine, {m_cpuChart, m_memoryChart});
        setSnapshot(engine->latest());
    }
}

SystemPage::~SystemPage() = default;

void SystemPage::applySnapshot(const Snapshot &snapshot)
{
    m_model->setReport(snapshot.diagnostics);
    if (!m_columnsSized && m_model->rowCount() > 0) {
        m_columnsSized = true;
        for (int c : {int(DiagnosticsModel::CategoryColumn), int(DiagnosticsModel::KeyColumn),
                      int(DiagnosticsModel::ValueColumn), int(DiagnosticsModel::HealthColumn)})
            m_view->resizeColumnToContents(c);
    }
    const qint64 wallMs = snapshot.metrics ? snapshot.metrics->wallMs : snapshot.diagnostics.wallMs;
    m_updated->setText(tr("Updated %1").arg(formatClockTime(wallMs)));
    if (!snapshot.metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot.metrics;
    const QString cpu = QStringLiteral("system_cpu_percent");
    const QString scope = QStringLiteral("scope");
    if (const MetricSnapshot *m = metrics.find(cpu, {{scope, QStringLiteral("process")}}))
        m_cpuChart->setSeriesData(ProcessCpuSeries, *m, SeriesField::Value);
    if (const MetricSnapshot *m = metrics.find(cpu, {{scope, QStringLiteral("system")}}))
        m_cpuChart->setSeriesData(SystemCpuSeries, *m, SeriesField::Value);
    m_cpuChart->setEndTime(metrics.wallMs);
    if (const MetricSnapshot *m = metrics.find(QStringLiteral("process_rss_bytes")))
        m_memoryChart->setSeriesData(0, *m, SeriesField::Value, 1.0 / kMiB);
    m_memoryChart->setEndTime(metrics.wallMs);
}

} // namespace vega::ui
