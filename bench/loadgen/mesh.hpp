#pragma once
// R rooms of M members, as fanout, latency and idle need them: connects every client (a bounded
// number at a time), joins it to its room, waits until each member has seen all the others, and
// then checks every message any of them receives (the mix of signal_payload.hpp: broadcasts,
// directed signals and forged froms). Client i is member i % M of room "r<i / M>",
// and connects to target i % T: with the two nodes of a cluster, every room has members on both.
// Traffic policy (when to send) belongs to the scenario, which hears back through MeshListener.

#include "clock.hpp"
#include "signal_payload.hpp"
#include "ws_client.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

class Violations;

struct MeshOptions
{
    std::vector<WsTarget> targets; // at least one
    std::vector<boost::asio::ip::address> sources;
    std::size_t clients = 0;
    std::size_t members = 4;
    // Connections between connect() and joined; more would overflow the server's accept backlog.
    std::size_t connects_in_flight = 512;
    std::uint64_t seed = 1;
    bool self_test_corrupt = false;
};

class MeshListener
{
public:
    // Every client joined and saw every other member of its room.
    virtual void on_ready() = 0;
    // A signal from sender with sequence seq reached one more receiver, intact and in order. It
    // is complete once Mesh::receivers_of(sender, seq) receivers have it.
    virtual void on_delivered(std::size_t sender, std::uint64_t seq, std::int64_t sent_ns,
                              Clock::time_point received) = 0;
    // A client failed before the mesh was ready: the run cannot go on.
    virtual void on_setup_failed(std::string_view why) = 0;

protected:
    ~MeshListener() = default;
};

class Mesh : public WsClientEvents
{
public:
    Mesh(boost::asio::io_context& io, MeshOptions options, Violations& violations,
         MeshListener& listener);

    void start();
    // Appends the sender's next signal (type, to and a forged from by its seq, as
    // signal_payload.hpp mixes them) stamped sent_ns; written this round. False when the
    // sender's connection is gone and nothing was sent.
    bool send_signal(std::size_t sender, std::int64_t sent_ns);
    void close_all();

    std::size_t size() const { return options_.clients; }
    std::size_t room_size_of(std::size_t client) const;
    std::uint64_t sent_by(std::size_t sender) const { return next_seq_[sender]; }
    std::uint64_t sent_total() const { return sent_total_; }
    // WebSocket payload bytes of every signal request sent so far.
    std::uint64_t sent_bytes_total() const { return sent_bytes_total_; }
    // How many members the sender's signal seq goes to: 1 if directed, else all the others.
    std::size_t receivers_of(std::size_t sender, std::uint64_t seq) const
    {
        return mixed_is_directed(seq) ? 1 : room_size_of(sender) - 1;
    }
    // Every delivery owed so far (each send times its receivers) has arrived.
    bool drained() const { return delivered_total_ >= owed_total_; }
    std::uint64_t owed_total() const { return owed_total_; }
    std::uint64_t delivered_total() const { return delivered_total_; }
    // Counts a violation for each (receiver, sender) pair still missing messages; returns how
    // many messages are missing in all.
    std::uint64_t report_losses();

    Clock::time_point first_connect() const { return first_connect_; }
    Clock::time_point last_joined() const { return last_joined_; }

    void on_open(WsClient& client) override;
    void on_text(WsClient& client, std::span<char> text) override;
    void on_failed(WsClient& client, std::string_view why) override;

private:
    void connect_more();
    void on_joined(std::size_t client, std::string_view room, std::string_view id,
                   std::string_view peers);
    void on_peer_joined(std::size_t client, std::string_view room);
    void count_peer(std::size_t client);
    void on_signal(std::size_t client, std::span<char> text, std::string_view room,
                   std::string_view from, std::size_t from_count, std::string_view to,
                   std::string_view type, std::string_view data);
    // The member a directed signal seq of sender goes to.
    std::size_t directed_target(std::size_t sender, std::uint64_t seq) const;
    // Whether sender's signal seq is meant for receiver (a member of the same room).
    bool reaches(std::size_t sender, std::uint64_t seq, std::size_t receiver) const
    {
        return !mixed_is_directed(seq) || directed_target(sender, seq) == receiver;
    }
    // The first seq at or after from that sender sends to receiver (or sent_by(sender)).
    std::uint64_t next_for(std::size_t sender, std::uint64_t from, std::size_t receiver) const;
    const std::string& room_of(std::size_t client) const
    {
        return rooms_[client / options_.members];
    }

    boost::asio::io_context& io_;
    MeshOptions options_;
    Violations& violations_;
    MeshListener& listener_;

    std::vector<std::shared_ptr<WsClient>> clients_;
    std::vector<std::string> rooms_; // per room: "r<index>"
    std::vector<std::string> ids_;   // per client: its clientId, from joined
    std::vector<std::uint32_t> peers_seen_;
    std::vector<std::uint8_t> joined_;
    std::vector<std::uint64_t> next_seq_; // per sender: the seq its next signal gets
    // Per receiver, per member slot of its room: the seq received from that sender, plus one
    // (the next one meant for this receiver is next_for(sender, this, receiver)).
    std::vector<std::uint64_t> expected_seq_;

    std::size_t next_to_connect_ = 0;
    std::size_t connecting_ = 0;
    std::size_t ready_ = 0;
    bool setup_done_ = false;
    bool corrupted_once_ = false;
    std::uint64_t sent_total_ = 0;
    std::uint64_t sent_bytes_total_ = 0;
    std::uint64_t owed_total_ = 0;
    std::uint64_t delivered_total_ = 0;
    Clock::time_point first_connect_{};
    Clock::time_point last_joined_{};
};

} // namespace bench
