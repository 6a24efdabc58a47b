// fuzz_stun: the input as what a TURN server answers. decode_stun never crashes and what it
// accepts is sane (an ERROR-CODE of 300..699, text no longer than the RFC allows); the fields it
// read, written again with StunBuilder, decode to the same fields. Then the same bytes go to a
// TurnCheck that has sent its first Allocate, over UDP (one datagram) and as a TCP stream (split
// where the input's first byte says): it never crashes, and whatever it answers is either more
// requests that decode as Allocate or Refresh requests, or a result whose failure has words.

#include "check.hpp"

#include "signald/turn/stun_message.hpp"
#include "signald/turn/turn_check.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

namespace {

using namespace signald;

void check_step(const TurnCheck::Step& step)
{
    if (step.done) {
        FUZZ_CHECK(step.done->ok || !step.done->error.empty());
        FUZZ_CHECK(step.send.empty());
    }
    for (const auto& bytes : step.send) {
        const auto decoded = decode_stun(bytes);
        FUZZ_CHECK(std::holds_alternative<StunMessage>(decoded));
        const StunMessage& message = std::get<StunMessage>(decoded);
        FUZZ_CHECK(message.type == StunClass::request);
        FUZZ_CHECK(message.method == stun::allocate || message.method == stun::refresh);
    }
}

void round_trip(const StunMessage& message)
{
    StunBuilder builder(message.method, message.type, message.transaction_id);
    if (message.error)
        builder.add_error(*message.error);
    if (message.realm)
        builder.add(stun::realm, *message.realm);
    if (message.nonce)
        builder.add(stun::nonce, *message.nonce);
    if (message.xor_relayed_address)
        builder.add_xor_address(stun::xor_relayed_address, *message.xor_relayed_address);
    if (message.lifetime_seconds)
        builder.add_u32(stun::lifetime, *message.lifetime_seconds);
    const auto bytes = builder.finish("key", true);
    const auto again = decode_stun(bytes);
    FUZZ_CHECK(std::holds_alternative<StunMessage>(again));
    const StunMessage& copy = std::get<StunMessage>(again);
    FUZZ_CHECK(copy.method == message.method && copy.type == message.type);
    FUZZ_CHECK(copy.transaction_id == message.transaction_id);
    FUZZ_CHECK(copy.realm == message.realm && copy.nonce == message.nonce);
    FUZZ_CHECK(copy.xor_relayed_address == message.xor_relayed_address);
    FUZZ_CHECK(copy.lifetime_seconds == message.lifetime_seconds);
    FUZZ_CHECK(copy.error.has_value() == message.error.has_value());
    if (copy.error)
        FUZZ_CHECK(copy.error->code == message.error->code &&
                   copy.error->reason == message.error->reason);
    FUZZ_CHECK(copy.has_fingerprint && stun_integrity_ok(bytes, copy, "key"));
}

StunTransactionId fixed_id()
{
    return StunTransactionId{}; // all zero: the input can answer it
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::uint8_t> input(data, size);
    const auto decoded = decode_stun(input);
    if (const auto* message = std::get_if<StunMessage>(&decoded)) {
        if (message->error)
            FUZZ_CHECK(message->error->code >= 300 && message->error->code <= 699);
        if (message->realm)
            FUZZ_CHECK(message->realm->size() <= 763);
        // A reason may be longer than a re-encoded attribute holds; only round-trip what fits.
        if (!message->error || message->error->reason.size() < 700)
            round_trip(*message);
    } else {
        FUZZ_CHECK(!std::get<std::string>(decoded).empty());
    }

    // As the answer to a datagram...
    TurnCheck udp("1700000000:signald-check", "password", false, fixed_id);
    check_step(udp.start());
    check_step(udp.on_bytes(input));
    for (int i = 0; i < 5 && !udp.finished(); ++i)
        check_step(udp.on_timer());
    FUZZ_CHECK(udp.finished());

    // ...and as a stream, in two pieces.
    TurnCheck stream("1700000000:signald-check", "password", true, fixed_id);
    check_step(stream.start());
    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    check_step(stream.on_bytes(input.first(split)));
    check_step(stream.on_bytes(input.subspan(split)));
    check_step(stream.on_timer());
    return 0;
}
