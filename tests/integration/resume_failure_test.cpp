// Session resume, part 3: when it cannot work. Each cause of resume-failed (unknown, used, expired
// or removed token; a count beyond what the old connection was handed; a message no longer held;
// resume not first), malformed resumes (bad-message), the cap on what a member holds, and the end
// of the grace period with exactly one peer-left. A failed resume with a valid token removes the
// member; the connection stays open as a fresh client.

#include "counting_client.hpp"
#include "http_client.hpp"
#include "resume_fixture.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace signald::test::resume {
namespace {

// A token of the right shape that the server never issued.
const std::string unknown_token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

class ResumeFailure : public ResumeFixture
{
protected:
    // client, whose resume failed, is a fresh client: it may join a's room as a new member.
    void expect_joins_afresh(CountingClient& client)
    {
        const json joined = client.join(room_);
        EXPECT_NE(client.client_id(), a_id_) << "a fresh join gets a new clientId";
        EXPECT_EQ(joined.value("peers", json()), json::array({{{"clientId", b_id_}}}))
            << "a must be gone";
        EXPECT_EQ(b_->next_json(), (json{{"action", "peer-joined"},
                                         {"roomId", room_},
                                         {"peer", {{"clientId", client.client_id()}}}}));
    }
};

TEST_F(ResumeFailure, AnUnknownTokenFailsAndTheConnectionMayStillJoin)
{
    start();
    meet("f");
    auto client = counting();
    EXPECT_TRUE(is_resume_failed(client->resume(unknown_token, 0)));
    EXPECT_TRUE(b_->expect_silence()) << "an unknown token touches nobody";
    const json joined = client->join("f");
    EXPECT_EQ(joined["peers"].size(), 2u) << joined.dump();
}

TEST_F(ResumeFailure, AUsedTokenFailsAndTheMemberThatResumedWithItStays)
{
    start();
    meet("f");
    const std::string token = a_->token();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("f", a_id_));
    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(token, 1), "f", a_id_, token));
    ASSERT_EQ(b_->next_json(), peer_resumed("f", a_id_));

    auto replayer = counting();
    EXPECT_TRUE(is_resume_failed(replayer->resume(token, 1)));
    EXPECT_TRUE(b_->expect_silence()) << "a dead token must not remove the member";
    EXPECT_TRUE(back->expect_silence()) << "nor take over its connection";
    offers_to_a(1, 1);
    reads_offers(*back, 1, 1);
}

TEST_F(ResumeFailure, ACountBeyondWhatTheOldConnectionWasHandedFailsAndRemovesTheMember)
{
    start();
    meet("f");
    offers_to_a(1, 2);
    reads_offers(*a_, 1, 2);
    b_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("f", a_id_));
    offers_to_a(3, 5); // queued while suspended: never handed to the old connection
    b_round_trip();

    auto client = counting();
    EXPECT_TRUE(is_resume_failed(client->resume(a_->token(), 4)))
        << "3 messages were handed over; queued ones do not count";
    EXPECT_EQ(b_->next_json(), peer_left("f", a_id_));
    EXPECT_TRUE(b_->expect_silence());
    // The token died with the member.
    auto again = counting();
    EXPECT_TRUE(is_resume_failed(again->resume(a_->token(), 3)));
    EXPECT_TRUE(b_->expect_silence()) << "peer-left exactly once";
    expect_joins_afresh(*client);
}

class HugeCount : public ResumeFailure, public ::testing::WithParamInterface<const char*>
{};

// Counts no 64-bit integer (or double) holds exactly are still non-negative integers: far more
// than was handed over, so resume-failed, never a wrap-around to a small count.
TEST_P(HugeCount, IsBeyondWhatWasHandedAndFails)
{
    start();
    meet("f");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("f", a_id_));
    auto client = counting();
    client->send_text(R"({"action":"resume","token":")" + a_->token() + R"(","received":)" +
                      GetParam() + "}");
    EXPECT_TRUE(is_resume_failed(client->next_json()));
    EXPECT_EQ(b_->next_json(), peer_left("f", a_id_));
}

INSTANTIATE_TEST_SUITE_P(Counts, HugeCount,
                         ::testing::Values("9007199254740993", "18446744073709551615",
                                           "18446744073709551617"));

TEST_F(ResumeFailure, AResumeThatIsNotTheFirstMessageFailsAndRemovesTheMember)
{
    start();
    meet("f");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("f", a_id_));

    auto client = counting();
    client->send_json({{"action", "leave"}, {"roomId", "f"}});
    ASSERT_EQ(client->next_json().value("code", ""), "not-in-room");
    EXPECT_TRUE(is_resume_failed(client->resume(a_->token(), 1)));
    EXPECT_EQ(b_->next_json(), peer_left("f", a_id_));
    expect_joins_afresh(*client);
}

