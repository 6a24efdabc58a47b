// A member's state against the real binary (docs/protocol.md 5.7, 6.11): update relays it byte
// for byte to every other member as peer-updated, and never back; each update replaces the last;
// joined.peers and peer-joined.peer carry each member's latest; it belongs to the membership;
// its errors come in the order of section 7.1; a suspended member's state stays and what it
// missed is replayed.

#include "signald_fixture.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <string>

namespace signald::test {
namespace {

using json = nlohmann::json;

std::string update(const std::string& room, const std::string& state_text)
{
    return R"({"action":"update","roomId":")" + room + R"(","state":)" + state_text + "}";
}

// A state object whose JSON text is exactly bytes long.
std::string state_of_size(std::size_t bytes)
{
    const std::string shell = R"({"s":""})";
    return R"({"s":")" + std::string(bytes - shell.size(), 'x') + R"("})";
}

class Update : public SignaldFixture
{
protected:
    void SetUp() override { start_server(); }
};

TEST_F(Update, EveryOtherMemberGetsTheStateByteForByteAndTheSenderNothing)
{
    auto a = connect();
    auto b = connect();
    auto c = connect();
    const std::string a_id = a->join("r");
    b->join("r");
    c->join("r");
    a->next_json(); // peer-joined b
    a->next_json(); // peer-joined c
    b->next_json(); // peer-joined c

    // Odd spacing and key order, a unicode escape and a big number: relayed exactly as sent.
    const std::string state = R"({ "muted" : true,"name":"\u00c9va" ,"n":1e400, "x":[1, 2] })";
    a->send_text(update("r", state));
    const std::string expected = R"({"action":"peer-updated","roomId":"r","clientId":")" + a_id +
                                 R"(","state":)" + state + "}";
    EXPECT_EQ(b->next_text(), expected);
    EXPECT_EQ(c->next_text(), expected);
    EXPECT_TRUE(a->expect_silence());
}

TEST_F(Update, JoinedAndPeerJoinedCarryEachMembersLatestState)
{
    auto a = connect();
    auto b = connect();
    const std::string a_id = a->join("r");
    const std::string b_id = b->join("r");
    a->next_json();
    a->send_text(update("r", R"({"muted":true})"));
    a->send_text(update("r", R"({"muted":false,"hand":true})")); // replaces the whole state
    b->send_text(update("r", "{}"));                             // {} is a state too
    EXPECT_EQ(b->next_json()["state"], (json{{"muted", true}}));
    EXPECT_EQ(b->next_json()["state"], (json{{"muted", false}, {"hand", true}}));
    EXPECT_EQ(a->next_json()["state"], json::object());

    // A newcomer with an initial state: it sees both, and both see its.
    auto c = connect();
    c->send_text(R"({"action":"join","roomId":"r","name":"Cy","state":{"video":false}})");
    const auto joined = c->next_json();
    ASSERT_EQ(joined["action"], "joined");
    ASSERT_EQ(joined["peers"].size(), 2u);
    EXPECT_EQ(joined["peers"][0]["clientId"], a_id);
    EXPECT_EQ(joined["peers"][0]["state"], (json{{"muted", false}, {"hand", true}}));
    EXPECT_EQ(joined["peers"][1]["clientId"], b_id);
    EXPECT_EQ(joined["peers"][1]["state"], json::object());
    for (auto* member : {a.get(), b.get()}) {
        const auto peer_joined = member->next_json();
        EXPECT_EQ(peer_joined["peer"]["name"], "Cy");
        EXPECT_EQ(peer_joined["peer"]["state"], (json{{"video", false}}));
    }
    // A member without a state has no `state` at all.
    auto d = connect();
    d->join("r");
    const auto peer_joined = a->next_json();
    ASSERT_EQ(peer_joined["action"], "peer-joined");
    EXPECT_FALSE(peer_joined["peer"].contains("state"));
}

TEST_F(Update, AStateBelongsToItsMembership)
{
    auto a = connect();
    auto b = connect();
    a->join("r");
    b->join("r");
    a->next_json();
    a->send_text(update("r", R"({"hand":true})"));
    b->next_json();
    // a moves to another room and back: its state stayed behind with the membership.
    a->send_text(R"({"action":"join","roomId":"s"})");
    EXPECT_EQ(a->next_json()["action"], "left");
    EXPECT_EQ(a->next_json()["action"], "joined");
    b->next_json(); // peer-left
    a->send_text(R"({"action":"join","roomId":"r"})");
    a->next_json(); // left s
    a->next_json(); // joined r
    const auto back = b->next_json();
    ASSERT_EQ(back["action"], "peer-joined");
    EXPECT_FALSE(back["peer"].contains("state"));
}

