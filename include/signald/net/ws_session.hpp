#pragma once
// WsSession: one WebSocket connection. Reads text frames and hands them to Server, writes what it
// is given through a FIFO with one async_write in flight. It knows nothing of rooms.
//
// Lifetime: kept alive only by its pending handlers. detach() runs once, from the read loop's
// failure, so the member leaves its room as soon as the socket is done, even if a stalled write
// still holds the object.

#include "signald/core/ids.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"

#include <deque>
#include <memory>
#include <string>

namespace signald {

class Server;

template <class Stream>
class WsSession final : public Connection, public std::enable_shared_from_this<WsSession<Stream>>
{
public:
    WsSession(Stream&& stream, Server& server, std::string peer_address);

    // Completes the upgrade that HttpSession read.
    void run(http::request<http::string_body> request);

    void send(const Text& text) override;
    void close(std::uint16_t code) override;

private:
    void on_accept(error_code ec);
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    void do_write();
    void on_write(error_code ec, std::size_t bytes);
    void do_close();
    void on_close(error_code ec);
    void detach(error_code ec);

    websocket::stream<Stream> ws_;
    beast::flat_buffer buffer_;
    Server& server_;
    std::string peer_address_;
    ClientId id_;
    std::deque<Text> outbox_; // front() is in flight while writing_
    bool attached_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool close_started_ = false;
    std::uint16_t close_code_ = 0;
};

} // namespace signald
