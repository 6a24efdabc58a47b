// Moderation (docs/protocol.md 7.4): with a JoinCheck, a moderator kicks (the member hears left
// with reason "kicked", the others peer-left with it, and its ban key may not join that room
// again for HubLimits::kick_ban) and locks (room-locked to every member; then only moderators
// join). Everyone else is forbidden; the join refusals come in the order unauthorized, banned,
// room-locked, then step 7.

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace signald {
namespace hub_moderation_test {

using namespace std::chrono_literals;

// Tokens of the form "mod:SUB" or "member:SUB" admit a moderator or a member whose ban key is
// SUB; "anon:X" a member without sub (ban key "token:X"); anything else is refused.
JoinCheck scripted_check()
{
    return [](const std::optional<std::string>& token,
              std::string_view) -> std::variant<JoinPass, JoinRefusal> {
        const std::string text = token.value_or("");
        JoinPass pass;
        if (text.starts_with("mod:")) {
            pass.moderator = true;
            pass.sub = text.substr(4);
            pass.ban_key = "sub:" + *pass.sub;
        } else if (text.starts_with("member:")) {
            pass.sub = text.substr(7);
            pass.ban_key = "sub:" + *pass.sub;
        } else if (text.starts_with("anon:")) {
            pass.ban_key = "token:" + text.substr(5);
        } else {
            return JoinRefusal{"token refused (malformed): scripted"};
        }
        return pass;
    };
}

std::string join(const std::string& room, const std::string& token)
{
    return R"({"action":"join","roomId":")" + room + R"(","token":")" + token + R"("})";
}
std::string kick(const std::string& room, const std::string& id)
{
    return R"({"action":"kick","roomId":")" + room + R"(","clientId":")" + id + R"("})";
}
std::string lock(const std::string& room, bool locked)
{
    return R"({"action":"lock","roomId":")" + room + R"(","locked":)" +
           (locked ? "true" : "false") + "}";
}

class HubModeration : public ::testing::Test
{
protected:
    explicit HubModeration(HubLimits limits = test::resume_limits())
        : h(limits, {}, {}, scripted_check())
    {}

    // Connects a client and joins it to room with token; the joined must come.
    ClientId member(const std::string& room, const std::string& token)
    {
        const ClientId id = h.connect();
        h.send(id, join(room, token));
        EXPECT_EQ(h.take().at(0).action(), "joined") << token;
        return id;
    }

    test::SentMessage reply(const ClientId& id, const std::string& text)
    {
        return h.reply(id, text);
    }

    test::HubHarness h;
};

TEST_F(HubModeration, OnlyAModeratorInTheRoomMayKickOrLock)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = member("r", "member:a");
    const ClientId outsider = member("other", "mod:o");

    for (const std::string& text : {kick("r", mod), lock("r", true)}) {
        const auto refused = reply(a, text);
        EXPECT_EQ(refused.code(), "forbidden") << text;
        EXPECT_EQ(refused.field("request"),
                  text.find("kick") != std::string::npos ? "kick" : "lock");
        // A moderator of another room is not one here: outside the room is not-in-room first.
        EXPECT_EQ(reply(outsider, text).code(), "not-in-room") << text;
    }
    EXPECT_EQ(h.hub.room_of(mod), "r");
    EXPECT_FALSE(h.hub.rooms().locked("r"));
    h.expect_views_match_registry();
}

TEST_F(HubModeration, AKickedMemberHearsLeftTheOthersPeerLeftAndItsConnectionStays)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = member("r", "member:a");
    const ClientId b = member("r", "member:b");
    h.take();

    h.send(mod, kick("r", a));
    const auto to_a = h.transport.to(a);
    ASSERT_EQ(to_a.size(), 1u);
    EXPECT_EQ(to_a[0].text, R"({"action":"left","roomId":"r","reason":"kicked"})");
    for (const ClientId& other : {mod, b}) {
        const auto told = h.transport.to(other);
        ASSERT_EQ(told.size(), 1u) << other;
        EXPECT_EQ(told[0].text, R"({"action":"peer-left","roomId":"r","clientId":")" + a +
                                    R"(","reason":"kicked"})");
    }
    EXPECT_EQ(h.hub.room_of(a), std::nullopt);
    EXPECT_TRUE(h.view(a).kicked());
    h.expect_views_match_registry();

    // Still connected: it may go elsewhere.
    EXPECT_EQ(reply(a, join("elsewhere", "member:a")).action(), "joined");
    // An ordinary leave says no reason.
    h.take();
    h.send(b, R"({"action":"leave","roomId":"r"})");
    EXPECT_EQ(h.transport.to(mod).at(0).text,
              R"({"action":"peer-left","roomId":"r","clientId":")" + b + R"("})");
}

