// TokenBucket and RateLimiter against a clock moved by hand: bursts, refill, refusal, and the
// patience bucket that turns sustained flooding into abuse.

#include "signald/core/rate_limiter.hpp"

#include "manual_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>

namespace signald {
namespace rate_limiter_test {

using namespace std::chrono_literals;
using Verdict = RateLimiter::Verdict;

// --- TokenBucket -----------------------------------------------------------------------------

TEST(TokenBucket, StartsFullAndGivesItsWholeCapacityAtOnce)
{
    TokenBucket bucket(BucketRule{5, 1});
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(bucket.take(1)) << "token " << i;
    EXPECT_FALSE(bucket.take(1));
}

TEST(TokenBucket, RefillsAtItsRateAsTimePasses)
{
    const BucketRule rule{4, 2};
    TokenBucket bucket(rule);
    EXPECT_TRUE(bucket.take(4));
    bucket.refill(rule, 0.4); // 0.8 tokens
    EXPECT_FALSE(bucket.take(1));
    bucket.refill(rule, 0.1); // 1.0
    EXPECT_TRUE(bucket.take(1));
    EXPECT_FALSE(bucket.take(1));
    bucket.refill(rule, 1); // 2.0
    EXPECT_TRUE(bucket.take(2));
    EXPECT_FALSE(bucket.take(0.5));
}

TEST(TokenBucket, NeverHoldsMoreThanItsCapacityNorRefillsBackwards)
{
    const BucketRule rule{3, 10};
    TokenBucket bucket(rule);
    bucket.refill(rule, 3600);
    EXPECT_TRUE(bucket.take(3));
    EXPECT_FALSE(bucket.take(1));
    bucket.refill(rule, -5); // a clock that went back gives nothing, takes nothing
    EXPECT_FALSE(bucket.take(0.1));
    bucket.refund(rule, 100);
    EXPECT_TRUE(bucket.take(3));
    EXPECT_FALSE(bucket.take(0.1));
}

TEST(TokenBucket, ARefusedTakeTakesNothing)
{
    TokenBucket bucket(BucketRule{10, 1});
    EXPECT_TRUE(bucket.take(7));
    EXPECT_FALSE(bucket.take(5)); // only 3 left: all or nothing
    EXPECT_TRUE(bucket.take(3));
    EXPECT_FALSE(bucket.take(1));
}

TEST(TokenBucket, AnAmountAboveTheCapacityNeverPasses)
{
    const BucketRule rule{10, 1000};
    TokenBucket bucket(rule);
    bucket.refill(rule, 3600);
    EXPECT_FALSE(bucket.take(11));
    EXPECT_TRUE(bucket.take(10));
}

// A RateLimiter with its own RatePolicy, as the Hub holds one for all its clients.
class Limited
{
public:
    Limited(const RateLimit& limit, std::size_t largest_message_bytes, TimePoint now)
        : policy_(limit, largest_message_bytes), limiter_(policy_, now)
    {}
    RateLimiter::Verdict check(std::size_t bytes, TimePoint now)
    {
        return limiter_.check(policy_, bytes, now);
    }

private:
    RatePolicy policy_;
    RateLimiter limiter_;
};

TEST(RateLimiter, KeepsOnlyItsLevelsAndOneTime)
{
    // Every connection has one: the sizes and rates live in the shared RatePolicy.
    EXPECT_LE(sizeof(RateLimiter), 40U);
}

// --- RateLimiter: messages ---------------------------------------------------------------------

// 20 messages a second, 5 s bursts: 100 at once, and a patience of 100 refusals.
const RateLimit twenty_per_second{20, 0, 5};

TEST(RateLimiter, AllowsABurstOfRateTimesBurstSecondsThenRefuses)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::allow) << "message " << i;
    EXPECT_EQ(limiter.check(10, clock.now()), Verdict::refuse);
}

TEST(RateLimiter, OneMoreMessageIsAllowedEachOneOverRateSeconds)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    for (int i = 0; i < 100; ++i)
        limiter.check(10, clock.now());
    for (int round = 0; round < 10; ++round) {
        clock.advance(50ms);
        EXPECT_EQ(limiter.check(10, clock.now()), Verdict::allow) << "round " << round;
        EXPECT_EQ(limiter.check(10, clock.now()), Verdict::refuse) << "round " << round;
    }
}

