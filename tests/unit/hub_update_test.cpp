// A member's state in the hub (docs/protocol.md 5.7): every other member hears each update once,
// the sender nothing; the registry keeps the latest, so joined and peer-joined carry it; it goes
// with the membership, stays while the member is suspended, and moves with a hand-over. The
// harness's views check every step against the registry, states included.

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace signald {
namespace hub_update_test {

std::string update(const std::string& room, const std::string& state)
{
    return R"({"action":"update","roomId":")" + room + R"(","state":)" + state + "}";
}

TEST(HubUpdate, TheOthersHearItOnceAndTheSenderNothing)
{
    test::HubHarness h;
    const auto ids = h.fill("r", 3);
    h.send(ids[0], update("r", R"({"muted":true})"));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 2u);
    for (const auto& message : sent) {
        EXPECT_NE(message.to, ids[0]);
        EXPECT_EQ(message.text, R"({"action":"peer-updated","roomId":"r","clientId":")" + ids[0] +
                                    R"(","state":{"muted":true}})");
    }
    EXPECT_EQ(h.hub.rooms().find("r", ids[0])->state(), R"({"muted":true})");
    h.expect_views_match_registry();
}

TEST(HubUpdate, TheLatestStateReachesNewcomersAndLeavesWithItsMembership)
{
    test::HubHarness h;
    const auto ids = h.fill("r", 2);
    h.send(ids[0], update("r", R"({"hand":true})"));
    h.send(ids[0], update("r", "{}"));
    const ClientId late = h.connect();
    h.send(late, R"({"action":"join","roomId":"r","state":{"video":false}})");
    h.expect_views_match_registry();
    const auto joined = h.transport.to(late).at(0);
    EXPECT_EQ(joined.json()["peers"][0]["state"], nlohmann::json::object());
    EXPECT_FALSE(joined.json()["peers"][1].contains("state"));

    // A move to another room and back: the state stayed with the old membership.
    h.send(ids[0], R"({"action":"join","roomId":"s"})");
    h.send(ids[0], R"({"action":"join","roomId":"r"})");
    EXPECT_EQ(h.hub.rooms().find("r", ids[0])->state(), std::nullopt);
    h.expect_views_match_registry();
}

TEST(HubUpdate, ASuspendedMemberKeepsItsStateAndGetsWhatItMissed)
{
    test::HubHarness h(test::resume_limits());
    const auto ids = h.fill("r", 2);
    h.send(ids[0], update("r", R"({"muted":true})"));
    h.disconnect(ids[0], ConnectionEnd::lost);
    ASSERT_TRUE(h.hub.is_suspended(ids[0]));
    h.send(ids[1], update("r", R"({"sharing":true})"));
    EXPECT_EQ(h.hub.rooms().find("r", ids[0])->state(), R"({"muted":true})");
    // Held for its resume, not sent.
    EXPECT_TRUE(h.transport.to(ids[0]).empty());

    // And a hand-over carries every state.
    test::FakeTransport transport;
    test::FixedIds fixed;
    Hub copy(transport, fixed, test::resume_limits());
    ASSERT_TRUE(copy.import_state(h.hub.export_state()));
    EXPECT_EQ(copy.rooms().find("r", ids[0])->state(), R"({"muted":true})");
    EXPECT_EQ(copy.rooms().find("r", ids[1])->state(), R"({"sharing":true})");
}

} // namespace hub_update_test
} // namespace signald