TEST_F(HubModeration, KickingNobodyOrItselfIsUnknownPeer)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId elsewhere = member("other", "member:e");
    EXPECT_EQ(reply(mod, kick("r", mod)).code(), "unknown-peer");
    EXPECT_EQ(reply(mod, kick("r", elsewhere)).code(), "unknown-peer");
    EXPECT_EQ(reply(mod, kick("r", "zzzzzzzzzz")).code(), "unknown-peer");
    EXPECT_EQ(h.hub.room_of(elsewhere), "other");
}

TEST_F(HubModeration, TheBanOutlivesTheRoomAndEndsAfterKickBan)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = member("r", "member:a");
    h.send(mod, kick("r", a));
    h.send(mod, R"({"action":"leave","roomId":"r"})");
    ASSERT_EQ(h.hub.rooms().room_count(), 0u);
    EXPECT_EQ(h.hub.ban_count(), 1u);

    // The room is gone, but the ban is not: any token with a's sub is refused, with the time left.
    const auto refused = reply(a, join("r", "member:a"));
    EXPECT_EQ(refused.code(), "banned");
    EXPECT_EQ(refused.field("request"), "join");
    EXPECT_NE(refused.field("message").find("300 s"), std::string::npos) << refused.text;
    const ClientId again = h.connect();
    EXPECT_EQ(reply(again, join("r", "mod:a")).code(), "banned"); // its sub, even as moderator
    // Another room, another sub: not banned.
    EXPECT_EQ(reply(a, join("r2", "member:a")).action(), "joined");
    EXPECT_EQ(reply(again, join("r", "member:b")).action(), "joined");

    h.clock.advance(299s);
    h.hub.tick();
    EXPECT_EQ(reply(a, join("r", "member:a")).code(), "banned");
    EXPECT_NE(h.transport.to(a).at(0).field("message").find(" 1 s"), std::string::npos);
    h.clock.advance(1s);
    h.hub.tick();
    EXPECT_EQ(h.hub.ban_count(), 0u);
    h.send(a, join("r", "member:a")); // left r2, then joined r
    EXPECT_EQ(h.hub.room_of(a), "r");
    h.expect_views_match_registry();
}

TEST_F(HubModeration, WithoutASubTheKickedTokenIsBannedAndOtherTokensAreNot)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = member("r", "anon:first");
    h.send(mod, kick("r", a));
    EXPECT_EQ(reply(a, join("r", "anon:first")).code(), "banned");
    EXPECT_EQ(reply(a, join("r", "anon:second")).action(), "joined");
}

TEST_F(HubModeration, KickingASuspendedMemberRemovesItAndItsTokenDies)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = h.connect();
    h.send(a, join("r", "member:a"));
    const std::string token = h.take().at(0).field("resumeToken");
    h.disconnect(a, ConnectionEnd::lost);
    ASSERT_TRUE(h.hub.is_suspended(a));
    h.take();

    h.send(mod, kick("r", a));
    EXPECT_EQ(h.transport.to(mod).at(0).text,
              R"({"action":"peer-left","roomId":"r","clientId":")" + a + R"(","reason":"kicked"})");
    EXPECT_EQ(h.hub.suspended_count(), 0u);
    const ClientId back = h.connect();
    EXPECT_EQ(reply(back, R"({"action":"resume","token":")" + token + R"(","received":0})").code(),
              "resume-failed");
    EXPECT_EQ(reply(back, join("r", "member:a")).code(), "banned");
}

TEST_F(HubModeration, ALockedRoomAdmitsOnlyModeratorsAndEveryMemberHearsOfIt)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = member("r", "member:a");
    h.take();

    h.send(mod, lock("r", true));
    for (const ClientId& id : {mod, a}) {
        const auto told = h.transport.to(id);
        ASSERT_EQ(told.size(), 1u) << id;
        EXPECT_EQ(told[0].text, R"({"action":"room-locked","roomId":"r","locked":true})");
        EXPECT_TRUE(h.view(id).locked());
    }
    const ClientId late = h.connect();
    const auto refused = reply(late, join("r", "member:l"));
    EXPECT_EQ(refused.code(), "room-locked");
    EXPECT_EQ(h.hub.room_of(late), std::nullopt);
    // A moderator comes in, and hears that the room is locked.
    const auto joined = reply(late, join("r", "mod:l2"));
    EXPECT_EQ(joined.action(), "joined");
    EXPECT_EQ(joined.json().value("locked", false), true);

    h.take();
    h.send(mod, lock("r", false));
    EXPECT_EQ(h.transport.to(a).at(0).text,
              R"({"action":"room-locked","roomId":"r","locked":false})");
    const ClientId later = h.connect();
    const auto open = reply(later, join("r", "member:x"));
    EXPECT_EQ(open.action(), "joined");
    EXPECT_FALSE(open.json().contains("locked"));
    h.expect_views_match_registry();
}

