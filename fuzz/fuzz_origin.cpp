// fuzz_origin: an allowed-origins list, an Origin header and a Host header, all from the input,
// through OriginPolicy. Besides never crashing: loopback pages are always allowed, every entry the
// policy accepted allows its own origin, and more entries never allow less.

#include "check.hpp"

#include "signald/net/origin_policy.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using signald::OriginPolicy;

// An OriginPolicy, or nothing if the constructor refused an entry (the only exception it may
// throw).
std::optional<OriginPolicy> try_policy(std::vector<std::string> allowed)
{
    try {
        return OriginPolicy(std::move(allowed));
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

// A port of one or more digits, possibly with leading zeros or too large for 16 bits: the policy
// reads ports as text, and loopback is allowed on any of them.
std::string digits_from(FuzzedDataProvider& input)
{
    std::string port = std::to_string(input.ConsumeIntegral<std::uint32_t>());
    for (char c : input.ConsumeRandomLengthString(8))
        if (c >= '0' && c <= '9')
            port += c;
    return port;
}

std::string lower(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// An authority ("host", "host:port", "[v6]:port") in lower case with the default port filled in:
// two authorities name the same server exactly when these agree.
std::string with_port(std::string_view authority, std::string_view default_port)
{
    std::string out = lower(authority);
    const std::size_t bracket = out.rfind(']');
    const std::size_t colon = out.rfind(':');
    if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket))
        out += ":" + std::string(default_port);
    return out;
}

bool is_loopback(std::string_view authority)
{
    const std::size_t bracket = authority.rfind(']');
    const std::size_t colon = authority.rfind(':');
    const std::string host =
        lower(colon == std::string::npos || (bracket != std::string::npos && colon < bracket)
                  ? authority
                  : authority.substr(0, colon));
    return host == "localhost" || host == "127.0.0.1" || host == "[::1]" ||
           host.ends_with(".localhost");
}

// With nothing listed, a page may connect only from loopback or from the server it came from: the
// Host header names the Origin's host and port, a missing port read as the Origin scheme's default.
void check_same_origin_only(const std::string& origin, const std::string& host)
{
    if (!OriginPolicy().allows(origin, host))
        return;
    const std::size_t separator = origin.find("://");
    FUZZ_CHECK(separator != std::string::npos);
    const std::string authority = origin.substr(separator + 3);
    if (is_loopback(authority))
        return;
    const std::string scheme = lower(origin.substr(0, separator));
    const std::string_view default_port = scheme == "https" || scheme == "wss" ? "443" : "80";
    FUZZ_CHECK(with_port(authority, default_port) == with_port(host, default_port));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    FuzzedDataProvider input(bytes, size);
    std::vector<std::string> entries(input.ConsumeIntegralInRange<std::size_t>(0, 3));
    for (auto& entry : entries)
        entry = input.ConsumeRandomLengthString(64);
    const std::string origin = input.ConsumeRandomLengthString(128);
    const std::string host = input.ConsumeRandomLengthString(64);
    const std::string port = digits_from(input);

    // The whole list at once: it either throws or gives a policy, and the policy answers anything.
    if (const auto policy = try_policy(entries))
        (void)policy->allows(origin, host);

    // Keep the entries the constructor accepts one by one; together they must be accepted too.
    std::vector<std::string> accepted;
    for (const auto& entry : entries)
        if (try_policy({entry}))
            accepted.push_back(entry);
    const auto policy = try_policy(accepted);
    FUZZ_CHECK(policy.has_value());

    check_same_origin_only(origin, host);
    const bool allowed = policy->allows(origin, host);
    if (OriginPolicy().allows(origin, host))
        FUZZ_CHECK(allowed);
    for (const auto& entry : accepted)
        FUZZ_CHECK(policy->allows(entry, host));

    // A page is always allowed on its own server: Host naming exactly the Origin's host and port.
    const std::size_t separator = origin.find("://");
    if (separator != std::string::npos && origin != "*" && try_policy({origin}))
        FUZZ_CHECK(OriginPolicy().allows(origin, origin.substr(separator + 3)));

    for (const char* loopback : {"http://localhost:", "https://127.0.0.1:", "http://[::1]:",
                                 "HTTP://LocalHost:", "http://app.localhost:"})
        FUZZ_CHECK(policy->allows(loopback + port, host));
    return 0;
}
