#include "signald/net/client_address.hpp"

#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace signald {
namespace {

namespace ip = boost::asio::ip;

IpAddress unmapped(const IpAddress& address)
{
    if (address.is_v6() && address.to_v6().is_v4_mapped())
        return ip::make_address_v4(ip::v4_mapped, address.to_v6());
    return address;
}

std::optional<IpAddress> parse_address(std::string_view text)
{
    // A zone ("fe80::1%eth0") names an interface of whoever wrote it: meaningless here. Refused
    // as text, because Asio drops a zone it cannot resolve instead of failing.
    if (text.find('%') != std::string_view::npos)
        return std::nullopt;
    boost::system::error_code ec;
    const auto address = ip::make_address(std::string(text), ec);
    if (ec)
        return std::nullopt;
    return unmapped(address);
}

// address with every bit past prefix_bits cleared.
IpAddress masked(const IpAddress& address, unsigned prefix_bits)
{
    auto clear = [prefix_bits](auto bytes) {
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            const unsigned first_bit = static_cast<unsigned>(i) * 8;
            if (first_bit >= prefix_bits)
                bytes[i] = 0;
            else if (prefix_bits - first_bit < 8)
                bytes[i] &= static_cast<unsigned char>(0xFF << (8 - (prefix_bits - first_bit)));
        }
        return bytes;
    };
    if (address.is_v4())
        return ip::make_address_v4(clear(address.to_v4().to_bytes()));
    return ip::make_address_v6(clear(address.to_v6().to_bytes()));
}

struct ParsedNetwork
{
    IpAddress base;
    unsigned prefix_bits;
};

std::optional<ParsedNetwork> parse_network(std::string_view entry)
{
    const auto slash = entry.find('/');
    const auto address = parse_address(entry.substr(0, slash));
    if (!address)
        return std::nullopt;
    const unsigned width = address->is_v4() ? 32 : 128;
    unsigned prefix_bits = width;
    if (slash != std::string_view::npos) {
        const auto digits = entry.substr(slash + 1);
        const auto [end, ec] =
            std::from_chars(digits.data(), digits.data() + digits.size(), prefix_bits);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            prefix_bits > width)
            return std::nullopt;
    }
    return ParsedNetwork{masked(*address, prefix_bits), prefix_bits};
}

std::string_view trimmed(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// One X-Forwarded-For entry: an address, "[v6]" or "[v6]:port", or "v4:port" (some proxies add
// the port).
std::optional<IpAddress> parse_forwarded_entry(std::string_view entry)
{
    if (auto address = parse_address(entry))
        return address;
    if (entry.starts_with('[')) {
        const auto close = entry.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        const auto rest = entry.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':'))
            return std::nullopt;
        return parse_address(entry.substr(1, close - 1));
    }
    const auto colon = entry.find(':');
    if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
        auto address = parse_address(entry.substr(0, colon));
        if (address && address->is_v4())
            return address;
    }
    return std::nullopt;
}

} // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries)
{
    for (const auto& entry : entries) {
        const auto network = parse_network(entry);
        if (!network)
            throw std::invalid_argument("\"" + entry + "\" " + *problem(entry));
        networks_.push_back({network->base, network->prefix_bits});
    }
}

std::optional<std::string> TrustedProxies::problem(std::string_view entry)
{
    if (parse_network(entry))
        return std::nullopt;
    return "is not an IP address or a network such as 10.0.0.0/8 or fd00::/8";
}

bool TrustedProxies::contains(const IpAddress& address) const
{
    const IpAddress plain = unmapped(address);
    return std::any_of(networks_.begin(), networks_.end(), [&](const Network& network) {
        return network.base.is_v4() == plain.is_v4() &&
               masked(plain, network.prefix_bits) == network.base;
    });
}

IpAddress client_address(const IpAddress& peer, std::string_view forwarded_for,
                         const TrustedProxies& trusted)
{
    IpAddress known = unmapped(peer);
    if (!trusted.contains(known))
        return known;
    while (!forwarded_for.empty()) {
        const auto comma = forwarded_for.rfind(',');
        const auto entry = trimmed(
            comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
        forwarded_for =
            comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
        const auto address = parse_forwarded_entry(entry);
        if (!address)
            return known;
        known = *address;
        if (!trusted.contains(known))
            return known;
    }
    return known;
}

std::string address_key(const IpAddress& address)
{
    const IpAddress plain = unmapped(address);
    if (plain.is_v4())
        return plain.to_string();
    return masked(plain, 64).to_string() + "/64";
}

std::string address_text(const IpAddress& address)
{
    return unmapped(address).to_string();
}

} // namespace signald
