#pragma once
// CPU time of this process and, optionally, of the server (or each process of a cluster), over a
// scenario's measured window: the report shows whether the generator or the server was the one
// running out of core.

#include "clock.hpp"

#include <span>
#include <vector>

namespace bench {

class CpuWindow
{
public:
    // No server pids: only the generator is measured.
    void begin(std::span<const long> server_pids);
    void end();

    double generator_percent() const;
    // All the server's processes together; negative when there is no server pid or a /proc
    // entry could not be read.
    double server_percent() const;
    // Each process in the order given; empty when server_percent() is negative.
    std::vector<double> server_percent_each() const;

private:
    std::vector<long> server_pids_;
    Clock::time_point begin_at_{};
    Clock::time_point end_at_{};
    double generator_begin_s_ = 0, generator_end_s_ = 0;
    std::vector<double> server_begin_s_, server_end_s_; // -1: unreadable
};

// utime + stime of pid from /proc/<pid>/stat, in seconds; -1 if unreadable.
double process_cpu_seconds(long pid);

} // namespace bench
