// Keepalive: the server pings every --ping-interval, cuts a peer that has been silent (not even a
// pong) for --idle-timeout and tells its room, and leaves a quiet peer that answers pings alone.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <unistd.h>

namespace signald::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr auto ping_interval = 1s;
constexpr auto idle_timeout = 2s;
// A timer firing late on a loaded machine, and the time for peer-left to travel.
constexpr auto slack = 1500ms;

std::string join_text(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

// CPU time (user + system) the process has used so far.
std::chrono::milliseconds cpu_time(pid_t pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string skip;
    for (int field = 3; field < 14; ++field)
        fields >> skip;
    long long user_ticks = 0;
    long long system_ticks = 0;
    fields >> user_ticks >> system_ticks;
    const long long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    return std::chrono::milliseconds((user_ticks + system_ticks) * 1000 / ticks_per_second);
}

// The time left until deadline (zero if it has passed), for deadline-based waits.
std::chrono::milliseconds until(Clock::time_point deadline)
{
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
}

class Keepalive : public SignaldFixture
{
protected:
    void start(std::chrono::seconds idle = idle_timeout, std::vector<std::string> extra = {})
    {
        std::vector<std::string> args{"--ping-interval", std::to_string(ping_interval.count()),
                                      "--idle-timeout", std::to_string(idle.count())};
        args.insert(args.end(), extra.begin(), extra.end());
        start_server(std::move(args));
    }
};

// With resume off the room hears peer-left at the cut; with resume on, peer-suspended
// (resume_test).
TEST_F(Keepalive, APeerThatStopsAnsweringIsCutWithinTheIdleTimeoutAndItsRoomHearsPeerLeft)
{
    start(idle_timeout, {"--resume-grace", "0"});
    auto watcher = connect();
    watcher->join("k");

    // The raw peer joins, then reads nothing and answers nothing, though its TCP stays up.
    RawWsClient dead;
    dead.connect(server_->port());
    dead.send_text(join_text("k"));
    const auto last_sent = Clock::now();
    const json joined = watcher->next_json();
    ASSERT_EQ(joined.value("action", ""), "peer-joined");
    const std::string dead_id = joined["peer"].value("clientId", "");

    EXPECT_EQ(watcher->next_json(idle_timeout + slack),
              (json{{"action", "peer-left"}, {"roomId", "k"}, {"clientId", dead_id}}));
    const auto silent_for = Clock::now() - last_sent;
    EXPECT_GE(silent_for, idle_timeout - 100ms) << "cut before the idle timeout";
    EXPECT_LE(silent_for, idle_timeout + slack);

    // It was pinged (and never answered), then cut.
    const auto seen = dead.drain(2s);
    EXPECT_TRUE(seen.ended) << "the server should have ended the connection";
    ASSERT_GE(seen.frames.size(), 1u);
    EXPECT_EQ(seen.frames.front().opcode, 0x1);
    EXPECT_NE(seen.frames.front().payload.find(R"("action":"joined")"), std::string::npos);
    EXPECT_GE(seen.count(0x9), 1u) << "no ping reached the silent peer";

    EXPECT_EQ(
        wait_for_metric(server_->port(), R"(signald_rejections_total{reason="idle-timeout"})", 1),
        1);
    EXPECT_EQ(metric(server_->port(), "signald_connections"), 1);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (idle-timeout)"));
    EXPECT_EQ(occurrences(server_->stderr_text(), "rejected (idle-timeout)"), 1u);
    // The watcher, which answered every ping, is still there.
    EXPECT_TRUE(watcher->expect_silence(100ms));
}

TEST_F(Keepalive, QuietPeersThatAnswerPingsStayThroughSeveralIdleTimeouts)
{
    start();
    auto first = connect();
    auto second = connect();
    const std::string first_id = first->join("q");
    second->join("q");
    ASSERT_EQ(first->next_json().value("action", ""), "peer-joined");

    // Neither sends a message for 2.5 idle timeouts; each only answers pings, never more than
    // 100 ms late. Nobody may leave.
    const auto until = Clock::now() + 5s;
    while (Clock::now() < until) {
        ASSERT_TRUE(first->expect_silence(100ms));
        ASSERT_TRUE(second->expect_silence(100ms));
    }
    EXPECT_GE(first->pings_received(), 4u);
    EXPECT_GE(second->pings_received(), 4u);

    first->send_json({{"action", "signal"}, {"roomId", "q"}, {"type", "offer"}, {"data", 1}});
    EXPECT_EQ(second->next_json(), (json{{"action", "signal"},
                                         {"roomId", "q"},
                                         {"from", first_id},
                                         {"type", "offer"},
                                         {"data", 1}}));
    EXPECT_EQ(metric(server_->port(), R"(signald_rejections_total{reason="idle-timeout"})"),
              std::nullopt);
    EXPECT_EQ(metric(server_->port(), "signald_members"), 2);
}

// A peer that stops reading while the server still has megabytes for it: the write stalls, so no
// ping can go out. The keepalive must neither spin while it waits nor forget the idle timeout.
TEST_F(Keepalive, APeerWithAStalledWriteCostsNoCpuAndIsStillCutAtTheIdleTimeout)
{
    constexpr auto long_idle = 6s;
    // A queue cap far above the flood, so only the idle timeout can end the stalled peer.
    start(long_idle, {"--max-queue-bytes", "134217728", "--rate-msgs", "0", "--rate-bytes", "0",
                      "--resume-grace", "0"});
    auto flooder = connect();
    flooder->join("s");

    RawWsClient stalled;
    stalled.set_receive_buffer(4096);
    stalled.connect(server_->port());
    stalled.send_text(join_text("s"));
    const auto last_sent = Clock::now();
    const json joined = flooder->next_json();
    ASSERT_EQ(joined.value("action", ""), "peer-joined");
    const std::string stalled_id = joined["peer"].value("clientId", "");

    // 6 MiB: twice what loopback socket buffers take in (about 3 MiB), so the server's write to
    // the stalled peer blocks, and so does every ping after it.
    const std::string data(64 * 1024, 'x');
    for (int i = 0; i < 96; ++i)
        flooder->send_text(R"({"action":"signal","roomId":"s","type":"offer","data":")" + data +
                           "\"}");
    // An error reply shows the server has handled everything before it.
    flooder->send_json({{"action", "leave"}, {"roomId", "elsewhere"}});
    ASSERT_EQ(flooder->next_json(5s).value("code", ""), "not-in-room");
    const auto stalled_since = Clock::now();
    // Two ping intervals on, a ping has been due and unwritable for a whole interval. Measure
    // from then until shortly before the idle timeout.
    const auto measure_from = stalled_since + 2 * ping_interval;
    const auto measure_until = last_sent + long_idle - 500ms;
    ASSERT_GE(measure_until - measure_from, 1s) << "the flood took too long to prove anything";

    // An idle server uses next to no CPU; one that re-arms an expired timer in a loop uses all of
    // it.
    ASSERT_TRUE(flooder->expect_silence(until(measure_from)));
    const auto cpu_before = cpu_time(server_->pid());
    const auto wall_before = Clock::now();
    ASSERT_TRUE(flooder->expect_silence(until(measure_until)));
    const auto cpu_used = cpu_time(server_->pid()) - cpu_before;
    const auto wall =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - wall_before);
    EXPECT_LT(cpu_used, wall / 4) << "the server burnt " << cpu_used.count() << " ms of CPU in "
                                  << wall.count() << " ms while one write was stalled";

    EXPECT_EQ(flooder->next_json(slack + 500ms),
              (json{{"action", "peer-left"}, {"roomId", "s"}, {"clientId", stalled_id}}));
    EXPECT_GE(Clock::now() - last_sent, long_idle - 100ms);
    EXPECT_EQ(
        wait_for_metric(server_->port(), R"(signald_rejections_total{reason="idle-timeout"})", 1),
        1);
    // The session, stuck write and all, is gone: only the flooder's remains.
    EXPECT_EQ(wait_for_metric(server_->port(), "signald_sessions", 1), 1);
    EXPECT_TRUE(stalled.drain(5s).ended);
}

} // namespace
} // namespace signald::test
