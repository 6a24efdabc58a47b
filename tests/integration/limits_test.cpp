// The limit options at startup (ranges, and an idle timeout that must outlast the ping interval),
// and the two HTTP endpoints operators watch them through: /metrics and /healthz.

#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace signald::test {
namespace {

class Limits : public SignaldFixture
{
protected:
    // A failed start: exit code 2 (a bad command line), no listening line, and one line on
    // stderr that mentions each word.
    void expect_rejected_command_line(const std::vector<std::string>& extra,
                                      const std::vector<std::string>& mentions)
    {
        const auto result = run_signald(server_args(web_root_.path(), extra));
        std::string args;
        for (const auto& arg : extra)
            args += arg + ' ';
        EXPECT_FALSE(result.timed_out) << args;
        EXPECT_TRUE(result.status.exited_normally()) << args << result.status.describe();
        EXPECT_EQ(result.status.code, 2) << args << result.status.describe();
        EXPECT_EQ(result.stdout_text.find("listening on"), std::string::npos) << args;
        EXPECT_EQ(std::count(result.stderr_text.begin(), result.stderr_text.end(), '\n'), 1)
            << args << ": " << result.stderr_text;
        for (const auto& word : mentions)
            EXPECT_NE(result.stderr_text.find(word), std::string::npos)
                << args << ": stderr does not mention " << word << ": " << result.stderr_text;
    }
};

TEST_F(Limits, HelpListsEveryLimitOption)
{
    const auto result = run_signald({"--help"});
    EXPECT_EQ(result.status.code, 0) << result.status.describe();
    for (const std::string option :
         {"--ping-interval", "--idle-timeout", "--request-timeout", "--max-header-bytes",
          "--max-queue-bytes", "--rate-msgs", "--rate-bytes", "--max-connections",
          "--max-connections-per-ip", "--allowed-origin"})
        EXPECT_NE(result.stdout_text.find(option), std::string::npos) << option;
}

TEST_F(Limits, AnIdleTimeoutNoLongerThanThePingIntervalFailsTheStart)
{
    expect_rejected_command_line({"--ping-interval", "5", "--idle-timeout", "5"},
                                 {"--idle-timeout", "--ping-interval"});
    expect_rejected_command_line({"--ping-interval", "30", "--idle-timeout", "20"},
                                 {"--idle-timeout", "--ping-interval"});
    // The defaults (15 and 40) leave room: raising only the ping interval past 40 does not.
    expect_rejected_command_line({"--ping-interval", "40"}, {"--idle-timeout", "--ping-interval"});

    SignaldProcess ok(
        server_args(web_root_.path(), {"--ping-interval", "5", "--idle-timeout", "6"}));
    EXPECT_NE(ok.port(), 0);
}

TEST_F(Limits, LimitOptionsOutOfRangeFailTheStartNamingTheOption)
{
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--ping-interval", "0"},      {"--ping-interval", "1.5"},
        {"--idle-timeout", "-1"},      {"--request-timeout", "0"},
        {"--max-header-bytes", "100"}, {"--max-queue-bytes", "10"},
        {"--rate-msgs", "-1"},         {"--rate-bytes", "lots"},
        {"--max-connections", "0"},    {"--max-connections-per-ip", "0"},
    };
    for (const auto& [option, value] : cases)
        expect_rejected_command_line({option, value}, {option});
}

TEST_F(Limits, MetricsReportLiveStateAsPrometheusText)
{
    SignaldProcess server(server_args(web_root_.path()));
    const auto empty = http_request(server.port(), "GET", "/metrics");
    EXPECT_EQ(empty.result_int(), 200);
    EXPECT_EQ(empty[boost::beast::http::field::content_type],
              "text/plain; version=0.0.4; charset=utf-8");
    for (const std::string name : {"signald_connections", "signald_sessions", "signald_rooms",
                                   "signald_members", "signald_rejections_total"}) {
        EXPECT_NE(empty.body().find("# HELP " + name + " "), std::string::npos) << name;
        EXPECT_NE(empty.body().find("# TYPE " + name + " "), std::string::npos) << name;
    }
    EXPECT_EQ(metric(server.port(), "signald_connections"), 0);
    EXPECT_EQ(metric(server.port(), R"(signald_rejections_total{reason="rate-limited"})"), 0);
    EXPECT_EQ(metric(server.port(), R"(signald_rejections_total{reason="flood"})"), 0);

    WsClient first;
    first.connect(server.port());
    first.join("a");
    WsClient second;
    second.connect(server.port());
    second.join("b");
    WsClient idle;
    idle.connect(server.port());
    EXPECT_EQ(metric(server.port(), "signald_connections"), 3);
    EXPECT_EQ(metric(server.port(), "signald_sessions"), 3);
    EXPECT_EQ(metric(server.port(), "signald_rooms"), 2);
    EXPECT_EQ(metric(server.port(), "signald_members"), 2);

    second.close();
    EXPECT_EQ(wait_for_metric(server.port(), "signald_connections", 2), 2);
    EXPECT_EQ(metric(server.port(), "signald_rooms"), 1);
    EXPECT_EQ(metric(server.port(), "signald_members"), 1);
}

TEST_F(Limits, HealthzAnswersOk)
{
    SignaldProcess server(server_args(web_root_.path()));
    const auto health = http_request(server.port(), "GET", "/healthz");
    EXPECT_EQ(health.result_int(), 200);
    EXPECT_EQ(health.body(), "ok\n");
    EXPECT_EQ(http_request(server.port(), "GET", "/healthz?probe=1").result_int(), 200);
    HttpClient head;
    head.connect(server.port());
    const auto headers = head.request("HEAD", "/healthz");
    EXPECT_EQ(headers.result_int(), 200);
    EXPECT_EQ(headers[boost::beast::http::field::content_length], "3");
}

} // namespace
} // namespace signald::test
