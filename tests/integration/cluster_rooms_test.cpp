// Rooms across nodes (docs/cluster.md): three real signald nodes on one real redis-server, with
// each test's clients spread over them. Members on different nodes see each other, with every
// guarantee of docs/protocol.md; a node that dies leaves no ghost.

#include "http_client.hpp"
#include "redis_process.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace signald::test {
namespace {

class ClusterRooms : public ::testing::Test
{
protected:
    ClusterRooms() { web_root_.write("index.html", "<!doctype html>\n"); }

    // Starts n nodes and waits until every one knows the leader (the first).
    void start_cluster(std::size_t n, std::vector<std::string> extra = {})
    {
        for (std::size_t i = 0; i < n; ++i) {
            std::vector<std::string> args{"--redis",        redis_.url(),
                                          "--node-id",      "node" + std::to_string(i),
                                          "--node-timeout", "2"};
            args.insert(args.end(), extra.begin(), extra.end());
            nodes_.push_back(
                std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(args))));
            // One at a time: the first one alone becomes the leader at once.
            ASSERT_EQ(wait_for_metric(nodes_.back()->port(), "signald_cluster_leader_known", 1), 1);
        }
    }

    std::unique_ptr<WsClient> connect(std::size_t node)
    {
        auto client = std::make_unique<WsClient>();
        client->connect(nodes_.at(node)->port());
        return client;
    }

    RedisProcess redis_;
    TempDir web_root_;
    std::vector<std::unique_ptr<SignaldProcess>> nodes_;
};

TEST_F(ClusterRooms, MembersOnThreeNodesSeeEachOtherInJoinOrder)
{
    start_cluster(3);
    auto a = connect(0);
    auto b = connect(1);
    auto c = connect(2);
    const std::string a_id = a->join("standup", "Ann");
    const std::string b_id = b->join("standup", "Bob");
    EXPECT_EQ(a->next_json()["peer"]["clientId"], b_id);
    c->send_text(R"({"action":"join","roomId":"standup","name":"Cy"})");
    const auto joined = c->next_json();
    ASSERT_EQ(joined["action"], "joined");
    ASSERT_EQ(joined["peers"].size(), 2u);
    EXPECT_EQ(joined["peers"][0]["clientId"], a_id);
    EXPECT_EQ(joined["peers"][1]["clientId"], b_id);
    EXPECT_EQ(joined["peers"][1]["name"], "Bob");
    const std::string c_id = joined["clientId"];
    EXPECT_EQ(a->next_json()["peer"]["clientId"], c_id);
    EXPECT_EQ(b->next_json()["peer"]["clientId"], c_id);
    // Unique cluster-wide.
    EXPECT_EQ(std::set<std::string>({a_id, b_id, c_id}).size(), 3u);
}

TEST_F(ClusterRooms, SignalsCrossNodesWithFromStampedAndInOrder)
{
    start_cluster(3);
    auto a = connect(1);
    auto b = connect(2);
    auto c = connect(0);
    const std::string a_id = a->join("r");
    const std::string b_id = b->join("r");
    c->join("r");
    a->next_json(); // peer-joined b
    a->next_json(); // peer-joined c
    b->next_json(); // peer-joined c
    for (int i = 0; i < 50; ++i)
        a->send_text(R"({"action":"signal","roomId":"r","type":"ice-candidate","to":")" + b_id +
                     R"(","data":)" + std::to_string(i) + "}");
    a->send_text(R"({"action":"signal","roomId":"r","type":"hangup","from":"forged"})");
    for (int i = 0; i < 50; ++i) {
        const auto signal = b->next_json();
        ASSERT_EQ(signal["action"], "signal");
        EXPECT_EQ(signal["from"], a_id);
        EXPECT_EQ(signal["data"], i);
    }
    EXPECT_EQ(b->next_json()["type"], "hangup");
    const auto broadcast = c->next_json();
    EXPECT_EQ(broadcast["type"], "hangup");
    EXPECT_EQ(broadcast["from"], a_id);
    EXPECT_TRUE(c->expect_silence(200ms)); // the directed ones went to b only
}

