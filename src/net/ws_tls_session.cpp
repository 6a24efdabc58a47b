#include "signald/net/ws_tls_session.hpp"

namespace signald {
namespace {

// Every TLS session holds this for its whole life, idle or not. Most signaling messages fit; the
// rest of a longer record waits inside OpenSSL and comes out over the next reads. (A whole
// 16 KiB record per read cost 9 KB more per idle connection: bench/README.md, "TLS".)
constexpr std::size_t read_buffer_bytes = std::size_t{4} * 1024;

} // namespace

WsTlsSession::WsTlsSession(TlsStream stream, WsHost& host, std::string peer_address,
                           Admission admission)
    : stream_(std::move(stream)), host_(host), admission_(std::move(admission)),
      connection_(host, *this, std::move(peer_address), true)
{}

void WsTlsSession::start(std::string early)
{
    connection_.start(host_.attach(weak_from_this()), WsConnection::Clock::now());
    if (!early.empty()) {
        connection_.receive(early, WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    read_buffer_ = std::make_unique<char[]>(read_buffer_bytes);
    do_read();
}

void WsTlsSession::do_read()
{
    stream_.async_read_some(net::buffer(read_buffer_.get(), read_buffer_bytes),
                            beast::bind_front_handler(&WsTlsSession::on_read, shared_from_this()));
}

void WsTlsSession::on_read(error_code ec, std::size_t bytes)
{
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    if (!connection_.lingering()) {
        connection_.receive(std::span<char>(read_buffer_.get(), bytes), WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    do_read();
}

void WsTlsSession::write_soon()
{
    if (connection_.writing() || flush_posted_)
        return;
    flush_posted_ = true;
    net::post(socket().get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        if (!self->connection_.writing())
            self->write_now();
    });
}

void WsTlsSession::write_now()
{
    if (connection_.writing())
        return;
    if (connection_.unsent().empty())
        return connection_.drained();
    writing_.assign(connection_.unsent());
    connection_.written(writing_.size());
    connection_.write_pending(writing_.size());
    net::async_write(stream_, net::buffer(writing_),
                     [self = shared_from_this()](error_code ec, std::size_t) {
                         std::string().swap(self->writing_);
                         if (ec)
                             return self->connection_.write_failed();
                         self->connection_.write_done();
                         self->write_now();
                     });
}

void WsTlsSession::shut_down()
{
    // close_notify, then the peer's; the close deadline bounds a peer that never answers.
    stream_.async_shutdown(
        [self = shared_from_this()](error_code) { self->connection_.shut_down_done(); });
}

void WsTlsSession::cut()
{
    error_code ignored;
    socket().close(ignored);
    if (close_timer_)
        close_timer_->cancel();
}

void WsTlsSession::arm_close_deadline()
{
    if (close_timer_)
        return;
    close_timer_ =
        std::make_unique<net::steady_timer>(socket().get_executor(), WsConnection::close_deadline);
    close_timer_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec)
            self->connection_.close_deadline_passed();
    });
}

void WsTlsSession::post_detach()
{
    net::post(socket().get_executor(),
              [self = shared_from_this()] { self->connection_.slow_consumer_detach(); });
}

} // namespace signald
