// handshake: N concurrent loops (--concurrency, default 64), each over and over: TCP connect, TLS
// handshake (wss:// only), HTTP upgrade, then the WebSocket close handshake and the TCP close.
// Measures upgrades completed per second in the window and the time from connect() to the 101
// being read (connect, TLS and upgrade together). Nothing is joined: this is the cost of a
// connection's arrival and departure alone, where TLS's key exchange dominates with wss://.
// Every TLS handshake is a full one unless --tls-resume, where each loop offers the session (the
// ticket) of its previous connection: a returning visitor, with no certificate to send or check.

#include "latency_histogram.hpp"
#include "options.hpp"
#include "report.hpp"
#include "run_support.hpp"
#include "scenarios.hpp"
#include "violations.hpp"
#include "ws_client.hpp"
#include "ws_target.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace bench {
namespace {

// A loop this long without an upgrade or a close has lost its way (a dead server, a lost reply).
constexpr std::chrono::seconds stall_limit{5};
constexpr std::chrono::milliseconds watchdog_period{500};

class HandshakeRun final : public WsClientEvents
{
public:
    explicit HandshakeRun(const Options& options)
        : options_(options), targets_(parse_ws_urls(options.url)),
          key_seed_(options.seed * 1000003), loops_(options.concurrency)
    {
        if (!options.sources.empty())
            sources_ = parse_sources(options.sources);
    }

    int run()
    {
        for (std::size_t i = 0; i < loops_.size(); ++i)
            begin(i);
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
        bool tls = false;
        for (const auto& target : targets_)
            tls = tls || target.tls;
        Report report;
        report["scenario"] = "handshake";
        report["concurrency"] = loops_.size();
        report["tls"] = tls;
        report["tls_resume"] = options_.tls_resume;
        report["duration_s"] = round_to(window_s, 3);
        report["handshakes"] = handshakes_in_window_;
        report["handshakes_per_s"] =
            round_to(static_cast<double>(handshakes_in_window_) / window_s, 1);
        report["resumed"] = resumed_in_window_;
        add_percentiles(report, histogram_, true);
        add_cpu(report, cpu_);
        report["failed"] = failed_;
        return finish_report(report, violations_.count());
    }

    void on_open(WsClient& client) override
    {
        Loop* loop = loop_of(client);
        if (loop == nullptr)
            return;
        const auto now = Clock::now();
        ++handshakes_total_;
        const bool resumed = client.tls_resumed();
        if (options_.tls_resume)
            loop->session = client.tls_session();
        if (measuring_) {
            ++handshakes_in_window_;
            resumed_in_window_ += resumed ? 1 : 0;
            histogram_.record(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - loop->started).count());
        }
        loop->upgraded = true;
        loop->last_progress = now;
        client.close();
    }

    void on_text(WsClient& client, std::span<char>) override
    {
        if (loop_of(client) != nullptr)
            violations_.add("handshake loop %zu: a message arrived before any join",
                            client.index());
    }

    void on_closed(WsClient& client, bool clean) override
    {
        if (loop_of(client) == nullptr)
            return;
        if (!clean)
            violations_.add("handshake loop %zu: the server did not answer the close frame and "
                            "end the stream within 1 s",
                            client.index());
        next(client.index());
    }

    void on_failed(WsClient& client, std::string_view why) override
    {
        if (loop_of(client) == nullptr)
            return;
        if (handshakes_total_ == 0)
            return fail(std::string(why));
        ++failed_;
        violations_.add("handshake loop %zu: %.*s", client.index(), static_cast<int>(why.size()),
                        why.data());
        next(client.index());
    }

private:
    struct Loop
    {
        std::shared_ptr<WsClient> client;
        std::shared_ptr<SSL_SESSION> session; // --tls-resume: the previous connection's
        Clock::time_point started{};
        Clock::time_point last_progress{};
        bool upgraded = false;
    };

    Loop* loop_of(WsClient& client)
    {
        const std::size_t i = client.index();
        return i < loops_.size() && loops_[i].client.get() == &client ? &loops_[i] : nullptr;
    }

    void begin(std::size_t i)
    {
        Loop& loop = loops_[i];
        loop.client = std::make_shared<WsClient>(io_, *this, i);
        loop.upgraded = false;
        loop.started = loop.last_progress = Clock::now();
        const WsTarget& target = targets_[next_target_++ % targets_.size()];
        const boost::asio::ip::address* source =
            sources_.empty() ? nullptr : &sources_[next_source_++ % sources_.size()];
        if (loop.session)
            loop.client->offer_tls_session(loop.session.get());
        loop.client->start(target, source, key_seed_++);
    }

    // The loop's connection is over: start the next one, or rest once the window has ended.
    void next(std::size_t i)
    {
        loops_[i].client.reset();
        if (running_)
            begin(i);
    }

    void begin_window()
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

    void end_window()
    {
        measuring_ = false;
        running_ = false;
        window_end_ = Clock::now();
        cpu_.end();
        // Let the connections in progress finish their close (the watchdog still guards them).
        wait_until(
            phase_timer_, window_end_ + stall_limit + watchdog_period,
            [this] {
                for (const auto& loop : loops_)
                    if (loop.client)
                        return false;
                return true;
            },
            [this](bool) {
                watchdog_.cancel();
                for (auto& loop : loops_)
                    if (loop.client)
                        loop.client->abort();
                io_.stop();
            });
    }

    void watch()
    {
        const auto now = Clock::now();
        for (std::size_t i = 0; i < loops_.size(); ++i) {
            Loop& loop = loops_[i];
            if (!loop.client || now - loop.last_progress < stall_limit)
                continue;
            if (handshakes_total_ == 0)
                return fail("no upgrade completed within 5 s");
            violations_.add("handshake loop %zu stalled %s", i,
                            loop.upgraded ? "closing" : "before the upgrade");
            loop.client->abort();
            next(i);
        }
        watchdog_.expires_after(watchdog_period);
        watchdog_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec)
                watch();
        });
    }

    void fail(std::string why)
    {
        if (failure_.empty())
            failure_ = std::move(why);
        running_ = false;
        for (auto& loop : loops_)
            if (loop.client)
                loop.client->abort();
        io_.stop();
    }

    const Options& options_;
    boost::asio::io_context io_{1};
    std::vector<WsTarget> targets_;
    std::size_t next_target_ = 0;
    std::vector<boost::asio::ip::address> sources_;
    std::size_t next_source_ = 0;
    std::uint64_t key_seed_;
    std::vector<Loop> loops_;
    Violations violations_;
    LatencyHistogram histogram_;
    CpuWindow cpu_;
    boost::asio::steady_timer phase_timer_{io_};
    boost::asio::steady_timer watchdog_{io_};
    bool running_ = true;
    bool measuring_ = false;
    std::uint64_t handshakes_total_ = 0;
    std::uint64_t handshakes_in_window_ = 0;
    std::uint64_t resumed_in_window_ = 0;
    std::uint64_t failed_ = 0;
    Clock::time_point window_start_{};
    Clock::time_point window_end_{};
    std::string failure_;
};

} // namespace

int run_handshake(const Options& options)
{
    // Heap: the histogram is too big for the stack.
    auto run = std::make_unique<HandshakeRun>(options);
    return run->run();
}

} // namespace bench
