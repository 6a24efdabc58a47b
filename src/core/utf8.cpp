#include "signald/core/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace signald::utf8 {

std::size_t sequence_length(std::string_view text, std::size_t pos)
{
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(pos);
    if (lead < 0x80)
        return 1;

    // Table 3-7 of the Unicode standard: the second byte's range depends on the lead byte.
    std::size_t length = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            low = 0xA0; // no overlong three-byte forms
        else if (lead == 0xED)
            high = 0x9F; // no UTF-16 surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            low = 0x90; // no overlong four-byte forms
        else if (lead == 0xF4)
            high = 0x8F; // nothing above U+10FFFF
    } else {
        return 0;
    }

    if (text.size() - pos < length)
        return 0;
    if (byte(pos + 1) < low || byte(pos + 1) > high)
        return 0;
    for (std::size_t i = 2; i < length; ++i)
        if ((byte(pos + i) & 0xC0) != 0x80)
            return 0;
    return length;
}

bool is_valid(std::string_view text)
{
    constexpr std::uint64_t high_bits = 0x8080808080808080ULL;
    std::size_t pos = 0;
    while (pos < text.size()) {
        if (text.size() - pos >= 8) {
            std::uint64_t word;
            std::memcpy(&word, text.data() + pos, sizeof word);
            if ((word & high_bits) == 0) {
                pos += 8;
                continue;
            }
        }
        const std::size_t length = sequence_length(text, pos);
        if (length == 0)
            return false;
        pos += length;
    }
    return true;
}

std::size_t count_code_points(std::string_view text)
{
    std::size_t count = 0;
    for (char c : text)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
            ++count;
    return count;
}

} // namespace signald::utf8
