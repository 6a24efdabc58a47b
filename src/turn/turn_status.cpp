#include "signald/turn/turn_status.hpp"

#include <algorithm>

namespace signald {

std::string turn_check_line(const TurnCheckStatus& status)
{
    const std::string took = " (" + std::to_string(status.duration.count()) + " ms)";
    if (status.ok)
        return "TURN " + status.url + " ok, relay " + status.relay + took;
    return "TURN " + status.url + " failed: " + status.error + took;
}

std::string turn_health_lines(const std::vector<TurnCheckStatus>& statuses,
                              std::chrono::sys_seconds now)
{
    std::string out;
    for (const TurnCheckStatus& status : statuses) {
        out += "turn " + status.url;
        if (!status.checked) {
            out += " not checked yet\n";
            continue;
        }
        out += status.ok ? " ok relay " + status.relay : " failed (" + status.error + ")";
        const auto ago = std::max<std::int64_t>(0, (now - status.finished_at).count());
        out += " " + std::to_string(status.duration.count()) + " ms, checked " +
               std::to_string(ago) + " s ago\n";
    }
    return out;
}

} // namespace signald
