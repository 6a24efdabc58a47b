// ICE servers over the wire: `joined` (and `peer-joined`) carry exactly the configured
// --ice-server URLs, TURN credentials that verify under the secret and expire --turn-ttl after the
// message, nothing when no server is configured; bad URLs stop the start; the secret reaches no
// client, no log and no command line (with --turn-secret-file).

#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "turn_credential_check.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

class IceServers : public SignaldFixture
{
protected:
    void start(std::vector<std::string> extra) { start_server(std::move(extra)); }

    // Connects, joins room and returns the joined message.
    json join(WsClient& client, const std::string& room)
    {
        client.connect(server_->port());
        client.send_json({{"action", "join"}, {"roomId", room}});
        json joined = client.next_json();
        EXPECT_EQ(joined["action"], "joined") << joined.dump();
        return joined;
    }
};

TEST_F(IceServers, JoinedCarriesExactlyTheConfiguredServersWithVerifiableCredentials)
{
    const std::string secret = "integration-secret";
    start({"--ice-server", "stun:stun.example.org:3478", "--ice-server",
           "turn:127.0.0.1:3478?transport=udp", "--ice-server", "stun:[::1]", "--ice-server",
           "turns:turn.example.org:5349?transport=tcp", "--turn-secret", secret, "--turn-ttl",
           "600"});

    WsClient client;
    const auto before = unix_now();
    const json joined = join(client, "r");
    const auto after = unix_now();

    ASSERT_TRUE(joined.contains("iceServers")) << joined.dump();
    const json& servers = joined["iceServers"];
    ASSERT_EQ(servers.size(), 2u) << servers.dump();
    EXPECT_EQ(servers[0], json::parse(R"({"urls":["stun:stun.example.org:3478","stun:[::1]"]})"));

    const json& turn = servers[1];
    EXPECT_EQ(turn["urls"], json::parse(R"(["turn:127.0.0.1:3478?transport=udp",
                                             "turns:turn.example.org:5349?transport=tcp"])"));
    EXPECT_EQ(turn.size(), 3u) << "only urls, username and credential: " << turn.dump();
    const std::string username = turn.value("username", "");
    const auto colon = username.find(':');
    ASSERT_NE(colon, std::string::npos) << username;
    EXPECT_EQ(username.substr(colon + 1), joined["clientId"].get<std::string>());
    const auto expiry = std::stoll(username.substr(0, colon));
    EXPECT_GE(expiry, before + 600 - 5);
    EXPECT_LE(expiry, after + 600 + 5);
    EXPECT_EQ(turn.value("credential", ""), expected_credential(secret, username));
}

TEST_F(IceServers, EachClientAndEachJoinGetsItsOwnCredential)
{
    const std::string secret = "per-client";
    start({"--ice-server", "turn:127.0.0.1:3478", "--turn-secret", secret});
    WsClient a;
    WsClient b;
    const json joined_a = join(a, "r");
    const json joined_b = join(b, "r");

    // a is about to call b: its peer-joined brings a credential of its own, made now.
    const json peer_joined = a.next_json();
    ASSERT_EQ(peer_joined["action"], "peer-joined");
    const json& fresh = peer_joined["iceServers"][0];
    EXPECT_EQ(fresh["urls"], json::array({"turn:127.0.0.1:3478"}));
    const std::string fresh_username = fresh["username"];
    EXPECT_TRUE(fresh_username.ends_with(":" + joined_a["clientId"].get<std::string>()))
        << fresh_username;
    EXPECT_EQ(fresh["credential"], expected_credential(secret, fresh_username));

    std::vector<std::string> usernames;
    for (const json* joined : {&joined_a, &joined_b}) {
        const json& turn = (*joined)["iceServers"][0];
        const std::string username = turn["username"];
        EXPECT_TRUE(username.ends_with(":" + (*joined)["clientId"].get<std::string>())) << username;
        EXPECT_EQ(turn["credential"], expected_credential(secret, username));
        usernames.push_back(username);
    }
    EXPECT_NE(usernames[0], usernames[1]);

    // Moving to another room is a new join, with credentials made for it.
    a.send_json({{"action", "join"}, {"roomId", "other"}});
    EXPECT_EQ(a.next_json()["action"], "left");
    const json rejoined = a.next_json();
    ASSERT_EQ(rejoined["action"], "joined");
    const std::string username = rejoined["iceServers"][0]["username"];
    EXPECT_EQ(rejoined["iceServers"][0]["credential"], expected_credential(secret, username));
}

TEST_F(IceServers, DefaultTtlIsAnHour)
{
    start({"--ice-server", "turn:127.0.0.1:3478", "--turn-secret", "s"});
    WsClient client;
    const auto before = unix_now();
    const json joined = join(client, "r");
    const auto after = unix_now();
    const std::string username = joined["iceServers"][0]["username"];
    const auto expiry = std::stoll(username.substr(0, username.find(':')));
    EXPECT_GE(expiry, before + 3600 - 5);
    EXPECT_LE(expiry, after + 3600 + 5);
}

