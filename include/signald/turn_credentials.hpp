#pragma once
// TURN credentials for coturn's REST API (use-auth-secret / static-auth-secret) and the
// IceServersFor that main hands to Server. This is the only code that holds the TURN secret: it
// lives inside the returned function, which gives clients HMACs of it and never the secret itself,
// and nothing here logs it.

#include "signald/core/ice_servers.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace signald {

struct IceOptions
{
    std::vector<std::string> urls; // checked by ice_url_problem while parsing
    std::string turn_secret;       // empty: turn: URLs are sent without credentials
    // 1 h: long enough for the page to recover a call with an ICE restart (a new allocation,
    // checked against the expiry) well after joining; short enough that a leaked credential soon
    // stops working. Each joined and peer-joined brings fresh ones for new calls.
    std::chrono::seconds turn_ttl{3600};
};

using WallClock = std::function<std::chrono::system_clock::time_point()>;

// base64(HMAC-SHA1(key, message)), with padding: coturn's TURN REST API password.
std::string hmac_sha1_base64(std::string_view key, std::string_view message);

// Username "<now + ttl, in Unix seconds>:<clientId>" and its credential under secret.
TurnCredential turn_credential(std::string_view secret, std::string_view client_id,
                               std::chrono::system_clock::time_point now, std::chrono::seconds ttl);

// What Hub calls for each joined; empty when there are no URLs. Logs the servers at info and
// warns about turn: URLs that go out without credentials (call after logging is set up).
IceServersFor make_ice_servers(const IceOptions& options, WallClock now = {});

} // namespace signald
