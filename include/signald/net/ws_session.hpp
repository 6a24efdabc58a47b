#pragma once
// WsSession: one WebSocket connection after the upgrade. Hands each text message to its WsHost and
// writes what it is given; it knows nothing of rooms.
//
// Reading (plain TCP): no buffer of its own. It waits for the socket to become readable, then
// reads into the server's one shared buffer and keeps only a frame cut off at the end of it, so
// an idle connection holds no read memory. Over TLS, OpenSSL keeps decrypted records of its own,
// so readiness of the socket says little: a TLS session reads with async_read_some into a buffer
// of its own.
// Writing: frames are appended to a byte queue, and one flush (posted, so that everything queued
// by the handlers already waiting is included) writes them all with one system call. The queue
// holds only what the kernel would not take; over --max-queue-bytes marks a slow consumer.
//
// Lifetime: kept alive only by its pending handlers. detach() runs once, as soon as the
// connection is finished for the hub (a close frame either way, an error, end of stream, or a
// slow consumer), even while a stalled write still holds the object.

#include "signald/core/ids.hpp"
#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/metrics.hpp"
#include "signald/net/ws_frames.hpp"
#include "signald/net/ws_host.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <type_traits>

namespace signald {

// Stream: tcp::socket, or TlsStream for WSS.
template <class Stream>
class WsSession final : public Connection,
                        private WsEvents,
                        public std::enable_shared_from_this<WsSession<Stream>>
{
public:
    WsSession(Stream stream, WsHost& host, std::string peer_address, Admission admission);

    // Attaches to the hub and starts reading. early: bytes that arrived behind the upgrade
    // request, in the same read.
    void start(std::string early);

    void send(const Text& text) override;
    void close(std::uint16_t code) override;
    void keepalive(std::chrono::steady_clock::time_point now) override;

private:
    using Clock = std::chrono::steady_clock;
    static constexpr bool tls = !std::is_same_v<Stream, tcp::socket>;

    tcp::socket& socket();

    void wait_readable();
    void on_readable(error_code ec);
    void on_tls_read(error_code ec, std::size_t bytes);
    // Feeds bytes to the receiver; false once nothing more is to be read.
    bool consume(std::span<char> bytes);
    void end_of_input(const error_code& ec);

    void on_text(std::string_view text) override;
    void on_ping(std::string_view payload) override;
    void on_pong() override {}
    void on_close(std::uint16_t code, std::string_view reason) override;

    // Fails the connection: close frame with code, then the socket is shut.
    void fail(std::uint16_t code);
    // Queues a close frame behind whatever is queued; nothing is sent after it.
    void queue_close(std::uint16_t code);
    // Writes the queue after the handlers already waiting have added theirs: one system call
    // for a whole batch.
    void schedule_flush();
    // Hands the kernel all it takes now, and waits for room for the rest.
    void write_now();
    void arm_close_deadline();
    // Ends the connection after the close frames: FIN, then wait for the peer's.
    void finish();
    // Cuts the TCP connection: every pending operation fails.
    void drop();
    void detach(std::string_view why);
    // Counts how the connection ended, the first time only: the side that ended it first.
    void count_close(ClosedBy by, std::uint16_t code);
    // Reports the queue's depth after an append, for the high-water mark.
    void queued();

    Stream stream_;
    WsHost& host_;
    std::string peer_address_;
    Admission admission_;
    ClientId id_;
    WsReceiver receiver_;
    OutboundFrames out_;
    std::string tls_writing_;                        // TLS only: the bytes of the write in flight
    std::unique_ptr<char[]> tls_read_buffer_;        // TLS only
    std::unique_ptr<net::steady_timer> close_timer_; // only once closing: idle sockets pay nothing
    Clock::time_point last_heard_;
    Clock::time_point last_ping_;
    std::uint16_t close_code_ = 0; // the code we closed with, 0 if we did not start the close
    bool attached_ = false;
    bool close_counted_ = false;
    bool reading_ = true;  // false once the peer's close, EOF or a broken rule is seen
    bool closing_ = false; // a close frame is queued or sent: no more text goes out
    bool flush_posted_ = false;
    bool awaiting_writable_ = false;
    bool finish_after_write_ = false;
    bool lingering_ = false; // our FIN is sent; reads only wait for the peer's
};

} // namespace signald
