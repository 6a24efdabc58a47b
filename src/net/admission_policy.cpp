#include "signald/net/admission_policy.hpp"

#include <utility>

namespace signald {

AdmissionPolicy::AdmissionPolicy(OriginPolicy origins, AdmissionLimits limits)
    : origins_(std::move(origins)), limits_(limits)
{}

std::optional<Refusal> AdmissionPolicy::decide(const UpgradeRequest& request,
                                               const ConnectionCounts& counts,
                                               bool shutting_down) const
{
    if (shutting_down)
        return Refusal{503, "shutting-down"};
    if (!request.origin.empty() && !origins_.allows(request.origin, request.host))
        return Refusal{403, "origin"};
    if (counts.total >= limits_.max_connections)
        return Refusal{503, "max-connections"};
    // per_address is keyed by std::string; one lookup per upgrade makes the copy harmless.
    const auto from_address = counts.per_address.find(std::string(request.address));
    if (from_address != counts.per_address.end() &&
        from_address->second >= limits_.max_connections_per_ip)
        return Refusal{429, "max-connections-per-ip"};
    return std::nullopt;
}

} // namespace signald
