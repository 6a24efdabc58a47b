// parse_redis_url: every form --redis accepts, every refusal with its reason, percent-decoding of
// the password, and redacted(), the only way an endpoint is shown.

#include "signald/cluster/redis_endpoint.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace signald {
namespace redis_endpoint_test {

RedisEndpoint accepted(std::string_view url)
{
    auto parsed = parse_redis_url(url);
    if (const auto* why = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << url << " refused: " << *why;
        return {};
    }
    return std::get<RedisEndpoint>(parsed);
}

// The reason url is refused, or "" (and a failure) when it is accepted.
std::string refusal(std::string_view url)
{
    auto parsed = parse_redis_url(url);
    if (const auto* why = std::get_if<std::string>(&parsed))
        return *why;
    ADD_FAILURE() << url << " accepted";
    return "";
}

bool mentions(const std::string& text, std::string_view part)
{
    return text.find(part) != std::string::npos;
}

TEST(RedisUrl, HostAloneMeansPort6379AndDatabase0WithoutPassword)
{
    const auto endpoint = accepted("redis://localhost");
    EXPECT_EQ(endpoint.host, "localhost");
    EXPECT_EQ(endpoint.port, 6379);
    EXPECT_EQ(endpoint.db, 0u);
    EXPECT_EQ(endpoint.password, "");
    EXPECT_FALSE(endpoint.is_unix());
    EXPECT_EQ(endpoint.unix_path, "");
}

TEST(RedisUrl, HostAndPort)
{
    const auto endpoint = accepted("redis://10.0.0.5:6380");
    EXPECT_EQ(endpoint.host, "10.0.0.5");
    EXPECT_EQ(endpoint.port, 6380);
    EXPECT_EQ(endpoint.db, 0u);
    EXPECT_EQ(accepted("redis://h:1").port, 1);
    EXPECT_EQ(accepted("redis://h:65535").port, 65535);
    EXPECT_EQ(accepted("redis://redis-1.internal_net.example:7000").host,
              "redis-1.internal_net.example");
}

TEST(RedisUrl, HostPortAndDatabase)
{
    const auto endpoint = accepted("redis://127.0.0.1:6379/3");
    EXPECT_EQ(endpoint.host, "127.0.0.1");
    EXPECT_EQ(endpoint.port, 6379);
    EXPECT_EQ(endpoint.db, 3u);
    EXPECT_EQ(accepted("redis://h:6379/0").db, 0u);
    EXPECT_EQ(accepted("redis://h/15").db, 15u);
    EXPECT_EQ(accepted("redis://h:6379/16").db, 16u); // beyond Redis's default 16 databases
    EXPECT_EQ(accepted("redis://h:6379/2147483647").db, 2147483647u);
}

TEST(RedisUrl, PasswordWithEmptyUser)
{
    const auto endpoint = accepted("redis://:s3cret@redis.example:6379/2");
    EXPECT_EQ(endpoint.password, "s3cret");
    EXPECT_EQ(endpoint.host, "redis.example");
    EXPECT_EQ(endpoint.port, 6379);
    EXPECT_EQ(endpoint.db, 2u);
    const auto without_port = accepted("redis://:pw@h");
    EXPECT_EQ(without_port.password, "pw");
    EXPECT_EQ(without_port.port, 6379);
    EXPECT_EQ(accepted("redis://:pw@h/4").db, 4u);
}

TEST(RedisUrl, PasswordIsPercentDecoded)
{
    EXPECT_EQ(accepted("redis://:a%2Fb%3Fc%23d%40e%25f%3Ag@h").password, "a/b?c#d@e%f:g");
    EXPECT_EQ(accepted("redis://:%7e%7E@h").password, "~~"); // hex digits of either case
    EXPECT_EQ(accepted("redis://:%20x%20@h").password, " x ");
    EXPECT_EQ(accepted("redis://:%C3%A9t%C3%A9@h").password, "\xC3\xA9t\xC3\xA9");
    EXPECT_EQ(accepted("redis://:%2541@h").password, "%41"); // decoded once only
}

TEST(RedisUrl, PasswordKeepsUnencodedColonsAndAts)
{
    // Only '/', '?' and '#' would split the URL; ':' and '@' are unambiguous.
    EXPECT_EQ(accepted("redis://::a:b@h").password, ":a:b");
    const auto endpoint = accepted("redis://:p@ss@h:6380");
    EXPECT_EQ(endpoint.password, "p@ss");
    EXPECT_EQ(endpoint.host, "h");
    EXPECT_EQ(endpoint.port, 6380);
}

TEST(RedisUrl, BracketedIpv6)
{
    const auto loopback = accepted("redis://[::1]:6379");
    EXPECT_EQ(loopback.host, "::1");
    EXPECT_EQ(loopback.port, 6379);
    EXPECT_EQ(accepted("redis://[::1]").port, 6379);
    const auto full = accepted("redis://:pw@[2001:db8::7]:7000/5");
    EXPECT_EQ(full.host, "2001:db8::7");
    EXPECT_EQ(full.port, 7000);
    EXPECT_EQ(full.db, 5u);
    EXPECT_EQ(full.password, "pw");
    EXPECT_EQ(accepted("redis://[::ffff:10.0.0.1]").host, "::ffff:10.0.0.1");
}

TEST(RedisUrl, UnixSocket)
{
    const auto endpoint = accepted("unix:///run/redis/redis-server.sock");
    EXPECT_TRUE(endpoint.is_unix());
    EXPECT_EQ(endpoint.unix_path, "/run/redis/redis-server.sock");
    EXPECT_EQ(endpoint.host, "");
    EXPECT_EQ(endpoint.db, 0u);
    EXPECT_EQ(endpoint.password, "");
    EXPECT_EQ(accepted("unix:///tmp/r.sock?db=7").db, 7u);
    EXPECT_EQ(accepted("unix:///tmp/r.sock?db=7").unix_path, "/tmp/r.sock");
    // Taken as written: no percent-decoding in a path.
    EXPECT_EQ(accepted("unix:///tmp/a%20b:c@d").unix_path, "/tmp/a%20b:c@d");
    EXPECT_EQ(accepted("unix:///" + std::string(106, 'p')).unix_path.size(), 107u);
}

TEST(RedisUrl, UnknownSchemesAreRefused)
{
    for (const std::string_view url :
         {"http://h:6379", "redis:/h", "redis:h", "REDIS://h", "Redis://h", "redis+unix:///x",
          "unix:/tmp/x", "tcp://h", "h:6379", "localhost", "//h"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "must start with redis:// or unix://"));
    }
}

