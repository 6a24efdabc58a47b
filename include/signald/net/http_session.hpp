#pragma once
// HttpSession: one HTTP/1.1 connection until it either closes or upgrades. Serves GET/HEAD from
// StaticSite one request at a time (read, write, read: no pipelining), and hands an upgrade at
// "/" or "/ws" to a WsSession together with the stream. Nothing here outlives the hand-off.

#include "signald/net/beast.hpp"

#include <memory>
#include <optional>
#include <string>

namespace signald {

class Server;

template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>>
{
public:
    HttpSession(Stream&& stream, Server& server, std::string peer_address);
    void run();

private:
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    void respond(const http::request<http::string_body>& request);
    void on_write(bool keep_alive, error_code ec, std::size_t bytes);
    void do_close();

    Stream stream_;
    beast::flat_buffer buffer_;
    Server& server_;
    std::string peer_address_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_; // one request in flight, so one response
};

} // namespace signald
