#include "signald/net/metrics_exposition.hpp"

#include <algorithm>
#include <cstdint>
#include <map>

namespace signald {
namespace {

std::uint64_t unix_seconds(std::chrono::sys_seconds time)
{
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, time.time_since_epoch().count()));
}

} // namespace

std::string metrics_exposition(const MetricsInputs& inputs)
{
    PrometheusText out;
    out.family("signald_connections", "gauge", "WebSocket clients attached to the hub.");
    out.sample(inputs.connections);
    out.family("signald_sessions", "gauge",
               "WebSocket session objects alive, closing ones included.");
    out.sample(inputs.sessions);
    out.family("signald_rooms", "gauge", "Rooms with at least one member.");
    out.sample(inputs.rooms);
    out.family("signald_members", "gauge", "Clients in a room, suspended ones included.");
    out.sample(inputs.members);
    out.family("signald_suspended_members", "gauge",
               "Members whose connection was lost, keeping their place for a resume.");
    out.sample(inputs.suspended);

    const HubStats& hub = inputs.hub;
    out.family("signald_messages_received_total", "counter",
               "Text messages from clients, by what they were: join, leave, signal, resume, kick, "
               "lock, update, report, invalid (refused while parsing) or dropped (over the rate "
               "limit, unread).");
    for (std::size_t i = 0; i < in_action_count; ++i)
        out.sample({{"action", to_string(static_cast<InAction>(i))}}, hub.in[i].messages);
    out.family("signald_received_bytes_total", "counter",
               "Bytes of text messages from clients (without framing), by what they were.");
    for (std::size_t i = 0; i < in_action_count; ++i)
        out.sample({{"action", to_string(static_cast<InAction>(i))}}, hub.in[i].bytes);
    out.family("signald_messages_sent_total", "counter",
               "Messages handed to client connections, one per receiver, by action.");
    for (std::size_t i = 0; i < out_action_count; ++i)
        out.sample({{"action", to_string(static_cast<OutAction>(i))}}, hub.out[i].messages);
    out.family("signald_sent_bytes_total", "counter",
               "Bytes of messages handed to client connections (without framing), by action.");
    for (std::size_t i = 0; i < out_action_count; ++i)
        out.sample({{"action", to_string(static_cast<OutAction>(i))}}, hub.out[i].bytes);
    out.family("signald_protocol_errors_total", "counter",
               "Error replies sent to clients, by code (docs/protocol.md section 7).");
    for (std::size_t i = 0; i < error_code_count; ++i) {
        // An edge node refuses with `unavailable` itself, when the leader's Hub is out of reach.
        const std::uint64_t edge =
            static_cast<ErrorCode>(i) == ErrorCode::unavailable && inputs.cluster
                ? inputs.cluster->unavailable
                : 0;
        out.sample({{"code", to_string(static_cast<ErrorCode>(i))}}, hub.errors[i] + edge);
    }

    out.family("signald_resume_events_total", "counter",
               "Members suspended when their connection was lost, resumed, refused a resume "
               "(resume-failed), and expired at the end of their grace period.");
    out.sample({{"event", "suspended"}}, hub.suspensions);
    out.sample({{"event", "resumed"}}, hub.resumes);
    out.sample({{"event", "failed"}}, hub.resume_failures);
    out.sample({{"event", "expired"}}, hub.expiries);
    out.family("signald_resume_replayed_messages_total", "counter",
               "Messages sent again to resumed members (not counted in messages_sent_total).");
    out.sample(hub.replayed);

    out.family("signald_ice_paths_total", "counter",
               "Peer connections by the candidate pair ICE selected, as each end reports it "
               "(docs/protocol.md 5.8): local and remote candidate type, and the reporting end's "
               "protocol (to the TURN server for a relay). A relay at either end is a call that "
               "needs TURN.");
    for (std::size_t i = 0; i < ice_path_count; ++i) {
        const IcePath path = ice_path_at(i);
        out.sample({{"local", to_string(path.local)},
                    {"remote", to_string(path.remote)},
                    {"protocol", to_string(path.protocol)}},
                   hub.ice_paths[i]);
    }
    out.family("signald_ice_failures_total", "counter",
               "Peer connections whose ICE failed, as each end reports it: no path between the "
               "two, which TURN usually mends.");
    out.sample(hub.ice_failures);

    out.family("signald_closes_total", "counter",
               "WebSocket connections ended, by the side that ended them and the close code; "
               "1006 is a connection cut without a close frame.");
    for (const auto& [key, count] : inputs.net.closes())
        out.sample({{"by", to_string(key.first)}, {"code", close_code_label(key.second)}}, count);

    // The hub's own cuts join the network layer's refusals first, so a reason counted in both
    // places is still one series.
    Refusals::Counts rejections(inputs.refusals);
    rejections["rate-limited"] += hub.rate_limited;
    rejections["flood"] += hub.abuse_closes;
    out.family("signald_rejections_total", "counter",
               "Requests refused and connections cut off, by reason.");
    for (const auto& [reason, count] : rejections)
        out.sample({{"reason", reason}}, count);

    out.family("signald_write_queue_high_water_bytes", "gauge",
               "The most bytes any one connection's write queue has held since start-up.");
    out.sample(inputs.net.queue_high_water());
    out.family("signald_write_queue_limit_bytes", "gauge",
               "The configured cap on one connection's write queue (--max-queue-bytes); a "
               "connection over it is cut off as a slow consumer.");
    out.sample(inputs.write_queue_limit_bytes);

    out.family("signald_build_info", "gauge", "Always 1; the version is in the label.");
    out.sample({{"version", SIGNALD_VERSION}}, 1);
    out.family("signald_start_time_seconds", "gauge", "When signald started, in Unix time.");
    out.sample(unix_seconds(inputs.start_time));
    if (inputs.tls_not_after) {
        out.family("signald_tls_certificate_expiry_seconds", "gauge",
                   "When the served certificate expires, in Unix time. It is read at start-up: "
                   "a renewed certificate shows here after a restart.");
        out.sample(unix_seconds(*inputs.tls_not_after));
    }
    if (inputs.cluster) {
        const ClusterMetrics& cluster = *inputs.cluster;
        out.family("signald_cluster_node_info", "gauge",
                   "Always 1; this node's --node-id is in the label.");
        out.sample({{"node", cluster.node_id}}, 1);
        out.family("signald_redis_up", "gauge",
                   "1 while this node reaches Redis and Redis answers, else 0.");
        out.sample(cluster.redis_up ? 1 : 0);
        out.family("signald_redis_reconnects_total", "counter",
                   "Times this node's connection to Redis came back after it was lost.");
        out.sample(cluster.redis_reconnects);
        out.family("signald_redis_round_trip_seconds", "gauge",
                   "The latest lease renewal's time from sent to answered.");
        out.sample_seconds(cluster.redis_round_trip);
        out.family("signald_cluster_nodes", "gauge",
                   "Nodes with a live lease at this node's latest sweep, itself included.");
        out.sample(cluster.nodes_alive);
        out.family("signald_cluster_dead_nodes_total", "counter",
                   "Nodes this node declared dead because their lease ran out.");
        out.sample(cluster.dead_nodes_declared);
        out.family("signald_cluster_fenced_total", "counter",
                   "Times this node learned it had been declared dead (after a freeze or a "
                   "partition) and closed its clients with 1012.");
        out.sample(cluster.fenced);
        out.family("signald_cluster_leader_known", "gauge",
                   "1 once this node knows which node runs the rooms, else 0.");
        out.sample(cluster.leader_known ? 1 : 0);
        out.family("signald_cluster_is_leader", "gauge", "1 if this node runs the rooms.");
        out.sample(cluster.is_leader ? 1 : 0);
        out.family("signald_cluster_remote_clients", "gauge",
                   "Clients in this node's rooms whose connection is on another node.");
        out.sample(cluster.remote_clients);
        out.family("signald_bus_messages_total", "counter",
                   "Messages between nodes through Redis, by direction.");
        out.sample({{"direction", "in"}}, cluster.bus_messages_in);
        out.sample({{"direction", "out"}}, cluster.bus_messages_out);
        out.family("signald_bus_bytes_total", "counter",
                   "Bytes of message batches between nodes, by direction.");
        out.sample({{"direction", "in"}}, cluster.bus_bytes_in);
        out.sample({{"direction", "out"}}, cluster.bus_bytes_out);
        out.family(
            "signald_bus_batches_lost_total", "counter",
            "Batches Redis did not take (away, or the receiver or this node declared dead).");
        out.sample(cluster.bus_batches_lost);
        out.family("signald_bus_round_trip_seconds", "gauge",
                   "The latest batch between nodes, from handed to Redis to taken.");
        out.sample_seconds(cluster.bus_round_trip);
        out.family("signald_cluster_edge_clients", "gauge",
                   "This node's clients whose rooms the leader runs (0 on the leader).");
        out.sample(cluster.edge_clients);
    }
    if (!inputs.turn_checks.empty()) {
        // TURN self-test (README "TURN with coturn"): a URL has samples once checked.
        const auto& checks = inputs.turn_checks;
        out.family("signald_turn_check_ok", "gauge",
                   "1 if the last TURN self-test of this URL allocated a relay, else 0.");
        for (const TurnCheckStatus& check : checks)
            if (check.checked)
                out.sample({{"url", check.url}}, check.ok ? 1 : 0);
        out.family("signald_turn_check_seconds", "gauge",
                   "How long the last TURN self-test of this URL took.");
        for (const TurnCheckStatus& check : checks)
            if (check.checked)
                out.sample_seconds({{"url", check.url}}, check.duration);
        out.family("signald_turn_check_timestamp_seconds", "gauge",
                   "When the last TURN self-test of this URL finished, in Unix time.");
        for (const TurnCheckStatus& check : checks)
            if (check.checked)
                out.sample({{"url", check.url}}, unix_seconds(check.finished_at));
        out.family("signald_turn_check_failures_total", "counter",
                   "TURN self-tests of this URL that failed.");
        for (const TurnCheckStatus& check : checks)
            out.sample({{"url", check.url}}, check.failures);
    }
    return out.take();
}

} // namespace signald