TEST_F(HubModeration, ALockEndsWithItsRoom)
{
    const ClientId mod = member("r", "mod:m");
    h.send(mod, lock("r", true));
    h.send(mod, R"({"action":"leave","roomId":"r"})");
    EXPECT_FALSE(h.hub.rooms().locked("r"));
    const ClientId a = h.connect();
    EXPECT_EQ(reply(a, join("r", "member:a")).action(), "joined");
}

TEST_F(HubModeration, JoinRefusalsComeInTheirOrder)
{
    const ClientId mod = member("r", "mod:m");
    const ClientId a = member("r", "member:a");
    h.send(mod, kick("r", a));
    h.send(mod, lock("r", true));

    // Banned and locked: unauthorized first, then banned, then room-locked.
    EXPECT_EQ(reply(a, join("r", "nonsense")).code(), "unauthorized");
    EXPECT_EQ(reply(a, join("r", "member:a")).code(), "banned");
    EXPECT_EQ(reply(a, join("r", "member:new")).code(), "room-locked");
    // A member already in a locked room, rejoining without a moderator token: room-locked comes
    // before already-joined.
    EXPECT_EQ(reply(mod, join("r", "member:m2")).code(), "room-locked");
    EXPECT_EQ(reply(mod, join("r", "mod:m")).code(), "already-joined");
}

TEST(HubModerationOrder, LockedBeatsFull)
{
    test::HubHarness small(test::resume_limits(30s, std::size_t{1024} * 1024, 1), {}, {},
                           scripted_check());
    const ClientId mod = small.connect();
    small.send(mod, join("r", "mod:m"));
    small.send(mod, lock("r", true));
    const ClientId a = small.connect();
    small.take();
    small.send(a, join("r", "member:a"));
    EXPECT_EQ(small.take().at(0).code(), "room-locked");
    small.send(a, join("r", "mod:a"));
    EXPECT_EQ(small.take().at(0).code(), "room-full");
}

TEST_F(HubModeration, AModeratorsRoleBelongsToItsMembership)
{
    const ClientId x = member("r", "mod:x");
    const ClientId a = member("r", "member:a");
    // x moves to another room with an ordinary token: it moderates nothing now, and in r it is
    // no member at all.
    h.send(x, join("s", "member:x"));
    h.send(x, join("r", "member:x"));
    EXPECT_EQ(reply(x, kick("r", a)).code(), "forbidden");
}

TEST(HubModerationBan, ZeroKickBanKicksWithoutBanning)
{
    HubLimits limits = test::resume_limits();
    limits.kick_ban = 0s;
    test::HubHarness h(limits, {}, {}, scripted_check());
    const ClientId mod = h.connect();
    const ClientId a = h.connect();
    h.send(mod, join("r", "mod:m"));
    h.send(a, join("r", "member:a"));
    h.send(mod, kick("r", a));
    EXPECT_EQ(h.hub.ban_count(), 0u);
    h.take();
    h.send(a, join("r", "member:a"));
    EXPECT_EQ(h.take().at(0).action(), "joined");
}

TEST(HubModerationState, AHandOverCarriesRolesLocksAndBans)
{
    test::HubHarness from(test::resume_limits(), {}, {}, scripted_check());
    const ClientId mod = from.connect();
    const ClientId a = from.connect();
    from.send(mod, join("r", "mod:m"));
    from.send(a, join("r", "member:a"));
    from.send(mod, kick("r", a));
    from.send(mod, lock("r", true));
    from.clock.advance(100s);

    // A bare hub: the harness would see messages to clients it did not connect.
    test::FakeTransport transport;
    test::FixedIds ids;
    test::ManualClock clock;
    Hub to(transport, ids, test::resume_limits(), clock.clock(), {}, scripted_check());
    ASSERT_TRUE(to.import_state(from.hub.export_state()));
    EXPECT_TRUE(to.rooms().locked("r"));
    EXPECT_EQ(to.ban_count(), 1u);
    // The imported member is still a moderator: it may unlock.
    to.on_text(mod, lock("r", false));
    EXPECT_FALSE(to.rooms().locked("r"));
    // The ban has 200 s left there.
    const ClientId b = to.connect();
    to.on_text(b, join("r", "member:a"));
    const auto refused = transport.to(b);
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].code(), "banned");
    EXPECT_NE(refused[0].field("message").find("200 s"), std::string::npos) << refused[0].text;
    clock.advance(200s);
    to.tick();
    EXPECT_EQ(to.ban_count(), 0u);
}

} // namespace hub_moderation_test
} // namespace signald
