// Session resume in the hub (docs/protocol.md 8.1): suspension and removal, the token, numbering
// and trimming at acknowledgements, replay from the unacknowledged messages and from the
// suspended queue, the cap, expiry, takeover, and every cause of resume-failed. Every message is
// also checked against its receiver's view (client_view.hpp), so a replay that repeats or skips a
// message breaks the oracle's rules (peer-joined twice, signal from a non-member, ...).

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace signald {
namespace hub_resume_test {

using namespace std::chrono_literals;
using test::SentMessage;

std::string join_text(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

std::string signal_text(std::string_view room, int data, std::string_view to = {})
{
    std::string out = R"({"action":"signal","roomId":")" + std::string(room) +
                      R"(","type":"offer","data":)" + std::to_string(data);
    if (!to.empty())
        out += R"(,"to":")" + std::string(to) + '"';
    return out + "}";
}

std::string resume_text(std::string_view token, std::uint64_t received)
{
    return R"({"action":"resume","token":")" + std::string(token) + R"(","received":)" +
           std::to_string(received) + "}";
}

// The harness, with a log of everything sent that take() does not clear: what each client was
// told since its current token is what a real client would count.
class Resume : public test::HubHarness
{
public:
    explicit Resume(HubLimits limits = test::resume_limits()) : HubHarness(limits)
    {
        auto check = transport.on_send;
        transport.on_send = [this, check](const SentMessage& message) {
            check(message);
            log_.push_back(message);
        };
    }

    // The token of the latest joined or resumed that id was sent.
    std::string token(const ClientId& id) const
    {
        std::string out;
        for (const SentMessage& message : log_)
            if (message.to == id && (message.action() == "joined" || message.action() == "resumed"))
                out = message.field("resumeToken");
        return out;
    }
    // Text messages id was sent after the joined or resumed that gave it its token.
    std::uint64_t received(const ClientId& id) const
    {
        std::uint64_t count = 0;
        for (const SentMessage& message : log_) {
            if (message.to != id)
                continue;
            const bool issues_token = message.action() == "joined" || message.action() == "resumed";
            count = issues_token ? 0 : count + 1;
        }
        return count;
    }
    // What id was sent since the last take(), as actions (with `data` for signals).
    std::vector<std::string> told(const std::vector<SentMessage>& sent, const ClientId& id) const
    {
        std::vector<std::string> out;
        for (const SentMessage& message : sent)
            if (message.to == id)
                out.push_back(message.action() == "signal"
                                  ? "signal " + message.json()["data"].dump()
                                  : message.action());
        return out;
    }

    // A new connection that resumes id's membership; returns the connection's own id.
    ClientId resume(const ClientId& id, std::uint64_t received)
    {
        const std::string t = token(id);
        const ClientId connection = connect();
        send(connection, resume_text(t, received));
        return connection;
    }

private:
    std::vector<SentMessage> log_;
};

const std::vector<std::string> nothing;

TEST(HubResume, JoinedCarriesAFreshUrlSafeTokenOfAtLeast128BitsOnlyWhenResumeIsOn)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    const std::string a = h.token(ids[0]);
    const std::string b = h.token(ids[1]);
    // 10 characters of clientId, then 24 of base64url: 144 random bits.
    EXPECT_TRUE(std::regex_match(a, std::regex("[0-9a-z]{10}[A-Za-z0-9_-]{24}"))) << a;
    EXPECT_NE(a, b);

    test::HubHarness off; // resume_grace 0: exactly the protocol without resume
    const auto plain = off.connect();
    off.send(plain, join_text("r"));
    const auto sent = off.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_FALSE(sent[0].json().contains("resumeToken")) << sent[0].text;
    off.send(plain, resume_text(a, 0));
    const auto refused = off.take();
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_EQ(refused[0].code(), "unknown-action");
}

