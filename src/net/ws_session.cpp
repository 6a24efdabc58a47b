#include "signald/net/ws_session.hpp"

#include "signald/net/server.hpp"

#include <spdlog/spdlog.h>

namespace signald {
namespace {

// A close frame stuck behind a write the peer never reads would wait forever; after this the
// socket is simply cut.
constexpr std::chrono::seconds close_deadline{2};

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

WsSession::WsSession(tcp::socket socket, Server& server, std::string peer_address,
                     Admission admission)
    : socket_(std::move(socket)), server_(server), peer_address_(std::move(peer_address)),
      admission_(std::move(admission)), receiver_(server.options().max_message_bytes)
{}

void WsSession::start(std::string early)
{
    error_code ec;
    socket_.non_blocking(true, ec); // reads are attempted only when the socket is readable
    id_ = server_.attach(weak_from_this());
    attached_ = true;
    spdlog::info("{} connected from {}", id_, peer_address_);
    last_heard_ = last_ping_ = Clock::now();
    if (!early.empty() && !consume(early))
        return;
    wait_readable();
}

void WsSession::wait_readable()
{
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
}

void WsSession::on_readable(error_code ec)
{
    if (ec)
        return end_of_input(ec);
    const std::span<char> buffer = server_.read_buffer();
    const std::size_t bytes = socket_.read_some(net::buffer(buffer.data(), buffer.size()), ec);
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
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_readable({}); });
}

bool WsSession::consume(std::span<char> bytes)
{
    last_heard_ = Clock::now();
    if (const std::uint16_t code = receiver_.receive(bytes, *this)) {
        fail(code);
        return false;
    }
    return reading_;
}

void WsSession::end_of_input(const error_code& ec)
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

void WsSession::on_text(std::string_view text)
{
    if (!closing_)
        server_.on_text(id_, text);
}

void WsSession::on_ping(std::string_view payload)
{
    if (closing_)
        return;
    out_.append(WsOpcode::pong, payload);
    queued();
    schedule_flush();
}

void WsSession::on_close(std::uint16_t code, std::string_view)
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
    if (out_.empty())
        finish();
    else
        schedule_flush();
}

void WsSession::fail(std::uint16_t code)
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

void WsSession::send(const Text& text)
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

    const std::size_t limit = server_.options().max_queue_bytes;
    if (!closing_ && out_.size() > limit) {
        // A reader this far behind would make the server hold its backlog forever. Leave the
        // room now (posted: we are inside a fan-out), then close with 1008 if the socket ever
        // drains, or cut it when the close deadline passes.
        server_.reject("slow-consumer", id_,
                       "more than " + std::to_string(limit) + " bytes waiting to be written");
        out_.drop_unstarted(); // the close frame must not wait behind the backlog
        close(close_code::policy_violation);
        net::post(socket_.get_executor(),
                  [self = shared_from_this()] { self->detach("slow consumer (1008)"); });
    }
}

void WsSession::close(std::uint16_t code)
{
    if (closing_)
        return;
    close_code_ = code;
    count_close(ClosedBy::server, code);
    queue_close(code);
    schedule_flush();
}

void WsSession::queue_close(std::uint16_t code)
{
    closing_ = true;
    out_.append_close(code);
    queued();
    arm_close_deadline();
}

void WsSession::keepalive(Clock::time_point now)
{
    if (!attached_)
        return;
    const auto& options = server_.options();
    if (now - last_heard_ >= options.idle_timeout) {
        server_.reject("idle-timeout", id_,
                       "nothing heard for " + std::to_string(options.idle_timeout.count()) + " s");
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

void WsSession::schedule_flush()
{
    if (awaiting_writable_ || flush_posted_)
        return;
    flush_posted_ = true;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        if (!self->awaiting_writable_)
            self->write_now();
    });
}

void WsSession::write_now()
{
    while (!out_.empty()) {
        error_code ec;
        const std::string_view bytes = out_.unsent();
        const std::size_t written = socket_.write_some(net::buffer(bytes.data(), bytes.size()), ec);
        if (ec == net::error::would_block || ec == net::error::try_again)
            break;
        if (ec)
            return drop(); // the read side notices the dead socket and detaches
        out_.consumed(written);
    }
    if (!out_.empty()) {
        // The kernel's buffer is full: write the rest when the peer has read some.
        awaiting_writable_ = true;
        socket_.async_wait(tcp::socket::wait_write, [self = shared_from_this()](error_code ec) {
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

void WsSession::arm_close_deadline()
{
    if (close_timer_)
        return;
    close_timer_ = std::make_unique<net::steady_timer>(socket_.get_executor(), close_deadline);
    close_timer_->async_wait([self = shared_from_this()](error_code ec) {
        if (!ec)
            self->drop();
    });
}

void WsSession::finish()
{
    if (lingering_)
        return;
    lingering_ = true;
    // The server ends the TCP connection first (RFC 6455 7.1.1). Closing the socket while the
    // peer's bytes sit unread would send a reset that can destroy our close frame before the
    // peer reads it, so send FIN and read until the peer's FIN (or the close deadline).
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    arm_close_deadline();
    wait_readable();
}

void WsSession::drop()
{
    closing_ = true;
    reading_ = false;
    error_code ignored;
    socket_.close(ignored);
    if (close_timer_)
        close_timer_->cancel();
}

void WsSession::detach(std::string_view why)
{
    if (!attached_)
        return;
    attached_ = false;
    spdlog::info("{} disconnected from {}: {}", id_, peer_address_, why);
    server_.detach(id_);
}

void WsSession::count_close(ClosedBy by, std::uint16_t code)
{
    if (close_counted_)
        return;
    close_counted_ = true;
    server_.net_stats().count_close(by, code);
}

void WsSession::queued()
{
    server_.net_stats().note_queue_bytes(out_.size());
}

} // namespace signald
