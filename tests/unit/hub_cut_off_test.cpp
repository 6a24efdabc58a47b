// A clustered node cut off from the others (Redis away): its Hub refuses with `unavailable` a join
// and a signal any of whose receivers it cannot reach, changes nothing for them, and goes on
// relaying among the clients it reaches (docs/cluster.md, "Redis goes away").

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace signald {
namespace {

const ClientId A = "aaaaaaaaa1";
const ClientId B = "aaaaaaaaa2";
const ClientId C = "aaaaaaaaa3";
const ClientId D = "aaaaaaaaa4";

std::string signal_to(const ClientId& to)
{
    return R"({"action":"signal","roomId":"r","type":"offer","to":")" + to + R"(","data":1})";
}
const std::string broadcast = R"({"action":"signal","roomId":"r","type":"offer","data":2})";

// A, B and C in room r; C is on another node, which Redis no longer reaches.
class HubCutOff : public ::testing::Test
{
protected:
    HubCutOff() : h(test::resume_limits(), {A, B, C, D})
    {
        h.fill("r", 3);
        h.take();
        h.transport.unreachable = {C};
        h.transport.is_cut_off = true;
    }

    void expect_unavailable(const ClientId& id, const char* request)
    {
        const auto sent = h.take();
        ASSERT_EQ(sent.size(), 1u);
        EXPECT_EQ(sent[0].to, id);
        EXPECT_EQ(sent[0].code(), "unavailable");
        EXPECT_EQ(sent[0].field("request"), request);
    }

    test::QuietLogs quiet;
    test::HubHarness h;
};

TEST_F(HubCutOff, ASignalToAClientOutOfReachIsRefusedAndNothingIsSent)
{
    h.send(A, signal_to(C));
    expect_unavailable(A, "signal");
}

TEST_F(HubCutOff, ABroadcastWithOneReceiverOutOfReachIsRefusedWhole)
{
    h.send(A, broadcast);
    expect_unavailable(A, "signal"); // B hears nothing either: no partial broadcast
}

TEST_F(HubCutOff, SignalsAmongReachableClientsGoOn)
{
    h.send(A, signal_to(B));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, B);
    EXPECT_EQ(sent[0].action(), "signal");
    EXPECT_EQ(sent[0].field("from"), A);
}

TEST_F(HubCutOff, ABroadcastReachesEveryoneWhenTheOnlyRemoteMemberIsSuspended)
{
    h.disconnect(C, ConnectionEnd::lost); // its messages wait in its outbox
    h.take();
    h.send(A, broadcast);
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, B);
    EXPECT_EQ(sent[0].action(), "signal");
}

TEST_F(HubCutOff, AJoinIsRefusedBeforeAnyOtherRoomRule)
{
    const ClientId d = h.connect();
    h.send(d, R"({"action":"join","roomId":"r"})");
    expect_unavailable(d, "join");
    // Even a join of the room its client is in (already-joined otherwise).
    h.send(A, R"({"action":"join","roomId":"r"})");
    expect_unavailable(A, "join");
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{A, B, C}));
}

TEST_F(HubCutOff, ItsRulesComeAfterMembershipAndTheReceiverCheck)
{
    h.send(A, R"({"action":"signal","roomId":"elsewhere","type":"offer"})");
    EXPECT_EQ(h.take().at(0).code(), "not-in-room");
    h.send(A, signal_to("zzzzzzzzz9"));
    EXPECT_EQ(h.take().at(0).code(), "unknown-peer");
}

TEST_F(HubCutOff, BackInReachEverythingGoesAsBefore)
{
    h.transport.is_cut_off = false;
    h.send(A, signal_to(C));
    EXPECT_EQ(h.take().at(0).to, C);
    const ClientId d = h.connect();
    h.send(d, R"({"action":"join","roomId":"r"})");
    EXPECT_EQ(h.take().at(0).action(), "joined");
}

} // namespace
} // namespace signald
