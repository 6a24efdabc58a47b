#pragma once
// Everything the command line sets, for every scenario. main.cpp fills it (CLI11); scenarios
// read it. Defaults live in main.cpp beside the flag that documents them.

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

struct Options
{
    std::string scenario;
    std::string url;     // one ws:// or wss:// URL, or several (a cluster's nodes), comma-separated
    std::string sources; // empty: the kernel picks the source address
    std::uint64_t seed = 1;

    std::size_t rooms = 0;
    std::size_t members = 4;
    std::size_t window = 8;
    double warmup_s = 2.0;
    double duration_s = 10.0;
    double drain_timeout_s = 10.0;
    double rate = 0.0;
    double tick_us = 100.0; // latency: the send timer's period

    std::size_t connections = 15000;
    // The server's process, or a cluster's (its nodes and Redis): their CPU time is reported.
    // The first is the one whose memory idle reads.
    std::vector<long> server_pids;
    double settle_s = 2.0;

    std::size_t pairs = 64;
    std::size_t concurrency = 64; // handshake: loops at once
    bool tls_resume = false;      // handshake: resume the previous connection's TLS session

    bool self_test_corrupt = false;

    long server_pid() const { return server_pids.empty() ? 0 : server_pids.front(); }
};

} // namespace bench
