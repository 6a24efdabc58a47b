#include "signald/net/ws_session.hpp"

#include "signald/net/server.hpp"

#include <spdlog/spdlog.h>

namespace signald {
namespace {

// A read buffer grows to the largest message seen and would keep that size for the life of the
// connection; idle connections should cost little, so give back anything past this.
constexpr std::size_t keep_read_buffer_bytes = std::size_t{16} * 1024;

// A close frame stuck behind a write the peer never reads would wait forever; after this the
// socket is simply cut.
constexpr std::chrono::seconds close_deadline{2};

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
WsSession<Stream>::WsSession(Stream&& stream, Server& server, std::string peer_address,
                             Admission admission)
    : ws_(std::move(stream)), server_(server), peer_address_(std::move(peer_address)),
      admission_(std::move(admission)), keepalive_timer_(ws_.get_executor()),
      close_timer_(ws_.get_executor())
{}

template <class Stream>
void WsSession<Stream>::run(http::request<http::string_body> request)
{
    // The HTTP timeout no longer applies: keepalive below watches the connection from now on.
    beast::get_lowest_layer(ws_).expires_never();
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.handshake_timeout = server_.options().request_timeout;
    ws_.set_option(timeouts);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
        response.set(http::field::server, "signald/" SIGNALD_VERSION);
    }));
    // Any frame from the peer, pongs included, shows it is alive.
    ws_.control_callback(
        [this](websocket::frame_type, std::string_view) { last_heard_ = Clock::now(); });
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
    last_heard_ = last_ping_ = Clock::now();
    schedule_keepalive();
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
    if (ec) {
        keepalive_timer_.cancel();
        close_timer_.cancel();
        return detach(close_started_ ? "closed by server (" + std::to_string(close_code_) + ")"
                                     : describe_end(ec, ws_.reason()));
    }

    last_heard_ = Clock::now();
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
    const std::size_t limit = server_.options().max_queue_bytes;
    if (outbox_bytes_ + text->size() > limit) {
        // A reader this far behind would make the server hold its backlog forever. Leave the
        // room now (posted: we are inside a fan-out), then close with 1008 if the socket ever
        // drains, or cut it when the close deadline passes.
        server_.reject("slow-consumer", id_,
                       "more than " + std::to_string(limit) + " bytes waiting to be written");
        close(websocket::close_code::policy_error);
        net::post(ws_.get_executor(),
                  [self = this->shared_from_this()] { self->detach("slow consumer (1008)"); });
        return;
    }
    outbox_.push_back(text);
    outbox_bytes_ += text->size();
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
    outbox_bytes_ -= outbox_.front()->size();
    outbox_.pop_front();
    if (ec)
        return drop(); // the read loop notices the dead socket and detaches
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
    close_timer_.expires_after(close_deadline);
    close_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
        if (!ec)
            self->drop();
    });
    // Keep only the frame being written: a close frame may not interleave with it.
    if (writing_) {
        while (outbox_.size() > 1) {
            outbox_bytes_ -= outbox_.back()->size();
            outbox_.pop_back();
        }
    } else {
        do_close();
    }
}

template <class Stream>
void WsSession<Stream>::do_close()
{
    if (close_started_ || !ws_.is_open())
        return;
    close_started_ = true;
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
void WsSession<Stream>::schedule_keepalive()
{
    const auto& options = server_.options();
    keepalive_timer_.expires_at(
        std::min(last_ping_ + options.ping_interval, last_heard_ + options.idle_timeout));
    keepalive_timer_.async_wait(
        beast::bind_front_handler(&WsSession::on_keepalive, this->shared_from_this()));
}

template <class Stream>
void WsSession<Stream>::on_keepalive(error_code ec)
{
    if (ec || !attached_)
        return;
    const auto now = Clock::now();
    const auto& options = server_.options();
    if (now - last_heard_ >= options.idle_timeout) {
        server_.reject("idle-timeout", id_,
                       "nothing heard for " + std::to_string(options.idle_timeout.count()) + " s");
        return drop(); // a silent peer will not answer a close frame either
    }
    if (now - last_ping_ >= options.ping_interval) {
        // Due even when none can go out (the last one still waits behind a stalled write, or we
        // are closing): the next check is an interval away, not an expired timer re-armed in a
        // loop.
        last_ping_ = now;
        if (!pinging_ && !closing_) {
            pinging_ = true;
            // Beast allows one ping in flight; the flag covers the write, the pong is a frame.
            ws_.async_ping(
                {}, [self = this->shared_from_this()](error_code) { self->pinging_ = false; });
        }
    }
    schedule_keepalive();
}

template <class Stream>
void WsSession<Stream>::drop()
{
    closing_ = true;
    error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
}

template <class Stream>
void WsSession<Stream>::detach(std::string why)
{
    if (!attached_)
        return;
    attached_ = false;
    spdlog::info("{} disconnected from {}: {}", id_, peer_address_, why);
    server_.detach(id_);
}

template class WsSession<beast::tcp_stream>;

} // namespace signald
