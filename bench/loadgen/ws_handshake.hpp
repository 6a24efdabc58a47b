#pragma once
// The HTTP/1.1 upgrade, by hand: the request a client writes and the check of the 101 reply.
// Called once per connection by WsClient, off the message hot path.

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace bench {

struct WsTarget;

// A random 16-byte Sec-WebSocket-Key, base64 encoded.
std::string make_ws_key(std::mt19937_64& random);

// base64(SHA-1(key + RFC 6455 GUID)): what the server must send back.
std::string ws_accept_for(std::string_view key);

std::string make_upgrade_request(const WsTarget& target, std::string_view key);

// head is the response up to and including the blank line. Returns nullptr when it is a 101 with
// the expected Sec-WebSocket-Accept, else a short reason.
const char* check_upgrade_response(std::string_view head, std::string_view expected_accept);

} // namespace bench
