#include "signald/turn/stun_message.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace signald {
namespace {

constexpr std::size_t integrity_bytes = 20;           // HMAC-SHA1
constexpr std::uint32_t fingerprint_xor = 0x5354554E; // "STUN"

std::uint16_t read_u16(std::span<const std::uint8_t> bytes, std::size_t at)
{
    return static_cast<std::uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

std::uint32_t read_u32(std::span<const std::uint8_t> bytes, std::size_t at)
{
    return static_cast<std::uint32_t>(bytes[at]) << 24 |
           static_cast<std::uint32_t>(bytes[at + 1]) << 16 |
           static_cast<std::uint32_t>(bytes[at + 2]) << 8 | bytes[at + 3];
}

void put_u16(std::vector<std::uint8_t>& out, std::size_t at, std::size_t value)
{
    out[at] = static_cast<std::uint8_t>(value >> 8);
    out[at + 1] = static_cast<std::uint8_t>(value);
}

void append_u16(std::vector<std::uint8_t>& out, std::size_t value)
{
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void append_u32(std::vector<std::uint8_t>& out, std::uint32_t value)
{
    append_u16(out, value >> 16);
    append_u16(out, value & 0xFFFF);
}

// CRC-32 (ISO 3309, as zlib's crc32), bit by bit: messages are short and checked rarely.
std::uint32_t crc32(std::span<const std::uint8_t> bytes)
{
    std::uint32_t crc = 0xFFFFFFFF;
    for (const std::uint8_t byte : bytes) {
        crc ^= byte;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xEDB88320 & (0U - (crc & 1)));
    }
    return ~crc;
}

std::array<std::uint8_t, integrity_bytes> hmac_sha1(std::string_view key,
                                                    std::span<const std::uint8_t> message)
{
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), message.data(), message.size(),
             digest.data(), &length) == nullptr ||
        length != integrity_bytes)
        throw std::runtime_error("HMAC-SHA1 failed"); // only if libcrypto itself is broken
    std::array<std::uint8_t, integrity_bytes> out{};
    std::memcpy(out.data(), digest.data(), out.size());
    return out;
}

// The 16 bits of a message type: method bits M0-M11 around the class bits C0 (bit 4) and C1
// (bit 8), RFC 8489 5.
std::uint16_t message_type(std::uint16_t method, StunClass type)
{
    const unsigned m = method;
    const auto c = static_cast<unsigned>(type);
    return static_cast<std::uint16_t>((m & 0x000FU) | (m & 0x0070U) << 1 | (m & 0x0F80U) << 2 |
                                      (c & 1U) << 4 | (c & 2U) << 7);
}

std::string decode_text(std::span<const std::uint8_t> value)
{
    return {reinterpret_cast<const char*>(value.data()), value.size()};
}

// XOR-MAPPED-ADDRESS and XOR-RELAYED-ADDRESS (RFC 8489 14.2); nullopt if malformed.
std::optional<StunAddress> decode_xor_address(std::span<const std::uint8_t> value,
                                              const StunTransactionId& id)
{
    if (value.size() < 4)
        return std::nullopt;
    StunAddress address;
    const std::uint8_t family = value[1];
    if (family == 0x01 && value.size() == 8)
        address.ipv6 = false;
    else if (family == 0x02 && value.size() == 20)
        address.ipv6 = true;
    else
        return std::nullopt;
    address.port = static_cast<std::uint16_t>(read_u16(value, 2) ^ (stun::magic_cookie >> 16));
    // The address is XORed with the cookie, then (IPv6) the transaction id.
    std::array<std::uint8_t, 16> mask{0x21, 0x12, 0xA4, 0x42};
    std::memcpy(mask.data() + 4, id.data(), id.size());
    const std::size_t length = address.ipv6 ? 16 : 4;
    for (std::size_t i = 0; i < length; ++i)
        address.bytes[i] = static_cast<std::uint8_t>(value[4 + i] ^ mask[i]);
    return address;
}

} // namespace

