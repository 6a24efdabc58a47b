// Session resume, part 1: the resumeToken, and what ends a connection. What merely happens to a
// connection (an RST, a FIN with or without half a frame, the idle timeout) suspends its member,
// who keeps its place in the room; what the client or the server decides (a close frame, leave,
// a move, every policy close) removes it at once, and its token dies. `--resume-grace 0` is the
// protocol as it was before resume.

#include "counting_client.hpp"
#include "resume_fixture.hpp"
#include "signald_fixture.hpp"
#include "tls_client.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace signald::test::resume {
namespace {

// ---- The token -------------------------------------------------------------------------------

class ResumeToken : public ResumeFixture
{};

// At least 128 bits in base64url: 22 characters of 6 bits each.
::testing::AssertionResult is_url_safe_token(const std::string& token)
{
    static const std::regex url_safe("[A-Za-z0-9_-]{22,}");
    if (std::regex_match(token, url_safe))
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "not a URL-safe token of at least 128 bits: \"" << token << "\"";
}

TEST_F(ResumeToken, JoinedCarriesAUrlSafeTokenThatDiffersPerJoinAndReachesNobodyElse)
{
    start();
    auto a = counting();
    auto b = counting();
    auto c = counting();
    const json a_joined = a->join("t", "Ann");
    EXPECT_EQ(a_joined, (json{{"action", "joined"},
                              {"roomId", "t"},
                              {"clientId", a->client_id()},
                              {"peers", json::array()},
                              {"resumeToken", a->token()}}));
    // docs/protocol.md: keys in the documented order, the token after peers.
    const std::string& text = a->texts().back();
    EXPECT_LT(text.find(R"("peers")"), text.find(R"("resumeToken")")) << text;
    EXPECT_TRUE(is_url_safe_token(a->token()));

    b->join("t");
    c->join("elsewhere");
    ASSERT_EQ(a->next_json().value("action", ""), "peer-joined");
    const std::string a_first = a->token();
    // A move is a new membership with a new token.
    a->send_json({{"action", "join"}, {"roomId", "u"}});
    ASSERT_EQ(a->next_json(), (json{{"action", "left"}, {"roomId", "t"}}));
    const json moved = a->next_json();
    ASSERT_EQ(moved.value("action", ""), "joined");
    EXPECT_TRUE(is_url_safe_token(a->token()));
    ASSERT_EQ(b->next_json(), peer_left("t", a->client_id()));
    c->send_json({{"action", "join"}, {"roomId", "u"}});
    ASSERT_EQ(c->next_json().value("action", ""), "left");
    ASSERT_EQ(c->next_json().value("action", ""), "joined");
    ASSERT_EQ(a->next_json().value("action", ""), "peer-joined");

    const std::vector<std::string> tokens{a_first, a->token(), b->token(), c->token()};
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        EXPECT_TRUE(is_url_safe_token(tokens[i]));
        for (std::size_t j = i + 1; j < tokens.size(); ++j)
            EXPECT_NE(tokens[i], tokens[j]) << "joins " << i << " and " << j;
    }
    // Everything each client received: its own tokens only.
    const auto expect_only_own = [](const CountingClient& client,
                                    const std::vector<std::string>& others) {
        for (const std::string& text_received : client.texts())
            for (const std::string& token : others)
                EXPECT_EQ(text_received.find(token), std::string::npos)
                    << "someone else's token in " << text_received;
    };
    expect_only_own(*a, {b->token(), c->token()});
    expect_only_own(*b, {a_first, a->token(), c->token()});
    expect_only_own(*c, {a_first, a->token(), b->token()});
}

