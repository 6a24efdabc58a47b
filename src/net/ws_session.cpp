#include "signald/net/ws_session.hpp"

#include <spdlog/spdlog.h>

namespace signald {
namespace {

// A close frame stuck behind a write the peer never reads would wait forever; after this the
// socket is simply cut.
constexpr std::chrono::seconds close_deadline{2};

// Every TLS session holds this for its whole life, idle or not. Most signaling messages fit; the
// rest of a longer record waits inside OpenSSL and comes out over the next reads. (A whole
// 16 KiB record per read cost 9 KB more per idle connection: bench/README.md, "TLS".)
constexpr std::size_t tls_read_buffer_bytes = std::size_t{4} * 1024;

// Past this much queued in one batch, writing starts at once instead of after the batch.
constexpr std::size_t eager_write_bytes = std::size_t{64} * 1024;

std::string describe_failure(std::uint16_t code)
{
    switch (code) {
    case close_code::protocol_error:
        return "protocol error (1002)";
    case close_code::unsupported_data:
        return "binary message (1003)";
    case close_code::invalid_payload:
        return "invalid UTF-8 (1007)";
    case close_code::too_big:
        return "message too big (1009)";
    default:
        return "failed (" + std::to_string(code) + ")";
    }
}

} // namespace

template <class Stream>
WsSession<Stream>::WsSession(Stream stream, WsHost& host, std::string peer_address,
                             Admission admission)
    : stream_(std::move(stream)), host_(host), peer_address_(std::move(peer_address)),
      admission_(std::move(admission)), receiver_(host.ws_limits().max_message_bytes)
{}

template <class Stream>
tcp::socket& WsSession<Stream>::socket()
{
    if constexpr (tls)
        return beast::get_lowest_layer(stream_).socket();
    else
        return stream_;
}

template <class Stream>
void WsSession<Stream>::start(std::string early)
{
    id_ = host_.attach(this->weak_from_this());
    attached_ = true;
    spdlog::info("{} connected from {}{}", id_, peer_address_, tls ? " over TLS" : "");
    last_heard_ = last_ping_ = Clock::now();
    if (!early.empty() && !consume(early))
        return;
    if constexpr (tls) {
        tls_read_buffer_ = std::make_unique<char[]>(tls_read_buffer_bytes);
    } else {
        error_code ec;
        socket().non_blocking(true, ec); // reads are attempted only when the socket is readable
    }
    wait_readable();
}

template <class Stream>
void WsSession<Stream>::wait_readable()
{
    if constexpr (tls) {
        stream_.async_read_some(
            net::buffer(tls_read_buffer_.get(), tls_read_buffer_bytes),
            beast::bind_front_handler(&WsSession::on_tls_read, this->shared_from_this()));
    } else {
        socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](
                                                        error_code ec) { self->on_readable(ec); });
    }
}

template <class Stream>
void WsSession<Stream>::on_tls_read(error_code ec, std::size_t bytes)
{
    if (ec)
        return end_of_input(ec);
    if (!lingering_ && !consume(std::span<char>(tls_read_buffer_.get(), bytes)))
        return;
    wait_readable();
}

template <class Stream>
void WsSession<Stream>::on_readable(error_code ec)
{
    if (ec)
        return end_of_input(ec);
    const std::span<char> buffer = host_.read_buffer();
    const std::size_t bytes = socket().read_some(net::buffer(buffer.data(), buffer.size()), ec);
    if (ec == net::error::would_block || ec == net::error::try_again)
        return wait_readable();
    if (ec)
        return end_of_input(ec);
    // While lingering after the close, what still arrives is read only to be thrown away.
    if (!lingering_ && !consume(buffer.first(bytes)))
        return;
    if (bytes < buffer.size()) {
        // Drained: anything arriving after the read above raises a new readiness event, which
        // the single-threaded loop can only deliver after this wait is registered.
        return wait_readable();
    }
    // More may be waiting; let other connections have a turn first.
    net::post(socket().get_executor(),
              [self = this->shared_from_this()] { self->on_readable({}); });
}

