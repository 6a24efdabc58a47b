#include "signald/net/ws_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace signald {
namespace {

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

// A close frame without a code is answered with 1000 (RFC 6455 5.5.1).
constexpr std::uint16_t no_status = 1005;

// A ping's payload: the count of texts sent before it, 8 bytes big-endian.
std::string ping_payload(std::uint64_t texts)
{
    std::string payload(8, '\0');
    for (int i = 7; i >= 0; --i, texts >>= 8)
        payload[static_cast<std::size_t>(i)] = static_cast<char>(texts & 0xFF);
    return payload;
}

} // namespace

WsConnection::WsConnection(WsHost& host, Io& io, std::string peer_address, bool over_tls)
    : host_(host), io_(io), peer_address_(std::move(peer_address)),
      receiver_(host.ws_limits().max_message_bytes), over_tls_(over_tls)
{}

void WsConnection::start(ClientId id, Clock::time_point now)
{
    id_ = std::move(id);
    attached_ = true;
    spdlog::info("{} connected from {}{}", id_, peer_address_, over_tls_ ? " over TLS" : "");
    last_heard_ = last_ping_ = now;
}

void WsConnection::receive(std::span<char> bytes, Clock::time_point now)
{
    if (!reading())
        return;
    last_heard_ = now;
    if (const std::uint16_t code = receiver_.receive(bytes, *this))
        fail(code);
}

void WsConnection::on_text(std::string_view text)
{
    if (phase_ == WsPhase::open)
        host_.on_text(id_, text);
}

void WsConnection::on_ping(std::string_view payload)
{
    if (phase_ != WsPhase::open)
        return;
    out_.append(WsOpcode::pong, payload);
    queued();
    io_.write_soon();
}

void WsConnection::on_pong(std::string_view payload)
{
    // Only the echo of a ping we sent and that is not answered yet proves anything; an
    // unsolicited pong acknowledges nothing.
    for (std::size_t i = 0; i < pinged_texts_.size(); ++i) {
        if (pinged_texts_[i] == none || payload != ping_payload(pinged_texts_[i]))
            continue;
        const std::uint64_t texts = pinged_texts_[i];
        // That ping and any older one are answered.
        for (std::size_t j = i; j < pinged_texts_.size(); ++j)
            pinged_texts_[j] = none;
        acked_texts_ = texts;
        if (attached_)
            host_.acknowledged(id_, texts);
        return;
    }
}

void WsConnection::on_close(std::uint16_t code, std::string_view)
{
    if (phase_ != WsPhase::open) {
        // Our close is answered: the handshake is complete.
        detach("closed by server (" + std::to_string(close_code_) + ")", ConnectionEnd::closed);
    } else {
        count_close(ClosedBy::client, code);
        detach("closed by peer (" + std::to_string(code) + ")", ConnectionEnd::closed);
        out_.drop_unstarted(); // the peer is leaving: it reads nothing more
        // Echo the peer's code (RFC 6455 5.5.1).
        queue_close(code == no_status ? close_code::normal : code);
    }
    // A frame read behind a write that failed within this same read: the socket is gone.
    if (phase_ == WsPhase::done)
        return;
    advance(WsPhase::finishing);
    // A TLS write may still be in flight with the queue empty; the shutdown must follow it.
    if (out_.empty() && !writing_)
        finish();
    else
        io_.write_soon();
}

void WsConnection::fail(std::uint16_t code)
{
    detach(describe_failure(code), ConnectionEnd::closed);
    if (phase_ == WsPhase::open) {
        count_close(ClosedBy::server, code);
        out_.drop_unstarted();
        queue_close(code);
    }
    if (phase_ == WsPhase::done)
        return;
    advance(WsPhase::finishing);
    io_.write_soon();
}

void WsConnection::send(std::string_view text)
{
    ++texts_; // the hub counts what it hands over, sent or not; acknowledgements must agree
    if (phase_ != WsPhase::open)
        return;
    out_.append(WsOpcode::text, text);
    queued();
    // With resume on, a steady stream is acknowledged every few dozen texts rather than once a
    // sweep: what the hub holds stays small and short-lived, which keeps the allocator fast.
    const WsLimits& limits = host_.ws_limits();
    if (limits.resume_on && pinged_texts_[0] == none && texts_ - acked_texts_ >= ack_every_texts)
        ping();
    // A big backlog goes to the kernel at once rather than at the end of the batch: the cap
    // below is about what a peer does not read, not about how much one batch holds.
    if (out_.size() >= eager_write_bytes && !writing_)
        io_.write_now();
    else
        io_.write_soon();

    const std::size_t limit = limits.max_queue_bytes;
    if (phase_ == WsPhase::open && out_.size() + in_flight_ > limit) {
        // A reader this far behind would make the server hold its backlog forever. Leave the
        // room now (posted: we are inside a fan-out), then close with 1008 if the socket ever
        // drains, or cut it when the close deadline passes.
        host_.count_refusal("slow-consumer", id_,
                            "more than " + std::to_string(limit) + " bytes waiting to be written");
        out_.drop_unstarted(); // the close frame must not wait behind the backlog
        close(close_code::policy_violation);
        io_.post_detach();
    }
}

