#pragma once
// Bus: how nodes send each other BusMessages through Redis (docs/cluster.md, "The bus"). Each node
// incarnation reads its own inbox stream with XREAD on a connection of its own, continuing from
// the last entry it handled after a reconnect, so nothing is lost or read twice while Redis keeps
// its data (unlike pub/sub: socket.io #4845, socket.io-redis-adapter #477). It reads the cluster's
// event stream the same way. Messages for one node sent in one turn of the loop travel as one
// stream entry, appended by a Lua script that first checks the sender's lease: a node declared
// dead relays nothing, however long it was frozen.

#include "signald/cluster/bus_message.hpp"
#include "signald/cluster/cluster_options.hpp"
#include "signald/cluster/redis_connection.hpp"
#include "signald/net/beast.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace signald {

class NodeRegistry;

struct BusStats
{
    std::uint64_t messages_out = 0;
    std::uint64_t bytes_out = 0; // stream entry values, as appended
    std::uint64_t messages_in = 0;
    std::uint64_t bytes_in = 0;
    std::uint64_t batches_lost = 0;          // refused (receiver dead, sender fenced) or unanswered
    std::chrono::microseconds round_trip{0}; // the latest batch, handed to Redis to taken
    std::uint64_t gaps = 0;                  // times batches from a node were found missing
};

class Bus
{
public:
    struct Hooks
    {
        // Messages from node `from` ("id incarnation"), in the order it sent them.
        std::function<void(const std::string& from, std::vector<BusMessage>&& messages)> received;
        // A node was declared dead (by anyone).
        std::function<void(const std::string& node)> node_dead;
        // Both connections are up again after being down: what was sent meanwhile is lost.
        std::function<void()> ready;
        // A batch for `to` may not have arrived (Redis away, or `to` is dead).
        std::function<void(const std::string& to, const std::string& batch)> lost;
        // Batches from `from` were lost on the way (numbers missing from its sequence).
        std::function<void(const std::string& from)> gap;
        // The leader `node` is handing its rooms over: hold input until it is done.
        std::function<void(const std::string& node)> paused_by;
    };

    Bus(net::io_context& ioc, const ClusterOptions& options, const NodeRegistry& registry,
        Hooks hooks);
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    void start();
    void stop();
    // Sends what is queued and calls done once Redis has taken it (or could not be reached).
    void drain(std::function<void()> done);
    bool ready() const { return writer_.ready() && reader_.ready(); }

    // Queues one message for node `to` ("id incarnation"); this turn's messages leave together.
    void send(const std::string& to, BusKind kind, std::string_view id, std::uint64_t number = 0,
              std::string_view text = {});
    // Tells every node, on the event stream, that this node (the leader) is handing its rooms
    // over, so that even nodes with none of its clients hold theirs' input meanwhile.
    void announce_pause();
    // This node became a new incarnation: read the new inbox from its start.
    void restart_inbox();

    const BusStats& stats() const { return stats_; }
    std::uint64_t reconnects() const { return writer_.reconnects() + reader_.reconnects(); }

private:
    void flush();
    void read();
    void on_read(RedisReply&& reply);
    void on_ready();

    net::io_context& ioc_;
    const NodeRegistry& registry_;
    Hooks hooks_;
    std::map<std::string, std::string> pending_;    // batches by receiver
    std::map<std::string, std::uint64_t> sequence_; // the last batch number sent, by receiver
    // Numbers of batches Redis refused, by receiver, until a batch telling it so was taken.
    std::map<std::string, std::set<std::uint64_t>> refused_;
    std::map<std::string, std::uint64_t> received_; // the last batch number read, by sender
    std::string inbox_;
    std::string inbox_last_ = "0";
    std::string events_last_; // empty until the stream's current end is known
    bool reading_ = false;
    bool flush_posted_ = false;
    bool was_ready_ = false;
    bool stopped_ = true;
    BusStats stats_;
    // Last: their pending callbacks run while they are destroyed, with the rest still alive.
    RedisConnection writer_;
    RedisConnection reader_;
};

} // namespace signald
