// churn: P pairs each looping connect, join, offer, answer, close (see churn_pair.hpp).
// Measures completed sessions per second over the window after warmup.

#include "churn_run.hpp"

#include "options.hpp"
#include "report.hpp"
#include "run_support.hpp"
#include "scenarios.hpp"

#include <cstdio>

namespace bench {
namespace {

// A session takes milliseconds; one stuck this long has lost a message.
constexpr std::chrono::seconds stall_limit{5};
constexpr std::chrono::milliseconds watchdog_period{500};

} // namespace

ChurnRun::ChurnRun(const Options& options)
    : options_(options), targets_(parse_ws_urls(options.url)), key_seed_(options.seed * 1000003),
      corrupt_pending_(options.self_test_corrupt)
{
    if (!options.sources.empty())
        sources_ = parse_sources(options.sources);
    for (std::size_t i = 0; i < options.pairs; ++i)
        pairs_.push_back(std::make_unique<ChurnPair>(*this, i));
}

const boost::asio::ip::address* ChurnRun::next_source()
{
    if (sources_.empty())
        return nullptr;
    return &sources_[next_source_++ % sources_.size()];
}

bool ChurnRun::take_corruption()
{
    const bool take = corrupt_pending_;
    corrupt_pending_ = false;
    return take;
}

void ChurnRun::on_session_done()
{
    ++sessions_total_;
    if (measuring_)
        ++sessions_in_window_;
}

void ChurnRun::on_connection_failed(std::string_view why)
{
    if (sessions_total_ == 0)
        return fail(std::string(why));
    violations_.add("churn: connection failed: %.*s", static_cast<int>(why.size()), why.data());
}

int ChurnRun::run()
{
    for (auto& pair : pairs_)
        pair->begin();
    phase_timer_.expires_after(seconds(options_.warmup_s));
    phase_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec)
            begin_window();
    });
    watch();
    io_.run();
    if (!failure_.empty())
        return cannot_run(failure_);

    const double window_s = std::chrono::duration<double>(window_end_ - window_start_).count();
    Report report;
    report["scenario"] = "churn";
    report["pairs"] = options_.pairs;
    report["duration_s"] = round_to(window_s, 3);
    report["sessions"] = sessions_in_window_;
    report["sessions_per_s"] = round_to(static_cast<double>(sessions_in_window_) / window_s, 1);
    report["connections_per_s"] =
        round_to(2.0 * static_cast<double>(sessions_in_window_) / window_s, 1);
    add_cpu(report, cpu_);
    return finish_report(report, violations_.count());
}

void ChurnRun::begin_window()
{
    measuring_ = true;
    window_start_ = Clock::now();
    cpu_.begin(options_.server_pids);
    phase_timer_.expires_after(seconds(options_.duration_s));
    phase_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec)
            end_window();
    });
}

void ChurnRun::end_window()
{
    measuring_ = false;
    running_ = false;
    window_end_ = Clock::now();
    cpu_.end();
    // Let the sessions in progress finish (the watchdog still guards them), then stop.
    wait_until(
        phase_timer_, window_end_ + stall_limit + watchdog_period,
        [this] {
            for (const auto& pair : pairs_)
                if (pair->active())
                    return false;
            return true;
        },
        [this](bool) {
            watchdog_.cancel();
            for (auto& pair : pairs_)
                pair->abandon();
            io_.stop();
        });
}

void ChurnRun::watch()
{
    const auto now = Clock::now();
    for (auto& pair : pairs_) {
        if (!pair->active() || now - pair->last_progress() < stall_limit)
            continue;
        violations_.add("churn pair %zu session %llu stalled: %s", pair->index(),
                        static_cast<unsigned long long>(pair->iteration()), pair->step());
        pair->abandon();
        if (running_)
            pair->begin();
    }
    watchdog_.expires_after(watchdog_period);
    watchdog_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec)
            watch();
    });
}

void ChurnRun::fail(std::string why)
{
    if (failure_.empty())
        failure_ = std::move(why);
    running_ = false;
    for (auto& pair : pairs_)
        pair->abandon();
    io_.stop();
}

int run_churn(const Options& options)
{
    ChurnRun run(options);
    return run.run();
}

} // namespace bench
