// Who a client is behind trusted proxies, and which key the per-address cap counts it under.

#include "signald/net/client_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace signald {
namespace client_address_test {

IpAddress ip(const char* text)
{
    return boost::asio::ip::make_address(text);
}

std::string client(const char* peer, std::string_view forwarded_for,
                   const std::vector<std::string>& trusted)
{
    return address_text(client_address(ip(peer), forwarded_for, TrustedProxies(trusted)));
}

TEST(TrustedProxies, MatchesAddressesAndNetworksOfEitherFamily)
{
    const TrustedProxies proxies({"127.0.0.1", "10.0.0.0/8", "192.168.1.17/30", "::1", "fd00::/8"});
    EXPECT_TRUE(proxies.contains(ip("127.0.0.1")));
    EXPECT_FALSE(proxies.contains(ip("127.0.0.2")));
    EXPECT_TRUE(proxies.contains(ip("10.0.0.0")));
    EXPECT_TRUE(proxies.contains(ip("10.255.255.255")));
    EXPECT_FALSE(proxies.contains(ip("11.0.0.1")));
    // Host bits in the entry are ignored: 192.168.1.17/30 is 192.168.1.16 - 19.
    EXPECT_TRUE(proxies.contains(ip("192.168.1.16")));
    EXPECT_TRUE(proxies.contains(ip("192.168.1.19")));
    EXPECT_FALSE(proxies.contains(ip("192.168.1.20")));
    EXPECT_FALSE(proxies.contains(ip("192.168.1.15")));
    EXPECT_TRUE(proxies.contains(ip("::1")));
    EXPECT_FALSE(proxies.contains(ip("::2")));
    EXPECT_TRUE(proxies.contains(ip("fdab:1::5")));
    EXPECT_FALSE(proxies.contains(ip("fe00::5")));
}

TEST(TrustedProxies, ADualStackSocketsMappedIpv4MatchesTheIpv4Entry)
{
    const TrustedProxies proxies({"127.0.0.1"});
    EXPECT_TRUE(proxies.contains(ip("::ffff:127.0.0.1")));
}

TEST(TrustedProxies, AnEmptySetTrustsNobody)
{
    const TrustedProxies none;
    EXPECT_TRUE(none.empty());
    EXPECT_FALSE(none.contains(ip("127.0.0.1")));
    EXPECT_FALSE(none.contains(ip("::1")));
}

TEST(TrustedProxies, RefusesWhatIsNotAnAddressOrNetwork)
{
    for (const char* bad :
         {"", "localhost", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/-1",
          "10.0.0/8", "/8", "10.0.0.1 ", "1.2.3.4:80", "fe80::1%1", "fe80::%lo/64", "::1%b",
          "2001:db8::1%eth0", "fe80::1%nosuchif", "::1%b/9"}) {
        SCOPED_TRACE(bad);
        ASSERT_TRUE(TrustedProxies::problem(bad).has_value());
        EXPECT_THROW(TrustedProxies({bad}), std::invalid_argument);
    }
    for (const char* good : {"0.0.0.0/0", "::/0", "10.0.0.0/8", "2001:db8::/32", "::1"}) {
        SCOPED_TRACE(good);
        EXPECT_FALSE(TrustedProxies::problem(good).has_value());
    }
}

TEST(ClientAddress, WithoutTrustedProxiesTheHeaderIsIgnored)
{
    EXPECT_EQ(client("127.0.0.1", "203.0.113.7", {}), "127.0.0.1");
    EXPECT_EQ(client("198.51.100.2", "203.0.113.7", {"127.0.0.1"}), "198.51.100.2");
}

TEST(ClientAddress, FromATrustedProxyTheLastEntryIsTheClient)
{
    EXPECT_EQ(client("127.0.0.1", "203.0.113.7", {"127.0.0.1"}), "203.0.113.7");
    EXPECT_EQ(client("::1", "2001:db8::7", {"::1"}), "2001:db8::7");
    EXPECT_EQ(client("::ffff:127.0.0.1", "203.0.113.7", {"127.0.0.1"}), "203.0.113.7");
}

TEST(ClientAddress, WhatTheClientWroteLeftOfItsOwnAddressIsNotBelieved)
{
    // The client sent "X-Forwarded-For: 1.1.1.1"; nginx appended the address it saw.
    EXPECT_EQ(client("127.0.0.1", "1.1.1.1, 203.0.113.7", {"127.0.0.1"}), "203.0.113.7");
    // Even when the client claims to be a trusted proxy itself.
    EXPECT_EQ(client("127.0.0.1", "203.0.113.9, 127.0.0.1, 203.0.113.7", {"127.0.0.1"}),
              "203.0.113.7");
}

TEST(ClientAddress, AChainOfTrustedProxiesIsWalkedFromTheRight)
{
    const std::vector<std::string> proxies{"127.0.0.1", "10.0.0.0/8"};
    EXPECT_EQ(client("127.0.0.1", "1.1.1.1, 203.0.113.7, 10.0.0.5, 10.0.0.6", proxies),
              "203.0.113.7");
    // Every entry trusted: the leftmost is as far as anyone can vouch.
    EXPECT_EQ(client("127.0.0.1", "10.0.0.5, 10.0.0.6", proxies), "10.0.0.5");
}

TEST(ClientAddress, MissingOrBrokenEntriesStopAtTheLastKnownAddress)
{
    const std::vector<std::string> proxies{"127.0.0.1", "10.0.0.0/8"};
    EXPECT_EQ(client("127.0.0.1", "", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "   ", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "unknown", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "203.0.113.7, garbage", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "203.0.113.7,", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "garbage, 10.0.0.5", proxies), "10.0.0.5");
    EXPECT_EQ(client("127.0.0.1", "203.0.113.7,,10.0.0.5", proxies), "10.0.0.5");
}

TEST(ClientAddress, EntriesMayCarryAPortAndSpaces)
{
    const std::vector<std::string> proxies{"127.0.0.1"};
    EXPECT_EQ(client("127.0.0.1", "\t203.0.113.7:5555 ", proxies), "203.0.113.7");
    EXPECT_EQ(client("127.0.0.1", "[2001:db8::7]:5555", proxies), "2001:db8::7");
    EXPECT_EQ(client("127.0.0.1", "[2001:db8::7]", proxies), "2001:db8::7");
    EXPECT_EQ(client("127.0.0.1", "[2001:db8::7]x", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "[2001:db8::7", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "203.0.113.7:1:2", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "fe80::1%1", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "2001:db8::7%eth0", proxies), "127.0.0.1");
    EXPECT_EQ(client("127.0.0.1", "[2001:db8::7%b]:443", proxies), "127.0.0.1");
}

TEST(AddressKey, Ipv4IsTheAddressAndIpv6IsItsSlash64)
{
    EXPECT_EQ(address_key(ip("203.0.113.7")), "203.0.113.7");
    EXPECT_EQ(address_key(ip("::ffff:203.0.113.7")), "203.0.113.7");
    EXPECT_EQ(address_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
    EXPECT_EQ(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:2::2")));
    EXPECT_NE(address_key(ip("2001:db8:1:2::1")), address_key(ip("2001:db8:1:3::1")));
    EXPECT_EQ(address_key(ip("::1")), "::/64");
}

} // namespace client_address_test
} // namespace signald
