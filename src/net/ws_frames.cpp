#include "signald/net/ws_frames.hpp"

#include "signald/core/utf8.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace signald {
namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t rsv_bits = 0x70;
constexpr std::uint8_t opcode_bits = 0x0F;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::size_t mask_key_bytes = 4;
constexpr std::size_t max_control_payload = 125;

std::uint8_t byte_at(std::span<const char> bytes, std::size_t i)
{
    return static_cast<std::uint8_t>(bytes[i]);
}

// Bytes of header a client frame starting with these bytes has (masking key included); 2 until
// the second byte is known.
std::size_t header_length(std::span<const char> bytes)
{
    if (bytes.size() < 2)
        return 2;
    const std::uint8_t length_code = byte_at(bytes, 1) & 0x7F;
    const std::size_t extended = length_code == 126 ? 2 : length_code == 127 ? 8 : 0;
    return 2 + extended + mask_key_bytes;
}

// The payload length of a frame whose whole header is in bytes.
std::uint64_t payload_length(std::span<const char> bytes)
{
    const std::uint8_t length_code = byte_at(bytes, 1) & 0x7F;
    if (length_code < 126)
        return length_code;
    const std::size_t extended = length_code == 126 ? 2 : 8;
    std::uint64_t length = 0;
    for (std::size_t i = 0; i < extended; ++i)
        length = (length << 8) | byte_at(bytes, 2 + i);
    return length;
}

void unmask(char* payload, std::size_t size, const char* key_bytes)
{
    std::uint32_t key32;
    std::memcpy(&key32, key_bytes, sizeof key32);
    if (key32 == 0)
        return;
    const std::uint64_t key64 = (std::uint64_t{key32} << 32) | key32;
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, payload + i, sizeof word);
        word ^= key64;
        std::memcpy(payload + i, &word, sizeof word);
    }
    for (; i < size; ++i)
        payload[i] = static_cast<char>(payload[i] ^ key_bytes[i % mask_key_bytes]);
}

bool is_known_opcode(std::uint8_t opcode)
{
    switch (static_cast<WsOpcode>(opcode)) {
    case WsOpcode::continuation:
    case WsOpcode::text:
    case WsOpcode::binary:
    case WsOpcode::close:
    case WsOpcode::ping:
    case WsOpcode::pong:
        return true;
    }
    return false;
}

} // namespace

void append_frame(std::string& out, WsOpcode opcode, std::string_view payload)
{
    char header[10];
    std::size_t header_size = 2;
    header[0] = static_cast<char>(fin_bit | static_cast<std::uint8_t>(opcode));
    const std::uint64_t size = payload.size();
    if (size < 126) {
        header[1] = static_cast<char>(size);
    } else if (size <= 0xFFFF) {
        header[1] = 126;
        header[2] = static_cast<char>(size >> 8);
        header[3] = static_cast<char>(size);
        header_size = 4;
    } else {
        header[1] = 127;
        for (int i = 0; i < 8; ++i)
            header[2 + i] = static_cast<char>(size >> (56 - 8 * i));
        header_size = 10;
    }
    out.append(header, header_size);
    out.append(payload);
}

void OutboundFrames::append(WsOpcode opcode, std::string_view payload)
{
    if (!queue_)
        queue_ = std::make_unique<Queue>();
    std::string& bytes = queue_->bytes;
    std::size_t& sent = queue_->sent;
    // Reclaim the front once it is most of the buffer, cutting only between frames.
    if (sent > 0 && sent >= bytes.size() / 2) {
        std::size_t boundary = 0;
        while (true) {
            const std::size_t next = frame_end(boundary);
            if (next > sent)
                break;
            boundary = next;
        }
        bytes.erase(0, boundary);
        sent -= boundary;
    }
    append_frame(bytes, opcode, payload);
}

void OutboundFrames::append_close(std::uint16_t code, std::string_view reason)
{
    std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    payload += reason.substr(0, 123); // a control frame's payload is at most 125 bytes
    append(WsOpcode::close, payload);
}

void OutboundFrames::consumed(std::size_t count)
{
    if (!queue_)
        return; // nothing was queued, so count is 0
    queue_->sent += count;
    if (queue_->sent == queue_->bytes.size())
        queue_.reset();
}

void OutboundFrames::drop_unstarted()
{
    if (!queue_)
        return;
    if (queue_->sent == 0) {
        queue_.reset();
        return;
    }
    std::size_t end = 0;
    while (end < queue_->sent)
        end = frame_end(end);
    queue_->bytes.resize(end);
}

std::size_t OutboundFrames::frame_end(std::size_t start) const
{
    const std::string& bytes = queue_->bytes;
    const auto length_code = static_cast<std::uint8_t>(bytes[start + 1]) & 0x7F;
    std::size_t header = 2;
    std::uint64_t length = length_code;
    if (length_code >= 126) {
        const std::size_t extended = length_code == 126 ? 2 : 8;
        length = 0;
        for (std::size_t i = 0; i < extended; ++i)
            length = (length << 8) | static_cast<std::uint8_t>(bytes[start + 2 + i]);
        header += extended;
    }
    return start + header + static_cast<std::size_t>(length);
}

