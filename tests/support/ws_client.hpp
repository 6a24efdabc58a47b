#pragma once
// WsClient: the WebSocket test client over plain TCP (BasicWsClient, basic_ws_client.hpp), and
// RawWsClient: a peer that writes frames by hand and reads only when told, for the tests that
// must break the protocol or stall. encode_frame and raw_member serve both.

#include "basic_ws_client.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {

using WsClient = BasicWsClient<boost::beast::tcp_stream>;

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
    // Closes the socket with SO_LINGER 0: an RST whatever is left unread, as when a machine
    // vanishes from the network. Nothing can be sent or read afterwards.
    void reset_socket();
    // shutdown(SHUT_WR): a FIN, and no more sending; what the server still sends can be read.
    void shut_down_sending();

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
