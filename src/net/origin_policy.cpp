#include "signald/net/origin_policy.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace signald {
namespace {

std::string lower(std::string_view text)
{
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    });
    return out;
}

struct Authority
{
    std::string host; // lower case; IPv6 keeps its brackets
    std::string port; // never empty: the scheme's default when not given
};

// Splits "host", "host:port", "[v6]" or "[v6]:port".
std::optional<Authority> split_authority(std::string_view text, std::string_view default_port)
{
    if (text.empty())
        return std::nullopt;
    std::size_t host_end = 0;
    if (text.front() == '[') {
        host_end = text.find(']');
        if (host_end == std::string_view::npos)
            return std::nullopt;
        ++host_end;
    } else {
        host_end = text.find(':');
        if (host_end == std::string_view::npos)
            host_end = text.size();
    }
    Authority authority{lower(text.substr(0, host_end)), std::string(default_port)};
    if (host_end < text.size()) {
        if (text[host_end] != ':' || host_end + 1 == text.size())
            return std::nullopt;
        authority.port = std::string(text.substr(host_end + 1));
        if (!std::all_of(authority.port.begin(), authority.port.end(),
                         [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
    }
    if (authority.host.empty() || authority.host == "[]")
        return std::nullopt;
    return authority;
}

std::string_view default_port_of(std::string_view scheme)
{
    return scheme == "https" || scheme == "wss" ? "443" : "80";
}

struct Origin
{
    std::string scheme;
    Authority authority;
};

// "scheme://host[:port]" with nothing after it, as browsers send it.
std::optional<Origin> parse_origin(std::string_view text)
{
    const std::size_t separator = text.find("://");
    if (separator == std::string_view::npos)
        return std::nullopt;
    std::string scheme = lower(text.substr(0, separator));
    const std::string_view rest = text.substr(separator + 3);
    if (rest.find_first_of("/?#@") != std::string_view::npos)
        return std::nullopt;
    auto authority = split_authority(rest, default_port_of(scheme));
    if (!authority)
        return std::nullopt;
    return Origin{std::move(scheme), std::move(*authority)};
}

std::string normalise(const Origin& origin)
{
    return origin.scheme + "://" + origin.authority.host + ":" + origin.authority.port;
}

bool is_loopback_host(std::string_view host)
{
    return host == "localhost" || host == "127.0.0.1" || host == "[::1]" ||
           host.ends_with(".localhost");
}

} // namespace

OriginPolicy::OriginPolicy(std::vector<std::string> allowed)
{
    for (const auto& entry : allowed) {
        if (entry == "*") {
            any_ = true;
        } else if (const auto origin = parse_origin(entry)) {
            allowed_.push_back(normalise(*origin));
        } else {
            throw std::runtime_error("allowed origin \"" + entry +
                                     "\" is not an origin like https://example.org");
        }
    }
}

bool OriginPolicy::allows(std::string_view origin_header, std::string_view host_header) const
{
    if (any_)
        return true;
    const auto origin = parse_origin(origin_header);
    if (!origin)
        return false; // includes "null", sent by sandboxed frames and file:// pages
    if (is_loopback_host(origin->authority.host))
        return true;
    // Host carries no scheme; read its missing port as the Origin scheme's default.
    if (const auto host = split_authority(host_header, default_port_of(origin->scheme)))
        if (host->host == origin->authority.host && host->port == origin->authority.port)
            return true;
    return std::find(allowed_.begin(), allowed_.end(), normalise(*origin)) != allowed_.end();
}

} // namespace signald
