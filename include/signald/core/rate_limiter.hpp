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

class TokenBucket
{
public:
    TokenBucket(double capacity, double per_second, TimePoint now);
    // Takes amount tokens if they are all there.
    bool take(double amount, TimePoint now);
    // Puts back tokens taken for something that did not happen after all.
    void refund(double amount);
    double capacity() const { return capacity_; }

private:
    double capacity_;
    double per_second_;
    double tokens_;
    TimePoint last_;
};

class RateLimiter
{
public:
    enum class Verdict
    {
        allow,
        refuse, // drop it and say rate-limited
        abuse,  // refused so much for so long that the connection should go
    };

    // largest_message_bytes: the byte bucket always holds at least one largest message.
    RateLimiter(const RateLimit& limit, std::size_t largest_message_bytes, TimePoint now);
    Verdict check(std::size_t bytes, TimePoint now);

private:
    bool limit_messages_;
    bool limit_bytes_;
    TokenBucket messages_;
    TokenBucket bytes_;
    // Refusals drain these (one token per refused message, and its size in bytes) and they
    // refill at the allowed rates: only a client that keeps sending more than twice its
    // allowance, in messages or in bytes, for a whole burst empties one.
    TokenBucket message_patience_;
    TokenBucket byte_patience_;
};

} // namespace signald
