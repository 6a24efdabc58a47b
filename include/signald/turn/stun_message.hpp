#pragma once
// STUN messages (RFC 8489, formerly 5389) with the TURN attributes (RFC 8656, formerly 5766) that
// the TURN self-test needs: encoding an Allocate or Refresh request with long-term credentials,
// and decoding what a server answers, defensively (a TURN server is not trusted to send sane
// bytes). No sockets and no clock: TurnCheck drives it, the unit tests check it against the
// RFC 5769 vectors, and fuzz/fuzz_stun.cpp feeds it anything.
//
// Written here rather than taken from Debian: libnice's STUN agent comes with GLib, pjnath with
// pjlib's own pools, threads and timers, and libre with its own main loop; none fits a
// single-threaded Asio daemon that needs two requests. OpenSSL gives the HMAC-SHA1 and the MD5.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace signald {

using StunTransactionId = std::array<std::uint8_t, 12>;

namespace stun {
constexpr std::uint32_t magic_cookie = 0x2112A442;
constexpr std::size_t header_bytes = 20;

// Methods (RFC 8489 18.2, RFC 8656 18.1).
constexpr std::uint16_t binding = 0x001;
constexpr std::uint16_t allocate = 0x003;
constexpr std::uint16_t refresh = 0x004;

// Attributes (RFC 8489 18.3, RFC 8656 18.2).
constexpr std::uint16_t mapped_address = 0x0001;
constexpr std::uint16_t username = 0x0006;
constexpr std::uint16_t message_integrity = 0x0008;
constexpr std::uint16_t error_code = 0x0009;
constexpr std::uint16_t lifetime = 0x000D;
constexpr std::uint16_t realm = 0x0014;
constexpr std::uint16_t nonce = 0x0015;
constexpr std::uint16_t xor_relayed_address = 0x0016;
constexpr std::uint16_t requested_transport = 0x0019;
constexpr std::uint16_t xor_mapped_address = 0x0020;
constexpr std::uint16_t software = 0x8022;
constexpr std::uint16_t fingerprint = 0x8028;

// REQUESTED-TRANSPORT's protocol number for UDP relays (the only kind browsers use).
constexpr std::uint8_t transport_udp = 17;
} // namespace stun

enum class StunClass : std::uint8_t
{
    request,
    indication,
    success,
    error,
};

// A transport address as XOR-MAPPED-ADDRESS and XOR-RELAYED-ADDRESS carry it, already un-XORed.
struct StunAddress
{
    bool ipv6 = false;
    std::array<std::uint8_t, 16> bytes{}; // IPv4 in the first 4
    std::uint16_t port = 0;

    // "203.0.113.10:49152" or "[2001:db8::1]:49152".
    std::string text() const;
    bool operator==(const StunAddress&) const = default;
};

struct StunError
{
    int code = 0; // class * 100 + number, 300..699
    std::string reason;
};

// What decode_stun found in a message. Unknown attributes are skipped; of a repeated attribute
// only the first counts (RFC 8489 14).
struct StunMessage
{
    std::uint16_t method = 0;
    StunClass type = StunClass::request;
    StunTransactionId transaction_id{};
    std::optional<StunError> error;
    std::optional<std::string> username;
    std::optional<std::string> realm;
    std::optional<std::string> nonce;
    std::optional<std::string> software;
    std::optional<StunAddress> xor_relayed_address;
    std::optional<StunAddress> xor_mapped_address;
    std::optional<std::uint32_t> lifetime_seconds;
    // Where MESSAGE-INTEGRITY starts (from the message's first byte), when present.
    std::optional<std::size_t> integrity_offset;
    bool has_fingerprint = false; // present and correct (decode_stun refuses a wrong one)
};

// The message, or why these bytes are not one STUN message (one short sentence). The bytes must
// be exactly one message: header plus its stated length.
std::variant<StunMessage, std::string> decode_stun(std::span<const std::uint8_t> bytes);

// How many bytes the message starting at bytes takes in all (header plus stated length), once at
// least 4 bytes are there; nullopt before that. For stream transports (RFC 8489 6.2.2), where
// messages follow each other back to back.
std::optional<std::size_t> stun_message_size(std::span<const std::uint8_t> bytes);

// The long-term credential key (RFC 8489 9.2.2): MD5(username ":" realm ":" password). The
// caller passes strings already as they go on the wire (no SASLprep: coturn's REST API names
// and passwords are ASCII).
std::string stun_long_term_key(std::string_view username, std::string_view realm,
                               std::string_view password);

// Whether message (decoded from bytes) carries a MESSAGE-INTEGRITY that verifies under key.
bool stun_integrity_ok(std::span<const std::uint8_t> bytes, const StunMessage& message,
                       std::string_view key);

// Builds one message: attributes in the order added, then MESSAGE-INTEGRITY (with a key) and
// FINGERPRINT, which finish() computes.
class StunBuilder
{
public:
    StunBuilder(std::uint16_t method, StunClass type, const StunTransactionId& id);

    StunBuilder& add(std::uint16_t attribute, std::string_view value);
    StunBuilder& add_u32(std::uint16_t attribute, std::uint32_t value);
    StunBuilder& add_error(const StunError& error);
    StunBuilder& add_xor_address(std::uint16_t attribute, const StunAddress& address);

    // The message's bytes, with MESSAGE-INTEGRITY when integrity_key is given and FINGERPRINT
    // when fingerprint is set.
    std::vector<std::uint8_t> finish(std::optional<std::string_view> integrity_key,
                                     bool fingerprint) const;

private:
    std::vector<std::uint8_t> bytes_;
};

// "Allocate", "Refresh", "Binding" or "method 0x..." for messages.
std::string stun_method_name(std::uint16_t method);

} // namespace signald