TEST(HubResume, ALostConnectionSuspendsItsMemberWhoKeepsItsPlace)
{
    Resume h(test::resume_limits(30s, 1 << 20, 3));
    const auto ids = h.fill("r", 2);
    h.disconnect(ids[1], ConnectionEnd::lost);
    auto sent = h.take();
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-suspended"});
    EXPECT_EQ(sent.size(), 1u);
    EXPECT_TRUE(h.hub.is_suspended(ids[1]));
    EXPECT_EQ(h.members("r"), ids);
    EXPECT_EQ(h.hub.client_count(), 1u);
    EXPECT_EQ(h.hub.suspended_count(), 1u);

    // A signal to it is accepted (held, not refused with unknown-peer).
    h.send(ids[0], signal_text("r", 1, ids[1]));
    EXPECT_TRUE(h.take().empty());
    // A later joiner sees it listed as suspended; it counts toward room-full.
    const ClientId c = h.connect();
    h.send(c, join_text("r"));
    sent = h.take();
    ASSERT_EQ(h.told(sent, c), std::vector<std::string>{"joined"});
    const auto peers = sent[0].json()["peers"];
    ASSERT_EQ(peers.size(), 2u);
    EXPECT_FALSE(peers[0].contains("suspended"));
    EXPECT_EQ(peers[1], (nlohmann::json{{"clientId", ids[1]}, {"suspended", true}}));
    const ClientId d = h.connect();
    h.send(d, join_text("r"));
    EXPECT_EQ(h.take().at(0).code(), "room-full");
    h.expect_views_match_registry();
}

TEST(HubResume, AClosedConnectionAndEveryDecisionOfTheServerRemoveAtOnce)
{
    Resume h;
    const auto ids = h.fill("r", 3);
    h.disconnect(ids[1], ConnectionEnd::closed);
    auto sent = h.take();
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    EXPECT_EQ(h.told(sent, ids[2]), std::vector<std::string>{"peer-left"});
    EXPECT_FALSE(h.hub.is_suspended(ids[1]));

    // leave and a move to another room remove as before, and the token dies with them.
    const std::string token = h.token(ids[2]);
    h.send(ids[2], join_text("elsewhere"));
    sent = h.take();
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    const ClientId fresh = h.connect();
    h.send(fresh, resume_text(token, 0));
    EXPECT_EQ(h.take().at(0).code(), "resume-failed");
    h.expect_views_match_registry();
}

TEST(HubResume, AResumeReplaysWhatWasNotReceivedThenWhatWasQueuedExactlyOnceInOrder)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    const ClientId a = ids[0];
    const ClientId b = ids[1];
    for (int i = 1; i <= 3; ++i)
        h.send(a, signal_text("r", i));
    h.take();
    // b read only the first of the three before its connection broke.
    const std::uint64_t read = 1;
    ASSERT_EQ(h.received(b), 3u);
    h.disconnect(b, ConnectionEnd::lost);
    h.send(a, signal_text("r", 4, b)); // queued while suspended
    const ClientId c = h.connect();
    h.send(c, join_text("r")); // c sees b suspended; b's queue gets peer-joined
    h.send(a, signal_text("r", 5));
    h.take();

    const ClientId connection = h.connect();
    h.send(connection, resume_text(h.token(b), read));
    const auto sent = h.take();
    EXPECT_EQ(h.told(sent, b), (std::vector<std::string>{"resumed", "signal 2", "signal 3",
                                                         "signal 4", "peer-joined", "signal 5"}));
    EXPECT_EQ(h.told(sent, a), std::vector<std::string>{"peer-resumed"});
    EXPECT_EQ(h.told(sent, c), std::vector<std::string>{"peer-resumed"});
    EXPECT_EQ(h.transport.rebound, (std::vector<std::pair<ClientId, ClientId>>{{connection, b}}));
    EXPECT_EQ(
        sent[0].json(),
        (nlohmann::json{
            {"action", "resumed"}, {"roomId", "r"}, {"clientId", b}, {"resumeToken", h.token(b)}}));
    EXPECT_NE(h.token(b), "");
    EXPECT_FALSE(h.hub.is_suspended(b));
    // Live traffic follows the replay, on the same connection, under the member's clientId.
    h.send(a, signal_text("r", 6));
    EXPECT_EQ(h.told(h.take(), b), std::vector<std::string>{"signal 6"});
    h.send(b, signal_text("r", 7, a));
    const auto from_b = h.take();
    ASSERT_EQ(from_b.size(), 1u);
    EXPECT_EQ(from_b[0].field("from"), b);
    h.expect_views_match_registry();
}

TEST(HubResume, TheNewConnectionNumbersTheReplayToo_ASecondResumeCountsIt)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    for (int i = 1; i <= 2; ++i)
        h.send(ids[0], signal_text("r", i));
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.resume(ids[1], 0); // replays signals 1 and 2, numbered 1 and 2 on the new connection
    h.send(ids[0], signal_text("r", 3));
    h.take();
    ASSERT_EQ(h.received(ids[1]), 3u);
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.take();
    h.resume(ids[1], 2);
    EXPECT_EQ(h.told(h.take(), ids[1]), (std::vector<std::string>{"resumed", "signal 3"}));
    h.expect_views_match_registry();
}

