// Connection caps: past --max-connections an upgrade gets 503, past --max-connections-per-ip from
// one address 429; plain HTTP is not counted, and every way a session ends gives its place back.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace signald::test {
namespace {

class ConnectionCaps : public SignaldFixture
{
protected:
    void start(std::vector<std::string> caps) { start_server(std::move(caps)); }

    unsigned try_connect()
    {
        WsClient client;
        return client.try_connect(server_->port());
    }
};

TEST_F(ConnectionCaps, PastMaxConnectionsAnUpgradeGets503UntilOneCloses)
{
    start({"--max-connections", "3"});
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 3; ++i)
        clients.push_back(connect());

    EXPECT_EQ(try_connect(), 503u);
    EXPECT_EQ(try_connect(), 503u);
    // Plain HTTP is not a WebSocket session and is still served.
    EXPECT_EQ(http_request(server_->port(), "GET", "/healthz").result_int(), 200);
    EXPECT_EQ(metric(server_->port(), "signald_sessions"), 3);
    EXPECT_EQ(rejections("max-connections"), 2);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (max-connections)", 2));
    EXPECT_EQ(occurrences(server_->stderr_text(), "rejected (max-connections)"), 2u);

    // A clean close gives the place back.
    EXPECT_EQ(clients[0]->close(1000), 1000);
    EXPECT_EQ(wait_for_metric(server_->port(), "signald_sessions", 2), 2);
    clients[0] = connect();
    EXPECT_EQ(try_connect(), 503u);

    // So does a connection that just vanishes.
    clients[1]->drop(true);
    EXPECT_EQ(wait_for_metric(server_->port(), "signald_sessions", 2), 2);
    clients[1] = connect();
    EXPECT_EQ(try_connect(), 503u);
    EXPECT_EQ(rejections("max-connections"), 4);
    EXPECT_EQ(metric(server_->port(), "signald_connections"), 3);
}

TEST_F(ConnectionCaps, ClientsTheServerClosesGiveTheirPlaceBack)
{
    start({"--max-connections", "2"});
    auto first = connect();
    auto second = connect();
    EXPECT_EQ(try_connect(), 503u);

    // A binary frame: the server closes with 1003 and the place is free again.
    first->send_binary("x");
    EXPECT_TRUE(first->expect_close(1003));
    EXPECT_EQ(wait_for_metric(server_->port(), "signald_sessions", 1), 1);
    auto third = connect();
    EXPECT_TRUE(third->is_open());
    EXPECT_EQ(try_connect(), 503u);
}

TEST_F(ConnectionCaps, PastMaxConnectionsPerIpAnUpgradeGets429WhileOtherAddressesGetIn)
{
    start({"--max-connections-per-ip", "2"});
    auto first = connect();
    auto second = connect();
    EXPECT_EQ(try_connect(), 429u);

    // Another loopback address is another client.
    WsClient elsewhere;
    elsewhere.bind_local("127.0.0.2");
    EXPECT_EQ(elsewhere.try_connect(server_->port()), 101u);
    RawWsClient raw_elsewhere;
    raw_elsewhere.bind_local("127.0.0.2");
    EXPECT_EQ(raw_elsewhere.try_connect(server_->port()), 101u);
    RawWsClient third_elsewhere;
    third_elsewhere.bind_local("127.0.0.2");
    EXPECT_EQ(third_elsewhere.try_connect(server_->port()), 429u);
    EXPECT_EQ(metric(server_->port(), "signald_sessions"), 4);

    EXPECT_EQ(rejections("max-connections-per-ip"), 2);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (max-connections-per-ip)"));

    // Closing one from 127.0.0.1 frees a place for 127.0.0.1 only.
    EXPECT_EQ(first->close(1000), 1000);
    EXPECT_EQ(wait_for_metric(server_->port(), "signald_sessions", 3), 3);
    first = connect();
    EXPECT_EQ(try_connect(), 429u);
    EXPECT_EQ(rejections("max-connections-per-ip"), 3);
}

TEST_F(ConnectionCaps, TheTotalCapComesBeforeThePerAddressCap)
{
    start({"--max-connections", "2", "--max-connections-per-ip", "2"});
    auto first = connect();
    auto second = connect();
    WsClient elsewhere;
    elsewhere.bind_local("127.0.0.2");
    EXPECT_EQ(elsewhere.try_connect(server_->port()), 503u);
    EXPECT_EQ(try_connect(), 503u);
    EXPECT_EQ(rejections("max-connections"), 2);
    EXPECT_EQ(rejections("max-connections-per-ip"), std::nullopt);
}

