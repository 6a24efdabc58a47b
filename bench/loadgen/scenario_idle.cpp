// idle: N connections in rooms of M, held open and silent. Measures the server's resident
// memory per connection (VmRSS from /proc, before connecting and after everything settled) and
// how fast connections were opened and joined (at most 512 at a time).

#include "mesh.hpp"
#include "options.hpp"
#include "report.hpp"
#include "run_support.hpp"
#include "scenarios.hpp"
#include "violations.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <fstream>
#include <string>

namespace bench {
namespace {

constexpr std::chrono::seconds setup_timeout{120};

// VmRSS in KiB of pid, or -1 when there is no pid or it cannot be read.
long read_vm_rss_kb(long pid)
{
    if (pid <= 0)
        return -1;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

class IdleRun final : public MeshListener
{
public:
    explicit IdleRun(const Options& options)
        : options_(options),
          mesh_(io_, mesh_options_from(options, options.connections), violations_, *this)
    {}

    int run()
    {
        if (options_.server_pid() > 0 && read_vm_rss_kb(options_.server_pid()) < 0)
            return cannot_run("cannot read VmRSS of --server-pid " +
                              std::to_string(options_.server_pid()));
        rss_before_kb_ = read_vm_rss_kb(options_.server_pid());
        const auto started = Clock::now();
        cpu_.begin(options_.server_pids); // over the arrival: connects, upgrades and joins
        mesh_.start();
        wait_until(
            setup_timer_, started + setup_timeout, [this] { return ready_; },
            [this](bool ok) {
                if (!ok)
                    fail("the connections were not all joined within the setup timeout");
            });
        io_.run();
        if (!failure_.empty())
            return cannot_run(failure_);

        const double setup_s =
            std::chrono::duration<double>(mesh_.last_joined() - mesh_.first_connect()).count();
        const auto n = static_cast<double>(options_.connections);
        Report report;
        report["scenario"] = "idle";
        report["connections"] = options_.connections;
        report["members"] = options_.members;
        report["connect_join_per_s"] = round_to(n / setup_s, 1);
        add_cpu(report, cpu_);
        if (options_.server_pid() > 0) {
            report["rss_before_kb"] = rss_before_kb_;
            report["rss_joined_kb"] = rss_joined_kb_;
            report["rss_after_kb"] = rss_after_kb_;
            report["bytes_per_connection"] =
                round_to(static_cast<double>(rss_after_kb_ - rss_before_kb_) * 1024.0 / n, 1);
        } else {
            report["rss_before_kb"] = nullptr;
            report["rss_after_kb"] = nullptr;
            report["bytes_per_connection"] = nullptr;
        }
        return finish_report(report, violations_.count());
    }

    void on_ready() override
    {
        ready_ = true;
        cpu_.end();
        rss_joined_kb_ = read_vm_rss_kb(options_.server_pid());
        std::fprintf(stderr, "idle: %zu connections joined; settling %.1f s\n",
                     options_.connections, options_.settle_s);
        settle_timer_.expires_after(seconds(options_.settle_s));
        settle_timer_.async_wait([this](const boost::system::error_code& ec) {
            if (ec)
                return;
            rss_after_kb_ = read_vm_rss_kb(options_.server_pid());
            mesh_.close_all();
            io_.stop();
        });
    }

    void on_delivered(std::size_t, std::uint64_t, std::int64_t, Clock::time_point) override {}

    void on_setup_failed(std::string_view why) override { fail(std::string(why)); }

private:
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
    boost::asio::steady_timer settle_timer_{io_};
    CpuWindow cpu_;
    bool ready_ = false;
    long rss_before_kb_ = -1;
    long rss_joined_kb_ = -1;
    long rss_after_kb_ = -1;
    std::string failure_;
};

} // namespace

int run_idle(const Options& options)
{
    auto run = std::make_unique<IdleRun>(options);
    return run->run();
}

} // namespace bench
