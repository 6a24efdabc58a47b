// fuzz_redis_url: the input, as the value of --redis, through parse_redis_url. Besides never
// crashing: an accepted endpoint is whole (a TCP one has a host of its own alphabet or an IPv6
// address and a port 1..65535; a Unix one an absolute path that fits sun_path), and the same URL
// written back from its fields, the password percent-encoded, parses to the same endpoint. The
// password never shows: redacted() reads only whether there is one, and with a marker put into the
// password (or anywhere in the URL) neither redacted() nor any refusal reason contains it.

#include "check.hpp"

#include "signald/cluster/redis_endpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

using signald::RedisEndpoint;

// Found in no reason and no fixed part of redacted(), so where it shows it was copied from the
// URL. Letters only, so that it is a valid password, host and path character alike.
constexpr std::string_view marker = "QzxMarkerQzx";

bool same(const RedisEndpoint& a, const RedisEndpoint& b)
{
    return a.host == b.host && a.port == b.port && a.unix_path == b.unix_path && a.db == b.db &&
           a.password == b.password;
}

bool contains(std::string_view text, std::string_view part)
{
    return text.find(part) != std::string_view::npos;
}

bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

// Every byte as %XX: what an operator writes for a password holding '/', '@' or '%'.
std::string percent_encode(std::string_view text)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        out += '%';
        out += hex[byte >> 4];
        out += hex[byte & 15];
    }
    return out;
}

// The URL of an endpoint, written from its fields (unix: URLs carry no password).
std::string url_of(const RedisEndpoint& endpoint)
{
    const std::string db = std::to_string(endpoint.db);
    if (endpoint.is_unix())
        return "unix://" + endpoint.unix_path + "?db=" + db;
    const std::string secret =
        endpoint.password.empty() ? "" : ":" + percent_encode(endpoint.password) + "@";
    const bool v6 = contains(endpoint.host, ":");
    return "redis://" + secret + (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" +
           std::to_string(endpoint.port) + "/" + db;
}

// Checks what holds for any URL; returns the endpoint when it was accepted.
const RedisEndpoint* check(std::string_view url, const std::variant<RedisEndpoint, std::string>& r)
{
    if (const auto* reason = std::get_if<std::string>(&r)) {
        // One line, meant for a person: the caller prints it after "--redis ".
        FUZZ_CHECK(!reason->empty());
        for (const char c : *reason)
            FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
        return nullptr;
    }
    const auto& endpoint = std::get<RedisEndpoint>(r);
    FUZZ_CHECK(url.starts_with("redis://") || url.starts_with("unix://"));
    FUZZ_CHECK(endpoint.db <= 2147483647u);
    if (endpoint.is_unix()) {
        FUZZ_CHECK(url.starts_with("unix://"));
        FUZZ_CHECK(endpoint.unix_path.starts_with('/') && endpoint.unix_path != "/");
        FUZZ_CHECK(endpoint.unix_path.size() <= 107);
        FUZZ_CHECK(!contains(endpoint.unix_path, "?") && !contains(endpoint.unix_path, "#"));
        FUZZ_CHECK(endpoint.host.empty() && endpoint.password.empty());
    } else {
        FUZZ_CHECK(url.starts_with("redis://"));
        FUZZ_CHECK(endpoint.port >= 1);
        FUZZ_CHECK(!endpoint.host.empty());
        // A name of its alphabet, or an IPv6 address, which always has a ':'.
        bool name = true;
        for (const char c : endpoint.host)
            name = name && is_host_char(c);
        FUZZ_CHECK(name || contains(endpoint.host, ":"));
        FUZZ_CHECK(!contains(endpoint.password, std::string_view("\0", 1)));
    }

    // redacted() depends on whether there is a password, never on what it is.
    const std::string shown = endpoint.redacted();
    RedisEndpoint other = endpoint;
    if (!other.password.empty())
        other.password = "x";
    FUZZ_CHECK(shown == other.redacted());
    // Right after the scheme: a socket path may itself hold ":***@".
    const std::string_view scheme = endpoint.is_unix() ? "unix://" : "redis://";
    FUZZ_CHECK(shown.starts_with(scheme));
    FUZZ_CHECK(std::string_view(shown).substr(scheme.size()).starts_with(":***@") ==
               !endpoint.password.empty());

    // Written back from its fields, the URL names the same endpoint.
    const auto again = signald::parse_redis_url(url_of(endpoint));
    FUZZ_CHECK(std::holds_alternative<RedisEndpoint>(again));
    FUZZ_CHECK(same(std::get<RedisEndpoint>(again), endpoint));
    // Without a password, redacted() is itself a URL that names it.
    if (endpoint.password.empty()) {
        const auto from_shown = signald::parse_redis_url(shown);
        FUZZ_CHECK(std::holds_alternative<RedisEndpoint>(from_shown));
        FUZZ_CHECK(same(std::get<RedisEndpoint>(from_shown), endpoint));
    }
    return &endpoint;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view url(reinterpret_cast<const char*>(data), size);
    const auto parsed = signald::parse_redis_url(url);
    check(url, parsed);
    // The inputs below carry the marker, so it must not be in the fuzzer's own input.
    if (contains(url, marker))
        return 0;

    // The marker at the front of the password: it is either refused without being quoted, or
    // taken into the password and never shown.
    constexpr std::string_view password_start = "redis://:";
    if (url.starts_with(password_start)) {
        std::string with_secret(password_start);
        with_secret += marker;
        with_secret += url.substr(password_start.size());
        const auto result = signald::parse_redis_url(with_secret);
        if (const auto* endpoint = check(with_secret, result)) {
            FUZZ_CHECK(endpoint->password.starts_with(marker));
            FUZZ_CHECK(!contains(endpoint->redacted(), marker));
        } else {
            FUZZ_CHECK(!contains(std::get<std::string>(result), marker));
        }
    }

    // The marker anywhere: no reason ever quotes the URL. The position comes from the input's
    // length, so that inputs of different lengths put it in different parts of the URL.
    std::string with_marker(url);
    with_marker.insert(size == 0 ? 0 : size * 7919 % (size + 1), marker);
    const auto result = signald::parse_redis_url(with_marker);
    if (check(with_marker, result) == nullptr)
        FUZZ_CHECK(!contains(std::get<std::string>(result), marker));
    return 0;
}
