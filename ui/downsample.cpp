#include "downsample.h"

#include <algorithm>
#include <cmath>

namespace vega::ui {

QList<QPointF> windowAndDownsample(const QVector<SeriesPoint> &points, qint64 fromMs, qint64 toMs,
                                   int buckets, double scale)
{
    QList<QPointF> out;
    if (toMs < fromMs)
        return out;
    const auto byTime = [](const SeriesPoint &p, qint64 t) { return p.tMs < t; };
    const auto begin = std::lower_bound(points.cbegin(), points.cend(), fromMs, byTime);
    const auto end = std::lower_bound(begin, points.cend(), toMs + 1, byTime);
    const qint64 n = end - begin;

    if (buckets <= 0 || n <= 2 * qint64(buckets)) {
        out.reserve(n);
        for (auto it = begin; it != end; ++it)
            if (std::isfinite(it->value))
                out.append(QPointF(double(it->tMs), it->value * scale));
        return out;
    }

    out.reserve(2 * buckets);
    const double span = double(std::max<qint64>(1, toMs - fromMs));
    int current = -1;
    SeriesPoint lo;
    SeriesPoint hi;
    const auto flush = [&] {
        if (current < 0)
            return;
        const SeriesPoint &first = lo.tMs <= hi.tMs ? lo : hi;
        const SeriesPoint &second = lo.tMs <= hi.tMs ? hi : lo;
        out.append(QPointF(double(first.tMs), first.value * scale));
        if (second.tMs != first.tMs || second.value != first.value)
            out.append(QPointF(double(second.tMs), second.value * scale));
    };
    for (auto it = begin; it != end; ++it) {
        if (!std::isfinite(it->value))
            continue;
        const int b = std::min(buckets - 1, int(double(it->tMs - fromMs) * buckets / span));
        if (b != current) {
            flush();
            current = b;
            lo = hi = *it;
            continue;
        }
        if (it->value < lo.value)
            lo = *it;
        if (it->value > hi.value)
            hi = *it;
    }
    flush();
    return out;
}

} // namespace vega::ui
