#include "signald/net/listener.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace signald {
namespace {

// Out of file descriptors and the like: pause accepting rather than spin on the error.
constexpr std::chrono::milliseconds accept_retry_delay{100};

// Asio has no name for it; its own options are declared exactly like this.
using reuse_port_option = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

} // namespace

Listener::Listener(net::io_context& ioc, const tcp::endpoint& endpoint, bool reuse_port,
                   OnConnection on_connection)
    : acceptor_(ioc), retry_timer_(ioc), on_connection_(std::move(on_connection))
{
    auto fail = [&](const char* step, const error_code& ec) {
        std::string address = endpoint.address().to_string();
        if (endpoint.address().is_v6())
            address = "[" + address + "]";
        throw std::runtime_error("cannot " + std::string(step) + " " + address + ":" +
                                 std::to_string(endpoint.port()) + ": " + ec.message());
    };
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec)
        fail("open a socket for", ec);
    // Lets a restarted daemon bind while old connections sit in TIME_WAIT; on Linux it never
    // lets two listeners share a port, so a taken port still fails below.
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    // --reuse-port: the kernel spreads new connections among every socket bound to the port
    // with it set (same user only), so several nodes share one port. A listener without it
    // still fails below on a port that such nodes hold.
    if (reuse_port) {
        acceptor_.set_option(reuse_port_option(true), ec);
        if (ec)
            fail("set SO_REUSEPORT to listen on", ec);
    }
    // Signaling is many small messages where latency matters; never wait to coalesce them. Set
    // here once: on Linux an accepted socket inherits TCP_NODELAY from its listener, which saves
    // a system call per connection.
    acceptor_.set_option(tcp::no_delay(true), ec);
    acceptor_.bind(endpoint, ec);
    if (ec)
        fail("listen on", ec);
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
        fail("listen on", ec);
}

void Listener::start()
{
    do_accept();
}

void Listener::stop()
{
    error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
}

void Listener::do_accept()
{
    acceptor_.async_accept(
        peer_, [this](error_code ec, TcpSocket socket) { on_accept(ec, std::move(socket)); });
}

void Listener::on_accept(error_code ec, TcpSocket socket)
{
    if (ec == net::error::operation_aborted || !acceptor_.is_open())
        return;
    if (ec) {
        spdlog::warn("accept failed: {}; retrying in {} ms", ec.message(),
                     accept_retry_delay.count());
        retry_timer_.expires_after(accept_retry_delay);
        retry_timer_.async_wait([this](error_code wait_ec) {
            if (!wait_ec)
                do_accept();
        });
        return;
    }
    on_connection_(std::move(socket), peer_);
    do_accept();
}

} // namespace signald