void WsConnection::close(std::uint16_t code)
{
    if (phase_ != WsPhase::open)
        return;
    close_code_ = code;
    count_close(ClosedBy::server, code);
    queue_close(code);
    io_.write_soon();
}

bool WsConnection::abort(std::uint16_t code, std::string_view reason)
{
    const bool was_open = phase_ == WsPhase::open;
    attached_ = false; // the hub let this connection go already
    spdlog::info("{} disconnected from {}: {} ({})", id_, peer_address_, reason, code);
    if (phase_ == WsPhase::open) {
        count_close(ClosedBy::server, code);
        out_.drop_unstarted(); // what it was sent is replayed to the connection taking over
        close_code_ = code;
        advance(WsPhase::closing);
        out_.append_close(code, reason);
        queued();
    } // closing already: our close frame is queued; it goes out, and then the cut

    if (phase_ == WsPhase::done)
        return was_open;
    advance(WsPhase::finishing);
    cut_when_drained_ = true;
    io_.arm_close_deadline(); // a socket that takes nothing is cut then
    if (out_.empty() && !writing_)
        cut();
    else if (!writing_)
        io_.write_now();
    return was_open;
}

void WsConnection::queue_close(std::uint16_t code)
{
    advance(WsPhase::closing);
    out_.append_close(code);
    queued();
    io_.arm_close_deadline();
}

void WsConnection::tick(Clock::time_point now)
{
    if (!attached_)
        return;
    const WsLimits& limits = host_.ws_limits();
    if (now - last_heard_ >= limits.idle_timeout) {
        host_.count_refusal("idle-timeout", id_,
                            "nothing heard for " + std::to_string(limits.idle_timeout.count()) +
                                " s");
        count_close(ClosedBy::server, no_close_frame);
        return cut(); // a silent peer will not answer a close frame either
    }
    const bool unacknowledged =
        limits.resume_on && texts_ > acked_texts_ && pinged_texts_[0] == none;
    if ((now - last_ping_ >= limits.ping_interval || unacknowledged) && phase_ == WsPhase::open) {
        last_ping_ = now;
        ping();
        io_.write_soon();
    }
}

void WsConnection::ping()
{
    if (host_.ws_limits().resume_on) {
        pinged_texts_ = {texts_, pinged_texts_[0]};
        out_.append(WsOpcode::ping, ping_payload(texts_));
    } else {
        out_.append(WsOpcode::ping, {});
    }
    queued();
}

void WsConnection::written(std::size_t count)
{
    out_.consumed(count);
}

void WsConnection::write_pending(std::size_t in_flight)
{
    writing_ = true;
    in_flight_ = static_cast<std::uint32_t>(std::min<std::size_t>(in_flight, UINT32_MAX));
}

void WsConnection::write_done()
{
    writing_ = false;
    in_flight_ = 0;
}

void WsConnection::write_failed()
{
    write_done();
    cut(); // the read side notices the dead socket and detaches
}

void WsConnection::drained()
{
    if (cut_when_drained_)
        cut();
    else if (phase_ == WsPhase::finishing)
        finish();
}

void WsConnection::finish()
{
    advance(WsPhase::lingering);
    io_.arm_close_deadline();
    io_.shut_down();
}

void WsConnection::end_of_input(bool clean_eof, std::string_view error)
{
    count_close(ClosedBy::client, no_close_frame); // unless we closed first
    // Without a close frame from either side the connection was lost, not ended: with resume
    // on, its member is suspended rather than removed.
    if (close_code_ != 0)
        detach("closed by server (" + std::to_string(close_code_) + ")", ConnectionEnd::closed);
    else if (clean_eof)
        detach("end of stream without a close frame", ConnectionEnd::lost);
    else
        detach(error, ConnectionEnd::lost);
    cut();
}

void WsConnection::close_deadline_passed()
{
    cut();
}

void WsConnection::slow_consumer_detach()
{
    detach("slow consumer (1008)", ConnectionEnd::closed);
}

void WsConnection::cut()
{
    if (phase_ == WsPhase::done)
        return;
    advance(WsPhase::done);
    io_.cut();
}

void WsConnection::advance(WsPhase to)
{
    if (to > phase_)
        phase_ = to;
}

void WsConnection::detach(std::string_view why, ConnectionEnd end)
{
    if (!attached_)
        return;
    attached_ = false;
    spdlog::info("{} disconnected from {}: {}", id_, peer_address_, why);
    host_.detach(id_, end);
}

void WsConnection::count_close(ClosedBy by, std::uint16_t code)
{
    if (close_counted_)
        return;
    close_counted_ = true;
    host_.net_stats().count_close(by, code);
}

void WsConnection::queued()
{
    host_.net_stats().note_queue_bytes(out_.size() + in_flight_);
}

} // namespace signald
