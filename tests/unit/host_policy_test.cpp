// HostPolicy: with the check on (a loopback-only listener, or any --allowed-host), a request's
// Host must be a loopback name, a configured name or one of the certificate's, on any port, in
// any case, with or without a trailing dot; a missing or malformed Host is refused. With it off
// (a public listener without names) everything passes.

#include "signald/net/host_policy.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace signald {
namespace host_policy_test {

std::vector<IpAddress> listening(std::initializer_list<const char*> addresses)
{
    std::vector<IpAddress> out;
    for (const char* address : addresses)
        out.push_back(boost::asio::ip::make_address(address));
    return out;
}

HostPolicy loopback_only(const std::vector<std::string>& allowed = {},
                         const std::vector<std::string>& certificate = {})
{
    return HostPolicy(listening({"127.0.0.1"}), allowed, certificate);
}

// --- when the check is on ----------------------------------------------------------------------

TEST(HostPolicy, AServerListeningOnLoopbackOnlyChecks)
{
    for (const char* address : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"})
        EXPECT_TRUE(HostPolicy(listening({address}), {}, {}).checks()) << address;
    EXPECT_TRUE(HostPolicy(listening({"127.0.0.1", "::1"}), {}, {}).checks());
}

TEST(HostPolicy, APublicListenerWithoutNamesDoesNotCheckAndAllowsAnything)
{
    for (const char* address : {"0.0.0.0", "::", "192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7"}) {
        const HostPolicy policy(listening({address}), {}, {});
        EXPECT_FALSE(policy.checks()) << address;
        for (const char* host : {"evil.example", "", "garbage:x", "[::1"})
            EXPECT_TRUE(policy.allows(host)) << address << " " << host;
    }
    EXPECT_FALSE(HostPolicy(listening({"127.0.0.1", "0.0.0.0"}), {}, {}).checks())
        << "one public address is enough to be reachable by name without a rebinding";
    EXPECT_FALSE(HostPolicy().checks());
    EXPECT_TRUE(HostPolicy().allows("evil.example"));
}

TEST(HostPolicy, TheCertificatesNamesAloneDoNotTurnTheCheckOn)
{
    const HostPolicy policy(listening({"0.0.0.0"}), {}, {"call.example.org"});
    EXPECT_FALSE(policy.checks());
    EXPECT_TRUE(policy.allows("evil.example"));
}

TEST(HostPolicy, AnAllowedHostTurnsTheCheckOnForAPublicListenerToo)
{
    const HostPolicy policy(listening({"0.0.0.0"}), {"call.example.org"}, {});
    EXPECT_TRUE(policy.checks());
    EXPECT_TRUE(policy.allows("call.example.org"));
    EXPECT_TRUE(policy.allows("localhost:8787"));
    EXPECT_FALSE(policy.allows("evil.example"));
    EXPECT_FALSE(policy.allows("192.0.2.7:8787"))
        << "the public address itself is not a name given";
}

// --- loopback names ----------------------------------------------------------------------------

TEST(HostPolicy, LoopbackNamesAreAllowedOnAnyPort)
{
    const HostPolicy policy = loopback_only();
    for (const char* host : {"localhost", "localhost:8787", "localhost:1", "127.0.0.1",
                             "127.0.0.1:80", "[::1]", "[::1]:5", "localhost:"})
        EXPECT_TRUE(policy.allows(host)) << host;
}

TEST(HostPolicy, LoopbackNamesAreAllowedInAnyCaseAndWithATrailingDot)
{
    const HostPolicy policy = loopback_only();
    for (const char* host : {"LOCALHOST", "LocalHost:8787", "localhost.", "localhost.:8787",
                             "127.0.0.1.", "[0:0:0:0:0:0:0:1]:8787", "[::0001]"})
        EXPECT_TRUE(policy.allows(host)) << host;
}

TEST(HostPolicy, AnyOtherNameOrAddressIsRefused)
{
    const HostPolicy policy = loopback_only();
    for (const char* host :
         {"evil.example", "evil.example:8787", "EVIL.example.", "127.0.0.1.evil.example",
          "localhost.evil.example", "evil.localhost", "127.0.0.2", "0.0.0.0:8787", "[::2]",
          "[::ffff:127.0.0.1]", "192.0.2.7:8787", "2130706433"})
        EXPECT_FALSE(policy.allows(host)) << host;
}

TEST(HostPolicy, AMissingOrMalformedHostIsRefused)
{
    const HostPolicy policy = loopback_only();
    for (const char* host :
         {"", ":8787", "[::1", "[::1]x", "[::1]:x", "::1", "localhost:abc", "localhost:80:80",
          "local host", "localhost/", "localhost..", ".localhost", "[]", "[fe80::1%lo]",
          "*.localhost", "localhost\t", "user@localhost"})
        EXPECT_FALSE(policy.allows(host)) << '"' << host << '"';
}

// --- --allowed-host ----------------------------------------------------------------------------

TEST(HostPolicy, AnAllowedNamePassesOnAnyPortAndOthersDoNot)
{
    const HostPolicy policy = loopback_only({"call.example.org"});
    for (const char* host : {"call.example.org", "call.example.org:443", "CALL.Example.ORG",
                             "call.example.org.", "call.example.org.:8443"})
        EXPECT_TRUE(policy.allows(host)) << host;
    for (const char* host : {"example.org", "a.call.example.org", "call.example.org.evil.example",
                             "call.example.or", "xcall.example.org"})
        EXPECT_FALSE(policy.allows(host)) << host;
}

TEST(HostPolicy, AllowedNamesAreReadInAnyCaseAndWithATrailingDot)
{
    const HostPolicy policy = loopback_only({"Call.Example.ORG."});
    EXPECT_TRUE(policy.allows("call.example.org:443"));
    EXPECT_EQ(policy.names(), std::vector<std::string>{"call.example.org"});
}

TEST(HostPolicy, AllowedAddressesMatchTheirCanonicalForm)
{
    const HostPolicy policy = loopback_only({"192.0.2.7", "2001:DB8:0::1", "[2001:db8::2]"});
    EXPECT_TRUE(policy.allows("192.0.2.7:8787"));
    EXPECT_TRUE(policy.allows("[2001:db8::1]:8787"));
    EXPECT_TRUE(policy.allows("[2001:0db8:0:0:0:0:0:1]"));
    EXPECT_TRUE(policy.allows("[2001:db8::2]"));
    EXPECT_FALSE(policy.allows("[2001:db8::3]"));
    EXPECT_FALSE(policy.allows("192.0.2.8"));
    EXPECT_EQ(policy.names(),
              (std::vector<std::string>{"192.0.2.7", "[2001:db8::1]", "[2001:db8::2]"}));
}

TEST(HostPolicy, AWildcardMatchesExactlyOneLabel)
{
    const HostPolicy policy = loopback_only({"*.example.org"});
    for (const char* host : {"a.example.org", "room-1.example.org:443", "A.EXAMPLE.ORG."})
        EXPECT_TRUE(policy.allows(host)) << host;
    for (const char* host :
         {"example.org", "a.b.example.org", ".example.org", "aexample.org", "a.example.org.evil"})
        EXPECT_FALSE(policy.allows(host)) << host;
}

TEST(HostPolicy, NoWildcardMatchesAnAddress)
{
    const HostPolicy policy = loopback_only({}, {"*.2.0.192"});
    EXPECT_FALSE(policy.allows("1.2.0.192")) << "1.2.0.192 is an address, not a name";
}

TEST(HostPolicy, AllowedHostMayBeAWildcardOfAtLeastTwoLabels)
{
    EXPECT_EQ(HostPolicy::problem("*.example.org"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("*.org"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("*"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("a.*.example.org"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("f*.example.org"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("*.*.example.org"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("*.192.0.2.7"), std::nullopt);
    EXPECT_NE(HostPolicy::problem("*.org")->find("too wide"), std::string::npos);
}

TEST(HostPolicy, AllowedHostIsANameOrAnAddressWithoutAPort)
{
    for (const char* good : {"call.example.org", "localhost", "signald", "my_host.lan", "192.0.2.7",
                             "::1", "[::1]", "2001:db8::1", "call.example.org."})
        EXPECT_EQ(HostPolicy::problem(good), std::nullopt) << good;
    for (const char* with_port : {"call.example.org:443", "192.0.2.7:8787", "[::1]:8787"}) {
        const auto problem = HostPolicy::problem(with_port);
        ASSERT_TRUE(problem.has_value()) << with_port;
        EXPECT_NE(problem->find("port"), std::string::npos) << *problem;
    }
    for (const char* bad :
         {"", ".", "https://call.example.org", "call.example.org/", "call example.org", "a..b",
          "[::1", "[call.example.org]", "fe80::1%eth0", "call.example.org:", "ünïcode.example"})
        EXPECT_NE(HostPolicy::problem(bad), std::nullopt) << '"' << bad << '"';
}

TEST(HostPolicy, AnAllowedHostThatIsNotANameFailsTheConstruction)
{
    EXPECT_THROW(loopback_only({"call.example.org", "call.example.org:443"}), std::runtime_error);
    try {
        loopback_only({"https://x.example"});
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("\"https://x.example\""), std::string::npos)
            << e.what();
    }
}

// --- the certificate's names -------------------------------------------------------------------

TEST(HostPolicy, TheCertificatesNamesAreAllowed)
{
    const HostPolicy policy = loopback_only(
        {}, {"localhost", "call.example.org", "*.rooms.example.org", "192.0.2.7", "[2001:db8::1]"});
    for (const char* host : {"call.example.org:8443", "a.rooms.example.org", "192.0.2.7:8443",
                             "[2001:db8::1]:8443", "localhost"})
        EXPECT_TRUE(policy.allows(host)) << host;
    for (const char* host : {"rooms.example.org", "a.b.rooms.example.org", "evil.example"})
        EXPECT_FALSE(policy.allows(host)) << host;
}

TEST(HostPolicy, CertificateNamesNoBrowserWouldMatchAreSkipped)
{
    const HostPolicy policy =
        loopback_only({}, {"f*.example.org", "*.org", "not a name", "", "call.example.org"});
    EXPECT_EQ(policy.names(), std::vector<std::string>{"call.example.org"});
    EXPECT_FALSE(policy.allows("foo.example.org"));
    EXPECT_FALSE(policy.allows("example.org"));
}

TEST(HostPolicy, NamesListsEachNameOnceAndLeavesTheLoopbackOnesOut)
{
    const HostPolicy policy = loopback_only({"call.example.org", "localhost", "*.example.org"},
                                            {"CALL.example.org", "127.0.0.1", "::1"});
    EXPECT_EQ(policy.names(), (std::vector<std::string>{"call.example.org", "*.example.org"}));
}

} // namespace host_policy_test
} // namespace signald