TEST_F(Update, ErrorsComeInTheOrderOfSectionSeven)
{
    auto a = connect();
    const std::vector<std::pair<std::string, std::string>> outside{
        {R"({"action":"update","roomId":"r"})", "bad-message"},
        {R"({"action":"update","roomId":"r","state":null})", "bad-message"},
        {R"({"action":"update","roomId":"r","state":[]})", "bad-message"},
        {R"({"action":"update","roomId":"r","state":"muted"})", "bad-message"},
        // state before roomId at step 5; roomId before the size at step 6.
        {R"({"action":"update","roomId":5,"state":7})", "bad-message"},
        {R"({"action":"update","roomId":5,"state":{}})", "bad-message"},
        {update("", state_of_size(2000)), "bad-room-id"},
        {update("r", state_of_size(1025)), "bad-state"},
        {update("r", "{}"), "not-in-room"},
        {R"({"action":"join","roomId":"r","state":true})", "bad-message"},
        {R"({"action":"join","roomId":"","state":)" + state_of_size(1025) + "}", "bad-room-id"},
        {R"({"action":"join","roomId":"r","state":)" + state_of_size(1025) + "}", "bad-state"},
    };
    for (const auto& [text, code] : outside) {
        a->send_text(text);
        const auto error = a->next_json();
        EXPECT_EQ(error["code"], code) << text;
        if (text.find("update") != std::string::npos) {
            EXPECT_EQ(error["request"], "update") << text;
        }
    }
    // Exactly 1024 bytes is allowed, in join and in update.
    a->send_text(R"({"action":"join","roomId":"r","state":)" + state_of_size(1024) + "}");
    EXPECT_EQ(a->next_json()["action"], "joined");
    a->send_text(update("r", state_of_size(1024)));
    a->send_text(update("elsewhere", "{}"));
    EXPECT_EQ(a->next_json()["code"], "not-in-room"); // nothing came back for the first
}

TEST_F(Update, ASuspendedMembersStateStaysAndWhatItMissedIsReplayed)
{
    auto a = connect();
    auto b = connect();
    a->send_text(R"({"action":"join","roomId":"r","state":{"muted":true}})");
    const auto joined = a->next_json();
    const std::string a_id = joined["clientId"];
    const std::string token = joined["resumeToken"];
    b->join("r");
    a->next_json(); // peer-joined b: 1 message after joined

    a->drop(true);
    EXPECT_EQ(b->next_json()["action"], "peer-suspended");
    b->send_text(update("r", R"({"hand":true})"));
    // A newcomer meanwhile sees a, suspended, with its state.
    auto c = connect();
    c->send_text(R"({"action":"join","roomId":"r"})");
    const auto c_joined = c->next_json();
    EXPECT_EQ(c_joined["peers"][0]["suspended"], true);
    EXPECT_EQ(c_joined["peers"][0]["state"], (json{{"muted", true}}));

    auto back = connect();
    back->send_text(R"({"action":"resume","token":")" + token + R"(","received":1})");
    EXPECT_EQ(back->next_json()["action"], "resumed");
    // b's update and c's join were both sent before the resume. On one node they reach the room in
    // that order; in a cluster b and c sit on different nodes, so the room's owner may see them in
    // either order. Either way each is replayed exactly once.
    std::map<std::string, json> missed;
    for (int i = 0; i < 2; ++i) {
        const auto message = back->next_json();
        EXPECT_TRUE(missed.emplace(message["action"].get<std::string>(), message).second)
            << message;
    }
    ASSERT_EQ(missed.count("peer-updated"), 1U);
    EXPECT_EQ(missed["peer-updated"]["state"], (json{{"hand", true}}));
    EXPECT_EQ(missed.count("peer-joined"), 1U); // c
    EXPECT_TRUE(back->expect_silence());
    EXPECT_NE(a_id, "");
}

} // namespace
} // namespace signald::test
