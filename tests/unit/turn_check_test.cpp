// TurnCheck against scripted answers: the whole exchange a TURN server has with a browser
// (401, authenticated Allocate, Refresh with LIFETIME 0), and each way it can fail, with the
// exact text the log, /healthz?verbose and `signald check` then show.

#include "signald/turn/turn_check.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signald {
namespace turn_check_test {

using namespace std::chrono_literals;

constexpr std::string_view username = "1700003600:signald-check";
constexpr std::string_view password = "credential";
constexpr std::string_view realm = "signald.test";

// Transaction ids 1, 2, 3 ... in their last byte.
struct CountingIds
{
    std::uint8_t next = 0;
    StunTransactionId operator()()
    {
        StunTransactionId id{};
        id[11] = ++next;
        return id;
    }
};

StunMessage decode(const std::vector<std::uint8_t>& bytes)
{
    auto result = decode_stun(bytes);
    EXPECT_TRUE(std::holds_alternative<StunMessage>(result));
    return std::holds_alternative<StunMessage>(result) ? std::get<StunMessage>(result)
                                                       : StunMessage{};
}

std::string key()
{
    return stun_long_term_key(username, realm, password);
}

std::vector<std::uint8_t> error_answer(const StunMessage& request, int code, std::string reason,
                                       std::string nonce = "nonce-1")
{
    return StunBuilder(request.method, StunClass::error, request.transaction_id)
        .add_error({code, std::move(reason)})
        .add(stun::realm, realm)
        .add(stun::nonce, nonce)
        .finish(std::nullopt, true);
}

std::vector<std::uint8_t> allocate_ok(const StunMessage& request,
                                      std::optional<std::string> with_key = key())
{
    StunAddress relay;
    relay.bytes = {203, 0, 113, 10};
    relay.port = 49152;
    return StunBuilder(stun::allocate, StunClass::success, request.transaction_id)
        .add_xor_address(stun::xor_relayed_address, relay)
        .add_u32(stun::lifetime, 600)
        .finish(with_key ? std::optional<std::string_view>(*with_key) : std::nullopt, true);
}

std::vector<std::uint8_t> refresh_ok(const StunMessage& request)
{
    return StunBuilder(stun::refresh, StunClass::success, request.transaction_id)
        .add_u32(stun::lifetime, 0)
        .finish(key(), true);
}

class TurnCheckTest : public ::testing::Test
{
protected:
    explicit TurnCheckTest(bool stream = false)
        : check_(std::string(username), std::string(password), stream, CountingIds{})
    {}

    // The only message the step sends, decoded.
    StunMessage sent(const TurnCheck::Step& step)
    {
        EXPECT_FALSE(step.done) << step.done->error;
        EXPECT_EQ(step.send.size(), 1u);
        last_ = step.send.empty() ? std::vector<std::uint8_t>{} : step.send.front();
        return decode(last_);
    }

    // Runs the exchange up to the authenticated Allocate, which it returns.
    StunMessage to_authenticated_allocate()
    {
        const StunMessage first = sent(check_.start());
        return sent(check_.on_bytes(error_answer(first, 401, "Unauthorized")));
    }

    TurnCheck check_;
    std::vector<std::uint8_t> last_;
};

TEST_F(TurnCheckTest, AllocatesWithTheCredentialsThenFreesTheAllocation)
{
    const TurnCheck::Step first_step = check_.start();
    EXPECT_EQ(first_step.timer, 500ms);
    const StunMessage first = sent(first_step);
    EXPECT_EQ(first.method, stun::allocate);
    EXPECT_EQ(first.type, StunClass::request);
    EXPECT_FALSE(first.username); // the first asks without credentials, as browsers do
    EXPECT_TRUE(first.has_fingerprint);

    const StunMessage allocate = sent(check_.on_bytes(error_answer(first, 401, "Unauthorized")));
    EXPECT_EQ(allocate.method, stun::allocate);
    EXPECT_EQ(allocate.username, username);
    EXPECT_EQ(allocate.realm, realm);
    EXPECT_EQ(allocate.nonce, "nonce-1");
    EXPECT_NE(allocate.transaction_id, first.transaction_id);
    EXPECT_TRUE(stun_integrity_ok(last_, allocate, key()));

    const StunMessage refresh = sent(check_.on_bytes(allocate_ok(allocate)));
    EXPECT_EQ(refresh.method, stun::refresh);
    EXPECT_EQ(refresh.lifetime_seconds, 0u);
    EXPECT_EQ(refresh.username, username);
    EXPECT_TRUE(stun_integrity_ok(last_, refresh, key()));

    const TurnCheck::Step done = check_.on_bytes(refresh_ok(refresh));
    ASSERT_TRUE(done.done);
    EXPECT_TRUE(done.done->ok) << done.done->error;
    EXPECT_EQ(done.done->relay, "203.0.113.10:49152");
    EXPECT_EQ(done.done->error, "");
    EXPECT_TRUE(check_.finished());
}

TEST_F(TurnCheckTest, ASecond401IsTheWrongSecret)
{
    const StunMessage allocate = to_authenticated_allocate();
    const TurnCheck::Step done = check_.on_bytes(error_answer(allocate, 401, "Unauthorized"));
    ASSERT_TRUE(done.done);
    EXPECT_FALSE(done.done->ok);
    EXPECT_EQ(done.done->error,
              "401 Unauthorized: the server refused the credentials (wrong turn-secret?)");
}

TEST_F(TurnCheckTest, AStaleNonceIsRenewedOnceAndASecondFails)
{
    const StunMessage allocate = to_authenticated_allocate();
    const StunMessage again =
        sent(check_.on_bytes(error_answer(allocate, 438, "Stale Nonce", "nonce-2")));
    EXPECT_EQ(again.method, stun::allocate);
    EXPECT_EQ(again.nonce, "nonce-2");
    EXPECT_TRUE(stun_integrity_ok(last_, again, key()));
    const TurnCheck::Step done =
        check_.on_bytes(error_answer(again, 438, "Stale Nonce", "nonce-3"));
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "438 Stale Nonce");
}

