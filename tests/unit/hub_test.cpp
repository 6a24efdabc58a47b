#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signald {
namespace hub_test {

using namespace std::string_literals;
using test::SentMessage;

const ClientId A = "aaaaaaaaa1";
const ClientId B = "aaaaaaaaa2";
const ClientId C = "aaaaaaaaa3";
const ClientId D = "aaaaaaaaa4";

// (recipient, exact text) pairs, for comparing what was sent byte for byte.
using Sent = std::vector<std::pair<ClientId, std::string>>;

Sent raw(const std::vector<SentMessage>& messages)
{
    Sent out;
    for (const SentMessage& message : messages)
        out.emplace_back(message.to, message.text);
    return out;
}

std::string repeat(std::string_view part, std::size_t times)
{
    std::string out;
    out.reserve(part.size() * times);
    for (std::size_t i = 0; i < times; ++i)
        out += part;
    return out;
}

std::string join_text(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

std::string join_text(std::string_view room, std::string_view name)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"(","name":")" +
           std::string(name) + R"("})";
}

std::string leave_text(std::string_view room)
{
    return R"({"action":"leave","roomId":")" + std::string(room) + R"("})";
}

std::string signal_text(std::string_view room, std::string_view type,
                        std::optional<std::string_view> data = std::nullopt,
                        std::optional<std::string_view> to = std::nullopt)
{
    std::string out = R"({"action":"signal","roomId":")" + std::string(room) + R"(","type":")" +
                      std::string(type) + '"';
    if (data)
        out += R"(,"data":)" + std::string(*data);
    if (to)
        out += R"(,"to":")" + std::string(*to) + '"';
    return out + "}";
}

// The shared harness with a room size: every message sent is also checked against its
// receiver's view (client_view.hpp).
struct Harness : test::HubHarness
{
    explicit Harness(std::size_t max_room_size = Hub::default_max_room_size)
        : HubHarness(HubLimits{max_room_size, {}, 0})
    {}
};

// Expects exactly one message, an error with this code to this client, and returns it.
SentMessage expect_only_error(Harness& h, const ClientId& to, std::string_view code,
                              std::optional<std::string_view> request)
{
    const auto sent = h.take();
    EXPECT_EQ(sent.size(), 1u) << (sent.empty() ? "nothing sent" : sent.back().text);
    if (sent.empty())
        return SentMessage{};
    const SentMessage& error = sent.front();
    EXPECT_EQ(error.to, to);
    EXPECT_EQ(error.action(), "error") << error.text;
    EXPECT_EQ(error.code(), code) << error.text;
    EXPECT_TRUE(error.json().contains("message") && error.json()["message"].is_string() &&
                !error.json()["message"].get<std::string>().empty())
        << error.text;
    if (request)
        EXPECT_EQ(error.field("request"), *request) << error.text;
    else
        EXPECT_FALSE(error.json().contains("request")) << error.text;
    return error;
}

// --- connect ---------------------------------------------------------------------------------

TEST(Hub, ConnectHandsOutIdsFromTheIdSource)
{
    Harness h;
    EXPECT_EQ(h.connect(), A);
    EXPECT_EQ(h.connect(), B);
    EXPECT_EQ(h.hub.client_count(), 2u);
    EXPECT_EQ(h.hub.room_of(A), std::nullopt);
    EXPECT_TRUE(h.take().empty());
}

TEST(Hub, ConnectDrawsAgainWhenTheIdIsInUse)
{
    test::HubHarness h({}, {"zzzzzzzzzz", "zzzzzzzzzz", "zzzzzzzzzz", "yyyyyyyyyy"});
    EXPECT_EQ(h.connect(), "zzzzzzzzzz");
    EXPECT_EQ(h.connect(), "yyyyyyyyyy");
    EXPECT_EQ(h.ids.draws(), 4u);
    EXPECT_EQ(h.hub.client_count(), 2u);
}

TEST(Hub, ConnectSucceedsWhenTheHundredthDrawIsFree)
{
    std::vector<ClientId> script(100, "zzzzzzzzzz"); // one for the first client, 99 collisions
    script.push_back("yyyyyyyyyy");
    test::HubHarness h({}, script);
    h.connect();
    EXPECT_EQ(h.connect(), "yyyyyyyyyy");
    EXPECT_EQ(h.ids.draws(), 101u);
}

TEST(Hub, ConnectThrowsAfterAHundredCollidingDraws)
{
    test::HubHarness h({}, std::vector<ClientId>(101, "zzzzzzzzzz"));
    h.connect();
    EXPECT_THROW(h.connect(), std::runtime_error);
    EXPECT_EQ(h.ids.draws(), 101u);
    EXPECT_EQ(h.hub.client_count(), 1u);
    // The hub still works afterwards.
    EXPECT_EQ(h.connect(), "aaaaaaaaa1");
}

TEST(Hub, AnIdFreedByDisconnectMayBeHandedOutAgain)
{
    test::HubHarness h({}, {"zzzzzzzzzz", "zzzzzzzzzz"});
    h.connect();
    h.disconnect("zzzzzzzzzz");
    EXPECT_EQ(h.connect(), "zzzzzzzzzz");
    EXPECT_EQ(h.ids.draws(), 2u);
}

