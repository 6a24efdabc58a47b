// "Why did this user's call fail?", answered from the log at info (the default level) of a real
// signald: who joined under which name, refused joins and resumes with their reason, suspension
// and resume, leaving, and the ICE path (or failure) each end reported (docs/protocol.md 5.8),
// which /metrics counts too. And `report` over the wire: no answer, every refusal with its code.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "resume_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace signald::test::resume {
namespace {

json connected(const std::string& room, const std::string& peer, const char* local,
               const char* remote, const char* protocol)
{
    return {{"action", "report"}, {"roomId", room},   {"peer", peer},        {"ice", "connected"},
            {"local", local},     {"remote", remote}, {"protocol", protocol}};
}

json failed(const std::string& room, const std::string& peer)
{
    return {{"action", "report"}, {"roomId", room}, {"peer", peer}, {"ice", "failed"}};
}

// The reply to a request the server refuses; fails the test on anything else.
json refusal(CountingClient& client, const json& request)
{
    client.send_json(request);
    const json reply = client.next_json();
    EXPECT_EQ(reply.value("action", ""), "error") << request.dump() << " -> " << reply.dump();
    return reply;
}

class CallLog : public ResumeFixture
{};

TEST_F(CallLog, AnOperatorCanFollowACallFromJoinToLeave)
{
    start({"--max-room-size", "2"});
    auto alice = counting();
    auto bob = counting();
    const std::string alice_id = alice->join("call", "Alice").value("clientId", "");
    const std::string bob_id = bob->join("call", "Bob").value("clientId", "");
    ASSERT_EQ(alice->next_json().value("action", ""), "peer-joined");

    // Each end reports its own view of the one peer connection.
    bob->send_json(connected("call", alice_id, "relay", "srflx", "udp"));
    alice->send_json(failed("call", bob_id));
    alice->send_json(
        connected("call", bob_id, "srflx", "relay", "tls")); // an ICE restart mended it
    ASSERT_TRUE(bob->expect_silence());

    auto carol = counting();
    const json full = refusal(*carol, {{"action", "join"}, {"roomId", "call"}, {"name", "Carol"}});
    EXPECT_EQ(full.value("code", ""), "room-full");

    bob->reset(); // Bob's Wi-Fi drops
    ASSERT_EQ(alice->next_json(), peer_suspended("call", bob_id));
    auto bob_again = counting();
    ASSERT_TRUE(
        is_resumed(bob_again->resume(bob->token(), bob->received()), "call", bob_id, bob->token()));
    ASSERT_EQ(alice->next_json(), peer_resumed("call", bob_id));
    auto stranger = counting();
    EXPECT_TRUE(is_resume_failed(stranger->resume(bob->token(), 0))); // the old token died

    alice->send_json({{"action", "leave"}, {"roomId", "call"}});
    ASSERT_EQ(alice->next_json().value("action", ""), "left");

    for (const std::string& line :
         {alice_id + R"( joined call as "Alice" (1 members))",
          bob_id + R"( joined call as "Bob" (2 members))",
          bob_id + " reports ICE path to " + alice_id + " in call: local relay, remote srflx, udp",
          alice_id + " reports ICE failed with " + bob_id +
              " in call: no path between them (TURN?)",
          alice_id + " reports ICE path to " + bob_id + " in call: local srflx, remote relay, tls",
          std::string(" refused join of call: room-full (room is full (2 members))"),
          bob_id + " suspended in call: its connection was lost",
          bob_id + " resumed in call (0 messages replayed)",
          std::string(" refused resume: resume-failed (the token is unknown, already used or "
                      "expired, or its member left)"),
          alice_id + " left call (left; 1 members remain)"})
        EXPECT_TRUE(server_->wait_for_stderr(line)) << line << "\n" << server_->stderr_text();
    // The log is at info: nothing at debug (a relayed message) is in it.
    EXPECT_EQ(occurrences(server_->stderr_text(), " debug "), 0u) << server_->stderr_text();

    EXPECT_EQ(
        metric(port(), R"(signald_ice_paths_total{local="relay",remote="srflx",protocol="udp"})"),
        1.0);
    EXPECT_EQ(
        metric(port(), R"(signald_ice_paths_total{local="srflx",remote="relay",protocol="tls"})"),
        1.0);
    EXPECT_EQ(
        metric(port(), R"(signald_ice_paths_total{local="host",remote="host",protocol="udp"})"),
        0.0);
    EXPECT_EQ(metric(port(), "signald_ice_failures_total"), 1.0);
    EXPECT_EQ(metric(port(), R"(signald_messages_received_total{action="report"})"), 3.0);
}

TEST_F(CallLog, AClientRetryingABadJoinIsLoggedFiveTimesAtInfoThenAtDebug)
{
    start({"--max-room-size", "1"});
    auto alice = counting();
    alice->join("call");
    auto looping = counting();
    for (int attempt = 0; attempt < 8; ++attempt)
        EXPECT_EQ(refusal(*looping, {{"action", "join"}, {"roomId", "call"}}).value("code", ""),
                  "room-full");
    // Another client has a budget of its own.
    auto other = counting();
    EXPECT_EQ(refusal(*other, {{"action", "join"}, {"roomId", "call"}}).value("code", ""),
              "room-full");
    ASSERT_TRUE(server_->wait_for_stderr("refused join of call: room-full", 6));
    ASSERT_TRUE(server_->wait_for_stderr("; its further refusals are logged at debug"));
    // One round trip more: anything logged for the refusals above is in by now.
    EXPECT_EQ(refusal(*looping, {{"action", "leave"}, {"roomId", "x"}}).value("code", ""),
              "not-in-room");
    const std::string log = server_->stderr_text();
    EXPECT_EQ(occurrences(log, "refused join of call: room-full"), 6u) << log;
    EXPECT_EQ(occurrences(log, "; its further refusals are logged at debug"), 1u) << log;
    // A refused leave is a client's slip, not why a call failed: not at info.
    EXPECT_EQ(occurrences(log, "refused leave"), 0u) << log;
}

TEST_F(CallLog, AtDebugEachRefusalIsOneLine)
{
    start({"--max-room-size", "1", "--log-level", "debug"});
    auto alice = counting();
    alice->join("call");
    auto bob = counting();
    EXPECT_EQ(refusal(*bob, {{"action", "join"}, {"roomId", "call"}}).value("code", ""),
              "room-full");
    EXPECT_EQ(refusal(*bob, {{"action", "leave"}, {"roomId", "x"}}).value("code", ""),
              "not-in-room");
    EXPECT_EQ(
        refusal(*bob, {{"action", "resume"}, {"token", std::string(43, 'A')}, {"received", 0}})
            .value("code", ""),
        "resume-failed");
    EXPECT_EQ(refusal(*bob, {{"action", "join"}}).value("code", ""), "bad-message");
    // One refusal more, whose line comes after every line of those above.
    EXPECT_EQ(refusal(*bob, {{"action", "leave"}, {"roomId", "y"}}).value("code", ""),
              "not-in-room");
    ASSERT_TRUE(server_->wait_for_stderr("refused leave: not-in-room", 2));
    const std::string log = server_->stderr_text();
    EXPECT_EQ(occurrences(log, " refused "), 5u) << log;
    EXPECT_EQ(occurrences(log, "refused join of call: room-full (room is full (1 members))"), 1u)
        << log;
    EXPECT_EQ(occurrences(log, "refused leave: not-in-room (not in this room)"), 2u) << log;
    EXPECT_EQ(occurrences(log, "refused resume: resume-failed ("), 1u) << log;
    EXPECT_EQ(occurrences(log, "refused join: bad-message ("), 1u) << log;
}

TEST_F(CallLog, AReportIsAnsweredWithNothingAndRefusedLikeASignal)
{
    start();
    meet("r");
    auto outsider = counting();
    outsider->join("elsewhere");

    // Accepted, even twice: nothing comes back, and the next request's error is the next text.
    a_->send_json(connected("r", b_id_, "host", "host", "udp"));
    a_->send_json(connected("r", b_id_, "host", "host", "udp"));
    EXPECT_EQ(refusal(*a_, connected("r", a_id_, "host", "host", "udp")).value("code", ""),
              "unknown-peer");
    EXPECT_EQ(
        metric(port(), R"(signald_ice_paths_total{local="host",remote="host",protocol="udp"})"),
        1.0);

    const auto code_of = [&](CountingClient& client, const json& request) {
        const json reply = refusal(client, request);
        EXPECT_EQ(reply.value("request", ""), "report") << reply.dump();
        return reply.value("code", "") + ": " + reply.value("message", "");
    };
    EXPECT_EQ(code_of(*a_, connected("r", outsider->client_id(), "host", "host", "udp")),
              "unknown-peer: no other member of this room has that clientId");
    EXPECT_EQ(code_of(*outsider, connected("r", a_id_, "host", "host", "udp")),
              "not-in-room: not in this room");
    EXPECT_EQ(code_of(*a_, connected("r", b_id_, "turn", "host", "udp")),
              "bad-report: local must be host, srflx, prflx or relay");
    EXPECT_EQ(code_of(*a_, connected("r", b_id_, "host", "host", "quic")),
              "bad-report: protocol must be udp, tcp or tls");
    EXPECT_EQ(
        code_of(*a_, {{"action", "report"}, {"roomId", "r"}, {"peer", b_id_}, {"ice", "new"}}),
        "bad-report: ice must be connected or failed");
    EXPECT_EQ(code_of(*a_, {{"action", "report"}, {"roomId", "r"}, {"peer", 7}, {"ice", "failed"}}),
              "bad-message: peer must be a string");
    EXPECT_EQ(metric(port(), R"(signald_protocol_errors_total{code="bad-report"})"), 3.0);
    EXPECT_EQ(metric(port(), "signald_ice_failures_total"), 0.0);
}

} // namespace
} // namespace signald::test::resume
