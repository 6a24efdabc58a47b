#pragma once
// BasicWsClient: the synchronous WebSocket client of the integration tests, over a plain TCP
// stream (WsClient, ws_client.hpp) or a TLS one (WssClient, tls_client.hpp). It owns its own
// io_context and one connection; every blocking call runs the io_context against a deadline, so
// nothing waits forever and nothing sleeps. A read is always outstanding, so messages, pings and
// the close frame are taken in as they arrive and a timed-out wait never disturbs the stream.
// Use it from one thread at a time. Its members are compiled once, in basic_ws_client.cpp, for
// exactly those two streams; a test never instantiates the Beast code itself.

#include "tls_trust.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace signald::test {

using namespace std::chrono_literals;

using Headers = std::vector<std::pair<std::string, std::string>>;

// How the connection ended, as seen by the outstanding read.
struct CloseInfo
{
    bool got_close_frame = false; // a close frame arrived (code is then meaningful)
    std::uint16_t code = 0;
    std::string reason;
    std::string error; // the read's error text, e.g. "end of stream" for a drop without a frame
};

// A close for failure messages: "close frame 1008 (reason)" or "no close frame (error)".
std::string describe(const CloseInfo& info);
// text, cut to limit bytes with its full size noted, for failure messages.
std::string excerpt(std::string_view text, std::size_t limit = 200);

// NextLayer is what the WebSocket runs over: boost::beast::tcp_stream, or an ssl_stream over one.
template <class NextLayer>
class BasicWsClient
{
public:
    using Duration = std::chrono::milliseconds;
    static constexpr bool over_tls = !std::is_same_v<NextLayer, boost::beast::tcp_stream>;

    BasicWsClient() requires(!over_tls);
    // Verifies the server against trust (tls_client.hpp) during connect.
    explicit BasicWsClient(TlsTrust trust) requires(over_tls);
    ~BasicWsClient();
    BasicWsClient(const BasicWsClient&) = delete;
    BasicWsClient& operator=(const BasicWsClient&) = delete;

    // Opens a connection to 127.0.0.1:port (then the TLS handshake, over TLS) and performs the
    // upgrade; throws on failure.
    void connect(std::uint16_t port, std::string_view target = "/ws", const Headers& extra = {},
                 Duration timeout = 5s);
    // Before connect: connect from this local address (e.g. "127.0.0.2") instead of the default.
    void bind_local(std::string_view address);
    // As connect, but reports the upgrade response status instead of throwing when the server
    // declines (101 on success). Throws only on transport (or TLS) failure or timeout.
    unsigned try_connect(std::uint16_t port, std::string_view target = "/ws",
                         const Headers& extra = {}, Duration timeout = 5s);

    void send_text(std::string_view text, Duration timeout = 5s);
    void send_json(const nlohmann::json& message, Duration timeout = 5s);
    void send_binary(std::string_view bytes, Duration timeout = 5s);
    // Bytes written as they are into the stream below the WebSocket, past Beast's framing: frames
    // made with encode_frame (fragments, a ping between them). Not while the server may be
    // pinging us: Beast's pong could interleave with these bytes.
    void send_raw(std::string_view frames, Duration timeout = 5s);
    void ping(std::string_view payload, Duration timeout = 5s);

    // The next text message, or nullopt if none arrives in time or the connection has ended.
    std::optional<std::string> next_text(Duration timeout = 2s);
    // The next message parsed as JSON; throws if none arrives in time or it is not JSON.
    nlohmann::json next_json(Duration timeout = 2s);
    // Pong payloads received, oldest first; waits until at least count have arrived.
    const std::vector<std::string>& wait_pongs(std::size_t count, Duration timeout = 2s);

    // Waits for the connection to end; nullopt if it is still open at the deadline. Messages that
    // arrive first are discarded (counted in discarded_before_close()).
    std::optional<CloseInfo> wait_close(Duration timeout = 2s);
    // Succeeds when a close frame with code arrives within timeout.
    ::testing::AssertionResult expect_close(std::uint16_t code, Duration timeout = 2s);
    // Succeeds when nothing arrives (and the connection stays open) for the whole duration.
    ::testing::AssertionResult expect_silence(Duration duration = 200ms);

    // Starts the closing handshake with code and waits for the server's close frame; returns the
    // code the server answered with (nullopt if none came).
    std::optional<std::uint16_t> close(std::uint16_t code = 1000, Duration timeout = 2s);
    // Ends the TCP connection without a close frame. With reset, SO_LINGER 0 makes it an RST.
    void drop(bool reset = false);

    // Sends join and returns the clientId from `joined`, which must be the next message.
    std::string join(std::string_view room_id, std::optional<std::string_view> name = std::nullopt,
                     Duration timeout = 2s);

    bool is_open() const { return connected_ && !ended_; }
    std::size_t discarded_before_close() const { return discarded_before_close_; }
    // Text messages received but not yet taken.
    std::size_t pending() const { return inbox_.size(); }
    // Pings received from the server so far (Beast answers each with a pong while reading, i.e.
    // while this client's calls run its io_context).
    std::size_t pings_received() const { return pings_received_; }

private:
    using Clock = std::chrono::steady_clock;

    void count_control_frames();
    void do_read();
    void on_read(boost::beast::error_code ec);
    void write(std::string_view bytes, bool binary, Duration timeout);
    // Runs the io_context until done() or the deadline; returns done().
    template <class Done>
    bool run_until(Done done, Clock::time_point deadline);
    void shut_down_socket(bool reset);
    // One connect, handshake, write, ping or close at a time: start(handler) begins it, and the
    // handler records the result in op_pending_ and op_error_. Throws on timeout or failure.
    template <class Start>
    void run_op(std::string_view what, Clock::time_point deadline, Start start);
    void start_op();
    void finish_op(boost::beast::error_code ec);
    void finish_or_throw(std::string_view what, Clock::time_point deadline);

    TlsTrust trust_; // over TLS only
    boost::asio::io_context ioc_;
    std::unique_ptr<boost::asio::ssl::context> tls_context_; // over TLS only; outlives ws_
    boost::beast::websocket::stream<NextLayer> ws_;
    boost::beast::flat_buffer read_buffer_;
    std::string write_buffer_;
    std::deque<std::string> inbox_;
    std::vector<std::string> pongs_;
    bool connected_ = false;
    bool reading_ = false;
    bool op_pending_ = false;
    boost::beast::error_code op_error_;
    bool ended_ = false;
    CloseInfo close_info_;
    std::size_t discarded_before_close_ = 0;
    std::size_t pings_received_ = 0;
};

} // namespace signald::test
