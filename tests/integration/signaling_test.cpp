// Protocol v1 over the wire against the real binary, over ws:// and over wss:// (a test CA the
// clients verify against): rooms, room switches, targeting, `from` overwriting, byte-for-byte
// `data`, and every error code.

#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "test_certs.hpp"
#include "tls_client.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <regex>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

// The protocol is the same over ws:// and wss://: every test here runs over both. Each transport
// says how to start the server and how to make a client for it.
struct OverWs
{
    std::vector<std::string> server_args() const { return {}; }
    std::unique_ptr<WsClient> client() const { return std::make_unique<WsClient>(); }
};

struct OverWss
{
    TestCerts certs; // a CA made for this test, which the clients trust and nothing else
    std::vector<std::string> server_args() const
    {
        return {"--tls-cert", certs.server_cert().string(), "--tls-key",
                certs.server_key().string()};
    }
    std::unique_ptr<WssClient> client() const
    {
        return std::make_unique<WssClient>(TlsTrust{certs.ca_cert(), "localhost"});
    }
};

template <class Transport>
class Signaling : public SignaldFixture
{
protected:
    Signaling()
    {
        web_root_.write("index.html", "<!doctype html><title>signald</title>\n");
        // 3: small enough that room-full is cheap to reach.
        auto args = transport_.server_args();
        args.insert(args.end(), {"--max-room-size", "3"});
        start_server(std::move(args));
    }

    // A client of this transport (WsClient or WssClient), connected and in no room yet.
    auto connect()
    {
        auto client = transport_.client();
        client->connect(port());
        return client;
    }

    Transport transport_;
};

struct TransportName
{
    template <class Transport>
    static std::string GetName(int)
    {
        return std::is_same_v<Transport, OverWs> ? "Ws" : "Wss";
    }
};
using Transports = ::testing::Types<OverWs, OverWss>;
TYPED_TEST_SUITE(Signaling, Transports, TransportName);

json signal_message(const std::string& room, const std::string& type,
                    std::optional<json> data = std::nullopt,
                    std::optional<std::string> to = std::nullopt)
{
    json message{{"action", "signal"}, {"roomId", room}, {"type", type}};
    if (data)
        message["data"] = *data;
    if (to)
        message["to"] = *to;
    return message;
}

json peer_joined(const std::string& room, const std::string& id,
                 std::optional<std::string> name = std::nullopt)
{
    json peer{{"clientId", id}};
    if (name)
        peer["name"] = *name;
    return {{"action", "peer-joined"}, {"roomId", room}, {"peer", peer}};
}

json peer_left(const std::string& room, const std::string& id)
{
    return {{"action", "peer-left"}, {"roomId", room}, {"clientId", id}};
}

// joined without its resumeToken, which must be there (resume is on by default) and is checked
// by resume_test; the rest is compared whole.
json without_token(json joined)
{
    EXPECT_TRUE(joined.contains("resumeToken")) << joined.dump();
    joined.erase("resumeToken");
    return joined;
}

json left(const std::string& room)
{
    return {{"action", "left"}, {"roomId", room}};
}

// The next message must be an error with this code and, exactly when given, this request.
template <class Client>
void expect_error(Client& client, const std::string& code, std::optional<std::string> request)
{
    const json reply = client.next_json();
    EXPECT_EQ(reply.value("action", ""), "error") << reply.dump();
    EXPECT_EQ(reply.value("code", ""), code) << reply.dump();
    ASSERT_TRUE(reply.contains("message") && reply["message"].is_string()) << reply.dump();
    EXPECT_FALSE(reply["message"].get<std::string>().empty()) << reply.dump();
    if (request) {
        EXPECT_EQ(reply.value("request", json()), json(*request)) << reply.dump();
    } else {
        EXPECT_FALSE(reply.contains("request")) << reply.dump();
    }
}