TEST_F(ResumeToken, AMoveToAnotherRoomKillsTheOldToken)
{
    start();
    meet("t");
    const std::string old_token = a_->token();
    a_->send_json({{"action", "join"}, {"roomId", "u"}});
    ASSERT_EQ(a_->next_json(), (json{{"action", "left"}, {"roomId", "t"}}));
    ASSERT_EQ(a_->next_json().value("action", ""), "joined");
    ASSERT_NE(a_->token(), old_token);
    ASSERT_EQ(b_->next_json(), peer_left("t", a_id_));

    auto other = counting();
    EXPECT_TRUE(is_resume_failed(other->resume(old_token, 2)));
    // The member in its new room is untouched, and the failed connection may still join.
    EXPECT_TRUE(a_->expect_silence());
    EXPECT_EQ(other->join("t").value("peers", json()), json::array({{{"clientId", b_id_}}}));
}

TEST_F(ResumeToken, LeaveKillsTheToken)
{
    start();
    meet("t");
    a_->send_json({{"action", "leave"}, {"roomId", "t"}});
    ASSERT_EQ(a_->next_json(), (json{{"action", "left"}, {"roomId", "t"}}));
    ASSERT_EQ(b_->next_json(), peer_left("t", a_id_));
    a_->reset();

    auto other = counting();
    EXPECT_TRUE(is_resume_failed(other->resume(a_->token(), a_->received())));
    EXPECT_TRUE(b_->expect_silence()) << "a member that left must not leave twice";
}

TEST_F(ResumeToken, NoTokenIsEverLoggedEvenAtDebugLevel)
{
    start({"--log-level", "debug"});
    meet("t");
    std::vector<std::string> tokens{a_->token()};
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("t", a_id_));
    auto second = counting();
    ASSERT_TRUE(is_resumed(second->resume(tokens[0], 1), "t", a_id_, tokens[0]));
    tokens.push_back(second->token());
    ASSERT_EQ(b_->next_json(), peer_resumed("t", a_id_));
    auto third = counting(); // a used token: refused, and logged as refused
    EXPECT_TRUE(is_resume_failed(third->resume(tokens[0], 0)));
    second->send_json({{"action", "leave"}, {"roomId", "t"}});
    ASSERT_EQ(second->next_json().value("action", ""), "left");

    // Everything the server wrote, once it has exited and flushed it.
    server_->send_signal(SIGTERM);
    ASSERT_TRUE(server_->wait_exit(5s).has_value());
    const std::string output = server_->stdout_text() + server_->stderr_text();
    ASSERT_NE(output.find(a_id_), std::string::npos) << "the debug log should name the client";
    for (const std::string& token : tokens)
        EXPECT_EQ(output.find(token), std::string::npos) << "token " << token << " in the log";
}

// ---- Suspension: what merely happens to a connection ------------------------------------------

enum class Cut
{
    reset,         // TCP RST, no close frame
    fin,           // TCP FIN, no close frame
    fin_mid_frame, // half a text frame, then FIN
    idle_timeout,  // the client goes silent and the server cuts it
};

std::string cut_name(const ::testing::TestParamInfo<Cut>& info)
{
    switch (info.param) {
    case Cut::reset:
        return "Reset";
    case Cut::fin:
        return "Fin";
    case Cut::fin_mid_frame:
        return "FinInTheMiddleOfAFrame";
    case Cut::idle_timeout:
        return "IdleTimeout";
    }
    return "Unknown";
}

class Suspension : public ResumeFixture, public ::testing::WithParamInterface<Cut>
{};

