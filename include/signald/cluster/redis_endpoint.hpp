#pragma once
// RedisEndpoint: where the cluster's Redis is, as `--redis URL` names it, and parse_redis_url,
// the pure function that reads the URL (no hiredis, no Asio, no I/O: the config and its unit
// tests use it without the Redis client). The password it may carry is a secret: nothing here
// puts it in a reason, and redacted() is the only way an endpoint is ever shown.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace signald {

struct RedisEndpoint
{
    // TCP when unix_path is empty: host is a name, an IPv4 address or an IPv6 address (without
    // its brackets). A Unix socket otherwise: unix_path is absolute, host empty and port unused.
    std::string host;
    std::uint16_t port = 6379; // Redis's own default port
    std::string unix_path;
    // SELECT'ed after connecting; 0 is Redis's default database.
    std::uint32_t db = 0;
    // For AUTH, percent-decoded; empty: no AUTH. From the URL or --redis-password-file.
    std::string password;

    bool is_unix() const { return !unix_path.empty(); }
    // The endpoint as a URL with any password shown as ***, for logs and messages:
    // redis://[:***@]HOST:PORT[/DB] (IPv6 in brackets) or unix://[:***@]/PATH[?db=DB]. The
    // database is shown only when it is not 0. (A unix: URL with ":***@" is for people only:
    // parse_redis_url takes a Unix socket's password from --redis-password-file, never the URL.)
    std::string redacted() const;
};

// The endpoint url names, or a one-line reason why it names none. The reason never quotes the
// URL, since the URL may hold a password. Accepted, and nothing else:
//   redis://[:PASSWORD@]HOST[:PORT][/DB]
//   unix:///ABSOLUTE/PATH[?db=DB]
// HOST: a name (letters, digits, '.', '-', '_'), an IPv4 address or [an IPv6 address]. PORT:
// 1..65535, 6379 when left out. DB: 0..2147483647 in digits, 0 when left out. PASSWORD is
// percent-decoded (write '/' as %2F, '#' as %23, '%' as %25); a user name before its ':' is
// refused (ACL users are not supported). The Unix socket path is taken as written, at most 107
// bytes; its password comes from --redis-password-file. Schemes are lower case.
// Refused with their reason, among others: rediss:// (TLS to Redis is not supported), an empty
// host, port 0 or above 65535, an empty or malformed password, a query or fragment on redis://,
// an empty database after '/', and any trailing text.
std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url);

} // namespace signald