TYPED_TEST(Signaling, JoinerLearnsItsIdAndPeersInJoinOrderBeforeOthersHearOfIt)
{
    auto ann = this->connect();
    auto bob = this->connect();
    auto cy = this->connect();

    ann->send_json({{"action", "join"}, {"roomId", "r"}, {"name", "Ann"}});
    const json ann_joined = ann->next_json();
    EXPECT_EQ(ann_joined.value("action", ""), "joined");
    EXPECT_EQ(ann_joined.value("roomId", ""), "r");
    EXPECT_EQ(ann_joined.value("peers", json()), json::array());
    const std::string ann_id = ann_joined.value("clientId", "");

    const std::string bob_id = bob->join("r");
    EXPECT_EQ(ann->next_json(), peer_joined("r", bob_id));

    cy->send_json({{"action", "join"}, {"roomId", "r"}, {"name", "Cy"}});
    const json cy_joined = cy->next_json();
    const std::string cy_id = cy_joined.value("clientId", "");
    const json expected_peers =
        json::array({json{{"clientId", ann_id}, {"name", "Ann"}}, json{{"clientId", bob_id}}});
    EXPECT_EQ(without_token(cy_joined), (json{{"action", "joined"},
                                              {"roomId", "r"},
                                              {"clientId", cy_id},
                                              {"peers", expected_peers}}));
    EXPECT_EQ(ann->next_json(), peer_joined("r", cy_id, "Cy"));
    EXPECT_EQ(bob->next_json(), peer_joined("r", cy_id, "Cy"));

    const std::regex id_pattern("[0-9a-z]{10}");
    for (const auto& id : {ann_id, bob_id, cy_id})
        EXPECT_TRUE(std::regex_match(id, id_pattern)) << id;
    EXPECT_EQ((std::set<std::string>{ann_id, bob_id, cy_id}).size(), 3u);
}

TYPED_TEST(Signaling, SignalsNeverLeaveTheirRoom)
{
    auto a1 = this->connect();
    auto a2 = this->connect();
    auto a3 = this->connect();
    auto b1 = this->connect();
    auto b2 = this->connect();
    auto g1 = this->connect();
    auto g2 = this->connect();

    const std::string a1_id = a1->join("alpha");
    const std::string a2_id = a2->join("alpha");
    const std::string a3_id = a3->join("alpha");
    const std::string b1_id = b1->join("beta");
    const std::string b2_id = b2->join("beta");
    const std::string g1_id = g1->join("gamma");
    const std::string g2_id = g2->join("gamma");
    EXPECT_EQ(a1->next_json(), peer_joined("alpha", a2_id));
    EXPECT_EQ(a1->next_json(), peer_joined("alpha", a3_id));
    EXPECT_EQ(a2->next_json(), peer_joined("alpha", a3_id));
    EXPECT_EQ(b1->next_json(), peer_joined("beta", b2_id));
    EXPECT_EQ(g1->next_json(), peer_joined("gamma", g2_id));

    a1->send_json(signal_message("alpha", "offer", json{{"sdp", "alpha-offer"}}));
    b1->send_json(signal_message("beta", "offer", json{{"sdp", "beta-offer"}}));
    g1->send_json(signal_message("gamma", "ice-candidate", json{{"c", 1}}, g2_id));

    const json from_a1 = {{"action", "signal"},
                          {"roomId", "alpha"},
                          {"from", a1_id},
                          {"type", "offer"},
                          {"data", {{"sdp", "alpha-offer"}}}};
    EXPECT_EQ(a2->next_json(), from_a1);
    EXPECT_EQ(a3->next_json(), from_a1);
    EXPECT_EQ(b2->next_json(), (json{{"action", "signal"},
                                     {"roomId", "beta"},
                                     {"from", b1_id},
                                     {"type", "offer"},
                                     {"data", {{"sdp", "beta-offer"}}}}));
    EXPECT_EQ(g2->next_json(), (json{{"action", "signal"},
                                     {"roomId", "gamma"},
                                     {"from", g1_id},
                                     {"type", "ice-candidate"},
                                     {"data", {{"c", 1}}},
                                     {"to", g2_id}}));

    // A member of alpha cannot reach beta by naming it.
    a1->send_json(signal_message("beta", "offer", json{{"sdp", "sneaky"}}));
    expect_error(*a1, "not-in-room", "signal");

    // Leaving: the room hears peer-left, the leaver hears left, and it can no longer signal there.
    a2->send_json({{"action", "leave"}, {"roomId", "alpha"}});
    EXPECT_EQ(a2->next_json(), left("alpha"));
    EXPECT_EQ(a1->next_json(), peer_left("alpha", a2_id));
    EXPECT_EQ(a3->next_json(), peer_left("alpha", a2_id));
    a2->send_json(signal_message("alpha", "hangup"));
    expect_error(*a2, "not-in-room", "signal");

    a3->send_json(signal_message("alpha", "answer", json{{"sdp", "a3"}}));
    EXPECT_EQ(a1->next_json(), (json{{"action", "signal"},
                                     {"roomId", "alpha"},
                                     {"from", a3_id},
                                     {"type", "answer"},
                                     {"data", {{"sdp", "a3"}}}}));

    // Nothing else reached anyone: senders are not echoed and no room leaked into another.
    EXPECT_TRUE(a1->expect_silence(300ms));
    for (auto* client : {a2.get(), a3.get(), b1.get(), b2.get(), g1.get(), g2.get()})
        EXPECT_TRUE(client->expect_silence(20ms));
}