// --- join ------------------------------------------------------------------------------------

TEST(Hub, JoinEmptyRoomRepliesJoinedWithNoPeers)
{
    Harness h;
    h.connect();
    h.send(A, join_text("r"));
    EXPECT_EQ(
        raw(h.take()),
        (Sent{{A, R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa1","peers":[]})"}}));
    EXPECT_EQ(h.hub.room_of(A), "r");
    EXPECT_EQ(h.members("r"), std::vector<ClientId>{A});
}

TEST(Hub, JoinRepliesJoinedListingTheOtherMembersInJoinOrder)
{
    Harness h;
    h.connect();
    h.connect();
    h.connect();
    h.send(B, join_text("r", "Bea"));
    h.send(A, join_text("r"));
    h.take();
    h.send(C, join_text("r", "Cy"));
    const auto sent = h.take();
    ASSERT_FALSE(sent.empty());
    EXPECT_EQ(sent.front().to, C);
    EXPECT_EQ(sent.front().text,
              R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa3","peers":[)"
              R"({"clientId":"aaaaaaaaa2","name":"Bea"},{"clientId":"aaaaaaaaa1"}]})");
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{B, A, C}));
}

TEST(Hub, JoinTellsEveryOtherMemberPeerJoined)
{
    Harness h;
    h.fill("r", 2);
    h.connect();
    h.send(C, join_text("r", "Cy"));
    const std::string peer_joined =
        R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"aaaaaaaaa3","name":"Cy"}})";
    EXPECT_EQ(raw(h.take()),
              (Sent{{C, R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa3","peers":[)"
                        R"({"clientId":"aaaaaaaaa1"},{"clientId":"aaaaaaaaa2"}]})"},
                    {A, peer_joined},
                    {B, peer_joined}}));
}

TEST(Hub, JoinerHearsJoinedBeforeAnyoneHearsPeerJoined)
{
    Harness h;
    h.fill("r", 5);
    const ClientId late = h.connect();
    h.send(late, join_text("r"));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 6u);
    EXPECT_EQ(sent[0].to, late);
    EXPECT_EQ(sent[0].action(), "joined");
    for (std::size_t i = 1; i < sent.size(); ++i)
        EXPECT_EQ(sent[i].action(), "peer-joined");
}

TEST(Hub, EmptyOrNullNameMeansNoName)
{
    Harness h;
    h.fill("r", 1);
    h.connect();
    h.connect();
    h.send(B, R"({"action":"join","roomId":"r","name":""})");
    EXPECT_EQ(h.transport.to(A).at(0).text,
              R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"aaaaaaaaa2"}})");
    h.take();
    h.send(C, R"({"action":"join","roomId":"r","name":null})");
    EXPECT_EQ(h.transport.to(C).at(0).text,
              R"({"action":"joined","roomId":"r","clientId":"aaaaaaaaa3","peers":[)"
              R"({"clientId":"aaaaaaaaa1"},{"clientId":"aaaaaaaaa2"}]})");
    EXPECT_EQ(h.transport.to(A).at(0).text,
              R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"aaaaaaaaa3"}})");
    for (const Member& member : h.hub.rooms().members("r"))
        EXPECT_EQ(member.name(), std::nullopt);
}

TEST(Hub, NamesAreRelayedWithUnicodeIntact)
{
    Harness h;
    h.fill("r", 1);
    h.connect();
    h.send(B, R"({"action":"join","roomId":"r","name":"Zo\u00eb \ud83d\ude00 \"Z\""})");
    EXPECT_EQ(h.transport.to(A).at(0).text,
              "{\"action\":\"peer-joined\",\"roomId\":\"r\",\"peer\":{\"clientId\":\"aaaaaaaaa2\","
              "\"name\":\"Zo\xC3\xAB \xF0\x9F\x98\x80 \\\"Z\\\"\"}}");
}

TEST(Hub, EscapedRoomIdNamesTheSameRoomAsItsDecodedText)
{
    Harness h;
    h.connect();
    h.connect();
    h.send(A, R"({"action":"join","roomId":"\u0041"})");
    h.send(B, join_text("A"));
    EXPECT_EQ(h.members("A"), (std::vector<ClientId>{A, B}));
    EXPECT_EQ(h.transport.to(A).at(0).field("roomId"), "A");
}

TEST(Hub, JoinSameRoomAgainRepliesAlreadyJoined)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, join_text("r", "Ann"));
    expect_only_error(h, A, "already-joined", "join");
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, B}));
    EXPECT_EQ(h.hub.rooms().members("r")[0].name(), std::nullopt);
}

TEST(Hub, JoinFullRoomRepliesRoomFull)
{
    Harness h(2);
    h.fill("r", 2);
    h.connect();
    h.send(C, join_text("r"));
    expect_only_error(h, C, "room-full", "join");
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, B}));
    EXPECT_EQ(h.hub.room_of(C), std::nullopt);
}

