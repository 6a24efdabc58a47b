// The STUN codec against the RFC 5769 test vectors (requests, IPv4 and IPv6 responses, long-term
// credentials), round trips of what TurnCheck sends and a server answers, and malformed input.

#include "signald/turn/stun_message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signald {
namespace stun_message_test {

std::vector<std::uint8_t> from_hex(std::string_view hex)
{
    std::vector<std::uint8_t> out;
    std::string digits;
    for (const char c : hex)
        if (std::isxdigit(static_cast<unsigned char>(c)))
            digits += c;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
    return out;
}

StunMessage decoded(const std::variant<StunMessage, std::string>& result)
{
    if (const auto* why = std::get_if<std::string>(&result))
        ADD_FAILURE() << "did not decode: " << *why;
    const auto* message = std::get_if<StunMessage>(&result);
    return message ? *message : StunMessage{};
}

std::string refusal(const std::variant<StunMessage, std::string>& result)
{
    const auto* why = std::get_if<std::string>(&result);
    return why ? *why : std::string("(decoded)");
}

// RFC 5769 2.1: a Binding request, short-term credentials, with FINGERPRINT.
const auto sample_request = from_hex("0001 0058 2112a442 b7e7a701 bc34d686 fa87dfae"
                                     "8022 0010 5354554e 20746573 7420636c 69656e74"
                                     "0024 0004 6e0001ff"
                                     "8029 0008 932ff9b1 51263b36"
                                     "0006 0009 6576746a 3a683676 59202020"
                                     "0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2"
                                     "8028 0004 e57a3bcf");
// RFC 5769 2.2: its success response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const auto sample_ipv4_response = from_hex("0101 003c 2112a442 b7e7a701 bc34d686 fa87dfae"
                                           "8022 000b 74657374 20766563 746f7220"
                                           "0020 0008 0001a147 e112a643"
                                           "0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7"
                                           "8028 0004 c07d4c96");
// RFC 5769 2.3: the same over IPv6, 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
const auto sample_ipv6_response = from_hex("0101 0048 2112a442 b7e7a701 bc34d686 fa87dfae"
                                           "8022 000b 74657374 20766563 746f7220"
                                           "0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9"
                                           "0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41"
                                           "8028 0004 c8fb0b4c");
// RFC 5769 2.4: a request with long-term credentials (no FINGERPRINT).
const auto sample_long_term_request =
    from_hex("0001 0060 2112a442 78ad3433 c6ad72c0 29da412e"
             "0006 0012 e3839ee3 8388e383 aae38383 e382afe3 82b90000"
             "0015 001c 662f2f34 39396b39 35346436 4f4c3334 6f4c3946 53547679 36347341"
             "0014 000b 6578616d 706c652e 6f726700"
             "0008 0014 f6702465 6dd64a3e 02b8e071 2e85c9a2 8ca89666");
constexpr std::string_view short_term_password = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(StunMessage, Rfc5769SampleRequestDecodesAndVerifies)
{
    const StunMessage message = decoded(decode_stun(sample_request));
    EXPECT_EQ(message.method, stun::binding);
    EXPECT_EQ(message.type, StunClass::request);
    EXPECT_EQ(message.username, "evtj:h6vY");
    EXPECT_EQ(message.software, "STUN test client");
    EXPECT_TRUE(message.has_fingerprint);
    EXPECT_TRUE(stun_integrity_ok(sample_request, message, short_term_password));
    EXPECT_FALSE(stun_integrity_ok(sample_request, message, "another password"));
}

TEST(StunMessage, Rfc5769Ipv4ResponseGivesTheMappedAddress)
{
    const StunMessage message = decoded(decode_stun(sample_ipv4_response));
    EXPECT_EQ(message.type, StunClass::success);
    ASSERT_TRUE(message.xor_mapped_address);
    EXPECT_EQ(message.xor_mapped_address->text(), "192.0.2.1:32853");
    EXPECT_EQ(message.software, "test vector");
    EXPECT_TRUE(stun_integrity_ok(sample_ipv4_response, message, short_term_password));
}

