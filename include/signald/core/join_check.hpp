#pragma once
// JoinCheck: who may join, decided outside the core. With --auth-secret-file, Server sets one
// that verifies the join's signed room token (auth/room_token.hpp); without it every join passes
// and the protocol does not read a token at all.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace signald {

// What a token grants the member it admits.
struct JoinPass
{
    std::optional<std::string> name; // the member's name, whatever join.name said ("": none)
    std::optional<std::string> sub;  // who it is, for the log
    bool moderator = false;
    // What a kick of this member bans from the room (docs/protocol.md 7.4): its sub, or its
    // token when it has none, in a form that is not the token itself. Empty: a kick bans nothing.
    std::string ban_key;
};

// An `unauthorized` refusal: its message says which check failed, never the token.
struct JoinRefusal
{
    std::string message;
};

// token: the join's, or nullopt when it carried none.
using JoinCheck = std::function<std::variant<JoinPass, JoinRefusal>(
    const std::optional<std::string>& token, std::string_view room_id)>;

} // namespace signald
