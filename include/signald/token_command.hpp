#pragma once
// `signald token` and `signald invite`: mint a signed room token from the secrets file, for a
// backend-less self-hoster (docs/protocol.md 7.3). The token goes to stdout on exactly one line;
// an invite is the page's URL carrying room and token.

#include "signald/auth/room_token.hpp"

#include <optional>
#include <string>
#include <variant>

namespace signald {

struct TokenCommand
{
    std::string secret_file;
    std::string room;
    std::optional<std::string> name;
    std::optional<std::string> sub;
    std::optional<std::string> kid;
    std::string role; // "" or "moderator"
    std::string ttl = "1h";
    std::optional<std::string> url; // invite: the page's address
};

// The secrets of an --auth-secret-file, or why not ("FILE: line 3: ...", never a secret).
std::variant<AuthSecrets, std::string> load_auth_secrets(const std::string& path);

// Seconds from "90", "90s", "15m", "2h" or "7d"; nullopt if it is none of those or not positive.
std::optional<long long> parse_ttl(const std::string& text);

// Prints the token (or the invite URL) and returns 0, or prints a one-line reason to stderr and
// returns 1.
int run_token_command(const TokenCommand& command);

} // namespace signald
