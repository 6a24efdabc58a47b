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

void TokenBucket::refund(double amount)
{
    tokens_ = std::min(capacity_, tokens_ + amount);
}

RateLimiter::RateLimiter(const RateLimit& limit, std::size_t largest_message_bytes, TimePoint now)
    : limit_messages_(limit.messages_per_second > 0), limit_bytes_(limit.bytes_per_second > 0),
      messages_(limit.messages_per_second * limit.burst_seconds, limit.messages_per_second, now),
      bytes_(std::max(limit.bytes_per_second * limit.burst_seconds,
                      static_cast<double>(largest_message_bytes)),
             limit.bytes_per_second, now),
      message_patience_(limit.messages_per_second * limit.burst_seconds, limit.messages_per_second,
                        now),
      byte_patience_(std::max(limit.bytes_per_second * limit.burst_seconds,
                              static_cast<double>(largest_message_bytes)),
                     limit.bytes_per_second, now)
{}

RateLimiter::Verdict RateLimiter::check(std::size_t bytes, TimePoint now)
{
    const auto size = static_cast<double>(bytes);
    const bool message_ok = !limit_messages_ || messages_.take(1, now);
    if (message_ok) {
        if (!limit_bytes_ || bytes_.take(size, now))
            return Verdict::allow;
        if (limit_messages_)
            messages_.refund(1); // refused for its bytes: it did not use up a message
    }
    // One refusal costs at most the whole byte patience, so no single message is abuse.
    const bool patient =
        (!limit_messages_ || message_patience_.take(1, now)) &&
        (!limit_bytes_ || byte_patience_.take(std::min(size, byte_patience_.capacity()), now));
    return patient ? Verdict::refuse : Verdict::abuse;
}

} // namespace signald
