// The DNS-rebinding defence against the real binary: a server listening on loopback only (or
// given --allowed-host) answers a request, page or upgrade, only when its Host is a loopback name,
// an --allowed-host name or one of the certificate's; anything else gets 403, logged at info and
// counted. A public listener without names does not look at Host.

#include "exposition.hpp"
#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "test_certs.hpp"
#include "tls_client.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace signald::test {
namespace {

namespace beast = boost::beast;

// As server_args, but listening on every address of the machine (0.0.0.0), as a public server.
std::vector<std::string> public_args(const TempDir& web_root, std::vector<std::string> extra)
{
    std::vector<std::string> args{"--port", "0", "--bind", "0.0.0.0", "--web-root", web_root.str()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

class Hosts : public SignaldFixture
{
protected:
    void start_public(std::vector<std::string> extra = {})
    {
        server_ = std::make_unique<SignaldProcess>(public_args(web_root_, std::move(extra)));
    }
    // The status of GET target with this Host.
    unsigned page(const std::string& host, const std::string& target = "/")
    {
        return http_request(port(), "GET", target, {{"Host", host}}).result_int();
    }
    // The status of a WebSocket upgrade to target with this Host (101: upgraded).
    unsigned upgrade(const std::string& host, const std::string& target = "/ws", Headers extra = {})
    {
        extra.emplace_back("Host", host);
        WsClient client;
        return client.try_connect(port(), target, extra);
    }
    std::optional<double> host_rejections() const { return rejections("host"); }
};

TEST_F(Hosts, OnLoopbackAForeignHostGets403ForThePageAndTheUpgrade)
{
    start_server();
    const auto refused = http_request(port(), "GET", "/", {{"Host", "evil.example"}});
    EXPECT_EQ(refused.result_int(), 403u);
    EXPECT_NE(refused.body().find("Host not allowed"), std::string::npos) << refused.body();
    EXPECT_NE(refused.body().find("--allowed-host"), std::string::npos) << refused.body();
    EXPECT_EQ(upgrade("evil.example"), 403u);
    EXPECT_EQ(upgrade("evil.example:" + std::to_string(port()), "/"), 403u);
    // The rebinding itself: the page's Origin and Host agree, so only the Host check stops it.
    const std::string rebound = "rebind.evil.example:" + std::to_string(port());
    EXPECT_EQ(upgrade(rebound, "/ws", {{"Origin", "http://" + rebound}}), 403u);
    EXPECT_EQ(metric(port(), "signald_sessions"), 0);
    EXPECT_EQ(host_rejections(), 4);
    EXPECT_EQ(rejections("origin"), std::nullopt);
}

TEST_F(Hosts, EveryPathIsRefusedAlike)
{
    start_server();
    for (const std::string target : {"/index.html", "/metrics", "/healthz", "/ws", "/nope"})
        EXPECT_EQ(page("evil.example:" + std::to_string(port()), target), 403u) << target;
    HttpClient head;
    head.connect(port());
    head.send_raw("HEAD / HTTP/1.1\r\nHost: evil.example\r\n\r\n");
    const auto response = head.read_response(true);
    ASSERT_TRUE(response.has_value()) << head.last_error();
    EXPECT_EQ(response->result_int(), 403u);
    EXPECT_EQ(host_rejections(), 6);
}

TEST_F(Hosts, EachRefusalIsLoggedOnceAtInfoWithoutTheQuery)
{
    start_server();
    EXPECT_EQ(page("evil.example", "/?room=standup&token=secret-token"), 403u);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (host)"));
    const std::string log = server_->stderr_text();
    EXPECT_EQ(occurrences(log, "rejected (host)"), 1u) << log;
    EXPECT_NE(log.find(" info 127.0.0.1:"), std::string::npos) << "logged at info with who";
    EXPECT_NE(log.find("GET / refused with 403: Host \"evil.example\" not allowed"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("secret-token"), std::string::npos) << log;
    EXPECT_EQ(log.find("standup"), std::string::npos) << log;
}

TEST_F(Hosts, LoopbackNamesPassOnAnyPort)
{
    start_server();
    for (const std::string host :
         {"localhost:1234", "127.0.0.1", "[::1]:5", "LOCALHOST.", "[::1]"}) {
        EXPECT_EQ(page(host), 200u) << host;
        EXPECT_EQ(upgrade(host), 101u) << host;
    }
    EXPECT_EQ(host_rejections(), std::nullopt);
}

TEST_F(Hosts, ARequestWithoutHostGets403)
{
    start_server();
    HttpClient client;
    client.connect(port());
    client.send_raw("GET / HTTP/1.0\r\n\r\n");
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value()) << client.last_error();
    EXPECT_EQ(response->result_int(), 403u);
    EXPECT_EQ(host_rejections(), 1);
    EXPECT_TRUE(server_->wait_for_stderr("GET / refused with 403: no Host"));
}

TEST_F(Hosts, TwoHostLinesAreRefusedEvenIfOneIsLocalhost)
{
    start_server();
    HttpClient client;
    client.connect(port());
    client.send_raw("GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n");
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value()) << client.last_error();
    EXPECT_EQ(response->result_int(), 403u);
    EXPECT_TRUE(server_->wait_for_stderr("GET / refused with 403: 2 Host lines"));
}

TEST_F(Hosts, AnAllowedHostPassesAndOthersDoNot)
{
    start_server({"--allowed-host", "call.example.org"});
    EXPECT_EQ(page("call.example.org"), 200u);
    EXPECT_EQ(page("Call.Example.Org:8443"), 200u);
    // As behind nginx: the browser's Host passed on, and its Origin agrees.
    EXPECT_EQ(upgrade("call.example.org", "/ws", {{"Origin", "https://call.example.org"}}), 101u);
    EXPECT_EQ(page("other.example.org"), 403u);
    EXPECT_EQ(page("a.call.example.org"), 403u);
    EXPECT_EQ(upgrade("other.example.org"), 403u);
    EXPECT_EQ(page("localhost"), 200u);
    EXPECT_EQ(host_rejections(), 3);
}

TEST_F(Hosts, AllowedHostMayBeRepeated)
{
    start_server({"--allowed-host", "a.example", "--allowed-host", "b.example"});
    EXPECT_EQ(page("a.example"), 200u);
    EXPECT_EQ(page("b.example:80"), 200u);
    EXPECT_EQ(page("c.example"), 403u);
}

TEST_F(Hosts, AllowedHostsMayComeFromTheConfigFileAndBeWildcards)
{
    const auto config = web_root_.write(
        "signald.ini", "allowed-host = a.example\nallowed-host = *.rooms.example\n");
    start_server({"--config", config.string()});
    for (const std::string host : {"a.example", "x.rooms.example:8443"})
        EXPECT_EQ(page(host), 200u) << host;
    for (const std::string host : {"c.example", "rooms.example", "x.y.rooms.example"})
        EXPECT_EQ(page(host), 403u) << host;
}

TEST_F(Hosts, APublicListenerWithoutNamesDoesNotCheckHost)
{
    start_public();
    EXPECT_EQ(page("evil.example"), 200u);
    EXPECT_EQ(upgrade("evil.example"), 101u);
    EXPECT_EQ(host_rejections(), std::nullopt);
}

TEST_F(Hosts, APublicListenerWithANameChecksHost)
{
    start_public({"--allowed-host", "call.example.org"});
    EXPECT_EQ(page("call.example.org"), 200u);
    EXPECT_EQ(page("evil.example"), 403u);
    EXPECT_EQ(upgrade("evil.example"), 403u);
    EXPECT_EQ(host_rejections(), 2);
}

TEST(HostOptions, AnAllowedHostWithAPortOrThatIsNoNameFailsTheStartWithOneLine)
{
    TempDir web_root;
    web_root.write("index.html", "<!doctype html>\n");
    for (const std::string bad : {"call.example.org:443", "https://call.example.org", "*.org"}) {
        const auto result = run_signald(server_args(web_root.path(), {"--allowed-host", bad}));
        EXPECT_FALSE(result.timed_out) << bad;
        EXPECT_TRUE(result.status.exited_normally()) << result.status.describe();
        EXPECT_EQ(result.status.code, 2) << bad;
        EXPECT_EQ(result.stdout_text.find("listening on"), std::string::npos) << bad;
        EXPECT_EQ(occurrences(result.stderr_text, "\n"), 1u) << result.stderr_text;
        EXPECT_NE(result.stderr_text.find('"' + bad + '"'), std::string::npos)
            << result.stderr_text;
    }
}

// ---- with TLS: the certificate's names

class TlsHosts : public SignaldFixture
{
protected:
    // The test CA's certificate, also for a name, a wildcard and an address that are not loopback.
    TestCerts certs_{{"DNS:signal.test", "DNS:*.rooms.test", "IP:192.0.2.7"}};

    std::vector<std::string> tls_args() const
    {
        return {"--tls-cert", certs_.server_cert().string(), "--tls-key",
                certs_.server_key().string()};
    }
    void start_tls(std::vector<std::string> extra = {})
    {
        std::vector<std::string> args = tls_args();
        args.insert(args.end(), extra.begin(), extra.end());
        start_server(std::move(args));
    }
    // GET / over HTTPS with Host host. With verify, the certificate must be for host as a browser
    // would check it; without, it is not looked at (as after a click past the browser's warning).
    unsigned https_page(const std::string& host, bool verify = true)
    {
        HttpsClient client({verify ? certs_.ca_cert() : std::filesystem::path{}, host});
        client.connect(port());
        return client.request("GET", "/").result_int();
    }
    // /metrics is HTTPS here, so the fixture's rejections() cannot read it.
    std::optional<double> host_rejections()
    {
        HttpsClient client({certs_.ca_cert(), "localhost"});
        client.connect(port());
        const auto samples = parse_exposition(client.request("GET", "/metrics").body()).samples;
        const auto found = samples.find(R"(signald_rejections_total{reason="host"})");
        return found == samples.end() ? std::nullopt : std::optional(found->second);
    }
};

TEST_F(TlsHosts, TheCertificatesNamesPass)
{
    start_tls();
    for (const std::string host : {"signal.test", "a.rooms.test", "192.0.2.7", "localhost"})
        EXPECT_EQ(https_page(host), 200u) << host;
    WssClient wss({certs_.ca_cert(), "signal.test"});
    EXPECT_EQ(wss.try_connect(port()), 101u);
    EXPECT_EQ(host_rejections(), std::nullopt);
}

TEST_F(TlsHosts, ANameOutsideTheCertificateGets403)
{
    start_tls();
    EXPECT_EQ(https_page("evil.example", false), 403u);
    WssClient wss({{}, "rooms.test"});
    EXPECT_EQ(wss.try_connect(port()), 403u);
    EXPECT_EQ(host_rejections(), 2);
}

TEST_F(TlsHosts, PlainHttpToTheTlsPortIsCheckedBeforeTheRedirect)
{
    start_tls();
    EXPECT_EQ(http_request(port(), "GET", "/", {{"Host", "evil.example"}}).result_int(), 403u);
    EXPECT_EQ(http_request(port(), "GET", "/", {{"Host", "signal.test"}}).result_int(), 308u);
    EXPECT_EQ(host_rejections(), 1);
}

TEST_F(TlsHosts, APublicListenerWithoutNamesRedirectsAnyHostAndRefusesNoHostWith400)
{
    server_ = std::make_unique<SignaldProcess>(public_args(web_root_, tls_args()));
    const auto redirected = http_request(port(), "GET", "/x", {{"Host", "evil.example"}});
    EXPECT_EQ(redirected.result_int(), 308u);
    EXPECT_EQ(redirected[beast::http::field::location], "https://evil.example/x");
    HttpClient client;
    client.connect(port());
    client.send_raw("GET / HTTP/1.0\r\n\r\n"); // no Host: nowhere to send it
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value()) << client.last_error();
    EXPECT_EQ(response->result_int(), 400u);
    EXPECT_EQ(host_rejections(), std::nullopt);
}

TEST_F(TlsHosts, AnAllowedHostPassesBesideTheCertificatesNames)
{
    start_tls({"--allowed-host", "call.example.org"});
    EXPECT_EQ(https_page("call.example.org", false), 200u);
    EXPECT_EQ(https_page("signal.test"), 200u);
    EXPECT_EQ(https_page("other.example.org", false), 403u);
}

TEST_F(TlsHosts, ASelfSignedCertificatesNamesPass)
{
    start_server(
        {"--tls-self-signed", "--tls-name", "call.example.org", "--tls-name", "192.0.2.9"});
    EXPECT_EQ(https_page("call.example.org", false), 200u);
    EXPECT_EQ(https_page("192.0.2.9", false), 200u);
    EXPECT_EQ(https_page("other.example.org", false), 403u);
}

} // namespace
} // namespace signald::test
