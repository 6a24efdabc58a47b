#include "signald/net/ws_plain_session.hpp"

namespace signald {

bool WsPlainSession::take_in(std::span<char> bytes, std::span<char>)
{
    connection_.receive(bytes, WsConnection::Clock::now());
    return connection_.reading();
}

void WsPlainSession::write_now()
{
    while (!connection_.unsent().empty()) {
        error_code ec;
        const std::size_t written = send_bytes(connection_.unsent(), ec);
        if (ec == net::error::would_block)
            return wait_writable(0); // the kernel's buffer is full
        if (ec)
            return connection_.write_failed();
        connection_.written(written);
    }
    connection_.drained();
}

void WsPlainSession::shut_down()
{
    // The server ends the TCP connection first (RFC 6455 7.1.1). Closing the socket while the
    // peer's bytes sit unread would send a reset that can destroy our close frame before the peer
    // reads it, so send FIN and read until the peer's FIN (or the close deadline).
    send_fin();
    wait_readable();
}

} // namespace signald
