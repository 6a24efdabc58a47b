// signald-bench: the load generator for signald's benchmark (docs: /tmp contract, issue 5).
// Parses the command line, raises the open-file limit and runs one scenario.

#include "clock.hpp"
#include "options.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <exception>

namespace {

// Idle runs hold 15,000 sockets: take everything the hard limit allows.
void raise_open_file_limit()
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0)
            std::perror("signald-bench: setrlimit(RLIMIT_NOFILE)");
    }
}

void add_common(CLI::App& command, bench::Options& options)
{
    command
        .add_option("--url", options.url,
                    "Server WebSocket URL, ws://HOST:PORT/ws or wss://HOST:PORT/ws (TLS, the "
                    "certificate unchecked); for a cluster its nodes' URLs, comma-separated: "
                    "client i connects to the (i mod N)th")
        ->required();
    command.add_option("--sources", options.sources,
                       "Comma-separated local IPs to connect from, round robin "
                       "(default: the kernel's choice, 127.0.0.1 on loopback)");
    command
        .add_option("--server-pid", options.server_pids,
                    "Server PID, or several comma-separated (a cluster's nodes and Redis): read "
                    "their CPU time (and, for idle, the first one's VmRSS) from /proc")
        ->delimiter(',');
    command.add_option("--seed", options.seed, "Seed for WebSocket keys")->capture_default_str();
    // Hidden: corrupts one received message before it is checked, so the smoke test can prove
    // that the checker notices.
    command.add_flag("--self-test-corrupt", options.self_test_corrupt)->group("");
}

void add_timing(CLI::App& command, bench::Options& options)
{
    command.add_option("--warmup", options.warmup_s, "Seconds of load before measuring")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    command.add_option("--duration", options.duration_s, "Seconds measured")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

void add_rooms(CLI::App& command, bench::Options& options)
{
    command.add_option("--rooms", options.rooms, "Rooms")->required()->check(CLI::PositiveNumber);
    command.add_option("--members", options.members, "Members per room")
        ->check(CLI::Range(2, 10000))
        ->capture_default_str();
    command
        .add_option("--drain-timeout", options.drain_timeout_s,
                    "Seconds to wait after sending stops for every message to arrive")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

} // namespace

int main(int argc, char** argv)
{
    bench::bench_start();
    bench::Options options;
    CLI::App app{"signald-bench: WebSocket load generator for signald and its baselines"};
    app.require_subcommand(1);

    auto* fanout = app.add_subcommand("fanout", "Closed loop: every member broadcasts to its room");
    add_common(*fanout, options);
    add_rooms(*fanout, options);
    add_timing(*fanout, options);
    fanout->add_option("--window", options.window, "Own broadcasts in flight per client")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();

    auto* latency = app.add_subcommand("latency", "Open loop at a fixed total send rate");
    add_common(*latency, options);
    add_rooms(*latency, options);
    add_timing(*latency, options);
    latency->add_option("--rate", options.rate, "Sends per second, all clients together")
        ->required()
        ->check(CLI::PositiveNumber);
    latency
        ->add_option("--tick-us", options.tick_us,
                     "Microseconds between send ticks; each tick sends whatever is due")
        ->check(CLI::Range(1.0, 100000.0))
        ->capture_default_str();

    auto* idle = app.add_subcommand("idle", "Memory per idle connection");
    add_common(*idle, options);
    idle->add_option("--connections", options.connections, "Connections to hold open")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    idle->add_option("--members", options.members, "Members per room")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();
    idle->add_option("--settle", options.settle_s, "Seconds to wait before the last RSS reading")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();

    auto* churn = app.add_subcommand("churn", "Connect, join, offer/answer, close; in a loop");
    add_common(*churn, options);
    add_timing(*churn, options);
    churn->add_option("--pairs", options.pairs, "Concurrent pairs")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();

    auto* handshake = app.add_subcommand(
        "handshake", "Connect, TLS handshake (wss://), upgrade, close; in concurrent loops");
    add_common(*handshake, options);
    add_timing(*handshake, options);
    handshake->add_option("--concurrency", options.concurrency, "Concurrent loops")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    handshake->add_flag("--tls-resume", options.tls_resume,
                        "wss://: each loop resumes its previous connection's TLS session "
                        "(default: every handshake a full one)");

    CLI11_PARSE(app, argc, argv);
    raise_open_file_limit();

    try {
        if (fanout->parsed())
            return bench::run_fanout(options);
        if (latency->parsed())
            return bench::run_latency(options);
        if (idle->parsed())
            return bench::run_idle(options);
        if (churn->parsed())
            return bench::run_churn(options);
        return bench::run_handshake(options);
    } catch (const std::exception& e) {
        return bench::cannot_run(e.what());
    }
}
