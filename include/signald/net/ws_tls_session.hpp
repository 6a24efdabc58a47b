#pragma once
// WsTlsSession: a WsSocketSession over TLS (wss://), with a TlsChannel between the socket and the
// connection.
//
// It reads ciphertext into the first half of the host's one shared buffer and decrypts it into
// the second half, so an idle connection holds no read memory. Writing: the posted flush encrypts
// what the batch queued and writes it with one system call; ciphertext the kernel did not take
// waits in a string of its own (at most about 64 KiB; the rest waits as plaintext in the queue),
// given back once written. So an idle wss:// connection costs what an idle ws:// one does plus
// the SSL object and its keys.
//
// The TLS handshake and the HTTP upgrade are Asio's (TlsStream); take_tls_state hands the
// connection's SSL over afterwards.
//
// Lifetime: kept alive only by its pending handlers.

#include "signald/net/tls_channel.hpp"
#include "signald/net/ws_socket_session.hpp"

#include <openssl/ssl.h>

#include <span>
#include <string>

namespace signald {

// Takes the TLS state out of a stream whose handshake and HTTP upgrade are done, for a TlsChannel:
// what OpenSSL already took from the socket is decrypted onto the end of early (behind what Beast
// read past the request), and the SSL gets a reference of its own. nullptr, with why, if OpenSSL
// has bytes to send that only the stream could send (then the connection is dropped).
SSL* take_tls_state(TlsStream& stream, std::string& early, std::string& why);

class WsTlsSession final : public WsSocketSession
{
public:
    // ssl: from take_tls_state; the session owns that reference.
    WsTlsSession(TcpSocket socket, SSL* ssl, WsHost& host, std::string peer_address,
                 Admission admission);

private:
    // Ciphertext into the first half of the shared buffer, plaintext into the second.
    std::span<char> read_space(std::span<char> shared) override
    {
        return shared.first(shared.size() / 2);
    }
    bool take_in(std::span<char> ciphertext, std::span<char> shared) override;
    void write_now() override;
    void shut_down() override;
    std::size_t cipher_waiting() const { return cipher_.size() - cipher_sent_; }

    TlsChannel channel_;
    std::string cipher_;            // records the kernel has not taken yet; empty when idle
    std::size_t cipher_sent_ = 0;   // how much of cipher_ it has taken
    bool fin_when_flushed_ = false; // our close_notify is queued: FIN right behind it
};

} // namespace signald
