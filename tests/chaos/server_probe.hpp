#pragma once
// What the chaos test reads about the server from outside: its memory and CPU time from /proc,
// and its gauges and counters from GET /metrics through the strict exposition reader
// (tests/support/exposition.hpp). Used by the driver's checks and the test's RSS check; it never
// talks WebSocket and never decides what is right.

#include "exposition.hpp"

#include <cstdint>
#include <string>

#include <sys/types.h>

namespace signald::test::chaos {

// Resident and peak resident memory of a process, in KiB, from /proc/<pid>/status.
struct Memory
{
    long rss_kib = 0;
    long hwm_kib = 0;
};

Memory memory_of(pid_t pid);

// CPU time (user + system) a process has used so far, in seconds, from /proc/<pid>/stat.
double cpu_seconds_of(pid_t pid);

inline double mib(long kib)
{
    return static_cast<double>(kib) / 1024.0;
}

// GET /metrics, read strictly: a format problem is in Exposition::problems. Throws if the request
// fails.
Exposition fetch_metrics(std::uint16_t port);

// The gauges that say how much the server holds; -1 where a gauge is missing. members includes
// the suspended ones.
struct Gauges
{
    long connections = -1;
    long sessions = -1;
    long rooms = -1;
    long members = -1;
    long suspended = -1;

    bool operator==(const Gauges&) const = default;
    std::string describe() const;
};

Gauges gauges_of(const Exposition& metrics);

} // namespace signald::test::chaos