TEST(RedisUrl, TlsIsRefusedAsUnsupported)
{
    EXPECT_TRUE(mentions(refusal("rediss://h:6380"), "TLS to Redis is not supported"));
    EXPECT_TRUE(mentions(refusal("rediss://:pw@h"), "TLS to Redis is not supported"));
}

TEST(RedisUrl, EmptyOrBlankIsRefused)
{
    EXPECT_TRUE(mentions(refusal(""), "is empty"));
    for (const std::string_view url : {"redis://h ", " redis://h", "redis://:a b@h", "redis://h\n",
                                       "redis://h\t:1", "redis://h\x7f"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "space or a control character"));
    }
}

TEST(RedisUrl, UserNamesAreRefused)
{
    for (const std::string_view url :
         {"redis://user:pw@h", "redis://user@h", "redis://default:pw@h:6379/0"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "names a user"));
    }
    EXPECT_TRUE(mentions(refusal("redis://@h"), "no password"));
}

TEST(RedisUrl, EmptyOrMalformedPasswordsAreRefused)
{
    EXPECT_TRUE(mentions(refusal("redis://:@h"), "empty password"));
    for (const std::string_view url : {"redis://:%@h", "redis://:%4@h", "redis://:a%zzb@h",
                                       "redis://:a%4g@h", "redis://:abc%@h"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "'%' not followed by two hex digits"));
    }
    EXPECT_TRUE(mentions(refusal("redis://:a%00b@h"), "%00"));
}

