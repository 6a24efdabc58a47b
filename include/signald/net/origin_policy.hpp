#pragma once
// OriginPolicy: which browser pages may open a WebSocket here (Cross-Site WebSocket Hijacking
// defence). Pure: no sockets, so it is unit-tested and fuzzed alone. Requests without an Origin
// header come from non-browser clients and are not its business.

#include <string>
#include <string_view>
#include <vector>

namespace signald {

class OriginPolicy
{
public:
    // allowed: extra origins ("https://example.org", "http://host:8080"), or "*" for any.
    // Throws std::runtime_error for an entry that is not an origin.
    explicit OriginPolicy(std::vector<std::string> allowed = {});

    // Always allowed: the page's own origin (Origin names the same host and port as the Host
    // header) and pages served from localhost, 127.0.0.1 or [::1] on any port.
    bool allows(std::string_view origin, std::string_view host) const;

private:
    std::vector<std::string> allowed_; // normalised: lower case, default port removed
    bool any_ = false;
};

} // namespace signald
