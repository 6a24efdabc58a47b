// The socket-free half of ICE servers: which URLs are accepted, the RTCIceServer JSON, `joined`
// and `peer-joined` carrying it, and Hub asking for it once per such message, for its receiver.

#include "signald/core/hub.hpp"
#include "signald/core/ice_servers.hpp"
#include "signald/core/protocol.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace signald {
namespace ice_servers_test {

using nlohmann::json;

TEST(IceServerUrl, StunTurnAndTurnsUrlsBrowsersParseAreAccepted)
{
    for (const char* url :
         {"stun:stun.example.org", "stun:127.0.0.1:3478", "stun:[::1]:3478", "stun:[2001:db8::1]",
          "turn:turn.example.org", "turn:turn.example.org:3478?transport=udp",
          "turn:10.0.0.1?transport=tcp", "turns:turn.example.org:5349?transport=tcp",
          "turns:turn_1.example-2.org", "turn:[::ffff:127.0.0.1]:3478?transport=udp"})
        EXPECT_EQ(ice_url_problem(url), std::nullopt) << url;
}

TEST(IceServerUrl, OtherSchemesAreRefusedWithTheThreeAllowed)
{
    for (const char* url :
         {"http://turn.example.org", "stuns:h", "STUN:h", "turn", "", " stun:h", "h:3478"})
        EXPECT_EQ(ice_url_problem(url), "must start with stun:, turn: or turns:") << url;
}

TEST(IceServerUrl, MalformedHostsPortsAndQueriesAreRefused)
{
    const std::vector<std::pair<const char*, const char*>> cases{
        {"stun:", "has no host"},
        {"turn::3478", "has no host"},
        {"stun:h:0", "has a port that is not 1 to 65535"},
        {"stun:h:65536", "has a port that is not 1 to 65535"},
        {"stun:h:", "has a port that is not 1 to 65535"},
        {"stun:h:34a", "has a port that is not 1 to 65535"},
        {"stun:h:000003478", "has a port that is not 1 to 65535"},
        {"stun:h/path", "has a host with characters other than letters, digits, '.', '-' and '_'"},
        {"stun:user@h", "has a host with characters other than letters, digits, '.', '-' and '_'"},
        {"stun:h\"x", "has a host with characters other than letters, digits, '.', '-' and '_'"},
        {"stun: h", "has a host with characters other than letters, digits, '.', '-' and '_'"},
        {"stun:[::1", "has a malformed [IPv6] address"},
        {"stun:[]", "has a malformed [IPv6] address"},
        {"stun:[fe80::1%eth0]", "has a malformed [IPv6] address"},
        {"stun:[::1]x", "has text after its [IPv6] address"},
        {"stun:h?transport=udp", "is a stun: URL, which takes no ?query"},
        {"turn:h?transport=sctp", "may only end in ?transport=udp or ?transport=tcp"},
        {"turn:h?", "may only end in ?transport=udp or ?transport=tcp"},
        {"turn:h?transport=udp&x=1", "may only end in ?transport=udp or ?transport=tcp"},
    };
    for (const auto& [url, problem] : cases)
        EXPECT_EQ(ice_url_problem(url), problem) << url;
}

TEST(IceServerUrl, OnlyTurnAndTurnsAreTurnUrls)
{
    EXPECT_TRUE(is_turn_url("turn:h"));
    EXPECT_TRUE(is_turn_url("turns:h"));
    EXPECT_FALSE(is_turn_url("stun:h"));
    EXPECT_FALSE(is_turn_url("turnx"));
}

TEST(IceServersJson, StunUrlsShareOneEntryWithoutCredentials)
{
    const std::vector<std::string> urls{"stun:a", "stun:b:3478"};
    EXPECT_EQ(ice_servers_json(urls, std::nullopt), R"([{"urls":["stun:a","stun:b:3478"]}])");
    EXPECT_EQ(ice_servers_json(urls, TurnCredential{"u", "p"}),
              R"([{"urls":["stun:a","stun:b:3478"]}])");
}

TEST(IceServersJson, TurnUrlsShareOneEntryWithTheCredential)
{
    const std::vector<std::string> urls{"turn:t?transport=udp", "stun:s", "turns:t:5349"};
    EXPECT_EQ(
        ice_servers_json(urls,
                         TurnCredential{"1700003600:w2e6rj1ydu", "e1UZ/7WkYPX1ZggwmMj1puZeybs="}),
        R"([{"urls":["stun:s"]},{"urls":["turn:t?transport=udp","turns:t:5349"],)"
        R"("username":"1700003600:w2e6rj1ydu","credential":"e1UZ/7WkYPX1ZggwmMj1puZeybs="}])");
    EXPECT_EQ(ice_servers_json(urls, std::nullopt),
              R"([{"urls":["stun:s"]},{"urls":["turn:t?transport=udp","turns:t:5349"]}])");
}

TEST(IceServersJson, NoUrlsIsAnEmptyArray)
{
    EXPECT_EQ(ice_servers_json({}, std::nullopt), "[]");
}

TEST(TurnUsername, IsExpiryColonClientId)
{
    EXPECT_EQ(turn_username(1700003600, "w2e6rj1ydu"), "1700003600:w2e6rj1ydu");
}

TEST(PeerJoinedReply, CarriesIceServersAfterThePeerOnlyWhenGiven)
{
    const Peer peer{"h83npz0c5t", std::string("Bob")};
    EXPECT_EQ(
        reply::peer_joined("r", peer),
        R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"h83npz0c5t","name":"Bob"}})");
    EXPECT_EQ(
        reply::peer_joined("r", peer, R"([{"urls":["stun:s"]}])"),
        R"({"action":"peer-joined","roomId":"r","peer":{"clientId":"h83npz0c5t","name":"Bob"},)"
        R"("iceServers":[{"urls":["stun:s"]}]})");
}

