#pragma once
// Signed room tokens (docs/protocol.md 7.3): JWTs (RFC 7519) in compact form, signed with HS256
// (RFC 7518) and nothing else, checked against the secrets of --auth-secret-file; and the
// minting that `signald token` and `signald invite` do. Pure: no sockets, no files, no clock of
// its own (the caller passes the time), so every edge has a unit test and the verifier a fuzzer.
//
// Written on OpenSSL's HMAC and nlohmann rather than Debian's cpp-jwt (libcpp-jwt-dev 1.4),
// which falls short of the rules here: it checks exp and nbf before the signature (a forged
// token hears "expired"), computes nbf minus the leeway in unsigned arithmetic (an nbf below
// 30 wraps round and is never valid), reads NumericDates only as unsigned integers (RFC 7519
// allows any JSON number), and reads the wall clock itself (leeway edges cannot be tested).

#include "signald/core/join_check.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace signald {

// The secrets of --auth-secret-file. A token's `kid` header picks one of by_kid; a token
// without `kid` is checked against bare.
struct AuthSecrets
{
    std::optional<std::string> bare;
    std::map<std::string, std::string, std::less<>> by_kid;

    bool empty() const { return !bare && by_kid.empty(); }
};

// Every secret is the literal text of at least this many bytes (HS256's key size, RFC 7518 3.2).
inline constexpr std::size_t min_secret_bytes = 32;

// Reads the text of --auth-secret-file: one secret per line, `SECRET` or `KID SECRET` (split at
// the first space: a bare secret has none); blank lines and lines starting with `#` are ignored.
// A secret shorter than min_secret_bytes, a repeated kid, a second bare secret or a file with no
// secret at all is an error naming the line, never the secret.
std::variant<AuthSecrets, std::string> parse_auth_secrets(std::string_view text);

// What a valid token grants its bearer.
struct RoomGrant
{
    std::string room;                // the exact roomId, or "*" for any room
    std::optional<std::string> name; // the member's name, whatever join.name says
    std::optional<std::string> sub;  // logged with the join, and what a ban holds
    bool moderator = false;
};

// Why a token was refused, in the order the checks run (docs/protocol.md 7.1).
enum class TokenFault : std::uint8_t
{
    missing,
    malformed,
    algorithm,
    unknown_kid,
    signature,
    expired,
    not_yet_valid,
    wrong_room,
};

struct TokenRefusal
{
    TokenFault fault;
    std::string detail; // for the error's message: what exactly, never the token or a secret
};

// Clock leeway for exp and nbf, inclusive at both ends.
inline constexpr std::int64_t token_leeway_seconds = 30;

// Checks token (nullopt: the join carried none) for a join of room_id at now (seconds since the
// Unix epoch).
std::variant<RoomGrant, TokenRefusal> verify_room_token(std::optional<std::string_view> token,
                                                        const AuthSecrets& secrets,
                                                        std::string_view room_id, std::int64_t now);

// The message of the `unauthorized` error for a refusal.
std::string describe(const TokenRefusal& refusal);

// The Hub's JoinCheck for --auth-secret-file: verify_room_token at the wall clock's time, with
// what *secrets holds at each join, so that whoever shares it may replace the secrets while
// signald runs (SIGHUP re-reads the file: main.cpp).
JoinCheck token_join_check(std::shared_ptr<const AuthSecrets> secrets);

struct TokenRequest
{
    std::string room; // or "*"
    std::optional<std::string> name;
    std::optional<std::string> sub;
    std::optional<std::string> kid; // without it, the bare secret signs
    bool moderator = false;
    std::int64_t ttl_seconds = 3600;
};

struct MintError
{
    std::string message;
};

// A token for request, issued at now; or why not (no such kid, no bare secret, a room or name
// the protocol refuses, a ttl that is not positive).
std::variant<std::string, MintError> mint_room_token(const TokenRequest& request,
                                                     const AuthSecrets& secrets, std::int64_t now);

} // namespace signald
