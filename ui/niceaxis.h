#pragma once

namespace vega::ui {

/// A y axis range people can read: round bounds, 4 to 6 equal steps of 1, 2, 2.5 or 5 × 10^k.
struct NiceRange {
    double min = 0;
    double max = 1;
    int tickCount = 2;
};

/// The tightest readable range containing [lo, hi].
NiceRange niceRange(double lo, double hi);

} // namespace vega::ui
