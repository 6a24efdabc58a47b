#pragma once
// Who a WebSocket client is, for the per-address cap and the logs. Behind a reverse proxy every
// connection comes from the proxy, so the cap would count all users as one; --trusted-proxy names
// the proxies whose X-Forwarded-For header signald believes. Pure: no sockets.

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald {

using IpAddress = boost::asio::ip::address;

// A set of addresses and networks ("127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8").
class TrustedProxies
{
public:
    TrustedProxies() = default;
    // Throws std::invalid_argument naming an entry that is neither an address nor a network.
    explicit TrustedProxies(const std::vector<std::string>& entries);

    bool empty() const { return networks_.empty(); }
    // IPv4-mapped IPv6 addresses (a dual-stack socket's view of IPv4 peers) match as IPv4.
    bool contains(const IpAddress& address) const;

    // Why entry cannot be a trusted proxy, or nullopt when it can.
    static std::optional<std::string> problem(std::string_view entry);

private:
    struct Network
    {
        IpAddress base; // host bits cleared
        unsigned prefix_bits;
    };
    std::vector<Network> networks_;
};

// The client behind peer. peer itself unless it is a trusted proxy; then the rightmost
// X-Forwarded-For entry that is not a trusted proxy: each proxy appends the address it saw, so
// entries to the left of the last untrusted one may be anything that client chose to send.
// forwarded_for is every X-Forwarded-For header line joined with ','. An entry that is not an
// address (with or without a port) ends the walk at the last address known to be right.
IpAddress client_address(const IpAddress& peer, std::string_view forwarded_for,
                         const TrustedProxies& trusted);

// The key the per-address cap counts under: the IPv4 address, or the /64 network an IPv6
// address is in. One subscriber line gets a whole /64, so counting single IPv6 addresses would
// let one machine take every connection.
std::string address_key(const IpAddress& address);

// address as logs show it; IPv4-mapped IPv6 as IPv4.
std::string address_text(const IpAddress& address);

} // namespace signald
