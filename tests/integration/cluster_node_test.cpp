// Cluster nodes and Redis (docs/cluster.md, "Nodes" and "Redis goes away"): real signald nodes on
// a real redis-server started by the test. A node holds a lease; one that dies is declared dead
// by another once the lease runs out; one that wakes from a freeze after being declared dead
// closes its clients with 1012 and relays nothing they sent meanwhile; losing Redis shows on
// /healthz within 5 s and closes no client.

#include "http_client.hpp"
#include "redis_process.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace signald::test {
namespace {

// The shortest lease the options allow keeps these tests quick.
constexpr auto node_timeout = 2s;

class ClusterNode : public ::testing::Test
{
protected:
    ClusterNode() { web_root_.write("index.html", "<!doctype html>\n"); }

    std::unique_ptr<SignaldProcess> start_node(const std::string& id,
                                               std::vector<std::string> extra = {})
    {
        std::vector<std::string> args{"--redis", redis_.url(),     "--node-id",
                                      id,        "--node-timeout", "2"};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(args)));
    }

    static std::unique_ptr<WsClient> connect(const SignaldProcess& node)
    {
        auto client = std::make_unique<WsClient>();
        client->connect(node.port());
        return client;
    }

    // Polls /healthz until it answers status, or the deadline; returns the last answer.
    static HttpClient::Response wait_for_health(const SignaldProcess& node, unsigned status,
                                                std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto response = http_request(node.port(), "GET", "/healthz");
            if (response.result_int() == status || std::chrono::steady_clock::now() > deadline)
                return response;
            std::this_thread::sleep_for(50ms); // polling an HTTP endpoint
        }
    }

    RedisProcess redis_;
    TempDir web_root_;
};

TEST_F(ClusterNode, ANodeRegistersItsLeaseAndReportsRedisUp)
{
    auto node = start_node("alpha");
    EXPECT_EQ(wait_for_metric(node->port(), "signald_redis_up", 1), 1);
    EXPECT_EQ(wait_for_metric(node->port(), "signald_cluster_node_info{node=\"alpha\"}", 1), 1);
    EXPECT_EQ(wait_for_health(*node, 200, 5s).result_int(), 200u);
    // The lease is in Redis under the node's id, with at most --node-timeout left.
    EXPECT_FALSE(redis_.cli({"GET", "signald:lease:alpha"}).empty());
    const int ttl = std::stoi(redis_.cli({"PTTL", "signald:lease:alpha"}));
    EXPECT_GT(ttl, 0);
    EXPECT_LE(ttl, 2000);
}

TEST_F(ClusterNode, TheNodesCountEachOther)
{
    auto alpha = start_node("alpha");
    auto beta = start_node("beta");
    // A node judges the others only after a whole lease of reaching Redis.
    EXPECT_EQ(wait_for_metric(alpha->port(), "signald_cluster_nodes", 2, 6s), 2);
    EXPECT_EQ(wait_for_metric(beta->port(), "signald_cluster_nodes", 2, 6s), 2);
}

TEST_F(ClusterNode, AKilledNodeIsDeclaredDeadOnceWithinTheNodeTimeout)
{
    auto alpha = start_node("alpha");
    auto beta = start_node("beta");
    auto gamma = start_node("gamma");
    ASSERT_EQ(wait_for_metric(alpha->port(), "signald_cluster_nodes", 3, 6s), 3);
    ASSERT_EQ(wait_for_metric(beta->port(), "signald_cluster_nodes", 3, 6s), 3);

    const auto killed = std::chrono::steady_clock::now();
    gamma->send_signal(SIGKILL);
    // Exactly one of the two survivors declares it, within the lease plus a sweep.
    const auto deadline = killed + node_timeout + 2s;
    double declared = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        declared = metric(alpha->port(), "signald_cluster_dead_nodes_total").value_or(0) +
                   metric(beta->port(), "signald_cluster_dead_nodes_total").value_or(0);
        if (declared > 0)
            break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(declared, 1);
    EXPECT_EQ(wait_for_metric(alpha->port(), "signald_cluster_nodes", 2), 2);
    // Once: the next sweeps find nothing more to declare.
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(metric(alpha->port(), "signald_cluster_dead_nodes_total").value_or(0) +
                  metric(beta->port(), "signald_cluster_dead_nodes_total").value_or(0),
              1);
    // The death is on the cluster's event stream, for whoever must act on it.
    const std::string events = redis_.cli({"XRANGE", "signald:events", "-", "+"});
    EXPECT_NE(events.find("gamma"), std::string::npos) << events;
}