TYPED_TEST(Signaling, JoiningAnotherRoomLeavesTheOldOneFirst)
{
    auto a = this->connect();
    auto b = this->connect();
    auto c = this->connect();
    const std::string a_id = a->join("one", "Ann");
    const std::string b_id = b->join("one");
    EXPECT_EQ(a->next_json(), peer_joined("one", b_id));
    const std::string c_id = c->join("two");

    a->send_json({{"action", "join"}, {"roomId", "two"}, {"name", "Ann"}});
    EXPECT_EQ(a->next_json(), left("one"));
    EXPECT_EQ(without_token(a->next_json()),
              (json{{"action", "joined"},
                    {"roomId", "two"},
                    {"clientId", a_id},
                    {"peers", json::array({json{{"clientId", c_id}}})}}));
    EXPECT_EQ(b->next_json(), peer_left("one", a_id));
    EXPECT_EQ(c->next_json(), peer_joined("two", a_id, "Ann"));

    // The move is complete: room one no longer reaches a, room two does.
    b->send_json(signal_message("one", "offer", json("to-room-one")));
    a->send_json(signal_message("two", "offer", json("to-room-two")));
    EXPECT_EQ(c->next_json(), (json{{"action", "signal"},
                                    {"roomId", "two"},
                                    {"from", a_id},
                                    {"type", "offer"},
                                    {"data", "to-room-two"}}));
    a->send_json(signal_message("one", "offer"));
    expect_error(*a, "not-in-room", "signal");
    EXPECT_TRUE(a->expect_silence(200ms));
    EXPECT_TRUE(b->expect_silence(20ms));
}

TYPED_TEST(Signaling, DirectedSignalReachesOnlyItsTargetAndCarriesTo)
{
    auto a = this->connect();
    auto b = this->connect();
    auto c = this->connect();
    const std::string a_id = a->join("r");
    const std::string b_id = b->join("r");
    const std::string c_id = c->join("r");
    EXPECT_EQ(a->next_json(), peer_joined("r", b_id));
    EXPECT_EQ(a->next_json(), peer_joined("r", c_id));
    EXPECT_EQ(b->next_json(), peer_joined("r", c_id));

    a->send_json(signal_message("r", "offer", json{{"sdp", "for-b"}}, b_id));
    EXPECT_EQ(b->next_json(), (json{{"action", "signal"},
                                    {"roomId", "r"},
                                    {"from", a_id},
                                    {"type", "offer"},
                                    {"data", {{"sdp", "for-b"}}},
                                    {"to", b_id}}));

    // Without to, the same message goes to everyone else and carries no `to`; without data,
    // no `data` either.
    a->send_json(signal_message("r", "hangup"));
    const json broadcast{{"action", "signal"}, {"roomId", "r"}, {"from", a_id}, {"type", "hangup"}};
    EXPECT_EQ(c->next_json(), broadcast);
    EXPECT_EQ(b->next_json(), broadcast);
    EXPECT_TRUE(c->expect_silence(200ms));
    EXPECT_TRUE(a->expect_silence(20ms));
}

