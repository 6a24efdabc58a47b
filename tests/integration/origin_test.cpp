// Origins against the real binary: a WebSocket upgrade from another site's page gets 403 (with a
// warn line and a count), while non-browser clients, the page's own origin, loopback pages and
// --allowed-origin entries get in.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace signald::test {
namespace {

class Origins : public SignaldFixture
{
protected:
    void start(std::vector<std::string> extra = {}) { start_server(std::move(extra)); }

    // The upgrade response status for a request with these headers (101: let in).
    unsigned upgrade(const Headers& headers, std::string_view target = "/ws")
    {
        WsClient client;
        return client.try_connect(port(), target, headers);
    }
    unsigned upgrade_from(const std::string& origin) { return upgrade({{"Origin", origin}}); }

    std::optional<double> origin_rejections()
    {
        return metric(port(), R"(signald_rejections_total{reason="origin"})");
    }
};

TEST_F(Origins, APageFromAnotherSiteGets403AndIsLoggedAndCounted)
{
    start();
    EXPECT_EQ(upgrade_from("http://evil.example"), 403u);
    EXPECT_EQ(origin_rejections(), 1);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (origin)"));
    const std::string log = server_->stderr_text();
    EXPECT_EQ(occurrences(log, "rejected (origin)"), 1u);
    EXPECT_NE(log.find("warning 127.0.0.1:"), std::string::npos) << "logged at warn with who";
    EXPECT_NE(log.find("for Origin http://evil.example"), std::string::npos) << log;
    EXPECT_EQ(metric(port(), "signald_sessions"), 0);
}

TEST_F(Origins, RefusedOriginsGet403AtEitherWebSocketPath)
{
    start();
    for (const std::string origin :
         {"http://evil.example", "https://evil.example:8787", "null", "file://", "garbage",
          "http://127.0.0.1.evil.example", "http://localhost.evil.example"})
        EXPECT_EQ(upgrade_from(origin), 403u) << origin;
    EXPECT_EQ(upgrade({{"Origin", "http://evil.example"}}, "/"), 403u);
    EXPECT_EQ(origin_rejections(), 8);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (origin)", 8));
    EXPECT_EQ(occurrences(server_->stderr_text(), "rejected (origin)"), 8u);
}

TEST_F(Origins, NoOriginTheOwnOriginAndLoopbackPagesGetIn)
{
    start();
    const std::string own = "127.0.0.1:" + std::to_string(port());
    EXPECT_EQ(upgrade({}), 101u) << "non-browser clients send no Origin";
    EXPECT_EQ(upgrade_from("http://" + own), 101u);
    EXPECT_EQ(upgrade_from("http://localhost:9999"), 101u);
    EXPECT_EQ(upgrade_from("http://[::1]:3000"), 101u);
    EXPECT_EQ(upgrade_from("https://localhost"), 101u);
    EXPECT_EQ(upgrade({{"Origin", "http://localhost:9999"}}, "/"), 101u);
    EXPECT_EQ(origin_rejections(), std::nullopt);
}

TEST_F(Origins, TheOwnOriginIsWhateverHostTheRequestNamed)
{
    // As behind a name or a proxy: Host names the server, Origin the page. On loopback such a
    // name must be allowed first (host_test.cpp).
    start({"--allowed-host", "signal.example"});
    const std::string host = "signal.example:" + std::to_string(port());
    EXPECT_EQ(upgrade({{"Host", host}, {"Origin", "http://" + host}}), 101u);
    EXPECT_EQ(
        upgrade({{"Host", host}, {"Origin", "HTTP://Signal.Example:" + std::to_string(port())}}),
        101u);
    EXPECT_EQ(upgrade({{"Host", host}, {"Origin", "http://signal.example:1"}}), 403u);
    EXPECT_EQ(
        upgrade({{"Host", host}, {"Origin", "http://other.example:" + std::to_string(port())}}),
        403u);
    // Without a port Host means the scheme's default one, not whatever port Origin names.
    EXPECT_EQ(upgrade({{"Host", "signal.example"}, {"Origin", "http://signal.example"}}), 101u);
    EXPECT_EQ(upgrade({{"Host", "signal.example"}, {"Origin", "http://signal.example:8443"}}),
              403u);
    EXPECT_EQ(origin_rejections(), 3);
}

TEST_F(Origins, PlainHttpRequestsAreNotSubjectToTheOriginCheck)
{
    start();
    EXPECT_EQ(http_request(port(), "GET", "/", {{"Origin", "http://evil.example"}}).result_int(),
              200);
    EXPECT_EQ(origin_rejections(), std::nullopt);
}

TEST_F(Origins, AnAllowedOriginGetsInAndOthersAreStillRefused)
{
    start({"--allowed-origin", "https://app.example"});
    EXPECT_EQ(upgrade_from("https://app.example"), 101u);
    EXPECT_EQ(upgrade_from("https://app.example:443"), 101u);
    EXPECT_EQ(upgrade_from("http://app.example"), 403u);
    EXPECT_EQ(upgrade_from("https://app.example:8443"), 403u);
    EXPECT_EQ(upgrade_from("https://evil.example"), 403u);
    EXPECT_EQ(upgrade_from("http://localhost:9999"), 101u);
    EXPECT_EQ(origin_rejections(), 3);
}

TEST_F(Origins, AllowedOriginMayBeRepeated)
{
    start({"--allowed-origin", "https://a.example", "--allowed-origin", "http://b.example:8080"});
    EXPECT_EQ(upgrade_from("https://a.example"), 101u);
    EXPECT_EQ(upgrade_from("http://b.example:8080"), 101u);
    EXPECT_EQ(upgrade_from("https://c.example"), 403u);
}

TEST_F(Origins, AllowedOriginsMayComeFromTheConfigFile)
{
    const auto config = web_root_.write(
        "signald.ini", "allowed-origin = https://a.example\nallowed-origin = https://b.example\n");
    start({"--config", config.string()});
    EXPECT_EQ(upgrade_from("https://a.example"), 101u);
    EXPECT_EQ(upgrade_from("https://b.example"), 101u);
    EXPECT_EQ(upgrade_from("https://c.example"), 403u);
}

TEST_F(Origins, StarAllowsEveryOrigin)
{
    start({"--allowed-origin", "*"});
    for (const std::string origin : {"http://evil.example", "null", "garbage"})
        EXPECT_EQ(upgrade_from(origin), 101u) << origin;
    EXPECT_EQ(origin_rejections(), std::nullopt);
}

TEST(OriginOptions, AnAllowedOriginThatIsNotAnOriginFailsTheStartWithOneLine)
{
    TempDir web_root;
    web_root.write("index.html", "<!doctype html>\n");
    for (const std::string bad : {"not an origin", "app.example", "https://app.example/"}) {
        const auto result = run_signald(server_args(
            web_root.path(), {"--allowed-origin", "https://ok.example", "--allowed-origin", bad}));
        EXPECT_FALSE(result.timed_out) << bad;
        EXPECT_TRUE(result.status.exited_normally()) << result.status.describe();
        EXPECT_NE(result.status.code, 0) << bad;
        EXPECT_EQ(result.stdout_text.find("listening on"), std::string::npos) << bad;
        EXPECT_EQ(occurrences(result.stderr_text, "\n"), 1u) << result.stderr_text;
        EXPECT_NE(result.stderr_text.find('"' + bad + '"'), std::string::npos)
            << result.stderr_text;
    }
}

} // namespace
} // namespace signald::test
