#include "signald/core/rate_limiter.hpp"

#include <algorithm>

namespace signald {

void TokenBucket::refill(const BucketRule& rule, double seconds)
{
    tokens_ = std::min(rule.capacity, tokens_ + std::max(0.0, seconds) * rule.per_second);
}

bool TokenBucket::take(double amount)
{
    if (tokens_ < amount)
        return false;
    tokens_ -= amount;
    return true;
}

void TokenBucket::refund(const BucketRule& rule, double amount)
{
    tokens_ = std::min(rule.capacity, tokens_ + amount);
}

RatePolicy::RatePolicy(const RateLimit& limit, std::size_t largest_message_bytes)
    : limit_messages(limit.messages_per_second > 0),
      limit_bytes(limit.bytes_per_second > 0), messages{limit.messages_per_second *
                                                            limit.burst_seconds,
                                                        limit.messages_per_second},
      bytes{std::max(limit.bytes_per_second * limit.burst_seconds,
                     static_cast<double>(largest_message_bytes)),
            limit.bytes_per_second}
{}

RateLimiter::RateLimiter(const RatePolicy& policy, TimePoint now)
    : last_(now), messages_(policy.messages), bytes_(policy.bytes),
      message_patience_(policy.messages), byte_patience_(policy.bytes)
{}

RateLimiter::Verdict RateLimiter::check(const RatePolicy& policy, std::size_t bytes, TimePoint now)
{
    // Refilling all four at once gives what refilling each when used would: a refill is linear
    // in time and capped, so two steps of a and b seconds equal one of a + b.
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = std::max(last_, now);
    messages_.refill(policy.messages, seconds);
    message_patience_.refill(policy.messages, seconds);
    bytes_.refill(policy.bytes, seconds);
    byte_patience_.refill(policy.bytes, seconds);

    const auto size = static_cast<double>(bytes);
    const bool message_ok = !policy.limit_messages || messages_.take(1);
    if (message_ok) {
        if (!policy.limit_bytes || bytes_.take(size))
            return Verdict::allow;
        if (policy.limit_messages)
            messages_.refund(policy.messages, 1); // refused for its bytes: not a message used
    }
    // One refusal costs at most the whole byte patience, so no single message is abuse.
    const bool patient =
        (!policy.limit_messages || message_patience_.take(1)) &&
        (!policy.limit_bytes || byte_patience_.take(std::min(size, policy.bytes.capacity)));
    return patient ? Verdict::refuse : Verdict::abuse;
}

} // namespace signald
