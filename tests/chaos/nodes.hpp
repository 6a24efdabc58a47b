#pragma once
// Nodes: the signald processes the chaos clients talk to. One plain server, or a cluster
// (docs/cluster.md): a real redis-server and N nodes, node0 the leader (it starts alone, so it
// wins the election at once), each later node started only once it knows the leader. The
// cluster run kills a non-leader node with SIGKILL and starts it again under the same --node-id
// (a new incarnation that takes over nothing) while the clients go on; so a node is up, down, or
// joining (started, not yet knowing the leader). Every process is stopped by its PID. Nodes never
// talks WebSocket and decides nothing about what is right.

#include "redis_process.hpp"
#include "signald_process.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace signald::test::chaos {

class Nodes
{
public:
    // cluster_size 0: one plain server. Otherwise a redis-server and that many nodes, each with
    // extra after the cluster options.
    Nodes(std::filesystem::path web_root, std::vector<std::string> extra, std::size_t cluster_size,
          std::chrono::seconds node_timeout);
    ~Nodes();
    Nodes(const Nodes&) = delete;
    Nodes& operator=(const Nodes&) = delete;

    bool clustered() const { return redis_ != nullptr; }
    std::size_t size() const { return nodes_.size(); }
    bool up(std::size_t node) const { return nodes_[node].state == State::up; }
    std::vector<std::size_t> up_nodes() const;
    std::uint16_t port(std::size_t node) const { return nodes_[node].process->port(); }
    // The node whose Hub holds every room (the only one in a plain run).
    SignaldProcess& leader() { return *nodes_[0].process; }
    SignaldProcess& process(std::size_t node) { return *nodes_[node].process; }
    std::chrono::seconds node_timeout() const { return node_timeout_; }

    // SIGKILL, reaped at once: down from now on. Its process object is kept (for its stderr).
    void kill(std::size_t node);
    // Starts a node that is down again, under the same id; it is joining until poll() sees it
    // know the leader. Blocks only until it listens (tens of milliseconds).
    void restart(std::size_t node);
    // Moves joining nodes that now know the leader to up, without waiting; true if none is
    // joining any more.
    bool poll();

    // Every process still running, to be stopped with SIGTERM at the end of the test.
    std::vector<SignaldProcess*> running();

private:
    enum class State
    {
        up,
        down,
        joining,
    };
    struct Node
    {
        std::unique_ptr<SignaldProcess> process;
        std::vector<std::unique_ptr<SignaldProcess>> killed; // earlier incarnations, reaped
        State state = State::up;
    };

    std::unique_ptr<SignaldProcess> spawn(std::size_t node) const;

    std::filesystem::path web_root_;
    std::vector<std::string> extra_;
    std::chrono::seconds node_timeout_;
    std::unique_ptr<RedisProcess> redis_;
    std::vector<Node> nodes_;
};

} // namespace signald::test::chaos
