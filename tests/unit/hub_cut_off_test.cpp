// A clustered node cut off from the others (Redis away): its Hub refuses with `unavailable` a join
// and a signal any of whose receivers it cannot reach, changes nothing for them, and goes on
// relaying among the clients it reaches (docs/cluster.md, "Redis goes away").

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signald {
namespace hub_cut_off_test {

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

TEST_F(HubCutOff, AnUpdateWithAReceiverOutOfReachIsRefusedAfterNotInRoom)
{
    h.send(A, R"({"action":"update","roomId":"elsewhere","state":{}})");
    EXPECT_EQ(h.take().at(0).code(), "not-in-room");
    h.send(A, R"({"action":"update","roomId":"r","state":{"muted":true}})");
    expect_unavailable(A, "update"); // B hears nothing either
    // The state did not change: a newcomer, once the cluster is back, sees none.
    h.transport.is_cut_off = false;
    h.transport.unreachable.clear();
    const ClientId d = h.connect();
    h.send(d, R"({"action":"join","roomId":"r"})");
    const auto joined = h.take().at(0);
    ASSERT_EQ(joined.action(), "joined");
    EXPECT_FALSE(joined.json()["peers"][0].contains("state")) << joined.json().dump();
}

TEST_F(HubCutOff, AnUpdateAmongReachableClientsGoesOn)
{
    h.disconnect(C, ConnectionEnd::lost); // suspended: its copy waits in its outbox
    h.take();
    h.send(A, R"({"action":"update","roomId":"r","state":{"hand":true}})");
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].to, B);
    EXPECT_EQ(sent[0].action(), "peer-updated");
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

// A node cut off from the rooms answered C alone with texts the hub never handed: adopted in
// their place, they keep C's count the hub's, so that C resumes exactly.
class HubAdoptsTextsSentAlone : public ::testing::Test
{
protected:
    HubAdoptsTextsSentAlone() : h(test::resume_limits(), {A, B, C, D})
    {
        for (const ClientId& id : {A, B, C}) {
            h.connect();
            h.send(id, R"({"action":"join","roomId":"r"})");
        }
        h.take();
    }

    // The token of id's latest joined or resumed among what was sent since the last take().
    std::string token_of(const ClientId& id)
    {
        std::string token;
        for (const auto& message : h.transport.to(id))
            if (message.action() == "joined" || message.action() == "resumed")
                token = message.field("resumeToken");
        return token;
    }

    test::QuietLogs quiet;
    test::HubHarness h;
};

TEST_F(HubAdoptsTextsSentAlone, ATextAdoptedInItsPlaceIsReplayedThereAfterAResume)
{
    // D's client got its joined (text 1 on the connection), then the cut-off node's error, then
    // A's signal, which the hub handed second.
    h.connect();
    h.send(D, R"({"action":"join","roomId":"r"})");
    h.send(A, signal_to(D));
    const std::string token = token_of(D);
    const std::string signal = h.transport.to(D).back().text;
    ASSERT_EQ(h.transport.to(D).back().action(), "signal");
    const std::string lone = R"({"action":"error","code":"unavailable","message":"x"})";
    ASSERT_TRUE(h.hub.adopt_sent(D, 1, make_text(lone)));

    h.disconnect(D, ConnectionEnd::lost);
    h.take();
    const ClientId again = h.connect();
    // The client has the first of its two texts: the replay is the signal, not the error.
    h.send(again, R"({"action":"resume","token":")" + token + R"(","received":1})");
    const auto sent = h.transport.to(D); // the others hear peer-resumed
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].action(), "resumed");
    EXPECT_FALSE(sent[0].json().contains("gap"));
    EXPECT_EQ(sent[1].text, signal);
}

TEST_F(HubAdoptsTextsSentAlone, ACountTheHubNeverReachedOrASuspendedClientIsRefused)
{
    EXPECT_FALSE(h.hub.adopt_sent(C, 2, make_text("{}"))); // the hub handed C one text
    h.disconnect(C, ConnectionEnd::lost);
    EXPECT_FALSE(h.hub.adopt_sent(C, 1, make_text("{}")));
    EXPECT_FALSE(h.hub.adopt_sent("zzzzzzzzz9", 0, make_text("{}")));
}

TEST_F(HubAdoptsTextsSentAlone, ATextBeforeTheJoinedIsCountedButNotNumbered)
{
    h.connect();
    // The cut-off node refused D's first join (text 1); the hub handled its second one.
    ASSERT_TRUE(h.hub.adopt_sent(D, 0, make_text("{}")));
    h.send(D, R"({"action":"join","roomId":"r"})");
    h.send(A, signal_to(D));
    const std::string token = token_of(D);
    // D's client acknowledges 2 texts on its connection: the error and joined, not the signal.
    // Had the hub not counted the error, it would let the signal go unreceived.
    h.hub.acknowledge(D, 2);
    h.disconnect(D, ConnectionEnd::lost);
    h.take();
    const ClientId again = h.connect();
    h.send(again, R"({"action":"resume","token":")" + token + R"(","received":0})");
    const auto sent = h.transport.to(D);
    ASSERT_EQ(sent.size(), 2u); // resumed, and the signal, still held
    EXPECT_EQ(sent[1].action(), "signal");
}

} // namespace hub_cut_off_test
} // namespace signald
