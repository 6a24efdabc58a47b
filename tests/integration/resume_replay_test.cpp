// Session resume, part 2: what a resume brings back. The replay starts right after the count the
// client gives and holds every message exactly once, in order: those handed to the old connection
// but never acknowledged, then those queued while the member was suspended. A second resume
// counts replayed messages like any other. `resumed` carries fresh TURN credentials. A half-open
// old connection is taken over (close 4001). A pong to a server ping acknowledges what was sent
// before that ping; an unsolicited pong acknowledges nothing.

#include "counting_client.hpp"
#include "resume_fixture.hpp"
#include "turn_credential_check.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace signald::test::resume {
namespace {

class ResumeReplay : public ResumeFixture
{};

TEST_F(ResumeReplay, ReplaysTheUnacknowledgedThenTheQueuedMessagesExactlyOnceInOrder)
{
    start();
    meet("p");
    offers_to_a(1, 6);
    reads_offers(*a_, 1, 2); // 3, 4, 5 and 6 are lost with the connection
    ASSERT_EQ(a_->received(), 3u);
    b_round_trip(); // the server has handed all six to a's connection
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    offers_to_a(7, 9); // queued while suspended
    b_round_trip();

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 3), "p", a_id_, a_->token()));
    reads_offers(*back, 3, 9);
    EXPECT_TRUE(back->expect_silence(300ms)) << "a message replayed twice, or an extra one";
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));

    // Live traffic follows, both ways, under the same clientId.
    offers_to_a(10, 10);
    reads_offers(*back, 10, 10);
    back->send_json({{"action", "signal"}, {"roomId", "p"}, {"type", "answer"}, {"data", 10}});
    EXPECT_EQ(b_->next_json(), (json{{"action", "signal"},
                                     {"roomId", "p"},
                                     {"from", a_id_},
                                     {"type", "answer"},
                                     {"data", 10}}));
}

TEST_F(ResumeReplay, AClientThatReadEverythingGetsOnlyWhatWasQueuedWhileSuspended)
{
    start();
    meet("p");
    offers_to_a(1, 3);
    reads_offers(*a_, 1, 3);
    a_->fin();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    offers_to_a(4, 5);
    b_round_trip();

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 4), "p", a_id_, a_->token()));
    reads_offers(*back, 4, 5);
    EXPECT_TRUE(back->expect_silence(300ms));
}

TEST_F(ResumeReplay, AnUneventfulBlipReplaysNothing)
{
    start();
    meet("p");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 1), "p", a_id_, a_->token()));
    EXPECT_TRUE(back->expect_silence(300ms));
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));
}

TEST_F(ResumeReplay, MembersWhoJoinedDuringTheSuspensionHearPeerResumedAndTheReplayTellsOfThem)
{
    start();
    meet("p");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));

    auto c = connect();
    c->send_json({{"action", "join"}, {"roomId", "p"}, {"name", "Cy"}});
    const json c_joined = c->next_json();
    const std::string c_id = c_joined.value("clientId", "");
    ASSERT_EQ(c_joined["peers"],
              json::parse(R"([{"clientId":")" + a_id_ + R"(","suspended":true},{"clientId":")" +
                          b_id_ + R"("}])"));
    c->send_json({{"action", "signal"}, {"roomId", "p"}, {"type", "offer"}, {"to", a_id_}});
    // Its answer comes after the signal was handled (one sender's messages are handled in
    // order), so d's join below cannot overtake it, even with c and d on different nodes.
    c->send_json({{"action", "leave"}, {"roomId", "elsewhere"}});
    ASSERT_EQ(c->next_json().value("code", ""), "not-in-room");
    // d comes and goes while a is away.
    auto d = connect();
    const std::string d_id = d->join("p");
    d->send_json({{"action", "leave"}, {"roomId", "p"}});
    ASSERT_EQ(d->next_json().value("action", ""), "left");

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 1), "p", a_id_, a_->token()));
    EXPECT_EQ(back->next_json(), (json{{"action", "peer-joined"},
                                       {"roomId", "p"},
                                       {"peer", {{"clientId", c_id}, {"name", "Cy"}}}}));
    EXPECT_EQ(back->next_json(), (json{{"action", "signal"},
                                       {"roomId", "p"},
                                       {"from", c_id},
                                       {"type", "offer"},
                                       {"to", a_id_}}));
    EXPECT_EQ(back->next_json(),
              (json{{"action", "peer-joined"}, {"roomId", "p"}, {"peer", {{"clientId", d_id}}}}));
    EXPECT_EQ(back->next_json(), peer_left("p", d_id));
    EXPECT_TRUE(back->expect_silence(300ms));

    EXPECT_EQ(c->next_json().value("action", ""), "peer-joined"); // d
    EXPECT_EQ(c->next_json(), peer_left("p", d_id));
    EXPECT_EQ(c->next_json(), peer_resumed("p", a_id_));
    EXPECT_EQ(b_->next_json().value("action", ""), "peer-joined"); // c
    EXPECT_EQ(b_->next_json().value("action", ""), "peer-joined"); // d
    EXPECT_EQ(b_->next_json(), peer_left("p", d_id));
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));
    EXPECT_TRUE(d->expect_silence()) << "d left before a came back";
}

