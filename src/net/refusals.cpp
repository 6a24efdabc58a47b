#include "signald/net/refusals.hpp"

#include <spdlog/spdlog.h>

namespace signald {

void Refusals::count(std::string_view reason, std::string_view who, std::string_view detail)
{
    auto counter = counts_.find(reason);
    if (counter == counts_.end())
        counter = counts_.emplace(std::string(reason), 0).first;
    ++counter->second;
    spdlog::warn("{} rejected ({}): {}", who, reason, detail);
}

} // namespace signald