TEST(Hub, RoomFullIsCheckedAfterAlreadyJoined)
{
    Harness h(2);
    h.fill("r", 2);
    h.send(A, join_text("r"));
    expect_only_error(h, A, "already-joined", "join");
}

TEST(Hub, FullRoomAcceptsAgainOnceSomeoneLeaves)
{
    Harness h(2);
    h.fill("r", 2);
    h.connect();
    h.send(B, leave_text("r"));
    h.take();
    h.send(C, join_text("r"));
    EXPECT_EQ(h.take().at(0).action(), "joined");
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, C}));
}

TEST(Hub, RefusedJoinLeavesTheClientInItsOldRoom)
{
    Harness h(2);
    h.fill("r", 2);                     // A, B: r is full
    const auto others = h.fill("s", 2); // C, D
    h.send(C, join_text("r"));
    expect_only_error(h, C, "room-full", "join");
    EXPECT_EQ(h.hub.room_of(C), "s");
    EXPECT_EQ(h.members("s"), (std::vector<ClientId>{C, D}));
    // C is still a working member of s.
    h.send(C, signal_text("s", "offer"));
    EXPECT_EQ(
        raw(h.take()),
        (Sent{{D, R"({"action":"signal","roomId":"s","from":"aaaaaaaaa3","type":"offer"})"}}));
    EXPECT_EQ(others, (std::vector<ClientId>{C, D}));
}

TEST(Hub, JoinRefusedForItsFieldsLeavesTheClientInItsOldRoom)
{
    Harness h;
    h.fill("s", 2);
    for (const auto& [text, code] : std::vector<std::pair<std::string, std::string>>{
             {join_text(""), "bad-room-id"},
             {join_text(repeat("x", 65)), "bad-room-id"},
             {join_text("r", repeat("n", 65)), "bad-name"},
             {R"({"action":"join","roomId":"r","name":5})", "bad-message"},
             {R"({"action":"join","roomId":5})", "bad-message"},
             {R"({"action":"join"})", "bad-message"}}) {
        h.send(A, text);
        expect_only_error(h, A, code, "join");
        EXPECT_EQ(h.hub.room_of(A), "s") << text;
    }
    EXPECT_EQ(h.members("s"), (std::vector<ClientId>{A, B}));
    EXPECT_TRUE(h.members("r").empty());
}

TEST(Hub, FieldValuesAreCheckedBeforeRoomState)
{
    Harness h(2);
    h.fill("r", 2);
    h.connect();
    // Already in r, but the name is bad: bad-name, not already-joined.
    h.send(A, join_text("r", "\\u0001"));
    expect_only_error(h, A, "bad-name", "join");
    // r is full, but the name is bad: bad-name, not room-full.
    h.send(C, join_text("r", repeat("n", 65)));
    expect_only_error(h, C, "bad-name", "join");
    // Not in the room, and the type is bad: bad-type, not not-in-room.
    h.send(C, signal_text("r", "bogus"));
    expect_only_error(h, C, "bad-type", "signal");
    // A target that is no peer, and the type is bad: bad-type, not unknown-peer.
    h.send(A, signal_text("r", "bogus", std::nullopt, A));
    expect_only_error(h, A, "bad-type", "signal");
    // Not in the room, and the room id is invalid: bad-room-id, not not-in-room.
    h.send(C, leave_text(""));
    expect_only_error(h, C, "bad-room-id", "leave");
}

TEST(Hub, SwitchingRoomsLeavesTheOldRoomFirst)
{
    Harness h;
    h.fill("r", 2); // A, B
    h.fill("s", 1); // C
    h.send(A, join_text("s", "Ann"));
    const auto sent = h.take();

    // The mover hears `left` for the old room before `joined` for the new one.
    Sent to_a;
    Sent to_b;
    Sent to_c;
    for (const SentMessage& m : sent)
        (m.to == A ? to_a : m.to == B ? to_b : to_c).emplace_back(m.to, m.text);
    EXPECT_EQ(to_a, (Sent{{A, R"({"action":"left","roomId":"r"})"},
                          {A, R"({"action":"joined","roomId":"s","clientId":"aaaaaaaaa1","peers":[)"
                              R"({"clientId":"aaaaaaaaa3"}]})"}}));
    EXPECT_EQ(to_b, (Sent{{B, R"({"action":"peer-left","roomId":"r","clientId":"aaaaaaaaa1"})"}}));
    EXPECT_EQ(to_c, (Sent{{C, R"({"action":"peer-joined","roomId":"s","peer":)"
                              R"({"clientId":"aaaaaaaaa1","name":"Ann"}})"}}));

    // And the old room hears peer-left before the new room hears peer-joined.
    ASSERT_EQ(sent.size(), 4u);
    EXPECT_EQ(sent.back().to, C);

    EXPECT_EQ(h.hub.room_of(A), "s");
    EXPECT_EQ(h.members("r"), std::vector<ClientId>{B});
    EXPECT_EQ(h.members("s"), (std::vector<ClientId>{C, A}));
}

