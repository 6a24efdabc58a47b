// HubStats: Hub counts every request by what it was, every delivery (one per receiver) by action,
// and every error reply by code, in bytes as well as messages. The counts are checked against what
// FakeTransport actually saw, so a label cannot drift from the wire's `action`.

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace signald {
namespace hub_stats_test {

using test::SentMessage;

std::string join_text(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

struct Harness : test::HubHarness
{
    explicit Harness(HubLimits limits = {}, JoinCheck join_check = {})
        : HubHarness(limits, {}, {}, std::move(join_check))
    {}
    const HubStats& stats() const { return hub.stats(); }
};

// Every message the transport saw, tallied by its `action` field, as Traffic.
std::map<std::string, Traffic> tally(const std::vector<SentMessage>& sent)
{
    std::map<std::string, Traffic> out;
    for (const SentMessage& message : sent) {
        Traffic& traffic = out[message.action()];
        ++traffic.messages;
        traffic.bytes += message.text.size();
    }
    return out;
}

TEST(HubStats, ErrorCodeCountCoversEveryCodeAndRateLimitedIsLast)
{
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < error_code_count; ++i) {
        const auto name = to_string(static_cast<ErrorCode>(i));
        EXPECT_NE(name, "internal") << i;
        names.insert(name);
    }
    EXPECT_EQ(names.size(), error_code_count);
    // A code added after rate_limited would fall outside the counters' array.
    EXPECT_EQ(to_string(static_cast<ErrorCode>(error_code_count)), "internal");
}

TEST(HubStats, EveryActionHasItsOwnLabel)
{
    std::set<std::string_view> in;
    for (std::size_t i = 0; i < in_action_count; ++i)
        in.insert(to_string(static_cast<InAction>(i)));
    EXPECT_EQ(in, (std::set<std::string_view>{"join", "leave", "signal", "resume", "kick", "lock",
                                              "update", "report", "invalid", "dropped"}));
    EXPECT_EQ(to_string(static_cast<InAction>(in_action_count)), "internal");

    std::set<std::string_view> out;
    for (std::size_t i = 0; i < out_action_count; ++i)
        out.insert(to_string(static_cast<OutAction>(i)));
    EXPECT_EQ(out, (std::set<std::string_view>{"joined", "peer-joined", "peer-left", "left",
                                               "signal", "error", "resumed", "peer-suspended",
                                               "peer-resumed", "room-locked", "peer-updated"}));
    EXPECT_EQ(to_string(static_cast<OutAction>(out_action_count)), "internal");
}

TEST(HubStats, StartAtZero)
{
    Harness h;
    for (const Traffic& traffic : h.stats().in)
        EXPECT_EQ(traffic.messages + traffic.bytes, 0u);
    for (const Traffic& traffic : h.stats().out)
        EXPECT_EQ(traffic.messages + traffic.bytes, 0u);
    for (const std::uint64_t count : h.stats().errors)
        EXPECT_EQ(count, 0u);
}

TEST(HubStats, RequestsAreCountedByActionWithTheirBytes)
{
    Harness h;
    const ClientId a = h.connect();
    const std::string join = join_text("r");
    const std::string signal = R"({"action":"signal","roomId":"r","type":"hangup"})";
    const std::string leave = R"({"action":"leave","roomId":"r"})";
    const std::string not_json = "{";
    const std::string bad_type = R"({"action":"signal","roomId":"r","type":"Offer"})";
    for (const std::string* text : {&join, &signal, &signal, &leave, &not_json, &bad_type})
        h.send(a, *text);

    const HubStats& stats = h.stats();
    EXPECT_EQ(stats.received(InAction::join).messages, 1u);
    EXPECT_EQ(stats.received(InAction::join).bytes, join.size());
    EXPECT_EQ(stats.received(InAction::signal).messages, 2u);
    EXPECT_EQ(stats.received(InAction::signal).bytes, 2 * signal.size());
    EXPECT_EQ(stats.received(InAction::leave).messages, 1u);
    EXPECT_EQ(stats.received(InAction::leave).bytes, leave.size());
    // Refused by parsing, even when the action was readable.
    EXPECT_EQ(stats.received(InAction::invalid).messages, 2u);
    EXPECT_EQ(stats.received(InAction::invalid).bytes, not_json.size() + bad_type.size());
    EXPECT_EQ(stats.received(InAction::dropped).messages, 0u);
}

TEST(HubStats, RoomStateRefusalsCountUnderTheirAction)
{
    Harness h;
    const ClientId a = h.connect();
    h.send(a, R"({"action":"leave","roomId":"r"})"); // not-in-room
    EXPECT_EQ(h.stats().received(InAction::leave).messages, 1u);
    EXPECT_EQ(h.stats().received(InAction::invalid).messages, 0u);
    EXPECT_EQ(h.stats().errors_sent(ErrorCode::not_in_room), 1u);
}

TEST(HubStats, ABroadcastInARoomOfThreeIsTwoDeliveries)
{
    Harness h;
    const ClientId a = h.connect();
    const ClientId b = h.connect();
    const ClientId c = h.connect();
    for (const ClientId& id : {a, b, c})
        h.send(id, join_text("r"));
    h.transport.take();
    const auto before = h.stats().sent(OutAction::signal);

    h.send(a, R"({"action":"signal","roomId":"r","type":"offer","data":{"sdp":"x"}})");
    const auto sent = h.transport.take();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(h.stats().sent(OutAction::signal).messages - before.messages, 2u);
    EXPECT_EQ(h.stats().sent(OutAction::signal).bytes - before.bytes,
              sent[0].text.size() + sent[1].text.size());
}

// Every kind of message Hub sends, and every way it sends one: the counters must agree with what
// the transport saw, message for message and byte for byte.
TEST(HubStats, DeliveriesMatchWhatTheTransportSaw)
{
    // Everyone joins as a moderator, so that lock can be sent.
    Harness h(test::resume_limits(std::chrono::seconds{30}, std::size_t{1024} * 1024, 3),
              [](const std::optional<std::string>&,
                 std::string_view) -> std::variant<JoinPass, JoinRefusal> {
                  return JoinPass{.name = {}, .sub = {}, .moderator = true, .ban_key = {}};
              });
    const ClientId a = h.connect();
    const ClientId b = h.connect();
    const ClientId c = h.connect();
    const ClientId d = h.connect();
    for (const ClientId& id : {a, b, c})
        h.send(id, join_text("r"));                                           // joined, peer-joined
    h.send(d, join_text("r"));                                                // room-full
    h.send(a, R"({"action":"signal","roomId":"r","type":"offer","data":1})"); // broadcast
    h.send(b, R"({"action":"signal","roomId":"r","type":"answer","to":")" + a + R"("})");
    h.send(c, join_text("other"));                       // left, peer-left, joined
    h.send(c, R"({"action":"leave","roomId":"other"})"); // left
    h.send(d, "[]");                                     // bad-message
    h.disconnect(a, ConnectionEnd::lost);                // peer-suspended
    std::string token;
    int received = 0; // by a, after its joined: nothing is replayed (replays are not deliveries)
    for (const SentMessage& message : h.transport.sent) {
        if (message.to != a)
            continue;
        ++received;
        if (message.action() == "joined") {
            token = message.field("resumeToken");
            received = 0;
        }
    }
    const ClientId e = h.connect();
    h.send(e, R"({"action":"resume","token":")" + token + R"(","received":)" +
                  std::to_string(received) + "}");                // resumed, peer-resumed
    h.send(b, R"({"action":"lock","roomId":"r","locked":true})"); // room-locked
    h.send(b, R"({"action":"update","roomId":"r","state":{}})");  // peer-updated
    h.disconnect(b);                                              // peer-left

    const auto seen = tally(h.transport.sent);
    std::uint64_t messages = 0;
    for (std::size_t i = 0; i < out_action_count; ++i) {
        const std::string label(to_string(static_cast<OutAction>(i)));
        const Traffic expected = seen.contains(label) ? seen.at(label) : Traffic{};
        EXPECT_EQ(h.stats().out[i].messages, expected.messages) << label;
        EXPECT_EQ(h.stats().out[i].bytes, expected.bytes) << label;
        EXPECT_GT(h.stats().out[i].messages, 0u) << label << " was not exercised";
        messages += h.stats().out[i].messages;
    }
    EXPECT_EQ(messages, h.transport.sent.size());
}

TEST(HubStats, EveryErrorReplyIsCountedByItsCode)
{
    Harness h(HubLimits{1, {}, 0});
    const ClientId a = h.connect();
    const ClientId b = h.connect();
    h.send(a, join_text("r"));
    const std::vector<std::pair<ErrorCode, std::string>> cases = {
        {ErrorCode::bad_json, "{"},
        {ErrorCode::bad_message, "[]"},
        {ErrorCode::unknown_action, R"({"action":"ping"})"},
        {ErrorCode::bad_room_id, R"({"action":"join","roomId":""})"},
        {ErrorCode::bad_name, R"({"action":"join","roomId":"x","name":"a\nb"})"},
        {ErrorCode::bad_type, R"({"action":"signal","roomId":"r","type":"Offer"})"},
        {ErrorCode::not_in_room, R"({"action":"leave","roomId":"x"})"},
        {ErrorCode::already_joined, join_text("r")},
        {ErrorCode::unknown_peer, R"({"action":"signal","roomId":"r","type":"offer","to":"z"})"},
    };
    for (const auto& [code, text] : cases) {
        const auto before = h.stats().errors_sent(code);
        h.send(a, text);
        EXPECT_EQ(h.stats().errors_sent(code), before + 1) << to_string(code);
    }
    h.send(b, join_text("r")); // the room holds one
    EXPECT_EQ(h.stats().errors_sent(ErrorCode::room_full), 1u);

    std::uint64_t errors = 0;
    for (const std::uint64_t count : h.stats().errors)
        errors += count;
    EXPECT_EQ(errors, cases.size() + 1);
    EXPECT_EQ(h.stats().sent(OutAction::error).messages, errors);
}

TEST(HubStats, MessagesOverTheRateLimitAreDroppedAndCounted)
{
    // One message at once, refilling one per second; patience of one refusal.
    Harness h(HubLimits{32, RateLimit{1, 0, 1}, 0});
    const ClientId a = h.connect();
    const std::string join = join_text("r");
    const std::string extra = join_text("elsewhere");
    h.send(a, join);
    h.send(a, extra); // refused: rate-limited
    EXPECT_EQ(h.stats().received(InAction::join).messages, 1u);
    EXPECT_EQ(h.stats().received(InAction::dropped).messages, 1u);
    EXPECT_EQ(h.stats().received(InAction::dropped).bytes, extra.size());
    EXPECT_EQ(h.stats().errors_sent(ErrorCode::rate_limited), 1u);
    EXPECT_EQ(h.stats().rate_limited, 1u);

    h.send(a, extra); // patience gone: closed with 1008, and what follows is ignored unread
    h.send(a, extra);
    ASSERT_EQ(h.transport.closed.size(), 1u);
    EXPECT_EQ(h.stats().abuse_closes, 1u);
    EXPECT_EQ(h.stats().received(InAction::dropped).messages, 3u);
    EXPECT_EQ(h.stats().errors_sent(ErrorCode::rate_limited), 1u);
}

} // namespace hub_stats_test
} // namespace signald