TEST_F(ResumeReplay, WhatHappensToOthersWhileSuspendedIsInTheReplay)
{
    start();
    meet("p");
    auto c = counting();
    c->join("p");
    ASSERT_EQ(b_->next_json().value("action", ""), "peer-joined");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    ASSERT_EQ(c->next_json(), peer_suspended("p", a_id_));
    // c blips too while a is away, and comes back first.
    c->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", c->client_id()));
    auto c_back = counting();
    ASSERT_TRUE(
        is_resumed(c_back->resume(c->token(), c->received()), "p", c->client_id(), c->token()));
    EXPECT_TRUE(c_back->expect_silence());
    ASSERT_EQ(b_->next_json(), peer_resumed("p", c->client_id()));

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 1), "p", a_id_, a_->token()));
    EXPECT_EQ(back->next_json(), (json{{"action", "peer-joined"},
                                       {"roomId", "p"},
                                       {"peer", {{"clientId", c->client_id()}}}}));
    EXPECT_EQ(back->next_json(), peer_suspended("p", c->client_id()));
    EXPECT_EQ(back->next_json(), peer_resumed("p", c->client_id()));
    EXPECT_TRUE(back->expect_silence());
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));
    EXPECT_EQ(c_back->next_json(), peer_resumed("p", a_id_));
}

TEST_F(ResumeReplay, ARoomWhoseOnlyMemberIsSuspendedLivesOn)
{
    start();
    meet("p");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    b_->send_json({{"action", "leave"}, {"roomId", "p"}});
    ASSERT_EQ(b_->next_json().value("action", ""), "left");

    auto d = connect();
    d->send_json({{"action", "join"}, {"roomId", "p"}});
    const json joined = d->next_json();
    const std::string d_id = joined.value("clientId", "");
    EXPECT_EQ(joined["peers"],
              json::parse(R"([{"clientId":")" + a_id_ + R"(","suspended":true}])"));

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 1), "p", a_id_, a_->token()));
    EXPECT_EQ(back->next_json(), peer_left("p", b_id_));
    EXPECT_EQ(back->next_json(),
              (json{{"action", "peer-joined"}, {"roomId", "p"}, {"peer", {{"clientId", d_id}}}}));
    EXPECT_TRUE(back->expect_silence());
    EXPECT_EQ(d->next_json(), peer_resumed("p", a_id_));
}

