#include "niceaxis.h"

#include <cmath>
#include <initializer_list>
#include <limits>

namespace vega::ui {

namespace {
double niceStep(double raw)
{
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * magnitude >= raw * (1 - 1e-12))
            return m * magnitude;
    return 10 * magnitude;
}
} // namespace

NiceRange niceRange(double lo, double hi)
{
    if (!std::isfinite(lo) || !std::isfinite(hi))
        return {};
    if (hi < lo)
        std::swap(lo, hi);
    if (hi - lo <= std::abs(hi) * 1e-12 || hi == lo) {
        const double pad = hi == 0 ? 1 : std::abs(hi) * 0.5;
        lo -= lo == 0 ? 0 : pad;
        hi += pad;
    }
    NiceRange best;
    double bestSpan = std::numeric_limits<double>::infinity();
    for (int intervals = 4; intervals <= 6; ++intervals) {
        const double step = niceStep((hi - lo) / intervals);
        const double min = std::floor(lo / step + 1e-9) * step;
        const double max = std::ceil(hi / step - 1e-9) * step;
        const double span = max - min;
        if (span < bestSpan * (1 - 1e-9)) {
            bestSpan = span;
            best = {min, max, int(std::lround(span / step)) + 1};
        }
    }
    return best;
}

} // namespace vega::ui
