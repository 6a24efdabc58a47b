#include "signald/cluster/redis_endpoint.hpp"
#include "signald/core/percent_decode.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>

namespace signald {
namespace {

using Parsed = std::variant<RedisEndpoint, std::string>;

// 2^31 - 1: Redis keeps the database index in an int.
constexpr std::uint64_t max_db = 2147483647;
// sockaddr_un::sun_path holds 108 bytes on Linux, the terminating NUL included.
constexpr std::size_t max_unix_path_bytes = sizeof(sockaddr_un{}.sun_path) - 1;

bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool is_digits(std::string_view text)
{
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Digits only (no sign, no space), at most max; nullopt otherwise.
std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max)
{
    if (!is_digits(text))
        return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value > max)
        return std::nullopt;
    return value;
}

std::optional<std::string> db_problem(std::string_view text, std::uint32_t& db)
{
    if (text.empty())
        return "has an empty database number (give one, or leave out the '/' or 'db=')";
    const auto value = parse_number(text, max_db);
    if (!value)
        return "has a database number that is not 0 to 2147483647";
    db = static_cast<std::uint32_t>(*value);
    return std::nullopt;
}

// The USERINFO of redis://USERINFO@HOST: ":PASSWORD", nothing else.
std::optional<std::string> password_problem(std::string_view userinfo, std::string& password)
{
    if (userinfo.empty())
        return "has an '@' with no password before it";
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos || colon > 0)
        return "names a user, which signald does not support (Redis ACL users): write "
               "redis://:PASSWORD@HOST";
    auto decoded = percent_decode(userinfo.substr(1));
    if (!decoded)
        return "has a password with a '%' not followed by two hex digits (write %25 for '%')";
    if (decoded->empty())
        return "has an empty password after \"redis://:\" (leave out \":@\" for none)";
    if (decoded->find('\0') != std::string::npos)
        return "has a password holding %00, which Redis clients cannot send";
    password = std::move(*decoded);
    return std::nullopt;
}

// HOST[:PORT] of redis://, HOST possibly a bracketed IPv6 address.
std::optional<std::string> host_port_problem(std::string_view authority, RedisEndpoint& endpoint)
{
    std::optional<std::string_view> port;
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return "has a '[' without its ']'";
        endpoint.host = authority.substr(1, close - 1);
        in6_addr ignored{};
        if (endpoint.host.empty())
            return "has an empty host";
        if (::inet_pton(AF_INET6, endpoint.host.c_str(), &ignored) != 1)
            return "has a malformed IPv6 address between '[' and ']'";
        const auto rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return "has text after its [IPv6] address";
            port = rest.substr(1);
        }
    } else {
        const auto colon = authority.find(':');
        endpoint.host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            if (port->find(':') != std::string_view::npos)
                return "has more than one ':' after the host (an IPv6 address goes in [brackets])";
        }
        if (endpoint.host.empty())
            return "has an empty host";
        if (!std::all_of(endpoint.host.begin(), endpoint.host.end(), is_host_char))
            return "has a host with characters other than letters, digits, '.', '-' and '_'";
    }
    if (port) {
        if (port->empty())
            return "has an empty port after ':' (leave out the ':' for 6379)";
        const auto value = parse_number(*port, 65535);
        if (!value || *value == 0)
            return "has a port that is not 1 to 65535";
        endpoint.port = static_cast<std::uint16_t>(*value);
    }
    return std::nullopt;
}

Parsed parse_tcp(std::string_view rest)
{
    RedisEndpoint endpoint;
    // The authority ends at the first '/', '?' or '#'. A password holding one of them must
    // encode it, or the URL splits in the wrong place; the reasons below say so.
    const auto authority_end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, authority_end);
    const std::string_view after =
        authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
    const char* const encode_hint = " (in a password write '/' as %2F, '?' as %3F, '#' as %23)";
    if (after.find('@') != std::string_view::npos)
        return std::string("has an '@' after the host") + encode_hint;

    // The last '@' ends the userinfo: a password may hold an unencoded '@', a host never does.
    const auto at = authority.rfind('@');
    if (at != std::string_view::npos) {
        if (auto why = password_problem(authority.substr(0, at), endpoint.password))
            return *why;
        authority = authority.substr(at + 1);
    }
    if (auto why = host_port_problem(authority, endpoint))
        return *why;

    if (after.empty())
        return endpoint;
    if (after.front() != '/')
        return std::string("has a query or fragment, which redis:// URLs do not take") +
               encode_hint;
    const std::string_view db = after.substr(1);
    if (db.find_first_of("/?#") != std::string_view::npos)
        return std::string("has text after the database number") + encode_hint;
    if (auto why = db_problem(db, endpoint.db))
        return *why;
    return endpoint;
}

Parsed parse_unix(std::string_view rest)
{
    if (!rest.starts_with('/'))
        return "must be unix:///ABSOLUTE/PATH, with three slashes and no user or host (a "
               "password goes in --redis-password-file)";
    RedisEndpoint endpoint;
    const auto question = rest.find('?');
    endpoint.unix_path = rest.substr(0, question);
    if (endpoint.unix_path.find('#') != std::string::npos)
        return "has a fragment ('#'), which unix: URLs do not take";
    if (endpoint.unix_path == "/")
        return "has no socket path after unix://";
    if (endpoint.unix_path.size() > max_unix_path_bytes)
        return "has a socket path longer than " + std::to_string(max_unix_path_bytes) +
               " bytes, the most a Unix socket address holds";
    if (question == std::string_view::npos)
        return endpoint;
    const std::string_view query = rest.substr(question + 1);
    if (!query.starts_with("db="))
        return "may only end in ?db=N";
    if (auto why = db_problem(query.substr(3), endpoint.db))
        return *why;
    return endpoint;
}

} // namespace

std::string RedisEndpoint::redacted() const
{
    const std::string secret = password.empty() ? "" : ":***@";
    if (is_unix())
        return "unix://" + secret + unix_path + (db == 0 ? "" : "?db=" + std::to_string(db));
    const bool v6 = host.find(':') != std::string::npos;
    return "redis://" + secret + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) +
           (db == 0 ? "" : "/" + std::to_string(db));
}

Parsed parse_redis_url(std::string_view url)
{
    if (url.empty())
        return "is empty";
    // Spaces and control characters: a pasted line break, or an unquoted value cut short.
    if (std::any_of(url.begin(), url.end(), [](char c) {
            const auto byte = static_cast<unsigned char>(c);
            return byte <= 0x20 || byte == 0x7f;
        }))
        return "holds a space or a control character (percent-encode them in a password)";
    if (url.starts_with("redis://"))
        return parse_tcp(url.substr(8));
    if (url.starts_with("unix://"))
        return parse_unix(url.substr(7));
    if (url.starts_with("rediss://"))
        return "asks for TLS (rediss://): TLS to Redis is not supported";
    return "must start with redis:// or unix://";
}

} // namespace signald