template <class Stream>
bool WsSession<Stream>::consume(std::span<char> bytes)
{
    last_heard_ = Clock::now();
    if (const std::uint16_t code = receiver_.receive(bytes, *this)) {
        fail(code);
        return false;
    }
    return reading_;
}

template <class Stream>
void WsSession<Stream>::end_of_input(const error_code& ec)
{
    reading_ = false;
    count_close(ClosedBy::client, no_close_frame); // unless we closed first
    if (close_code_ != 0)
        detach("closed by server (" + std::to_string(close_code_) + ")");
    else if (ec == net::error::eof)
        detach("end of stream without a close frame");
    else
        detach(ec.message());
    drop();
}

template <class Stream>
void WsSession<Stream>::on_text(std::string_view text)
{
    if (!closing_)
        host_.on_text(id_, text);
}

template <class Stream>
void WsSession<Stream>::on_ping(std::string_view payload)
{
    if (closing_)
        return;
    out_.append(WsOpcode::pong, payload);
    queued();
    schedule_flush();
}

template <class Stream>
void WsSession<Stream>::on_close(std::uint16_t code, std::string_view)
{
    reading_ = false;
    if (closing_) {
        // Our close is answered: the handshake is complete.
        detach("closed by server (" + std::to_string(close_code_) + ")");
    } else {
        count_close(ClosedBy::client, code);
        detach("closed by peer (" + std::to_string(code) + ")");
        out_.drop_unstarted(); // the peer is leaving: it reads nothing more
        // Echo the peer's code (RFC 6455 5.5.1); a close without one is answered with 1000.
        queue_close(code == 1005 ? close_code::normal : code);
    }
    finish_after_write_ = true;
    // A TLS write may still be in flight with the queue empty; the shutdown must follow it.
    if (out_.empty() && !awaiting_writable_)
        finish();
    else
        schedule_flush();
}

template <class Stream>
void WsSession<Stream>::fail(std::uint16_t code)
{
    reading_ = false;
    detach(describe_failure(code));
    if (!closing_) {
        count_close(ClosedBy::server, code);
        out_.drop_unstarted();
        queue_close(code);
    }
    finish_after_write_ = true;
    schedule_flush();
}

template <class Stream>
void WsSession<Stream>::send(const Text& text)
{
    if (closing_)
        return;
    out_.append(WsOpcode::text, *text);
    queued();
    // A big backlog goes to the kernel at once rather than at the end of the batch: the cap
    // below is about what a peer does not read, not about how much one batch holds.
    if (out_.size() >= eager_write_bytes && !awaiting_writable_)
        write_now();
    else
        schedule_flush();

    const std::size_t limit = host_.ws_limits().max_queue_bytes;
    if (!closing_ && out_.size() + tls_writing_.size() > limit) {
        // A reader this far behind would make the server hold its backlog forever. Leave the
        // room now (posted: we are inside a fan-out), then close with 1008 if the socket ever
        // drains, or cut it when the close deadline passes.
        host_.count_refusal("slow-consumer", id_,
                            "more than " + std::to_string(limit) + " bytes waiting to be written");
        out_.drop_unstarted(); // the close frame must not wait behind the backlog
        close(close_code::policy_violation);
        net::post(socket().get_executor(),
                  [self = this->shared_from_this()] { self->detach("slow consumer (1008)"); });
    }
}

template <class Stream>
void WsSession<Stream>::close(std::uint16_t code)
{
    if (closing_)
        return;
    close_code_ = code;
    count_close(ClosedBy::server, code);
    queue_close(code);
    schedule_flush();
}

template <class Stream>
void WsSession<Stream>::queue_close(std::uint16_t code)
{
    closing_ = true;
    out_.append_close(code);
    queued();
    arm_close_deadline();
}

template <class Stream>
void WsSession<Stream>::keepalive(Clock::time_point now)
{
    if (!attached_)
        return;
    const auto& options = host_.ws_limits();
    if (now - last_heard_ >= options.idle_timeout) {
        host_.count_refusal("idle-timeout", id_,
                            "nothing heard for " + std::to_string(options.idle_timeout.count()) +
                                " s");
        count_close(ClosedBy::server, no_close_frame);
        return drop(); // a silent peer will not answer a close frame either
    }
    if (now - last_ping_ >= options.ping_interval && !closing_) {
        last_ping_ = now;
        out_.append(WsOpcode::ping, {});
        queued();
        schedule_flush();
    }
}

