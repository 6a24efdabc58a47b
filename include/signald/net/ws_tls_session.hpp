#pragma once
// WsTlsSession: the I/O under one wss:// connection. It moves bytes between a TCP socket and its
// WsConnection, which decides everything else (close handshake, linger, slow consumer, detach),
// with a TlsChannel between them. It must make no decision of its own beyond how to read,
// decrypt, encrypt and write.
//
// The same loop as WsPlainSession: it waits for the socket to become readable, reads ciphertext
// into the first half of the host's one shared buffer and decrypts it into the second half, so an
// idle connection holds no read memory. Writing: a posted flush encrypts what the batch queued and
// writes it with one system call; ciphertext the kernel did not take waits in a string of its own
// (at most about 64 KiB; the rest waits as plaintext in the queue), given back once written. So
// an idle wss:// connection costs what an idle ws:// one does plus the SSL object and its keys.
//
// The TLS handshake and the HTTP upgrade are Asio's (TlsStream); take_tls_state hands the
// connection's SSL over afterwards.
//
// Lifetime: kept alive only by its pending handlers.

#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/tls_channel.hpp"
#include "signald/net/ws_connection.hpp"
#include "signald/net/ws_host.hpp"

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <span>
#include <string>

namespace signald {

// Takes the TLS state out of a stream whose handshake and HTTP upgrade are done, for a TlsChannel:
// what OpenSSL already took from the socket is decrypted onto the end of early (behind what Beast
// read past the request), and the SSL gets a reference of its own. nullptr, with why, if OpenSSL
// has bytes to send that only the stream could send (then the connection is dropped).
SSL* take_tls_state(TlsStream& stream, std::string& early, std::string& why);

class WsTlsSession final : public Connection,
                           private WsConnection::Io,
                           public std::enable_shared_from_this<WsTlsSession>
{
public:
    // ssl: from take_tls_state; the session owns that reference.
    WsTlsSession(TcpSocket socket, SSL* ssl, WsHost& host, std::string peer_address,
                 Admission admission);

    // Attaches to the hub and starts reading. early: plaintext that arrived behind the upgrade
    // request.
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
    // Decrypts ciphertext and hands the plaintext to the connection; false once the connection
    // stopped reading or the TLS stream ended (which it has been told).
    bool decrypt(std::span<const char> ciphertext, std::span<char> scratch);
    std::size_t cipher_waiting() const { return cipher_.size() - cipher_sent_; }

    void write_soon() override;
    void write_now() override;
    void shut_down() override;
    void cut() override;
    void arm_close_deadline() override;
    void post_detach() override;

    TcpSocket socket_;
    WsHost& host_;
    Admission admission_;
    TlsChannel channel_;
    WsConnection connection_;
    std::string cipher_;          // records the kernel has not taken yet; empty when idle
    std::size_t cipher_sent_ = 0; // how much of cipher_ it has taken
    std::unique_ptr<net::steady_timer> close_timer_; // only once closing: idle sockets pay nothing
    bool flush_posted_ = false;
    bool fin_when_flushed_ = false; // our close_notify is queued: FIN right behind it
};

} // namespace signald
