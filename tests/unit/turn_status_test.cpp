// The texts the TURN self-test shows: the log line (also `signald check`'s), the /healthz?verbose
// lines and the /metrics families, exactly.

#include "signald/net/metrics_exposition.hpp"
#include "signald/turn/turn_status.hpp"

#include <gtest/gtest.h>

namespace signald {
namespace turn_status_test {

using namespace std::chrono;

std::vector<TurnCheckStatus> statuses()
{
    TurnCheckStatus ok;
    ok.url = "turn:turn.example.org:3478";
    ok.checked = true;
    ok.ok = true;
    ok.relay = "203.0.113.10:49152";
    ok.duration = milliseconds{12};
    ok.finished_at = sys_seconds{seconds{1700000000}};
    ok.checks = 3;
    TurnCheckStatus failed;
    failed.url = "turns:turn.example.org:5349?transport=tcp";
    failed.checked = true;
    failed.error = "401 Unauthorized: the server refused the credentials (wrong turn-secret?)";
    failed.duration = milliseconds{1234};
    failed.finished_at = sys_seconds{seconds{1700000010}};
    failed.checks = 3;
    failed.failures = 2;
    TurnCheckStatus waiting;
    waiting.url = "turn:[2001:db8::1]?transport=tcp";
    return {ok, failed, waiting};
}

TEST(TurnStatus, LogLineSaysOkWithTheRelayOrTheFailure)
{
    const auto all = statuses();
    EXPECT_EQ(turn_check_line(all[0]),
              "TURN turn:turn.example.org:3478 ok, relay 203.0.113.10:49152 (12 ms)");
    EXPECT_EQ(turn_check_line(all[1]),
              "TURN turns:turn.example.org:5349?transport=tcp failed: 401 Unauthorized: the server "
              "refused the credentials (wrong turn-secret?) (1234 ms)");
}

TEST(TurnStatus, HealthLinesGiveResultDurationAndAge)
{
    EXPECT_EQ(turn_health_lines(statuses(), sys_seconds{seconds{1700000030}}),
              "turn turn:turn.example.org:3478 ok relay 203.0.113.10:49152 12 ms, checked 30 s "
              "ago\n"
              "turn turns:turn.example.org:5349?transport=tcp failed (401 Unauthorized: the server "
              "refused the credentials (wrong turn-secret?)) 1234 ms, checked 20 s ago\n"
              "turn turn:[2001:db8::1]?transport=tcp not checked yet\n");
    EXPECT_EQ(turn_health_lines({}, sys_seconds{}), "");
}

TEST(TurnStatus, MetricsHaveOneSeriesPerCheckedUrlAndAFailureCounterForEach)
{
    const HubStats hub{};
    const NetStats net{};
    const Refusals::Counts refusals{};
    MetricsInputs inputs{.connections = 0,
                         .sessions = 0,
                         .rooms = 0,
                         .members = 0,
                         .suspended = 0,
                         .hub = hub,
                         .net = net,
                         .refusals = refusals,
                         .write_queue_limit_bytes = 4096,
                         .start_time = sys_seconds{seconds{1}},
                         .tls_not_after = std::nullopt};
    const std::string without = metrics_exposition(inputs);
    EXPECT_EQ(without.find("signald_turn"), std::string::npos);

    inputs.turn_checks = statuses();
    const std::string with = metrics_exposition(inputs);
    ASSERT_TRUE(with.starts_with(without));
    EXPECT_EQ(with.substr(without.size()),
              "# HELP signald_turn_check_ok 1 if the last TURN self-test of this URL allocated a "
              "relay, else 0.\n"
              "# TYPE signald_turn_check_ok gauge\n"
              "signald_turn_check_ok{url=\"turn:turn.example.org:3478\"} 1\n"
              "signald_turn_check_ok{url=\"turns:turn.example.org:5349?transport=tcp\"} 0\n"
              "# HELP signald_turn_check_seconds How long the last TURN self-test of this URL "
              "took.\n"
              "# TYPE signald_turn_check_seconds gauge\n"
              "signald_turn_check_seconds{url=\"turn:turn.example.org:3478\"} 0.012000\n"
              "signald_turn_check_seconds{url=\"turns:turn.example.org:5349?transport=tcp\"} "
              "1.234000\n"
              "# HELP signald_turn_check_timestamp_seconds When the last TURN self-test of this "
              "URL finished, in Unix time.\n"
              "# TYPE signald_turn_check_timestamp_seconds gauge\n"
              "signald_turn_check_timestamp_seconds{url=\"turn:turn.example.org:3478\"} "
              "1700000000\n"
              "signald_turn_check_timestamp_seconds{url=\"turns:turn.example.org:5349?transport="
              "tcp\"} 1700000010\n"
              "# HELP signald_turn_check_failures_total TURN self-tests of this URL that failed.\n"
              "# TYPE signald_turn_check_failures_total counter\n"
              "signald_turn_check_failures_total{url=\"turn:turn.example.org:3478\"} 0\n"
              "signald_turn_check_failures_total{url=\"turns:turn.example.org:5349?transport="
              "tcp\"} 2\n"
              "signald_turn_check_failures_total{url=\"turn:[2001:db8::1]?transport=tcp\"} 0\n");
}

} // namespace turn_status_test
} // namespace signald
