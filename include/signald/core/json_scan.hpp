#pragma once
// A strict, non-recursive JSON (RFC 8259) validator that reports an object's top-level members as
// raw slices of the input. The protocol reads its few fields from those slices and forwards `data`
// byte for byte, so a message is never built into a DOM or re-serialised, and nesting depth costs
// heap, never stack. It accepts what nlohmann::json::accept accepts (a differential unit test
// holds it to that), except where nlohmann departs from RFC 8259 and JSON.parse: a NUL byte
// (nlohmann stops reading there) and a leading byte order mark (nlohmann skips it) are invalid
// here, and a number too large for a double (nlohmann refuses it) is valid here, since numbers
// are only relayed, never converted.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace signald::json_scan {

inline constexpr std::size_t npos = std::string_view::npos;

std::size_t skip_whitespace(std::string_view text, std::size_t pos);

// Position just past the string literal that starts at text[pos], or npos if it is malformed.
std::size_t skip_string(std::string_view text, std::size_t pos);

// Position just past the JSON value that starts at text[pos], or npos if it is malformed.
std::size_t skip_value(std::string_view text, std::size_t pos);

// The text a valid string literal (quotes included) stands for.
std::string decode_string(std::string_view literal);

enum class Shape
{
    object,
    not_object, // valid JSON, but an array, string, number, true, false or null
    invalid,
};

// Validates that text holds exactly one JSON value. For an object, calls
// on_member(key_literal, value_literal) for each top-level member in order; the slices point into
// text. on_member may be called before a later syntax error is found: use what it saw only when
// the result is Shape::object.
template <class OnMember>
Shape scan_object(std::string_view text, OnMember&& on_member)
{
    std::size_t pos = skip_whitespace(text, 0);
    if (pos >= text.size())
        return Shape::invalid;
    if (text[pos] != '{') {
        pos = skip_value(text, pos);
        if (pos == npos || skip_whitespace(text, pos) != text.size())
            return Shape::invalid;
        return Shape::not_object;
    }

    pos = skip_whitespace(text, pos + 1);
    if (pos < text.size() && text[pos] == '}') {
        ++pos;
    } else {
        for (;;) {
            const std::size_t key_begin = pos;
            if (pos >= text.size() || text[pos] != '"')
                return Shape::invalid;
            pos = skip_string(text, pos);
            if (pos == npos)
                return Shape::invalid;
            const std::string_view key = text.substr(key_begin, pos - key_begin);

            pos = skip_whitespace(text, pos);
            if (pos >= text.size() || text[pos] != ':')
                return Shape::invalid;
            const std::size_t value_begin = skip_whitespace(text, pos + 1);
            pos = skip_value(text, value_begin);
            if (pos == npos)
                return Shape::invalid;
            on_member(key, text.substr(value_begin, pos - value_begin));

            pos = skip_whitespace(text, pos);
            if (pos >= text.size())
                return Shape::invalid;
            if (text[pos] == '}') {
                ++pos;
                break;
            }
            if (text[pos] != ',')
                return Shape::invalid;
            pos = skip_whitespace(text, pos + 1);
        }
    }
    return skip_whitespace(text, pos) == text.size() ? Shape::object : Shape::invalid;
}

} // namespace signald::json_scan
