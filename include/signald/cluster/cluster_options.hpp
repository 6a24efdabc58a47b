#pragma once
// ClusterOptions: how this node joins a cluster of signald nodes through Redis, as the config
// sets it (--redis, --redis-password-file, --node-id, --node-timeout). Plain data, each default
// with its reason, held as ServerOptions::cluster; parse_config checks every field, so a reader
// may trust them. Without redis the other fields are harmless and nothing changes.

#include "signald/cluster/redis_endpoint.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace signald {

// A node id: 1 to 64 of [A-Za-z0-9._-], safe in a Redis key, a log line and a metric label.
inline constexpr std::size_t max_node_id_chars = 64;
// --node-timeout's range. 2 s: a lease renewed a few times per timeout still needs a Redis round
// trip or two to spare. 3600 s: past that a dead node's members would linger for over an hour.
inline constexpr std::chrono::seconds min_node_timeout{2};
inline constexpr std::chrono::seconds max_node_timeout{3600};

struct ClusterOptions
{
    // Unset: a lone node, exactly as without clustering.
    std::optional<RedisEndpoint> redis;
    // Names this node in logs, metrics and Redis. parse_config fills a random 10-character id
    // (client-id alphabet) when --node-id is not given, so two nodes started from one config
    // never share one; empty only in a ServerOptions built by hand.
    std::string node_id;
    // 10 s: a node that stops renewing its lease is declared dead after this long. Long enough
    // that a busy event loop or a Redis failover does not kill a live node, short enough that a
    // dead one is noticed within seconds.
    std::chrono::seconds node_timeout{10};
};

} // namespace signald
