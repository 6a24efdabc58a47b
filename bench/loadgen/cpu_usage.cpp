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

void CpuWindow::begin(std::span<const long> server_pids)
{
    server_pids_.assign(server_pids.begin(), server_pids.end());
    begin_at_ = Clock::now();
    generator_begin_s_ = self_cpu_seconds();
    server_begin_s_.clear();
    for (const long pid : server_pids_)
        server_begin_s_.push_back(process_cpu_seconds(pid));
}

void CpuWindow::end()
{
    end_at_ = Clock::now();
    generator_end_s_ = self_cpu_seconds();
    server_end_s_.clear();
    for (const long pid : server_pids_)
        server_end_s_.push_back(process_cpu_seconds(pid));
}

double CpuWindow::generator_percent() const
{
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    return wall > 0 ? 100.0 * (generator_end_s_ - generator_begin_s_) / wall : 0.0;
}

std::vector<double> CpuWindow::server_percent_each() const
{
    const double wall = std::chrono::duration<double>(end_at_ - begin_at_).count();
    if (server_pids_.empty() || server_end_s_.size() != server_pids_.size() || wall <= 0)
        return {};
    std::vector<double> each;
    for (std::size_t i = 0; i < server_pids_.size(); ++i) {
        if (server_begin_s_[i] < 0 || server_end_s_[i] < 0)
            return {};
        each.push_back(100.0 * (server_end_s_[i] - server_begin_s_[i]) / wall);
    }
    return each;
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
