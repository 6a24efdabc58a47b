#pragma once
// CPU time of this process and, optionally, of the server (or each process of a cluster), over a
// scenario's measured window: the report shows whether the generator or the server was the one
// running out of core, and how the server's time splits between its own code and the kernel's
// (the fan-out path's cost per delivery in user space is what the server can still cut).

#include "clock.hpp"

#include <span>
#include <vector>

namespace bench {

// utime and stime of a process from /proc/<pid>/stat, in seconds; -1 each if unreadable.
struct ProcessCpu
{
    double user = -1;
    double system = -1;
    bool readable() const { return user >= 0 && system >= 0; }
    double total() const { return user + system; }
};
ProcessCpu process_cpu(long pid);

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
    // The part of server_percent() spent in user space (utime); negative as server_percent().
    double server_user_percent() const;

private:
    std::vector<long> server_pids_;
    Clock::time_point begin_at_{};
    Clock::time_point end_at_{};
    double generator_begin_s_ = 0, generator_end_s_ = 0;
    std::vector<ProcessCpu> server_begin_, server_end_;
};

} // namespace bench
