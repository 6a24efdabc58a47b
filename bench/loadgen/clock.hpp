#pragma once
// The generator's one time base. Payloads carry nanoseconds since the generator started (data.t),
// so a receiver turns a message into a latency with one subtraction and no wall clock.

#include <chrono>
#include <cstdint>

namespace bench {

using Clock = std::chrono::steady_clock;

// Fixed at first use, which main() forces before any scenario runs.
inline Clock::time_point bench_start()
{
    static const Clock::time_point start = Clock::now();
    return start;
}

inline std::int64_t ns_since_start(Clock::time_point when)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(when - bench_start()).count();
}

inline std::int64_t to_ns(std::chrono::duration<double> seconds)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(seconds).count();
}

} // namespace bench
