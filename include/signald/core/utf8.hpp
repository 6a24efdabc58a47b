#pragma once
// UTF-8 checks shared by the JSON scanner and the protocol's length rules.
// Pure functions over bytes: no allocation, no locale, no exceptions.

#include <cstddef>
#include <string_view>

namespace signald::utf8 {

// Length of the well-formed UTF-8 sequence starting at text[pos] (1..4), or 0 if the bytes there
// are not one (overlong forms, UTF-16 surrogates and code points above U+10FFFF are rejected).
std::size_t sequence_length(std::string_view text, std::size_t pos);

// Whether all of text is well-formed UTF-8. Runs of ASCII are checked eight bytes at a time: this
// is on the path of every WebSocket text message.
bool is_valid(std::string_view text);

// Number of code points in text, which must already be valid UTF-8.
std::size_t count_code_points(std::string_view text);

} // namespace signald::utf8