TEST_F(ClusterNode, AFrozenNodeDeclaredDeadCloses1012AndRelaysNothingSentMeanwhile)
{
    auto alpha = start_node("alpha");
    auto beta = start_node("beta");
    ASSERT_EQ(wait_for_metric(alpha->port(), "signald_cluster_nodes", 2, 6s), 2);
    auto sender = connect(*beta);
    auto receiver = connect(*beta);
    sender->join("frozen");
    receiver->join("frozen");
    ASSERT_EQ(sender->next_json()["action"], "peer-joined");

    beta->send_signal(SIGSTOP);
    // Sent while beta is frozen: the bytes wait in beta's socket buffer.
    sender->send_text(R"({"action":"signal","roomId":"frozen","type":"offer","data":"late"})");
    const auto frozen = std::chrono::steady_clock::now();
    double declared = 0;
    while (std::chrono::steady_clock::now() < frozen + node_timeout + 3s) {
        declared = metric(alpha->port(), "signald_cluster_dead_nodes_total").value_or(0);
        if (declared > 0)
            break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(declared, 1) << "alpha never declared the frozen beta dead";
    beta->send_signal(SIGCONT);

    // The receiver's next frame is the close: the offer sent during the freeze never arrives.
    const auto close = receiver->wait_close(5s);
    ASSERT_TRUE(close.has_value());
    EXPECT_EQ(close->code, 1012);
    EXPECT_EQ(receiver->discarded_before_close(), 0u);
    EXPECT_TRUE(sender->expect_close(1012, 5s));
    EXPECT_EQ(wait_for_metric(beta->port(), "signald_cluster_fenced_total", 1), 1);
    // It comes back as a new incarnation and serves again.
    EXPECT_EQ(wait_for_health(*beta, 200, 5s).result_int(), 200u);
    auto fresh = connect(*beta);
    EXPECT_FALSE(fresh->join("after").empty());
}

TEST_F(ClusterNode, LosingRedisShowsOnHealthzAndClosesNoClient)
{
    auto node = start_node("alpha");
    ASSERT_EQ(wait_for_health(*node, 200, 5s).result_int(), 200u);
    auto first = connect(*node);
    auto second = connect(*node);
    first->join("call");
    second->join("call");
    ASSERT_EQ(first->next_json()["action"], "peer-joined");

    const auto lost = std::chrono::steady_clock::now();
    redis_.kill();
    const auto unhealthy = wait_for_health(*node, 503, 5s);
    EXPECT_EQ(unhealthy.result_int(), 503u);
    EXPECT_NE(unhealthy.body().find("Redis"), std::string::npos) << unhealthy.body();
    EXPECT_LE(std::chrono::steady_clock::now() - lost, 5s);
    EXPECT_EQ(metric(node->port(), "signald_redis_up"), 0);

    // Past the lease: the clients are still connected, and talk to each other on this node.
    std::this_thread::sleep_for(node_timeout + 500ms);
    first->send_text(R"({"action":"signal","roomId":"call","type":"offer","data":"still here"})");
    const auto relayed = second->next_json(2s);
    EXPECT_EQ(relayed["data"], "still here");

    // Redis comes back empty: healthy again within 5 s, the lease taken again.
    const auto back = std::chrono::steady_clock::now();
    redis_.start();
    EXPECT_EQ(wait_for_health(*node, 200, 5s).result_int(), 200u);
    EXPECT_LE(std::chrono::steady_clock::now() - back, 5s);
    EXPECT_GE(metric(node->port(), "signald_redis_reconnects_total").value_or(0), 1);
    EXPECT_FALSE(redis_.cli({"GET", "signald:lease:alpha"}).empty());
    EXPECT_TRUE(first->is_open());
    EXPECT_TRUE(second->is_open());
}

TEST_F(ClusterNode, AFrozenRedisShowsOnHealthzToo)
{
    auto node = start_node("alpha");
    ASSERT_EQ(wait_for_health(*node, 200, 5s).result_int(), 200u);
    redis_.pause();
    const auto unhealthy = wait_for_health(*node, 503, 5s);
    redis_.resume();
    EXPECT_EQ(unhealthy.result_int(), 503u);
    EXPECT_NE(unhealthy.body().find("not answering"), std::string::npos) << unhealthy.body();
    EXPECT_EQ(wait_for_health(*node, 200, 5s).result_int(), 200u);
}

TEST_F(ClusterNode, ACleanStopGivesTheLeaseBack)
{
    auto node = start_node("alpha");
    ASSERT_EQ(wait_for_metric(node->port(), "signald_redis_up", 1), 1);
    node->send_signal(SIGTERM);
    const auto status = node->wait_exit(5s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->code, 0);
    EXPECT_EQ(redis_.cli({"EXISTS", "signald:lease:alpha"}), "0");
    EXPECT_EQ(redis_.cli({"HEXISTS", "signald:nodes", "alpha"}), "0");
}

TEST_F(ClusterNode, ANodeStartedAgainWithADeadNodesIdReplacesIt)
{
    auto first = start_node("alpha");
    ASSERT_EQ(wait_for_metric(first->port(), "signald_redis_up", 1), 1);
    const std::string old_incarnation = redis_.cli({"GET", "signald:lease:alpha"});
    first->send_signal(SIGKILL);
    ASSERT_TRUE(first->wait_exit(5s).has_value());

    // Started again at once, while the old lease still runs: the old incarnation is dead.
    auto second = start_node("alpha");
    ASSERT_EQ(wait_for_metric(second->port(), "signald_redis_up", 1), 1);
    const std::string new_incarnation = redis_.cli({"GET", "signald:lease:alpha"});
    EXPECT_NE(new_incarnation, old_incarnation);
    EXPECT_EQ(redis_.cli({"EXISTS", "signald:dead:alpha:" + old_incarnation}), "1");
}

} // namespace
} // namespace signald::test
