#pragma once

#include "timeseries.h"

#include <QList>
#include <QPointF>
#include <QVector>

namespace vega::ui {

/**
 * The points of `points` (oldest first) inside [fromMs, toMs] as chart points (x = epoch ms,
 * y = value * scale). When there are more than 2 * buckets of them, the window is cut into
 * `buckets` equal time slices and only each slice's minimum and maximum are kept, in time
 * order, so a one-sample spike still shows at any zoom. buckets <= 0 disables it.
 * Non-finite values are dropped.
 */
QList<QPointF> windowAndDownsample(const QVector<SeriesPoint> &points, qint64 fromMs, qint64 toMs,
                                   int buckets, double scale = 1.0);

} // namespace vega::ui
