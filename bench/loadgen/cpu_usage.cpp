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

ProcessCpu process_cpu(long pid)
{
    if (pid <= 0)
        return {};
    const std::string path = "/proc/" + std::to_string(pid) + "/stat";
    std::FILE* file = std::fopen(path.c_str(), "r");
    if (file == nullptr)
        return {};
    char line[1024];
    const bool got = std::fgets(line, sizeof line, file) != nullptr;
    std::fclose(file);
    if (!got)
        return {};
    // Fields 14 and 15 (utime, stime) follow the command name, which may hold spaces: count
    // from the closing parenthesis.
    const char* p = std::strrchr(line, ')');
    unsigned long utime = 0, stime = 0;
    if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                                    &utime, &stime) != 2)
        return {};
    const auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    return {static_cast<double>(utime) / ticks, static_cast<double>(stime) / ticks};
}

void CpuWindow::begin(std::span<const long> server_pids)
{
    server_pids_.assign(server_pids.begin(), server_pids.end());
    begin_at_ = Clock::now();
    generator_begin_s_ = self_cpu_seconds();
    server_begin_.clear();
    for (const long pid : server_pids_)
        server_begin_.push_back(process_cpu(pid));
}

void CpuWindow::end()
{
    end_at_ = Clock::now();
    generator_end_s_ = self_cpu_seconds();
    server_end_.clear();
    for (const long pid : server_pids_)
        server_end_.push_back(process_cpu(pid));
}

double CpuWindow::generator_percent() const
{
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    return wall > 0 ? 100.0 * (generator_end_s_ - generator_begin_s_) / wall : 0.0;
}

std::vector<double> CpuWindow::server_percent_each() const
{
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    if (server_pids_.empty() || server_end_.size() != server_pids_.size() || wall <= 0)
        return {};
    std::vector<double> each;
    for (std::size_t i = 0; i < server_pids_.size(); ++i) {
        if (!server_begin_[i].readable() || !server_end_[i].readable())
            return {};
        each.push_back(100.0 * (server_end_[i].total() - server_begin_[i].total()) / wall);
    }
    return each;
}

double CpuWindow::server_user_percent() const
{
    if (server_percent() < 0)
        return -1;
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    double user = 0;
    for (std::size_t i = 0; i < server_pids_.size(); ++i)
        user += server_end_[i].user - server_begin_[i].user;
    return 100.0 * user / wall;
}

double CpuWindow::server_percent() const
{
    const auto each = server_percent_each();
    if (each.empty())
        return -1;
    double total = 0;
    for (const double percent : each)
        total += percent;
    return total;
}

} // namespace bench
