#pragma once
// WsClient: a synchronous WebSocket client for integration tests. It owns its own io_context and
// one connection; every blocking call runs the io_context against a deadline, so nothing waits
// forever and nothing sleeps. A read is always outstanding, so messages, pings and the close
// frame are taken in as they arrive and a timed-out wait never disturbs the stream.
// Use it from one thread at a time.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// What WsClient and WssClient (tls_client.hpp) share: the same checks and messages over a plain
// or a TLS stream.
// A close for failure messages: "close frame 1008 (reason)" or "no close frame (error)".
std::string describe(const CloseInfo& info);
// text, cut to limit bytes with its full size noted, for failure messages.
std::string excerpt(std::string_view text, std::size_t limit = 200);
// A received text taken as JSON; throws when there is none (saying why) or it is not JSON.
nlohmann::json parse_received(const std::optional<std::string>& text, bool ended,
                              const CloseInfo& info, std::chrono::milliseconds waited);
nlohmann::json join_request(std::string_view room_id, std::optional<std::string_view> name);
// The clientId in reply, which must be `joined` for room_id; throws otherwise.
std::string joined_client_id(const nlohmann::json& reply, std::string_view room_id);
// Silence held when nothing was received and the connection is still open.
::testing::AssertionResult silence_held(const std::deque<std::string>& inbox, bool ended,
                                        const CloseInfo& info);

class WsClient
{
public:
    using Duration = std::chrono::milliseconds;

    WsClient();
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Opens a connection to 127.0.0.1:port and performs the upgrade; throws on failure.
    void connect(std::uint16_t port, std::string_view target = "/ws", const Headers& extra = {},
                 Duration timeout = 5s);
    // Before connect: connect from this local address (e.g. "127.0.0.2") instead of the default.
    void bind_local(std::string_view address);
    // As connect, but reports the upgrade response status instead of throwing when the server
    // declines (101 on success). Throws only on transport failure or timeout.
    unsigned try_connect(std::uint16_t port, std::string_view target = "/ws",
                         const Headers& extra = {}, Duration timeout = 5s);

    void send_text(std::string_view text, Duration timeout = 5s);
    void send_json(const nlohmann::json& message, Duration timeout = 5s);
    void send_binary(std::string_view bytes, Duration timeout = 5s);

    // The next text message, or nullopt if none arrives in time or the connection has ended.
    std::optional<std::string> next_text(Duration timeout = 2s);
    // The next message parsed as JSON; throws if none arrives in time or it is not JSON.
    nlohmann::json next_json(Duration timeout = 2s);

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
    // Pings received from the server so far (Beast answers each with a pong while reading).
    std::size_t pings_received() const { return pings_received_; }

private:
    using Clock = std::chrono::steady_clock;

    void do_read();
    void on_read(boost::beast::error_code ec);
    void write(std::string_view bytes, bool binary, Duration timeout);
    // Runs the io_context until done() or the deadline; returns done().
    template <class Done>
    bool run_until(Done done, Clock::time_point deadline);
    void shut_down_socket(bool reset);
    // One connect, handshake, write or close at a time; its handler records the result here.
    void start_op();
    void finish_op(boost::beast::error_code ec);
    void finish_or_throw(std::string_view what, Clock::time_point deadline);

    boost::asio::io_context ioc_;
    boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
    boost::beast::flat_buffer read_buffer_;
    std::string write_buffer_;
    std::deque<std::string> inbox_;
    bool connected_ = false;
    bool reading_ = false;
    bool op_pending_ = false;
    boost::beast::error_code op_error_;
    bool ended_ = false;
    CloseInfo close_info_;
    std::size_t discarded_before_close_ = 0;
    std::size_t pings_received_ = 0;
};

// Frame opcodes (RFC 6455 5.2), for RawWsClient::send_frame and Frame::opcode.
namespace opcode {
inline constexpr std::uint8_t continuation = 0x0;
inline constexpr std::uint8_t text = 0x1;
inline constexpr std::uint8_t binary = 0x2;
inline constexpr std::uint8_t close = 0x8;
inline constexpr std::uint8_t ping = 0x9;
inline constexpr std::uint8_t pong = 0xa;
} // namespace opcode

// How RawWsClient::send_frame builds a frame. The defaults make a correct single client frame;
// each field lets a test break one rule (set it on a copy: GCC warns about partial designated
// initializers under -Wextra).
struct FrameOptions
{
    bool fin = true;
    bool masked = true;   // clients must mask (RFC 6455 5.3)
    std::uint8_t rsv = 0; // RSV1..3 as bits 2..0 (4 = RSV1)
    std::array<std::uint8_t, 4> mask_key{0x37, 0xfa, 0x21, 0x3d}; // any key will do
    // The payload length written in the header, when it must differ from the payload's size (a
    // header that announces more than is sent). Its encoding is still the shortest that fits.
    std::optional<std::uint64_t> declared_length;
};

