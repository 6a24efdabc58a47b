// HTTP request limits: a request must arrive whole within --request-timeout however slowly it
// trickles (slowloris), an idle connection is closed without counting as a rejection, and a
// header over --max-header-bytes gets 431, all while everyone else is served.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto request_timeout = 2s;
// A timer firing late on a loaded machine.
constexpr auto slack = 1500ms;
constexpr std::size_t max_header_bytes = 1024;

class RequestLimits : public SignaldFixture
{
protected:
    RequestLimits()
    {
        start_server({"--request-timeout", std::to_string(request_timeout.count()),
                      "--max-header-bytes", std::to_string(max_header_bytes)});
    }

    // A GET / whose header holds one field of value_bytes.
    std::string request_with_header(std::size_t value_bytes)
    {
        return "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
               "\r\nX-Padding: " + std::string(value_bytes, 'h') + "\r\n\r\n";
    }
};

TEST_F(RequestLimits, ARequestTricklingInSlowerThanTheTimeoutIsCutAndCounted)
{
    HttpClient slow;
    slow.connect(port());
    const auto started = Clock::now();
    const std::string request = request_with_header(200);
    bool closed = false;
    bool served_meanwhile = false;
    // A byte every 100 ms: the 260-byte request would take 26 s.
    for (std::size_t i = 0; i < request.size() && !closed; ++i) {
        try {
            slow.send_raw(request.substr(i, 1));
        } catch (const std::runtime_error&) {
            closed = true; // the server was quicker than ended_within
            break;
        }
        closed = slow.ended_within(100ms);
        if (i == 5) {
            // Others are served meanwhile.
            served_meanwhile = http_request(port(), "GET", "/healthz").body() == "ok\n";
        }
    }
    const auto took = Clock::now() - started;
    ASSERT_TRUE(closed) << "the slow request was never cut";
    EXPECT_GE(took, request_timeout - 100ms);
    EXPECT_LE(took, request_timeout + slack);
    EXPECT_TRUE(served_meanwhile);

    EXPECT_EQ(rejections("request-timeout"), 1);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (request-timeout)"));
    EXPECT_EQ(occurrences(server_->stderr_text(), "rejected (request-timeout)"), 1u);
}

TEST_F(RequestLimits, ARequestSentInPiecesWithinTheTimeoutIsServed)
{
    HttpClient client;
    client.connect(port());
    const std::string request = request_with_header(200);
    // Three pieces 300 ms apart: well within the 2 s for the whole request.
    for (std::size_t at = 0; at + 90 < request.size(); at += 90) {
        client.send_raw(request.substr(at, 90));
        ASSERT_FALSE(client.ended_within(300ms));
    }
    client.send_raw(request.substr(request.size() / 90 * 90));
    const auto response = client.read_response();
    ASSERT_TRUE(response) << client.last_error();
    EXPECT_EQ(response->result_int(), 200);
    EXPECT_EQ(rejections("request-timeout"), std::nullopt);
}

TEST_F(RequestLimits, IdleConnectionsAreClosedAtTheTimeoutWithoutCountingAsRejections)
{
    // One that never sends a byte, and one that went quiet after a keep-alive request.
    HttpClient silent;
    silent.connect(port());
    HttpClient kept;
    kept.connect(port());
    const auto started = Clock::now();
    EXPECT_EQ(kept.request("GET", "/healthz").result_int(), 200);

    EXPECT_TRUE(silent.ended_within(request_timeout + slack));
    EXPECT_GE(Clock::now() - started, request_timeout - 100ms);
    EXPECT_TRUE(kept.ended_within(request_timeout + slack));

    EXPECT_EQ(rejections("request-timeout"), std::nullopt);
    EXPECT_EQ(occurrences(server_->stderr_text(), "rejected"), 0u);
}

TEST_F(RequestLimits, AHeaderOverTheLimitGets431AndOthersAreStillServed)
{
    for (const std::size_t value_bytes : {std::size_t{2000}, std::size_t{64 * 1024}}) {
        HttpClient client;
        client.connect(port());
        try {
            client.send_raw(request_with_header(value_bytes));
        } catch (const std::runtime_error&) {
            // The server answers as soon as the limit is passed and closes without reading the
            // rest (no lingering close), so the end of a large header can meet a reset. The 431
            // has arrived by then; read it as a browser would.
        }
        const auto response = client.read_response();
        ASSERT_TRUE(response) << value_bytes << " bytes: " << client.last_error();
        EXPECT_EQ(response->result_int(), 431) << value_bytes << " bytes";
        EXPECT_TRUE(client.ended_within(2s)) << "the connection should close after 431";
    }
    EXPECT_EQ(rejections("header-too-large"), 2);
    EXPECT_TRUE(server_->wait_for_stderr("rejected (header-too-large)", 2));
    EXPECT_EQ(occurrences(server_->stderr_text(), "rejected (header-too-large)"), 2u);

    // Just under the limit is fine, and so is everyone else.
    HttpClient fits;
    fits.connect(port());
    fits.send_raw(request_with_header(800));
    const auto response = fits.read_response();
    ASSERT_TRUE(response) << fits.last_error();
    EXPECT_EQ(response->result_int(), 200);
    WsClient ws;
    ws.connect(port());
    EXPECT_EQ(ws.join("r").size(), 10u);
}

TEST_F(RequestLimits, AnUpgradeWithAHeaderOverTheLimitGets431)
{
    WsClient client;
    EXPECT_EQ(client.try_connect(port(), "/ws", {{"X-Padding", std::string(2000, 'u')}}), 431u);
    EXPECT_EQ(rejections("header-too-large"), 1);
}

} // namespace
} // namespace signald::test
