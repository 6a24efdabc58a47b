#include "signald_fixture.hpp"
#include "http_client.hpp"

#include <cstdlib>
#include <stdexcept>

namespace signald::test {

SignaldFixture::SignaldFixture()
{
    web_root_.write("index.html", "<!doctype html>\n");
}

namespace {

// SIGNALD_TEST_CLUSTER: how many nodes; 0 (or unset) for a single server.
std::size_t cluster_nodes()
{
    const char* value = std::getenv("SIGNALD_TEST_CLUSTER");
    return value == nullptr ? 0 : static_cast<std::size_t>(std::strtoul(value, nullptr, 10));
}

} // namespace

void SignaldFixture::start_server(std::vector<std::string> extra, EnvChanges env)
{
    const std::size_t nodes = cluster_nodes();
    if (nodes == 0) {
        server_ = std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(extra)),
                                                   std::move(env));
        return;
    }
    redis_ = std::make_unique<RedisProcess>();
    for (std::size_t i = 0; i < nodes; ++i) {
        std::vector<std::string> args{"--redis",        redis_->url(),
                                      "--node-id",      "node" + std::to_string(i),
                                      "--node-timeout", "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto node =
            std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(args)), env);
        // One at a time, each knowing the leader (the first, which started alone) before the next.
        // (Its log says so; /metrics would need HTTPS on a TLS node.)
        if (!node->wait_for_stderr("cluster: the leader is ", 1, 5s))
            throw std::runtime_error("cluster node " + std::to_string(i) +
                                     " never learned the leader:\n" + node->stderr_text());
        (i == 0 ? server_ : other_nodes_.emplace_back()) = std::move(node);
    }
}

std::uint16_t SignaldFixture::port() const
{
    if (other_nodes_.empty())
        return server_->port();
    const std::size_t node = next_node_++ % (other_nodes_.size() + 1);
    return node == 0 ? server_->port() : other_nodes_[node - 1]->port();
}

std::unique_ptr<WsClient> SignaldFixture::connect()
{
    auto client = std::make_unique<WsClient>();
    client->connect(port());
    return client;
}

std::optional<double> SignaldFixture::rejections(std::string_view reason) const
{
    return metric(port(), "signald_rejections_total{reason=\"" + std::string(reason) + "\"}");
}

} // namespace signald::test
