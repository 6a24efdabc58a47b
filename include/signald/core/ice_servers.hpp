#pragma once
// ICE servers for `joined` (protocol.md 6.1): which URLs signald accepts, and the RTCIceServer
// JSON that carries them to a client. Pure functions: the app holds the TURN secret and the wall
// clock and hands Hub an IceServersFor; Hub calls it once per join and never sees a secret.

#include "signald/core/ids.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace signald {

// The JSON array text for one client's `joined.iceServers`, or an empty string for no field.
using IceServersFor = std::function<std::string(const ClientId&)>;

// Why url cannot be sent to browsers, or nullopt when it can. Accepted (RFC 7064, RFC 7065):
// stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp] and the same for turns:, where HOST is a
// name, an IPv4 address or a bracketed IPv6 address. Browsers throw on a URL they cannot parse,
// which would break every call, so anything else is refused at start-up.
std::optional<std::string> ice_url_problem(std::string_view url);

// turn: or turns: (the URLs that get credentials); false for stun: and anything else.
bool is_turn_url(std::string_view url);

// A TURN REST API credential (coturn's use-auth-secret).
struct TurnCredential
{
    std::string username;   // "<expiry unix time>:<clientId>"
    std::string credential; // base64(HMAC-SHA1(secret, username))
};

std::string turn_username(std::int64_t expiry_unix_seconds, std::string_view client_id);

// RTCIceServer entries: one {"urls":[...]} with the stun: URLs, then one with the turn: and
// turns: URLs, carrying username and credential when turn is given. An empty kind has no entry.
// The URLs must have passed ice_url_problem.
std::string ice_servers_json(std::span<const std::string> urls,
                             const std::optional<TurnCredential>& turn);

} // namespace signald
