#include "signald/turn/turn_check.hpp"

#include <charconv>
#include <utility>

namespace signald {
namespace {

constexpr int max_sends_udp = 4;
constexpr std::string_view software_name = "signald/" SIGNALD_VERSION " turn-check";

std::string error_text(const StunError& error)
{
    if (!error.reason.empty())
        return std::to_string(error.code) + " " + error.reason;
    return std::to_string(error.code);
}

} // namespace

std::string_view to_string(TurnTransport transport)
{
    switch (transport) {
    case TurnTransport::udp:
        return "udp";
    case TurnTransport::plain_tcp:
        return "tcp";
    case TurnTransport::tls:
        return "tls";
    }
    return "udp";
}

std::optional<TurnTarget> turn_target(std::string_view url)
{
    TurnTarget target;
    target.url = std::string(url);
    bool secure = false;
    if (url.starts_with("turns:")) {
        secure = true;
        url.remove_prefix(6);
    } else if (url.starts_with("turn:")) {
        url.remove_prefix(5);
    } else {
        return std::nullopt;
    }
    std::string_view query;
    if (const auto q = url.find('?'); q != std::string_view::npos) {
        query = url.substr(q + 1);
        url = url.substr(0, q);
    }
    std::string_view port_text;
    if (url.starts_with('[')) {
        const auto close = url.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        target.host = std::string(url.substr(1, close - 1));
        const auto rest = url.substr(close + 1);
        if (rest.starts_with(':'))
            port_text = rest.substr(1);
    } else {
        const auto colon = url.find(':');
        target.host = std::string(url.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = url.substr(colon + 1);
    }
    target.port = secure ? 5349 : 3478;
    if (!port_text.empty()) {
        unsigned port = 0;
        const auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535)
            return std::nullopt;
        target.port = static_cast<std::uint16_t>(port);
    }
    const bool tcp = query == "transport=tcp";
    target.transport = secure ? TurnTransport::tls
                       : tcp  ? TurnTransport::plain_tcp
                              : TurnTransport::udp;
    if (target.host.empty())
        return std::nullopt;
    return target;
}

TurnCheck::TurnCheck(std::string username, std::string password, bool stream,
                     std::function<StunTransactionId()> new_id)
    : username_(std::move(username)), password_(std::move(password)), stream_(stream),
      new_id_(std::move(new_id))
{}

TurnCheck::Step TurnCheck::start()
{
    return send_request(Phase::allocate_unauthenticated);
}

TurnCheck::Step TurnCheck::send_request(Phase phase)
{
    phase_ = phase;
    transaction_id_ = new_id_();
    const std::uint16_t method = phase == Phase::refresh ? stun::refresh : stun::allocate;
    StunBuilder builder(method, StunClass::request, transaction_id_);
    builder.add(stun::software, software_name);
    if (phase == Phase::refresh)
        builder.add_u32(stun::lifetime, 0); // RFC 8656 7: 0 deletes the allocation
    else
        builder.add_u32(stun::requested_transport, std::uint32_t{stun::transport_udp} << 24);
    if (phase != Phase::allocate_unauthenticated && key_) {
        builder.add(stun::username, username_);
        builder.add(stun::realm, *realm_);
        builder.add(stun::nonce, *nonce_);
    }
    request_ = builder.finish(phase != Phase::allocate_unauthenticated && key_
                                  ? std::optional<std::string_view>(*key_)
                                  : std::nullopt,
                              true);
    sends_ = 1;
    waited_ = std::chrono::milliseconds{0};
    next_wait_ = stream_ ? answer_timeout : first_rto;
    Step step;
    step.send.push_back(request_);
    step.timer = next_wait_;
    return step;
}

TurnCheck::Step TurnCheck::on_timer()
{
    if (phase_ == Phase::done)
        return {};
    waited_ += next_wait_;
    const std::string method = phase_ == Phase::refresh ? "Refresh" : "Allocate";
    if (stream_ || sends_ >= max_sends_udp || waited_ >= answer_timeout)
        return fail("timeout: no answer to " + method + " within " +
                    std::to_string(answer_timeout.count() / 1000) + " s" +
                    (stream_ ? "" : " (" + std::to_string(sends_) + " tries over UDP)"));
    ++sends_;
    // The last wait ends at answer_timeout in all, whatever the doubling would give.
    next_wait_ = sends_ == max_sends_udp ? answer_timeout - waited_
                                         : std::min(next_wait_ * 2, answer_timeout - waited_);
    Step step;
    step.send.push_back(request_);
    step.timer = next_wait_;
    return step;
}

TurnCheck::Step TurnCheck::on_transport_error(std::string what)
{
    if (phase_ == Phase::done)
        return {};
    return fail(std::move(what));
}

TurnCheck::Step TurnCheck::on_bytes(std::span<const std::uint8_t> bytes)
{
    if (phase_ == Phase::done)
        return {};
    if (!stream_) {
        // A stray or garbled datagram is not the server's answer; the retransmissions go on.
        auto decoded = decode_stun(bytes);
        if (auto* message = std::get_if<StunMessage>(&decoded))
            return on_message(bytes, *message);
        return {};
    }
    // A stream has no boundaries and no second chances: a message that does not decode means
    // the rest cannot be read either.
    stream_buffer_.insert(stream_buffer_.end(), bytes.begin(), bytes.end());
    Step step;
    while (phase_ != Phase::done) {
        const auto size = stun_message_size(stream_buffer_);
        if (!size)
            break;
        if ((stream_buffer_[0] & 0xC0) != 0)
            return fail("the server sent something that is not STUN");
        if (stream_buffer_.size() < *size)
            break;
        const std::vector<std::uint8_t> one(stream_buffer_.begin(),
                                            stream_buffer_.begin() + static_cast<long>(*size));
        stream_buffer_.erase(stream_buffer_.begin(),
                             stream_buffer_.begin() + static_cast<long>(*size));
        auto decoded = decode_stun(one);
        if (auto* why = std::get_if<std::string>(&decoded))
            return fail("malformed answer from the server: " + *why);
        Step next = on_message(one, std::get<StunMessage>(decoded));
        if (next.done || !next.send.empty())
            step = std::move(next);
    }
    return step;
}

TurnCheck::Step TurnCheck::on_message(std::span<const std::uint8_t> bytes,
                                      const StunMessage& message)
{
    const std::uint16_t method = phase_ == Phase::refresh ? stun::refresh : stun::allocate;
    if (message.transaction_id != transaction_id_ || message.method != method ||
        (message.type != StunClass::success && message.type != StunClass::error))
        return {}; // an answer to something else (a late retransmission's): not ours
    if (message.type == StunClass::error)
        return on_error(message);

    // Success. With credentials sent, the answer must prove it knows them too (RFC 8489 9.2.5).
    if (phase_ != Phase::allocate_unauthenticated && key_ &&
        !stun_integrity_ok(bytes, message, *key_))
        return fail(stun_method_name(method) +
                    " answer failed MESSAGE-INTEGRITY (not from the server we asked?)");
    if (phase_ == Phase::refresh)
        return succeed();
    if (!message.xor_relayed_address)
        return fail("Allocate succeeded without XOR-RELAYED-ADDRESS");
    relay_ = message.xor_relayed_address->text();
    return send_request(Phase::refresh);
}

TurnCheck::Step TurnCheck::on_error(const StunMessage& message)
{
    if (!message.error)
        return fail(stun_method_name(message.method) + " error answer without ERROR-CODE");
    const StunError& error = *message.error;
    if (error.code == 401 && phase_ == Phase::allocate_unauthenticated) {
        if (!message.realm || !message.nonce)
            return fail("401 Unauthorized without REALM and NONCE: not a TURN server?");
        realm_ = message.realm;
        nonce_ = message.nonce;
        key_ = stun_long_term_key(username_, *realm_, password_);
        return send_request(Phase::allocate);
    }
    if (error.code == 401)
        return fail("401 Unauthorized: the server refused the credentials (wrong turn-secret?)");
    if (error.code == 438 && key_ && message.nonce && !retried_stale_nonce_) {
        // RFC 8489 9.2.5: a stale nonce is renewed, and the request made again with it.
        retried_stale_nonce_ = true;
        nonce_ = message.nonce;
        if (message.realm && *message.realm != *realm_) {
            realm_ = message.realm;
            key_ = stun_long_term_key(username_, *realm_, password_);
        }
        return send_request(phase_);
    }
    if (error.code == 438 && key_)
        return fail("438 Stale Nonce");
    const bool refresh = phase_ == Phase::refresh;
    return fail(std::string(refresh ? "Refresh" : "Allocate") + " refused: " + error_text(error));
}

TurnCheck::Step TurnCheck::fail(std::string error)
{
    phase_ = Phase::done;
    Step step;
    step.done = TurnCheckResult{false, relay_, std::move(error), {}};
    return step;
}

TurnCheck::Step TurnCheck::succeed()
{
    phase_ = Phase::done;
    Step step;
    step.done = TurnCheckResult{true, relay_, {}, {}};
    return step;
}

} // namespace signald
