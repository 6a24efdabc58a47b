#pragma once
// WsTlsSession: the I/O under one wss:// connection. It moves bytes between a TLS stream and its
// WsConnection, which decides everything else (close handshake, linger, slow consumer, detach).
// It must make no decision of its own beyond how to read and write.
//
// OpenSSL keeps decrypted records of its own, so readiness of the socket says little: this
// session reads with async_read_some into a small buffer of its own, and runs one async_write at
// a time, from a copy of the queue (the queue may grow or move while it runs).
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

class WsTlsSession final : public Connection,
                           private WsConnection::Io,
                           public std::enable_shared_from_this<WsTlsSession>
{
public:
    WsTlsSession(TlsStream stream, WsHost& host, std::string peer_address, Admission admission);

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
    tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

    void do_read();
    void on_read(error_code ec, std::size_t bytes);

    void write_soon() override;
    void write_now() override;
    void shut_down() override;
    void cut() override;
    void arm_close_deadline() override;
    void post_detach() override;

    TlsStream stream_;
    WsHost& host_;
    Admission admission_;
    WsConnection connection_;
    std::string writing_; // the bytes of the write in flight
    std::unique_ptr<char[]> read_buffer_;
    std::unique_ptr<net::steady_timer> close_timer_; // only once closing: idle sockets pay nothing
    bool flush_posted_ = false;
};

} // namespace signald
