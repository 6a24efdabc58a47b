// --log-format json: every line signald writes to stderr is one JSON object with time, level and
// msg, through a whole session and a failed start alike, whatever bytes a client puts in a logged
// value.

#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "utc_timestamp.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

// Every line of stderr, parsed; a failure for each that is not one object with exactly the three
// keys, a UTC timestamp and a known level.
std::vector<json> json_lines(const std::string& text)
{
    std::vector<json> out;
    EXPECT_TRUE(!text.empty() && text.back() == '\n') << "stderr ends mid-line: " << text;
    for (std::size_t start = 0; start < text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        const std::string line = text.substr(start, end - start);
        start = end + 1;
        const json record = json::parse(line, nullptr, false);
        if (record.is_discarded() || !record.is_object()) {
            ADD_FAILURE() << "not a JSON object: " << line;
            continue;
        }
        EXPECT_EQ(record.size(), 3u) << line;
        EXPECT_TRUE(record.contains("time") && record["time"].is_string() &&
                    is_utc_timestamp(record["time"].get<std::string>()))
            << line;
        EXPECT_TRUE(record.contains("level") && record["level"].is_string()) << line;
        EXPECT_TRUE(record.contains("msg") && record["msg"].is_string()) << line;
        out.push_back(record);
    }
    return out;
}

class LogFormat : public SignaldFixture
{};

TEST_F(LogFormat, JsonWritesOneObjectPerLineThroughASession)
{
    SignaldProcess server(server_args(web_root_.path(), {"--log-format", "json"}));
    // Quotes and a backslash are allowed in a room id and logged as given.
    const std::string room = R"(stand "up" \ é)";
    std::string id;
    {
        WsClient client;
        client.connect(server.port());
        id = client.join(room);
        EXPECT_EQ(client.close(1000), 1000);
    }
    {
        // An Origin byte that is not UTF-8 reaches the log of the refusal.
        RawWsClient stranger;
        EXPECT_EQ(stranger.try_connect(server.port(), {{"Origin", "http://\xff.example"}}), 403u);
    }
    ASSERT_TRUE(server.wait_for_stderr("disconnected"));
    ASSERT_TRUE(server.wait_for_stderr("rejected (origin)"));
    server.send_signal(SIGTERM);
    ASSERT_TRUE(server.wait_exit(5s));

    const auto records = json_lines(server.stderr_text());
    bool joined = false;
    bool refused = false;
    for (const json& record : records) {
        const std::string msg = record.value("msg", "");
        if (msg == id + " joined " + room + " (1 members)") {
            joined = true;
            EXPECT_EQ(record["level"], "info");
        }
        if (msg.find("rejected (origin)") != std::string::npos) {
            refused = true;
            EXPECT_EQ(record["level"], "warn");
            EXPECT_NE(msg.find("for Origin http://\xEF\xBF\xBD.example"), std::string::npos) << msg;
        }
    }
    EXPECT_TRUE(joined) << server.stderr_text();
    EXPECT_TRUE(refused) << server.stderr_text();
    EXPECT_EQ(records.back().value("msg", ""), "stopped");
}

TEST_F(LogFormat, AFailedStartIsAJsonRecordToo)
{
    TempDir empty; // no index.html
    const auto result = run_signald(server_args(empty.path(), {"--log-format", "json"}));
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.status.code, 1) << result.status.describe();
    const auto records = json_lines(result.stderr_text);
    ASSERT_EQ(records.size(), 1u) << result.stderr_text;
    EXPECT_EQ(records[0]["level"], "critical");
    EXPECT_NE(records[0].value("msg", "").find("index.html"), std::string::npos)
        << result.stderr_text;
}

TEST_F(LogFormat, TextStaysTheDefault)
{
    SignaldProcess server(server_args(web_root_.path()));
    ASSERT_TRUE(server.wait_for_stderr("serving"));
    EXPECT_NE(server.stderr_text().front(), '{') << server.stderr_text();
    EXPECT_NE(server.stderr_text().find(" info serving "), std::string::npos)
        << server.stderr_text();
}

} // namespace
} // namespace signald::test