TEST(HubResume, AnAcknowledgementTrimsWhatIsHeld_AResumeThatNeedsItFails)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    const ClientId b = ids[1];
    for (int i = 1; i <= 3; ++i)
        h.send(ids[0], signal_text("r", i));
    // A pong answered a ping sent after joined and two signals: texts 1 (joined) + 2.
    h.hub.acknowledge(b, 3);
    h.disconnect(b, ConnectionEnd::lost);
    h.take();
    // Message 3 is still held: a resume from 2 works.
    {
        Resume ok;
        const auto o = ok.fill("r", 2);
        for (int i = 1; i <= 3; ++i)
            ok.send(o[0], signal_text("r", i));
        ok.hub.acknowledge(o[1], 3);
        ok.disconnect(o[1], ConnectionEnd::lost);
        ok.take();
        ok.resume(o[1], 2);
        EXPECT_EQ(ok.told(ok.take(), o[1]), (std::vector<std::string>{"resumed", "signal 3"}));
    }
    // Messages 1 and 2 are gone: a resume from 0 fails, and the member is removed.
    const ClientId connection = h.resume(b, 0);
    const auto sent = h.take();
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    EXPECT_EQ(h.told(sent, connection), std::vector<std::string>{"error"});
    EXPECT_EQ(sent.back().code(), "resume-failed");
    EXPECT_EQ(sent.back().field("request"), "resume");
    EXPECT_EQ(h.members("r"), std::vector<ClientId>{ids[0]});
    h.expect_views_match_registry();
}

TEST(HubResume, AnAcknowledgementOfTextsBeforeTheTokenOrOfAnotherMemberTrimsNothingOfIt)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    h.send(ids[0], signal_text("r", 1));
    h.hub.acknowledge(ids[1], 1); // only joined, which is not numbered
    h.hub.acknowledge(ids[0], 9); // another member's count
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.take();
    h.resume(ids[1], 0);
    EXPECT_EQ(h.told(h.take(), ids[1]), (std::vector<std::string>{"resumed", "signal 1"}));
}

TEST(HubResume, ReceivedBeyondWhatTheOldConnectionWasHandedFails_QueuedMessagesDoNotCount)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    h.send(ids[0], signal_text("r", 1));
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.send(ids[0], signal_text("r", 2)); // queued: never handed over
    h.take();
    const ClientId connection = h.resume(ids[1], 2);
    const auto sent = h.take();
    EXPECT_EQ(h.told(sent, connection), std::vector<std::string>{"error"});
    EXPECT_EQ(sent.back().code(), "resume-failed");
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    // The connection stays open as a fresh client that may join.
    h.send(connection, join_text("r"));
    EXPECT_EQ(h.told(h.take(), connection), std::vector<std::string>{"joined"});
    h.expect_views_match_registry();
}

TEST(HubResume, UnknownUsedOrMalformedTokensFailWithoutTouchingAnyone)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    h.disconnect(ids[1], ConnectionEnd::lost);
    const std::string token = h.token(ids[1]);
    h.take();
    std::string wrong_secret = token;
    wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
    for (const std::string& bad :
         {std::string("nonsense"), std::string(34, 'a'), wrong_secret, ids[1], token + "A"}) {
        const ClientId connection = h.connect();
        h.send(connection, resume_text(bad, 0));
        const auto sent = h.take();
        ASSERT_EQ(sent.size(), 1u) << bad;
        EXPECT_EQ(sent[0].code(), "resume-failed") << bad;
        h.disconnect(connection);
    }
    EXPECT_TRUE(h.hub.is_suspended(ids[1]));
    // Used once, the token is dead; the new one works.
    h.resume(ids[1], 0);
    h.take();
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.take();
    const ClientId again = h.connect();
    h.send(again, resume_text(token, 0));
    EXPECT_EQ(h.take().at(0).code(), "resume-failed");
    EXPECT_TRUE(h.hub.is_suspended(ids[1]));
    h.resume(ids[1], 0);
    EXPECT_EQ(h.told(h.take(), ids[1]), std::vector<std::string>{"resumed"});
}

