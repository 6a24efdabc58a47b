#pragma once
// WsSocketSession: the I/O under one WebSocket connection, over plain TCP (WsPlainSession) or TLS
// (WsTlsSession). It moves bytes between a TCP socket and its WsConnection, which decides
// everything else (close handshake, linger, slow consumer, detach). It must make no decision of
// its own beyond how to read and write; the two kinds differ only in what stands between the
// socket and the connection.
//
// The socket is a bare file descriptor in the server's SocketReactor (socket_reactor.hpp says
// why), registered once for reading and writing; waiting is a flag. Reading: no buffer of its
// own. It waits for the socket to become readable, then reads into the host's one shared buffer,
// so an idle connection holds no read memory (the WsReceiver keeps only a frame cut off at the
// end of it). Writing: one flush, posted so that everything queued by the handlers already
// waiting is included, writes the whole batch with one system call.
//
// Lifetime: the reactor holds it while its socket is open; after the cut, its pending handlers.

#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/socket_reactor.hpp"
#include "signald/net/ws_connection.hpp"
#include "signald/net/ws_host.hpp"

#include <chrono>
#include <memory>
#include <span>
#include <string>

namespace signald {

class WsSocketSession : public Connection,
                        protected WsConnection::Io,
                        private SocketReactor::Watcher,
                        public std::enable_shared_from_this<WsSocketSession>
{
public:
    ~WsSocketSession();

    // Registers with the reactor, attaches to the hub and starts reading. early: plaintext that
    // arrived behind the upgrade request.
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

protected:
    // socket: connected; its descriptor is taken from Asio's reactor into the host's. over_tls:
    // only for the "connected" log line.
    WsSocketSession(TcpSocket socket, WsHost& host, std::string peer_address, Admission admission,
                    bool over_tls);

    // Where the socket's bytes are read: all of the host's shared buffer, or a part of it.
    virtual std::span<char> read_space(std::span<char> shared) = 0;
    // Hands bytes read to the connection (through TLS, with the rest of shared as scratch);
    // false once the connection stopped reading or the stream ended (which it has been told).
    virtual bool take_in(std::span<char> bytes, std::span<char> shared) = 0;

    void wait_readable();
    // The kernel took less than it was given: write the rest (in_flight bytes already out of
    // the connection's queue) once the peer has read some.
    void wait_writable(std::size_t in_flight);
    // One non-blocking send on the socket (socket_io.hpp).
    std::size_t send_bytes(std::string_view bytes, error_code& ec);
    // Our side of the TCP connection is finished: FIN.
    void send_fin();
    template <class F>
    void post(F&& f)
    {
        net::post(reactor().executor(), std::forward<F>(f));
    }

    void write_soon() final;
    void cut() final;
    void arm_close_deadline() final;
    void post_detach() final;

    WsConnection connection_;

private:
    void on_ready(bool readable, bool writable, bool ended) override;
    // The host's: every session has the same one, so none keeps a reference to it.
    SocketReactor& reactor() const { return connection_.host().reactor(); }
    // Calls on_readable (reading) or on_writable: posted at once if the socket is cut
    // (operation_aborted) or became ready while nobody waited, else at its next event.
    void wait_for(bool reading);
    void on_readable(error_code ec);
    void on_writable(error_code ec);

    Admission admission_;
    std::unique_ptr<net::steady_timer> close_timer_; // only once closing: idle sockets pay nothing
    int fd_;                                         // -1 once cut
    // One bit each, so that they share a word with fd_: every connection has them.
    bool flush_posted_ : 1 = false;
    bool read_waiting_ : 1 = false;  // wait_readable() was called: read at the next event
    bool write_waiting_ : 1 = false; // wait_writable() was called: write at the next event
    bool readable_seen_ : 1 = false; // an event came while not waiting: read when next asked
    bool writable_seen_ : 1 = false;
    bool input_ended_ : 1 = false; // the peer's FIN or an error came: read on to it
};

} // namespace signald
