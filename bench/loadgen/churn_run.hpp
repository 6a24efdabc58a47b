#pragma once
// The churn scenario's driver: P ChurnPairs looping over sessions, a warmup and a measured
// window, and a watchdog that turns a stuck session into a violation instead of a hang.

#include "churn_pair.hpp"
#include "clock.hpp"
#include "cpu_usage.hpp"
#include "violations.hpp"
#include "ws_target.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <vector>

namespace bench {

struct Options;

class ChurnRun
{
public:
    explicit ChurnRun(const Options& options);
    int run();

    // For ChurnPair.
    boost::asio::io_context& io() { return io_; }
    // The targets in turn: with a cluster's nodes, the two ends of a pair are on different nodes.
    const WsTarget& next_target() { return targets_[next_target_++ % targets_.size()]; }
    const boost::asio::ip::address* next_source();
    std::uint64_t next_key_seed() { return key_seed_++; }
    bool running() const { return running_; }
    // --self-test-corrupt: true exactly once, for the first message checked.
    bool take_corruption();
    Violations& violations() { return violations_; }
    void on_session_done();
    // A connection failed; before the first session completes that means the server is not
    // there, and the run stops.
    void on_connection_failed(std::string_view why);

private:
    void begin_window();
    void end_window();
    void watch();
    void fail(std::string why);

    const Options& options_;
    boost::asio::io_context io_{1};
    std::vector<WsTarget> targets_;
    std::size_t next_target_ = 0;
    std::vector<boost::asio::ip::address> sources_;
    std::size_t next_source_ = 0;
    std::uint64_t key_seed_;
    Violations violations_;
    CpuWindow cpu_;
    std::vector<std::unique_ptr<ChurnPair>> pairs_;
    boost::asio::steady_timer phase_timer_{io_};
    boost::asio::steady_timer watchdog_{io_};
    bool running_ = true;
    bool measuring_ = false;
    bool corrupt_pending_;
    std::uint64_t sessions_total_ = 0;
    std::uint64_t sessions_in_window_ = 0;
    Clock::time_point window_start_{};
    Clock::time_point window_end_{};
    std::string failure_;
};

} // namespace bench