TEST(RedisUrl, UnencodedSlashQuestionOrHashInAPasswordIsRefusedWithAHint)
{
    for (const std::string_view url :
         {"redis://:pa/ss@h", "redis://:pa?ss@h", "redis://:pa#ss@h:6379"}) {
        SCOPED_TRACE(url);
        const auto why = refusal(url);
        EXPECT_TRUE(mentions(why, "'@' after the host")) << why;
        EXPECT_TRUE(mentions(why, "%2F")) << why;
    }
}

TEST(RedisUrl, EmptyHostIsRefused)
{
    for (const std::string_view url : {"redis://", "redis://:6379", "redis://:pw@",
                                       "redis://:pw@:6379", "redis:///0", "redis://[]:6379"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "empty host"));
    }
}

TEST(RedisUrl, BadHostsAreRefused)
{
    EXPECT_TRUE(mentions(refusal("redis://ex%41mple"), "characters other than"));
    EXPECT_TRUE(mentions(refusal("redis://h!st:1"), "characters other than"));
    EXPECT_TRUE(mentions(refusal("redis://::1:6379"), "IPv6 address goes in [brackets]"));
    EXPECT_TRUE(mentions(refusal("redis://fe80::1"), "IPv6 address goes in [brackets]"));
    EXPECT_TRUE(mentions(refusal("redis://h:1:2"), "IPv6 address goes in [brackets]"));
    EXPECT_TRUE(mentions(refusal("redis://[::1"), "without its ']'"));
    EXPECT_TRUE(mentions(refusal("redis://[not-v6]:1"), "malformed IPv6"));
    EXPECT_TRUE(mentions(refusal("redis://[1.2.3.4]:1"), "malformed IPv6"));
    EXPECT_TRUE(mentions(refusal("redis://[fe80::1%25eth0]:1"), "malformed IPv6"));
    EXPECT_TRUE(mentions(refusal("redis://[::1]6379"), "text after its [IPv6] address"));
}

TEST(RedisUrl, BadPortsAreRefused)
{
    for (const std::string_view url :
         {"redis://h:0", "redis://h:65536", "redis://h:99999999999999999999", "redis://h:-1",
          "redis://h:+1", "redis://h:6379x", "redis://h:0x10", "redis://[::1]:0"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "port that is not 1 to 65535"));
    }
    EXPECT_TRUE(mentions(refusal("redis://h:"), "empty port"));
    EXPECT_TRUE(mentions(refusal("redis://[::1]:"), "empty port"));
}

TEST(RedisUrl, BadDatabasesAreRefused)
{
    for (const std::string_view url :
         {"redis://h:6379/-1", "redis://h:6379/2147483648", "redis://h/1x", "redis://h/+1",
          "redis://h/ 1", "unix:///s?db=x", "unix:///s?db=2147483648"}) {
        SCOPED_TRACE(url);
        const auto why = refusal(url);
        EXPECT_TRUE(mentions(why, "database number that is not 0 to 2147483647") ||
                    mentions(why, "space"))
            << why;
    }
    EXPECT_TRUE(mentions(refusal("redis://h:6379/"), "empty database"));
    EXPECT_TRUE(mentions(refusal("unix:///s?db="), "empty database"));
}

TEST(RedisUrl, TrailingJunkIsRefused)
{
    EXPECT_TRUE(mentions(refusal("redis://h:6379/0/1"), "text after the database"));
    EXPECT_TRUE(mentions(refusal("redis://h:6379/0?x"), "text after the database"));
    EXPECT_TRUE(mentions(refusal("redis://h:6379/0#x"), "text after the database"));
    EXPECT_TRUE(mentions(refusal("redis://h:6379?db=1"), "query or fragment"));
    EXPECT_TRUE(mentions(refusal("redis://h#x"), "query or fragment"));
    EXPECT_TRUE(mentions(refusal("unix:///s?db=1&x=2"), "database number"));
    EXPECT_TRUE(mentions(refusal("unix:///s?timeout=1"), "may only end in ?db=N"));
    EXPECT_TRUE(mentions(refusal("unix:///s?"), "may only end in ?db=N"));
    EXPECT_TRUE(mentions(refusal("unix:///s#x"), "fragment"));
}