TEST_P(Suspension, TheOthersHearPeerSuspendedAndTheMemberKeepsItsPlaceUntilItResumes)
{
    const bool idle = GetParam() == Cut::idle_timeout;
    std::vector<std::string> args{"--max-room-size", "3"};
    if (idle)
        args.insert(args.end(), {"--ping-interval", "1", "--idle-timeout", "2"});
    start(args);
    meet("s");

    switch (GetParam()) {
    case Cut::reset:
        a_->reset();
        break;
    case Cut::fin:
        a_->fin();
        break;
    case Cut::fin_mid_frame: {
        const std::string frame =
            encode_frame(opcode::text, R"({"action":"signal","roomId":"s","type":"hangup"})");
        a_->raw().send_bytes(frame.substr(0, frame.size() / 2));
        a_->fin();
        break;
    }
    case Cut::idle_timeout:
        break; // a answers no ping and sends nothing
    }
    // The idle timeout takes 2 s, plus one ping interval of slack for the timer and a loaded box.
    EXPECT_EQ(b_->next_json(idle ? 4s : 2s), peer_suspended("s", a_id_));
    EXPECT_TRUE(b_->expect_silence(300ms)) << "a suspended member must not also leave";

    // It keeps its place: a joiner sees it, suspended, in join order...
    auto c = connect();
    c->send_json({{"action", "join"}, {"roomId", "s"}});
    const json joined = c->next_json();
    ASSERT_EQ(joined.value("action", ""), "joined") << joined.dump();
    const std::string c_id = joined.value("clientId", "");
    EXPECT_EQ(joined["peers"],
              json::parse(R"([{"clientId":")" + a_id_ + R"(","suspended":true},{"clientId":")" +
                          b_id_ + R"("}])"));
    EXPECT_EQ(b_->next_json(),
              (json{{"action", "peer-joined"}, {"roomId", "s"}, {"peer", {{"clientId", c_id}}}}));
    // ...it counts toward room-full...
    auto d = connect();
    d->send_json({{"action", "join"}, {"roomId", "s"}});
    const json refused = d->next_json();
    EXPECT_EQ(refused.value("code", ""), "room-full") << refused.dump();
    // ...and signals to it are accepted: the error reply to c's next request comes first.
    c->send_json(offer("s", a_id_, 1));
    c->send_json({{"action", "leave"}, {"roomId", "no-such-room"}});
    const json reply = c->next_json();
    EXPECT_EQ(reply.value("code", ""), "not-in-room") << "the signal to a was refused: " << reply;

    // It comes back where it was, and hears what it missed.
    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), a_->received()), "s", a_id_, a_->token()));
    EXPECT_EQ(back->next_json(),
              (json{{"action", "peer-joined"}, {"roomId", "s"}, {"peer", {{"clientId", c_id}}}}));
    EXPECT_EQ(back->next_json(), (json{{"action", "signal"},
                                       {"roomId", "s"},
                                       {"from", c_id},
                                       {"type", "offer"},
                                       {"data", {{"seq", 1}}},
                                       {"to", a_id_}}));
    EXPECT_TRUE(back->expect_silence());
    EXPECT_EQ(b_->next_json(), peer_resumed("s", a_id_));
    EXPECT_EQ(c->next_json(), peer_resumed("s", a_id_));
}

INSTANTIATE_TEST_SUITE_P(EachCause, Suspension,
                         ::testing::Values(Cut::reset, Cut::fin, Cut::fin_mid_frame,
                                           Cut::idle_timeout),
                         cut_name);

// ---- The same over wss:// ---------------------------------------------------------------------

enum class TlsEnd
{
    reset,    // RST under TLS
    fin,      // FIN without TLS close_notify or a WebSocket close frame
    takeover, // still open when the resume comes
};

std::string tls_end_name(const ::testing::TestParamInfo<TlsEnd>& info)
{
    switch (info.param) {
    case TlsEnd::reset:
        return "Reset";
    case TlsEnd::fin:
        return "Fin";
    case TlsEnd::takeover:
        return "Takeover";
    }
    return "Unknown";
}

class ResumeOverTls : public ResumeFixture, public ::testing::WithParamInterface<TlsEnd>
{
protected:
    // A wss:// client that does not check the self-signed certificate (not the subject here).
    std::unique_ptr<WssClient> wss()
    {
        auto client = std::make_unique<WssClient>(TlsTrust{});
        client->connect(port());
        return client;
    }
};

