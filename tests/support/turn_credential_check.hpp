#pragma once
// The TURN REST credential as the tests compute it, apart from signald's own code
// (src/turn_credentials.cpp): base64(HMAC-SHA1(secret, username)). Shared by the tests that
// check joined's and resumed's iceServers.

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace signald::test {

inline std::string expected_credential(const std::string& secret, const std::string& username)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_bytes = 0;
    HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(username.data()), username.size(), digest.data(),
         &digest_bytes);
    std::array<unsigned char, 64> encoded{};
    const int length =
        EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_bytes));
    return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(length)};
}

// Unix time in seconds, as the credential's expiry counts it.
inline std::int64_t unix_now()
{
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace signald::test
