#pragma once
// JWTs built by the tests themselves (base64url over OpenSSL's HMAC), never with signald's own
// code, so that a token the server accepts is not merely one its code produced.

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
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

} // namespace signald::test
