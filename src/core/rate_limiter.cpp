#include "signald/core/rate_limiter.hpp"

#include <algorithm>

namespace signald {

TokenBucket::TokenBucket(double capacity, double per_second, TimePoint now)
    : capacity_(capacity), per_second_(per_second), tokens_(capacity), last_(now)
{}

bool TokenBucket::take(double amount, TimePoint now)
{
    const std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(capacity_, tokens_ + std::max(0.0, elapsed.count()) * per_second_);
    if (tokens_ < amount)
        return false;
    tokens_ -= amount;
    return true;
}

RateLimiter::RateLimiter(const RateLimit& limit, std::size_t largest_message_bytes, TimePoint now)
    : limit_messages_(limit.messages_per_second > 0), limit_bytes_(limit.bytes_per_second > 0),
      messages_(limit.messages_per_second * limit.burst_seconds, limit.messages_per_second, now),
      bytes_(std::max(limit.bytes_per_second * limit.burst_seconds,
                      static_cast<double>(largest_message_bytes)),
             limit.bytes_per_second, now),
      patience_(std::max(1.0, limit.messages_per_second * limit.burst_seconds),
                std::max(1.0, limit.messages_per_second), now)
{}

RateLimiter::Verdict RateLimiter::check(std::size_t bytes, TimePoint now)
{
    const bool message_ok = !limit_messages_ || messages_.take(1, now);
    // Bytes are only taken for a message that may pass, so a refused message costs no bytes.
    if (message_ok && (!limit_bytes_ || bytes_.take(static_cast<double>(bytes), now)))
        return Verdict::allow;
    return patience_.take(1, now) ? Verdict::refuse : Verdict::abuse;
}

} // namespace signald
