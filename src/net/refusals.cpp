#include "signald/net/refusals.hpp"

#include <spdlog/spdlog.h>

namespace signald {

void Refusals::count(std::string_view reason, std::string_view who, std::string_view detail)
{
    auto counter = counts_.find(reason);
    if (counter == counts_.end())
        counter = counts_.emplace(std::string(reason), 0).first;
    ++counter->second;
    // A refused Host at info: with --allowed-host on a public address, scanners and stale DNS
    // records send foreign names all day, and a warn for each would bury those that need someone.
    const auto level = reason == "host" ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "{} rejected ({}): {}", who, reason, detail);
}

} // namespace signald