TEST(RateLimiter, SendingAtTheRateIsNeverRefused)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    for (int i = 0; i < 2000; ++i) {
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::allow) << "message " << i;
        clock.advance(50ms);
    }
}

TEST(RateLimiter, RefusalsDrainPatienceAndTheNextRefusalAfterItIsEmptyIsAbuse)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::allow);
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::refuse) << "refusal " << i;
    EXPECT_EQ(limiter.check(10, clock.now()), Verdict::abuse);
    EXPECT_EQ(limiter.check(10, clock.now()), Verdict::abuse);
}

TEST(RateLimiter, PatienceRefillsAtTheMessageRate)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    for (int i = 0; i < 200; ++i)
        limiter.check(10, clock.now()); // 100 allowed, 100 refused: patience is empty
    clock.advance(1s);                  // 20 messages and 20 refusals' worth come back
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::allow) << "message " << i;
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::refuse) << "refusal " << i;
    EXPECT_EQ(limiter.check(10, clock.now()), Verdict::abuse);
}

TEST(RateLimiter, SendingAtTwiceTheRateIsRefusedButNeverAbuse)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    int refused = 0;
    for (int i = 0; i < 40 * 60; ++i) { // a minute at 40 messages a second
        const Verdict verdict = limiter.check(10, clock.now());
        ASSERT_NE(verdict, Verdict::abuse) << "at " << i / 40.0 << " s";
        refused += verdict == Verdict::refuse ? 1 : 0;
        clock.advance(25ms);
    }
    EXPECT_GT(refused, 1000);
}

TEST(RateLimiter, SendingAtThreeTimesTheRateIsAbuseOnceBurstAndPatienceAreSpent)
{
    test::ManualClock clock;
    Limited limiter(twenty_per_second, 0, clock.now());
    const auto start = clock.now();
    // At 60/s the burst of 100 lasts 100 / (60 - 20) = 2.5 s; then 40 refusals a second against
    // a refill of 20 empty the patience of 100 in another 5 s.
    while (limiter.check(10, clock.now()) != Verdict::abuse) {
        ASSERT_LT(clock.now() - start, 20s) << "never judged abuse";
        clock.advance(std::chrono::duration<double>(1.0 / 60));
    }
    EXPECT_GT(clock.now() - start, 7s);
    EXPECT_LT(clock.now() - start, 8s);
}

// --- RateLimiter: bytes ------------------------------------------------------------------------

TEST(RateLimiter, ByteLimitAllowsABurstOfRateTimesBurstSecondsInBytes)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{100, 1000, 5}, 0, clock.now()); // 5000 bytes at once
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(limiter.check(1000, clock.now()), Verdict::allow) << "message " << i;
    EXPECT_EQ(limiter.check(1000, clock.now()), Verdict::refuse);
    EXPECT_EQ(limiter.check(1, clock.now()), Verdict::refuse);
    clock.advance(1s);
    EXPECT_EQ(limiter.check(1000, clock.now()), Verdict::allow);
    EXPECT_EQ(limiter.check(1, clock.now()), Verdict::refuse);
}

TEST(RateLimiter, AMessageRefusedForItsRateCostsNoBytes)
{
    test::ManualClock clock;
    // 50 messages and 5000 bytes at once.
    Limited limiter(RateLimit{10, 1000, 5}, 0, clock.now());
    for (int i = 0; i < 50; ++i)
        ASSERT_EQ(limiter.check(10, clock.now()), Verdict::allow); // 500 bytes: 4500 left
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(limiter.check(1000, clock.now()), Verdict::refuse);
    clock.advance(100ms); // one message, 100 bytes
    EXPECT_EQ(limiter.check(4600, clock.now()), Verdict::allow);
}

TEST(RateLimiter, AMessageLargerThanTheByteBurstPassesWhenItIsTheLargestAllowed)
{
    test::ManualClock clock;
    // 500 bytes of burst, but messages may be up to 4096 bytes.
    Limited limiter(RateLimit{100, 100, 5}, 4096, clock.now());
    EXPECT_EQ(limiter.check(4096, clock.now()), Verdict::allow);
    EXPECT_EQ(limiter.check(1, clock.now()), Verdict::refuse);
    // It refills at the byte rate: 4096 bytes take 40.96 s.
    clock.advance(40s);
    EXPECT_EQ(limiter.check(4096, clock.now()), Verdict::refuse);
    clock.advance(1s);
    EXPECT_EQ(limiter.check(4096, clock.now()), Verdict::allow);
}