std::string StunAddress::text() const
{
    char buffer[64];
    if (!ipv6) {
        std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u:%u", bytes[0], bytes[1], bytes[2],
                      bytes[3], port);
        return buffer;
    }
    // RFC 5952: lower case, leading zeros dropped, the longest run of two or more zero groups
    // (the first of equals) as "::".
    std::array<unsigned, 8> groups{};
    for (std::size_t i = 0; i < 8; ++i)
        groups[i] = static_cast<unsigned>(bytes[2 * i] << 8 | bytes[2 * i + 1]);
    std::size_t best_start = 8, best_length = 0;
    for (std::size_t i = 0; i < 8;) {
        if (groups[i] != 0) {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < 8 && groups[j] == 0)
            ++j;
        if (j - i > best_length && j - i >= 2) {
            best_start = i;
            best_length = j - i;
        }
        i = j;
    }
    std::string out = "[";
    for (std::size_t i = 0; i < 8; ++i) {
        if (i == best_start) {
            out += "::";
            i += best_length - 1;
            continue;
        }
        if (!out.ends_with(':') && out.size() > 1)
            out += ':';
        std::snprintf(buffer, sizeof buffer, "%x", groups[i]);
        out += buffer;
    }
    return out + "]:" + std::to_string(port);
}

std::optional<std::size_t> stun_message_size(std::span<const std::uint8_t> bytes)
{
    if (bytes.size() < 4)
        return std::nullopt;
    return stun::header_bytes + read_u16(bytes, 2);
}

std::variant<StunMessage, std::string> decode_stun(std::span<const std::uint8_t> bytes)
{
    if (bytes.size() < stun::header_bytes)
        return std::string("shorter than a STUN header");
    const std::uint16_t type = read_u16(bytes, 0);
    if ((type & 0xC000) != 0)
        return std::string("not a STUN message (the first two bits are not zero)");
    if (read_u32(bytes, 4) != stun::magic_cookie)
        return std::string("not a STUN message (no magic cookie)");
    const std::size_t length = read_u16(bytes, 2);
    if (length % 4 != 0)
        return std::string("STUN length is not a multiple of 4");
    if (stun::header_bytes + length != bytes.size())
        return std::string("STUN length does not match the bytes received");

    StunMessage message;
    message.method =
        static_cast<std::uint16_t>((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
    message.type = static_cast<StunClass>((type >> 4 & 1) | (type >> 7 & 2));
    std::memcpy(message.transaction_id.data(), bytes.data() + 8, message.transaction_id.size());

    std::size_t at = stun::header_bytes;
    while (at < bytes.size()) {
        if (bytes.size() - at < 4)
            return std::string("truncated attribute header");
        const std::uint16_t attribute = read_u16(bytes, at);
        const std::size_t value_length = read_u16(bytes, at + 2);
        const std::size_t padded = (value_length + 3) / 4 * 4;
        if (bytes.size() - at - 4 < padded)
            return std::string("attribute runs past the end of the message");
        const auto value = bytes.subspan(at + 4, value_length);

        if (message.has_fingerprint)
            return std::string("attribute after FINGERPRINT");
        if (attribute == stun::fingerprint) {
            if (value_length != 4)
                return std::string("FINGERPRINT of the wrong size");
            // The CRC covers everything before it, with the length as the message has it.
            if ((crc32(bytes.first(at)) ^ fingerprint_xor) != read_u32(value, 0))
                return std::string("FINGERPRINT does not match");
            message.has_fingerprint = true;
        } else if (message.integrity_offset) {
            // RFC 8489 14.5: after MESSAGE-INTEGRITY only FINGERPRINT counts; ignore the rest.
        } else if (attribute == stun::message_integrity) {
            if (value_length != integrity_bytes)
                return std::string("MESSAGE-INTEGRITY of the wrong size");
            message.integrity_offset = at;
        } else if (attribute == stun::error_code) {
            if (value_length < 4)
                return std::string("ERROR-CODE too short");
            if (!message.error) {
                const int error_class = value[2] & 0x07;
                const int number = value[3];
                if (error_class < 3 || error_class > 6 || number > 99)
                    return std::string("ERROR-CODE out of range");
                message.error =
                    StunError{error_class * 100 + number, decode_text(value.subspan(4))};
            }
        } else if (attribute == stun::xor_relayed_address ||
                   attribute == stun::xor_mapped_address) {
            auto address = decode_xor_address(value, message.transaction_id);
            if (!address)
                return std::string("malformed XOR address");
            auto& slot = attribute == stun::xor_relayed_address ? message.xor_relayed_address
                                                                : message.xor_mapped_address;
            if (!slot)
                slot = address;
        } else if (attribute == stun::lifetime) {
            if (value_length != 4)
                return std::string("LIFETIME of the wrong size");
            if (!message.lifetime_seconds)
                message.lifetime_seconds = read_u32(value, 0);
        } else if (attribute == stun::realm || attribute == stun::nonce ||
                   attribute == stun::software || attribute == stun::username) {
            // RFC 8489: fewer than 763 bytes (REALM, NONCE, SOFTWARE) or 513 (USERNAME).
            if (value_length > 763)
                return std::string("text attribute too long");
            auto& slot = attribute == stun::realm      ? message.realm
                         : attribute == stun::nonce    ? message.nonce
                         : attribute == stun::software ? message.software
                                                       : message.username;
            if (!slot)
                slot = decode_text(value);
        }
        at += 4 + padded;
    }
    return message;
}

std::string stun_long_term_key(std::string_view username, std::string_view realm,
                               std::string_view password)
{
    std::string input;
    input.append(username).append(":").append(realm).append(":").append(password);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_md5(), nullptr) != 1)
        throw std::runtime_error("MD5 failed"); // only if libcrypto itself is broken
    return {reinterpret_cast<const char*>(digest.data()), length};
}

