// Flood control against the real binary: past its burst a client's messages are dropped with
// rate-limited errors, one that keeps pushing is closed with 1008, and honest members of the same
// room notice nothing but its departure.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// A signal for room "f" whose data is {"seq":seq,"pad":"..."} with pad_bytes of padding.
std::string numbered_signal(int seq, std::size_t pad_bytes = 0)
{
    return R"({"action":"signal","roomId":"f","type":"ice-candidate","data":{"seq":)" +
           std::to_string(seq) + R"(,"pad":")" + std::string(pad_bytes, 'p') + "\"}}";
}

class Flood : public SignaldFixture
{
protected:
    void start(std::vector<std::string> limits)
    {
        start_server(std::move(limits));
        flooder_.connect(server_->port());
        honest_.connect(server_->port());
        other_.connect(server_->port());
        flooder_id_ = flooder_.join("f"); // the join is the first message of its allowance
        honest_id_ = honest_.join("f");
        other_id_ = other_.join("f");
        ASSERT_EQ(flooder_.next_json().value("action", ""), "peer-joined");
        ASSERT_EQ(flooder_.next_json().value("action", ""), "peer-joined");
        ASSERT_EQ(honest_.next_json().value("action", ""), "peer-joined");
    }

    // Sends numbered signals as fast as the socket takes them until the server closes the
    // connection; returns how many were sent. While sending, one honest signal goes out too.
    int flood_until_closed(std::size_t pad_bytes)
    {
        const auto deadline = Clock::now() + 20s;
        int sent = 0;
        while (flooder_.is_open() && sent < 5000 && Clock::now() < deadline) {
            try {
                flooder_.send_text(numbered_signal(sent, pad_bytes));
            } catch (const std::runtime_error&) {
                break; // the close frame arrived while writing
            }
            ++sent;
            // Early enough to fall inside every flood here, even one closed after ~50 messages.
            if (sent == 30)
                other_.send_json({{"action", "signal"},
                                  {"roomId", "f"},
                                  {"type", "offer"},
                                  {"to", honest_id_},
                                  {"data", "honest"}});
        }
        return sent;
    }

    // Every rate-limited error the flooder was sent, checked for shape; then its close.
    int count_rate_limited_and_expect_1008()
    {
        int errors = 0;
        while (auto text = flooder_.next_text(2s)) {
            const json message = json::parse(*text);
            EXPECT_EQ(message, (json{{"action", "error"},
                                     {"code", "rate-limited"},
                                     {"message", message.value("message", "")}}))
                << "no request field: nothing of a dropped message is read";
            ++errors;
        }
        EXPECT_TRUE(flooder_.expect_close(1008, 2s));
        return errors;
    }

    // The numbers of the flooder's signals the honest member received, in arrival order, up to
    // the flooder's peer-left; the honest signal from the other member is checked on the way.
    std::vector<int> relayed_until_peer_left()
    {
        std::vector<int> seqs;
        bool got_honest = false;
        for (;;) {
            const json message = honest_.next_json(5s);
            const std::string action = message.value("action", "");
            if (action == "peer-left") {
                EXPECT_EQ(message.value("clientId", ""), flooder_id_);
                break;
            }
            EXPECT_EQ(action, "signal") << message.dump();
            if (message.value("from", "") == other_id_) {
                EXPECT_EQ(message.value("data", ""), "honest");
                got_honest = true;
                continue;
            }
            EXPECT_EQ(message.value("from", ""), flooder_id_);
            seqs.push_back(message["data"].value("seq", -1));
        }
        EXPECT_TRUE(got_honest) << "the honest member's signal was lost in the flood";
        return seqs;
    }

    // The two who stayed can still talk both ways.
    void expect_room_still_works()
    {
        // The other member got the flooder's relayed signals too; skip to its departure.
        for (json message = other_.next_json(); message.value("action", "") != "peer-left";
             message = other_.next_json())
            ASSERT_EQ(message.value("from", ""), flooder_id_) << message.dump();
        honest_.send_json({{"action", "signal"}, {"roomId", "f"}, {"type", "answer"}, {"data", 2}});
        EXPECT_EQ(other_.next_json(), (json{{"action", "signal"},
                                            {"roomId", "f"},
                                            {"from", honest_id_},
                                            {"type", "answer"},
                                            {"data", 2}}));
        EXPECT_TRUE(honest_.expect_silence(50ms));
    }

    WsClient flooder_, honest_, other_;
    std::string flooder_id_, honest_id_, other_id_;
};

