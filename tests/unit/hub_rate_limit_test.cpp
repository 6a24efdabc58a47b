// Hub's flood control, with a clock moved by hand: a message over the limit is dropped with a
// rate-limited error, sustained flooding gets the connection closed with 1008, and a client asked
// to close is ignored until it is gone.

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signald {
namespace hub_rate_limit_test {

using namespace std::chrono_literals;
using test::SentMessage;

const ClientId A = "aaaaaaaaa1";
const ClientId B = "aaaaaaaaa2";

std::string join_text(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

// A broadcast signal in room "r" carrying n as its data.
std::string signal_text(int n)
{
    return R"({"action":"signal","roomId":"r","type":"offer","data":)" + std::to_string(n) + "}";
}

// A broadcast signal in room "r" exactly size bytes long.
std::string signal_of_size(std::size_t size)
{
    const std::string head = R"({"action":"signal","roomId":"r","type":"offer","data":")";
    const std::string tail = "\"}";
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

// A Hub with limits, on a ManualClock. A and B join room "r" before the clock is touched; their
// joins are counted against their allowance.
struct Limited : test::HubHarness
{
    explicit Limited(RateLimit rate, std::size_t max_message_bytes = 0,
                     std::vector<ClientId> scripted_ids = {})
        : HubHarness(HubLimits{32, rate, max_message_bytes}, std::move(scripted_ids))
    {
        EXPECT_EQ(connect(), A);
        EXPECT_EQ(connect(), B);
        hub.on_text(A, join_text("r"));
        hub.on_text(B, join_text("r"));
        transport.take();
    }

    // The data of every signal B has been sent, in order; clears the record.
    std::vector<int> relayed_to_b()
    {
        std::vector<int> out;
        for (const SentMessage& message : transport.take())
            if (message.to == B && message.action() == "signal")
                out.push_back(message.json()["data"].get<int>());
        return out;
    }
};

// 2 messages a second, 5 s bursts: 10 at once (the join used one), patience of 10 refusals.
const RateLimit two_per_second{2, 0, 5};

void expect_rate_limited(const SentMessage& message, const ClientId& to)
{
    EXPECT_EQ(message.to, to);
    EXPECT_EQ(message.action(), "error") << message.text;
    EXPECT_EQ(message.code(), "rate-limited") << message.text;
    EXPECT_FALSE(message.field("message").empty()) << message.text;
    // Nothing of the dropped message was read, so there is no request to name.
    EXPECT_FALSE(message.json().contains("request")) << message.text;
}

TEST(HubRateLimit, MessagesWithinTheBurstAreHandled)
{
    Limited h(two_per_second);
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, signal_text(i));
    EXPECT_EQ(h.relayed_to_b(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(h.hub.stats().rate_limited, 0u);
}

TEST(HubRateLimit, AMessageOverTheLimitIsDroppedWithARateLimitedErrorToTheSenderOnly)
{
    Limited h(two_per_second);
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, signal_text(i));
    h.transport.take();

    h.hub.on_text(A, signal_text(9));
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    expect_rate_limited(sent.front(), A);
    EXPECT_EQ(h.hub.stats().rate_limited, 1u);
    EXPECT_TRUE(h.transport.closed.empty());
}

TEST(HubRateLimit, UpdatesFallUnderTheLimitLikeEveryMessage)
{
    Limited h(two_per_second);
    const std::string update = R"({"action":"update","roomId":"r","state":{"hand":true}})";
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, update);
    const auto within = h.transport.take();
    ASSERT_EQ(within.size(), 9u);
    EXPECT_EQ(within.back().action(), "peer-updated");
    h.hub.on_text(A, update);
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    expect_rate_limited(sent.front(), A); // B hears nothing of it
}

TEST(HubRateLimit, ARefusedJoinChangesNothing)
{
    Limited h(two_per_second);
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, signal_text(i));
    h.transport.take();

    h.hub.on_text(A, join_text("other"));
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    expect_rate_limited(sent.front(), A);
    EXPECT_EQ(h.hub.room_of(A), "r");
    EXPECT_EQ(h.hub.rooms().members("other").size(), 0u);
}

TEST(HubRateLimit, InvalidMessagesCountAgainstTheLimitToo)
{
    Limited h(two_per_second);
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, "not json");
    h.transport.take(); // nine bad-json errors
    h.hub.on_text(A, signal_text(1));
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    expect_rate_limited(sent.front(), A);
}

TEST(HubRateLimit, TheAllowanceComesBackWithTime)
{
    Limited h(two_per_second);
    for (int i = 0; i < 12; ++i)
        h.hub.on_text(A, signal_text(i));
    EXPECT_EQ(h.relayed_to_b().size(), 9u);

    h.clock.advance(500ms); // one message's worth
    h.hub.on_text(A, signal_text(100));
    h.hub.on_text(A, signal_text(101));
    EXPECT_EQ(h.relayed_to_b(), (std::vector<int>{100}));
    EXPECT_EQ(h.hub.stats().rate_limited, 4u);
}

TEST(HubRateLimit, EachClientHasItsOwnAllowance)
{
    Limited h(two_per_second);
    for (int i = 0; i < 30; ++i)
        h.hub.on_text(A, signal_text(i));
    h.transport.take();

    h.hub.on_text(B, signal_text(7));
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent.front().to, A);
    EXPECT_EQ(sent.front().action(), "signal");
}

