#pragma once

#include <QList>
#include <QObject>
#include <QPointer>

namespace vega::ui {

class TimeChart;

/**
 * The charts of one page, sharing a time axis: hovering one shows the crosshair on all;
 * choosing a window, zooming, Back, pausing and going live on one applies to all. The group
 * is a child of the page; charts may be destroyed before it.
 */
class ChartGroup : public QObject {
    Q_OBJECT
public:
    explicit ChartGroup(QObject *parent = nullptr);
    ~ChartGroup() override;

    void add(TimeChart *chart);
    /// Every TimeChart under `root` (e.g. a page) in one group owned by `root`.
    static ChartGroup *linkAll(QWidget *root);
    int size() const { return int(m_charts.size()); }

private:
    void follow(TimeChart *source);

    QList<QPointer<TimeChart>> m_charts;
    bool m_syncing = false;
};

} // namespace vega::ui
