#include "signald/net/ws_socket_session.hpp"

#include "signald/net/socket_io.hpp"

namespace signald {

WsSocketSession::WsSocketSession(TcpSocket socket, WsHost& host, std::string peer_address,
                                 Admission admission, bool over_tls)
    : socket_(std::move(socket)), connection_(host, *this, std::move(peer_address), over_tls),
      admission_(std::move(admission))
{}

void WsSocketSession::start(std::string early)
{
    connection_.start(connection_.host().attach(weak_from_this()), WsConnection::Clock::now());
    if (!early.empty()) {
        connection_.receive(early, WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    wait_readable();
}

void WsSocketSession::wait_readable()
{
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void WsSocketSession::on_readable(error_code ec)
{
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    const std::span<char> shared = connection_.host().read_buffer();
    const std::span<char> space = read_space(shared);
    const std::size_t bytes = receive_now(socket_.native_handle(), space, ec);
    if (ec == net::error::would_block)
        return wait_readable();
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    // While lingering after the close, what still arrives is read only to be thrown away.
    if (!connection_.lingering() && !take_in(space.first(bytes), shared))
        return;
    if (bytes < space.size()) {
        // Drained: anything arriving after the read above raises a new readiness event, which
        // the single-threaded loop can only deliver after this wait is registered.
        return wait_readable();
    }
    // More may be waiting; let other connections have a turn first.
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

void WsSocketSession::wait_writable(std::size_t in_flight)
{
    connection_.write_pending(in_flight);
    socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](error_code ec) {
        if (ec)
            return self->connection_.write_failed();
        self->connection_.write_done();
        self->write_now();
    });
}

void WsSocketSession::write_soon()
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

void WsSocketSession::cut()
{
    error_code ignored;
    socket_.close(ignored);
    if (close_timer_)
        close_timer_->cancel();
}

void WsSocketSession::arm_close_deadline()
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

void WsSocketSession::post_detach()
{
    net::post(socket_.get_executor(),
              [self = shared_from_this()] { self->connection_.slow_consumer_detach(); });
}

} // namespace signald
