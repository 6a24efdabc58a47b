#include "signald/net/ws_tls_session.hpp"

#include "signald/net/socket_io.hpp"

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
    : socket_(std::move(socket)), host_(host), admission_(std::move(admission)), channel_(ssl),
      connection_(host, *this, std::move(peer_address), true)
{}

void WsTlsSession::start(std::string early)
{
    connection_.start(host_.attach(weak_from_this()), WsConnection::Clock::now());
    if (!early.empty()) {
        connection_.receive(early, WsConnection::Clock::now());
        if (!connection_.reading())
            return;
    }
    wait_readable();
}

void WsTlsSession::wait_readable()
{
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void WsTlsSession::on_readable(error_code ec)
{
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    // Ciphertext into the first half of the shared buffer, plaintext into the second.
    const std::span<char> buffer = host_.read_buffer();
    const std::span<char> ciphertext = buffer.first(buffer.size() / 2);
    const std::span<char> plaintext = buffer.subspan(buffer.size() / 2);
    const std::size_t bytes = receive_now(socket_.native_handle(), ciphertext, ec);
    if (ec == net::error::would_block)
        return wait_readable();
    if (ec)
        return connection_.end_of_input(ec == net::error::eof, ec.message());
    // While lingering after the close, what still arrives is read only to be thrown away.
    if (!connection_.lingering() && !decrypt(ciphertext.first(bytes), plaintext))
        return;
    if (bytes < ciphertext.size())
        return wait_readable(); // drained (WsPlainSession::on_readable says why that is enough)
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

bool WsTlsSession::decrypt(std::span<const char> ciphertext, std::span<char> scratch)
{
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

void WsTlsSession::write_soon()
{
    if (connection_.writing() || flush_posted_)
        return;
    flush_posted_ = true;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        if (!self->connection_.writing())
            self->write_now();
    });
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
            send_now(socket_.native_handle(),
                     std::string_view(cipher_).substr(cipher_sent_, cipher_waiting()), ec);
        if (ec == net::error::would_block) {
            // The kernel's buffer is full: write the rest when the peer has read some.
            connection_.write_pending(cipher_waiting());
            socket_.async_wait(tcp::socket::wait_write,
                               [self = shared_from_this()](error_code failure) {
                                   if (failure)
                                       return self->connection_.write_failed();
                                   self->connection_.write_done();
                                   self->write_now();
                               });
            return;
        }
        if (ec)
            return connection_.write_failed();
        cipher_sent_ += written;
    }
    std::string().swap(cipher_); // an idle connection holds no write memory
    cipher_sent_ = 0;
    if (fin_when_flushed_) {
        fin_when_flushed_ = false;
        error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
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

void WsTlsSession::cut()
{
    error_code ignored;
    socket_.close(ignored);
    if (close_timer_)
        close_timer_->cancel();
}

void WsTlsSession::arm_close_deadline()
{
    if (close_timer_)
        return;
    close_timer_ =
        std::make_unique<net::steady_timer>(socket_.get_executor(), WsConnection::close_deadline);
    close_timer_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec)
            self->connection_.close_deadline_passed();
    });
}

void WsTlsSession::post_detach()
{
    net::post(socket_.get_executor(),
              [self = shared_from_this()] { self->connection_.slow_consumer_detach(); });
}

} // namespace signald
