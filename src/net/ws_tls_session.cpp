#include "signald/net/ws_tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>

#include <array>

namespace signald {
namespace {

// Encrypting stops while this much ciphertext waits for the kernel: a backlog waits as plaintext
// in the connection's queue (where the slow-consumer cap counts it), not twice over here.
constexpr std::size_t max_cipher_waiting = std::size_t{64} * 1024;

} // namespace

SSL* take_tls_state(TlsStream& stream, std::string& early, std::string& why)
{
    SSL* ssl = stream.native_handle();
    // Asio moves all it reads from the socket into its BIO pair before the read that needed it
    // ends, so what the stream holds is in OpenSSL: read it through the old BIOs while they are
    // attached. (A record cut off in the middle stays inside the SSL, which keeps it.)
    std::array<char, 4096> piece{};
    for (;;) {
        ERR_clear_error();
        const int got = SSL_read(ssl, piece.data(), static_cast<int>(piece.size()));
        if (got <= 0)
            break;
        early.append(piece.data(), static_cast<std::size_t>(got));
    }
    ERR_clear_error();
    if (BIO_wpending(SSL_get_wbio(ssl)) > 0) {
        why = "TLS output pending at the upgrade";
        return nullptr;
    }
    SSL_up_ref(ssl);
    return ssl;
}

WsTlsSession::WsTlsSession(TcpSocket socket, SSL* ssl, WsHost& host, std::string peer_address,
                           Admission admission)
    : WsSocketSession(std::move(socket), host, std::move(peer_address), std::move(admission), true),
      channel_(ssl)
{}

bool WsTlsSession::take_in(std::span<char> ciphertext, std::span<char> shared)
{
    const std::span<char> scratch = shared.subspan(shared.size() / 2);
    channel_.feed(ciphertext);
    for (;;) {
        const std::size_t had = cipher_waiting();
        const auto [status, bytes] = channel_.decrypt(scratch, cipher_);
        if (cipher_waiting() != had)
            write_soon(); // OpenSSL answered something (a KeyUpdate)
        if (bytes > 0) {
            connection_.receive(scratch.first(bytes), WsConnection::Clock::now());
            if (connection_.reading())
                continue;
            channel_.drop_input();
            return false;
        }
        switch (status) {
        case TlsChannel::Status::open:
            return true;
        case TlsChannel::Status::closed: // close_notify: the stream ended cleanly
            connection_.end_of_input(true, "close_notify");
            return false;
        case TlsChannel::Status::failed:
            connection_.end_of_input(false, channel_.error());
            return false;
        }
    }
}

void WsTlsSession::write_now()
{
    if (connection_.writing())
        return;
    for (;;) {
        while (cipher_waiting() < max_cipher_waiting && !connection_.unsent().empty()) {
            const std::size_t took = channel_.write(connection_.unsent(), cipher_);
            if (took == 0)
                return connection_.write_failed();
            connection_.written(took);
        }
        if (cipher_waiting() == 0)
            break;
        error_code ec;
        const std::size_t written =
            send_bytes(std::string_view(cipher_).substr(cipher_sent_, cipher_waiting()), ec);
        if (ec == net::error::would_block)
            return wait_writable(cipher_waiting()); // the kernel's buffer is full
        if (ec)
            return connection_.write_failed();
        cipher_sent_ += written;
    }
    std::string().swap(cipher_); // an idle connection holds no write memory
    cipher_sent_ = 0;
    if (fin_when_flushed_) {
        fin_when_flushed_ = false;
        send_fin();
    }
    connection_.drained();
}

void WsTlsSession::shut_down()
{
    // Our close_notify, then FIN behind it, then read (and throw away) until the peer's FIN or the
    // close deadline, as WsPlainSession::shut_down does and for the same reason. Waiting for the
    // peer's close_notify as well would add nothing: the WebSocket close handshake is over.
    channel_.close_notify(cipher_);
    fin_when_flushed_ = true;
    write_now();
    wait_readable();
}

} // namespace signald