TYPED_TEST(Signaling, SignalToSomeoneNotInTheRoomIsUnknownPeer)
{
    auto a = this->connect();
    auto b = this->connect();
    auto outsider = this->connect();
    const std::string a_id = a->join("r");
    const std::string b_id = b->join("r");
    const std::string outsider_id = outsider->join("elsewhere");
    EXPECT_EQ(a->next_json(), peer_joined("r", b_id));

    for (const std::string& target : {std::string("zzzzzzzzzz"), outsider_id, a_id}) {
        SCOPED_TRACE("to " + target);
        a->send_json(signal_message("r", "offer", json{{"sdp", "x"}}, target));
        expect_error(*a, "unknown-peer", "signal");
    }
    EXPECT_TRUE(b->expect_silence(200ms));
    EXPECT_TRUE(outsider->expect_silence(20ms));
}

TYPED_TEST(Signaling, ClientSuppliedFromIsReplacedBySendersId)
{
    auto a = this->connect();
    auto b = this->connect();
    const std::string a_id = a->join("r");
    const std::string b_id = b->join("r");
    EXPECT_EQ(a->next_json(), peer_joined("r", b_id));

    a->send_text(R"({"from":"aaaaaaaaaa","action":"signal","roomId":"r","type":"offer",)"
                 R"("from":")" +
                 b_id + R"(","data":{"from":"kept-inside-data"}})");
    const json received = b->next_json();
    EXPECT_EQ(received, (json{{"action", "signal"},
                              {"roomId", "r"},
                              {"from", a_id},
                              {"type", "offer"},
                              {"data", {{"from", "kept-inside-data"}}}}));
}

TYPED_TEST(Signaling, DataIsForwardedByteForByte)
{
    auto a = this->connect();
    auto b = this->connect();
    a->join("r");
    const std::string b_id = b->join("r");
    EXPECT_EQ(a->next_json(), peer_joined("r", b_id));

    const std::vector<std::string> shapes = {
        R"({"type":"offer","sdp":"v=0\r\no=- 46117317 2 IN IP4 127.0.0.1\r\ns=-\r\n"})",
        R"({ "candidate" : "candidate:1 1 udp 2122260223 10.0.0.1 54321 typ host" ,)"
        "\n\t"
        R"("sdpMid" : "0" , "sdpMLineIndex" : 0 })",
        R"("plain string")",
        R"("escapes \" \\ \/ \b \f \n \r \t \u00e9 \ud83c\udf89")",
        "\"raw UTF-8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\x89\"",
        "0",
        "-12.5e+300",
        "1E400",
        "123456789012345678901234567890",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        "[ 1 ,2,   3 ,\n[ ] , { } ]",
        R"({"a":{"b":{"c":[1,{"d":null}]}},"a":"duplicate key kept"})",
        "[\"\",{\"\":\"\"}]",
    };
    for (const std::string& shape : shapes) {
        SCOPED_TRACE(shape);
        // Whitespace around the value is JSON structure; everything inside must survive.
        a->send_text(R"({"action":"signal","roomId":"r","type":"answer","data" :)"
                     "  \n " +
                     shape + " \n }");
        const auto text = b->next_text();
        ASSERT_TRUE(text.has_value());
        const auto data = raw_member(*text, "data");
        ASSERT_TRUE(data.has_value()) << *text;
        EXPECT_EQ(*data, shape) << *text;
        // The relayed message is as valid as the data was (nlohmann refuses 1E400 as overflow).
        EXPECT_EQ(json::accept(*text), json::accept(shape)) << *text;
    }
}

