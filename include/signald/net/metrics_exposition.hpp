#pragma once
// The /metrics page: every family signald exports, written from plain inputs (the hub's and the
// sessions' counters, the refusals, a few gauges). Server gathers the inputs on each scrape; this
// unit only formats, so the exact text is unit tested and no name or label changes by accident.

#include "signald/core/hub_stats.hpp"
#include "signald/net/metrics.hpp"
#include "signald/net/refusals.hpp"
#include "signald/turn/turn_status.hpp"

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace signald {

// What a clustered node adds to a scrape (docs/cluster.md, "Metrics").
struct ClusterMetrics
{
    std::string node_id;
    bool redis_up = false;
    std::uint64_t redis_reconnects = 0;
    std::chrono::microseconds redis_round_trip{0};
    std::size_t nodes_alive = 0;
    std::uint64_t dead_nodes_declared = 0;
    std::uint64_t fenced = 0;
    bool leader_known = false;
    bool is_leader = false;
    std::size_t remote_clients = 0; // the leader's clients whose connection is on another node
    std::uint64_t unavailable = 0;
    std::uint64_t bus_messages_in = 0;
    std::uint64_t bus_messages_out = 0;
    std::uint64_t bus_bytes_in = 0;
    std::uint64_t bus_bytes_out = 0;
    std::uint64_t bus_batches_lost = 0;
    std::chrono::microseconds bus_round_trip{0};
    std::size_t edge_clients = 0; // this node's clients whose rooms are at the leader
};

// Everything one scrape shows. The references only live for the call.
struct MetricsInputs
{
    std::size_t connections; // WebSocket clients attached to the hub
    std::size_t sessions;    // WebSocket session objects alive, closing ones included
    std::size_t rooms;
    std::size_t members;   // suspended members included
    std::size_t suspended; // members whose connection was lost, waiting for a resume
    const HubStats& hub;
    const NetStats& net;
    const Refusals::Counts& refusals;
    // --max-queue-bytes: exported beside the high water so an alert can compare the two.
    std::size_t write_queue_limit_bytes;
    std::chrono::sys_seconds start_time;
    // When the served certificate expires; nullopt without TLS (the family is then left out).
    std::optional<std::chrono::sys_seconds> tls_not_after;
    // nullopt without --redis (the families are then left out).
    std::optional<ClusterMetrics> cluster = std::nullopt;
    // One per turn: URL the TURN self-test checks; empty: the families are left out.
    std::vector<TurnCheckStatus> turn_checks = {};
};

// Prometheus text exposition (format 0.0.4) of inputs.
std::string metrics_exposition(const MetricsInputs& inputs);

} // namespace signald
