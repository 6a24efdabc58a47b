// OriginPolicy: the page's own origin (same host and port as Host), loopback pages and the
// configured extra origins may open a WebSocket; everything else, garbage included, may not.

#include "signald/net/origin_policy.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace signald {
namespace origin_policy_test {

const OriginPolicy default_policy;

// --- the page's own origin ---------------------------------------------------------------------

TEST(OriginPolicy, OriginNamingTheHostAndPortOfTheHostHeaderIsAllowed)
{
    EXPECT_TRUE(default_policy.allows("http://signal.example:8787", "signal.example:8787"));
    EXPECT_TRUE(default_policy.allows("https://signal.example:8443", "signal.example:8443"));
    EXPECT_TRUE(default_policy.allows("http://192.0.2.7:8787", "192.0.2.7:8787"));
}

TEST(OriginPolicy, AnotherHostIsRefused)
{
    EXPECT_FALSE(default_policy.allows("http://evil.example", "signal.example"));
    EXPECT_FALSE(default_policy.allows("http://evil.example:8787", "signal.example:8787"));
    EXPECT_FALSE(
        default_policy.allows("http://signal.example.evil.example:8787", "signal.example:8787"));
    EXPECT_FALSE(default_policy.allows("http://sub.signal.example:8787", "signal.example:8787"));
    EXPECT_FALSE(default_policy.allows("http://192.0.2.8:8787", "192.0.2.7:8787"));
}

TEST(OriginPolicy, TheSameHostOnAnotherPortIsRefused)
{
    EXPECT_FALSE(default_policy.allows("http://signal.example:9999", "signal.example:8787"));
    EXPECT_FALSE(default_policy.allows("http://signal.example", "signal.example:8787"));
    EXPECT_FALSE(default_policy.allows("http://signal.example:8787", "signal.example"));
}

TEST(OriginPolicy, AMissingPortIsTheSchemesDefault)
{
    EXPECT_TRUE(default_policy.allows("http://signal.example", "signal.example"));
    EXPECT_TRUE(default_policy.allows("http://signal.example:80", "signal.example"));
    EXPECT_TRUE(default_policy.allows("http://signal.example", "signal.example:80"));
    EXPECT_TRUE(default_policy.allows("https://signal.example", "signal.example"));
    EXPECT_TRUE(default_policy.allows("https://signal.example:443", "signal.example"));
    EXPECT_TRUE(default_policy.allows("https://signal.example", "signal.example:443"));
    EXPECT_FALSE(default_policy.allows("http://signal.example", "signal.example:443"));
    EXPECT_FALSE(default_policy.allows("https://signal.example", "signal.example:80"));
    EXPECT_FALSE(default_policy.allows("http://signal.example:443", "signal.example:80"));
}

TEST(OriginPolicy, SchemeAndHostCompareWithoutRegardToCase)
{
    EXPECT_TRUE(default_policy.allows("HTTP://Signal.EXAMPLE:8787", "signal.example:8787"));
    EXPECT_TRUE(default_policy.allows("http://signal.example:8787", "SIGNAL.Example:8787"));
    EXPECT_TRUE(default_policy.allows("HTTPS://SIGNAL.EXAMPLE", "signal.example"));
}

TEST(OriginPolicy, IPv6HostsCompareInsideTheirBrackets)
{
    EXPECT_TRUE(default_policy.allows("http://[2001:db8::1]:8787", "[2001:db8::1]:8787"));
    EXPECT_TRUE(default_policy.allows("http://[2001:db8::1]", "[2001:db8::1]"));
    EXPECT_TRUE(default_policy.allows("http://[2001:DB8::1]:8787", "[2001:db8::1]:8787"));
    EXPECT_FALSE(default_policy.allows("http://[2001:db8::2]:8787", "[2001:db8::1]:8787"));
    EXPECT_FALSE(default_policy.allows("http://[2001:db8::1]:9999", "[2001:db8::1]:8787"));
}

TEST(OriginPolicy, AMissingOrBrokenHostHeaderMatchesNothing)
{
    EXPECT_FALSE(default_policy.allows("http://signal.example", ""));
    EXPECT_FALSE(default_policy.allows("http://signal.example", ":80"));
    EXPECT_FALSE(default_policy.allows("http://signal.example", "signal.example:"));
    EXPECT_FALSE(default_policy.allows("http://signal.example", "signal.example:8o"));
    EXPECT_FALSE(default_policy.allows("http://[2001:db8::1]", "[2001:db8::1"));
    EXPECT_FALSE(default_policy.allows("http://[2001:db8::1]", "[2001:db8::1]x"));
}

// --- loopback pages ------------------------------------------------------------------------------

TEST(OriginPolicy, LoopbackPagesAreAllowedOnAnyPortWhateverTheHost)
{
    for (const char* origin :
         {"http://localhost", "http://localhost:9999", "https://localhost:8443",
          "http://LOCALHOST:3000", "http://127.0.0.1", "http://127.0.0.1:1", "http://[::1]",
          "http://[::1]:5173", "http://app.localhost:8080"})
        EXPECT_TRUE(default_policy.allows(origin, "signal.example")) << origin;
}

TEST(OriginPolicy, NamesThatOnlyLookLikeLoopbackAreRefused)
{
    for (const char* origin :
         {"http://localhost.evil.example", "http://127.0.0.1.evil.example", "http://evillocalhost",
          "http://localhostx:3000", "http://[::2]:3000", "http://0.0.0.0:8787"})
        EXPECT_FALSE(default_policy.allows(origin, "signal.example")) << origin;
}

// --- garbage ---------------------------------------------------------------------------------

TEST(OriginPolicy, NullAndMalformedOriginsAreRefused)
{
    // "null" comes from sandboxed frames and file:// pages; the rest from no browser at all.
    for (const char* origin :
         {"null", "", "localhost", "signal.example:8787", "http://", "http://:8787",
          "http://signal.example:", "http://signal.example:87a7", "http://signal.example/",
          "http://signal.example/path", "http://signal.example?query", "http://signal.example#x",
          "http://user@signal.example", "http://[::1", "http://[]:8787", "http://[::1]x",
          "http://::1"})
        EXPECT_FALSE(default_policy.allows(origin, "signal.example")) << '"' << origin << '"';
}

TEST(OriginPolicy, MalformedOriginsAreRefusedEvenWhenTheyContainTheHost)
{
    EXPECT_FALSE(default_policy.allows("http://signal.example:8787/", "signal.example:8787"));
    EXPECT_FALSE(default_policy.allows("http://x@signal.example:8787", "signal.example:8787"));
    EXPECT_FALSE(default_policy.allows("http://localhost/", "signal.example"));
}

// --- configured origins --------------------------------------------------------------------------

TEST(OriginPolicy, AConfiguredOriginIsAllowedExactly)
{
    const OriginPolicy policy({"https://app.example"});
    EXPECT_TRUE(policy.allows("https://app.example", "signal.example"));
    EXPECT_TRUE(policy.allows("https://app.example:443", "signal.example"));
    EXPECT_TRUE(policy.allows("HTTPS://APP.Example", "signal.example"));
    EXPECT_FALSE(policy.allows("http://app.example", "signal.example"));
    EXPECT_FALSE(policy.allows("https://app.example:8443", "signal.example"));
    EXPECT_FALSE(policy.allows("https://other.example", "signal.example"));
    EXPECT_FALSE(policy.allows("https://sub.app.example", "signal.example"));
    EXPECT_FALSE(policy.allows("https://app.example.evil.example", "signal.example"));
}

TEST(OriginPolicy, AConfiguredOriginIsNormalisedLikeTheHeader)
{
    const OriginPolicy policy({"HTTPS://App.Example:443", "http://[2001:DB8::5]:80"});
    EXPECT_TRUE(policy.allows("https://app.example", "signal.example"));
    EXPECT_TRUE(policy.allows("http://[2001:db8::5]", "signal.example"));
    EXPECT_FALSE(policy.allows("http://[2001:db8::5]:8080", "signal.example"));
}

TEST(OriginPolicy, SeveralConfiguredOriginsAreEachAllowed)
{
    const OriginPolicy policy({"https://a.example", "http://b.example:8080"});
    EXPECT_TRUE(policy.allows("https://a.example", "signal.example"));
    EXPECT_TRUE(policy.allows("http://b.example:8080", "signal.example"));
    EXPECT_FALSE(policy.allows("http://b.example", "signal.example"));
    EXPECT_FALSE(policy.allows("https://c.example", "signal.example"));
    // The defaults still apply beside them.
    EXPECT_TRUE(policy.allows("http://localhost:3000", "signal.example"));
    EXPECT_TRUE(policy.allows("http://signal.example", "signal.example"));
}

TEST(OriginPolicy, StarAllowsEveryOriginEvenNull)
{
    const OriginPolicy policy({"*"});
    for (const char* origin : {"http://evil.example", "null", "", "garbage", "https://x.example/"})
        EXPECT_TRUE(policy.allows(origin, "signal.example")) << '"' << origin << '"';
}

TEST(OriginPolicy, AConfiguredEntryThatIsNotAnOriginThrowsNamingIt)
{
    for (const char* entry :
         {"not an origin", "", "app.example", "https://", "https://app.example/",
          "https://app.example/path", "https://user@app.example", "https://app.example:port",
          "https://[::1", "**"}) {
        try {
            OriginPolicy policy({entry});
            ADD_FAILURE() << '"' << entry << "\" was accepted";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find('"' + std::string(entry) + '"'), std::string::npos)
                << e.what();
        }
    }
}

TEST(OriginPolicy, OneBadEntryAmongGoodOnesStillThrows)
{
    EXPECT_THROW(OriginPolicy({"https://a.example", "nope", "*"}), std::runtime_error);
}

} // namespace origin_policy_test
} // namespace signald
