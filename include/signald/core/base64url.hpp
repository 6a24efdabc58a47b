#pragma once
// base64url without padding (RFC 4648 5, as JWTs use it, RFC 7515 2): resume tokens and room
// tokens are spelled with it. One implementation for both.

#include <optional>
#include <string>
#include <string_view>

namespace signald::base64url {

std::string encode(std::string_view bytes);

// Strict: only the alphabet, no length that leaves a lone character, and the unused low bits of
// the last character zero, so each byte string has exactly one text and a token cannot be
// altered without changing what it decodes to. nullopt for anything else.
std::optional<std::string> decode(std::string_view text);

} // namespace signald::base64url
