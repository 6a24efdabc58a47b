#include "ws_frame.hpp"

namespace bench {

bool parse_frame_header(const unsigned char* data, std::size_t size, FrameHeader& header)
{
    if (size < 2)
        return false;
    header.fin = (data[0] & 0x80) != 0;
    header.reserved_bits = static_cast<std::uint8_t>(data[0] & 0x70);
    header.opcode = static_cast<std::uint8_t>(data[0] & 0x0F);
    header.masked = (data[1] & 0x80) != 0;
    std::uint64_t length = data[1] & 0x7F;
    std::size_t at = 2;
    if (length == 126) {
        if (size < 4)
            return false;
        length = (std::uint64_t{data[2]} << 8) | data[3];
        at = 4;
    } else if (length == 127) {
        if (size < 10)
            return false;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i)
            length = (length << 8) | data[i];
        at = 10;
    }
    if (header.masked)
        at += 4; // a violation the caller reports; the key is still part of the header
    if (size < at)
        return false;
    header.header_bytes = at;
    header.payload_bytes = length;
    return true;
}

void append_client_frame_header(std::string& out, WsOpcode opcode, std::size_t payload_bytes)
{
    char header[14];
    std::size_t at = 0;
    header[at++] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
    if (payload_bytes < 126) {
        header[at++] = static_cast<char>(0x80 | payload_bytes);
    } else if (payload_bytes < 65536) {
        header[at++] = static_cast<char>(0x80 | 126);
        header[at++] = static_cast<char>(payload_bytes >> 8);
        header[at++] = static_cast<char>(payload_bytes & 0xFF);
    } else {
        header[at++] = static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            header[at++] =
                static_cast<char>((static_cast<std::uint64_t>(payload_bytes) >> shift) & 0xFF);
    }
    // Mask key 0, deliberately. RFC 6455 requires clients to mask so that script in a browser
    // cannot make a frame look like plain HTTP to a caching proxy; this generator is not a
    // browser and talks straight to the server, which must accept any key, zero included.
    // XOR with zero leaves the payload as is, so frames are built without touching each byte
    // a second time: at a million messages a second that copy would cost a noticeable share
    // of the generator's one core.
    for (int i = 0; i < 4; ++i)
        header[at++] = 0;
    out.append(header, at);
}

} // namespace bench
