// Moderation against the real binary (docs/protocol.md 7.4): a moderator's token lets its member
// kick (left and peer-left with reason "kicked", then `banned` for --kick-ban seconds, even once
// the room is empty) and lock (room-locked to every member; joined says locked; only moderator
// tokens get in). Everyone else is forbidden, and without --auth-secret-file neither action
// exists.

#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "test_jwt.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <thread>

namespace signald::test {
namespace {

using json = nlohmann::json;

const std::string secret = "moderation-test-secret-0123456789abcdef";

// A token for room; moderator when asked, with sub when given.
std::string token(const std::string& room, bool moderator = false,
                  std::optional<std::string> sub = {})
{
    json payload = claims(room);
    if (moderator)
        payload["role"] = "moderator";
    if (sub)
        payload["sub"] = *sub;
    return make_token(payload, secret);
}

json kick(const std::string& room, const std::string& id)
{
    return json{{"action", "kick"}, {"roomId", room}, {"clientId", id}};
}

json lock(const std::string& room, bool locked)
{
    return json{{"action", "lock"}, {"roomId", room}, {"locked", locked}};
}

class Moderation : public SignaldFixture
{
protected:
    void start(std::vector<std::string> extra = {})
    {
        const auto file = web_root_.write("secrets", secret + "\n");
        extra.insert(extra.begin(), {"--auth-secret-file", file.string()});
        start_server(extra);
    }

    // A connection joined to room with token; returns it and its clientId.
    std::pair<std::unique_ptr<WsClient>, std::string> member(const std::string& room,
                                                             const std::string& with)
    {
        auto client = connect();
        client->send_json(join_with(room, with));
        const auto joined = client->next_json();
        EXPECT_EQ(joined["action"], "joined") << joined;
        return {std::move(client), joined.value("clientId", "")};
    }

