#include "signald/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace signald {

std::string hmac_sha1_base64(std::string_view key, std::string_view message)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_bytes = 0;
    if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
             &digest_bytes) == nullptr)
        throw std::runtime_error("HMAC-SHA1 failed"); // only if libcrypto itself is broken

    // 4 output characters per 3 input bytes, rounded up, plus the terminating NUL.
    std::array<unsigned char, (EVP_MAX_MD_SIZE + 2) / 3 * 4 + 1> encoded{};
    const int length =
        EVP_EncodeBlock(encoded.data(), digest.data(), static_cast<int>(digest_bytes));
    return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(length)};
}

TurnCredential turn_credential(std::string_view secret, std::string_view client_id,
                               std::chrono::system_clock::time_point now, std::chrono::seconds ttl)
{
    // system_clock counts from the Unix epoch (guaranteed since C++20), as coturn's time(NULL).
    const auto expiry =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()) + ttl;
    std::string username = turn_username(expiry.count(), client_id);
    std::string credential = hmac_sha1_base64(secret, username);
    return {std::move(username), std::move(credential)};
}

IceServersFor make_ice_servers(const IceOptions& options, WallClock now)
{
    const bool has_turn = std::any_of(options.urls.begin(), options.urls.end(), is_turn_url);
    const bool has_secret = !options.turn_secret.empty();
    if (has_secret && !has_turn)
        spdlog::warn("--turn-secret has no effect without a turn: or turns: --ice-server");
    if (has_turn && !has_secret)
        spdlog::warn("turn: URLs are sent without credentials (no --turn-secret): browsers can "
                     "only use a TURN server that asks for none");
    if (options.urls.empty())
        return {};

    std::string list;
    for (const auto& url : options.urls)
        list += (list.empty() ? "" : " ") + url;
    if (!has_turn || !has_secret) {
        spdlog::info("ICE servers for every joined: {}", list);
        // The same for everyone, so build it once.
        return
            [json = ice_servers_json(options.urls, std::nullopt)](const ClientId&) { return json; };
    }

    spdlog::info("ICE servers for every joined: {} (TURN credentials valid {} s)", list,
                 options.turn_ttl.count());
    if (!now)
        now = [] { return std::chrono::system_clock::now(); };
    return [urls = options.urls, secret = options.turn_secret, ttl = options.turn_ttl,
            now = std::move(now)](const ClientId& id) {
        return ice_servers_json(urls, turn_credential(secret, id, now(), ttl));
    };
}

} // namespace signald