TEST_F(ResumeFailure, AResumeAfterTheGraceFailsAndTheOthersHeardPeerLeftOnceInTime)
{
    constexpr auto grace = 2s;
    start({}, 2);
    meet("f");
    const auto cut = Clock::now();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("f", a_id_));
    // Within 1 s after the grace; 0.5 s more for a loaded machine.
    ASSERT_EQ(b_->next_json(5s), peer_left("f", a_id_));
    const auto after = Clock::now() - cut;
    EXPECT_GE(after, grace - 100ms) << "peer-left before the grace period ended";
    EXPECT_LE(after, grace + 1500ms)
        << "peer-left " << std::chrono::duration_cast<std::chrono::milliseconds>(after).count()
        << " ms after the cut";
    EXPECT_TRUE(b_->expect_silence(1200ms)) << "peer-left exactly once";

    auto late = counting();
    EXPECT_TRUE(is_resume_failed(late->resume(a_->token(), 1)));
    EXPECT_TRUE(b_->expect_silence());
    expect_joins_afresh(*late);
}

TEST_F(ResumeFailure, FailedResumesCountAgainstTheFloodLimits)
{
    start({"--rate-msgs", "20", "--rate-bytes", "0"});
    auto guesser = counting();
    // Guessing tokens as fast as the socket takes the guesses, until the server has had enough.
    const std::string guess =
        nlohmann::json{{"action", "resume"}, {"token", unknown_token}, {"received", 0}}.dump();
    try {
        for (int i = 0; i < 5000 && !guesser->raw().ended(); ++i)
            guesser->send_text(guess);
    } catch (const std::runtime_error&) {
        // the server closed while we were writing
    }
    EXPECT_EQ(wait_for_metric(port(), R"(signald_rejections_total{reason="flood"})", 1), 1)
        << "a flood of failed resumes was not closed as a flood";
    EXPECT_TRUE(is_resume_failed(guesser->next_json())) << "the first guess is answered";
}

// ---- Malformed resumes ---------------------------------------------------------------------

class MalformedResume : public ResumeFixture, public ::testing::WithParamInterface<const char*>
{};

TEST_P(MalformedResume, IsBadMessageForResumeAndTheConnectionStaysOpen)
{
    start();
    auto client = counting();
    client->send_text(GetParam());
    const json reply = client->next_json();
    EXPECT_EQ(reply, (json{{"action", "error"},
                           {"code", "bad-message"},
                           {"message", reply.value("message", "")},
                           {"request", "resume"}}));
    EXPECT_TRUE(client->join("m").contains("clientId"));
}

INSTANTIATE_TEST_SUITE_P(
    TokenOrCount, MalformedResume,
    ::testing::Values(
        R"({"action":"resume","token":5,"received":0})",
        R"({"action":"resume","token":null,"received":0})", R"({"action":"resume","received":0})",
        R"({"action":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","received":-1})",
        R"({"action":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","received":1.5})",
        R"({"action":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","received":"3"})",
        R"({"action":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","received":null})",
        R"({"action":"resume","token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})"));

// ---- The cap on what a member holds ----------------------------------------------------------

// Offers of about 600 bytes as relayed: three fit in 2048 bytes, four do not.
constexpr std::size_t pad_bytes = 500;

class ResumeCap : public ResumeFixture
{};

TEST_F(ResumeCap, AConnectedMemberPastTheCapDropsItsOldestSoAResumeNeedingThemFails)
{
    start({"--resume-buffer-bytes", "2048"});
    meet("c");
    offers_to_a(1, 8, pad_bytes);
    reads_offers(*a_, 1, 8, pad_bytes);
    b_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("c", a_id_))
        << "within the cap when cut: suspended, not removed";

    auto back = counting();
    EXPECT_TRUE(is_resume_failed(back->resume(a_->token(), 1)))
        << "offer 1 no longer fits in 2048 bytes";
    EXPECT_EQ(b_->next_json(), peer_left("c", a_id_));
}

TEST_F(ResumeCap, AConnectedMemberPastTheCapKeepsItsNewestMessages)
{
    start({"--resume-buffer-bytes", "2048"});
    meet("c");
    offers_to_a(1, 8, pad_bytes);
    reads_offers(*a_, 1, 6, pad_bytes);
    b_round_trip();
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("c", a_id_));

    auto back = counting();
    ASSERT_TRUE(is_resumed(back->resume(a_->token(), 7), "c", a_id_, a_->token()));
    reads_offers(*back, 7, 8, pad_bytes);
    EXPECT_TRUE(back->expect_silence(300ms));
}

TEST_F(ResumeCap, ASuspendedMemberThatWouldPassTheCapIsRemovedAtOnce)
{
    start({"--resume-buffer-bytes", "4096"});
    meet("c");
    a_->reset();
    ASSERT_EQ(b_->next_json(), peer_suspended("c", a_id_));
    // About 1100 bytes each: three fit in 4096 bytes...
    offers_to_a(1, 3, 1000);
    b_round_trip();
    // ...the fourth does not: a goes before b hears the reply to its next request.
    offers_to_a(4, 6, 1000);
    b_->send_json({{"action", "leave"}, {"roomId", "no-such-room"}});
    EXPECT_EQ(b_->next_json(), peer_left("c", a_id_));

    auto back = counting();
    EXPECT_TRUE(is_resume_failed(back->resume(a_->token(), 1)));
}

} // namespace
} // namespace signald::test::resume
