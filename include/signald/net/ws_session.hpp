#pragma once
// WsSession: one WebSocket connection. Reads text frames and hands them to Server, writes what it
// is given through a FIFO with one async_write in flight and a byte cap, and pings a quiet peer.
// It knows nothing of rooms.
//
// Lifetime: kept alive only by its pending handlers. detach() runs once, from the read loop's
// end or (for a slow consumer) from a posted handler, so the member leaves its room as soon as
// it is done, even while a stalled write still holds the object.

#include "signald/core/ids.hpp"
#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"

#include <chrono>
#include <deque>
#include <memory>
#include <string>

namespace signald {

class Server;

template <class Stream>
class WsSession final : public Connection, public std::enable_shared_from_this<WsSession<Stream>>
{
public:
    WsSession(Stream&& stream, Server& server, std::string peer_address, Admission admission);

    // Completes the upgrade that HttpSession read.
    void run(http::request<http::string_body> request);

    void send(const Text& text) override;
    void close(std::uint16_t code) override;

private:
    using Clock = std::chrono::steady_clock;

    void on_accept(error_code ec);
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    void do_write();
    void on_write(error_code ec, std::size_t bytes);
    void do_close();
    void on_close(error_code ec);
    void schedule_keepalive();
    void on_keepalive(error_code ec);
    // Cuts the TCP connection: every pending operation fails and the read loop ends.
    void drop();
    void detach(std::string why);

    websocket::stream<Stream> ws_;
    beast::flat_buffer buffer_;
    Server& server_;
    std::string peer_address_;
    Admission admission_;
    ClientId id_;
    std::deque<Text> outbox_; // front() is in flight while writing_
    std::size_t outbox_bytes_ = 0;
    net::steady_timer keepalive_timer_;
    net::steady_timer close_timer_;
    Clock::time_point last_heard_;
    Clock::time_point last_ping_;
    bool attached_ = false;
    bool writing_ = false;
    bool pinging_ = false;
    bool closing_ = false;
    bool close_started_ = false;
    std::uint16_t close_code_ = 0;
};

} // namespace signald
