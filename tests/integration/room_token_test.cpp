// Private rooms against the real binary (docs/protocol.md 7.3): with --auth-secret-file every join
// needs a valid token, refusals say which check failed and leave the connection as it was, the
// token's name wins, and neither tokens nor secrets show in the logs or the process's command
// line; `signald token` and `signald invite` print tokens that Python's own hmac accepts.

#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "test_jwt.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace signald::test {
namespace {

using json = nlohmann::json;

const std::string bare_secret = "integration-bare-secret-0123456789abcdef";
const std::string kid_secret = "integration-kid-secret-0123456789abcdefgh";

class RoomTokens : public SignaldFixture
{
protected:
    RoomTokens()
    {
        secrets_ = web_root_.write("secrets",
                                   "# for the tests\n" + bare_secret + "\nk1 " + kid_secret + "\n");
    }

    void start()
    {
        start_server({"--auth-secret-file", secrets_.string(), "--log-level", "debug"});
    }

    std::filesystem::path secrets_;
};

TEST_F(RoomTokens, AJoinWithoutATokenIsUnauthorizedAndTheConnectionStaysAsItWas)
{
    start();
    auto client = connect();
    client->send_text(R"({"action":"join","roomId":"r"})");
    const auto refused = client->next_json();
    EXPECT_EQ(refused["code"], "unauthorized");
    EXPECT_EQ(refused["request"], "join");
    EXPECT_NE(refused["message"].get<std::string>().find("missing"), std::string::npos) << refused;
    // Still open, in no room, and a good token admits it on the same connection.
    client->send_json(join_with("r", make_token(claims("r"), bare_secret)));
    EXPECT_EQ(client->next_json()["action"], "joined");
}

TEST_F(RoomTokens, ATokenThatIsNotAStringIsABadMessage)
{
    start();
    auto client = connect();
    for (const char* text : {R"({"action":"join","roomId":"r","token":null})",
                             R"({"action":"join","roomId":"r","token":5})"}) {
        client->send_text(text);
        EXPECT_EQ(client->next_json()["code"], "bad-message") << text;
    }
    // Step 6 before the token: a bad roomId is bad-room-id whatever the token.
    client->send_json(join_with("", "x"));
    EXPECT_EQ(client->next_json()["code"], "bad-room-id");
}

TEST_F(RoomTokens, EachRefusalSaysWhichCheckFailed)
{
    start();
    auto client = connect();
    json header_none{{"alg", "none"}};
    const std::string none = b64url(header_none.dump()) + "." + b64url(claims("r").dump()) + ".";
    const std::vector<std::pair<std::string, std::string>> cases{
        {"not.a-token", "malformed"},
        {none, "algorithm"},
        {make_token(claims("r"), kid_secret, "k9"), "unknown kid"},
        {make_token(claims("r"), kid_secret), "signature"},
        {make_token(claims("r", -120), bare_secret), "expired"},
        {make_token(json{{"room", "r"}, {"exp", unix_now() + 600}, {"nbf", unix_now() + 300}},
                    bare_secret),
         "not yet valid"},
        {make_token(claims("elsewhere"), bare_secret), "wrong room"},
    };
    for (const auto& [token, check] : cases) {
        client->send_json(join_with("r", token));
        const auto refused = client->next_json();
        EXPECT_EQ(refused["code"], "unauthorized") << check;
        EXPECT_NE(refused["message"].get<std::string>().find(check), std::string::npos) << refused;
    }
    EXPECT_EQ(metric(server_->port(), R"(signald_protocol_errors_total{code="unauthorized"})"),
              static_cast<double>(cases.size()));
}

TEST_F(RoomTokens, NoOtherAlgorithmAndNoTamperedPayloadGetsIn)
{
    start();
    auto client = connect();
    const std::string good = make_token(claims("r"), bare_secret);
    // The payload swapped for one granting moderator, under the original signature.
    json granted = claims("r");
    granted["role"] = "moderator";
    const std::string tampered =
        good.substr(0, good.find('.') + 1) + b64url(granted.dump()) + good.substr(good.rfind('.'));
    const std::vector<std::pair<std::string, std::string>> cases{
        {make_jwt(json{{"alg", "HS512"}}, claims("r"), bare_secret, EVP_sha512()), "algorithm"},
        // RS256 "signed" by HMAC with the secret, as a verifier that took the secret for a
        // public key would accept.
        {make_jwt(json{{"alg", "RS256"}}, claims("r"), bare_secret), "algorithm"},
        {make_jwt(json{{"alg", "HS256"}, {"crit", json::array({"exp"})}}, claims("r"), bare_secret),
         "malformed"},
        {tampered, "signature"},
    };
    for (const auto& [token, check] : cases) {
        client->send_json(join_with("r", token));
        const auto refused = client->next_json();
        EXPECT_EQ(refused["code"], "unauthorized") << check;
        EXPECT_NE(refused["message"].get<std::string>().find(check), std::string::npos) << refused;
    }
}

TEST_F(RoomTokens, IgnoredClaimsPassAndTheSubIsLoggedWithTheJoin)
{
    start();
    json payload = claims("r");
    payload["iat"] = unix_now();
    payload["iss"] = "https://issuer.example";
    payload["aud"] = json::array({"someone", "else"});
    payload["sub"] = "user-42";
    payload["extra"] = {{"nested", true}};
    auto client = connect();
    // No typ in the header: it is optional.
    client->send_json(join_with("r", make_jwt(json{{"alg", "HS256"}}, payload, bare_secret)));
    EXPECT_EQ(client->next_json()["action"], "joined");
    EXPECT_TRUE(server_->wait_for_stderr("token for \"user-42\"")) << server_->stderr_text();
}

TEST_F(RoomTokens, TheLeewayIsThirtySeconds)
{
    start();
    // A second of slack on each side for the clocks of this test and the server to tick apart.
    const std::vector<std::pair<json, std::string>> cases{
        {json{{"room", "r"}, {"exp", unix_now() - 28}}, "joined"},
        {json{{"room", "r"}, {"exp", unix_now() - 32}}, "expired"},
        {json{{"room", "r"}, {"exp", unix_now() + 600}, {"nbf", unix_now() + 28}}, "joined"},
        {json{{"room", "r"}, {"exp", unix_now() + 600}, {"nbf", unix_now() + 32}}, "not yet valid"},
    };
    for (const auto& [payload, outcome] : cases) {
        auto client = connect();
        client->send_json(join_with("r", make_token(payload, bare_secret)));
        const auto reply = client->next_json();
        if (outcome == "joined") {
            EXPECT_EQ(reply["action"], "joined") << payload;
        } else {
            EXPECT_EQ(reply["code"], "unauthorized") << payload;
            EXPECT_NE(reply["message"].get<std::string>().find(outcome), std::string::npos)
                << reply;
        }
    }
}

TEST_F(RoomTokens, KeysRotateByKidWithoutDowntime)
{
    // The old key and the new one side by side, as during a rotation: both admit.
    secrets_ = web_root_.write("rotating", "old " + bare_secret + "\nnew " + kid_secret + "\n");
    start();
    for (const auto& [kid, key] : {std::pair{"old", bare_secret}, std::pair{"new", kid_secret}}) {
        auto client = connect();
        client->send_json(join_with("r", make_token(claims("r"), key, kid)));
        EXPECT_EQ(client->next_json()["action"], "joined") << kid;
    }
    // A kid's token signed with the other kid's secret, and one without kid when there is no
    // bare secret, are refused.
    auto client = connect();
    client->send_json(join_with("r", make_token(claims("r"), bare_secret, "new")));
    EXPECT_NE(client->next_json()["message"].get<std::string>().find("signature"),
              std::string::npos);
    client->send_json(join_with("r", make_token(claims("r"), bare_secret)));
    EXPECT_NE(client->next_json()["message"].get<std::string>().find("unknown kid"),
              std::string::npos);
}

// Rotation on one node without a restart (a restart would end every call): SIGHUP reads the file
// again. A file that no longer reads keeps the secrets in use. Members stay where they are.
TEST_F(RoomTokens, SighupReadsTheSecretsAgainSoKeysRotateWithoutARestart)
{
    secrets_ = web_root_.write("rotating", "old " + bare_secret + "\n");
    start();
    auto member = connect();
    member->send_json(join_with("r", make_token(claims("r"), bare_secret, "old")));
    ASSERT_EQ(member->next_json()["action"], "joined");
    const auto join_by = [&](const std::string& kid, const std::string& key) {
        auto client = connect();
        client->send_json(join_with("r", make_token(claims("r"), key, kid)));
        const json reply = client->next_json();
        return reply["action"] == "joined" ? std::string("joined")
                                           : reply.value("message", reply.dump());
    };
    EXPECT_NE(join_by("new", kid_secret).find("unknown kid"), std::string::npos);

    // The new key beside the old one.
    web_root_.write("rotating", "old " + bare_secret + "\nnew " + kid_secret + "\n");
    ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
    ASSERT_TRUE(server_->wait_for_stderr("read 2 room-token secrets")) << server_->stderr_text();
    EXPECT_EQ(join_by("new", kid_secret), "joined");
    EXPECT_EQ(join_by("old", bare_secret), "joined");

    // A mistake in the file: the secrets in use stay, and the log says why without the secret.
    web_root_.write("rotating", "new tooshort-secret\n");
    ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
    ASSERT_TRUE(server_->wait_for_stderr("keeping the secrets in use")) << server_->stderr_text();
    EXPECT_EQ(server_->stderr_text().find("tooshort"), std::string::npos);
    EXPECT_EQ(join_by("new", kid_secret), "joined");

    // The old key dropped.
    web_root_.write("rotating", "new " + kid_secret + "\n");
    ASSERT_EQ(::kill(server_->pid(), SIGHUP), 0);
    ASSERT_TRUE(server_->wait_for_stderr("read 1 room-token secret from"))
        << server_->stderr_text();
    EXPECT_NE(join_by("old", bare_secret).find("unknown kid"), std::string::npos);
    // The member admitted under the old key is still in the room, its connection untouched: it
    // heard the others come and go (each suspended as its test client dropped), and may leave.
    member->send_json({{"action", "leave"}, {"roomId", "r"}});
    json heard = member->next_json();
    for (int i = 0; i < 8 && heard["action"].get<std::string>().starts_with("peer-"); ++i)
        heard = member->next_json();
    EXPECT_EQ(heard["action"], "left") << heard.dump();
}

TEST_F(RoomTokens, TheKidPicksTheSecretAndTheTokensNameWins)
{
    start();
    auto a = connect();
    json payload = claims("*");
    payload["name"] = "From the token";
    payload["sub"] = "user-1";
    a->send_json(json{{"action", "join"},
                      {"roomId", "any"},
                      {"name", "From the page"},
                      {"token", make_token(payload, kid_secret, "k1")}});
    EXPECT_EQ(a->next_json()["action"], "joined");
    auto b = connect();
    b->send_json(join_with("any", make_token(claims("any"), bare_secret)));
    const auto joined = b->next_json();
    ASSERT_EQ(joined["action"], "joined");
    EXPECT_EQ(joined["peers"][0]["name"], "From the token");
}

TEST_F(RoomTokens, NoTokenOrSecretReachesTheLogsOrTheCommandLine)
{
    start();
    const std::string token = make_token(claims("r"), bare_secret);
    {
        auto client = connect();
        client->send_json(join_with("r", token));
        EXPECT_EQ(client->next_json()["action"], "joined");
        client->send_json(join_with("r", make_token(claims("r", -100), bare_secret)));
        client->next_json();
    }
    // An invite link's page load, logged at debug.
    EXPECT_EQ(http_request(server_->port(), "GET", "/?room=r&token=" + token).result_int(), 200u);
    std::ifstream cmdline("/proc/" + std::to_string(server_->pid()) + "/cmdline");
    std::stringstream args;
    args << cmdline.rdbuf();
    server_->send_signal(SIGTERM);
    ASSERT_TRUE(server_->wait_exit(5s).has_value());
    const std::string output = server_->stdout_text() + server_->stderr_text();
    const std::string signature = token.substr(token.rfind('.') + 1);
    for (const std::string& text : {output, args.str()}) {
        EXPECT_EQ(text.find(signature), std::string::npos) << text;
        EXPECT_EQ(text.find(bare_secret), std::string::npos) << text;
        EXPECT_EQ(text.find(kid_secret), std::string::npos) << text;
    }
    EXPECT_NE(output.find("GET /?"), std::string::npos) << output; // the request was logged
}

TEST_F(RoomTokens, AResumeNeedsNoTokenEvenOnceTheJoinsHasExpired)
{
    start();
    auto a = connect();
    auto b = connect();
    // Valid for the join, expired (past the leeway) by the time of the resume.
    a->send_json(
        join_with("r", make_token(json{{"room", "r"}, {"exp", unix_now() - 29}}, bare_secret)));
    const auto joined = a->next_json();
    ASSERT_EQ(joined["action"], "joined");
    b->send_json(join_with("r", make_token(claims("r"), bare_secret)));
    ASSERT_EQ(b->next_json()["action"], "joined");
    a->next_json(); // peer-joined b
    a->drop(true);
    EXPECT_EQ(b->next_json()["action"], "peer-suspended");
    std::this_thread::sleep_for(2s); // exp - 29 + 2 s: past the 30 s of leeway now

    auto back = connect();
    back->send_json(json{{"action", "resume"}, {"token", joined["resumeToken"]}, {"received", 1}});
    const auto resumed = back->next_json();
    EXPECT_EQ(resumed["action"], "resumed") << resumed;
    EXPECT_EQ(b->next_json()["action"], "peer-resumed");
}

TEST_F(RoomTokens, KickAndLockAreKnownActionsOnlyWithTheOption)
{
    start_server({"--auth-secret-file", secrets_.string()});
    auto client = connect();
    client->send_text(R"({"action":"dance","roomId":"r"})");
    const json with = client->next_json();
    EXPECT_EQ(with["code"], "unknown-action");
    EXPECT_NE(with["message"].get<std::string>().find("kick or lock"), std::string::npos)
        << with.dump();
    client->send_text(R"({"action":"kick","roomId":"r","clientId":"x"})");
    EXPECT_EQ(client->next_json()["code"], "not-in-room");
}

TEST_F(RoomTokens, WithoutTheOptionATokenIsIgnored)
{
    start_server();
    auto client = connect();
    client->send_text(R"({"action":"join","roomId":"r","token":5})");
    EXPECT_EQ(client->next_json()["action"], "joined");
    // ... and kick and lock are unknown actions, named as such.
    client->send_text(R"({"action":"lock","roomId":"r","locked":true})");
    const json lock = client->next_json();
    EXPECT_EQ(lock["code"], "unknown-action");
    EXPECT_EQ(lock["message"].get<std::string>().find("lock"), std::string::npos) << lock.dump();
}

// --- the secrets file at start-up, and the commands ---------------------------------------

class TokenCommands : public RoomTokens
{
protected:
    // Python's hmac, base64 and json check a token: prints the payload, or fails.
    std::string python_verify(const std::string& token, const std::string& key)
    {
        const auto script = web_root_.write("verify.py", R"(import base64, hashlib, hmac, json, sys
token, key = sys.argv[1], sys.argv[2]
head, body, sig = token.split(".")
pad = lambda s: s + "=" * (-len(s) % 4)
expected = hmac.new(key.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
assert hmac.compare_digest(base64.urlsafe_b64decode(pad(sig)), expected), "bad signature"
assert json.loads(base64.urlsafe_b64decode(pad(head)))["alg"] == "HS256"
print(json.dumps(json.loads(base64.urlsafe_b64decode(pad(body)))))
)");
        const std::string command =
            "python3 '" + script.string() + "' '" + token + "' '" + key + "' 2>&1";
        FILE* pipe = ::popen(command.c_str(), "r");
        std::string out;
        std::array<char, 512> chunk{};
        while (pipe != nullptr && std::fgets(chunk.data(), chunk.size(), pipe) != nullptr)
            out += chunk.data();
        const int status = pipe != nullptr ? ::pclose(pipe) : -1;
        EXPECT_EQ(status, 0) << out;
        return out;
    }
};

TEST_F(TokenCommands, TokenPrintsOneLineThatPythonVerifies)
{
    const auto result =
        run_signald({"token", "--auth-secret-file", secrets_.string(), "--room", "team", "--name",
                     "Ada", "--ttl", "2h", "--role", "moderator", "--kid", "k1", "--sub", "u-7"});
    ASSERT_EQ(result.status.code, 0) << result.stderr_text;
    ASSERT_TRUE(result.stdout_text.ends_with("\n"));
    const std::string token = result.stdout_text.substr(0, result.stdout_text.size() - 1);
    EXPECT_EQ(token.find('\n'), std::string::npos);
    const json payload = json::parse(python_verify(token, kid_secret));
    EXPECT_EQ(payload["room"], "team");
    EXPECT_EQ(payload["name"], "Ada");
    EXPECT_EQ(payload["role"], "moderator");
    EXPECT_EQ(payload["sub"], "u-7");
    EXPECT_NEAR(payload["exp"].get<double>() - payload["iat"].get<double>(), 7200, 0.5);
    EXPECT_NEAR(payload["iat"].get<double>(), static_cast<double>(unix_now()), 5);
}

TEST_F(TokenCommands, InvitePrintsThePageUrlWithRoomAndToken)
{
    const auto result = run_signald({"invite", "--auth-secret-file", secrets_.string(), "--room",
                                     "team room", "--url", "https://call.example.org/"});
    ASSERT_EQ(result.status.code, 0) << result.stderr_text;
    const std::string prefix = "https://call.example.org/?room=team%20room&token=";
    ASSERT_TRUE(result.stdout_text.starts_with(prefix)) << result.stdout_text;
    const std::string token =
        result.stdout_text.substr(prefix.size(), result.stdout_text.size() - prefix.size() - 1);
    EXPECT_EQ(json::parse(python_verify(token, bare_secret))["room"], "team room");
}

TEST_F(TokenCommands, AMintedTokenOpensTheRoomOnTheServer)
{
    const auto minted =
        run_signald({"token", "--auth-secret-file", secrets_.string(), "--room", "r"});
    ASSERT_EQ(minted.status.code, 0) << minted.stderr_text;
    start();
    auto client = connect();
    client->send_json(join_with("r", minted.stdout_text.substr(0, minted.stdout_text.size() - 1)));
    EXPECT_EQ(client->next_json()["action"], "joined");
}

TEST_F(TokenCommands, MistakesFailWithOneClearLine)
{
    const auto no_kid = run_signald(
        {"token", "--auth-secret-file", secrets_.string(), "--room", "r", "--kid", "zz"});
    EXPECT_NE(no_kid.status.code, 0);
    EXPECT_NE(no_kid.stderr_text.find("zz"), std::string::npos) << no_kid.stderr_text;
    const auto bad_ttl = run_signald(
        {"token", "--auth-secret-file", secrets_.string(), "--room", "r", "--ttl", "1w"});
    EXPECT_NE(bad_ttl.status.code, 0);
    EXPECT_NE(bad_ttl.stderr_text.find("--ttl"), std::string::npos) << bad_ttl.stderr_text;
    EXPECT_TRUE(bad_ttl.stdout_text.empty());
    // Without --kid the command signs with the secret that has none; a file of keyed secrets
    // only has none, and the command says so rather than pick one.
    const auto keyed_only = web_root_.write("keyed", "k1 " + kid_secret + "\n");
    const auto no_bare =
        run_signald({"token", "--auth-secret-file", keyed_only.string(), "--room", "r"});
    EXPECT_NE(no_bare.status.code, 0);
    EXPECT_TRUE(no_bare.stdout_text.empty());
    EXPECT_NE(no_bare.stderr_text.find("--kid"), std::string::npos) << no_bare.stderr_text;
    EXPECT_EQ(no_bare.stderr_text.find(kid_secret), std::string::npos) << no_bare.stderr_text;

    const auto short_secret = web_root_.write("short", "k1 tooshort\n");
    const auto refused =
        run_signald(server_args(web_root_.path(), {"--auth-secret-file", short_secret.string()}));
    EXPECT_NE(refused.status.code, 0);
    EXPECT_NE(refused.stderr_text.find("line 1"), std::string::npos) << refused.stderr_text;
    EXPECT_EQ(refused.stderr_text.find("tooshort"), std::string::npos) << refused.stderr_text;
}

} // namespace
} // namespace signald::test
