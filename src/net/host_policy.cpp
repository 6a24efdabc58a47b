#include "signald/net/host_policy.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace signald {
namespace {

namespace ip = boost::asio::ip;

// Allowed whatever the configuration: only a page this machine serves (or a browser on it) sends
// them, since no DNS answer makes a browser call another site by these names.
constexpr std::array<std::string_view, 3> loopback_names{"localhost", "127.0.0.1", "[::1]"};

// A host as the policy compares it: lower case, without a trailing dot, an IP address in its
// canonical text (IPv6 in brackets).
struct HostName
{
    std::string text;
    bool address = false; // an IP address, which no wildcard matches
};

bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

std::optional<HostName> ipv6(std::string_view text)
{
    // A zone ("fe80::1%eth0") names an interface of whoever wrote it, and Asio drops one it
    // cannot resolve instead of failing: refused as text.
    if (text.find('%') != std::string_view::npos)
        return std::nullopt;
    boost::system::error_code ec;
    const auto address = ip::make_address_v6(std::string(text), ec);
    if (ec)
        return std::nullopt;
    return HostName{"[" + address.to_string() + "]", true};
}

// A host without a port: a DNS name or an IPv4 address (any case, maybe with a trailing dot), or
// an IPv6 address in brackets. With wildcard, "*." may lead a name of at least two more labels.
std::optional<HostName> parse_host(std::string_view text, bool wildcard)
{
    if (text.starts_with('[')) {
        if (text.size() < 2 || !text.ends_with(']'))
            return std::nullopt;
        return ipv6(text.substr(1, text.size() - 2));
    }
    std::string name(text);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    });
    if (name.ends_with('.'))
        name.pop_back();
    boost::system::error_code ec;
    const auto v4 = ip::make_address_v4(name, ec);
    if (!ec)
        return HostName{v4.to_string(), true};

    std::string_view labels = name;
    const bool is_wildcard = wildcard && labels.starts_with("*.");
    if (is_wildcard)
        labels.remove_prefix(2);
    // Labels of letters, digits, '-' and '_', none of them empty.
    std::size_t label_chars = 0;
    std::size_t dots = 0;
    for (const char c : labels) {
        if (c == '.') {
            if (label_chars == 0)
                return std::nullopt;
            label_chars = 0;
            ++dots;
        } else if (is_label_char(c)) {
            ++label_chars;
        } else {
            return std::nullopt;
        }
    }
    if (label_chars == 0 || (is_wildcard && dots == 0))
        return std::nullopt;
    if (is_wildcard) {
        // *.192.0.2.7: an address has no labels under it.
        ip::make_address_v4(std::string(labels), ec);
        if (!ec)
            return std::nullopt;
    }
    return HostName{std::move(name), false};
}

// The host of a Host header: "name", "name:port", "[v6]" or "[v6]:port".
std::optional<HostName> host_of(std::string_view header)
{
    std::size_t end = 0;
    if (header.starts_with('[')) {
        end = header.find(']');
        if (end == std::string_view::npos)
            return std::nullopt;
        ++end;
    } else {
        end = std::min(header.find(':'), header.size());
    }
    const std::string_view port = header.substr(end);
    if (!port.empty() &&
        (port.front() != ':' || !std::all_of(port.begin() + 1, port.end(), is_digit)))
        return std::nullopt;
    return parse_host(header.substr(0, end), false);
}

// An --allowed-host entry or a certificate name: as parse_host with wildcards, and an IPv6
// address may come without brackets, since no port can follow it either way.
std::optional<HostName> parse_entry(std::string_view entry)
{
    if (!entry.starts_with('[') && entry.find(':') != std::string_view::npos)
        return ipv6(entry);
    return parse_host(entry, true);
}

// *.example.org matches one label under example.org: a.example.org, not example.org itself nor
// a.b.example.org (RFC 6125 6.4.3, as browsers match certificates).
bool matches(std::string_view pattern, const HostName& host)
{
    if (!pattern.starts_with("*."))
        return pattern == host.text;
    const std::string_view suffix = pattern.substr(1); // ".example.org"
    return !host.address && host.text.size() > suffix.size() && host.text.ends_with(suffix) &&
           host.text.find('.') == host.text.size() - suffix.size();
}

bool is_loopback(const IpAddress& address)
{
    if (address.is_v4())
        return address.to_v4().is_loopback();
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped())
        return ip::make_address_v4(ip::v4_mapped, v6).is_loopback();
    return v6.is_loopback();
}

} // namespace

HostPolicy::HostPolicy(const std::vector<IpAddress>& listening,
                       const std::vector<std::string>& allowed,
                       const std::vector<std::string>& certificate)
{
    auto add = [this](std::string name) {
        const bool known =
            std::find(loopback_names.begin(), loopback_names.end(), name) != loopback_names.end() ||
            std::find(names_.begin(), names_.end(), name) != names_.end();
        if (!known)
            names_.push_back(std::move(name));
    };
    for (const auto& entry : allowed) {
        auto name = parse_entry(entry);
        if (!name)
            throw std::runtime_error("allowed host \"" + entry + "\" " + *problem(entry));
        add(std::move(name->text));
    }
    // A certificate name no browser would match (a partial wildcard such as f*.example.org, a
    // wildcard over a top-level domain) is skipped rather than refused: the certificate is fine.
    for (const auto& entry : certificate)
        if (auto name = parse_entry(entry))
            add(std::move(name->text));
    // A public listener without names stays unchecked: it answers to whatever names point at it,
    // and any page on the internet can reach it without a rebinding.
    checks_ = !allowed.empty() ||
              (!listening.empty() && std::all_of(listening.begin(), listening.end(), is_loopback));
}

bool HostPolicy::allows(std::string_view header) const
{
    if (!checks_)
        return true;
    const auto host = host_of(header);
    if (!host)
        return false; // none, or not a host
    if (std::find(loopback_names.begin(), loopback_names.end(), host->text) != loopback_names.end())
        return true;
    return std::any_of(names_.begin(), names_.end(),
                       [&](const std::string& name) { return matches(name, *host); });
}

std::optional<std::string> HostPolicy::problem(std::string_view entry)
{
    if (parse_entry(entry))
        return std::nullopt;
    const auto colon = entry.rfind(':');
    if (colon != std::string_view::npos && colon + 1 < entry.size() &&
        std::all_of(entry.begin() + static_cast<std::ptrdiff_t>(colon) + 1, entry.end(),
                    is_digit) &&
        parse_entry(entry.substr(0, colon)))
        return "has a port: give the name alone (every port is allowed)";
    if (entry.starts_with("*.") && entry.find_first_of(".*", 2) == std::string_view::npos &&
        parse_entry(entry.substr(2)))
        return "is too wide: a wildcard needs two labels or more after it, as *.example.org";
    return "is not a host name: give NAME, *.NAME (any one label under NAME) or an IP address";
}

} // namespace signald
