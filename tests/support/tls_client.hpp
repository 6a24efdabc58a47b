#pragma once
// HTTPS and WSS clients for the TLS tests, built on Beast's ssl_stream. Each owns its io_context
// and one connection to 127.0.0.1; every call has a deadline and nothing sleeps (run_until.hpp).
// By default they verify the server as a browser would: the chain must lead to the given CA and
// the certificate must be for the given host name (also sent as SNI) or address. Without a CA
// they accept any certificate, which is only for looking at the one the server presents.

#include "ws_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {

struct TlsTrust
{
    std::filesystem::path ca_file;  // empty: no verification at all
    std::string host = "localhost"; // a name or an IP address the certificate must cover
};

class HttpsClient
{
public:
    using Duration = std::chrono::milliseconds;
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    explicit HttpsClient(TlsTrust trust);
    ~HttpsClient();
    HttpsClient(const HttpsClient&) = delete;
    HttpsClient& operator=(const HttpsClient&) = delete;

    // TCP connect and TLS handshake; throws on failure or timeout.
    void connect(std::uint16_t port, Duration timeout = 5s);
    // As connect, but a failed handshake is returned (its message) instead of thrown.
    std::optional<std::string> try_connect(std::uint16_t port, Duration timeout = 5s);
    // One request on the connection (Host: <trust host>:<port>); throws if no response arrives.
    Response request(std::string_view method, std::string_view target, Duration timeout = 5s);
    // Bytes exactly as given (e.g. an upgrade request with a frame right behind it), then the
    // response to them, then the raw bytes after it: at least count, all there are.
    void send_raw(std::string_view bytes, Duration timeout = 5s);
    Response read_response(bool head = false, Duration timeout = 5s);
    std::string read_bytes(std::size_t count, Duration timeout = 2s);
    // SHA-256 (AA:BB:...) of the certificate the server presented, and the certificate as PEM.
    std::string peer_fingerprint();
    std::string peer_certificate_pem();

private:
    TlsTrust trust_;
    boost::asio::io_context ioc_;
    boost::asio::ssl::context ctx_;
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
    boost::beast::flat_buffer buffer_;
    std::string write_buffer_;
    std::uint16_t port_ = 0;
};

// A WebSocket client over TLS, as WsClient is over TCP: a read is always outstanding, so
// messages, pings and the close frame are taken in as they arrive.
class WssClient
{
public:
    using Duration = std::chrono::milliseconds;

    explicit WssClient(TlsTrust trust);
    ~WssClient();
    WssClient(const WssClient&) = delete;
    WssClient& operator=(const WssClient&) = delete;

    void connect(std::uint16_t port, std::string_view target = "/ws", Duration timeout = 5s);
    void send_text(std::string_view text, Duration timeout = 5s);
    void send_json(const nlohmann::json& message, Duration timeout = 5s);
    // Bytes written as they are into the TLS stream, past Beast's framing: frames made with
    // encode_frame (fragments, a ping between them). Not while the server may be pinging us:
    // Beast's pong could interleave with these bytes.
    void send_raw(std::string_view frames, Duration timeout = 5s);
    void ping(std::string_view payload, Duration timeout = 5s);

    std::optional<std::string> next_text(Duration timeout = 2s);
    nlohmann::json next_json(Duration timeout = 2s);
    // As WsClient's: join, and the clientId from `joined`, which must be the next message.
    std::string join(std::string_view room_id, std::optional<std::string_view> name = std::nullopt,
                     Duration timeout = 2s);
    // Succeeds when nothing arrives (and the connection stays open) for the whole duration.
    ::testing::AssertionResult expect_silence(Duration duration = 200ms);
    // Pong payloads received, oldest first; waits until at least count have arrived.
    const std::vector<std::string>& wait_pongs(std::size_t count, Duration timeout = 2s);
    // Pings from the server so far (Beast answers each while a read runs, i.e. while this
    // client's calls run its io_context).
    std::size_t pings_received() const { return pings_received_; }

    std::optional<CloseInfo> wait_close(Duration timeout = 2s);
    ::testing::AssertionResult expect_close(std::uint16_t code, Duration timeout = 2s);
    // Starts the closing handshake; returns the code the server answered with.
    std::optional<std::uint16_t> close(std::uint16_t code = 1000, Duration timeout = 2s);

private:
    using Clock = std::chrono::steady_clock;
    using Stream =
        boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

    void do_read();
    template <class Start>
    void write_op(std::string_view what, Clock::time_point deadline, Start start);
    void abort();

    TlsTrust trust_;
    boost::asio::io_context ioc_;
    boost::asio::ssl::context ctx_;
    Stream ws_;
    boost::beast::flat_buffer read_buffer_;
    std::string write_buffer_;
    std::deque<std::string> inbox_;
    std::vector<std::string> pongs_;
    std::size_t pings_received_ = 0;
    bool reading_ = false;
    bool ended_ = false;
    CloseInfo close_info_;
};

} // namespace signald::test