TEST(Hub, SwitchingRoomsOutOfARoomAloneDeletesItAndSendsOnlyToTheMover)
{
    Harness h;
    h.fill("r", 1);
    h.send(A, join_text("s"));
    EXPECT_EQ(
        raw(h.take()),
        (Sent{{A, R"({"action":"left","roomId":"r"})"},
              {A, R"({"action":"joined","roomId":"s","clientId":"aaaaaaaaa1","peers":[]})"}}));
    EXPECT_EQ(h.hub.rooms().room_count(), 1u);
    EXPECT_TRUE(h.members("r").empty());
}

TEST(Hub, TheNameComesFromTheLatestJoin)
{
    Harness h;
    h.connect();
    h.send(A, join_text("r", "Ann"));
    h.send(A, join_text("s"));
    EXPECT_EQ(h.hub.rooms().members("s")[0].name(), std::nullopt);
    h.send(A, join_text("r", "Anna"));
    EXPECT_EQ(h.hub.rooms().members("r")[0].name(), "Anna");
}

// --- leave -----------------------------------------------------------------------------------

TEST(Hub, LeaveRepliesLeftAndTellsTheOthersPeerLeft)
{
    Harness h;
    h.fill("r", 3);
    h.send(B, leave_text("r"));
    const auto sent = h.take();
    const std::string peer_left = R"({"action":"peer-left","roomId":"r","clientId":"aaaaaaaaa2"})";
    Sent others;
    Sent leaver;
    for (const SentMessage& m : sent)
        (m.to == B ? leaver : others).emplace_back(m.to, m.text);
    EXPECT_EQ(leaver, (Sent{{B, R"({"action":"left","roomId":"r"})"}}));
    EXPECT_EQ(others, (Sent{{A, peer_left}, {C, peer_left}}));
    EXPECT_EQ(h.hub.room_of(B), std::nullopt);
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, C}));
}

TEST(Hub, LeaveByTheLastMemberDeletesTheRoom)
{
    Harness h;
    h.fill("r", 1);
    h.send(A, leave_text("r"));
    EXPECT_EQ(raw(h.take()), (Sent{{A, R"({"action":"left","roomId":"r"})"}}));
    EXPECT_EQ(h.hub.rooms().room_count(), 0u);
    EXPECT_EQ(h.hub.client_count(), 1u);
}

TEST(Hub, LeaveWhenInNoRoomRepliesNotInRoom)
{
    Harness h;
    h.connect();
    h.send(A, leave_text("r"));
    expect_only_error(h, A, "not-in-room", "leave");
}

TEST(Hub, LeaveAnotherRoomRepliesNotInRoomAndStaysPut)
{
    Harness h;
    h.fill("r", 2);
    h.fill("s", 1);
    h.send(A, leave_text("s"));
    expect_only_error(h, A, "not-in-room", "leave");
    EXPECT_EQ(h.hub.room_of(A), "r");
    EXPECT_EQ(h.members("s"), std::vector<ClientId>{C});
}

TEST(Hub, LeaveWithAnInvalidRoomIdRepliesBadRoomId)
{
    Harness h;
    h.fill("r", 1);
    h.send(A, leave_text(""));
    expect_only_error(h, A, "bad-room-id", "leave");
    h.send(A, leave_text(repeat("r", 65)));
    expect_only_error(h, A, "bad-room-id", "leave");
    h.send(A, R"({"action":"leave","roomId":null})");
    expect_only_error(h, A, "bad-message", "leave");
    EXPECT_EQ(h.hub.room_of(A), "r");
}

TEST(Hub, RejoiningAfterLeavingPutsTheClientLastInJoinOrder)
{
    Harness h;
    h.fill("r", 3);
    h.send(A, leave_text("r"));
    h.send(A, join_text("r"));
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{B, C, A}));
}

// --- signal ----------------------------------------------------------------------------------

TEST(Hub, SignalWithoutToReachesEveryOtherMemberAndNoOneElse)
{
    Harness h;
    h.fill("r", 3);
    h.fill("s", 1);
    h.send(A, signal_text("r", "offer", R"({"sdp":"v=0"})"));
    const std::string expected =
        R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer","data":{"sdp":"v=0"}})";
    EXPECT_EQ(raw(h.take()), (Sent{{B, expected}, {C, expected}}));
}

TEST(Hub, SignalAloneInARoomSendsNothing)
{
    Harness h;
    h.fill("r", 1);
    h.send(A, signal_text("r", "offer"));
    EXPECT_TRUE(h.take().empty());
}

TEST(Hub, SignalWithToReachesOnlyThatMember)
{
    Harness h;
    h.fill("r", 3);
    h.send(A, signal_text("r", "answer", R"({"sdp":"x"})", C));
    EXPECT_EQ(raw(h.take()),
              (Sent{{C, R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"answer",)"
                        R"("data":{"sdp":"x"},"to":"aaaaaaaaa3"})"}}));
}

