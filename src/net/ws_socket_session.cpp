#include "signald/net/ws_socket_session.hpp"

#include "signald/net/socket_io.hpp"

#include <sys/socket.h>
#include <unistd.h>

namespace signald {

WsSocketSession::WsSocketSession(TcpSocket socket, WsHost& host, std::string peer_address,
                                 Admission admission, bool over_tls)
    : connection_(host, *this, std::move(peer_address), over_tls), admission_(std::move(admission)),
      fd_(socket.release())
{}

WsSocketSession::~WsSocketSession()
{
    // Only when the reactor let go of it without a cut (it was destroyed with the server): the
    // reactor may be gone, and closing the socket takes it out of the epoll set anyway.
    if (fd_ >= 0)
        ::close(fd_);
}

void WsSocketSession::start(std::string early)
{
    // Watcher is a private base: the aliasing constructor names it, sharing our ownership.
    if (const error_code ec =
            reactor().add(fd_, std::shared_ptr<Watcher>(shared_from_this(), this))) {
        // The 101 is sent, but nothing has joined yet: the client sees its connection end and
        // reconnects; everyone else goes on.
        connection_.host().count_refusal("out-of-resources", connection_.peer_address(),
                                         "WebSocket connection dropped, cannot watch its socket: " +
                                             ec.message());
        reactor().close(std::exchange(fd_, -1), *this); // not registered: only closes it
        return;
    }
    connection_.start(connection_.host().attach(weak_from_this()), WsConnection::Clock::now());
    if (!early.empty()) {
        connection_.receive(early, WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    wait_readable();
}

void WsSocketSession::on_ready(bool readable, bool writable, bool ended)
{
    input_ended_ = input_ended_ || ended;
    if (readable) {
        if (read_waiting_) {
            read_waiting_ = false;
            on_readable({});
        } else {
            readable_seen_ = true;
        }
    }
    if (writable && fd_ >= 0) {
        if (write_waiting_) {
            write_waiting_ = false;
            on_writable({});
        } else {
            writable_seen_ = true;
        }
    }
}

void WsSocketSession::wait_for(bool reading)
{
    if (fd_ >= 0 && !(reading ? readable_seen_ : writable_seen_)) {
        // Its next event calls on (on_ready).
        if (reading)
            read_waiting_ = true;
        else
            write_waiting_ = true;
        return;
    }
    // Cut already: the wait ends at once with operation_aborted, as Asio's did. Or the socket
    // became ready while nobody waited: edge-triggered, that was the only word of it.
    const error_code ec = fd_ < 0 ? error_code(net::error::operation_aborted) : error_code();
    if (reading)
        readable_seen_ = false;
    else
        writable_seen_ = false;
    const auto then = reading ? &WsSocketSession::on_readable : &WsSocketSession::on_writable;
    post([self = shared_from_this(), then, ec] { ((*self).*then)(ec); });
}

void WsSocketSession::wait_readable()
{
    wait_for(true);
}

void WsSocketSession::on_readable(error_code ec)
{
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    const std::span<char> shared = connection_.host().read_buffer();
    const std::span<char> space = read_space(shared);
    readable_seen_ = false; // what arrives after this read raises an event of its own
    const std::size_t bytes = receive_now(fd_, space, ec);
    if (ec == net::error::would_block)
        return wait_readable();
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    // While lingering after the close, what still arrives is read only to be thrown away.
    if (!connection_.lingering() && !take_in(space.first(bytes), shared))
        return;
    if (bytes < space.size() && !input_ended_) {
        // Drained: anything arriving after the read above raises a new readiness event, which
        // the single-threaded loop can only deliver after this wait is registered. (A FIN or an
        // error that came with the data is not read with it, and raises no new event: read on.)
        return wait_readable();
    }
    // More may be waiting; let other connections have a turn first.
    post([self = shared_from_this()] { self->on_readable({}); });
}

void WsSocketSession::wait_writable(std::size_t in_flight)
{
    connection_.write_pending(in_flight);
    wait_for(false);
}

void WsSocketSession::on_writable(error_code ec)
{
    if (ec)
        return connection_.write_failed();
    connection_.write_done();
    write_now();
}

std::size_t WsSocketSession::send_bytes(std::string_view bytes, error_code& ec)
{
    if (fd_ < 0) {
        ec = net::error::bad_descriptor;
        return 0;
    }
    writable_seen_ = false; // room made after this send raises an event of its own
    return send_now(fd_, bytes, ec);
}

void WsSocketSession::send_fin()
{
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_WR);
}

void WsSocketSession::write_soon()
{
    if (connection_.writing() || flush_posted_)
        return;
    flush_posted_ = true;
    post([self = shared_from_this()] {
        self->flush_posted_ = false;
        if (!self->connection_.writing())
            self->write_now();
    });
}

void WsSocketSession::cut()
{
    if (fd_ >= 0) {
        reactor().close(fd_, *this);
        fd_ = -1;
    }
    // As when Asio closes a socket: the waits under way end, each with operation_aborted.
    if (read_waiting_) {
        read_waiting_ = false;
        post([self = shared_from_this()] { self->on_readable(net::error::operation_aborted); });
    }
    if (write_waiting_) {
        write_waiting_ = false;
        post([self = shared_from_this()] { self->on_writable(net::error::operation_aborted); });
    }
    if (close_timer_)
        close_timer_->cancel();
}

void WsSocketSession::arm_close_deadline()
{
    if (close_timer_)
        return;
    close_timer_ =
        std::make_unique<net::steady_timer>(reactor().executor(), WsConnection::close_deadline);
    close_timer_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec)
            self->connection_.close_deadline_passed();
    });
}

void WsSocketSession::post_detach()
{
    post([self = shared_from_this()] { self->connection_.slow_consumer_detach(); });
}

} // namespace signald
