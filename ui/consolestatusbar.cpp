#include "consolestatusbar.h"

#include "format.h"
#include "healthstyle.h"

#include <QLabel>

namespace vega::ui {

ConsoleStatusBar::ConsoleStatusBar(int refreshIntervalMs, QWidget *parent) : QStatusBar(parent)
{
    m_stale = new QLabel(tr("STALE: no new data"), this);
    m_stale->setObjectName(QStringLiteral("staleBadge"));
    m_stale->setStyleSheet(staleBadgeStyleSheet());
    m_stale->setToolTip(tr("No snapshot arrived for more than three intervals."));
    m_stale->hide();
    m_refresh = new QLabel(tr("Refresh every %1").arg(formatDurationMs(refreshIntervalMs)), this);
    m_refresh->setObjectName(QStringLiteral("refreshLabel"));
    m_lastUpdate = new QLabel(tr("Last update %1").arg(missingValueText()), this);
    m_lastUpdate->setObjectName(QStringLiteral("lastUpdateLabel"));
    m_cpu = new QLabel(tr("Console CPU %1").arg(missingValueText()), this);
    m_cpu->setObjectName(QStringLiteral("consoleCpuLabel"));
    m_cpu->setToolTip(tr("CPU used by this console (percent of one core)"));

    addPermanentWidget(m_stale);
    addPermanentWidget(m_lastUpdate);
    addPermanentWidget(m_refresh);
    addPermanentWidget(m_cpu);
}

ConsoleStatusBar::~ConsoleStatusBar() = default;

void ConsoleStatusBar::setRefreshIntervalMs(int ms)
{
    m_refresh->setText(tr("Refresh every %1").arg(formatDurationMs(ms)));
}

QString ConsoleStatusBar::refreshText() const
{
    return m_refresh->text();
}

QString ConsoleStatusBar::lastUpdateText() const
{
    return m_lastUpdate->text();
}

QString ConsoleStatusBar::consoleCpuText() const
{
    return m_cpu->text();
}

bool ConsoleStatusBar::isStaleShown() const
{
    return !m_stale->isHidden();
}

void ConsoleStatusBar::setSnapshot(const SnapshotPtr &snapshot)
{
    if (!snapshot || !snapshot->metrics)
        return;
    const MetricsSnapshot &metrics = *snapshot->metrics;
    m_lastUpdate->setText(tr("Last update %1").arg(formatClockTime(metrics.wallMs)));
    if (m_cpuFromSnapshots)
        setConsoleSnapshot(snapshot);
}

void ConsoleStatusBar::setConsoleSnapshot(const SnapshotPtr &snapshot)
{
    if (!snapshot || !snapshot->metrics)
        return;
    const MetricSnapshot *cpu = snapshot->metrics->find(QStringLiteral("system_cpu_percent"),
                                                        {{QStringLiteral("scope"), QStringLiteral("process")}});
    m_cpu->setText(
        tr("Console CPU %1").arg(cpu ? formatValue(cpu->value, Unit::Percent) : missingValueText()));
}

void ConsoleStatusBar::setStale(bool stale)
{
    m_stale->setVisible(stale);
}

} // namespace vega::ui