TEST(HubResume, BadFieldTypesAreBadMessage)
{
    Resume h;
    const ClientId c = h.connect();
    for (const std::string bad :
         {R"({"action":"resume","token":5,"received":0})", R"({"action":"resume","received":0})",
          R"({"action":"resume","token":null,"received":0})",
          R"({"action":"resume","token":"t","received":-1})",
          R"({"action":"resume","token":"t","received":1.5})",
          R"({"action":"resume","token":"t","received":"1"})",
          R"({"action":"resume","token":"t"})"}) {
        h.send(c, bad);
        const auto sent = h.take();
        ASSERT_EQ(sent.size(), 1u) << bad;
        EXPECT_EQ(sent[0].code(), "bad-message") << bad;
        EXPECT_EQ(sent[0].field("request"), "resume") << bad;
    }
}

TEST(HubResume, AResumeThatIsNotTheConnectionsFirstMessageFailsAndRemovesTheMember)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.take();
    const ClientId connection = h.connect();
    h.send(connection, R"({"action":"leave","roomId":"r"})"); // not-in-room
    h.send(connection, resume_text(h.token(ids[1]), 0));
    const auto sent = h.take();
    EXPECT_EQ(h.told(sent, connection), (std::vector<std::string>{"error", "error"}));
    EXPECT_EQ(sent.back().code(), "resume-failed");
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    EXPECT_EQ(h.members("r"), std::vector<ClientId>{ids[0]});
    h.expect_views_match_registry();
}

TEST(HubResume, TheGracePeriodEndsWithOnePeerLeftAndTheTokenDies)
{
    Resume h(test::resume_limits(10s));
    const auto ids = h.fill("r", 3);
    h.disconnect(ids[2], ConnectionEnd::lost);
    const std::string token = h.token(ids[2]);
    h.take();
    h.clock.advance(9.9s);
    h.hub.tick();
    EXPECT_TRUE(h.take().empty());
    h.clock.advance(0.1s);
    h.hub.tick();
    h.hub.tick();
    const auto sent = h.take();
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    EXPECT_EQ(h.told(sent, ids[1]), std::vector<std::string>{"peer-left"});
    EXPECT_EQ(sent.size(), 2u);
    EXPECT_EQ(h.hub.suspended_count(), 0u);
    EXPECT_EQ(h.hub.stats().expiries, 1u);
    const ClientId late = h.connect();
    h.send(late, resume_text(token, 0));
    EXPECT_EQ(h.take().at(0).code(), "resume-failed");
    h.expect_views_match_registry();
}

TEST(HubResume, AConnectedMemberPastTheCapDropsItsOldest_AResumeThatNeedsThemFails)
{
    // Each relayed signal here is 70-odd bytes: the cap holds two of them.
    Resume h(test::resume_limits(30s, 160));
    const auto ids = h.fill("r", 2);
    for (int i = 1; i <= 4; ++i)
        h.send(ids[0], signal_text("r", i));
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.take();
    {
        const ClientId too_early = h.resume(ids[1], 1); // message 2 was dropped
        const auto sent = h.take();
        EXPECT_EQ(sent.back().code(), "resume-failed");
        EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
        h.disconnect(too_early);
    }
    Resume ok(test::resume_limits(30s, 160));
    const auto o = ok.fill("r", 2);
    for (int i = 1; i <= 4; ++i)
        ok.send(o[0], signal_text("r", i));
    ok.disconnect(o[1], ConnectionEnd::lost);
    ok.take();
    ok.resume(o[1], 2);
    EXPECT_EQ(ok.told(ok.take(), o[1]),
              (std::vector<std::string>{"resumed", "signal 3", "signal 4"}));
}

TEST(HubResume, ASuspendedMemberThatWouldPassTheCapIsRemovedAtOnce)
{
    Resume h(test::resume_limits(30s, 160));
    const auto ids = h.fill("r", 3);
    h.disconnect(ids[2], ConnectionEnd::lost);
    h.send(ids[0], signal_text("r", 1));
    h.send(ids[0], signal_text("r", 2));
    auto sent = h.take();
    EXPECT_EQ(h.told(sent, ids[1]),
              (std::vector<std::string>{"peer-suspended", "signal 1", "signal 2"}));
    EXPECT_TRUE(h.hub.is_suspended(ids[2]));
    h.send(ids[0], signal_text("r", 3)); // the third does not fit
    sent = h.take();
    EXPECT_EQ(h.told(sent, ids[1]), (std::vector<std::string>{"signal 3", "peer-left"}));
    EXPECT_EQ(h.told(sent, ids[0]), std::vector<std::string>{"peer-left"});
    EXPECT_EQ(h.members("r"), (std::vector<ClientId>{ids[0], ids[1]}));
    EXPECT_EQ(h.hub.suspended_count(), 0u);
    h.expect_views_match_registry();
}