TEST_F(ClusterRooms, ErrorsComeBackInOrderFromTheLeader)
{
    start_cluster(2);
    auto a = connect(1);
    a->join("r");
    a->send_text("not json");
    a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":"nobody12345"})");
    a->send_text(R"({"action":"leave","roomId":"elsewhere"})");
    EXPECT_EQ(a->next_json()["code"], "bad-json");
    EXPECT_EQ(a->next_json()["code"], "unknown-peer");
    EXPECT_EQ(a->next_json()["code"], "not-in-room");
}

TEST_F(ClusterRooms, RoomFullCountsTheWholeClusterAndOneOfTwoRacingJoinsWins)
{
    start_cluster(3, {"--max-room-size", "3"});
    auto a = connect(0);
    auto b = connect(1);
    a->join("full");
    b->join("full");
    auto c = connect(1);
    auto d = connect(2);
    c->send_text(R"({"action":"join","roomId":"full"})");
    d->send_text(R"({"action":"join","roomId":"full"})");
    const auto c_answer = c->next_json();
    const auto d_answer = d->next_json();
    const int winners = (c_answer["action"] == "joined") + (d_answer["action"] == "joined");
    EXPECT_EQ(winners, 1) << c_answer << d_answer;
    const auto& loser = c_answer["action"] == "joined" ? d_answer : c_answer;
    EXPECT_EQ(loser["code"], "room-full");
}

TEST_F(ClusterRooms, AKilledEdgeSuspendsItsMembersWithinTheNodeTimeoutThenTheyLeave)
{
    start_cluster(3, {"--resume-grace", "2"});
    auto a = connect(0);
    auto b = connect(1);
    auto c = connect(2);
    a->join("r");
    b->join("r");
    const std::string c_id = c->join("r");
    a->next_json();
    a->next_json();
    b->next_json();

    const auto killed = std::chrono::steady_clock::now();
    nodes_[2]->send_signal(SIGKILL);
    const auto suspended = a->next_json(6s);
    EXPECT_EQ(suspended["action"], "peer-suspended");
    EXPECT_EQ(suspended["clientId"], c_id);
    EXPECT_LE(std::chrono::steady_clock::now() - killed, 2s + 2s);
    EXPECT_EQ(b->next_json(1s)["action"], "peer-suspended");
    // The grace period ends in exactly one peer-left.
    const auto left = a->next_json(4s);
    EXPECT_EQ(left["action"], "peer-left");
    EXPECT_EQ(left["clientId"], c_id);
    EXPECT_EQ(b->next_json(2s)["action"], "peer-left");
    EXPECT_TRUE(a->expect_silence(500ms));
}

TEST_F(ClusterRooms, AMemberResumesOnAnotherNodeAndGetsWhatItMissedExactlyOnce)
{
    start_cluster(3, {"--resume-grace", "10"});
    auto a = connect(0);
    auto b = connect(1);
    a->join("r");
    b->send_text(R"({"action":"join","roomId":"r"})");
    const auto joined = b->next_json();
    const std::string b_id = joined["clientId"];
    const std::string token = joined["resumeToken"];
    a->next_json(); // peer-joined
    b->drop(true);  // an RST: lost, so suspended
    EXPECT_EQ(a->next_json(3s)["action"], "peer-suspended");
    a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":")" + b_id +
                 R"(","data":"missed"})");

    auto again = connect(2);
    again->send_text(R"({"action":"resume","token":")" + token + R"(","received":0})");
    const auto resumed = again->next_json();
    ASSERT_EQ(resumed["action"], "resumed") << resumed;
    EXPECT_EQ(resumed["clientId"], b_id);
    const auto replayed = again->next_json();
    EXPECT_EQ(replayed["data"], "missed");
    EXPECT_EQ(a->next_json()["action"], "peer-resumed");
    EXPECT_TRUE(again->expect_silence(300ms));
    // And it is a member again: signals reach it on its new node.
    a->send_text(R"({"action":"signal","roomId":"r","type":"hangup"})");
    EXPECT_EQ(again->next_json()["type"], "hangup");
}