template <class Stream>
void WsSession<Stream>::schedule_flush()
{
    if (awaiting_writable_ || flush_posted_)
        return;
    flush_posted_ = true;
    net::post(socket().get_executor(), [self = this->shared_from_this()] {
        self->flush_posted_ = false;
        if (!self->awaiting_writable_)
            self->write_now();
    });
}

template <class Stream>
void WsSession<Stream>::write_now()
{
    if constexpr (tls) {
        // One async_write at a time, from a copy: the queue may grow or move while it runs.
        if (awaiting_writable_)
            return;
        if (out_.empty()) {
            if (finish_after_write_)
                finish();
            return;
        }
        tls_writing_.assign(out_.unsent());
        out_.consumed(out_.size());
        awaiting_writable_ = true;
        net::async_write(stream_, net::buffer(tls_writing_),
                         [self = this->shared_from_this()](error_code ec, std::size_t) {
                             self->awaiting_writable_ = false;
                             std::string().swap(self->tls_writing_);
                             if (ec)
                                 return self->drop();
                             self->write_now();
                         });
        return;
    } else {
        while (!out_.empty()) {
            error_code ec;
            const std::string_view bytes = out_.unsent();
            const std::size_t written =
                socket().write_some(net::buffer(bytes.data(), bytes.size()), ec);
            if (ec == net::error::would_block || ec == net::error::try_again)
                break;
            if (ec)
                return drop(); // the read side notices the dead socket and detaches
            out_.consumed(written);
        }
        if (!out_.empty()) {
            // The kernel's buffer is full: write the rest when the peer has read some.
            awaiting_writable_ = true;
            socket().async_wait(tcp::socket::wait_write,
                                [self = this->shared_from_this()](error_code ec) {
                                    self->awaiting_writable_ = false;
                                    if (ec)
                                        return self->drop();
                                    self->write_now();
                                });
            return;
        }
        if (finish_after_write_)
            finish();
    }
}

template <class Stream>
void WsSession<Stream>::arm_close_deadline()
{
    if (close_timer_)
        return;
    close_timer_ = std::make_unique<net::steady_timer>(socket().get_executor(), close_deadline);
    close_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
        if (!ec)
            self->drop();
    });
}

template <class Stream>
void WsSession<Stream>::finish()
{
    if (lingering_)
        return;
    lingering_ = true;
    arm_close_deadline();
    if constexpr (tls) {
        // close_notify, then the peer's; the close deadline bounds a peer that never answers.
        stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->drop(); });
    } else {
        // The server ends the TCP connection first (RFC 6455 7.1.1). Closing the socket while
        // the peer's bytes sit unread would send a reset that can destroy our close frame before
        // the peer reads it, so send FIN and read until the peer's FIN (or the close deadline).
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_send, ignored);
        wait_readable();
    }
}

template <class Stream>
void WsSession<Stream>::drop()
{
    closing_ = true;
    reading_ = false;
    error_code ignored;
    socket().close(ignored);
    if (close_timer_)
        close_timer_->cancel();
}

template <class Stream>
void WsSession<Stream>::detach(std::string_view why)
{
    if (!attached_)
        return;
    attached_ = false;
    spdlog::info("{} disconnected from {}: {}", id_, peer_address_, why);
    host_.detach(id_);
}

template <class Stream>
void WsSession<Stream>::count_close(ClosedBy by, std::uint16_t code)
{
    if (close_counted_)
        return;
    close_counted_ = true;
    host_.net_stats().count_close(by, code);
}

template <class Stream>
void WsSession<Stream>::queued()
{
    host_.net_stats().note_queue_bytes(out_.size() + tls_writing_.size());
}

template class WsSession<tcp::socket>;
template class WsSession<TlsStream>;

} // namespace signald
