// Hub::export_state and import_state: a second hub given the first one's state goes on exactly
// where it stopped: the same rooms in the same order, room-full counting them, tokens that resume
// with the same numbering and the same held messages, grace periods that still end.

#include "fake_transport.hpp"
#include "fixed_ids.hpp"
#include "hub_harness.hpp"
#include "manual_clock.hpp"

#include "signald/core/hub.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace signald::test {
namespace hub_state_test {

using nlohmann::json;

struct Node
{
    explicit Node(HubLimits limits) : hub(transport, ids, limits, clock.clock()) {}
    FakeTransport transport;
    FixedIds ids;
    ManualClock clock;
    Hub hub;
};

std::string join(Hub& hub, const std::string& room, const std::string& name)
{
    const ClientId id = hub.connect();
    hub.on_text(id, R"({"action":"join","roomId":")" + room + R"(","name":")" + name + "\"}");
    return id;
}

std::string token_of(FakeTransport& transport, const ClientId& id)
{
    for (const SentMessage& message : transport.to(id))
        if (message.action() == "joined" || message.action() == "resumed")
            return message.field("resumeToken");
    return {};
}

TEST(HubState, ASecondHubGoesOnWithTheSameRoomsTokensAndHeldMessages)
{
    QuietLogs quiet;
    const HubLimits limits = resume_limits(std::chrono::seconds{30}, 1 << 20, 3);
    Node first(limits);
    const ClientId ann = join(first.hub, "standup", "Ann");
    const ClientId bob = join(first.hub, "standup", "Bob");
    const std::string bob_token = token_of(first.transport, bob);
    first.hub.disconnect(bob, ConnectionEnd::lost); // suspended
    first.hub.on_text(ann, R"({"action":"signal","roomId":"standup","type":"offer","to":")" + bob +
                               R"(","data":"held"})");
    ASSERT_TRUE(first.hub.is_suspended(bob));
    const std::string state = first.hub.export_state();

    Node second(limits);
    ASSERT_TRUE(second.hub.import_state(state));
    EXPECT_EQ(second.hub.room_of(ann), "standup");
    EXPECT_TRUE(second.hub.is_suspended(bob));
    EXPECT_EQ(second.hub.suspended_count(), 1u);
    ASSERT_EQ(second.hub.rooms().members("standup").size(), 2u);
    EXPECT_EQ(second.hub.rooms().members("standup")[0].client_id, ann);
    EXPECT_EQ(second.hub.rooms().members("standup")[1].name(), "Bob");

    // Bob resumes on the second hub and gets the held offer: exactly what he missed.
    const ClientId fresh = second.hub.connect();
    second.hub.on_text(fresh, R"({"action":"resume","token":")" + bob_token + R"(","received":0})");
    const auto to_bob = second.transport.to(bob);
    ASSERT_GE(to_bob.size(), 2u);
    EXPECT_EQ(to_bob[0].action(), "resumed");
    EXPECT_EQ(to_bob[1].field("data"), "held");
    EXPECT_EQ(second.transport.to(ann).back().action(), "peer-resumed");

    // Room full counts the imported members (3, with a third joining).
    const ClientId cy = join(second.hub, "standup", "Cy");
    EXPECT_EQ(second.transport.to(cy).back().action(), "joined");
    const ClientId dan = join(second.hub, "standup", "Dan");
    EXPECT_EQ(second.transport.to(dan).back().code(), "room-full");
}

TEST(HubState, AnImportedGracePeriodStillEnds)
{
    QuietLogs quiet;
    const HubLimits limits = resume_limits(std::chrono::seconds{10});
    Node first(limits);
    const ClientId ann = join(first.hub, "r", "Ann");
    const ClientId bob = join(first.hub, "r", "Bob");
    first.hub.disconnect(bob, ConnectionEnd::lost);
    first.clock.advance(std::chrono::seconds{6});
    Node second(limits);
    ASSERT_TRUE(second.hub.import_state(first.hub.export_state()));
    second.clock.advance(std::chrono::seconds{3});
    second.hub.tick();
    EXPECT_TRUE(second.hub.is_suspended(bob)); // 9 s of 10
    second.clock.advance(std::chrono::seconds{2});
    second.hub.tick();
    EXPECT_FALSE(second.hub.room_of(bob).has_value());
    EXPECT_EQ(second.transport.to(ann).back().action(), "peer-left");
}

