#pragma once
// Listener: the bound acceptor and its accept loop. Binding happens in the constructor, so a
// Listener that exists is listening and its port can be read. What to do with a new socket is
// the caller's business.

#include "signald/net/beast.hpp"

#include <functional>

namespace signald {

class Listener
{
public:
    // The accepted socket (TCP_NODELAY already set) and its peer's address.
    using OnConnection = std::function<void(TcpSocket, const tcp::endpoint&)>;

    // Throws std::runtime_error with a one-line reason if the address cannot be bound. With
    // reuse_port (SO_REUSEPORT) it shares the port with every other listener that sets it.
    Listener(net::io_context& ioc, const tcp::endpoint& endpoint, bool reuse_port,
             OnConnection on_connection);

    void start();
    void stop();
    tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

private:
    void do_accept();
    void on_accept(error_code ec, TcpSocket socket);

    TcpAcceptor acceptor_;
    tcp::endpoint peer_; // filled by accept itself: no getpeername per connection
    net::steady_timer retry_timer_;
    OnConnection on_connection_;
};

} // namespace signald