TEST(Hub, EverySignalTypeIsForwarded)
{
    Harness h;
    h.fill("r", 2);
    for (const char* type : {"offer", "answer", "ice-candidate", "hangup"}) {
        h.send(A, signal_text("r", type));
        const auto sent = h.take();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].field("type"), type);
    }
}

TEST(Hub, SignalWithBadTypeRepliesBadType)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, signal_text("r", "Offer"));
    expect_only_error(h, A, "bad-type", "signal");
}

TEST(Hub, SignalToSelfRepliesUnknownPeer)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, signal_text("r", "offer", std::nullopt, A));
    expect_only_error(h, A, "unknown-peer", "signal");
}

TEST(Hub, SignalToSomeoneOutsideTheRoomRepliesUnknownPeer)
{
    Harness h;
    h.fill("r", 2);
    h.fill("s", 1); // C
    h.connect();    // D, in no room
    for (const ClientId& to : {C, D, "zzzzzzzzzz"s, ""s, "AAAAAAAAA2"s}) {
        h.send(A, signal_text("r", "offer", "{}", to));
        expect_only_error(h, A, "unknown-peer", "signal");
    }
}

TEST(Hub, SignalToAPeerWhoLeftRepliesUnknownPeer)
{
    Harness h;
    h.fill("r", 3);
    h.send(B, leave_text("r"));
    h.disconnect(C);
    h.take();
    h.send(A, signal_text("r", "offer", std::nullopt, B));
    expect_only_error(h, A, "unknown-peer", "signal");
    h.send(A, signal_text("r", "offer", std::nullopt, C));
    expect_only_error(h, A, "unknown-peer", "signal");
}

TEST(Hub, SignalWhenNotInThatRoomRepliesNotInRoom)
{
    Harness h;
    h.fill("r", 2);
    h.connect(); // C, in no room
    h.send(C, signal_text("r", "offer"));
    expect_only_error(h, C, "not-in-room", "signal");
    h.send(A, signal_text("s", "offer"));
    expect_only_error(h, A, "not-in-room", "signal");
    h.send(A, signal_text("s", "offer", std::nullopt, B));
    expect_only_error(h, A, "not-in-room", "signal");
}

TEST(Hub, SignalAfterLeavingRepliesNotInRoom)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, leave_text("r"));
    h.take();
    h.send(A, signal_text("r", "offer"));
    expect_only_error(h, A, "not-in-room", "signal");
}

TEST(Hub, SignalFromIsAlwaysTheSendersId)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, R"({"from":"aaaaaaaaa2","action":"signal","roomId":"r","type":"offer","from":"x"})");
    h.send(A, R"({"action":"signal","roomId":"r","type":"offer","from":null})");
    const std::string expected =
        R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer"})";
    EXPECT_EQ(raw(h.take()), (Sent{{B, expected}, {B, expected}}));
}

TEST(Hub, SignalForwardsOnlyKnownFieldsInAFixedOrder)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, R"({"to":"aaaaaaaaa2","data":[1],"extra":{"x":1},"type":"ice-candidate","name":"n",)"
              R"("roomId":"r","action":"signal","id":7})");
    EXPECT_EQ(raw(h.take()),
              (Sent{{B, R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1",)"
                        R"("type":"ice-candidate","data":[1],"to":"aaaaaaaaa2"})"}}));
}

TEST(Hub, SignalDataNullIsForwardedAsNullAndAbsentDataIsOmitted)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, signal_text("r", "hangup", "null"));
    h.send(A, signal_text("r", "hangup"));
    EXPECT_EQ(
        raw(h.take()),
        (Sent{
            {B,
             R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"hangup","data":null})"},
            {B, R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"hangup"})"}}));
}

TEST(Hub, SignalDataIsRelayedByteForByte)
{
    Harness h;
    h.fill("r", 3);
    const std::vector<std::string> shapes = {
        "{}",
        "[]",
        R"({"sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n","type":"offer"})",
        R"({"candidate":"candidate:842163049 1 udp 1677729535 1.2.3.4 46154 typ srflx","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null})",
        "[1,2,3]",
        R"("a string with \"escapes\" \\ \/ \b\f\n\r\t \u0000 \u00e9 \ud83d\ude00")",
        "\"raw unicode \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"",
        "0",
        "-0",
        "-12.5e+10",
        "1E-7",
        "123456789012345678901234567890",
        "1e400",
        "true",
        "false",
        "null",
        "\"\"",
        R"({"a":{"b":{"c":[[[{"d":[]}]]]}}})",
        "[ 1 ,\n\t2 ,\r\n { \"k\" :\t\"v\" } ]",
        R"({"dup":1,"dup":2})",
        R"({"\u0061ction":"join","roomId":"x"})",
        "\"\x7F\"",
    };
    for (const std::string& data : shapes) {
        SCOPED_TRACE(data);
        for (const auto& to :
             {std::optional<std::string_view>{}, std::optional<std::string_view>{C}}) {
            h.send(A, signal_text("r", "offer", data, to));
            std::string expected =
                R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer","data":)" +
                data;
            if (to)
                expected += R"(,"to":"aaaaaaaaa3")";
            expected += "}";
            const auto sent = h.take();
            ASSERT_EQ(sent.size(), to ? 1u : 2u);
            for (const SentMessage& m : sent)
                EXPECT_EQ(m.text, expected);
        }
    }
}

