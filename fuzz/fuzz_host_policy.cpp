// fuzz_host_policy: --allowed-host entries, certificate names, a listener and a Host header, all
// from the input, through HostPolicy. Besides never crashing (the constructor throws only for an
// entry problem() refuses): with the check on, the loopback names pass on any port; every
// accepted plain name passes itself with any port, case and a trailing dot; a Host that passes
// passes with a port added; more names never allow less; and with the check off all pass.

#include "check.hpp"

#include "signald/net/host_policy.hpp"

#include <boost/asio/ip/address.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using signald::HostPolicy;
using signald::IpAddress;

std::optional<HostPolicy> try_policy(const std::vector<IpAddress>& listening,
                                     const std::vector<std::string>& allowed,
                                     const std::vector<std::string>& certificate)
{
    try {
        return HostPolicy(listening, allowed, certificate);
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

std::string upper(std::string text)
{
    for (char& c : text)
        if (c >= 'a' && c <= 'z')
            c = static_cast<char>(c - 'a' + 'A');
    return text;
}

// A plain DNS name the policy would compare as itself: letters, digits and dots only, no
// wildcard, not an address.
bool is_plain_name(const std::string& entry)
{
    if (entry.empty() || entry.front() == '.' || entry.back() == '.' ||
        entry.find("..") != std::string::npos)
        return false;
    bool letter = false;
    for (const char c : entry) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            letter = true;
        else if (!(c >= '0' && c <= '9') && c != '.' && c != '-')
            return false;
    }
    return letter;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider input(data, size);
    std::vector<std::string> allowed;
    const auto entries = input.ConsumeIntegralInRange<int>(0, 3);
    for (int i = 0; i < entries; ++i)
        allowed.push_back(input.ConsumeRandomLengthString(40));
    std::vector<std::string> certificate;
    if (input.ConsumeBool())
        certificate.push_back(input.ConsumeRandomLengthString(40));
    const bool loopback = input.ConsumeBool();
    const std::vector<IpAddress> listening{
        boost::asio::ip::make_address(loopback ? "127.0.0.1" : "192.0.2.1")};
    const std::string host = input.ConsumeRandomLengthString(60);
    const std::string port = std::to_string(input.ConsumeIntegral<std::uint16_t>());

    bool all_fine = true;
    for (const std::string& entry : allowed)
        all_fine = all_fine && !HostPolicy::problem(entry).has_value();
    const auto policy = try_policy(listening, allowed, certificate);
    FUZZ_CHECK(policy.has_value() == all_fine);
    if (!policy)
        return 0;

    const bool allows = policy->allows(host);
    FUZZ_CHECK(policy->checks() == (!allowed.empty() || loopback));
    if (!policy->checks()) {
        FUZZ_CHECK(allows);
        return 0;
    }
    for (const char* name : {"localhost", "127.0.0.1", "[::1]", "LocalHost."})
        FUZZ_CHECK(policy->allows(name) && policy->allows(std::string(name) + ":" + port));
    for (const std::string& entry : allowed)
        if (is_plain_name(entry))
            FUZZ_CHECK(policy->allows(entry) && policy->allows(upper(entry) + ":" + port) &&
                       policy->allows(entry + "."));
    // Any port: a Host without one that passes, passes with one.
    if (allows && host.find(':') == std::string::npos)
        FUZZ_CHECK(policy->allows(host + ":" + port));
    // More names never allow less.
    std::vector<std::string> more = allowed;
    more.emplace_back("extra.example");
    const auto wider = try_policy(listening, more, certificate);
    FUZZ_CHECK(wider.has_value());
    if (allows)
        FUZZ_CHECK(wider->allows(host));
    return 0;
}