TEST_P(ResumeOverTls, ALostWssConnectionSuspendsAndResumesOverWss)
{
    start({"--tls-self-signed"});
    auto a = wss();
    a->send_json({{"action", "join"}, {"roomId", "w"}});
    const json joined = a->next_json();
    const std::string a_id = joined.value("clientId", "");
    const std::string token = joined.value("resumeToken", "");
    ASSERT_FALSE(token.empty()) << joined.dump();
    auto b = wss();
    const std::string b_id = b->join("w");
    ASSERT_EQ(a->next_json().value("action", ""), "peer-joined"); // 1
    b->send_json(offer("w", a_id, 1));
    ASSERT_EQ(a->next_json(), relayed("w", b_id, a_id, 1)); // 2
    b->send_json(offer("w", a_id, 2));                      // never read on this connection
    b->send_json({{"action", "leave"}, {"roomId", "no-such-room"}});
    ASSERT_EQ(b->next_json().value("code", ""), "not-in-room");

    if (GetParam() != TlsEnd::takeover) {
        a->drop(GetParam() == TlsEnd::reset);
        EXPECT_EQ(b->next_json(), peer_suspended("w", a_id));
        EXPECT_TRUE(b->expect_silence());
    }
    auto back = wss();
    back->send_json({{"action", "resume"}, {"token", token}, {"received", 2}});
    EXPECT_TRUE(is_resumed(back->next_json(), "w", a_id, token));
    EXPECT_EQ(back->next_json(), relayed("w", b_id, a_id, 2));
    EXPECT_TRUE(back->expect_silence());
    if (GetParam() == TlsEnd::takeover) {
        const auto ending = a->wait_close(2s);
        ASSERT_TRUE(ending.has_value()) << "the old connection is still open";
        EXPECT_TRUE(ending->got_close_frame) << describe(*ending);
        EXPECT_EQ(ending->code, 4001);
        EXPECT_EQ(ending->reason, "resumed elsewhere");
        EXPECT_EQ(b->next_json(), peer_suspended("w", a_id));
    }
    EXPECT_EQ(b->next_json(), peer_resumed("w", a_id));
}

INSTANTIATE_TEST_SUITE_P(EachEnd, ResumeOverTls,
                         ::testing::Values(TlsEnd::reset, TlsEnd::fin, TlsEnd::takeover),
                         tls_end_name);

// ---- Removal: what the client or the server decides -------------------------------------------

enum class Removal
{
    close_1000,
    close_1001,
    close_4000,
    close_without_code,
    leave,
    move,
    flood_1008,
    slow_consumer_1008,
    too_big_1009,
    binary_1003,
    bad_utf8_1007,
    unmasked_1002,
};

std::string removal_name(const ::testing::TestParamInfo<Removal>& info)
{
    switch (info.param) {
    case Removal::close_1000:
        return "CloseFrame1000";
    case Removal::close_1001:
        return "CloseFrame1001";
    case Removal::close_4000:
        return "CloseFrame4000";
    case Removal::close_without_code:
        return "CloseFrameWithoutCode";
    case Removal::leave:
        return "Leave";
    case Removal::move:
        return "MoveToAnotherRoom";
    case Removal::flood_1008:
        return "Flood1008";
    case Removal::slow_consumer_1008:
        return "SlowConsumer1008";
    case Removal::too_big_1009:
        return "TooBig1009";
    case Removal::binary_1003:
        return "Binary1003";
    case Removal::bad_utf8_1007:
        return "BadUtf8_1007";
    case Removal::unmasked_1002:
        return "Unmasked1002";
    }
    return "Unknown";
}

std::string close_payload(std::uint16_t code, std::string_view reason)
{
    std::string payload;
    payload += static_cast<char>(code >> 8);
    payload += static_cast<char>(code & 0xff);
    return payload.append(reason);
}

