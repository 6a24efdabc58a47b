#pragma once
// WsPlainSession: the I/O under one ws:// connection. It moves bytes between a TCP socket and its
// WsConnection, which decides everything else (close handshake, linger, slow consumer, detach).
// It must make no decision of its own beyond how to read and write.
//
// Reading: no buffer of its own. It waits for the socket to become readable, then reads into the
// host's one shared buffer, so an idle connection holds no read memory (the WsReceiver keeps only
// a frame cut off at the end of it). Writing: one flush, posted so that everything queued by the
// handlers already waiting is included, writes the whole batch with one system call.
//
// Lifetime: kept alive only by its pending handlers.

#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/ws_connection.hpp"
#include "signald/net/ws_host.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace signald {

class WsPlainSession final : public Connection,
                             private WsConnection::Io,
                             public std::enable_shared_from_this<WsPlainSession>
{
public:
    WsPlainSession(TcpSocket socket, WsHost& host, std::string peer_address, Admission admission);

    // Attaches to the hub and starts reading. early: bytes that arrived behind the upgrade
    // request, in the same read.
    void start(std::string early);

    void send(const Text& text) override { connection_.send(*text); }
    void close(std::uint16_t code) override { connection_.close(code); }
    void keepalive(std::chrono::steady_clock::time_point now) override { connection_.tick(now); }
    bool abort(std::uint16_t code, std::string_view reason) override
    {
        return connection_.abort(code, reason);
    }
    void rebind(const ClientId& id) override { connection_.rebind(id); }
    std::uint64_t texts() const override { return connection_.texts(); }

private:
    void wait_readable();
    void on_readable(error_code ec);

    void write_soon() override;
    void write_now() override;
    void shut_down() override;
    void cut() override;
    void arm_close_deadline() override;
    void post_detach() override;

    TcpSocket socket_;
    WsHost& host_;
    Admission admission_;
    WsConnection connection_;
    std::unique_ptr<net::steady_timer> close_timer_; // only once closing: idle sockets pay nothing
    bool flush_posted_ = false;
};

} // namespace signald
