#pragma once
// JWTs built by the tests themselves (base64url over OpenSSL's HMAC), never with signald's own
// code, so that a token the server accepts is not merely one its code produced.

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace signald::test {

inline std::string b64url(std::string_view bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    for (char& c : out)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

inline std::string hmac(const std::string& key, std::string_view data,
                        const EVP_MD* md = EVP_sha256())
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &length);
    return {reinterpret_cast<const char*>(digest.data()), length};
}

// A compact JWT of header and payload, signed with key (HMAC-SHA-256 unless md says otherwise).
inline std::string make_jwt(const nlohmann::json& header, const nlohmann::json& payload,
                            const std::string& key, const EVP_MD* md = EVP_sha256())
{
    const std::string input = b64url(header.dump()) + "." + b64url(payload.dump());
    return input + "." + b64url(hmac(key, input, md));
}

// An HS256 token as signald expects it, with a kid header when given.
inline std::string make_token(const nlohmann::json& payload, const std::string& key,
                              std::optional<std::string> kid = {})
{
    nlohmann::json header{{"alg", "HS256"}, {"typ", "JWT"}};
    if (kid)
        header["kid"] = *kid;
    return make_jwt(header, payload, key);
}

inline std::int64_t unix_now()
{
    return static_cast<std::int64_t>(std::time(nullptr));
}

// The claims of a token for room, valid for lifetime seconds from now.
inline nlohmann::json claims(const std::string& room, std::int64_t lifetime = 600)
{
    return nlohmann::json{{"room", room}, {"exp", unix_now() + lifetime}};
}

inline nlohmann::json join_with(const std::string& room, const std::string& token)
{
    return nlohmann::json{{"action", "join"}, {"roomId", room}, {"token", token}};
}

} // namespace signald::test