TEST(RedisUrl, UnixNeedsAnAbsolutePathAndNoAuthority)
{
    for (const std::string_view url :
         {"unix://", "unix://run/redis.sock", "unix://:pw@/run/redis.sock", "unix://localhost/x"}) {
        SCOPED_TRACE(url);
        EXPECT_TRUE(mentions(refusal(url), "unix:///ABSOLUTE/PATH"));
    }
    EXPECT_TRUE(mentions(refusal("unix:///"), "no socket path"));
    EXPECT_TRUE(mentions(refusal("unix:///?db=1"), "no socket path"));
    EXPECT_TRUE(mentions(refusal("unix:///" + std::string(107, 'p')), "longer than 107 bytes"));
}

TEST(RedisUrl, NoReasonQuotesThePassword)
{
    for (const std::string_view url :
         {"redis://:hunter2@h:0", "redis://:hunter2@", "redis://x:hunter2@h",
          "redis://:hunter2/x@h", "redis://:hunter2%zz@h", "rediss://:hunter2@h",
          "redis://:hunter2@h/0/1", "redis://:hunter2@h?x", "redis://:hunter2@[::1",
          "http://:hunter2@h", "redis://:hunter2@h!", "redis://:hunter2 @h"}) {
        SCOPED_TRACE(url);
        EXPECT_FALSE(mentions(refusal(url), "hunter2"));
    }
}

TEST(RedisUrl, RedactedHidesThePasswordAndShowsWhatIsUsed)
{
    EXPECT_EQ(accepted("redis://h").redacted(), "redis://h:6379");
    EXPECT_EQ(accepted("redis://h:6380/0").redacted(), "redis://h:6380");
    EXPECT_EQ(accepted("redis://h:6380/2").redacted(), "redis://h:6380/2");
    EXPECT_EQ(accepted("redis://:hunter2@h:6380/2").redacted(), "redis://:***@h:6380/2");
    EXPECT_EQ(accepted("redis://:%2F@h").redacted(), "redis://:***@h:6379");
    EXPECT_EQ(accepted("redis://:pw@[::1]:7000").redacted(), "redis://:***@[::1]:7000");
    EXPECT_EQ(accepted("redis://[2001:db8::1]").redacted(), "redis://[2001:db8::1]:6379");
    EXPECT_EQ(accepted("unix:///run/r.sock").redacted(), "unix:///run/r.sock");
    EXPECT_EQ(accepted("unix:///run/r.sock?db=3").redacted(), "unix:///run/r.sock?db=3");
    // A password from --redis-password-file shows the same way.
    auto from_file = accepted("unix:///run/r.sock?db=3");
    from_file.password = "hunter2";
    EXPECT_EQ(from_file.redacted(), "unix://:***@/run/r.sock?db=3");
    auto tcp_from_file = accepted("redis://h");
    tcp_from_file.password = "hunter2";
    EXPECT_EQ(tcp_from_file.redacted(), "redis://:***@h:6379");
}

TEST(RedisUrl, RedactedWithoutPasswordParsesBackToTheSameEndpoint)
{
    for (const std::string_view url :
         {"redis://h", "redis://h:1/9", "redis://[::1]:6379/2", "unix:///s?db=4", "unix:///s"}) {
        SCOPED_TRACE(url);
        const auto endpoint = accepted(url);
        const auto again = accepted(endpoint.redacted());
        EXPECT_EQ(again.host, endpoint.host);
        EXPECT_EQ(again.port, endpoint.port);
        EXPECT_EQ(again.unix_path, endpoint.unix_path);
        EXPECT_EQ(again.db, endpoint.db);
    }
}

} // namespace redis_endpoint_test
} // namespace signald
