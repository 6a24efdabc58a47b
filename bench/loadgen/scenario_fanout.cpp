// fanout: R rooms x M members, closed loop. Each client keeps at most W of its own signals in
// flight, in the mix of signal_payload.hpp (the one an independent benchmark measured signald
// with: 1 in 5 an ~1 KB offer, the rest ~220 B ICE candidates, ~440 B a request on average;
// 1 in 16 directed to one other member, 1 in 16 with a forged from). A broadcast completes when
// all M-1 other members have it, a directed signal when its one receiver has it; the client may
// send another once its oldest is complete. Measures delivered messages per second (each
// receiver counts: a broadcast in a room of 4 is 3 deliveries, a directed signal 1) and their
// latency from the send time.

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
#include <cstdio>

namespace bench {
namespace {

// Long enough for 15,000 connections on a slow server, short enough to notice a dead one.
constexpr std::chrono::seconds setup_timeout{120};

class FanoutRun final : public MeshListener
{
public:
    explicit FanoutRun(const Options& options)
        : options_(options), mesh_(io_, mesh_options_from(options, options.rooms * options.members),
                                   violations_, *this),
          window_(options.window)
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

        const double window_s = std::chrono::duration<double>(window_end_ - window_start_).count();
        Report report;
        report["scenario"] = "fanout";
        report["rooms"] = options_.rooms;
        report["members"] = options_.members;
        report["window"] = window_;
        report["clients"] = mesh_.size();
        report["duration_s"] = round_to(window_s, 3);
        report["sent_per_s"] = round_to(static_cast<double>(sent_in_window_) / window_s, 1);
        report["avg_request_bytes"] =
            round_to(static_cast<double>(mesh_.sent_bytes_total()) /
                         static_cast<double>(std::max<std::uint64_t>(mesh_.sent_total(), 1)),
                     1);
        report["delivered_per_s"] =
            round_to(static_cast<double>(delivered_in_window_) / window_s, 1);
        add_percentiles(report, histogram_, true);
        add_cpu(report, cpu_);
        report["drained"] = drained_;
        report["lost"] = lost_;
        return finish_report(report, violations_.count());
    }

    void on_ready() override
    {
        ready_ = true;
        std::fprintf(stderr, "fanout: %zu clients in %zu rooms ready\n", mesh_.size(),
                     options_.rooms);
        completed_.assign(mesh_.size(), 0);
        in_flight_.assign(mesh_.size() * window_, 0);
        sending_ = true;
        for (std::size_t sender = 0; sender < mesh_.size(); ++sender)
            for (std::size_t i = 0; i < window_; ++i)
                send(sender);
        phase_timer_.expires_after(seconds(options_.warmup_s));
        phase_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec)
                begin_window();
        });
    }

    void on_delivered(std::size_t sender, std::uint64_t seq, std::int64_t sent_ns,
                      Clock::time_point received) override
    {
        if (measuring_) {
            ++delivered_in_window_;
            histogram_.record(ns_since_start(received) - sent_ns);
        }
        // A directed signal can complete before an earlier broadcast of the same sender, so
        // completion is kept per window slot and the window moves past the oldest complete run.
        auto& receipts = in_flight_[sender * window_ + seq % window_];
        if (++receipts < mesh_.receivers_of(sender, seq))
            return;
        receipts = complete;
        std::uint64_t& completed = completed_[sender];
        const std::uint64_t sent = mesh_.sent_by(sender);
        while (completed < sent) {
            auto& slot = in_flight_[sender * window_ + completed % window_];
            if (slot != complete)
                break;
            slot = 0;
            ++completed;
        }
        while (sending_ && mesh_.sent_by(sender) - completed < window_ && send(sender)) {
        }
    }

    void on_setup_failed(std::string_view why) override { fail(std::string(why)); }

private:
    bool send(std::size_t sender)
    {
        return mesh_.send_signal(sender, ns_since_start(Clock::now()));
    }

    // An in_flight_ slot whose signal every receiver has, waiting for the older ones.
    static constexpr std::uint32_t complete = ~std::uint32_t{0};

    void begin_window()
    {
        measuring_ = true;
        window_start_ = Clock::now();
        cpu_.begin(options_.server_pids);
        sent_at_window_start_ = mesh_.sent_total();
        phase_timer_.expires_after(seconds(options_.duration_s));
        phase_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec)
                end_window();
        });
    }

    void end_window()
    {
        measuring_ = false;
        sending_ = false;
        window_end_ = Clock::now();
        cpu_.end();
        sent_in_window_ = mesh_.sent_total() - sent_at_window_start_;
        const auto stopped = window_end_;
        wait_until(
            phase_timer_, stopped + seconds(options_.drain_timeout_s),
            [this] { return mesh_.drained(); },
            [this, stopped](bool drained) {
                drained_ = drained;
                if (!drained)
                    lost_ = mesh_.report_losses();
                std::fprintf(stderr, "fanout: %s after %.3f s\n",
                             drained ? "drained" : "drain timed out",
                             std::chrono::duration<double>(Clock::now() - stopped).count());
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
    boost::asio::steady_timer phase_timer_{io_};
    LatencyHistogram histogram_;
    CpuWindow cpu_;
    std::size_t window_;
    std::vector<std::uint64_t> completed_; // per sender: seqs below this are complete
    std::vector<std::uint32_t> in_flight_; // per sender, per window slot: receipts, or complete
    bool ready_ = false;
    bool sending_ = false;
    bool measuring_ = false;
    bool drained_ = false;
    std::uint64_t lost_ = 0;
    std::uint64_t delivered_in_window_ = 0;
    std::uint64_t sent_at_window_start_ = 0;
    std::uint64_t sent_in_window_ = 0;
    Clock::time_point window_start_{};
    Clock::time_point window_end_{};
    std::string failure_;
};

} // namespace

int run_fanout(const Options& options)
{
    // Heap: the histogram and per-client state are too big for the stack.
    auto run = std::make_unique<FanoutRun>(options);
    return run->run();
}

} // namespace bench
