#include "clock.h"

#include <chrono>

namespace vega {

qint64 SteadyClock::nowNs() const
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

Clock *Clock::system()
{
    static SteadyClock clock;
    return &clock;
}

} // namespace vega