TEST_F(TurnCheckTest, AStaleNonceOnTheRefreshIsRenewedToo)
{
    const StunMessage allocate = to_authenticated_allocate();
    const StunMessage refresh = sent(check_.on_bytes(allocate_ok(allocate)));
    const StunMessage again =
        sent(check_.on_bytes(error_answer(refresh, 438, "Stale Nonce", "nonce-2")));
    EXPECT_EQ(again.method, stun::refresh);
    EXPECT_EQ(again.nonce, "nonce-2");
    const TurnCheck::Step done = check_.on_bytes(refresh_ok(again));
    ASSERT_TRUE(done.done);
    EXPECT_TRUE(done.done->ok) << done.done->error;
}

TEST_F(TurnCheckTest, AFailedRefreshFailsTheCheckButKeepsTheRelay)
{
    const StunMessage allocate = to_authenticated_allocate();
    const StunMessage refresh = sent(check_.on_bytes(allocate_ok(allocate)));
    const TurnCheck::Step done = check_.on_bytes(error_answer(refresh, 437, "Allocation Mismatch"));
    ASSERT_TRUE(done.done);
    EXPECT_FALSE(done.done->ok);
    EXPECT_EQ(done.done->error, "Refresh refused: 437 Allocation Mismatch");
    EXPECT_EQ(done.done->relay, "203.0.113.10:49152");
}

TEST_F(TurnCheckTest, AnyOtherErrorIsReportedWithItsCodeAndReason)
{
    const StunMessage allocate = to_authenticated_allocate();
    const TurnCheck::Step done =
        check_.on_bytes(error_answer(allocate, 486, "Allocation Quota Reached"));
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "Allocate refused: 486 Allocation Quota Reached");
}

TEST_F(TurnCheckTest, A401WithoutRealmAndNonceIsNoTurnServer)
{
    const StunMessage first = sent(check_.start());
    const TurnCheck::Step done =
        check_.on_bytes(StunBuilder(stun::allocate, StunClass::error, first.transaction_id)
                            .add_error({401, "Unauthorized"})
                            .finish(std::nullopt, false));
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "401 Unauthorized without REALM and NONCE: not a TURN server?");
}

TEST_F(TurnCheckTest, ASuccessThatFailsMessageIntegrityFails)
{
    const StunMessage allocate = to_authenticated_allocate();
    const TurnCheck::Step done = check_.on_bytes(allocate_ok(allocate, std::string("other key")));
    ASSERT_TRUE(done.done);
    EXPECT_FALSE(done.done->ok);
    EXPECT_EQ(done.done->error,
              "Allocate answer failed MESSAGE-INTEGRITY (not from the server we asked?)");
}

TEST_F(TurnCheckTest, ASuccessWithoutARelayAddressFails)
{
    const StunMessage allocate = to_authenticated_allocate();
    const TurnCheck::Step done =
        check_.on_bytes(StunBuilder(stun::allocate, StunClass::success, allocate.transaction_id)
                            .finish(key(), false));
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "Allocate succeeded without XOR-RELAYED-ADDRESS");
}

TEST_F(TurnCheckTest, AnswersToOtherTransactionsAndGarbageAreIgnoredOverUdp)
{
    const StunMessage first = sent(check_.start());
    StunMessage other = first;
    other.transaction_id[0] ^= 1;
    EXPECT_FALSE(check_.on_bytes(error_answer(other, 401, "Unauthorized")).done);
    const std::vector<std::uint8_t> garbage = {1, 2, 3, 4, 5};
    const TurnCheck::Step step = check_.on_bytes(garbage);
    EXPECT_FALSE(step.done);
    EXPECT_TRUE(step.send.empty());
    EXPECT_FALSE(check_.finished());
    sent(check_.on_bytes(error_answer(first, 401, "Unauthorized"))); // still waiting for it
}

