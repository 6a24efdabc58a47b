#include "signald/net/ws_plain_session.hpp"

#include "signald/net/socket_io.hpp"

namespace signald {

WsPlainSession::WsPlainSession(TcpSocket socket, WsHost& host, std::string peer_address,
                               Admission admission)
    : socket_(std::move(socket)), host_(host), admission_(std::move(admission)),
      connection_(host, *this, std::move(peer_address), false)
{}

void WsPlainSession::start(std::string early)
{
    connection_.start(host_.attach(weak_from_this()), WsConnection::Clock::now());
    if (!early.empty()) {
        connection_.receive(early, WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    wait_readable();
}

void WsPlainSession::wait_readable()
{
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void WsPlainSession::on_readable(error_code ec)
{
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    const std::span<char> buffer = host_.read_buffer();
    const std::size_t bytes = receive_now(socket_.native_handle(), buffer, ec);
    if (ec == net::error::would_block)
        return wait_readable();
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    // While lingering after the close, what still arrives is read only to be thrown away.
    if (!connection_.lingering()) {
        connection_.receive(buffer.first(bytes), WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    if (bytes < buffer.size()) {
        // Drained: anything arriving after the read above raises a new readiness event, which
        // the single-threaded loop can only deliver after this wait is registered.
        return wait_readable();
    }
    // More may be waiting; let other connections have a turn first.
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

void WsPlainSession::write_soon()
{
    if (connection_.writing() || flush_posted_)
        return;
    flush_posted_ = true;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        if (!self->connection_.writing())
            self->write_now();
    });
}

void WsPlainSession::write_now()
{
    while (!connection_.unsent().empty()) {
        error_code ec;
        const std::string_view bytes = connection_.unsent();
        const std::size_t written = send_now(socket_.native_handle(), bytes, ec);
        if (ec == net::error::would_block)
            break;
        if (ec)
            return connection_.write_failed();
        connection_.written(written);
    }
    if (!connection_.unsent().empty()) {
        // The kernel's buffer is full: write the rest when the peer has read some.
        connection_.write_pending(0);
        socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](error_code ec) {
            if (ec)
                return self->connection_.write_failed();
            self->connection_.write_done();
            self->write_now();
        });
        return;
    }
    connection_.drained();
}

void WsPlainSession::shut_down()
{
    // The server ends the TCP connection first (RFC 6455 7.1.1). Closing the socket while the
    // peer's bytes sit unread would send a reset that can destroy our close frame before the peer
    // reads it, so send FIN and read until the peer's FIN (or the close deadline).
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    wait_readable();
}

void WsPlainSession::cut()
{
    error_code ignored;
    socket_.close(ignored);
    if (close_timer_)
        close_timer_->cancel();
}

void WsPlainSession::arm_close_deadline()
{
    if (close_timer_)
        return;
    close_timer_ =
        std::make_unique<net::steady_timer>(socket_.get_executor(), WsConnection::close_deadline);
    close_timer_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec)
            self->connection_.close_deadline_passed();
    });
}

void WsPlainSession::post_detach()
{
    net::post(socket_.get_executor(),
              [self = shared_from_this()] { self->connection_.slow_consumer_detach(); });
}

} // namespace signald
