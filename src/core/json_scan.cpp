#include "signald/core/json_scan.hpp"

#include "signald/core/utf8.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

namespace signald::json_scan {
namespace {

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The UTF-16 code unit of the four hex digits at text[pos], or -1.
long hex4(std::string_view text, std::size_t pos)
{
    if (text.size() - pos < 4)
        return -1;
    long unit = 0;
    for (std::size_t i = pos; i < pos + 4; ++i) {
        const char c = text[i];
        if (!is_hex(c))
            return -1;
        const int digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
        unit = unit * 16 + digit;
    }
    return unit;
}

// Whether any of the 8 bytes of word is one a string scan must look at: '"', '\\', a control
// character (below 0x20) or the start of a UTF-8 sequence (0x80 and up). The usual SWAR tests
// ("has a zero byte", "has a byte less than n"): exact about whether there is one, not which.
bool has_special_byte(std::uint64_t word)
{
    constexpr std::uint64_t ones = 0x0101010101010101;
    constexpr std::uint64_t highs = 0x8080808080808080;
    const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    const std::uint64_t quote = has_zero(word ^ (ones * '"'));
    const std::uint64_t backslash = has_zero(word ^ (ones * '\\'));
    const std::uint64_t control = (word - ones * 0x20) & ~word & highs;
    return ((quote | backslash | control | word) & highs) != 0;
}

std::size_t skip_digits(std::string_view text, std::size_t pos)
{
    while (pos < text.size() && is_digit(text[pos]))
        ++pos;
    return pos;
}

std::size_t skip_number(std::string_view text, std::size_t pos)
{
    if (text[pos] == '-')
        ++pos;
    if (pos >= text.size() || !is_digit(text[pos]))
        return npos;
    pos = text[pos] == '0' ? pos + 1 : skip_digits(text, pos);
    if (pos < text.size() && text[pos] == '.') {
        const std::size_t fraction = pos + 1;
        pos = skip_digits(text, fraction);
        if (pos == fraction)
            return npos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
            ++pos;
        const std::size_t exponent = pos;
        pos = skip_digits(text, exponent);
        if (pos == exponent)
            return npos;
    }
    return pos;
}

std::size_t skip_literal(std::string_view text, std::size_t pos, std::string_view word)
{
    return text.substr(pos, word.size()) == word ? pos + word.size() : npos;
}

// A scalar (string, number, literal) at text[pos]; containers are handled by skip_value's loop.
std::size_t skip_scalar(std::string_view text, std::size_t pos)
{
    switch (text[pos]) {
    case '"':
        return skip_string(text, pos);
    case 't':
        return skip_literal(text, pos, "true");
    case 'f':
        return skip_literal(text, pos, "false");
    case 'n':
        return skip_literal(text, pos, "null");
    default:
        return text[pos] == '-' || is_digit(text[pos]) ? skip_number(text, pos) : npos;
    }
}

} // namespace

std::size_t skip_whitespace(std::string_view text, std::size_t pos)
{
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
        ++pos;
    return pos;
}

std::size_t skip_string(std::string_view text, std::size_t pos)
{
    if (pos >= text.size() || text[pos] != '"')
        return npos;
    ++pos;
    while (pos < text.size()) {
        // Signals are mostly SDP and candidates, long runs of plain ASCII: 8 bytes at a time
        // until a word holds a byte that needs a look (one byte at a time, this loop was about
        // 14% of the server's user-space time in fan-out).
        std::uint64_t word = 0;
        while (text.size() - pos >= sizeof word) {
            std::memcpy(&word, text.data() + pos, sizeof word);
            if (has_special_byte(word))
                break;
            pos += sizeof word;
        }
        if (pos >= text.size())
            break;
        const auto c = static_cast<unsigned char>(text[pos]);
        if (c == '"')
            return pos + 1;
        if (c < 0x20)
            return npos; // control characters must be escaped
        if (c >= 0x80) {
            const std::size_t length = utf8::sequence_length(text, pos);
            if (length == 0)
                return npos;
            pos += length;
            continue;
        }
        if (c != '\\') {
            ++pos;
            continue;
        }
        if (++pos >= text.size())
            return npos;
        switch (text[pos]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            ++pos;
            break;
        case 'u': {
            const long unit = hex4(text, pos + 1);
            if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
                return npos; // a low surrogate may only follow a high one
            pos += 5;
            if (unit >= 0xD800 && unit <= 0xDBFF) {
                if (text.substr(pos, 2) != "\\u")
                    return npos;
                const long low = hex4(text, pos + 2);
                if (low < 0xDC00 || low > 0xDFFF)
                    return npos;
                pos += 6;
            }
            break;
        }
        default:
            return npos;
        }
    }
    return npos;
}

std::size_t skip_value(std::string_view text, std::size_t pos)
{
    // Open containers, innermost last: '{' or '['. Depth lives here, on the heap, not the stack.
    std::vector<char> open;

    for (;;) {
        // A value starts at pos.
        pos = skip_whitespace(text, pos);
        if (pos >= text.size())
            return npos;
        const char c = text[pos];
        bool value_done = false;
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            pos = skip_whitespace(text, pos + 1);
            if (pos < text.size() && text[pos] == close) {
                ++pos;
                value_done = true;
            } else {
                open.push_back(c);
                if (c == '{') {
                    pos = skip_string(text, pos);
                    if (pos == npos)
                        return npos;
                    pos = skip_whitespace(text, pos);
                    if (pos >= text.size() || text[pos] != ':')
                        return npos;
                    ++pos;
                }
            }
        } else {
            pos = skip_scalar(text, pos);
            if (pos == npos)
                return npos;
            value_done = true;
        }
        if (!value_done)
            continue;

        // A value ended: close containers until one wants another element.
        for (;;) {
            if (open.empty())
                return pos;
            pos = skip_whitespace(text, pos);
            if (pos >= text.size())
                return npos;
            const bool in_object = open.back() == '{';
            if (text[pos] == (in_object ? '}' : ']')) {
                ++pos;
                open.pop_back();
                continue;
            }
            if (text[pos] != ',')
                return npos;
            ++pos;
            if (in_object) {
                pos = skip_string(text, skip_whitespace(text, pos));
                if (pos == npos)
                    return npos;
                pos = skip_whitespace(text, pos);
                if (pos >= text.size() || text[pos] != ':')
                    return npos;
                ++pos;
            }
            break;
        }
    }
}

std::string decode_string(std::string_view literal)
{
    const std::string_view inner = literal.substr(1, literal.size() - 2);
    if (inner.find('\\') == std::string_view::npos)
        return std::string(inner);
    // Escapes are rare in the fields we read; let the JSON library decode them.
    return nlohmann::json::parse(literal).get<std::string>();
}

} // namespace signald::json_scan
