#include "signald/core/base64url.hpp"

namespace signald::base64url {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

unsigned byte_at(std::string_view bytes, std::size_t i)
{
    return static_cast<unsigned char>(bytes[i]);
}

} // namespace

std::string encode(std::string_view bytes)
{
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const unsigned bits =
            byte_at(bytes, i) << 16 | byte_at(bytes, i + 1) << 8 | byte_at(bytes, i + 2);
        for (int shift = 18; shift >= 0; shift -= 6)
            out.push_back(alphabet[(bits >> shift) & 0x3F]);
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        unsigned bits = byte_at(bytes, i) << 16;
        if (rest == 2)
            bits |= byte_at(bytes, i + 1) << 8;
        out.push_back(alphabet[(bits >> 18) & 0x3F]);
        out.push_back(alphabet[(bits >> 12) & 0x3F]);
        if (rest == 2)
            out.push_back(alphabet[(bits >> 6) & 0x3F]);
    }
    return out;
}

std::optional<std::string> decode(std::string_view text)
{
    if (text.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3 + 2);
    unsigned bits = 0;
    int held = 0;
    for (const char c : text) {
        const auto value = alphabet.find(c);
        if (value == std::string_view::npos)
            return std::nullopt;
        bits = (bits << 6) | static_cast<unsigned>(value);
        held += 6;
        if (held >= 8) {
            held -= 8;
            out.push_back(static_cast<char>((bits >> held) & 0xFF));
        }
    }
    if ((bits & ((1U << held) - 1)) != 0)
        return std::nullopt;
    return out;
}

} // namespace signald::base64url
