#include "signald/core/ice_servers.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace signald {
namespace {

constexpr std::array<std::string_view, 3> schemes{"stun:", "turn:", "turns:"};

bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool is_ipv6_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.';
}

bool is_port(std::string_view text)
{
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    return ec == std::errc{} && end == text.data() + text.size() && text.size() <= 5 && port >= 1 &&
           port <= 65535;
}

// HOST[:PORT], where HOST may be a bracketed IPv6 address.
std::optional<std::string> authority_problem(std::string_view authority)
{
    std::string_view host = authority;
    std::optional<std::string_view> port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos || close == 1 ||
            !std::all_of(authority.begin() + 1, authority.begin() + static_cast<long>(close),
                         is_ipv6_char))
            return "has a malformed [IPv6] address";
        host = authority.substr(0, close + 1);
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return "has text after its [IPv6] address";
            port = rest.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos)
            port = authority.substr(colon + 1);
        if (!host.empty() && !std::all_of(host.begin(), host.end(), is_host_char))
            return "has a host with characters other than letters, digits, '.', '-' and '_'";
    }
    if (host.empty())
        return "has no host";
    if (port && !is_port(*port))
        return "has a port that is not 1 to 65535";
    return std::nullopt;
}

} // namespace

std::optional<std::string> ice_url_problem(std::string_view url)
{
    const auto scheme = std::find_if(schemes.begin(), schemes.end(),
                                     [&](std::string_view s) { return url.starts_with(s); });
    if (scheme == schemes.end())
        return "must start with stun:, turn: or turns:";
    std::string_view rest = url.substr(scheme->size());

    const auto question = rest.find('?');
    if (question != std::string_view::npos) {
        if (!is_turn_url(url))
            return "is a stun: URL, which takes no ?query";
        const auto query = rest.substr(question + 1);
        if (query != "transport=udp" && query != "transport=tcp")
            return "may only end in ?transport=udp or ?transport=tcp";
        rest = rest.substr(0, question);
    }
    return authority_problem(rest);
}

bool is_turn_url(std::string_view url)
{
    return url.starts_with("turn:") || url.starts_with("turns:");
}

std::string turn_username(std::int64_t expiry_unix_seconds, std::string_view client_id)
{
    std::string username = std::to_string(expiry_unix_seconds);
    username += ':';
    username += client_id;
    return username;
}

std::string ice_servers_json(std::span<const std::string> urls,
                             const std::optional<TurnCredential>& turn)
{
    std::vector<std::string> stun_urls;
    std::vector<std::string> turn_urls;
    for (const auto& url : urls)
        (is_turn_url(url) ? turn_urls : stun_urls).push_back(url);

    // One entry per kind, not per URL: Chrome warns once a configuration has five or more servers,
    // and the TURN URLs share one credential anyway.
    auto servers = nlohmann::ordered_json::array();
    if (!stun_urls.empty())
        servers.push_back({{"urls", stun_urls}});
    if (!turn_urls.empty()) {
        nlohmann::ordered_json entry{{"urls", turn_urls}};
        if (turn) {
            entry["username"] = turn->username;
            entry["credential"] = turn->credential;
        }
        servers.push_back(std::move(entry));
    }
    return servers.dump();
}

} // namespace signald