TEST_F(ClusterRooms, ADrainingEdgeSuspendsItsMembersAndTheyResumeOnAnotherNode)
{
    start_cluster(3, {"--resume-grace", "10"});
    auto a = connect(0);
    auto b = connect(2);
    a->join("r");
    b->send_text(R"({"action":"join","roomId":"r"})");
    const auto joined = b->next_json();
    const std::string b_id = joined["clientId"];
    a->next_json(); // peer-joined

    nodes_[2]->send_signal(SIGTERM);
    EXPECT_TRUE(b->expect_close(1001, 3s));
    const auto suspended = a->next_json(3s);
    EXPECT_EQ(suspended["action"], "peer-suspended");
    EXPECT_EQ(suspended["clientId"], b_id);
    const auto status = nodes_[2]->wait_exit(10s);
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(status->code, 0);

    a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":")" + b_id +
                 R"(","data":"while away"})");
    auto again = connect(1);
    again->send_text(R"({"action":"resume","token":")" + joined["resumeToken"].get<std::string>() +
                     R"(","received":0})");
    EXPECT_EQ(again->next_json()["action"], "resumed");
    EXPECT_EQ(again->next_json()["data"], "while away");
    EXPECT_EQ(a->next_json()["action"], "peer-resumed");
}

TEST_F(ClusterRooms, ADrainingEdgeWithResumeOffRemovesItsMembers)
{
    start_cluster(2, {"--resume-grace", "0"});
    auto a = connect(0);
    auto b = connect(1);
    a->join("r");
    const std::string b_id = b->join("r");
    a->next_json(); // peer-joined
    nodes_[1]->send_signal(SIGTERM);
    const auto left = a->next_json(3s);
    EXPECT_EQ(left["action"], "peer-left");
    EXPECT_EQ(left["clientId"], b_id);
}

TEST_F(ClusterRooms, WithRedisGoneEdgesRefuseWithUnavailableAndTheLeadersOwnClientsGoOn)
{
    start_cluster(2);
    auto a = connect(0);
    auto a2 = connect(0);
    auto b = connect(1);
    a->join("r");
    const std::string a2_id = a2->join("r");
    const std::string b_id = b->join("r");
    a->next_json();  // a2
    a->next_json();  // b
    a2->next_json(); // b

    redis_.kill();
    // Both nodes say so on /healthz within 5 s.
    for (const auto& node : nodes_) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (http_request(node->port(), "GET", "/healthz").result_int() != 503 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(50ms);
        EXPECT_EQ(http_request(node->port(), "GET", "/healthz").result_int(), 503u);
    }
    b->send_text(R"({"action":"signal","roomId":"r","type":"offer"})");
    const auto refused = b->next_json();
    EXPECT_EQ(refused["code"], "unavailable");
    EXPECT_EQ(refused["request"], "signal");
    auto late = connect(1);
    late->send_text(R"({"action":"join","roomId":"r"})");
    EXPECT_EQ(late->next_json()["code"], "unavailable");
    // Malformed is still malformed: that needs no room.
    b->send_text("{");
    EXPECT_EQ(b->next_json()["code"], "bad-json");
    // On the leader's own node the room goes on.
    a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":")" + a2_id +
                 R"(","data":1})");
    EXPECT_EQ(a2->next_json()["data"], 1);

    // Redis comes back empty; the cluster converges and nobody was closed or told a falsehood.
    redis_.start();
    for (const auto& node : nodes_) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (http_request(node->port(), "GET", "/healthz").result_int() != 200 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(50ms);
        EXPECT_EQ(http_request(node->port(), "GET", "/healthz").result_int(), 200u);
    }
    EXPECT_TRUE(a->is_open() && a2->is_open() && b->is_open());
    auto newcomer = connect(1);
    std::optional<nlohmann::json> joined;
    for (int attempt = 0; attempt < 50; ++attempt) {
        newcomer->send_text(R"({"action":"join","roomId":"r"})");
        auto answer = newcomer->next_json();
        if (answer["action"] == "joined") {
            joined = answer;
            break;
        }
        ASSERT_EQ(answer["code"], "unavailable") << answer;
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(joined.has_value()) << "the cluster did not converge";
    EXPECT_EQ((*joined)["peers"].size(), 3u) << *joined;
    b->send_text(R"({"action":"signal","roomId":"r","type":"hangup"})");
    EXPECT_EQ(a->next_json(5s)["action"], "peer-joined"); // the newcomer
    EXPECT_EQ(a->next_json(5s)["from"], b_id);
}

} // namespace
} // namespace signald::test