TEST_F(ResumeReplay, ASecondResumeCountsTheReplayedMessagesOnTheConnectionThatGotThem)
{
    start();
    meet("p");
    offers_to_a(1, 4);
    reads_offers(*a_, 1, 2);
    b_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    offers_to_a(5, 6);

    // The second connection takes two of the replayed messages, then vanishes too.
    auto second = counting();
    ASSERT_TRUE(is_resumed(second->resume(a_->token(), 3), "p", a_id_, a_->token()));
    reads_offers(*second, 3, 4);
    ASSERT_EQ(second->received(), 2u);
    ASSERT_EQ(b_->next_json(), peer_resumed("p", a_id_));
    b_round_trip(); // and 5 and 6 have been handed to it
    second->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    offers_to_a(7, 7);

    // The third resumes with the second's count: the rest of the replay, then the new queue.
    auto third = counting();
    ASSERT_TRUE(is_resumed(third->resume(second->token(), 2), "p", a_id_, second->token()));
    reads_offers(*third, 5, 7);
    EXPECT_TRUE(third->expect_silence(300ms));
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));
}

TEST_F(ResumeReplay, TheSecondResumeMayAlsoComeAfterEverythingReplayedWasRead)
{
    start();
    meet("p");
    offers_to_a(1, 2);
    b_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));

    auto second = counting();
    ASSERT_TRUE(is_resumed(second->resume(a_->token(), 1), "p", a_id_, a_->token()));
    reads_offers(*second, 1, 2);
    ASSERT_EQ(b_->next_json(), peer_resumed("p", a_id_));
    offers_to_a(3, 3);
    reads_offers(*second, 3, 3);
    second->fin();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));

    auto third = counting();
    ASSERT_TRUE(is_resumed(third->resume(second->token(), 3), "p", a_id_, second->token()));
    EXPECT_TRUE(third->expect_silence(300ms));
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));
}

// ---- Fresh TURN credentials ------------------------------------------------------------------

// The expiry in a TURN username "<expiry>:<clientId>".
std::int64_t expiry_of(const json& ice_servers)
{
    const std::string username = ice_servers.at(0).value("username", "");
    return std::stoll(username.substr(0, username.find(':')));
}

TEST_F(ResumeReplay, ResumedCarriesIceServersWithCredentialsMadeAtTheResume)
{
    const std::string secret = "resume-secret";
    constexpr std::int64_t ttl = 600;
    start({"--ice-server", "turn:127.0.0.1:3478", "--turn-secret", secret, "--turn-ttl",
           std::to_string(ttl)});
    meet("p");
    ASSERT_TRUE(a_joined_.contains("iceServers")) << a_joined_.dump();
    const std::int64_t joined_expiry = expiry_of(a_joined_["iceServers"]);
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    // Let the Unix second move on, so credentials made now differ from the join's.
    const std::int64_t joined_at = joined_expiry - ttl;
    const auto wait_until = Clock::now() + 2500ms;
    while (unix_now() <= joined_at && Clock::now() < wait_until)
        ASSERT_TRUE(b_->expect_silence(100ms));
    ASSERT_GT(unix_now(), joined_at);

    auto back = counting();
    const std::int64_t before = unix_now();
    const json resumed = back->resume(a_->token(), 1);
    const std::int64_t after = unix_now();
    ASSERT_TRUE(is_resumed(resumed, "p", a_id_, a_->token()));
    ASSERT_TRUE(resumed.contains("iceServers")) << resumed.dump();
    const json& servers = resumed["iceServers"];
    ASSERT_EQ(servers.size(), 1u) << servers.dump();
    EXPECT_EQ(servers[0]["urls"], json::array({"turn:127.0.0.1:3478"}));
    const std::string username = servers[0].value("username", "");
    const std::int64_t expiry = expiry_of(servers);
    EXPECT_EQ(username, std::to_string(expiry) + ":" + a_id_);
    EXPECT_GE(expiry, before + ttl);
    EXPECT_LE(expiry, after + ttl);
    EXPECT_GT(expiry, joined_expiry) << "the credentials of the join, not fresh ones";
    EXPECT_EQ(servers[0].value("credential", ""), expected_credential(secret, username));
    // The order of the fields as documented: iceServers last.
    const std::string& text = back->texts().front();
    EXPECT_LT(text.find(R"("resumeToken")"), text.find(R"("iceServers")")) << text;
}