TEST_F(TurnCheckTest, UdpRetransmitsWithDoublingTimeoutsThenGivesUpAfterFiveSeconds)
{
    const TurnCheck::Step start = check_.start();
    const std::vector<std::uint8_t> request = start.send.at(0);
    std::vector<std::chrono::milliseconds> waits{*start.timer};
    TurnCheck::Step step;
    for (int i = 0; i < 10; ++i) { // bounded: it must give up well before
        step = check_.on_timer();
        if (step.done)
            break;
        ASSERT_EQ(step.send.size(), 1u);
        EXPECT_EQ(step.send[0], request); // the same transaction, sent again
        waits.push_back(*step.timer);
    }
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{500ms, 1000ms, 2000ms, 1500ms}));
    ASSERT_TRUE(step.done);
    EXPECT_EQ(step.done->error, "timeout: no answer to Allocate within 5 s (4 tries over UDP)");
}

TEST_F(TurnCheckTest, ATransportErrorEndsTheCheckWithItsWords)
{
    check_.start();
    const TurnCheck::Step done = check_.on_transport_error("port unreachable (nothing listening)");
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "port unreachable (nothing listening)");
    // Anything later is ignored.
    EXPECT_FALSE(check_.on_timer().done);
    EXPECT_TRUE(check_.on_timer().send.empty());
}

class TurnCheckStreamTest : public TurnCheckTest
{
protected:
    TurnCheckStreamTest() : TurnCheckTest(true) {}
};

TEST_F(TurnCheckStreamTest, WaitsOnceWithoutRetransmitting)
{
    const TurnCheck::Step start = check_.start();
    EXPECT_EQ(start.timer, 5000ms);
    const TurnCheck::Step done = check_.on_timer();
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "timeout: no answer to Allocate within 5 s");
}

TEST_F(TurnCheckStreamTest, ReadsMessagesSplitAndJoinedAnyhow)
{
    const StunMessage first = sent(check_.start());
    const auto answer = error_answer(first, 401, "Unauthorized");
    // One byte at a time: nothing happens until the last.
    for (std::size_t i = 0; i + 1 < answer.size(); ++i) {
        const TurnCheck::Step step = check_.on_bytes(std::span(answer).subspan(i, 1));
        EXPECT_TRUE(step.send.empty());
        EXPECT_FALSE(step.done);
    }
    const StunMessage allocate = sent(check_.on_bytes(std::span(answer).last(1)));
    EXPECT_EQ(allocate.username, username);
}

TEST_F(TurnCheckStreamTest, BytesThatAreNotStunFailTheCheck)
{
    check_.start();
    const std::vector<std::uint8_t> channel_data = {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    const TurnCheck::Step done = check_.on_bytes(channel_data);
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "the server sent something that is not STUN");
}

TEST_F(TurnCheckStreamTest, AMalformedMessageFailsTheCheck)
{
    const StunMessage first = sent(check_.start());
    auto answer = error_answer(first, 401, "Unauthorized");
    answer.back() ^= 1; // the FINGERPRINT no longer matches
    const TurnCheck::Step done = check_.on_bytes(answer);
    ASSERT_TRUE(done.done);
    EXPECT_EQ(done.done->error, "malformed answer from the server: FINGERPRINT does not match");
}

TEST(TurnTarget, ReadsHostPortAndTransportAsBrowsersDo)
{
    const auto plain = turn_target("turn:turn.example.org");
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->host, "turn.example.org");
    EXPECT_EQ(plain->port, 3478);
    EXPECT_EQ(plain->transport, TurnTransport::udp);
    EXPECT_EQ(plain->url, "turn:turn.example.org");

    const auto tcp = turn_target("turn:[2001:db8::1]:3479?transport=tcp");
    ASSERT_TRUE(tcp);
    EXPECT_EQ(tcp->host, "2001:db8::1");
    EXPECT_EQ(tcp->port, 3479);
    EXPECT_EQ(tcp->transport, TurnTransport::plain_tcp);

    const auto secure = turn_target("turns:turn.example.org?transport=tcp");
    ASSERT_TRUE(secure);
    EXPECT_EQ(secure->port, 5349);
    EXPECT_EQ(secure->transport, TurnTransport::tls);
    EXPECT_EQ(turn_target("turns:10.0.0.1:443")->transport, TurnTransport::tls);
    EXPECT_EQ(turn_target("turn:h?transport=udp")->transport, TurnTransport::udp);

    EXPECT_FALSE(turn_target("stun:stun.example.org"));
}

} // namespace turn_check_test
} // namespace signald