TEST(Hub, SignalsArriveInTheOrderTheyWereSent)
{
    Harness h;
    h.fill("r", 2);
    for (int i = 0; i < 50; ++i)
        h.send(A, signal_text("r", "ice-candidate", std::to_string(i)));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 50u);
    for (std::size_t i = 0; i < sent.size(); ++i)
        EXPECT_EQ(sent[i].json()["data"], i);
}

// --- errors ----------------------------------------------------------------------------------

TEST(Hub, EveryErrorCodeIsRepliedToTheSenderOnlyAndKeepsTheConnection)
{
    struct Case
    {
        std::string text;
        std::string code;
        std::optional<std::string> request;
    };
    const std::vector<Case> cases = {
        {"not json", "bad-json", std::nullopt},
        {"{\"action\":\"join\",\"roomId\":\"\xFF\"}", "bad-json", std::nullopt},
        {"[1,2]", "bad-message", std::nullopt},
        {R"({"roomId":"r"})", "bad-message", std::nullopt},
        {R"({"action":5})", "bad-message", std::nullopt},
        {R"({"action":"join","roomId":5})", "bad-message", "join"},
        {R"({"action":"signal","roomId":"r","type":"offer","to":null})", "bad-message", "signal"},
        {R"({"action":"dance"})", "unknown-action", "dance"},
        {join_text(""), "bad-room-id", "join"},
        {join_text("r", "\\u007f"), "bad-name", "join"},
        {signal_text("r", "bye"), "bad-type", "signal"},
        {signal_text("elsewhere", "offer"), "not-in-room", "signal"},
        {leave_text("elsewhere"), "not-in-room", "leave"},
        {join_text("r"), "already-joined", "join"},
        {signal_text("r", "offer", std::nullopt, "nobody"), "unknown-peer", "signal"},
        {join_text("full"), "room-full", "join"},
    };
    Harness h(2);
    h.fill("full", 2); // A, B
    const ClientId me = h.connect();
    const ClientId mate = h.connect();
    h.send(me, join_text("r"));
    h.send(mate, join_text("r"));
    h.take();
    for (const Case& c : cases) {
        SCOPED_TRACE(c.text);
        h.send(me, c.text);
        expect_only_error(h, me, c.code, c.request);
        EXPECT_EQ(h.hub.room_of(me), "r");
        EXPECT_EQ(h.hub.client_count(), 4u);
    }
    // Still connected and still a member: a signal gets through.
    h.send(me, signal_text("r", "offer"));
    EXPECT_EQ(h.take().size(), 1u);
}

TEST(Hub, ErrorReplyIsExact)
{
    Harness h;
    h.connect();
    h.send(A, R"({"action":"leave","roomId":"r"})");
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    const std::string message = sent[0].field("message");
    EXPECT_EQ(sent[0].text, R"({"action":"error","code":"not-in-room","message":)" +
                                nlohmann::json(message).dump() + R"(,"request":"leave"})");
}

TEST(Hub, TextFromAnUnknownClientIsIgnored)
{
    Harness h;
    h.fill("r", 1);
    h.send("zzzzzzzzzz", join_text("r"));
    h.send("zzzzzzzzzz", join_text("new"));
    h.send("zzzzzzzzzz", "garbage");
    h.send(B, join_text("r")); // B has not connected yet
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.hub.client_count(), 1u);
    EXPECT_EQ(h.hub.rooms().room_count(), 1u);
    EXPECT_EQ(h.members("r"), std::vector<ClientId>{A});
}

// --- disconnect ------------------------------------------------------------------------------

TEST(Hub, DisconnectTellsTheRoomPeerLeft)
{
    Harness h;
    h.fill("r", 3);
    h.disconnect(B);
    const std::string peer_left = R"({"action":"peer-left","roomId":"r","clientId":"aaaaaaaaa2"})";
    EXPECT_EQ(raw(h.take()), (Sent{{A, peer_left}, {C, peer_left}}));
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, C}));
    EXPECT_EQ(h.hub.client_count(), 2u);
    EXPECT_EQ(h.hub.room_of(B), std::nullopt);
}

TEST(Hub, DisconnectOfTheLastMemberDeletesTheRoom)
{
    Harness h;
    h.fill("r", 1);
    h.disconnect(A);
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.hub.rooms().room_count(), 0u);
    EXPECT_EQ(h.hub.client_count(), 0u);
}

TEST(Hub, DisconnectTwiceIsHarmless)
{
    Harness h;
    h.fill("r", 2);
    h.disconnect(A);
    h.take();
    h.disconnect(A);
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.members("r"), std::vector<ClientId>{B});
    EXPECT_EQ(h.hub.client_count(), 1u);
}