TEST_F(Flood, PastItsBurstAClientIsRateLimitedAndThenClosedWith1008)
{
    // 20 messages a second, 5 s bursts: 100 at once (the join took one), patience of 100.
    start({"--rate-msgs", "20", "--rate-bytes", "0"});
    const auto flood_started = Clock::now();
    const int sent = flood_until_closed(0);
    const double seconds = std::chrono::duration<double>(Clock::now() - flood_started).count();
    const int refused = count_rate_limited_and_expect_1008();
    const std::vector<int> seqs = relayed_until_peer_left();

    // Allowed: the first 99 exactly, then only what refilled while flooding, in order.
    ASSERT_GE(seqs.size(), 99u);
    for (int i = 0; i < 99; ++i)
        EXPECT_EQ(seqs[static_cast<std::size_t>(i)], i);
    for (std::size_t i = 1; i < seqs.size(); ++i)
        EXPECT_LT(seqs[i - 1], seqs[i]) << "relayed out of order";
    EXPECT_LE(static_cast<double>(seqs.size()), 99 + 20 * seconds + 1);
    // Closed only after the whole patience (100 refusals, plus refill) was spent.
    EXPECT_GE(refused, 100);
    EXPECT_LE(static_cast<double>(refused), 100 + 20 * seconds + 1);
    EXPECT_GE(sent, static_cast<int>(seqs.size()) + refused + 1);

    expect_room_still_works();
    const auto port = server_->port();
    EXPECT_EQ(metric(port, R"(signald_rejections_total{reason="rate-limited"})"), refused);
    EXPECT_EQ(metric(port, R"(signald_rejections_total{reason="flood"})"), 1);

    // Logged at warn: the start of each run of refusals (not every drop), and the close once.
    EXPECT_TRUE(server_->wait_for_stderr("kept flooding while rate-limited"));
    const std::string log = server_->stderr_text();
    EXPECT_EQ(occurrences(log, "warning " + flooder_id_ + " closing (1008)"), 1u);
    const std::size_t runs = occurrences(log, "warning " + flooder_id_ + " rate-limited");
    std::size_t allowed_after_first_refusal = 0;
    for (const int seq : seqs)
        allowed_after_first_refusal += seq >= 99 ? 1 : 0;
    EXPECT_GE(runs, 1u);
    EXPECT_LE(runs, 1 + allowed_after_first_refusal);
}

TEST_F(Flood, PastItsByteBurstAClientIsRateLimitedAndThenClosedWith1008)
{
    // 20,000 bytes a second: 100,000 at once, of which the join took 30, so 24 messages of
    // 4,000 bytes. The message limit (100/s) stays on. Refusals drain a byte patience of
    // 100,000 bytes (refilled at 20,000/s): 24 refused messages of 4,001 bytes (the sequence
    // numbers have grown a digit by then) plus whatever refills meanwhile.
    start({"--rate-msgs", "100", "--rate-bytes", "20000", "--max-message-bytes", "8192"});
    const std::size_t pad = 4000 - numbered_signal(0).size();
    const auto flood_started = Clock::now();
    flood_until_closed(pad);
    const double seconds = std::chrono::duration<double>(Clock::now() - flood_started).count();
    const int refused = count_rate_limited_and_expect_1008();
    const std::vector<int> seqs = relayed_until_peer_left();

    ASSERT_GE(seqs.size(), 24u);
    for (int i = 0; i < 24; ++i)
        EXPECT_EQ(seqs[static_cast<std::size_t>(i)], i);
    for (std::size_t i = 1; i < seqs.size(); ++i)
        EXPECT_LT(seqs[i - 1], seqs[i]) << "relayed out of order";
    // Refill while flooding: 20,000 bytes (5 messages) a second.
    EXPECT_LE(static_cast<double>(seqs.size()), 24 + 5 * seconds + 1);
    EXPECT_GE(refused, 24);
    EXPECT_LE(static_cast<double>(refused), 25 + 5 * seconds + 1);

    expect_room_still_works();
    EXPECT_EQ(metric(server_->port(), R"(signald_rejections_total{reason="rate-limited"})"),
              refused);
    EXPECT_EQ(metric(server_->port(), R"(signald_rejections_total{reason="flood"})"), 1);
}

TEST_F(Flood, AClientWithinItsBurstIsNeverRefused)
{
    start({"--rate-msgs", "20", "--rate-bytes", "0"});
    for (int seq = 0; seq < 99; ++seq)
        flooder_.send_text(numbered_signal(seq));
    for (int seq = 0; seq < 99; ++seq)
        ASSERT_EQ(honest_.next_json()["data"].value("seq", -1), seq);
    EXPECT_TRUE(flooder_.expect_silence(100ms));
    EXPECT_EQ(metric(server_->port(), R"(signald_rejections_total{reason="rate-limited"})"), 0);
}

} // namespace
} // namespace signald::test
