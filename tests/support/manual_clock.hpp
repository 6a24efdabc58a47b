#pragma once
// A clock that moves only when a test says so, for rate limits and timeouts.

#include "signald/core/rate_limiter.hpp"

#include <chrono>
#include <memory>

namespace signald::test {

class ManualClock
{
public:
    // The Clock to hand to the code under test; it reads this object's time.
    Clock clock()
    {
        return [now = now_] { return *now; };
    }
    void advance(std::chrono::duration<double> by)
    {
        *now_ += std::chrono::duration_cast<std::chrono::steady_clock::duration>(by);
    }
    TimePoint now() const { return *now_; }

private:
    std::shared_ptr<TimePoint> now_ = std::make_shared<TimePoint>();
};

} // namespace signald::test
