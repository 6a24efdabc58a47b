#pragma once
// RFC 6455 framing, by hand: the header of a server frame, and client frames appended to an
// output buffer. Pure functions over bytes; WsClient owns the buffers and the socket.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

enum class WsOpcode : std::uint8_t
{
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

struct FrameHeader
{
    bool fin = false;
    bool masked = false;
    std::uint8_t opcode = 0;
    std::uint8_t reserved_bits = 0; // RSV1-3; nonzero means an extension we never negotiated
    std::size_t header_bytes = 0;
    std::uint64_t payload_bytes = 0;
};

// Reads one frame header from [data, data + size). Returns false when more bytes are needed.
bool parse_frame_header(const unsigned char* data, std::size_t size, FrameHeader& header);

// Appends the header of a masked client frame of payload_bytes; the caller appends the payload
// right after, unchanged, because the mask key is zero (see ws_frame.cpp).
void append_client_frame_header(std::string& out, WsOpcode opcode, std::size_t payload_bytes);

inline void append_client_frame(std::string& out, WsOpcode opcode, std::string_view payload)
{
    append_client_frame_header(out, opcode, payload.size());
    out.append(payload);
}

} // namespace bench