TEST(RateLimiter, WithoutTheLargestMessageTheByteBurstIsAHardCeiling)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{100, 100, 5}, 0, clock.now());
    EXPECT_EQ(limiter.check(501, clock.now()), Verdict::refuse);
    EXPECT_EQ(limiter.check(500, clock.now()), Verdict::allow);
}

// --- RateLimiter: off ----------------------------------------------------------------------------

TEST(RateLimiter, ZeroRatesTurnBothLimitsOff)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{0, 0, 5}, 0, clock.now());
    for (int i = 0; i < 100000; ++i)
        ASSERT_EQ(limiter.check(1 << 20, clock.now()), Verdict::allow) << "message " << i;
}

TEST(RateLimiter, ADefaultRateLimitIsOff)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{}, 0, clock.now());
    for (int i = 0; i < 10000; ++i)
        ASSERT_EQ(limiter.check(100000, clock.now()), Verdict::allow);
}

TEST(RateLimiter, ZeroMessageRateLeavesTheByteLimitOn)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{0, 1000, 5}, 0, clock.now());
    for (int i = 0; i < 1000; ++i)
        ASSERT_EQ(limiter.check(5, clock.now()), Verdict::allow) << "message " << i;
    EXPECT_NE(limiter.check(1000, clock.now()), Verdict::allow);
}

TEST(RateLimiter, ZeroByteRateLeavesTheMessageLimitOn)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{20, 0, 5}, 0, clock.now());
    for (int i = 0; i < 100; ++i)
        ASSERT_EQ(limiter.check(1 << 20, clock.now()), Verdict::allow) << "message " << i;
    EXPECT_EQ(limiter.check(1, clock.now()), Verdict::refuse);
}

} // namespace rate_limiter_test
} // namespace signald

namespace signald {
namespace rate_limiter_test {

using namespace std::chrono_literals;
using Verdict = RateLimiter::Verdict;

// Found by review: with only a byte limit, the second refusal used to be abuse.
TEST(RateLimiter, AByteOnlyLimitLetsAnOvershootingBurstGoOnAfterAFewRefusals)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{0, 1000, 5}, 0, clock.now());
    for (int i = 0; i < 5; ++i)
        ASSERT_EQ(limiter.check(1000, clock.now()), Verdict::allow);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(limiter.check(1000, clock.now()), Verdict::refuse) << "refusal " << i;
        clock.advance(100ms);
    }
}

// Found by review: refusals cost one patience token whatever their size, so a flood of large
// messages at many times the byte allowance was refused forever and never closed.
TEST(RateLimiter, AFloodOfLargeMessagesFarOverTheByteRateEndsInAbuse)
{
    test::ManualClock clock;
    Limited limiter(RateLimit{200, 1 << 20, 5}, 262144, clock.now());
    bool abused = false;
    for (int i = 0; i < 12000 && !abused; ++i) { // 120 s at 100 messages of 256 KiB a second
        abused = limiter.check(262144, clock.now()) == Verdict::abuse;
        clock.advance(10ms);
    }
    EXPECT_TRUE(abused);
}

TEST(RateLimiter, AMessageRefusedForItsBytesDoesNotUseUpAMessage)
{
    test::ManualClock clock;
    // 1 message/s and 10 bytes/s, 2 s bursts: 2 messages and 20 bytes at once.
    Limited limiter(RateLimit{1, 10, 2}, 0, clock.now());
    EXPECT_EQ(limiter.check(20, clock.now()), Verdict::allow); // 1 message, 0 bytes left
    EXPECT_EQ(limiter.check(5, clock.now()), Verdict::refuse); // for bytes: message given back
    clock.advance(500ms);                                      // +0.5 message, +5 bytes
    // With the message given back there are 1.5 messages; without, only 0.5.
    EXPECT_EQ(limiter.check(5, clock.now()), Verdict::allow);
}

} // namespace rate_limiter_test
} // namespace signald
