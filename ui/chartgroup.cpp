#include "chartgroup.h"

#include "timechart.h"

#include <QWidget>

namespace vega::ui {

ChartGroup::ChartGroup(QObject *parent) : QObject(parent) {}

ChartGroup::~ChartGroup() = default;

void ChartGroup::add(TimeChart *chart)
{
    if (!chart || m_charts.contains(chart))
        return;
    if (!m_charts.isEmpty()) {
        // A newcomer takes the group's view.
        for (const QPointer<TimeChart> &c : std::as_const(m_charts)) {
            if (c) {
                chart->setViewState(c->viewState());
                break;
            }
        }
    }
    m_charts.append(chart);
    connect(chart, &TimeChart::hovered, this, [this, chart](qint64 tMs) {
        for (const QPointer<TimeChart> &c : std::as_const(m_charts))
            if (c && c != chart)
                c->setCrosshair(tMs);
    });
    connect(chart, &TimeChart::viewChanged, this, [this, chart] { follow(chart); });
}

void ChartGroup::follow(TimeChart *source)
{
    if (m_syncing)
        return;
    m_syncing = true;
    const TimeChart::ViewState state = source->viewState();
    for (const QPointer<TimeChart> &c : std::as_const(m_charts))
        if (c && c != source)
            c->setViewState(state);
    m_syncing = false;
}

ChartGroup *ChartGroup::linkAll(QWidget *root)
{
    auto *group = new ChartGroup(root);
    const QList<TimeChart *> charts = root->findChildren<TimeChart *>();
    for (TimeChart *chart : charts)
        group->add(chart);
    return group;
}

} // namespace vega::ui
