// fuzz_room_token: the input, as the `token` of a join, through verify_room_token against fixed
// secrets, at a fixed time, for room "r". Besides never crashing: a refusal's message never
// contains a secret; an accepted token is accepted again identically, names room "r" or "*",
// and stops being accepted when any one of its characters changes (the strict base64url and the
// signature leave no other text for the same token).

#include "check.hpp"

#include "signald/auth/room_token.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace {

using signald::AuthSecrets;
using signald::RoomGrant;
using signald::TokenRefusal;

constexpr std::int64_t now = 1'800'000'000;

const AuthSecrets& secrets()
{
    static const AuthSecrets keys = [] {
        AuthSecrets out;
        out.bare = "fuzz-bare-secret-0123456789abcdef";
        out.by_kid.emplace("k1", "fuzz-kid-one-secret-0123456789abcdef");
        return out;
    }();
    return keys;
}

bool same(const RoomGrant& a, const RoomGrant& b)
{
    return a.room == b.room && a.name == b.name && a.sub == b.sub && a.moderator == b.moderator;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string token(reinterpret_cast<const char*>(data), size);
    const auto result = signald::verify_room_token(token, secrets(), "r", now);
    if (const auto* refusal = std::get_if<TokenRefusal>(&result)) {
        const std::string message = signald::describe(*refusal);
        FUZZ_CHECK(message.find(*secrets().bare) == std::string::npos);
        FUZZ_CHECK(message.find(secrets().by_kid.at("k1")) == std::string::npos);
        return 0;
    }
    const auto& grant = std::get<RoomGrant>(result);
    FUZZ_CHECK(grant.room == "r" || grant.room == "*");
    const auto again = signald::verify_room_token(token, secrets(), "r", now);
    FUZZ_CHECK(std::holds_alternative<RoomGrant>(again) && same(std::get<RoomGrant>(again), grant));
    for (std::size_t i = 0; i < token.size(); ++i) {
        std::string changed = token;
        changed[i] = changed[i] == 'A' ? 'B' : 'A';
        FUZZ_CHECK(std::holds_alternative<TokenRefusal>(
            signald::verify_room_token(changed, secrets(), "r", now)));
    }
    return 0;
}