TEST(HubRateLimit, KeepingOnFloodingClosesTheConnectionWith1008Once)
{
    Limited h(two_per_second);
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, signal_text(i));
    h.transport.take();
    for (int i = 0; i < 10; ++i) // the patience: 5 s' worth of refusals
        h.hub.on_text(A, signal_text(i));
    EXPECT_EQ(h.transport.take().size(), 10u);
    EXPECT_TRUE(h.transport.closed.empty());

    h.hub.on_text(A, signal_text(10));
    EXPECT_TRUE(h.transport.take().empty()) << "no error reply to a connection being closed";
    ASSERT_EQ(h.transport.closed.size(), 1u);
    EXPECT_EQ(h.transport.closed.front(), (std::pair<ClientId, std::uint16_t>{A, 1008}));
    EXPECT_EQ(h.hub.stats().abuse_closes, 1u);
    EXPECT_EQ(h.hub.stats().rate_limited, 10u);

    for (int i = 0; i < 50; ++i)
        h.hub.on_text(A, signal_text(i));
    EXPECT_EQ(h.transport.closed.size(), 1u);
    EXPECT_EQ(h.hub.stats().abuse_closes, 1u);
    EXPECT_EQ(h.hub.stats().rate_limited, 10u);
}

TEST(HubRateLimit, AClientAskedToCloseIsIgnoredUntilItIsGone)
{
    Limited h(two_per_second);
    for (int i = 0; i < 30; ++i)
        h.hub.on_text(A, signal_text(i));
    ASSERT_EQ(h.transport.closed.size(), 1u);
    h.transport.take();

    // Time heals the allowance, not the close: nothing it sends is handled or answered.
    h.clock.advance(1h);
    h.hub.on_text(A, signal_text(1));
    h.hub.on_text(A, "not json");
    h.hub.on_text(A, R"({"action":"leave","roomId":"r"})");
    EXPECT_TRUE(h.transport.take().empty());
    EXPECT_EQ(h.hub.room_of(A), "r"); // a member until the network layer says it is gone

    h.disconnect(A);
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent.front().to, B);
    EXPECT_EQ(sent.front().action(), "peer-left");
    EXPECT_EQ(sent.front().field("clientId"), A);
    EXPECT_EQ(h.hub.room_of(B), "r");
}

TEST(HubRateLimit, AReusedIdStartsWithAFreshAllowance)
{
    Limited h(two_per_second, 0, {A, B, A});
    for (int i = 0; i < 30; ++i)
        h.hub.on_text(A, signal_text(i));
    ASSERT_EQ(h.transport.closed.size(), 1u);
    h.disconnect(A);
    h.transport.take();

    ASSERT_EQ(h.connect(), A);
    h.hub.on_text(A, join_text("r"));
    for (int i = 0; i < 9; ++i)
        h.hub.on_text(A, signal_text(i));
    EXPECT_EQ(h.relayed_to_b(), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(HubRateLimit, TheByteLimitRefusesWhatTheMessageLimitWouldAllow)
{
    // 200 bytes a second: 1000 bytes at once (the 30-byte join used some).
    Limited h(RateLimit{1000, 200, 5});
    h.hub.on_text(A, signal_of_size(400));
    h.hub.on_text(A, signal_of_size(400));
    EXPECT_EQ(h.transport.take().size(), 2u); // relayed to B
    h.hub.on_text(A, signal_of_size(400));
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    expect_rate_limited(sent.front(), A);

    h.clock.advance(2s);
    h.hub.on_text(A, signal_of_size(400));
    const auto relayed = h.transport.take();
    ASSERT_EQ(relayed.size(), 1u);
    EXPECT_EQ(relayed.front().to, B);
    EXPECT_EQ(relayed.front().action(), "signal");
}

TEST(HubRateLimit, AMessageOfTheLargestAllowedSizePassesAboveTheByteBurst)
{
    // 500 bytes of burst, but the daemon accepts messages of up to 4096 bytes.
    Limited h(RateLimit{1000, 100, 5}, 4096);
    h.hub.on_text(A, signal_of_size(4000));
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent.front().to, B);
    EXPECT_EQ(sent.front().action(), "signal");
}

TEST(HubRateLimit, WithoutLimitsNothingIsEverRefused)
{
    test::HubHarness h;
    const ClientId a = h.connect();
    const ClientId b = h.connect();
    h.send(a, join_text("r"));
    h.send(b, join_text("r"));
    h.take();
    // More than any burst a limit in this test suite allows, at one instant.
    for (int i = 0; i < 1500; ++i)
        h.send(a, signal_of_size(300));
    EXPECT_EQ(h.transport.to(b).size(), 1500u);
    EXPECT_TRUE(h.transport.to(a).empty());
    EXPECT_EQ(h.hub.stats().rate_limited, 0u);
    EXPECT_TRUE(h.transport.closed.empty());
}

TEST(HubRateLimit, WithoutAClockTheHubUsesTheSteadyClock)
{
    test::QuietLogs quiet;
    test::FakeTransport transport;
    test::FixedIds ids;
    Hub hub(transport, ids, HubLimits{32, RateLimit{1, 0, 1}, 0});
    const ClientId a = hub.connect();
    hub.on_text(a, join_text("r")); // the one message of the burst
    hub.on_text(a, join_text("s")); // refused unless a whole second passed between the calls
    const auto sent = transport.take();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].action(), "joined");
    EXPECT_EQ(sent[1].code(), "rate-limited");
}

} // namespace hub_rate_limit_test
} // namespace signald
