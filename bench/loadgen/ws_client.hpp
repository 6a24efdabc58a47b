#pragma once
// One generator-side WebSocket connection on a raw tcp::socket: connect (optionally from a
// chosen source address), for wss:// a TLS handshake (OpenSSL through Asio's ssl::stream over the
// same socket; no certificate check, the bench's certificate is a throwaway self-signed one), the
// hand-written upgrade, RFC 6455 framing, a growable read buffer parsed a whole read at a time,
// and an outbox whose frames go out in one write per round. Plain ws:// never touches the TLS
// stream: each read and write picks the stream with one branch (with_stream).
// Scenarios own clients through shared_ptr and hear about them through WsClientEvents; a client
// never knows about rooms or payloads.

#include "clock.hpp"
#include "ws_target.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

class WsClient;

class WsClientEvents
{
public:
    // The upgrade succeeded; the client can send.
    virtual void on_open(WsClient& client) = 0;
    // One complete text message. The bytes are the client's own read buffer: valid until the
    // callback returns, and writable (the self test corrupts them in place).
    virtual void on_text(WsClient& client, std::span<char> text) = 0;
    // The connection ended without close() being asked for: connect or upgrade failure, the
    // server closing, a protocol violation. why is a short description.
    virtual void on_failed(WsClient& client, std::string_view why) = 0;
    // A close() finished: clean when the server answered the close frame and ended the stream,
    // not when the wait for that timed out (or the stream broke first).
    virtual void on_closed(WsClient& /*client*/, bool /*clean*/) {}

protected:
    ~WsClientEvents() = default;
};

class WsClient : public std::enable_shared_from_this<WsClient>
{
public:
    WsClient(boost::asio::io_context& io, WsClientEvents& events, std::size_t index);

    // source may be null: let the kernel choose. key_seed makes Sec-WebSocket-Key reproducible.
    void start(const WsTarget& target, const boost::asio::ip::address* source,
               std::uint64_t key_seed);

    // Frames appended here go out together, after the current handler returns (flush_soon) or
    // at once (flush). Appending never writes by itself.
    std::string& outbox() { return pending_; }
    void send_text(std::string_view payload);
    void flush_soon();
    void flush();

    // Graceful: close frame, then wait (bounded) for the server's reply and end of stream.
    void close();
    // Drops the socket now. No callbacks follow.
    void abort();

    std::size_t index() const { return index_; }
    bool is_open() const { return state_ == State::open; }

    // wss:// only. Before start(): offer session (taken from an earlier connection with
    // tls_session()) for resumption; the caller keeps it alive until start() returns.
    void offer_tls_session(SSL_SESSION* session) { offered_session_ = session; }
    // After on_open: this connection's session, with the ticket the server sent (null without
    // TLS), and whether the handshake resumed the offered one.
    std::shared_ptr<SSL_SESSION> tls_session() const;
    bool tls_resumed() const;
    // When the read that produced the message being delivered completed.
    Clock::time_point read_time() const { return read_time_; }

private:
    enum class State
    {
        connecting,
        tls_handshake,
        upgrading,
        open,
        closing,
        closed
    };

    using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

    // Calls f with the stream the WebSocket bytes go through: the TLS stream or the socket.
    template <class F>
    void with_stream(F&& f)
    {
        if (tls_)
            f(*tls_);
        else
            f(socket_);
    }

    void on_connect(const boost::system::error_code& ec);
    void on_tls_handshake(const boost::system::error_code& ec);
    void begin_upgrade();
    void finish_close(bool clean);
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t bytes);
    void on_write(const boost::system::error_code& ec);

    bool parse_upgrade();
    bool parse_frames();
    bool on_control(std::uint8_t opcode, std::span<char> payload);
    void fail(std::string_view why);

    boost::asio::ip::tcp::socket socket_;
    std::unique_ptr<TlsStream> tls_; // wss:// only; over socket_
    std::string tls_server_name_;    // SNI; empty for an IP address
    SSL_SESSION* offered_session_ = nullptr;
    boost::asio::steady_timer close_timer_;
    WsClientEvents& events_;
    std::size_t index_;
    State state_ = State::connecting;
    std::string expected_accept_;

    // Received bytes live in in_[in_begin_, in_end_); partial frames wait at the front.
    std::vector<char> in_;
    std::size_t in_begin_ = 0;
    std::size_t in_end_ = 0;
    std::size_t read_chunk_;
    std::string fragments_; // a fragmented text message being reassembled (rare)
    bool in_fragmented_ = false;
    Clock::time_point read_time_{};

    std::string pending_;   // frames waiting for the next write
    std::string in_flight_; // frames of the write in progress
    bool writing_ = false;
    bool flush_posted_ = false;
    bool close_received_ = false; // the server's close frame, after ours
};

} // namespace bench