class Removed : public ResumeFixture, public ::testing::WithParamInterface<Removal>
{
protected:
    // The close the server answers (or starts) with, where the test can count on reading it.
    void expect_close(std::uint16_t code)
    {
        const auto ending = a_->wait_close(3s);
        EXPECT_TRUE(ending.got_close_frame && ending.code == code)
            << "expected close " << code << ", got "
            << (ending.got_close_frame ? std::to_string(ending.code) : "no close frame");
    }
};

TEST_P(Removed, TheOthersHearPeerLeftAtOnceAndTheTokenIsDead)
{
    switch (GetParam()) {
    case Removal::flood_1008:
        start({"--rate-msgs", "20", "--rate-bytes", "0"});
        break;
    case Removal::slow_consumer_1008:
        start({"--max-queue-bytes", "65536", "--rate-msgs", "0", "--rate-bytes", "0"});
        break;
    case Removal::too_big_1009:
        start({"--max-message-bytes", "1024"});
        break;
    default:
        start();
    }
    if (GetParam() == Removal::slow_consumer_1008) {
        // A member that stops reading, with a small window so the server's queue backs up soon.
        room_ = "x";
        a_ = std::make_unique<CountingClient>(port(), 4096);
        a_->join("x");
        a_id_ = a_->client_id();
        b_ = connect();
        b_id_ = b_->join("x");
    } else {
        meet("x");
    }
    const std::string token = a_->token();

    switch (GetParam()) {
    case Removal::close_1000:
    case Removal::close_1001:
    case Removal::close_4000: {
        const std::uint16_t code = GetParam() == Removal::close_1000   ? 1000
                                   : GetParam() == Removal::close_1001 ? 1001
                                                                       : 4000;
        a_->raw().send_frame(opcode::close, close_payload(code, "bye"));
        expect_close(code);
        break;
    }
    case Removal::close_without_code:
        a_->raw().send_frame(opcode::close, "");
        EXPECT_TRUE(a_->wait_close(3s).got_close_frame);
        break;
    case Removal::leave:
        a_->send_json({{"action", "leave"}, {"roomId", "x"}});
        EXPECT_EQ(a_->next_json(), (json{{"action", "left"}, {"roomId", "x"}}));
        break;
    case Removal::move:
        a_->send_json({{"action", "join"}, {"roomId", "y"}});
        EXPECT_EQ(a_->next_json(), (json{{"action", "left"}, {"roomId", "x"}}));
        break;
    case Removal::flood_1008: {
        // Requests that reach nobody else, as fast as the socket takes them, until the close.
        const std::string request = R"({"action":"leave","roomId":"nowhere"})";
        try {
            for (int i = 0; i < 5000 && !a_->raw().ended(); ++i)
                a_->send_text(request);
        } catch (const std::runtime_error&) {
            // the server closed while we were writing
        }
        break;
    }
    case Removal::slow_consumer_1008: {
        // 16 KiB offers to a, which reads none, until the server gives up on it.
        for (int seq = 1; seq <= 400 && b_->pending() == 0; ++seq)
            b_->send_json(offer("x", a_id_, seq, 16 * 1024));
        break;
    }
    case Removal::too_big_1009:
        a_->send_text(R"({"action":"signal","roomId":"x","type":"hangup","data":")" +
                      std::string(2000, 'b') + "\"}");
        expect_close(1009);
        break;
    case Removal::binary_1003:
        a_->raw().send_frame(opcode::binary, "binary");
        expect_close(1003);
        break;
    case Removal::bad_utf8_1007:
        a_->raw().send_frame(opcode::text, "\xff\xfe");
        expect_close(1007);
        break;
    case Removal::unmasked_1002: {
        FrameOptions unmasked;
        unmasked.masked = false;
        a_->raw().send_frame(opcode::text, "{}", unmasked);
        expect_close(1002);
        break;
    }
    }

    EXPECT_EQ(b_->next_json(5s), peer_left("x", a_id_)) << "not peer-left, or not first";
    // The two 1008s: the cause was the one meant.
    if (GetParam() == Removal::flood_1008) {
        EXPECT_EQ(rejections("flood"), 1);
    }
    if (GetParam() == Removal::slow_consumer_1008) {
        EXPECT_EQ(rejections("slow-consumer"), 1);
    }
    // b's offers after a's removal meet unknown-peer; everyone else hears nothing more.
    if (GetParam() != Removal::slow_consumer_1008) {
        EXPECT_TRUE(b_->expect_silence(300ms));
    }
    auto other = counting();
    EXPECT_TRUE(is_resume_failed(other->resume(token, a_->received())));
    EXPECT_EQ(other->join("x").value("peers", json()), json::array({{{"clientId", b_id_}}}))
        << "a must be gone from the room";
}