// ---- Takeover of a half-open connection ------------------------------------------------------

TEST_F(ResumeReplay, AResumeTakesOverAHalfOpenConnectionWhichGetsClose4001)
{
    start();
    meet("p");
    offers_to_a(1, 3);
    reads_offers(*a_, 1, 1);
    b_round_trip();
    // a's connection is still open as far as the server knows; a "reconnects" anyway.
    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 2), "p", a_id_, a_->token()));
    reads_offers(*back, 2, 3);
    EXPECT_TRUE(back->expect_silence(300ms));

    const auto ending = a_->wait_close(2s);
    EXPECT_TRUE(ending.got_close_frame) << "the old connection got no close frame";
    EXPECT_EQ(ending.code, 4001);
    EXPECT_EQ(ending.reason, "resumed elsewhere");
    EXPECT_TRUE(ending.ended) << "the server must cut the old connection without waiting for it";

    EXPECT_EQ(b_->next_json(), peer_suspended("p", a_id_));
    EXPECT_EQ(b_->next_json(), peer_resumed("p", a_id_));
    EXPECT_TRUE(b_->expect_silence());
    // The member lives on in the new connection.
    offers_to_a(4, 4);
    reads_offers(*back, 4, 4);
}

TEST_F(ResumeReplay, AFailedTakeoverRemovesTheMember)
{
    start();
    meet("p");
    offers_to_a(1, 2);
    b_round_trip();
    // a's connection is still open; the resume claims more than it was ever handed (3).
    auto back = counting();
    EXPECT_TRUE(is_resume_failed(back->resume(a_->token(), 4)));
    // Nothing was taken over: the old connection is not closed with 4001 but told that it left,
    // after what it had not read yet, and the others hear a leave, without a suspension first.
    reads_offers(*a_, 1, 2);
    EXPECT_EQ(a_->next_json(), (json{{"action", "left"}, {"roomId", "p"}}));
    EXPECT_EQ(b_->next_json(), peer_left("p", a_id_));
    EXPECT_TRUE(b_->expect_silence());
    auto again = counting();
    EXPECT_TRUE(is_resume_failed(again->resume(a_->token(), 3)));
    // The old connection stays open as a fresh client.
    a_->send_json({{"action", "join"}, {"roomId", "p"}});
    EXPECT_EQ(a_->next_json().value("action", ""), "joined");
}

// ---- Acknowledgement by pong -----------------------------------------------------------------

class ResumeAcks : public ResumeFixture
{
protected:
    // Pings every second; a client that answers none stays long enough for the test.
    void start_pinging() { start({"--ping-interval", "1", "--idle-timeout", "30"}); }

    // a sends a request whose error reply proves the server has read everything a sent before.
    void a_round_trip()
    {
        a_->send_json({{"action", "leave"}, {"roomId", "no-such-room"}});
        const json reply = a_->next_json();
        ASSERT_EQ(reply.value("code", ""), "not-in-room") << reply.dump();
    }

    // a reads offers 1..3, answers the next ping (sent after them), and then a round trip
    // (message 5) shows the pong arrived.
    void a_acknowledges_offers()
    {
        offers_to_a(1, 3);
        reads_offers(*a_, 1, 3);
        a_->discard_pings();
        const auto ping = a_->wait_latest_ping(3s);
        ASSERT_TRUE(ping) << "no ping within 3 s at --ping-interval 1";
        a_->pong(*ping);
        a_round_trip();
        ASSERT_EQ(a_->received(), 5u);
    }
};

TEST_F(ResumeAcks, APongTrimsWhatWasSentBeforeItsPingSoAResumeNeedingThatFails)
{
    start_pinging();
    meet("k");
    a_acknowledges_offers();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("k", a_id_));

    auto back = counting();
    EXPECT_TRUE(is_resume_failed(back->resume(a_->token(), 1)))
        << "offer 1 was acknowledged by the pong and must no longer be held";
    EXPECT_EQ(b_->next_json(), peer_left("k", a_id_));
}