// Behind nginx every connection comes from 127.0.0.1; --trusted-proxy makes the cap count the
// client that X-Forwarded-For names instead, and the logs show it.
TEST_F(ConnectionCaps, BehindATrustedProxyEachForwardedClientHasItsOwnCap)
{
    start({"--max-connections-per-ip", "2", "--trusted-proxy", "127.0.0.1"});
    const Headers from_7{{"X-Forwarded-For", "203.0.113.7"}};
    RawWsClient first, second, third, other, proxy_itself;
    EXPECT_EQ(first.try_connect(server_->port(), from_7), 101u);
    EXPECT_EQ(second.try_connect(server_->port(), from_7), 101u);
    EXPECT_EQ(third.try_connect(server_->port(), from_7), 429u);
    EXPECT_TRUE(server_->wait_for_stderr("203.0.113.7 via 127.0.0.1:"));
    EXPECT_TRUE(
        server_->wait_for_stderr("X-Forwarded-For names the client on connections from 127.0.0.1"));

    // What a client writes left of its own address (nginx appends the address it saw) is not
    // believed: this is 203.0.113.7 again, whatever it claims.
    RawWsClient spoofer;
    EXPECT_EQ(
        spoofer.try_connect(server_->port(), {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7"}}),
        429u);
    // Another forwarded client, and a request with no header (the proxy itself), get in.
    EXPECT_EQ(other.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.8"}}), 101u);
    EXPECT_EQ(proxy_itself.try_connect(server_->port()), 101u);
    EXPECT_EQ(metric(server_->port(), "signald_sessions"), 4);
    EXPECT_EQ(rejections("max-connections-per-ip"), 2);
}

TEST_F(ConnectionCaps, AnIpv6ClientIsCountedByItsSlash64)
{
    start({"--max-connections-per-ip", "1", "--trusted-proxy", "127.0.0.1"});
    RawWsClient first, same_line, next_line;
    EXPECT_EQ(first.try_connect(server_->port(), {{"X-Forwarded-For", "2001:db8::1"}}), 101u);
    // One subscriber holds the whole /64: another address in it is the same client.
    EXPECT_EQ(
        same_line.try_connect(server_->port(), {{"X-Forwarded-For", "2001:db8::ffff:ffff:ffff:2"}}),
        429u);
    EXPECT_EQ(
        next_line.try_connect(server_->port(), {{"X-Forwarded-For", "[2001:db8:0:1::1]:443"}}),
        101u);
    EXPECT_EQ(rejections("max-connections-per-ip"), 1);
}

TEST_F(ConnectionCaps, WithoutTrustedProxiesXForwardedForIsIgnored)
{
    // Anyone can send the header; believing it by default would make the cap worthless.
    start({"--max-connections-per-ip", "2"});
    RawWsClient first, second, third;
    EXPECT_EQ(first.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.1"}}), 101u);
    EXPECT_EQ(second.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.2"}}), 101u);
    EXPECT_EQ(third.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.3"}}), 429u);
    EXPECT_EQ(server_->stderr_text().find("203.0.113"), std::string::npos);
}

TEST_F(ConnectionCaps, AnUntrustedPeersHeaderIsIgnoredEvenWhenAProxyIsTrusted)
{
    start({"--max-connections-per-ip", "1", "--trusted-proxy", "127.0.0.2"});
    RawWsClient first, second;
    EXPECT_EQ(first.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.1"}}), 101u);
    EXPECT_EQ(second.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.2"}}), 429u);
    // From the trusted 127.0.0.2 the header is believed: two clients, one place each.
    RawWsClient via_proxy, other_via_proxy;
    via_proxy.bind_local("127.0.0.2");
    other_via_proxy.bind_local("127.0.0.2");
    EXPECT_EQ(via_proxy.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.2"}}), 101u);
    EXPECT_EQ(other_via_proxy.try_connect(server_->port(), {{"X-Forwarded-For", "203.0.113.3"}}),
              101u);
}

} // namespace
} // namespace signald::test
