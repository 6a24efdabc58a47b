#include "signald/auth/room_token.hpp"

#include "signald/core/base64url.hpp"
#include "signald/core/protocol.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <chrono>
#include <cmath>

namespace signald {
namespace {

using json = nlohmann::json;

// Far above any real token (a few hundred bytes); bounds the work a hostile one can cause.
constexpr std::size_t max_token_chars = 8192;

std::string hmac_sha256(std::string_view key, std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(),
             &length) == nullptr)
        throw std::runtime_error("HMAC-SHA256 failed"); // only if libcrypto itself is broken
    return {reinterpret_cast<const char*>(digest.data()), length};
}

TokenRefusal refuse(TokenFault fault, std::string detail)
{
    return TokenRefusal{fault, std::move(detail)};
}

// What a kick bans: the sub, or else the token, digested so that no token is kept (nor handed
// to another node with the rooms) in the clear.
std::string ban_key(const RoomGrant& grant, std::string_view token)
{
    if (grant.sub)
        return "sub:" + *grant.sub;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(token.data(), token.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return "token:" +
           base64url::encode(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

std::string_view check_name(TokenFault fault)
{
    switch (fault) {
    case TokenFault::missing:
        return "missing";
    case TokenFault::malformed:
        return "malformed";
    case TokenFault::algorithm:
        return "algorithm";
    case TokenFault::unknown_kid:
        return "unknown kid";
    case TokenFault::signature:
        return "signature";
    case TokenFault::expired:
        return "expired";
    case TokenFault::not_yet_valid:
        return "not yet valid";
    case TokenFault::wrong_room:
        return "wrong room";
    }
    return "?";
}

// A JSON object from a base64url part, or nullopt.
std::optional<json> decode_object(std::string_view part)
{
    const auto text = base64url::decode(part);
    if (!text)
        return std::nullopt;
    json object = json::parse(*text, nullptr, false);
    if (object.is_discarded() || !object.is_object())
        return std::nullopt;
    return object;
}

// The claims, checked for shape; a refusal names the first claim that is wrong.
std::variant<RoomGrant, std::string> read_claims(const json& payload, double& exp,
                                                 std::optional<double>& nbf)
{
    const auto exp_field = payload.find("exp");
    if (exp_field == payload.end() || !exp_field->is_number())
        return std::string("exp must be a number");
    exp = exp_field->get<double>();
    if (const auto field = payload.find("nbf"); field != payload.end()) {
        if (!field->is_number())
            return std::string("nbf must be a number");
        nbf = field->get<double>();
    }
    RoomGrant grant;
    const auto room = payload.find("room");
    if (room == payload.end() || !room->is_string())
        return std::string("room must be a string");
    grant.room = room->get<std::string>();
    if (grant.room != "*" && !is_valid_room_id(grant.room))
        return std::string("room must be \"*\" or a valid roomId");
    if (const auto name = payload.find("name"); name != payload.end()) {
        if (!name->is_string() || !is_valid_name(name->get<std::string>()))
            return std::string("name must be at most 64 characters with no control characters");
        // "" is kept: the token says the member has no name (section 4), whatever join.name says.
        grant.name = name->get<std::string>();
    }
    if (const auto sub = payload.find("sub"); sub != payload.end()) {
        if (!sub->is_string())
            return std::string("sub must be a string");
        grant.sub = sub->get<std::string>();
    }
    if (const auto role = payload.find("role"); role != payload.end()) {
        if (!role->is_string() || role->get<std::string>() != "moderator")
            return std::string("role must be \"moderator\"");
        grant.moderator = true;
    }
    return grant;
}

} // namespace

std::variant<AuthSecrets, std::string> parse_auth_secrets(std::string_view text)
{
    AuthSecrets secrets;
    std::size_t line_number = 0;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos)
            end = text.size();
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        ++line_number;
        if (line.ends_with('\r'))
            line.remove_suffix(1); // a file written with CRLF line ends
        // Blank means no visible character: a line of spaces or tabs is skipped too, never read
        // as a kid or a secret.
        if (line.find_first_not_of(" \t") == std::string_view::npos || line.starts_with('#'))
            continue;
        const std::string where = "line " + std::to_string(line_number) + ": ";
        const auto space = line.find(' ');
        std::string_view secret = line;
        std::optional<std::string_view> kid;
        if (space != std::string_view::npos) {
            kid = line.substr(0, space);
            secret = line.substr(space + 1);
            if (kid->empty())
                return where + "a line starts with a space (KID SECRET, or SECRET alone)";
        }
        if (secret.size() < min_secret_bytes)
            return where + "the secret is " + std::to_string(secret.size()) + " bytes; at least " +
                   std::to_string(min_secret_bytes) + " are needed";
        if (kid) {
            if (!secrets.by_kid.emplace(std::string(*kid), std::string(secret)).second)
                return where + "kid \"" + std::string(*kid) + "\" is given twice";
        } else {
            if (secrets.bare)
                return where + "a second secret without a kid (a token without kid could "
                               "not say which)";
            secrets.bare = std::string(secret);
        }
    }
    if (secrets.empty())
        return std::string("no secret in the file (one per line: SECRET or KID SECRET)");
    return secrets;
}