TEST(StunMessage, Rfc5769Ipv6ResponseGivesTheMappedAddress)
{
    const StunMessage message = decoded(decode_stun(sample_ipv6_response));
    ASSERT_TRUE(message.xor_mapped_address);
    EXPECT_EQ(message.xor_mapped_address->text(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
    EXPECT_TRUE(stun_integrity_ok(sample_ipv6_response, message, short_term_password));
}

TEST(StunMessage, Rfc5769LongTermRequestVerifiesUnderTheMd5Key)
{
    const StunMessage message = decoded(decode_stun(sample_long_term_request));
    EXPECT_EQ(message.realm, "example.org");
    EXPECT_EQ(message.nonce, "f//499k954d6OL34oL9FSTvy64sA");
    ASSERT_TRUE(message.username);
    EXPECT_FALSE(message.has_fingerprint);
    // The password after SASLprep (RFC 5769 errata: "TheMatrIX").
    const std::string key = stun_long_term_key(*message.username, "example.org", "TheMatrIX");
    EXPECT_TRUE(stun_integrity_ok(sample_long_term_request, message, key));
    EXPECT_FALSE(stun_integrity_ok(sample_long_term_request, message,
                                   stun_long_term_key(*message.username, "example.org", "x")));
}

TEST(StunMessage, BuilderWritesTheRfc5769RequestsAttributesAsTheRfcDoes)
{
    StunTransactionId id{};
    std::copy(sample_request.begin() + 8, sample_request.begin() + 20, id.begin());
    StunBuilder builder(stun::binding, StunClass::request, id);
    builder.add(stun::software, "STUN test client");
    builder.add_u32(0x0024, 0x6e0001ff);                                     // PRIORITY
    builder.add(0x8029, std::string("\x93\x2f\xf9\xb1\x51\x26\x3b\x36", 8)); // ICE-CONTROLLED
    builder.add(stun::username, "evtj:h6vY");
    const std::vector<std::uint8_t> built = builder.finish(short_term_password, true);
    ASSERT_EQ(built.size(), sample_request.size());
    // Up to USERNAME's padding, which the RFC fills with spaces and we with zeros (RFC 8489
    // allows any); MESSAGE-INTEGRITY and FINGERPRINT cover the padding, so they differ too.
    EXPECT_TRUE(std::equal(built.begin(), built.begin() + 61, sample_request.begin()));
    const StunMessage ours = decoded(decode_stun(built));
    EXPECT_EQ(ours.username, "evtj:h6vY");
    EXPECT_TRUE(ours.has_fingerprint);
    EXPECT_TRUE(stun_integrity_ok(built, ours, short_term_password));
}

TEST(StunMessage, BuilderMatchesTheRfc5769LongTermRequest)
{
    StunTransactionId id{};
    std::copy(sample_long_term_request.begin() + 8, sample_long_term_request.begin() + 20,
              id.begin());
    const std::string username = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
                                 "\xe3\x82\xb9";
    StunBuilder builder(stun::binding, StunClass::request, id);
    builder.add(stun::username, username);
    builder.add(stun::nonce, "f//499k954d6OL34oL9FSTvy64sA");
    builder.add(stun::realm, "example.org");
    EXPECT_EQ(builder.finish(stun_long_term_key(username, "example.org", "TheMatrIX"), false),
              sample_long_term_request);
}

TEST(StunMessage, AllocateAnswerRoundTrips)
{
    const StunTransactionId id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    StunAddress relay;
    relay.bytes = {203, 0, 113, 10};
    relay.port = 49152;
    StunAddress mapped;
    mapped.ipv6 = true;
    mapped.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    mapped.port = 1;
    const std::string key = stun_long_term_key("1700000000:signald-check", "realm", "pw");
    const auto bytes = StunBuilder(stun::allocate, StunClass::success, id)
                           .add_xor_address(stun::xor_relayed_address, relay)
                           .add_xor_address(stun::xor_mapped_address, mapped)
                           .add_u32(stun::lifetime, 600)
                           .finish(key, true);
    const StunMessage message = decoded(decode_stun(bytes));
    EXPECT_EQ(message.method, stun::allocate);
    EXPECT_EQ(message.type, StunClass::success);
    EXPECT_EQ(message.transaction_id, id);
    EXPECT_EQ(message.xor_relayed_address, relay);
    EXPECT_EQ(message.xor_relayed_address->text(), "203.0.113.10:49152");
    EXPECT_EQ(message.xor_mapped_address->text(), "[2001:db8::1]:1");
    EXPECT_EQ(message.lifetime_seconds, 600u);
    EXPECT_TRUE(stun_integrity_ok(bytes, message, key));
}

TEST(StunMessage, ErrorAnswerRoundTripsWithRealmAndNonce)
{
    const StunTransactionId id{};
    const auto bytes = StunBuilder(stun::refresh, StunClass::error, id)
                           .add_error({438, "Stale Nonce"})
                           .add(stun::realm, "signald.test")
                           .add(stun::nonce, "abc")
                           .finish(std::nullopt, false);
    const StunMessage message = decoded(decode_stun(bytes));
    EXPECT_EQ(message.method, stun::refresh);
    EXPECT_EQ(message.type, StunClass::error);
    ASSERT_TRUE(message.error);
    EXPECT_EQ(message.error->code, 438);
    EXPECT_EQ(message.error->reason, "Stale Nonce");
    EXPECT_EQ(message.realm, "signald.test");
    EXPECT_EQ(message.nonce, "abc");
    EXPECT_FALSE(message.integrity_offset);
    EXPECT_FALSE(stun_integrity_ok(bytes, message, "key"));
}

TEST(StunMessage, Ipv6AddressesAreWrittenAsRfc5952Says)
{
    StunAddress address;
    address.ipv6 = true;
    address.port = 443;
    EXPECT_EQ(address.text(), "[::]:443");
    address.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(address.text(), "[2001:db8:0:1::1]:443");
    address.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1};
    EXPECT_EQ(address.text(), "[2001:db8:0:1:1:0:1:1]:443"); // a single zero group stays
}

TEST(StunMessage, MessageSizeComesFromTheHeader)
{
    EXPECT_EQ(stun_message_size(std::span(sample_request).first(3)), std::nullopt);
    EXPECT_EQ(stun_message_size(std::span(sample_request).first(4)), sample_request.size());
}

TEST(StunMessage, MalformedInputIsRefusedWithAReason)
{
    EXPECT_EQ(refusal(decode_stun(std::span(sample_request).first(19))),
              "shorter than a STUN header");
    auto bytes = sample_ipv4_response;
    bytes[4] = 0;
    EXPECT_EQ(refusal(decode_stun(bytes)), "not a STUN message (no magic cookie)");
    bytes = sample_ipv4_response;
    bytes[0] |= 0x80;
    EXPECT_EQ(refusal(decode_stun(bytes)), "not a STUN message (the first two bits are not zero)");
    bytes = sample_ipv4_response;
    bytes.push_back(0);
    EXPECT_EQ(refusal(decode_stun(bytes)), "STUN length does not match the bytes received");
    bytes = sample_ipv4_response;
    bytes[3] = 0x3d;
    EXPECT_EQ(refusal(decode_stun(bytes)), "STUN length is not a multiple of 4");
    bytes = sample_ipv4_response;
    bytes.back() ^= 1;
    EXPECT_EQ(refusal(decode_stun(bytes)), "FINGERPRINT does not match");
    bytes = sample_ipv4_response;
    bytes[23] = 0xff; // SOFTWARE's length runs past the end
    EXPECT_EQ(refusal(decode_stun(bytes)), "attribute runs past the end of the message");
    bytes = sample_ipv4_response;
    bytes[41] = 0x07; // XOR-MAPPED-ADDRESS of family 7
    EXPECT_EQ(refusal(decode_stun(bytes)), "malformed XOR address");
}

TEST(StunMessage, ErrorCodeOutsideItsRangeIsRefused)
{
    const auto bytes = StunBuilder(stun::allocate, StunClass::error, {})
                           .add(stun::error_code, std::string("\0\0\x02\x00", 4))
                           .finish(std::nullopt, false);
    EXPECT_EQ(refusal(decode_stun(bytes)), "ERROR-CODE out of range");
}

TEST(StunMessage, AttributesAfterMessageIntegrityAreIgnored)
{
    auto bytes = StunBuilder(stun::allocate, StunClass::success, {}).finish("key", false);
    // A REALM after MESSAGE-INTEGRITY is not covered by it, so it must not count.
    const std::vector<std::uint8_t> realm = {0x00, 0x14, 0x00, 0x04, 'e', 'v', 'i', 'l'};
    bytes.insert(bytes.end(), realm.begin(), realm.end());
    bytes[3] = static_cast<std::uint8_t>(bytes.size() - 20);
    const StunMessage message = decoded(decode_stun(bytes));
    EXPECT_FALSE(message.realm);
    EXPECT_TRUE(stun_integrity_ok(bytes, message, "key"));
}

} // namespace stun_message_test
} // namespace signald
