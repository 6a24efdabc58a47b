#pragma once
// ClusterLink: where this node's clients meet the cluster's rooms (docs/cluster.md, "The leader").
// One node, the leader, runs the Hub for every room; every other node is an edge that carries its
// clients' messages to the leader over the Bus and carries out what the leader's Hub decides for
// them. So every rule of docs/protocol.md is decided by one Hub, as on a single node.
//
// Server asks it, for each connection, whether the connection is served here (the leader's own,
// or any while no leader is known) or by the leader, and hands it what must cross the bus. It
// never touches a socket: it reaches this node's sessions through LocalSessions.

#include "signald/cluster/bus.hpp"
#include "signald/cluster/node_registry.hpp"
#include "signald/core/hub.hpp"
#include "signald/core/transport.hpp"

#include <functional>
#include <string>
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace signald {

// This node's own sessions, by id; Server implements them.
struct LocalSessions
{
    std::function<void(const ClientId&, const Text&)> send;
    std::function<void(const ClientId&, std::uint16_t)> close;
    // Close frame, cut, and forget the id without telling anyone.
    std::function<void(const ClientId&, std::uint16_t, std::string_view)> abort;
    std::function<void(const ClientId& from, const ClientId& to)> rebind;
    std::function<std::vector<ClientId>()> ids;
    // Text messages queued on a connection so far (Connection::texts); 0 for an unknown id.
    std::function<std::uint64_t(const ClientId&)> texts;
    // Input held while paused() may go on now.
    std::function<void()> release;
};

struct ClusterLinkStats
{
    std::uint64_t unavailable = 0; // requests refused with `unavailable`
    std::size_t remote_clients = 0;
    std::size_t edge_clients = 0;
};

class ClusterLink
{
public:
    // keep: how long rooms left in Redis are worth keeping (the grace period, at least).
    ClusterLink(Hub& hub, NodeRegistry& registry, Bus& bus, LocalSessions local,
                ProtocolFeatures features, std::chrono::milliseconds keep);

    // A new connection of this node, already registered in the local Hub when served_here().
    void attached(const ClientId& id);
    // Whether this node's own Hub serves a new connection now.
    bool serves_here() const;
    // Whether id is a connection of this node whose client lives in the leader's Hub.
    bool at_leader(const ClientId& id) const { return homes_.contains(id); }
    void text(const ClientId& id, std::string_view text);
    void detach(const ClientId& id, ConnectionEnd end);
    void acknowledged(const ClientId& id, std::uint64_t texts);

    // Transport for clients this node's Hub serves on other nodes; false if id is not one.
    bool send(const ClientId& to, const Text& text);
    bool close(const ClientId& id, std::uint16_t code);
    std::optional<bool> abort(const ClientId& id, std::uint16_t code, std::string_view reason);
    bool rebind(const ClientId& from, const ClientId& to);

    // This node is stopping: its clients' members at the leader are suspended (their connections
    // lost, as far as the leader knows), so they resume on another node; with resume off they
    // are removed. Their connections are then closed by the caller.
    void drain();
    // This node, the leader, is stopping: it pauses the edges, suspends its own clients'
    // members, and leaves every room in Redis for a successor (docs/cluster.md, "A node
    // drains"). done runs when that is over (or could not be done); finish_hand_over() ends
    // the wait for edges that did not answer the pause.
    void hand_over(std::function<void()> done);
    void finish_hand_over();
    bool handing_over() const { return hand_over_ != HandOver::none; }
    // Whether this node's clients' input must wait: a hand-over is under way.
    bool paused() const { return paused_; }

    // From the registry and the bus.
    void leader_changed();
    void fenced();
    void received(const std::string& from, std::vector<BusMessage>&& messages);
    void node_dead(const std::string& node);
    void bus_ready();
    void paused_by(const std::string& node);
    // This node's lease was renewed: a roster that did not arrive goes again.
    void renewed();
    void lost(const std::string& to, const std::string& batch);
    // Batches from node `from` never arrived: what they carried for this node's clients, or
    // from its clients, is unknown; those clients start again (1012), resuming exactly or,
    // where this node answered them alone, with a gap.
    void bus_gap(const std::string& from);

    ClusterLinkStats stats() const
    {
        ClusterLinkStats stats = stats_;
        stats.remote_clients = remote_.size();
        stats.edge_clients = homes_.size();
        return stats;
    }
    // Whether a leader is known and this node acts on it.
    bool leader_known() const { return !leader_.empty(); }
    // Transport::cut_off and reaches for this node's Hub: without Redis, nothing reaches a
    // client of another node (docs/cluster.md, "Redis goes away").
    bool cut_off() const { return !bus_.ready(); }
    bool reaches(const ClientId& id) const { return bus_.ready() || !remote_.contains(id); }

private:
    // Answers a request that cannot reach the leader: its own error if it is malformed (that
    // needs no room), else `unavailable`.
    void refuse(const ClientId& id, std::string_view text);
    void send_roster();
    struct LoneText;
    // What this node sent id alone, in order, for leader to number (BusKind::alone).
    void send_alone(const std::string& leader, const ClientId& id, std::vector<LoneText>& texts);
    // Word of the gap for a lone member whose resume text is about to go to leader.
    void tell_gap_before_resume(const std::string& leader, std::string_view text);
    void forget_remote_clients(ConnectionEnd end, const std::string& of_node = {});
    void handle(const std::string& from, BusMessage& message);
    // Whether a message of this kind is for a leader (from an edge).
    static bool for_a_leader(BusKind kind);
    void send_closes();
    // Becoming the leader: takes the rooms a stopping leader left, then serves.
    void take_rooms();
    void adopt(const std::string& rooms, Hub::Restore how);
    // The leader saves its rooms (without held messages) when they changed, against a crash.
    void save_rooms();
    void pause(const std::string& by);
    void unpause();

    Hub& hub_;
    NodeRegistry& registry_;
    Bus& bus_;
    LocalSessions local_;
    ProtocolFeatures features_;
    // This node's connections whose client lives in the leader's Hub: id -> that leader.
    std::unordered_map<ClientId, std::string> homes_;
    // Clients in this node's Hub (it is the leader) whose connection is on another node.
    std::unordered_map<ClientId, std::string> remote_;
    std::string leader_; // as last acted on
    // Connections this node answered alone while the leader was out of reach, with what it
    // sent them: the leader numbers those texts once it is back (BusKind::alone), so that the
    // client's count is the leader's again. Meanwhile their acknowledgements stay here.
    struct LoneText
    {
        std::uint64_t after = 0; // texts on the connection before it
        std::string text;
    };
    std::unordered_map<ClientId, std::vector<LoneText>> answered_alone_;
    // Connections whose attach Redis refused: attached again with the next roster, before it.
    std::unordered_set<ClientId> attaches_to_send_;
    // The members those connections served, once the connections ended, until they resume
    // here: word of the gap goes just before the resume, in its batch, so that no earlier word
    // refused by Redis (a lease not back yet) leaves the resume to fail. Kept until their
    // grace would be over: id -> then.
    std::unordered_map<ClientId, std::chrono::steady_clock::time_point> lone_members_;
    // Closes for clients of other nodes that a lost batch did not deliver: edge -> id -> code.
    std::unordered_map<std::string, std::unordered_map<ClientId, std::uint16_t>> closes_to_send_;
    std::unordered_set<std::string> dead_nodes_;
    std::chrono::steady_clock::time_point held_for_lead_until_{};
    bool roster_pending_ = false;
    // Hand-over, on the side of the edges and of the new leader.
    bool paused_ = false;
    std::chrono::steady_clock::time_point paused_until_{};
    std::vector<ClientId> held_attaches_; // new connections while paused
    bool taking_rooms_ = false;
    std::vector<std::pair<std::string, BusMessage>> held_messages_; // while taking rooms
    // Hand-over, on the side of the stopping leader: the edges yet to answer the pause.
    enum class HandOver : std::uint8_t
    {
        none,
        pausing,
        done,
    };
    HandOver hand_over_ = HandOver::none;
    std::unordered_set<std::string> awaiting_pause_;
    std::chrono::milliseconds keep_{0};
    std::string last_saved_;
    std::function<void()> handed_over_;
    ClusterLinkStats stats_;
};

} // namespace signald