TEST(HubState, NumberingGoesOnSoAResumeAfterTheMoveCountsFromTheSameJoined)
{
    QuietLogs quiet;
    const HubLimits limits = resume_limits();
    Node first(limits);
    const ClientId ann = join(first.hub, "r", "Ann");
    const ClientId bob = join(first.hub, "r", "Bob");
    const std::string bob_token = token_of(first.transport, bob);
    for (int i = 0; i < 3; ++i)
        first.hub.on_text(ann, R"({"action":"signal","roomId":"r","type":"offer","data":)" +
                                   std::to_string(i) + "}");
    Node second(limits);
    ASSERT_TRUE(second.hub.import_state(first.hub.export_state()));
    second.hub.on_text(ann, R"({"action":"signal","roomId":"r","type":"offer","data":3})");
    // Bob had read two of the four; his connection is lost and he resumes.
    second.hub.disconnect(bob, ConnectionEnd::lost);
    second.transport.take();
    const ClientId fresh = second.hub.connect();
    second.hub.on_text(fresh, R"({"action":"resume","token":")" + bob_token + R"(","received":2})");
    const auto to_bob = second.transport.to(bob);
    ASSERT_EQ(to_bob.size(), 3u);
    EXPECT_EQ(to_bob[0].action(), "resumed");
    EXPECT_EQ(json::parse(to_bob[1].text)["data"], 2);
    EXPECT_EQ(json::parse(to_bob[2].text)["data"], 3);
}

TEST(HubState, NotAStateChangesNothing)
{
    QuietLogs quiet;
    Node node(resume_limits());
    const ClientId ann = join(node.hub, "r", "Ann");
    EXPECT_FALSE(node.hub.import_state("{"));
    EXPECT_FALSE(node.hub.import_state(R"({"version":1,"rooms":{},"clients":[{"id":"x"}]})"));
    EXPECT_FALSE(node.hub.import_state(R"({"version":2})"));
    EXPECT_EQ(node.hub.client_ids().size(), 1u);
    EXPECT_EQ(node.hub.room_of(ann), "r");
}

TEST(HubState, AfterACrashEveryMemberIsSuspendedAndResumesWithAGapAndTheRoomAsItIs)
{
    QuietLogs quiet;
    const HubLimits limits = resume_limits(std::chrono::seconds{10});
    Node first(limits);
    const ClientId ann = join(first.hub, "r", "Ann");
    const ClientId bob = join(first.hub, "r", "Bob");
    first.hub.on_text(bob, R"({"action":"update","roomId":"r","state":{"muted":true}})");
    const std::string ann_token = token_of(first.transport, ann);
    const ClientId idle = first.hub.connect(); // in no room: gone with the crash
    const std::string saved = first.hub.export_state(false);
    EXPECT_EQ(saved.find("peer-joined"), std::string::npos) << "no held messages in it";

    Node second(limits);
    ASSERT_TRUE(second.hub.import_state(saved, Hub::Restore::after_crash));
    EXPECT_TRUE(second.hub.is_suspended(ann));
    EXPECT_TRUE(second.hub.is_suspended(bob));
    EXPECT_EQ(second.hub.client_ids().size(), 2u);
    EXPECT_FALSE(second.hub.room_of(idle).has_value());
    EXPECT_TRUE(second.transport.sent.empty()) << "nobody is told anything until it resumes";

    // Ann's client got a message the save did not know of; she resumes all the same.
    const ClientId fresh = second.hub.connect();
    second.hub.on_text(fresh, R"({"action":"resume","token":")" + ann_token + R"(","received":5})");
    const auto to_ann = second.transport.to(ann);
    ASSERT_EQ(to_ann.size(), 1u);
    const json resumed = json::parse(to_ann[0].text);
    EXPECT_EQ(resumed["action"], "resumed");
    EXPECT_EQ(resumed["gap"], true);
    // Bob's state came through the crash with the room, though his update's message did not.
    EXPECT_EQ(saved.find("peer-updated"), std::string::npos);
    EXPECT_EQ(resumed["peers"], json::parse(R"([{"clientId":")" + bob +
                                            R"(","suspended":true,"name":"Bob",)"
                                            R"("state":{"muted":true}}])"));
    // Bob never comes back: one peer-left when his fresh grace period ends.
    second.clock.advance(std::chrono::seconds{11});
    second.hub.tick();
    EXPECT_EQ(second.transport.to(ann).back().action(), "peer-left");
}

