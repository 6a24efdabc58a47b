// Hostile but well-sized input: extreme nesting, long strings, many keys and a storm of malformed
// JSON. The server must relay what is valid intact, refuse the rest, and keep serving everyone.

#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

class Hostile : public SignaldFixture
{
protected:
    Hostile()
    {
        // 1 MiB: room for 100,000 levels of object nesting (6 bytes a level) in one message.
        // The storms here test parsing, not flood control (limits_test covers that).
        start_server({"--max-message-bytes", "1048576", "--rate-msgs", "0", "--rate-bytes", "0"});
        sender_ = connect();
        receiver_ = connect();
        sender_id_ = sender_->join("h");
        receiver_->join("h");
        EXPECT_EQ(sender_->next_json().value("action", ""), "peer-joined");
    }

    // Sends a signal whose data is the given raw text and checks the receiver gets it verbatim.
    void expect_relayed(const std::string& data, const std::string& extra_members = "")
    {
        const std::string message = R"({"action":"signal","roomId":"h","type":"offer")" +
                                    extra_members + R"(,"data":)" + data + "}";
        sender_->send_text(message);
        const auto text = receiver_->next_text(10s);
        ASSERT_TRUE(text.has_value()) << "nothing relayed; server running: " << server_->running();
        const auto relayed = raw_member(*text, "data");
        ASSERT_TRUE(relayed.has_value());
        EXPECT_EQ(relayed->size(), data.size());
        EXPECT_TRUE(*relayed == data) << "data changed in transit";
        EXPECT_EQ(raw_member(*text, "from"), "\"" + sender_id_ + "\"");
    }

    // The server still answers: a newcomer can join and hear from the sender.
    void expect_still_serving()
    {
        auto newcomer = connect();
        const std::string newcomer_id = newcomer->join("h");
        EXPECT_EQ(sender_->next_json().value("action", ""), "peer-joined");
        EXPECT_EQ(receiver_->next_json().value("action", ""), "peer-joined");
        sender_->send_json(
            {{"action", "signal"}, {"roomId", "h"}, {"type", "hangup"}, {"to", newcomer_id}});
        EXPECT_EQ(newcomer->next_json().value("from", ""), sender_id_);
        EXPECT_TRUE(server_->running());
    }

    std::unique_ptr<WsClient> sender_, receiver_;
    std::string sender_id_;
};

constexpr std::size_t deep_levels = 100'000;

TEST_F(Hostile, ArrayDataNested100000DeepIsRelayedIntact)
{
    expect_relayed(std::string(deep_levels, '[') + std::string(deep_levels, ']'));
    expect_still_serving();
}

TEST_F(Hostile, ObjectDataNested100000DeepIsRelayedIntact)
{
    std::string data;
    data.reserve(deep_levels * 6 + 1);
    for (std::size_t i = 0; i < deep_levels; ++i)
        data += R"({"a":)";
    data += "0";
    data.append(deep_levels, '}');
    expect_relayed(data);
    expect_still_serving();
}

TEST_F(Hostile, DeepNestingOutsideDataIsSkippedAndNotForwarded)
{
    const std::string deep = std::string(deep_levels, '[') + std::string(deep_levels, ']');
    expect_relayed("{\"small\":true}", R"(,"extra":)" + deep);
    expect_still_serving();
}

TEST_F(Hostile, UnbalancedDeepNestingIsBadJson)
{
    sender_->send_text(std::string(2 * deep_levels, '['));
    EXPECT_EQ(sender_->next_json(5s).value("code", ""), "bad-json");
    sender_->send_text(R"({"action":"signal","roomId":"h","type":"offer","data":)" +
                       std::string(deep_levels, '{'));
    EXPECT_EQ(sender_->next_json(5s).value("code", ""), "bad-json");
    EXPECT_TRUE(receiver_->expect_silence(100ms));
    expect_still_serving();
}

TEST_F(Hostile, QuarterMegabyteStringsAreRelayedIntact)
{
    expect_relayed("\"" + std::string(250 * 1024, 's') + "\"");
    std::string escaped = "\"";
    while (escaped.size() < 250 * 1024)
        escaped += R"(\u00e9\"\\\n\ud83c\udf89 )";
    escaped += "\"";
    expect_relayed(escaped);
    expect_still_serving();
}

