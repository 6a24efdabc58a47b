#pragma once
// Per-client flood control: token buckets for messages and bytes, and a third bucket that
// measures how hard a client keeps pushing while refused. Pure and clock-driven: the caller
// passes the time, so tests move it by hand.

#include <chrono>
#include <cstddef>
#include <functional>

namespace signald {

using TimePoint = std::chrono::steady_clock::time_point;
using Clock = std::function<TimePoint()>;

struct RateLimit
{
    // Sustained rates; 0 (the core's default) turns that limit off. The daemon's defaults are in
    // ServerOptions.
    double messages_per_second = 0;
    double bytes_per_second = 0;
    // A client may send this many seconds' worth at once. 5 s: a newcomer to a full 32-member
    // mesh answers 31 offers and trickles ~10 candidates to each within a few seconds.
    double burst_seconds = 5;
};

// A token bucket's size and refill rate: the same for every client, so kept once (RatePolicy).
struct BucketRule
{
    double capacity = 0;
    double per_second = 0;
};

// A token bucket's level: all that a client keeps of it.
class TokenBucket
{
public:
    explicit TokenBucket(const BucketRule& rule) : tokens_(rule.capacity) {}
    // Adds what seconds of refill bring, up to the capacity.
    void refill(const BucketRule& rule, double seconds);
    // Takes amount tokens if they are all there.
    bool take(double amount);
    // Puts back tokens taken for something that did not happen after all.
    void refund(const BucketRule& rule, double amount);

private:
    double tokens_;
};

// The limits every client's RateLimiter checks against, made once from RateLimit.
struct RatePolicy
{
    // largest_message_bytes: the byte bucket always holds at least one largest message.
    RatePolicy(const RateLimit& limit, std::size_t largest_message_bytes);
    bool limit_messages;
    bool limit_bytes;
    BucketRule messages;
    BucketRule bytes;
};

// One client's buckets: 40 bytes, every client has one, so the rules live in the RatePolicy.
class RateLimiter
{
public:
    enum class Verdict
    {
        allow,
        refuse, // drop it and say rate-limited
        abuse,  // refused so much for so long that the connection should go
    };

    // Full buckets.
    RateLimiter(const RatePolicy& policy, TimePoint now);
    Verdict check(const RatePolicy& policy, std::size_t bytes, TimePoint now);

private:
    TimePoint last_; // when every bucket was last refilled
    TokenBucket messages_;
    TokenBucket bytes_;
    // Refusals drain these (one token per refused message, and its size in bytes) and they
    // refill at the allowed rates: only a client that keeps sending more than twice its
    // allowance, in messages or in bytes, for a whole burst empties one.
    TokenBucket message_patience_;
    TokenBucket byte_patience_;
};

} // namespace signald