std::variant<RoomGrant, TokenRefusal> verify_room_token(std::optional<std::string_view> token,
                                                        const AuthSecrets& secrets,
                                                        std::string_view room_id, std::int64_t now)
{
    if (!token)
        return refuse(TokenFault::missing, "this server admits a join only with a token");
    if (token->size() > max_token_chars)
        return refuse(TokenFault::malformed,
                      "longer than " + std::to_string(max_token_chars) + " characters");
    const auto first_dot = token->find('.');
    const auto second_dot =
        first_dot == std::string_view::npos ? first_dot : token->find('.', first_dot + 1);
    if (second_dot == std::string_view::npos ||
        token->find('.', second_dot + 1) != std::string_view::npos)
        return refuse(TokenFault::malformed, "not a JWT in compact form (three parts)");
    const std::string_view header_part = token->substr(0, first_dot);
    const std::string_view payload_part = token->substr(first_dot + 1, second_dot - first_dot - 1);
    const std::string_view signature_part = token->substr(second_dot + 1);

    const auto header = decode_object(header_part);
    if (!header)
        return refuse(TokenFault::malformed, "the header is not a base64url JSON object");
    const auto payload = decode_object(payload_part);
    if (!payload)
        return refuse(TokenFault::malformed, "the payload is not a base64url JSON object");
    const auto signature = base64url::decode(signature_part);
    if (!signature)
        return refuse(TokenFault::malformed, "the signature is not base64url");
    if (header->contains("crit"))
        return refuse(TokenFault::malformed, "a header with crit is not accepted");
    const auto kid_field = header->find("kid");
    if (kid_field != header->end() && !kid_field->is_string())
        return refuse(TokenFault::malformed, "kid must be a string");
    if (const auto typ = header->find("typ"); typ != header->end() && !typ->is_string())
        return refuse(TokenFault::malformed, "typ must be a string");
    double exp = 0;
    std::optional<double> nbf;
    auto claims = read_claims(*payload, exp, nbf);
    if (const auto* wrong = std::get_if<std::string>(&claims))
        return refuse(TokenFault::malformed, *wrong);

    const auto alg = header->find("alg");
    if (alg == header->end() || !alg->is_string() || alg->get<std::string>() != "HS256")
        return refuse(TokenFault::algorithm,
                      "alg must be HS256, not " +
                          (alg == header->end() ? std::string("absent") : alg->dump()));

    const std::string* secret = nullptr;
    if (kid_field != header->end()) {
        const auto found = secrets.by_kid.find(kid_field->get<std::string>());
        if (found == secrets.by_kid.end())
            return refuse(TokenFault::unknown_kid, "no secret has that kid");
        secret = &found->second;
    } else {
        if (!secrets.bare)
            return refuse(TokenFault::unknown_kid,
                          "the token names no kid, and every secret here has one");
        secret = &*secrets.bare;
    }

    const std::string expected =
        hmac_sha256(*secret, token->substr(0, second_dot)); // header.payload, as sent
    if (signature->size() != expected.size() ||
        CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0)
        return refuse(TokenFault::signature, "the signature does not match");

    const auto when = static_cast<double>(now);
    if (when > exp + static_cast<double>(token_leeway_seconds))
        return refuse(TokenFault::expired,
                      "the token expired (exp " +
                          std::to_string(static_cast<long long>(std::floor(exp))) + ")");
    if (nbf && when < *nbf - static_cast<double>(token_leeway_seconds))
        return refuse(TokenFault::not_yet_valid,
                      "the token is valid from nbf " +
                          std::to_string(static_cast<long long>(std::ceil(*nbf))));
    auto& grant = std::get<RoomGrant>(claims);
    if (grant.room != "*" && grant.room != room_id)
        return refuse(TokenFault::wrong_room, "the token is for another room");
    return std::move(grant);
}

