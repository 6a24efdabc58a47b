// Hub with a JoinCheck (--auth-secret-file): the check runs between steps 6 and 7 of
// docs/protocol.md 7.1, sees the join's token (nullopt when it carried none) and room, refuses
// with `unauthorized` and its message, and what it grants (the name, "" for none) wins over the
// join's.

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signald {
namespace hub_join_check_test {

struct Seen
{
    std::optional<std::string> token;
    std::string room;
};

// Admits the token "good" (naming its member "Granted" when the room is "named"); refuses
// anything else, saying what it saw.
JoinCheck recording_check(std::vector<Seen>& seen)
{
    return [&seen](const std::optional<std::string>& token,
                   std::string_view room) -> std::variant<JoinPass, JoinRefusal> {
        seen.push_back(Seen{token, std::string(room)});
        if (token != "good")
            return JoinRefusal{"token refused (signature): no"};
        JoinPass pass;
        if (room == "named")
            pass.name = "Granted";
        if (room == "nameless")
            pass.name = "";
        return pass;
    };
}

class HubJoinCheck : public ::testing::Test
{
protected:
    HubJoinCheck() : h(test::resume_limits(), {}, {}, recording_check(seen)) {}

    test::SentMessage reply(const ClientId& id, const std::string& text)
    {
        return h.reply(id, text);
    }

    test::QuietLogs quiet;
    std::vector<Seen> seen;
    test::HubHarness h;
};

TEST_F(HubJoinCheck, ARefusalIsUnauthorizedWithTheChecksMessageAndChangesNothing)
{
    const ClientId a = h.connect();
    const auto refused = reply(a, R"({"action":"join","roomId":"r","token":"bad"})");
    EXPECT_EQ(refused.code(), "unauthorized");
    EXPECT_EQ(refused.field("request"), "join");
    EXPECT_EQ(refused.field("message"), "token refused (signature): no");
    EXPECT_EQ(h.hub.room_of(a), std::nullopt);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].token, "bad");
    EXPECT_EQ(seen[0].room, "r");
    // No token at all: the check sees nullopt.
    reply(a, R"({"action":"join","roomId":"r"})");
    EXPECT_EQ(seen.back().token, std::nullopt);
}

TEST_F(HubJoinCheck, ItRunsAfterStepSixAndBeforeStepSeven)
{
    const ClientId a = h.connect();
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"r","token":7})").code(), "bad-message");
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"","token":"good"})").code(), "bad-room-id");
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"r","name":"a\nb","token":"good"})").code(),
              "bad-name");
    const std::string big_state = R"({"note":")" + std::string(1100, 'x') + R"("})";
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"r","token":"bad","state":)" + big_state + "}")
                  .code(),
              "bad-state");
    EXPECT_TRUE(seen.empty());
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"r","token":"good"})").action(), "joined");
    // In the room already: unauthorized comes before already-joined.
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"r","token":"bad"})").code(), "unauthorized");
    EXPECT_EQ(reply(a, R"({"action":"join","roomId":"r","token":"good"})").code(),
              "already-joined");
}

TEST_F(HubJoinCheck, TheGrantedNameWinsOverTheJoins)
{
    const ClientId a = h.connect();
    const auto joined =
        reply(a, R"({"action":"join","roomId":"named","name":"Mine","token":"good"})");
    ASSERT_EQ(joined.action(), "joined");
    const ClientId b = h.connect();
    const auto second = reply(b, R"({"action":"join","roomId":"named","token":"good"})");
    EXPECT_EQ(second.json()["peers"][0]["name"], "Granted");
}

TEST_F(HubJoinCheck, AGrantedEmptyNameLeavesTheMemberNameless)
{
    const ClientId a = h.connect();
    ASSERT_EQ(
        reply(a, R"({"action":"join","roomId":"nameless","name":"Mine","token":"good"})").action(),
        "joined");
    const ClientId b = h.connect();
    const auto second = reply(b, R"({"action":"join","roomId":"nameless","token":"good"})");
    ASSERT_EQ(second.action(), "joined");
    EXPECT_FALSE(second.json()["peers"][0].contains("name")) << second.json().dump();
}

TEST(HubWithoutJoinCheck, ATokenIsNotEvenRead)
{
    test::QuietLogs quiet;
    test::HubHarness h;
    const ClientId a = h.connect();
    h.send(a, R"({"action":"join","roomId":"r","token":7})");
    EXPECT_EQ(h.take().at(0).action(), "joined");
}

} // namespace hub_join_check_test
} // namespace signald
