// How connections end: the close codes the server sends for oversized, binary and non-UTF-8
// messages, and that every kind of ending (close, error, TCP drop) removes the member from its
// room.

#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

// Small, so oversized messages are cheap to build.
constexpr std::size_t max_message_bytes = 1024;

class Closing : public SignaldFixture
{
protected:
    explicit Closing(std::vector<std::string> extra_args = {})
    {
        std::vector<std::string> args{"--max-message-bytes", std::to_string(max_message_bytes)};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        start_server(args);
    }

    // Three members of room "r": the one about to go, and two who stay.
    void fill_room()
    {
        leaver_ = connect();
        stay1_ = connect();
        stay2_ = connect();
        leaver_id_ = leaver_->join("r");
        stay1_id_ = stay1_->join("r");
        stay2_id_ = stay2_->join("r");
        EXPECT_EQ(leaver_->next_json().value("action", ""), "peer-joined");
        EXPECT_EQ(leaver_->next_json().value("action", ""), "peer-joined");
        EXPECT_EQ(stay1_->next_json().value("action", ""), "peer-joined");
    }

    // Both who stay hear peer-left for the leaver, and can still talk to each other.
    void expect_leaver_gone_and_room_working()
    {
        const json gone{{"action", "peer-left"}, {"roomId", "r"}, {"clientId", leaver_id_}};
        EXPECT_EQ(stay1_->next_json(), gone);
        EXPECT_EQ(stay2_->next_json(), gone);

        stay1_->send_json({{"action", "signal"}, {"roomId", "r"}, {"type", "offer"}, {"data", 1}});
        EXPECT_EQ(stay2_->next_json(), (json{{"action", "signal"},
                                             {"roomId", "r"},
                                             {"from", stay1_id_},
                                             {"type", "offer"},
                                             {"data", 1}}));
        // A newcomer sees only the two who stayed.
        auto newcomer = connect();
        newcomer->send_json({{"action", "join"}, {"roomId", "r"}});
        const json joined = newcomer->next_json();
        EXPECT_EQ(joined.value("peers", json()),
                  json::array({json{{"clientId", stay1_id_}}, json{{"clientId", stay2_id_}}}));
    }

    std::unique_ptr<WsClient> leaver_, stay1_, stay2_;
    std::string leaver_id_, stay1_id_, stay2_id_;
};

// A valid signal message for room "r" that is exactly size bytes long.
std::string signal_of_size(std::size_t size)
{
    const std::string head = R"({"action":"signal","roomId":"r","type":"offer","data":")";
    const std::string tail = "\"}";
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

TEST_F(Closing, MessageOverTheLimitClosesWith1009)
{
    fill_room();
    leaver_->send_text(signal_of_size(max_message_bytes + 1));
    EXPECT_TRUE(leaver_->expect_close(1009));
    expect_leaver_gone_and_room_working();
}

TEST_F(Closing, MessageExactlyAtTheLimitIsDelivered)
{
    fill_room();
    const std::string message = signal_of_size(max_message_bytes);
    ASSERT_EQ(message.size(), max_message_bytes);
    leaver_->send_text(message);
    for (auto* receiver : {stay1_.get(), stay2_.get()}) {
        const auto text = receiver->next_text();
        ASSERT_TRUE(text.has_value());
        EXPECT_EQ(raw_member(*text, "data"), raw_member(message, "data"));
    }
    EXPECT_TRUE(leaver_->expect_silence(100ms));
    EXPECT_TRUE(leaver_->is_open());
}

TEST_F(Closing, BinaryFrameClosesWith1003)
{
    fill_room();
    leaver_->send_binary(R"({"action":"signal","roomId":"r","type":"offer"})");
    EXPECT_TRUE(leaver_->expect_close(1003));
    expect_leaver_gone_and_room_working();
}

TEST_F(Closing, InvalidUtf8TextClosesWith1007)
{
    fill_room();
    leaver_->send_text(
        "{\"action\":\"signal\",\"roomId\":\"r\",\"type\":\"offer\",\"data\":\"\xc3\x28"
        "\xff\"}");
    EXPECT_TRUE(leaver_->expect_close(1007));
    expect_leaver_gone_and_room_working();
}

// With resume off, a connection that merely breaks removes its member at once, as before resume
// existed; with resume on it suspends it (resume_test).
class ClosingWithoutResume : public Closing
{
protected:
    ClosingWithoutResume() : Closing({"--resume-grace", "0"}) {}
};

TEST_F(ClosingWithoutResume, TcpDropWithoutCloseFrameRemovesTheMember)
{
    fill_room();
    leaver_->drop();
    expect_leaver_gone_and_room_working();
}

TEST_F(ClosingWithoutResume, TcpResetRemovesTheMember)
{
    fill_room();
    leaver_->drop(/*reset=*/true);
    expect_leaver_gone_and_room_working();
}

TEST_F(Closing, CleanCloseIsEchoedAndRemovesTheMember)
{
    fill_room();
    EXPECT_EQ(leaver_->close(1000), std::optional<std::uint16_t>(1000));
    expect_leaver_gone_and_room_working();
}

TEST_F(Closing, ProtocolErrorsDoNotCloseTheConnection)
{
    fill_room();
    leaver_->send_text("not json at all");
    EXPECT_EQ(leaver_->next_json().value("code", ""), "bad-json");
    leaver_->send_json({{"action", "signal"}, {"roomId", "r"}, {"type", "bogus"}});
    EXPECT_EQ(leaver_->next_json().value("code", ""), "bad-type");
    EXPECT_TRUE(leaver_->is_open());
    leaver_->send_json({{"action", "signal"}, {"roomId", "r"}, {"type", "hangup"}});
    EXPECT_EQ(stay1_->next_json().value("from", ""), leaver_id_);
    EXPECT_EQ(stay2_->next_json().value("from", ""), leaver_id_);
}

} // namespace
} // namespace signald::test