std::string describe(const TokenRefusal& refusal)
{
    return "token refused (" + std::string(check_name(refusal.fault)) + "): " + refusal.detail;
}

JoinCheck token_join_check(std::shared_ptr<const AuthSecrets> secrets)
{
    return [secrets = std::move(secrets)](
               const std::optional<std::string>& token,
               std::string_view room_id) -> std::variant<JoinPass, JoinRefusal> {
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        auto verdict = verify_room_token(
            token ? std::optional<std::string_view>(*token) : std::nullopt, *secrets, room_id, now);
        if (const auto* refusal = std::get_if<TokenRefusal>(&verdict))
            return JoinRefusal{describe(*refusal)};
        auto& grant = std::get<RoomGrant>(verdict);
        std::string key = ban_key(grant, *token);
        return JoinPass{std::move(grant.name), std::move(grant.sub), grant.moderator,
                        std::move(key)};
    };
}

std::variant<std::string, MintError> mint_room_token(const TokenRequest& request,
                                                     const AuthSecrets& secrets, std::int64_t now)
{
    if (request.room != "*" && !is_valid_room_id(request.room))
        return MintError{"the room must be \"*\" or a roomId of 1 to 64 characters with no "
                         "control characters"};
    if (request.name && !is_valid_name(*request.name))
        return MintError{"the name must be at most 64 characters with no control characters"};
    if (request.ttl_seconds <= 0)
        return MintError{"the lifetime must be positive"};
    const std::string* secret = nullptr;
    json header{{"alg", "HS256"}, {"typ", "JWT"}};
    if (request.kid) {
        const auto found = secrets.by_kid.find(*request.kid);
        if (found == secrets.by_kid.end())
            return MintError{"no secret in the file has kid \"" + *request.kid + "\""};
        secret = &found->second;
        header["kid"] = *request.kid;
    } else {
        if (!secrets.bare)
            return MintError{"every secret in the file has a kid: choose one with --kid"};
        secret = &*secrets.bare;
    }
    json payload{{"room", request.room}, {"iat", now}, {"exp", now + request.ttl_seconds}};
    if (request.name)
        payload["name"] = *request.name;
    if (request.sub)
        payload["sub"] = *request.sub;
    if (request.moderator)
        payload["role"] = "moderator";
    // Text given on a command line may not be UTF-8: replaced, rather than a throw.
    const auto text = [](const json& value) {
        return value.dump(-1, ' ', false, json::error_handler_t::replace);
    };
    const std::string signing_input =
        base64url::encode(text(header)) + "." + base64url::encode(text(payload));
    return signing_input + "." + base64url::encode(hmac_sha256(*secret, signing_input));
}

} // namespace signald
