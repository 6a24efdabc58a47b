#pragma once
// CPU time of this process and, optionally, of the server, over a scenario's measured window:
// the report shows whether the generator or the server was the one running out of core.

#include "clock.hpp"

namespace bench {

class CpuWindow
{
public:
    // server_pid <= 0: only the generator is measured.
    void begin(long server_pid);
    void end();

    double generator_percent() const;
    // Negative when there is no server pid or its /proc entry could not be read.
    double server_percent() const;

private:
    long server_pid_ = 0;
    Clock::time_point begin_at_{};
    Clock::time_point end_at_{};
    double generator_begin_s_ = 0, generator_end_s_ = 0;
    double server_begin_s_ = -1, server_end_s_ = -1;
};

// utime + stime of pid from /proc/<pid>/stat, in seconds; -1 if unreadable.
double process_cpu_seconds(long pid);

} // namespace bench