bool is_valid_close_code(std::uint16_t code)
{
    if (code >= 1000 && code <= 1003)
        return true;
    if (code >= 1007 && code <= 1014)
        return true;
    return code >= 3000 && code <= 4999;
}

std::uint16_t WsReceiver::receive(std::span<char> bytes, WsEvents& events)
{
    // Finish a frame that began in an earlier read, taking only the bytes it still needs.
    while (!done_ && carrying() && !bytes.empty()) {
        std::string& carry = held_->carry;
        std::size_t want = header_length(carry);
        if (carry.size() >= want) // the header is whole, and take_frame already checked it
            want += static_cast<std::size_t>(payload_length(carry));
        const std::size_t take = std::min(want - carry.size(), bytes.size());
        carry.append(bytes.data(), take);
        bytes = bytes.subspan(take);
        if (carry.size() < want)
            break;
        const std::size_t used = take_frame(carry, events);
        if (used != 0)
            carry.clear();
    }
    while (!done_ && !carrying() && !bytes.empty()) {
        const std::size_t used = take_frame(bytes, events);
        if (used == 0) {
            if (!done_)
                held().carry.assign(bytes.data(), bytes.size());
            break;
        }
        bytes = bytes.subspan(used);
    }
    if (held_ && held_->carry.empty() && held_->fragments.empty())
        held_.reset(); // an idle connection keeps nothing
    return failure_;
}

WsReceiver::Held& WsReceiver::held()
{
    if (!held_)
        held_ = std::make_unique<Held>();
    return *held_;
}

void WsReceiver::fail(std::uint16_t code)
{
    failure_ = code;
    done_ = true;
}

std::size_t WsReceiver::take_frame(std::span<char> bytes, WsEvents& events)
{
    if (bytes.size() < 2)
        return 0;
    const std::uint8_t first = byte_at(bytes, 0);
    const std::uint8_t second = byte_at(bytes, 1);
    const bool fin = (first & fin_bit) != 0;
    const std::uint8_t opcode = first & opcode_bits;
    const bool control = (opcode & 0x8) != 0;
    // No extension is ever negotiated, so RSV bits have no meaning; clients must mask.
    if ((first & rsv_bits) != 0 || !is_known_opcode(opcode) || (second & mask_bit) == 0 ||
        (control && (!fin || (second & 0x7F) > max_control_payload))) {
        fail(close_code::protocol_error);
        return 0;
    }
    const std::size_t header = header_length(bytes);
    if (bytes.size() < header)
        return 0;
    const std::uint64_t length = payload_length(bytes);

    const auto op = static_cast<WsOpcode>(opcode);
    if ((op == WsOpcode::continuation && !in_message_) ||
        ((op == WsOpcode::text || op == WsOpcode::binary) && in_message_) || (length >> 63) != 0) {
        fail(close_code::protocol_error);
        return 0;
    }
    if (op == WsOpcode::binary) {
        fail(close_code::unsupported_data);
        return 0;
    }
    if (!control && length > max_message_bytes_ - fragments_size()) {
        fail(close_code::too_big);
        return 0;
    }
    if (bytes.size() - header < length)
        return 0;

    char* payload_start = bytes.data() + header;
    const auto size = static_cast<std::size_t>(length);
    unmask(payload_start, size, payload_start - mask_key_bytes);
    const std::string_view payload(payload_start, size);

    switch (op) {
    case WsOpcode::text:
        if (!fin) {
            held().fragments.assign(payload);
            in_message_ = true;
        } else if (!utf8::is_valid(payload)) {
            fail(close_code::invalid_payload);
        } else {
            events.on_text(payload);
        }
        break;
    case WsOpcode::continuation:
        held().fragments.append(payload);
        if (fin) {
            in_message_ = false;
            if (!utf8::is_valid(held_->fragments)) {
                fail(close_code::invalid_payload);
                break;
            }
            const std::string message = std::exchange(held_->fragments, {});
            events.on_text(message);
        }
        break;
    case WsOpcode::ping:
        events.on_ping(payload);
        break;
    case WsOpcode::pong:
        events.on_pong(payload);
        break;
    case WsOpcode::close: {
        if (size == 1) {
            fail(close_code::protocol_error);
            break;
        }
        std::uint16_t code = 1005; // no status code present
        if (size >= 2) {
            code = static_cast<std::uint16_t>((byte_at(bytes, header) << 8) |
                                              byte_at(bytes, header + 1));
            if (!is_valid_close_code(code)) {
                fail(close_code::protocol_error);
                break;
            }
        }
        const std::string_view reason = size > 2 ? payload.substr(2) : std::string_view{};
        if (!utf8::is_valid(reason)) {
            fail(close_code::invalid_payload);
            break;
        }
        done_ = true;
        events.on_close(code, reason);
        break;
    }
    case WsOpcode::binary:
        break; // refused above
    }
    return header + size;
}

} // namespace signald