TEST_F(ResumeAcks, AfterAPongWhatWasSentAfterItsPingIsStillReplayed)
{
    start_pinging();
    meet("k");
    a_acknowledges_offers();
    offers_to_a(4, 4); // not yet read: the connection dies with it
    b_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("k", a_id_));

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 4), "k", a_id_, a_->token()));
    const json error = back->next_json(); // message 5, sent after the ping
    EXPECT_EQ(error.value("code", ""), "not-in-room") << error.dump();
    reads_offers(*back, 4, 4);
    EXPECT_TRUE(back->expect_silence(300ms));
}

// On a resumed connection the replayed messages are numbered like live ones, so a pong there
// acknowledges them too: resumed -> offers 1..3 replayed (1..3) -> ping -> pong -> error (4).
class ResumedAcks : public ResumeAcks
{
protected:
    std::unique_ptr<CountingClient> resume_and_acknowledge_the_replay()
    {
        start_pinging();
        meet("k");
        offers_to_a(1, 3);
        b_round_trip();
        a_->reset();
        EXPECT_EQ(b_->next_json(), peer_suspended("k", a_id_));
        auto back = counting();
        EXPECT_TRUE(is_resumed(back->resume(a_->token(), 1), "k", a_id_, a_->token()));
        reads_offers(*back, 1, 3);
        back->discard_pings();
        const auto ping = back->wait_latest_ping(3s);
        EXPECT_TRUE(ping) << "no ping within 3 s at --ping-interval 1";
        back->pong(ping.value_or(""));
        back->send_json({{"action", "leave"}, {"roomId", "no-such-room"}});
        EXPECT_EQ(back->next_json().value("code", ""), "not-in-room");
        EXPECT_EQ(back->received(), 4u);
        back->reset();
        EXPECT_EQ(b_->next_json(), peer_resumed("k", a_id_));
        EXPECT_EQ(b_->next_json(), peer_suspended("k", a_id_));
        return back;
    }
};

TEST_F(ResumedAcks, APongOnAResumedConnectionTrimsTheReplayedMessages)
{
    const auto second = resume_and_acknowledge_the_replay();
    auto third = counting();
    EXPECT_TRUE(is_resume_failed(third->resume(second->token(), 1)))
        << "replayed offer 2 was acknowledged on the second connection";
    EXPECT_EQ(b_->next_json(), peer_left("k", a_id_));
}

TEST_F(ResumedAcks, APongOnAResumedConnectionKeepsWhatWasSentAfterItsPing)
{
    const auto second = resume_and_acknowledge_the_replay();
    auto third = counting();
    ASSERT_TRUE(is_resumed(third->resume(second->token(), 3), "k", a_id_, second->token()));
    EXPECT_EQ(third->next_json().value("code", ""), "not-in-room");
    EXPECT_TRUE(third->expect_silence(300ms));
}

TEST_F(ResumeAcks, AnUnsolicitedPongOrOneWithTheWrongPayloadAcknowledgesNothing)
{
    start_pinging();
    meet("k");
    offers_to_a(1, 3);
    reads_offers(*a_, 1, 3);
    a_->discard_pings();
    const auto ping = a_->wait_latest_ping(3s);
    ASSERT_TRUE(ping) << "no ping within 3 s at --ping-interval 1";
    std::string wrong = *ping;
    wrong.push_back('x'); // not what the server sent
    a_->pong(wrong);
    a_->pong("");
    a_->pong("unasked!");
    a_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("k", a_id_));

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 0), "k", a_id_, a_->token()))
        << "everything since joined must still be held";
    EXPECT_EQ(back->next_json(),
              (json{{"action", "peer-joined"}, {"roomId", "k"}, {"peer", {{"clientId", b_id_}}}}));
    reads_offers(*back, 1, 3);
    EXPECT_EQ(back->next_json().value("code", ""), "not-in-room");
    EXPECT_TRUE(back->expect_silence(300ms));
}

} // namespace
} // namespace signald::test::resume
