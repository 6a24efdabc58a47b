#include "cpu_usage.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace bench {
namespace {

double self_cpu_seconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace

double process_cpu_seconds(long pid)
{
    if (pid <= 0)
        return -1;
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    std::FILE* file = std::fopen(path.c_str(), "r");
    if (file == nullptr)
        return -1;
    char line[1024];
    const bool got = std::fgets(line, sizeof line, file) != nullptr;
    std::fclose(file);
    if (!got)
        return -1;
    // Fields 14 and 15 (utime, stime) follow the command name, which may hold spaces: count
    // from the closing parenthesis.
    const char* p = std::strrchr(line, ')');
    unsigned long utime = 0, stime = 0;
    if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                    &utime, &stime) != 2)
        return -1;
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void CpuWindow::begin(long server_pid)
{
    server_pid_ = server_pid;
    begin_at_ = Clock::now();
    generator_begin_s_ = self_cpu_seconds();
    server_begin_s_ = process_cpu_seconds(server_pid_);
}

void CpuWindow::end()
{
    end_at_ = Clock::now();
    generator_end_s_ = self_cpu_seconds();
    server_end_s_ = process_cpu_seconds(server_pid_);
}

double CpuWindow::generator_percent() const
{
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    return wall > 0 ? 100.0 * (generator_end_s_ - generator_begin_s_) / wall : 0.0;
}

double CpuWindow::server_percent() const
{
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    if (server_begin_s_ < 0 || server_end_s_ < 0 || wall <= 0)
        return -1;
    return 100.0 * (server_end_s_ - server_begin_s_) / wall;
}

} // namespace bench
