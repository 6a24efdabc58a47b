#include "signald/net/ws_session.hpp"

#include "signald/net/server.hpp"

#include <spdlog/spdlog.h>

namespace signald {
namespace {

// A read buffer grows to the largest message seen and would keep that size for the life of the
// connection; idle connections should cost little, so give back anything past this.
constexpr std::size_t keep_read_buffer_bytes = std::size_t{16} * 1024;

std::string describe_end(const error_code& ec, const websocket::close_reason& reason)
{
    if (ec == websocket::error::closed)
        return "closed by peer (" + std::to_string(reason.code) + ")";
    if (ec == websocket::error::message_too_big)
        return "message too big (1009)";
    if (ec == websocket::error::bad_frame_payload)
        return "invalid UTF-8 (1007)";
    return ec.message();
}

} // namespace

template <class Stream>
WsSession<Stream>::WsSession(Stream&& stream, Server& server, std::string peer_address)
    : ws_(std::move(stream)), server_(server), peer_address_(std::move(peer_address))
{}

template <class Stream>
void WsSession<Stream>::run(http::request<http::string_body> request)
{
    // The HTTP timeout no longer applies; the WebSocket has its own handshake timeout.
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
        response.set(http::field::server, "signald/" SIGNALD_VERSION);
    }));
    ws_.read_message_max(server_.options().max_message_bytes);
    ws_.text(true);
    ws_.async_accept(request,
                     beast::bind_front_handler(&WsSession::on_accept, this->shared_from_this()));
}

template <class Stream>
void WsSession<Stream>::on_accept(error_code ec)
{
    if (ec) {
        spdlog::debug("{} WebSocket handshake failed: {}", peer_address_, ec.message());
        return;
    }
    id_ = server_.attach(this->weak_from_this());
    attached_ = true;
    spdlog::info("{} connected from {}", id_, peer_address_);
    do_read();
}

template <class Stream>
void WsSession<Stream>::do_read()
{
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&WsSession::on_read, this->shared_from_this()));
}

template <class Stream>
void WsSession<Stream>::on_read(error_code ec, std::size_t)
{
    if (ec)
        return detach(ec); // the one place a session leaves: every ending passes through here

    if (ws_.got_binary()) {
        close(websocket::close_code::unknown_data); // keep reading until the close completes
    } else if (!closing_) {
        const auto data = buffer_.cdata();
        server_.on_text(id_, std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer_.consume(buffer_.size());
    if (buffer_.capacity() > keep_read_buffer_bytes)
        buffer_.shrink_to_fit();
    do_read();
}

template <class Stream>
void WsSession<Stream>::send(const Text& text)
{
    if (closing_)
        return;
    outbox_.push_back(text);
    if (!writing_)
        do_write();
}

template <class Stream>
void WsSession<Stream>::do_write()
{
    writing_ = true;
    ws_.async_write(net::buffer(*outbox_.front()),
                    beast::bind_front_handler(&WsSession::on_write, this->shared_from_this()));
}

template <class Stream>
void WsSession<Stream>::on_write(error_code ec, std::size_t)
{
    writing_ = false;
    outbox_.pop_front();
    if (ec) {
        // The read loop notices the dead socket and detaches; make sure it does promptly.
        outbox_.clear();
        closing_ = true;
        error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
        return;
    }
    if (closing_)
        return do_close();
    if (!outbox_.empty())
        do_write();
}

template <class Stream>
void WsSession<Stream>::close(std::uint16_t code)
{
    if (closing_)
        return;
    closing_ = true;
    close_code_ = code;
    // Keep only the frame being written: a close frame may not interleave with it.
    if (writing_)
        outbox_.erase(std::next(outbox_.begin()), outbox_.end());
    else
        do_close();
}

template <class Stream>
void WsSession<Stream>::do_close()
{
    if (close_started_ || !ws_.is_open())
        return;
    close_started_ = true;
    outbox_.clear();
    ws_.async_close(websocket::close_reason(close_code_),
                    beast::bind_front_handler(&WsSession::on_close, this->shared_from_this()));
}

template <class Stream>
void WsSession<Stream>::on_close(error_code ec)
{
    if (ec && ec != net::error::operation_aborted)
        spdlog::debug("{} close handshake: {}", id_, ec.message());
}

template <class Stream>
void WsSession<Stream>::detach(error_code ec)
{
    if (!attached_)
        return;
    attached_ = false;
    const std::string why = close_started_
                                ? "closed by server (" + std::to_string(close_code_) + ")"
                                : describe_end(ec, ws_.reason());
    spdlog::info("{} disconnected from {}: {}", id_, peer_address_, why);
    server_.detach(id_);
}

template class WsSession<beast::tcp_stream>;

} // namespace signald