TYPED_TEST(Signaling, EveryErrorCodeComesBackAndTheConnectionStaysUsable)
{
    auto x = this->connect();
    auto peer = this->connect();
    const std::string x_id = x->join("home");
    const std::string peer_id = peer->join("home");
    EXPECT_EQ(x->next_json(), peer_joined("home", peer_id));

    struct Case
    {
        std::string text;
        std::string code;
        std::optional<std::string> request;
    };
    const std::vector<Case> cases = {
        {"{not json", "bad-json", std::nullopt},
        {R"({"action":"join","roomId":"r")", "bad-json", std::nullopt},
        {"", "bad-json", std::nullopt},
        {"[1,2,3]", "bad-message", std::nullopt},
        {R"("join")", "bad-message", std::nullopt},
        {R"({"roomId":"r"})", "bad-message", std::nullopt},
        {R"({"action":5,"roomId":"r"})", "bad-message", std::nullopt},
        {R"({"action":"join"})", "bad-message", "join"},
        {R"({"action":"join","roomId":7})", "bad-message", "join"},
        {R"({"action":"join","roomId":"r","name":5})", "bad-message", "join"},
        {R"({"action":"signal","roomId":"home"})", "bad-message", "signal"},
        {R"({"action":"signal","roomId":"home","type":"offer","to":null})", "bad-message",
         "signal"},
        {R"({"action":"signal","roomId":"home","type":"offer","to":5})", "bad-message", "signal"},
        {R"({"action":"dance","roomId":"home"})", "unknown-action", "dance"},
        {R"({"action":"JOIN","roomId":"home"})", "unknown-action", "JOIN"},
        {R"({"action":"join","roomId":""})", "bad-room-id", "join"},
        {R"({"action":"join","roomId":")" + std::string(65, 'r') + "\"}", "bad-room-id", "join"},
        {R"({"action":"join","roomId":"tab\there"})", "bad-room-id", "join"},
        {R"({"action":"leave","roomId":""})", "bad-room-id", "leave"},
        {R"({"action":"join","roomId":"r2","name":")" + std::string(65, 'n') + "\"}", "bad-name",
         "join"},
        {R"({"action":"join","roomId":"r2","name":"bell\u0007"})", "bad-name", "join"},
        {R"({"action":"signal","roomId":"home","type":"offerx"})", "bad-type", "signal"},
        {R"({"action":"signal","roomId":"home","type":"ICE-CANDIDATE"})", "bad-type", "signal"},
        {R"({"action":"signal","roomId":"other","type":"offer"})", "not-in-room", "signal"},
        {R"({"action":"leave","roomId":"other"})", "not-in-room", "leave"},
        {R"({"action":"join","roomId":"home"})", "already-joined", "join"},
        {R"({"action":"signal","roomId":"home","type":"offer","to":"nobody0000"})", "unknown-peer",
         "signal"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        x->send_text(c.text);
        expect_error(*x, c.code, c.request);
    }

    // room-full: "home" has x and peer; a third fits, a fourth does not (--max-room-size 3).
    auto third = this->connect();
    auto fourth = this->connect();
    third->join("home");
    EXPECT_EQ(x->next_json().value("action", ""), "peer-joined");
    EXPECT_EQ(peer->next_json().value("action", ""), "peer-joined");
    fourth->send_json({{"action", "join"}, {"roomId", "home"}});
    expect_error(*fourth, "room-full", "join");

    // A refused join while in a room leaves the client where it was.
    const std::string fourth_id = fourth->join("annex");
    fourth->send_json({{"action", "join"}, {"roomId", "home"}});
    expect_error(*fourth, "room-full", "join");
    fourth->send_json(signal_message("annex", "hangup"));
    EXPECT_TRUE(fourth->expect_silence(100ms));

    // None of the refusals disturbed the peer, and x still works.
    EXPECT_TRUE(peer->expect_silence(20ms));
    x->send_json(signal_message("home", "offer", json{{"ok", true}}, peer_id));
    EXPECT_EQ(peer->next_json(), (json{{"action", "signal"},
                                       {"roomId", "home"},
                                       {"from", x_id},
                                       {"type", "offer"},
                                       {"data", {{"ok", true}}},
                                       {"to", peer_id}}));
    x->send_json({{"action", "leave"}, {"roomId", "home"}});
    EXPECT_EQ(x->next_json(), left("home"));
    EXPECT_EQ(x->join("annex"), x_id);
    EXPECT_EQ(fourth->next_json(), peer_joined("annex", x_id));
}

} // namespace
} // namespace signald::test