TEST(Hub, DisconnectOfAnUnknownIdDoesNothing)
{
    Harness h;
    h.fill("r", 2);
    h.disconnect("zzzzzzzzzz");
    h.disconnect("");
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.hub.client_count(), 2u);
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, B}));
}

TEST(Hub, DisconnectOfAClientInNoRoomSendsNothing)
{
    Harness h;
    h.fill("r", 1);
    h.connect();
    h.disconnect(B);
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.hub.client_count(), 1u);
}

TEST(Hub, ADisconnectedClientReceivesNothingMore)
{
    Harness h;
    h.fill("r", 3);
    h.disconnect(C);
    h.take();
    h.send(A, signal_text("r", "offer"));
    h.send(C, signal_text("r", "offer"));
    EXPECT_EQ(
        raw(h.take()),
        (Sent{{B, R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer"})"}}));
}

// --- hostile input ---------------------------------------------------------------------------

TEST(Hub, DeeplyNestedDataIsRelayedIntact)
{
    Harness h;
    h.fill("r", 2);
    const std::string deep = repeat("[", 100'000) + repeat("]", 100'000);
    h.send(A, signal_text("r", "offer", deep));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].text,
              R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer","data":)" +
                  deep + "}");
}

TEST(Hub, UnbalancedDeepNestingIsBadJson)
{
    Harness h;
    h.fill("r", 2);
    h.send(A, signal_text("r", "offer", repeat("[", 100'000) + repeat("]", 99'999)));
    expect_only_error(h, A, "bad-json", std::nullopt);
    h.send(A, repeat("{\"a\":", 50'000));
    expect_only_error(h, A, "bad-json", std::nullopt);
    h.send(A, repeat("[", 100'000) + repeat("]", 100'000));
    expect_only_error(h, A, "bad-message", std::nullopt);
}

TEST(Hub, LongStringDataIsRelayedIntact)
{
    Harness h;
    h.fill("r", 2);
    const std::string data = "\"" + repeat("x\\n\xC3\xA9", 62'500) + "\""; // 250 KB
    h.send(A, signal_text("r", "offer", data));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].text,
              R"({"action":"signal","roomId":"r","from":"aaaaaaaaa1","type":"offer","data":)" +
                  data + "}");
}

TEST(Hub, DataWithTenThousandKeysIsRelayedIntact)
{
    Harness h;
    h.fill("r", 2);
    std::string data = "{";
    for (int i = 0; i < 10'000; ++i)
        data += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":" + std::to_string(i));
    data += "}";
    h.send(A, signal_text("r", "offer", data));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].json()["data"].size(), 10'000u);
    EXPECT_NE(sent[0].text.find(data), std::string::npos);
}

TEST(Hub, AMessageWithTenThousandExtraKeysStillWorks)
{
    Harness h;
    h.fill("r", 1);
    h.connect();
    std::string text = R"({"action":"join")";
    for (int i = 0; i < 10'000; ++i)
        text += ",\"k" + std::to_string(i) + "\":[" + std::to_string(i) + "]";
    text += R"(,"roomId":"r"})";
    h.send(B, text);
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, B}));
}