TEST(HubState, AfterACrashWithResumeOffNothingComesBack)
{
    QuietLogs quiet;
    Node first(HubLimits{});
    join(first.hub, "r", "Ann");
    Node second(HubLimits{});
    ASSERT_TRUE(second.hub.import_state(first.hub.export_state(false), Hub::Restore::after_crash));
    EXPECT_TRUE(second.hub.client_ids().empty());
    EXPECT_EQ(second.hub.rooms().room_count(), 0u);
}

// A member restored after a crash whose client has not resumed yet is handed over again (its new
// leader stops): its resume must still succeed with a gap on the third hub. The client may have
// got messages from the crashed leader that the save never knew of (received > handed).
TEST(HubState, ARestoredMemberHandedOverAgainStillResumesWithAGap)
{
    QuietLogs quiet;
    const HubLimits limits = resume_limits(std::chrono::seconds{10});
    Node first(limits);
    const ClientId ann = join(first.hub, "r", "Ann");
    join(first.hub, "r", "Bob");
    const std::string ann_token = token_of(first.transport, ann);
    const std::string saved = first.hub.export_state(false);

    Node second(limits);
    ASSERT_TRUE(second.hub.import_state(saved, Hub::Restore::after_crash));
    Node third(limits);
    ASSERT_TRUE(third.hub.import_state(second.hub.export_state(), Hub::Restore::exact));

    const ClientId fresh = third.hub.connect();
    third.hub.on_text(fresh, R"({"action":"resume","token":")" + ann_token + R"(","received":5})");
    const auto to_ann = third.transport.to(ann);
    ASSERT_EQ(to_ann.size(), 1u) << third.transport.to(fresh).size();
    const json resumed = json::parse(to_ann[0].text);
    EXPECT_EQ(resumed["action"], "resumed");
    EXPECT_EQ(resumed["gap"], true);
}

// Likewise a client its edge answered alone (allow_gap): the permission survives a hand-over.
TEST(HubState, AnAllowedGapSurvivesAHandOver)
{
    QuietLogs quiet;
    const HubLimits limits = resume_limits(std::chrono::seconds{10});
    Node first(limits);
    const ClientId ann = join(first.hub, "r", "Ann");
    join(first.hub, "r", "Bob");
    const std::string ann_token = token_of(first.transport, ann);
    first.hub.allow_gap(ann);
    first.hub.disconnect(ann, ConnectionEnd::lost);

    Node second(limits);
    ASSERT_TRUE(second.hub.import_state(first.hub.export_state(), Hub::Restore::exact));
    const ClientId fresh = second.hub.connect();
    second.hub.on_text(fresh, R"({"action":"resume","token":")" + ann_token + R"(","received":7})");
    const auto to_ann = second.transport.to(ann);
    ASSERT_EQ(to_ann.size(), 1u);
    EXPECT_EQ(json::parse(to_ann[0].text)["gap"], true);
}

} // namespace hub_state_test
} // namespace signald::test