TEST_F(IceServers, WithoutIceServerJoinedHasNoIceServersField)
{
    start({"--turn-secret", "unused"});
    WsClient client;
    const json joined = join(client, "r");
    EXPECT_FALSE(joined.contains("iceServers")) << joined.dump();
    EXPECT_TRUE(server_->wait_for_stderr("--turn-secret has no effect"));
}

TEST_F(IceServers, TurnWithoutSecretIsSentWithoutCredentialsAndWarnedAbout)
{
    start({"--ice-server", "turn:127.0.0.1:3478", "--ice-server", "stun:127.0.0.1:3478"});
    WsClient client;
    const json joined = join(client, "r");
    EXPECT_EQ(joined["iceServers"], json::parse(R"([{"urls":["stun:127.0.0.1:3478"]},
                                                    {"urls":["turn:127.0.0.1:3478"]}])"));
    EXPECT_TRUE(server_->wait_for_stderr("turn: URLs are sent without credentials"))
        << server_->stderr_text();
}

TEST_F(IceServers, BadUrlStopsTheStartWithOneLineNamingIt)
{
    for (const std::string bad : {"http://turn.example.org", "turn:", "stun:h?transport=udp",
                                  "turn:h:99999", "turn:h?transport=sctp"}) {
        SCOPED_TRACE(bad);
        const auto result = run_signald(server_args(
            web_root_.path(), {"--ice-server", "stun:ok.example.org", "--ice-server", bad}));
        EXPECT_FALSE(result.timed_out);
        EXPECT_TRUE(result.status.exited_normally()) << result.status.describe();
        EXPECT_NE(result.status.code, 0);
        EXPECT_EQ(result.stdout_text.find("listening on"), std::string::npos);
        EXPECT_EQ(occurrences(result.stderr_text, "\n"), 1u) << result.stderr_text;
        EXPECT_NE(result.stderr_text.find("--ice-server"), std::string::npos) << result.stderr_text;
        EXPECT_NE(result.stderr_text.find("\"" + bad + "\""), std::string::npos)
            << result.stderr_text;
    }
}

TEST_F(IceServers, UnreadableSecretFileStopsTheStart)
{
    const auto result = run_signald(
        server_args(web_root_.path(), {"--ice-server", "turn:127.0.0.1:3478", "--turn-secret-file",
                                       (web_root_.path() / "absent").string()}));
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.status.code, 2) << result.status.describe();
    EXPECT_NE(result.stderr_text.find("--turn-secret-file"), std::string::npos)
        << result.stderr_text;
}

// The secret is read from a file, so it is not in the process's command line for `ps` to show;
// the credentials prove it was read.
TEST_F(IceServers, SecretFileKeepsTheSecretOffTheCommandLine)
{
    const std::string secret = "file-secret-9f3a";
    const auto file = web_root_.write("turn-secret", secret + "\n");
    start({"--ice-server", "turn:127.0.0.1:3478", "--turn-secret-file", file.string()});

    std::ifstream cmdline("/proc/" + std::to_string(server_->pid()) + "/cmdline", std::ios::binary);
    const std::string args{std::istreambuf_iterator<char>(cmdline), {}};
    EXPECT_NE(args.find("--turn-secret-file"), std::string::npos);
    EXPECT_EQ(args.find(secret), std::string::npos);

    WsClient client;
    const json turn = join(client, "r")["iceServers"][0];
    EXPECT_EQ(turn["credential"], expected_credential(secret, turn["username"]));
}

// Everything a client can receive and everything the server logs at its most verbose level,
// through joins, relayed signals, errors, room switches and disconnects: never the secret.
TEST_F(IceServers, SecretReachesNoClientAndNoLog)
{
    const std::string secret = "never-shown-7d1e2b";
    start({"--ice-server", "turn:127.0.0.1:3478?transport=udp", "--ice-server",
           "stun:127.0.0.1:3478", "--turn-secret", secret, "--log-level", "trace"});

    std::string received;
    auto collect = [&](WsClient& client) {
        while (auto text = client.next_text(300ms))
            received += *text + "\n";
    };
    {
        WsClient a;
        WsClient b;
        received += join(a, "r").dump() + "\n";
        received += join(b, "r").dump() + "\n";
        a.send_json({{"action", "signal"},
                     {"roomId", "r"},
                     {"type", "offer"},
                     {"data", {{"type", "offer"}, {"sdp", "v=0\r\n"}}}});
        b.send_json({{"action", "signal"}, {"roomId", "r"}, {"type", "bogus"}});
        b.send_json({{"action", "join"}, {"roomId", "other"}});
        b.send_text("not json");
        collect(a);
        collect(b);
        b.close();
        a.send_json({{"action", "leave"}, {"roomId", "r"}});
        collect(a);
    }
    EXPECT_GE(occurrences(received, "\"credential\""), 3u) << received;
    EXPECT_EQ(received.find(secret), std::string::npos) << received;

    server_->send_signal(SIGTERM);
    ASSERT_TRUE(server_->wait_exit(5s));
    const std::string log = server_->stderr_text() + server_->stdout_text();
    EXPECT_NE(log.find("ICE servers for every joined"), std::string::npos) << log;
    EXPECT_NE(log.find(" debug "), std::string::npos) << "not logging at debug: " << log;
    EXPECT_EQ(log.find(secret), std::string::npos) << log;
}

} // namespace
} // namespace signald::test