// One client frame, byte for byte as RawWsClient::send_frame would send it; concatenate several
// to put them in one write.
std::string encode_frame(std::uint8_t opcode, std::string_view payload,
                         const FrameOptions& options = {});

// RawWsClient: a WebSocket peer that does only what the test says. It completes the upgrade by
// hand on a plain socket and afterwards reads nothing unless asked, so it never answers a ping
// and, with a small receive buffer, makes the server's writes to it back up: a dead or stalled
// peer. Every call has a deadline.
class RawWsClient
{
public:
    using Duration = std::chrono::milliseconds;

    // A frame from the server (servers never mask).
    struct Frame
    {
        std::uint8_t opcode = 0; // 0x1 text, 0x8 close, 0x9 ping, ...
        std::string payload;     // unmasked
        bool fin = true;
        std::uint8_t rsv = 0;        // RSV1..3 as bits 2..0; 0 unless an extension is in use
        bool masked = false;         // servers must not mask (RFC 6455 5.1)
        std::size_t header_size = 0; // 2, 4 or 10 bytes (plus 4 when masked)
    };
    // What drain() saw: every complete frame, and whether the server ended the connection.
    struct Drained
    {
        std::vector<Frame> frames;
        bool ended = false;
        std::string error; // "" for a clean end of stream
        std::size_t count(std::uint8_t opcode) const;
    };

    RawWsClient();
    ~RawWsClient();
    RawWsClient(const RawWsClient&) = delete;
    RawWsClient& operator=(const RawWsClient&) = delete;

    // Before connect: SO_RCVBUF in bytes (the kernel rounds it up to its minimum), set before the
    // handshake so the advertised window is small from the first byte.
    void set_receive_buffer(int bytes);
    // Before connect: connect from this local address (e.g. "127.0.0.2").
    void bind_local(const std::string& address);

    // Connects to 127.0.0.1:port and sends the upgrade request with extra headers; returns the
    // response status (101 on success). Throws on transport failure or timeout.
    unsigned try_connect(std::uint16_t port, const Headers& extra = {}, Duration timeout = 5s);
    void connect(std::uint16_t port, const Headers& extra = {}, Duration timeout = 5s);
    // As try_connect, but pipelined goes out in the same write as the upgrade request, right
    // behind it (e.g. the first frame, before the 101 has been seen).
    unsigned try_connect_pipelined(std::uint16_t port, std::string_view pipelined,
                                   const Headers& extra = {}, Duration timeout = 5s);
    // Before or after connect: TCP_NODELAY, so each send leaves as its own segment.
    void set_no_delay();

    // Sends one masked text frame.
    void send_text(std::string_view text, Duration timeout = 5s);
    // Sends one frame built by encode_frame.
    void send_frame(std::uint8_t opcode, std::string_view payload, const FrameOptions& options = {},
                    Duration timeout = 5s);
    // Sends bytes exactly as given, in one send where the socket takes them.
    void send_bytes(std::string_view bytes, Duration timeout = 5s);

    // The next complete frame from the server; nullopt if none is complete by the deadline or the
    // connection has ended (see ended()). Unlike drain, it stops at one frame.
    std::optional<Frame> next_frame(Duration timeout = 2s);
    // Reads until the server ends the connection or the deadline passes.
    Drained drain(Duration timeout);
    // Whether a read has seen the server end the connection, and with which error ("" for a
    // clean end of stream).
    bool ended() const { return ended_; }
    const std::string& end_error() const { return end_error_; }

    // Closes the socket: the end of the connection from this side (a FIN, or an RST if unread
    // data is left). Nothing can be sent or read afterwards.
    void close_socket();

private:
    unsigned upgrade(std::uint16_t port, const Headers& extra, std::string_view pipelined,
                     Duration timeout);
    void send_all(std::string_view bytes, std::chrono::steady_clock::time_point deadline);
    // Appends what has arrived to received_, or marks drained ended; false at the deadline.
    bool receive_some(std::chrono::steady_clock::time_point deadline, Drained* drained);

    int fd_ = -1;
    std::string received_; // bytes read but not yet parsed into frames
    bool ended_ = false;
    std::string end_error_;
};

// The raw text of the top-level member key of the JSON object text (the last one, if repeated),
// without surrounding whitespace; nullopt if absent or text is not an object. Iterative, so any
// nesting depth is fine. Used to compare forwarded `data` byte for byte.
std::optional<std::string_view> raw_member(std::string_view text, std::string_view key);

} // namespace signald::test
