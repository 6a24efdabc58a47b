#include "server_probe.hpp"

#include "http_client.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include <unistd.h>

namespace signald::test::chaos {

Memory memory_of(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    Memory memory;
    std::string line;
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:"))
            memory.rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
        else if (line.starts_with("VmHWM:"))
            memory.hwm_kib = std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return memory;
}

double cpu_seconds_of(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int index = 3; index <= 15 && fields >> field; ++index)
        if (index >= 14)
            ticks += std::strtod(field.c_str(), nullptr);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Exposition fetch_metrics(std::uint16_t port)
{
    return parse_exposition(http_request(port, "GET", "/metrics").body());
}

std::string Gauges::describe() const
{
    return "connections " + std::to_string(connections) + ", sessions " + std::to_string(sessions) +
           ", rooms " + std::to_string(rooms) + ", members " + std::to_string(members) +
           " (suspended " + std::to_string(suspended) + ")";
}

Gauges gauges_of(const Exposition& metrics)
{
    auto get = [&](const char* name) {
        const auto found = metrics.samples.find(name);
        return found == metrics.samples.end() ? -1L : static_cast<long>(found->second);
    };
    return {get("signald_connections"), get("signald_sessions"), get("signald_rooms"),
            get("signald_members"), get("signald_suspended_members")};
}

} // namespace signald::test::chaos