TEST_F(Hostile, TenThousandKeysAreHandled)
{
    std::string data = "{";
    for (int i = 0; i < 10'000; ++i)
        data +=
            (i ? "," : "") + std::string("\"key") + std::to_string(i) + "\":" + std::to_string(i);
    data += "}";
    expect_relayed(data);

    // Ten thousand unknown top-level members: the signal still works and none is forwarded.
    std::string junk;
    for (int i = 0; i < 10'000; ++i)
        junk += ",\"junk" + std::to_string(i) + "\":[" + std::to_string(i) + "]";
    sender_->send_text(R"({"action":"signal","roomId":"h","type":"answer")" + junk +
                       R"(,"data":"after the junk"})");
    const json relayed = receiver_->next_json(5s);
    std::set<std::string> keys;
    for (const auto& [key, value] : relayed.items())
        keys.insert(key);
    EXPECT_EQ(keys, (std::set<std::string>{"action", "roomId", "from", "type", "data"}));
    EXPECT_EQ(relayed.value("data", ""), "after the junk");
    expect_still_serving();
}

TEST_F(Hostile, MalformedJsonStormIsRefusedWhileOthersAreServed)
{
    auto p1 = connect();
    auto p2 = connect();
    const std::string p1_id = p1->join("calm");
    p2->join("calm");
    EXPECT_EQ(p1->next_json().value("action", ""), "peer-joined");

    const std::vector<std::string> malformed = {
        "{",
        "}",
        "[",
        "{\"action\":",
        "{\"action\":\"join\",\"roomId\":\"h\"",
        "{\"action\":\"join\",\"roomId\":\"h\",}",
        "{'action':'join'}",
        "{\"a\" 1}",
        "[1,]",
        "[\"a\" \"b\"]",
        "NaN",
        "Infinity",
        "-",
        "01",
        "1.",
        ".5",
        "+1",
        "1e",
        "tru",
        "nul",
        "\"unterminated",
        "\"bad escape \\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"raw control \x01 char\"",
        "{\"a\":1}{\"b\":2}",
        "{} {}",
        "   ",
        "",
        std::string(1000, '[') + std::string(999, ']'),
        // Valid JSON, but not a request object.
        "42",
        "\"just a string\"",
        "null",
        "true",
        "[]",
        "[{\"action\":\"join\",\"roomId\":\"h\"}]",
        "{}",
        "{\"action\":null}",
    };
    constexpr std::size_t storm_size = 2000;

    // The calm pair talks throughout the storm on its own thread.
    constexpr int calm_messages = 200;
    auto calm = std::async(std::launch::async, [&] {
        std::vector<int> seqs;
        for (int seq = 0; seq < calm_messages; ++seq) {
            p1->send_json(
                {{"action", "signal"}, {"roomId", "calm"}, {"type", "offer"}, {"data", seq}});
            const json message = p2->next_json(5s);
            if (message.value("from", "") != p1_id)
                throw std::runtime_error("unexpected message: " + message.dump());
            seqs.push_back(message.at("data").get<int>());
        }
        return seqs;
    });

    auto storm = connect();
    for (std::size_t i = 0; i < storm_size; ++i)
        storm->send_text(malformed[i % malformed.size()]);
    for (std::size_t i = 0; i < storm_size; ++i) {
        const std::string& text = malformed[i % malformed.size()];
        const json reply = storm->next_json(5s);
        const std::string expected = json::accept(text) ? "bad-message" : "bad-json";
        ASSERT_EQ(reply.value("code", ""), expected) << "for " << text.substr(0, 60);
        ASSERT_FALSE(reply.contains("request")) << reply.dump();
    }
    EXPECT_TRUE(storm->is_open());

    std::vector<int> expected(calm_messages);
    for (int seq = 0; seq < calm_messages; ++seq)
        expected[static_cast<std::size_t>(seq)] = seq;
    EXPECT_EQ(calm.get(), expected);
    EXPECT_TRUE(sender_->expect_silence(50ms));
    EXPECT_TRUE(receiver_->expect_silence(20ms));
    expect_still_serving();
}

} // namespace
} // namespace signald::test