INSTANTIATE_TEST_SUITE_P(EachCause, Removed,
                         ::testing::Values(Removal::close_1000, Removal::close_1001,
                                           Removal::close_4000, Removal::close_without_code,
                                           Removal::leave, Removal::move, Removal::flood_1008,
                                           Removal::slow_consumer_1008, Removal::too_big_1009,
                                           Removal::binary_1003, Removal::bad_utf8_1007,
                                           Removal::unmasked_1002),
                         removal_name);

TEST_F(ResumeToken, AtShutdownMembersAreClosedWith1001AndNobodyIsSuspended)
{
    start();
    meet("x");
    auto c = connect();
    c->join("x");
    server_->send_signal(SIGTERM);
    // Whatever b and c hear before their own 1001, none of it is a suspension.
    for (WsClient* client : {b_.get(), c.get()}) {
        while (const auto text = client->next_text(3s))
            EXPECT_EQ(json::parse(*text).value("action", "").find("suspended"), std::string::npos)
                << *text;
        EXPECT_TRUE(client->expect_close(1001, 1s));
    }
    const auto ending = a_->wait_close(3s);
    EXPECT_TRUE(ending.got_close_frame && ending.code == 1001) << "a got " << ending.code;
    for (const std::string& text : a_->texts())
        EXPECT_EQ(text.find("suspended"), std::string::npos) << text;
}

// ---- --resume-grace 0: the protocol as it was -------------------------------------------------

class ResumeOff : public SignaldFixture
{};

TEST_F(ResumeOff, NoTokenACutMemberLeavesAtOnceAndResumeIsAnUnknownAction)
{
    start_server({"--resume-grace", "0"});
    CountingClient a(port());
    const json a_joined = a.join("z");
    EXPECT_EQ(a_joined, (json{{"action", "joined"},
                              {"roomId", "z"},
                              {"clientId", a.client_id()},
                              {"peers", json::array()}}));
    CountingClient b(port());
    const json b_joined = b.join("z");
    EXPECT_EQ(b_joined, (json{{"action", "joined"},
                              {"roomId", "z"},
                              {"clientId", b.client_id()},
                              {"peers", json::array({{{"clientId", a.client_id()}}})}}));
    EXPECT_EQ(a.next_json(), (json{{"action", "peer-joined"},
                                   {"roomId", "z"},
                                   {"peer", {{"clientId", b.client_id()}}}}));

    a.reset();
    EXPECT_EQ(b.next_json(), peer_left("z", a.client_id()));
    EXPECT_TRUE(b.expect_silence());

    CountingClient other(port());
    const json reply = other.resume("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0);
    EXPECT_EQ(reply, (json{{"action", "error"},
                           {"code", "unknown-action"},
                           {"message", reply.value("message", "")},
                           {"request", "resume"}}));
    // And a FIN without a close frame, too, is a departure.
    CountingClient c(port());
    c.join("z");
    ASSERT_EQ(b.next_json().value("action", ""), "peer-joined");
    c.fin();
    EXPECT_EQ(b.next_json(), peer_left("z", c.client_id()));
}

} // namespace
} // namespace signald::test::resume