    double errors(const std::string& code)
    {
        return metric(server_->port(), "signald_protocol_errors_total{code=\"" + code + "\"}")
            .value_or(-1);
    }
};

TEST_F(Moderation, AKickRemovesTheMemberTellsEveryoneAndBansItUntilKickBanEnds)
{
    start({"--kick-ban", "2"});
    auto [mod, mod_id] = member("r", token("r", true, "mod"));
    auto [a, a_id] = member("r", token("*", false, "alice"));
    auto [b, b_id] = member("r", token("r", false, "bob"));
    mod->next_json(); // peer-joined a
    mod->next_json(); // peer-joined b
    a->next_json();   // peer-joined b

    mod->send_json(kick("r", a_id));
    EXPECT_EQ(a->next_json(), (json{{"action", "left"}, {"roomId", "r"}, {"reason", "kicked"}}));
    const json peer_left{
        {"action", "peer-left"}, {"roomId", "r"}, {"clientId", a_id}, {"reason", "kicked"}};
    EXPECT_EQ(b->next_json(), peer_left);
    EXPECT_EQ(mod->next_json(), peer_left);

    // Everyone leaves: the room is gone, the ban is not. Another token with a's sub is refused.
    mod->send_json(json{{"action", "leave"}, {"roomId", "r"}});
    EXPECT_EQ(mod->next_json()["action"], "left");
    EXPECT_EQ(b->next_json()["clientId"], mod_id); // its peer-left
    b->send_json(json{{"action", "leave"}, {"roomId", "r"}});
    EXPECT_EQ(b->next_json()["action"], "left");
    a->send_json(join_with("r", token("r", false, "alice")));
    const auto banned = a->next_json();
    EXPECT_EQ(banned["code"], "banned");
    EXPECT_EQ(banned["request"], "join");
    // Its connection stays open: another room takes it.
    a->send_json(join_with("elsewhere", token("*", false, "alice")));
    EXPECT_EQ(a->next_json()["action"], "joined");
    EXPECT_EQ(errors("banned"), 1);

    // After --kick-ban, r takes it again (bounded: 5 s for a 2 s ban).
    bool joined = false;
    for (int attempt = 0; attempt < 25 && !joined; ++attempt) {
        std::this_thread::sleep_for(200ms);
        a->send_json(join_with("r", token("r", false, "alice")));
        auto reply = a->next_json();
        if (reply["action"] == "left") // it leaves "elsewhere" first
            reply = a->next_json();
        joined = reply["action"] == "joined";
        if (!joined) {
            ASSERT_EQ(reply["code"], "banned") << reply;
        }
    }
    EXPECT_TRUE(joined);
}

TEST_F(Moderation, WithoutASubTheKickBansTheTokenItself)
{
    start();
    auto [mod, mod_id] = member("r", token("r", true));
    const std::string first = token("r");
    auto [a, a_id] = member("r", first);
    mod->next_json();
    mod->send_json(kick("r", a_id));
    EXPECT_EQ(a->next_json()["reason"], "kicked");
    a->send_json(join_with("r", first));
    EXPECT_EQ(a->next_json()["code"], "banned");
    // A new invite is a new token: it gets in.
    a->send_json(
        join_with("r", make_token(json{{"room", "r"}, {"exp", unix_now() + 601}}, secret)));
    EXPECT_EQ(a->next_json()["action"], "joined");
}

TEST_F(Moderation, ALockedRoomLetsOnlyModeratorsIn)
{
    start();
    auto [mod, mod_id] = member("r", token("r", true));
    auto [a, a_id] = member("r", token("r"));
    mod->next_json();

    mod->send_json(lock("r", true));
    const json locked{{"action", "room-locked"}, {"roomId", "r"}, {"locked", true}};
    EXPECT_EQ(mod->next_json(), locked);
    EXPECT_EQ(a->next_json(), locked);

    auto late = connect();
    late->send_json(join_with("r", token("r")));
    const auto refused = late->next_json();
    EXPECT_EQ(refused["code"], "room-locked");
    EXPECT_EQ(refused["request"], "join");
    late->send_json(join_with("r", token("r", true)));
    const auto joined = late->next_json();
    EXPECT_EQ(joined["action"], "joined");
    EXPECT_EQ(joined["locked"], true);
    EXPECT_EQ(mod->next_json()["action"], "peer-joined");
    EXPECT_EQ(a->next_json()["action"], "peer-joined");

    mod->send_json(lock("r", false));
    EXPECT_EQ(a->next_json()["locked"], false);
    auto later = connect();
    later->send_json(join_with("r", token("r")));
    const auto open = later->next_json();
    EXPECT_EQ(open["action"], "joined");
    EXPECT_FALSE(open.contains("locked"));
    EXPECT_EQ(errors("room-locked"), 1);
}

TEST_F(Moderation, MembersWithoutTheRoleAreForbidden)
{
    start();
    auto [mod, mod_id] = member("r", token("r", true));
    auto [a, a_id] = member("r", token("r"));
    for (const json& request : {kick("r", mod_id), lock("r", true)}) {
        a->send_json(request);
        const auto refused = a->next_json();
        EXPECT_EQ(refused["code"], "forbidden") << request;
        EXPECT_EQ(refused["request"], request["action"]);
    }
    // Not in the room comes first; then an unknown member.
    auto outsider = connect();
    outsider->send_json(kick("r", a_id));
    EXPECT_EQ(outsider->next_json()["code"], "not-in-room");
    mod->next_json(); // peer-joined a
    mod->send_json(kick("r", "zzzzzzzzzz"));
    EXPECT_EQ(mod->next_json()["code"], "unknown-peer");
    EXPECT_EQ(errors("forbidden"), 2);
}

TEST_F(Moderation, MalformedKicksAndLocksAreBadMessages)
{
    start();
    auto [mod, mod_id] = member("r", token("r", true));
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"action":"kick","roomId":"r"})", "bad-message"},
        {R"({"action":"kick","roomId":"r","clientId":7})", "bad-message"},
        {R"({"action":"kick","roomId":"","clientId":"x"})", "bad-room-id"},
        {R"({"action":"lock","roomId":"r"})", "bad-message"},
        {R"({"action":"lock","roomId":"r","locked":"yes"})", "bad-message"},
        {R"({"action":"lock","roomId":"r","locked":null})", "bad-message"},
        {R"({"action":"lock","roomId":5,"locked":true})", "bad-message"},
    };
    for (const auto& [text, code] : cases) {
        mod->send_text(text);
        EXPECT_EQ(mod->next_json()["code"], code) << text;
    }
}

class ModerationOff : public SignaldFixture
{};

TEST_F(ModerationOff, WithoutSecretsKickAndLockAreUnknownActions)
{
    start_server();
    auto client = connect();
    client->send_json(json{{"action", "join"}, {"roomId", "r"}});
    const auto joined = client->next_json();
    for (const json& request : {kick("r", joined["clientId"]), lock("r", true)}) {
        client->send_json(request);
        const auto refused = client->next_json();
        EXPECT_EQ(refused["code"], "unknown-action") << request;
        EXPECT_EQ(refused["message"],
                  "action must be join, leave, signal, update, report or resume");
    }
}

} // namespace
} // namespace signald::test
