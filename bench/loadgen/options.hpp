#pragma once
// Everything the command line sets, for every scenario. main.cpp fills it (CLI11); scenarios
// read it. Defaults live in main.cpp beside the flag that documents them.

#include <cstdint>
#include <string>

namespace bench {

struct Options
{
    std::string scenario;
    std::string url;
    std::string sources; // empty: the kernel picks the source address
    std::uint64_t seed = 1;

    std::size_t rooms = 0;
    std::size_t members = 4;
    std::size_t window = 8;
    double warmup_s = 2.0;
    double duration_s = 10.0;
    double drain_timeout_s = 10.0;
    double rate = 0.0;

    std::size_t connections = 15000;
    long server_pid = 0;
    double settle_s = 2.0;

    std::size_t pairs = 64;

    bool self_test_corrupt = false;
};

} // namespace bench
