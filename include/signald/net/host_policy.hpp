#pragma once
// HostPolicy: which names a request's Host header may carry (the DNS-rebinding defence). A page on
// another site whose name was made to resolve to this server's address sends that name as Host
// and its own origin as Origin; the two agree, so OriginPolicy lets it in, and only the name tells
// it apart. Pure: no sockets. Server builds it from the listen address, --allowed-host and the
// certificate's names (certificate_names.hpp); HttpSession asks it about every request.

#include "signald/net/client_address.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald {

class HostPolicy
{
public:
    // Checks nothing: every request passes.
    HostPolicy() = default;
    // listening: every address the server listens on. allowed: the --allowed-host entries (a
    // name, *.name for any one label under it, or an IP address). certificate: the served
    // certificate's names, as certificate_names gives them; empty without TLS. The check is on
    // when allowed is not empty or every listening address is loopback. Throws
    // std::runtime_error for an allowed entry that problem() refuses.
    HostPolicy(const std::vector<IpAddress>& listening, const std::vector<std::string>& allowed,
               const std::vector<std::string>& certificate);

    bool checks() const { return checks_; }
    // host: the Host header, empty when the request has none. Always allowed with the check off;
    // with it on: localhost, 127.0.0.1 and [::1], and the configured and certificate names, on
    // any port, without regard to case or a trailing dot.
    bool allows(std::string_view host) const;
    // The names allowed besides the loopback ones, for the start-up log: lower case, wildcards
    // as *.name, IPv6 addresses in brackets.
    const std::vector<std::string>& names() const { return names_; }

    // Why entry cannot be an --allowed-host, or nullopt when it can.
    static std::optional<std::string> problem(std::string_view entry);

private:
    std::vector<std::string> names_;
    bool checks_ = false;
};

} // namespace signald
