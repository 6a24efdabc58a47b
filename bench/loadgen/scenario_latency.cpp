// latency: R rooms x M members, open loop. Sends follow a fixed schedule, --rate per second in
// total, send j due at start + j / rate from client j % N, so every client sends at its own
// evenly spaced times. A 100 µs tick (--tick-us) sends whatever is due. Open loop: a slow server
// never slows the sending, so its backlog shows up as latency (sends queue in the generator's
// outbox with their time already stamped), not as thinner load. Latency runs from the moment a
// message is handed to the socket to its arrival; how late the generator itself was against the
// schedule is reported apart (max_send_lag_ms, sends_over_1ms_late), and a generator that cannot
// keep the schedule fails rate_held. The messages are fanout's mix (signal_payload.hpp: the one an
// independent benchmark measured signald with; 1 in 5 an ~1 KB offer, ~440 B a request on
// average, 1 in 16 directed to one member, 1 in 16 with a forged from); delivered_per_s counts
// each receiver.

#include "latency_histogram.hpp"
#include "mesh.hpp"
#include "options.hpp"
#include "report.hpp"
#include "run_support.hpp"
#include "scenarios.hpp"
#include "violations.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bench {
namespace {

constexpr std::chrono::seconds setup_timeout{120};
// The default --tick-us, 100 µs, is fine enough that pacing adds little to what is measured
// (50 µs on average), coarse enough that the timer costs the generator little.
// rate_held also needs the backlog gone this soon after the schedule ends.
constexpr std::chrono::seconds held_drain_limit{1};
// Achieved within 2% of offered counts as holding the rate.
constexpr double held_rate_tolerance = 0.02;

class LatencyRun final : public MeshListener
{
public:
    explicit LatencyRun(const Options& options)
        : options_(options), mesh_(io_, mesh_options_from(options, options.rooms * options.members),
                                   violations_, *this)
    {}

    int run()
    {
        const auto started = Clock::now();
        mesh_.start();
        wait_until(
            setup_timer_, started + setup_timeout, [this] { return ready_; },
            [this](bool ok) {
                if (!ok)
                    fail("the rooms were not all joined within the setup timeout");
            });
        io_.run();
        if (!failure_.empty())
            return cannot_run(failure_);

        const double duration = options_.duration_s;
        const double achieved = static_cast<double>(sent_in_window_) / duration;
        const double drain_s = std::chrono::duration<double>(drain_end_ - schedule_end_).count();
        const bool held =
            std::abs(achieved - options_.rate) <= held_rate_tolerance * options_.rate && drained_ &&
            drain_end_ - schedule_end_ <= held_drain_limit;
        Report report;
        report["scenario"] = "latency";
        report["rooms"] = options_.rooms;
        report["members"] = options_.members;
        report["clients"] = mesh_.size();
        report["duration_s"] = duration;
        report["offered_per_s"] = options_.rate;
        report["tick_us"] = options_.tick_us;
        report["achieved_per_s"] = round_to(achieved, 1);
        report["sent_per_s"] = round_to(achieved, 1);
        report["avg_request_bytes"] =
            round_to(static_cast<double>(mesh_.sent_bytes_total()) /
                         static_cast<double>(std::max<std::uint64_t>(mesh_.sent_total(), 1)),
                     1);
        report["delivered_per_s"] = round_to(static_cast<double>(histogram_.count()) / duration, 1);
        report["rate_held"] = held;
        add_percentiles(report, histogram_, true);
        add_cpu(report, cpu_);
        report["max_send_lag_ms"] = round_to(static_cast<double>(max_send_lag_ns_) / 1e6, 3);
        report["sends_over_1ms_late"] = sends_over_1ms_late_;
        report["drain_s"] = round_to(drain_s, 3);
        report["drained"] = drained_;
        report["lost"] = lost_;
        return finish_report(report, violations_.count());
    }

