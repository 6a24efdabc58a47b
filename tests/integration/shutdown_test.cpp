// Graceful shutdown: on SIGTERM or SIGINT every WebSocket client gets close 1001 and the process
// exits 0 within 2 s, even with idle HTTP connections or a client that stopped reading.

#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

namespace signald::test {
namespace {

// docs: the process must be gone this soon after the signal.
constexpr auto exit_deadline = 2s;

class Shutdown : public SignaldFixture, public ::testing::WithParamInterface<int>
{
protected:
    // The flooding test sends megabytes in a blink; the byte rate limit is not its subject.
    Shutdown() { start_server({"--rate-bytes", "104857600"}); }

    // Signals the server and checks it exits 0 within the deadline; returns when it has.
    void expect_clean_exit(std::chrono::steady_clock::time_point signalled)
    {
        const auto status = server_->wait_exit(5s);
        ASSERT_TRUE(status.has_value()) << "still running 5 s after the signal";
        EXPECT_TRUE(status->exited_normally()) << status->describe();
        EXPECT_EQ(status->code, 0) << status->describe();
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(status->at - signalled);
        EXPECT_LE(took, exit_deadline) << "exit took " << took.count() << " ms";
    }
};

TEST_P(Shutdown, EveryClientGets1001AndTheProcessExitsZero)
{
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(connect());
        clients.back()->join(i < 3 ? "room" : "other");
    }
    clients.push_back(connect()); // connected, in no room
    HttpClient idle_http;         // keep-alive connection left idle after one request
    idle_http.connect(server_->port());
    EXPECT_EQ(idle_http.request("GET", "/").result_int(), 200u);

    const auto signalled = std::chrono::steady_clock::now();
    server_->send_signal(GetParam());
    for (std::size_t i = 0; i < clients.size(); ++i) {
        SCOPED_TRACE("client " + std::to_string(i));
        EXPECT_TRUE(clients[i]->expect_close(1001, exit_deadline));
    }
    EXPECT_TRUE(idle_http.ended_within(exit_deadline));
    expect_clean_exit(signalled);
}

TEST_P(Shutdown, AClientThatStoppedReadingDoesNotHoldUpExit)
{
    auto stalled = connect();
    auto flooder = connect();
    stalled->join("flood");
    flooder->join("flood");
    // Megabytes the stalled client never reads: loopback buffers fill and the server's queue for
    // it backs up (or the server gives up on it), so its close cannot be delivered promptly.
    const std::string payload(200 * 1024, 'f');
    for (int i = 0; i < 60 && flooder->is_open(); ++i)
        flooder->send_text(R"({"action":"signal","roomId":"flood","type":"offer","data":")" +
                           payload + "\"}");

    const auto signalled = std::chrono::steady_clock::now();
    server_->send_signal(GetParam());
    EXPECT_TRUE(flooder->expect_close(1001, exit_deadline));
    expect_clean_exit(signalled);
}

INSTANTIATE_TEST_SUITE_P(Signals, Shutdown, ::testing::Values(SIGTERM, SIGINT),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                             return param_info.param == SIGTERM ? std::string("Sigterm")
                                                                : std::string("Sigint");
                         });

} // namespace
} // namespace signald::test