bool stun_integrity_ok(std::span<const std::uint8_t> bytes, const StunMessage& message,
                       std::string_view key)
{
    if (!message.integrity_offset)
        return false;
    const std::size_t at = *message.integrity_offset;
    if (at + 4 + integrity_bytes > bytes.size())
        return false;
    // The HMAC covers the message up to MESSAGE-INTEGRITY, with a length that ends after it.
    std::vector<std::uint8_t> covered(bytes.begin(), bytes.begin() + static_cast<long>(at));
    put_u16(covered, 2, at + 4 + integrity_bytes - stun::header_bytes);
    const auto expected = hmac_sha1(key, covered);
    return CRYPTO_memcmp(expected.data(), bytes.data() + at + 4, integrity_bytes) == 0;
}

StunBuilder::StunBuilder(std::uint16_t method, StunClass type, const StunTransactionId& id)
{
    append_u16(bytes_, message_type(method, type));
    append_u16(bytes_, 0);
    append_u32(bytes_, stun::magic_cookie);
    bytes_.insert(bytes_.end(), id.begin(), id.end());
}

StunBuilder& StunBuilder::add(std::uint16_t attribute, std::string_view value)
{
    append_u16(bytes_, attribute);
    append_u16(bytes_, value.size());
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    bytes_.resize((bytes_.size() + 3) / 4 * 4, 0); // padding
    return *this;
}

StunBuilder& StunBuilder::add_u32(std::uint16_t attribute, std::uint32_t value)
{
    append_u16(bytes_, attribute);
    append_u16(bytes_, 4);
    append_u32(bytes_, value);
    return *this;
}

StunBuilder& StunBuilder::add_error(const StunError& error)
{
    std::string value(4, '\0');
    value[2] = static_cast<char>(error.code / 100);
    value[3] = static_cast<char>(error.code % 100);
    return add(stun::error_code, value + error.reason);
}

StunBuilder& StunBuilder::add_xor_address(std::uint16_t attribute, const StunAddress& address)
{
    std::string value(4, '\0');
    value[1] = address.ipv6 ? 0x02 : 0x01;
    const auto port = static_cast<std::uint16_t>(address.port ^ (stun::magic_cookie >> 16));
    value[2] = static_cast<char>(port >> 8);
    value[3] = static_cast<char>(port);
    std::array<std::uint8_t, 16> mask{0x21, 0x12, 0xA4, 0x42};
    std::memcpy(mask.data() + 4, bytes_.data() + 8, 12);
    for (std::size_t i = 0; i < (address.ipv6 ? 16U : 4U); ++i)
        value.push_back(static_cast<char>(address.bytes[i] ^ mask[i]));
    return add(attribute, value);
}

std::vector<std::uint8_t> StunBuilder::finish(std::optional<std::string_view> integrity_key,
                                              bool fingerprint) const
{
    std::vector<std::uint8_t> out = bytes_;
    if (integrity_key) {
        put_u16(out, 2, out.size() + 4 + integrity_bytes - stun::header_bytes);
        const auto mac = hmac_sha1(*integrity_key, out);
        append_u16(out, stun::message_integrity);
        append_u16(out, integrity_bytes);
        out.insert(out.end(), mac.begin(), mac.end());
    }
    if (fingerprint) {
        put_u16(out, 2, out.size() + 8 - stun::header_bytes);
        const std::uint32_t crc = crc32(out) ^ fingerprint_xor;
        append_u16(out, stun::fingerprint);
        append_u16(out, 4);
        append_u32(out, crc);
    }
    put_u16(out, 2, out.size() - stun::header_bytes);
    return out;
}

std::string stun_method_name(std::uint16_t method)
{
    switch (method) {
    case stun::binding:
        return "Binding";
    case stun::allocate:
        return "Allocate";
    case stun::refresh:
        return "Refresh";
    default:
        char buffer[16];
        std::snprintf(buffer, sizeof buffer, "method 0x%03x", method);
        return buffer;
    }
}

} // namespace signald
