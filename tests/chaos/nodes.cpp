#include "nodes.hpp"

#include "http_client.hpp"

#include <csignal>
#include <stdexcept>

namespace signald::test::chaos {
namespace {

// From /metrics rather than the log: the chaos runs log at warn, which hides "the leader is".
constexpr std::string_view leader_known = "signald_cluster_leader_known";

} // namespace

Nodes::Nodes(std::filesystem::path web_root, std::vector<std::string> extra,
             std::size_t cluster_size, std::chrono::seconds node_timeout)
    : web_root_(std::move(web_root)), extra_(std::move(extra)), node_timeout_(node_timeout)
{
    if (cluster_size == 0) {
        nodes_.push_back(
            Node{std::make_unique<SignaldProcess>(server_args(web_root_, extra_)), {}, State::up});
        return;
    }
    redis_ = std::make_unique<RedisProcess>();
    nodes_.resize(cluster_size);
    for (std::size_t i = 0; i < cluster_size; ++i) {
        // One at a time, each knowing the leader (the first, which started alone) before the
        // next, so node0 is the leader.
        nodes_[i].process = spawn(i);
        if (wait_for_metric(nodes_[i].process->port(), leader_known, 1, 10s) != 1)
            throw std::runtime_error("cluster node " + std::to_string(i) +
                                     " never learned the leader:\n" +
                                     nodes_[i].process->stderr_text());
    }
}

Nodes::~Nodes() = default;

std::unique_ptr<SignaldProcess> Nodes::spawn(std::size_t node) const
{
    std::vector<std::string> args{"--redis",        redis_->url(),
                                  "--node-id",      "node" + std::to_string(node),
                                  "--node-timeout", std::to_string(node_timeout_.count())};
    args.insert(args.end(), extra_.begin(), extra_.end());
    return std::make_unique<SignaldProcess>(server_args(web_root_, std::move(args)));
}

std::vector<std::size_t> Nodes::up_nodes() const
{
    std::vector<std::size_t> up;
    for (std::size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].state == State::up)
            up.push_back(i);
    return up;
}

void Nodes::kill(std::size_t node)
{
    Node& n = nodes_.at(node);
    n.process->send_signal(SIGKILL);
    if (!n.process->wait_exit(10s))
        throw std::runtime_error("node " + std::to_string(node) + " survived SIGKILL for 10 s");
    n.state = State::down;
}

void Nodes::restart(std::size_t node)
{
    Node& n = nodes_.at(node);
    if (n.state != State::down)
        throw std::logic_error("only a node that is down can be started again");
    n.killed.push_back(std::move(n.process));
    n.process = spawn(node);
    n.state = State::joining;
}

bool Nodes::poll()
{
    bool settled = true;
    for (Node& n : nodes_) {
        if (n.state != State::joining)
            continue;
        if (metric(n.process->port(), leader_known) == 1)
            n.state = State::up;
        else
            settled = false;
    }
    return settled;
}

std::vector<SignaldProcess*> Nodes::running()
{
    std::vector<SignaldProcess*> alive;
    for (Node& n : nodes_)
        if (n.process->running())
            alive.push_back(n.process.get());
    return alive;
}

} // namespace signald::test::chaos