TEST(Hub, HugeRoomIdsAndNamesAreRefused)
{
    Harness h;
    h.connect();
    h.send(A, join_text(repeat("r", 250'000)));
    expect_only_error(h, A, "bad-room-id", "join");
    h.send(A, join_text("r", repeat("n", 250'000)));
    expect_only_error(h, A, "bad-name", "join");
    EXPECT_EQ(h.hub.rooms().room_count(), 0u);
}

TEST(Hub, InvalidUtf8AndLoneSurrogatesAreBadJson)
{
    Harness h;
    h.fill("r", 2);
    for (const std::string& text :
         {signal_text("r", "offer", "\"\xFF\""), signal_text("r", "offer", "\"\xC0\xAF\""),
          signal_text("r", "offer", "\"\xED\xA0\x80\""),
          signal_text("r", "offer", "\"\xF4\x90\x80\x80\""),
          signal_text("r", "offer", "\"\xE2\x82\""), signal_text("r", "offer", R"("\ud800")"),
          signal_text("r", "offer", R"("\udc00\ud800")"), join_text("\xC3"),
          join_text("r", R"(\ud83d)"), "{\"action\":\"join\",\"roomId\":\"r\"}\xFF"s, "\xFF"s}) {
        SCOPED_TRACE(text);
        h.send(A, text);
        expect_only_error(h, A, "bad-json", std::nullopt);
    }
    EXPECT_EQ(h.hub.room_of(A), "r");
}

TEST(Hub, ArbitraryBytesNeverThrowAndAlwaysGetExactlyOneReplyOrRelay)
{
    Harness h;
    h.fill("r", 2);
    std::mt19937 rng(99);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<std::size_t> length(0, 64);
    for (int i = 0; i < 2000; ++i) {
        std::string text(length(rng), '\0');
        for (char& c : text)
            c = static_cast<char>(byte(rng));
        EXPECT_NO_THROW(h.send(A, text));
        const auto sent = h.take();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].to, A);
        EXPECT_EQ(sent[0].action(), "error");
        EXPECT_TRUE(!sent[0].json().is_discarded());
    }
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, B}));
}

// --- randomized model ------------------------------------------------------------------------

TEST(Hub, RandomOperationsKeepEveryClientsViewEqualToTheRegistry)
{
    constexpr std::size_t max_clients = 20;
    constexpr std::size_t max_room = 4; // small enough that room-full happens
    const std::vector<std::string> rooms = {"r0", "r1", "r2", "r3", "r4"};
    const std::vector<std::string> garbage = {"x",
                                              "[]",
                                              "{}",
                                              R"({"action":"nope"})",
                                              R"({"action":"join"})",
                                              R"({"action":"signal","roomId":"r0","type":"x"})",
                                              "{\"action\":\"join\",\"roomId\":\"\xFF\"}",
                                              R"({"action":"leave","roomId":""})",
                                              R"({"action":"join","roomId":"r1","name":{}})"};

    Harness h(max_room);
    std::mt19937 rng(12345);
    auto pick = [&](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };

    // The harness keeps a view per connected client, built only from what it was sent, and checks
    // each message against the protocol's rules as it is sent.
    const auto& views = h.views();
    std::vector<ClientId> gone;
    std::map<std::string, std::size_t> actions_seen;

    auto random_client = [&]() {
        auto it = views.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(pick(views.size())));
        return it->first;
    };

    for (int step = 0; step < 5000; ++step) {
        SCOPED_TRACE("step " + std::to_string(step));
        const std::size_t op = pick(100);
        if (views.empty() || (op < 10 && views.size() < max_clients)) {
            h.connect();
        } else if (op < 15) {
            const ClientId id = random_client();
            h.disconnect(id);
            gone.push_back(id);
        } else if (op < 17 && !gone.empty()) {
            // A late frame or a second disconnect for a client that is gone.
            const ClientId& id = gone[pick(gone.size())];
            if (pick(2) == 0)
                h.send(id, join_text(rooms[pick(rooms.size())]));
            else
                h.disconnect(id);
            EXPECT_TRUE(h.transport.sent.empty());
        } else if (op < 45) {
            const ClientId id = random_client();
            const std::string& room = rooms[pick(rooms.size())];
            switch (pick(4)) {
            case 0:
                h.send(id, join_text(room));
                break;
            case 1:
                h.send(id, join_text(room, "n" + std::to_string(pick(3))));
                break;
            case 2:
                h.send(id, R"({"action":"join","roomId":")" + room + R"(","name":null})");
                break;
            default:
                h.send(id, join_text(room, ""));
                break;
            }
        } else if (op < 55) {
            const ClientId id = random_client();
            const auto current = h.view(id).room();
            h.send(id, leave_text(current && pick(4) != 0 ? *current : rooms[pick(rooms.size())]));
        } else if (op < 90) {
            const ClientId id = random_client();
            const auto current = h.view(id).room();
            const std::string room = current && pick(5) != 0 ? *current : rooms[pick(rooms.size())];
            std::optional<ClientId> to;
            switch (pick(5)) {
            case 0:
            case 1:
                break;
            case 2:
                if (const auto others = h.view(id).others(); !others.empty())
                    to = others[pick(others.size())];
                break;
            case 3:
                to = random_client();
                break;
            default:
                to = gone.empty() ? id : gone[pick(gone.size())];
                break;
            }
            h.send(id, signal_text(room, "offer", R"({"step":)" + std::to_string(step) + "}", to));
        } else {
            h.send(random_client(), garbage[pick(garbage.size())]);
        }

        for (const SentMessage& m : h.take())
            ++actions_seen[m.action() == "error" ? "error " + m.code() : m.action()];
        if (HasFailure())
            return;

        // Invariants: each client's view matches the registry, and the registry is consistent.
        h.expect_views_match_registry();
        if (HasFatalFailure())
            return;
        std::size_t in_a_room = 0;
        for (const auto& [id, view] : views)
            if (view.room()) {
                ++in_a_room;
                ASSERT_TRUE(h.hub.rooms().contains(*view.room(), id)) << id;
            }
        std::map<ClientId, int> memberships;
        for (const auto& [room, members] : h.hub.rooms().all()) {
            ASSERT_FALSE(members.empty()) << room;
            ASSERT_LE(members.size(), max_room) << room;
            for (const Member& member : members) {
                ASSERT_EQ(++memberships[member.client_id], 1) << member.client_id;
                ASSERT_EQ(h.hub.room_of(member.client_id), room);
            }
        }
        ASSERT_EQ(h.hub.rooms().member_count(), in_a_room);
    }

    // The walk must have exercised every path, or the invariants prove little.
    for (const char* seen :
         {"joined", "peer-joined", "peer-left", "left", "signal", "error room-full",
          "error already-joined", "error not-in-room", "error unknown-peer", "error bad-json",
          "error bad-message", "error unknown-action", "error bad-type", "error bad-room-id"})
        EXPECT_GT(actions_seen[seen], 0u) << seen;
}

} // namespace hub_test
} // namespace signald
