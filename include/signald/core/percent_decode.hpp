#pragma once
// RFC 3986 percent-decoding, written once for the request targets of the static site and the
// passwords of --redis URLs. Pure, and fuzzed through both.

#include <optional>
#include <string>
#include <string_view>

namespace signald {

// text with every %XX replaced by its byte; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

} // namespace signald
