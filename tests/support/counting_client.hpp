#pragma once
// CountingClient: a member as a resuming client sees it, for the session-resume tests. Over a
// RawWsClient, so nothing happens that the test did not ask for: pings are recorded and never
// answered (what the server sent stays unacknowledged) until the test sends a pong, and the
// connection can end with an RST, a FIN, or a FIN in the middle of a frame. It counts the text
// messages it takes after the `joined` or `resumed` that gave it its resumeToken: the N of a later
// `resume`.

#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {

class CountingClient
{
public:
    using Duration = std::chrono::milliseconds;

    // Connects to 127.0.0.1:port and completes the upgrade; throws on failure. A non-zero
    // receive_buffer_bytes sets SO_RCVBUF first, so a client that stops reading backs up soon.
    explicit CountingClient(std::uint16_t port, int receive_buffer_bytes = 0);

    void send_json(const nlohmann::json& message);
    void send_text(std::string_view text);
    // Sends join and returns the reply, which must be `joined` (throws otherwise).
    nlohmann::json join(std::string_view room_id, std::optional<std::string_view> name = {});
    // Sends {"action":"resume","token":token,"received":received} and returns the reply.
    nlohmann::json resume(std::string_view token, std::uint64_t received);

    // The next text message as JSON. Pings arriving first are recorded, not answered. Throws if
    // none arrives in time, or the connection ends (saying how).
    nlohmann::json next_json(Duration timeout = 2s);
    // Succeeds when no text message arrives and the connection stays open for the duration.
    ::testing::AssertionResult expect_silence(Duration duration = 200ms);
    // Waits for a ping, then takes whatever else has already arrived, and returns the payload
    // of the newest ping (forgetting older ones): the one a pong must echo to acknowledge
    // anything. Text arriving meanwhile waits for next_json. nullopt if no ping arrives in time.
    std::optional<std::string> wait_latest_ping(Duration timeout);
    // Forgets the pings taken so far: the next wait_latest_ping returns one sent after every
    // text message taken until now.
    void discard_pings() { pings_.clear(); }
    // A pong with this payload, whether or not a ping asked for it.
    void pong(std::string_view payload);

    // How the server ended the connection: its close frame, if any, and whether TCP ended too.
    struct Ending
    {
        bool got_close_frame = false;
        std::uint16_t code = 0;
        std::string reason;
        bool ended = false; // the server ended TCP within the wait
    };
    // Reads (counting and then discarding text) until the server's close frame and the end of
    // TCP, or the deadline.
    Ending wait_close(Duration timeout = 2s);

    // Ends the connection without a close frame: an RST, or a FIN.
    void reset() { raw_.reset_socket(); }
    void fin() { raw_.shut_down_sending(); }
    RawWsClient& raw() { return raw_; }

    // Text messages taken since the latest joined/resumed that carried a resumeToken.
    std::uint64_t received() const { return received_; }
    // The latest resumeToken received ("" before any), and the clientId of the latest
    // joined/resumed.
    const std::string& token() const { return token_; }
    const std::string& client_id() const { return client_id_; }
    // Every text message received on this connection, in order (for "never sent to others").
    const std::vector<std::string>& texts() const { return texts_; }

private:
    // Takes the next frame off the socket into inbox_ or the ping list; false if none came.
    bool take_one(std::chrono::steady_clock::time_point deadline);

    RawWsClient raw_;
    std::deque<std::string> inbox_;
    std::deque<std::string> pings_;
    std::vector<std::string> texts_;
    std::optional<Ending> close_;
    std::uint64_t received_ = 0;
    std::string token_;
    std::string client_id_;
};

} // namespace signald::test
