#pragma once
// ServerOptions: every setting of a running server, each default with its reason. The config
// fills it and Server reads it; it is plain data with no Beast or Asio in it, so the config and
// its tests compile without the network layer.

#include "signald/cluster/cluster_options.hpp"
#include "signald/core/hub.hpp"
#include "signald/core/ice_servers.hpp"
#include "signald/core/rate_limiter.hpp"
#include "signald/net/tls_options.hpp"
#include "signald/turn/turn_status.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace signald {

// Every default has its reason; README "Limits and safety" lists them for users.
struct ServerOptions
{
    // Loopback by default: exposing a server to the network should be a decision.
    std::string bind = "127.0.0.1";
    std::uint16_t port = 8787;
    // Off: a second process on a taken port is almost always a mistake and should fail. On
    // (SO_REUSEPORT), every process that sets it shares the port and the kernel spreads new
    // connections among them: several nodes on one host use all its cores without a balancer.
    bool reuse_port = false;
    std::filesystem::path web_root = "web";
    // 256 KiB: a large SDP offer with many candidates is ~10 KiB; bounds memory per read.
    std::size_t max_message_bytes = 256 * 1024;
    std::size_t max_room_size = Hub::default_max_room_size;

    // 15 s pings keep NAT and proxy mappings alive (many drop idle TCP after 30-60 s); 40 s of
    // silence is two missed pongs plus slack for a busy phone.
    std::chrono::seconds ping_interval{15};
    std::chrono::seconds idle_timeout{40};
    // A request (or upgrade) must arrive whole within this; slowloris clients are cut off.
    std::chrono::seconds request_timeout{10};
    // 8 KiB: what nginx allows per header line by default, far above what browsers send.
    std::size_t max_header_bytes = 8 * 1024;
    // 4 MiB: hundreds of offers; a reader that falls this far behind is not coming back.
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
    // 200 msg/s and 1 MiB/s sustained, 5 s bursts: see RateLimit.
    RateLimit rate{200, 1024 * 1024, 5};
    // 10,000 sockets fit comfortably in memory; beyond that an operator should decide.
    std::size_t max_connections = 10000;
    // 128: an office NAT full of tabs, but not one script holding the whole server.
    std::size_t max_connections_per_ip = 128;
    std::vector<std::string> allowed_origins;
    // Names a request's Host may carry besides localhost, 127.0.0.1, [::1] and the certificate's
    // (HostPolicy). Any entry turns the check on; without one it is on only when the server
    // listens on loopback alone, where a foreign Host can only come from a DNS rebinding.
    std::vector<std::string> allowed_hosts;
    // Reverse proxies (addresses or networks) whose X-Forwarded-For names the real client, for
    // the per-address cap and the logs. Empty: the header is ignored, since anyone can send it.
    std::vector<std::string> trusted_proxies;
    // HTTPS and WSS on the same port when set; plain HTTP there is redirected to https.
    TlsOptions tls;
    // Builds each joined's iceServers (and TURN credentials); unset: joined has no iceServers.
    IceServersFor ice_servers;
    // Who may join (--auth-secret-file: signed room tokens); unset: anyone.
    JoinCheck join_check;
    // 300 s: long enough that a kicked troll gives up, short enough that a mistaken kick heals
    // without an operator. Only with join_check (moderators exist only with tokens).
    std::chrono::seconds kick_ban{300};
    // 30 s: long enough for a Wi-Fi roam, a lid closed for a moment or a proxy restart, short
    // enough that a member who is really gone is not shown as "reconnecting" for long. 0: off.
    std::chrono::seconds resume_grace{30};
    // 1 MiB: a burst of renegotiation (offers, answers, candidates) for a full room is ~100 KiB.
    std::size_t resume_buffer_bytes = std::size_t{1024} * 1024;
    // Peers get this long to answer our 1001 before the process exits anyway (within 2 s).
    std::chrono::milliseconds shutdown_grace{1500};
    // The TURN self-test's latest results (TurnMonitor), for /metrics and /healthz?verbose;
    // unset: no TURN checks, and their metric families are left out.
    std::function<std::vector<TurnCheckStatus>()> turn_checks;
    // Redis, this node's id and its lease timeout; without Redis nothing here takes effect.
    ClusterOptions cluster;
};

} // namespace signald
