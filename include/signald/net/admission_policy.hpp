#pragma once
// AdmissionPolicy: may this upgrade request become a WebSocket? A pure decision over the request's
// Origin and Host, the client's address, the live counts and the limits, so every refusal is unit
// tested without a socket. Server asks it before handing out an Admission token; it never counts.

#include "signald/net/admission.hpp"
#include "signald/net/origin_policy.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace signald {

// Why an upgrade was refused: the HTTP status and a reason for logs and metrics.
struct Refusal
{
    unsigned status;
    std::string reason;
};

// What the decision reads of one upgrade request.
struct UpgradeRequest
{
    std::string_view origin;  // the Origin header; empty for non-browser clients
    std::string_view host;    // the Host header
    std::string_view address; // the client's address_key (behind a trusted proxy, the client's)
};

struct AdmissionLimits
{
    std::size_t max_connections;
    std::size_t max_connections_per_ip;
};

class AdmissionPolicy
{
public:
    AdmissionPolicy(OriginPolicy origins, AdmissionLimits limits);

    // nullopt: admit. The checks run in a fixed order, so a request that breaks several rules
    // always hears the same refusal: shutting down (503), a foreign origin (403), the total cap
    // (503), then the per-address cap (429).
    std::optional<Refusal> decide(const UpgradeRequest& request, const ConnectionCounts& counts,
                                  bool shutting_down) const;

private:
    OriginPolicy origins_;
    AdmissionLimits limits_;
};

} // namespace signald