    void on_ready() override
    {
        ready_ = true;
        std::fprintf(stderr, "latency: %zu clients in %zu rooms ready\n", mesh_.size(),
                     options_.rooms);
        tick_ = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double, std::micro>(options_.tick_us));
        const auto start = Clock::now() + tick_;
        start_ns_ = ns_since_start(start);
        window_start_ns_ = start_ns_ + to_ns(std::chrono::duration<double>(options_.warmup_s));
        window_end_ns_ =
            window_start_ns_ + to_ns(std::chrono::duration<double>(options_.duration_s));
        period_ns_ = 1e9 / options_.rate;
        next_tick_ = start;
        schedule_tick();
    }

    void on_delivered(std::size_t, std::uint64_t, std::int64_t sent_ns,
                      Clock::time_point received) override
    {
        if (sent_ns >= window_start_ns_ && sent_ns < window_end_ns_)
            histogram_.record(ns_since_start(received) - sent_ns);
    }

    void on_setup_failed(std::string_view why) override { fail(std::string(why)); }

private:
    void schedule_tick()
    {
        tick_timer_.expires_at(next_tick_);
        tick_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec)
                on_tick();
        });
    }

    void on_tick()
    {
        const std::int64_t now_ns = ns_since_start(Clock::now());
        const bool in_window = now_ns >= window_start_ns_ && now_ns < window_end_ns_;
        if (in_window && !cpu_measuring_) {
            cpu_measuring_ = true;
            cpu_.begin(options_.server_pids);
        }
        const std::size_t clients = mesh_.size();
        for (;;) {
            const auto due_ns =
                start_ns_ + static_cast<std::int64_t>(static_cast<double>(next_send_) * period_ns_);
            if (due_ns >= window_end_ns_)
                return end_schedule();
            if (due_ns > now_ns)
                break;
            // Stamped with the time it goes out: the relay latency. The generator's own lateness
            // against the schedule is counted apart (below), so neither hides in the other.
            mesh_.send_signal(next_send_ % clients, now_ns);
            ++next_send_;
            if (in_window) {
                ++sent_in_window_;
                // How late the generator itself sent: latency it adds before the server sees
                // anything. Reported so a tail can be told apart from the server's.
                const std::int64_t lag_ns = now_ns - due_ns;
                max_send_lag_ns_ = std::max(max_send_lag_ns_, lag_ns);
                if (lag_ns > 1'000'000)
                    ++sends_over_1ms_late_;
            }
        }
        next_tick_ += tick_;
        schedule_tick();
    }

    void end_schedule()
    {
        schedule_end_ = Clock::now();
        cpu_.end();
        wait_until(
            tick_timer_, schedule_end_ + seconds(options_.drain_timeout_s),
            [this] { return mesh_.drained(); },
            [this](bool drained) {
                drained_ = drained;
                drain_end_ = Clock::now();
                if (!drained)
                    lost_ = mesh_.report_losses();
                std::fprintf(stderr, "latency: %s after %.3f s\n",
                             drained ? "drained" : "drain timed out",
                             std::chrono::duration<double>(drain_end_ - schedule_end_).count());
                mesh_.close_all();
                io_.stop();
            });
    }

    void fail(std::string why)
    {
        if (failure_.empty())
            failure_ = std::move(why);
        mesh_.close_all();
        io_.stop();
    }

    const Options& options_;
    boost::asio::io_context io_{1};
    Violations violations_;
    Mesh mesh_;
    boost::asio::steady_timer setup_timer_{io_};
    boost::asio::steady_timer tick_timer_{io_};
    LatencyHistogram histogram_;
    CpuWindow cpu_;
    bool cpu_measuring_ = false;
    bool ready_ = false;
    bool drained_ = false;
    std::uint64_t lost_ = 0;
    std::int64_t start_ns_ = 0;
    std::int64_t window_start_ns_ = 0;
    std::int64_t window_end_ns_ = 0;
    double period_ns_ = 0;
    std::uint64_t next_send_ = 0;
    std::uint64_t sent_in_window_ = 0;
    std::int64_t max_send_lag_ns_ = 0;
    std::uint64_t sends_over_1ms_late_ = 0;
    Clock::time_point next_tick_{};
    Clock::duration tick_{};
    Clock::time_point schedule_end_{};
    Clock::time_point drain_end_{};
    std::string failure_;
};

} // namespace

int run_latency(const Options& options)
{
    auto run = std::make_unique<LatencyRun>(options);
    return run->run();
}

} // namespace bench