TEST(JoinedReply, CarriesIceServersAfterPeersOnlyWhenGiven)
{
    const std::vector<Peer> peers{{"4f9kq2m7xa", std::string("Ann")}};
    EXPECT_EQ(reply::joined("r", "w2e6rj1ydu", peers),
              R"({"action":"joined","roomId":"r","clientId":"w2e6rj1ydu",)"
              R"("peers":[{"clientId":"4f9kq2m7xa","name":"Ann"}]})");
    EXPECT_EQ(
        reply::joined("r", "w2e6rj1ydu", peers, R"([{"urls":["stun:s"]}])"),
        R"({"action":"joined","roomId":"r","clientId":"w2e6rj1ydu",)"
        R"("peers":[{"clientId":"4f9kq2m7xa","name":"Ann"}],"iceServers":[{"urls":["stun:s"]}]})");
}

std::string join(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

TEST(HubIceServers, JoinedAndPeerJoinedCarryWhatTheFunctionBuildsForTheirReceiver)
{
    std::vector<ClientId> asked_for;
    test::HubHarness hub({}, {}, [&](const ClientId& id) {
        asked_for.push_back(id);
        return R"([{"urls":["turn:t"],"username":")" + id + R"(","credential":"c"}])";
    });
    const ClientId a = hub.connect();
    const ClientId b = hub.connect();
    const ClientId c = hub.connect();
    hub.send(a, join("r"));
    hub.send(b, join("r"));
    hub.send(c, join("r"));
    hub.send(b, join("other")); // a switch is a new join: fresh credentials

    std::vector<std::pair<std::string, ClientId>> carrying;
    for (const auto& message : hub.take()) {
        if (message.action() == "joined" || message.action() == "peer-joined") {
            EXPECT_EQ(message.json()["iceServers"][0]["username"], message.to) << message.text;
            carrying.emplace_back(message.action(), message.to);
        } else {
            EXPECT_FALSE(message.json().contains("iceServers")) << message.text;
        }
    }
    const std::vector<std::pair<std::string, ClientId>> expected{
        {"joined", a},      {"joined", b},      {"peer-joined", a}, {"joined", c},
        {"peer-joined", a}, {"peer-joined", b}, {"joined", b}};
    EXPECT_EQ(carrying, expected);
    // Once per message, each for its receiver at the moment it is sent.
    EXPECT_EQ(asked_for, (std::vector<ClientId>{a, b, a, c, a, b, b}));
}

TEST(HubIceServers, PeerJoinedIsStillOnePerMemberAfterTheJoined)
{
    test::HubHarness hub({}, {}, [](const ClientId&) { return std::string(R"([])"); });
    const ClientId a = hub.connect();
    const ClientId b = hub.connect();
    hub.send(a, join("r"));
    hub.take();
    hub.send(b, join("r"));
    const auto sent = hub.take();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].to, b);
    EXPECT_EQ(sent[0].action(), "joined");
    EXPECT_EQ(sent[1].to, a);
    EXPECT_EQ(sent[1].text, R"({"action":"peer-joined","roomId":"r","peer":{"clientId":")" + b +
                                R"("},)"
                                R"("iceServers":[]})");
}

TEST(HubIceServers, WithoutAFunctionJoinedHasNoIceServers)
{
    test::HubHarness hub;
    const ClientId a = hub.connect();
    hub.send(a, join("r"));
    const auto sent = hub.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].action(), "joined");
    EXPECT_FALSE(sent[0].json().contains("iceServers"));
}

TEST(HubIceServers, AnEmptyStringLeavesTheFieldOut)
{
    test::HubHarness hub({}, {}, [](const ClientId&) { return std::string{}; });
    const ClientId a = hub.connect();
    hub.send(a, join("r"));
    const auto sent = hub.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].json().contains("iceServers"));
}

TEST(HubIceServers, RefusedJoinsDoNotAskForCredentials)
{
    std::vector<ClientId> asked_for;
    test::HubHarness hub(HubLimits{1, {}, 0}, {}, [&](const ClientId& id) {
        asked_for.push_back(id);
        return std::string("[]");
    });
    const ClientId a = hub.connect();
    const ClientId b = hub.connect();
    hub.send(a, join("r"));
    hub.send(b, join("r")); // room-full
    hub.send(a, join("r")); // already-joined
    EXPECT_EQ(asked_for, std::vector<ClientId>{a});
}

} // namespace ice_servers_test
} // namespace signald