TEST(HubResume, ATakeoverEndsTheOldConnectionSuspendsThenResumes)
{
    Resume h;
    const auto ids = h.fill("r", 2);
    h.send(ids[0], signal_text("r", 1));
    h.take();
    // The old connection is still open (half-open TCP): the server does not know it is dead.
    const ClientId connection = h.resume(ids[1], 1);
    const auto sent = h.take();
    ASSERT_EQ(h.transport.aborted.size(), 1u);
    EXPECT_EQ(h.transport.aborted[0].id, ids[1]);
    EXPECT_EQ(h.transport.aborted[0].code, 4001);
    EXPECT_EQ(h.transport.aborted[0].reason, "resumed elsewhere");
    EXPECT_EQ(h.told(sent, ids[0]), (std::vector<std::string>{"peer-suspended", "peer-resumed"}));
    EXPECT_EQ(h.told(sent, ids[1]), std::vector<std::string>{"resumed"});
    EXPECT_EQ(h.transport.rebound,
              (std::vector<std::pair<ClientId, ClientId>>{{connection, ids[1]}}));
    // The aborted connection's own end, should it still be reported, changes nothing.
    h.hub.disconnect(connection, ConnectionEnd::lost);
    EXPECT_TRUE(h.take().empty());
    h.expect_views_match_registry();
}

TEST(HubResume, AResumeThatWouldFailTakesNothingOver_TheOldConnectionHearsLeft)
{
    // The cap holds two of the 70-odd byte signals (as above), so message 1 is let go.
    Resume h(test::resume_limits(30s, 160));
    const auto ids = h.fill("r", 2);
    for (int i = 1; i <= 3; ++i)
        h.send(ids[0], signal_text("r", i));
    h.take();
    struct Case
    {
        const char* what;
        std::uint64_t received;
    };
    // The old connection is still open both times: it was handed 3 messages, and holds 2 and 3.
    for (const Case& c : {Case{"more than handed", 4}, Case{"no longer held", 0}}) {
        SCOPED_TRACE(c.what);
        Resume fresh(test::resume_limits(30s, 160));
        const auto f = fresh.fill("r", 2);
        for (int i = 1; i <= 3; ++i)
            fresh.send(f[0], signal_text("r", i));
        fresh.take();
        const ClientId connection = fresh.resume(f[1], c.received);
        const auto sent = fresh.take();
        EXPECT_TRUE(fresh.transport.aborted.empty()) << "a failed resume took the connection over";
        EXPECT_EQ(sent.back().code(), "resume-failed");
        EXPECT_EQ(fresh.told(sent, connection), std::vector<std::string>{"error"});
        EXPECT_EQ(fresh.told(sent, f[1]), std::vector<std::string>{"left"});
        EXPECT_EQ(fresh.told(sent, f[0]), std::vector<std::string>{"peer-left"});
        fresh.expect_views_match_registry();
    }
    // The same resume that asks for what is held takes over (4001) and succeeds.
    h.resume(ids[1], 1);
    EXPECT_EQ(h.transport.aborted.size(), 1u);
    EXPECT_EQ(h.told(h.take(), ids[1]),
              (std::vector<std::string>{"resumed", "signal 2", "signal 3"}));
}

TEST(HubResume, PastTheMostSuspendedMembersALostConnectionRemovesItsMember)
{
    HubLimits limits = test::resume_limits();
    limits.max_suspended = 1;
    Resume h(limits);
    const auto ids = h.fill("r", 3);
    h.disconnect(ids[1], ConnectionEnd::lost);
    h.disconnect(ids[2], ConnectionEnd::lost);
    const auto sent = h.take();
    EXPECT_EQ(h.told(sent, ids[0]), (std::vector<std::string>{"peer-suspended", "peer-left"}));
    EXPECT_TRUE(h.hub.is_suspended(ids[1]));
    EXPECT_EQ(h.hub.suspended_count(), 1u);
    h.expect_views_match_registry();
}

TEST(HubResume, FailedResumesFallUnderTheFloodLimits)
{
    HubLimits limits = test::resume_limits();
    limits.rate = RateLimit{1, 0, 2}; // 1 message a second, bursts of 2
    Resume h(limits);
    const ClientId c = h.connect();
    for (int i = 0; i < 3; ++i)
        h.send(c, resume_text("not-a-token", 0));
    const auto sent = h.take();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0].code(), "resume-failed");
    EXPECT_EQ(sent[1].code(), "resume-failed");
    EXPECT_EQ(sent[2].code(), "rate-limited");
}

} // namespace hub_resume_test
} // namespace signald
