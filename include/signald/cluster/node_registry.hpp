#pragma once
// NodeRegistry: this node's lease in Redis and its judgement of the other nodes (docs/cluster.md,
// "Nodes"). It renews a lease of --node-timeout, declares dead the nodes whose lease ran out, and
// learns when it was itself declared dead (a frozen node waking up), so the server can close its
// clients with 1012 and come back as a new incarnation that takes over nothing.
//
// Every decision that more than one node could race on is one Lua script, so Redis makes it
// atomically: a lease is either renewed before it runs out or declared dead, never both.

#include "signald/cluster/cluster_options.hpp"
#include "signald/cluster/redis_connection.hpp"
#include "signald/net/beast.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace signald {

struct NodeRegistryStats
{
    std::uint64_t deaths_declared = 0; // other nodes this node declared dead
    std::uint64_t fenced = 0;          // times this node learned it had been declared dead
    std::size_t nodes_alive = 0;       // nodes with a live lease at the last sweep, this one too
    std::chrono::microseconds round_trip{0}; // the latest lease renewal, sent to answered
};

class NodeRegistry
{
public:
    using Clock = std::chrono::steady_clock;

    struct Hooks
    {
        // This node was declared dead while it could not renew (frozen, cut off): whatever it
        // serves now belongs to no one. Called once per incarnation, before it registers anew.
        std::function<void()> fenced;
        // Another node (id, incarnation) was declared dead by this node.
        std::function<void(const std::string& node, const std::string& incarnation)> declared_dead;
        // Redis renewed this node's lease: it is alive as far as the cluster knows.
        std::function<void()> renewed;
        // leader() changed (to another node, to this one, or to nobody).
        std::function<void()> leader_changed;
    };

    NodeRegistry(net::io_context& ioc, const ClusterOptions& options, Hooks hooks);
    ~NodeRegistry();
    NodeRegistry(const NodeRegistry&) = delete;
    NodeRegistry& operator=(const NodeRegistry&) = delete;

    void start();
    // Gives the lease back, so the others need not wait for it to run out (a clean exit); done
    // runs once Redis answered or could not be asked.
    void stop(std::function<void()> done);

    const std::string& node_id() const { return node_id_; }
    const std::string& incarnation() const { return incarnation_; }
    // "id incarnation" of the node that runs every room (docs/cluster.md, "The leader"), as of
    // the latest renewal; empty while there is none.
    const std::string& leader() const { return leader_; }
    // The leader the current one took over from in a hand-over; empty after a vacancy.
    const std::string& predecessor() const { return predecessor_; }
    // This node, the leader, stops: leaves rooms (export_state and where each client is) in
    // Redis for keep, and names a successor; done gets it ("id incarnation"), "-" if no other
    // node is alive, or "" if this node was not the leader or Redis could not be asked.
    void hand_over(std::string rooms, std::chrono::milliseconds keep,
                   std::function<void(std::string successor)> done);
    // Every node with a live lease ("id incarnation"), this one included; empty if Redis could
    // not be asked.
    void live_nodes(std::function<void(std::vector<std::string> nodes)> done);
    // Leaves the rooms in Redis for keep, in case this node (the leader) crashes.
    void save_rooms(std::string rooms, std::chrono::milliseconds keep);
    // Takes the rooms a stopping leader left, if any (exactly one new leader gets them).
    void take_rooms(std::function<void(std::optional<std::string> rooms)> done);
    bool is_leader() const { return !leader_.empty() && leader_ == node_id_ + " " + incarnation_; }
    // Why this node cannot serve the cluster now (Redis unreachable or not answering), or
    // nullopt when it can. /healthz shows it.
    std::optional<std::string> trouble() const;
    // Whether this node may still act for the cluster: its lease, as last confirmed, has not run
    // out by its own clock. A node that wakes from a freeze finds it has, and must wait for a
    // renewal before it relays anything.
    bool lease_valid() const { return Clock::now() < lease_valid_until_; }
    // Renews the lease now rather than at the next tick (to learn the leader sooner).
    void renew_now() { heartbeat(); }
    // Whether the current leader took over from a leader that stopped with no other node alive:
    // the rooms' edges are gone (docs/cluster.md, "The last node").
    bool predecessor_was_last() const { return predecessor_was_last_; }
    // Whether input must wait for Redis to confirm the lease: it ran out by this node's clock
    // while Redis is there to ask (a node waking from a freeze). With Redis unreachable the node
    // goes on serving its own clients (docs/cluster.md, "Redis goes away"). Sends the renewal.
    bool must_confirm();
    const NodeRegistryStats& stats() const { return stats_; }
    std::uint64_t redis_reconnects() const { return redis_.reconnects(); }

private:
    void on_ready();
    void heartbeat();
    void on_renewed(RedisReply&& reply, Clock::time_point sent);
    void sweep();
    void on_swept(RedisReply&& reply);
    void schedule();
    void new_incarnation();
    void set_leader(const std::string& leader);
    std::chrono::milliseconds settle_time() const;

    net::io_context& ioc_;
    ClusterOptions options_;
    Hooks hooks_;
    std::string node_id_;
    std::string incarnation_;
    RedisConnection redis_;
    net::steady_timer timer_;
    std::chrono::milliseconds interval_;
    Clock::time_point lease_valid_until_{};
    // Since when Redis has answered without a break; a node judges others only after a whole
    // --node-timeout of it, so one that was cut off itself does not declare the rest dead.
    std::optional<Clock::time_point> healthy_since_;
    std::optional<Clock::time_point> renewal_sent_; // unanswered renewal
    std::string lost_reason_ = "connecting to Redis";
    std::string leader_;
    std::string predecessor_;
    bool predecessor_was_last_ = false;
    NodeRegistryStats stats_;
    bool stopped_ = false;
    bool destroying_ = false;
};

} // namespace signald
