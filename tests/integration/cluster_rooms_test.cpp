// Rooms across nodes (docs/cluster.md): three real signald nodes on one real redis-server, with
// each test's clients spread over them. Members on different nodes see each other, with every
// guarantee of docs/protocol.md; a node that dies leaves no ghost.

#include "http_client.hpp"
#include "redis_process.hpp"
#include "signald_process.hpp"
#include "test_jwt.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <memory>
#include <map>
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
    b->send_text(R"({"action":"join","roomId":"r"})");
    const auto b_joined = b->next_json();
    const std::string b_id = b_joined["clientId"];
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
    // The batch that carried b's joined may have lost its answer with Redis (Redis took it, but
    // the leader cannot know): then the leader has suspended b already, and its clients heard so.
    const nlohmann::json b_suspended{
        {"action", "peer-suspended"}, {"roomId", "r"}, {"clientId", b_id}};
    const bool b_suspended_early =
        metric(nodes_[0]->port(), "signald_bus_batches_lost_total").value_or(0) > 0;
    if (b_suspended_early) {
        EXPECT_EQ(a->next_json(), b_suspended);
        EXPECT_EQ(a2->next_json(), b_suspended);
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
    // On the leader's node, what would need Redis is refused too: a join, and a signal to b or
    // a broadcast (b would not get them). To a suspended b they are held for its resume.
    auto late_here = connect(0);
    late_here->send_text(R"({"action":"join","roomId":"r"})");
    EXPECT_EQ(late_here->next_json()["code"], "unavailable");
    if (!b_suspended_early) {
        a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":")" + b_id +
                     R"(","data":0})");
        EXPECT_EQ(a->next_json()["code"], "unavailable");
        a->send_text(R"({"action":"signal","roomId":"r","type":"offer","data":0})");
        const auto broadcast_refused = a->next_json();
        EXPECT_EQ(broadcast_refused["code"], "unavailable");
        EXPECT_EQ(broadcast_refused["request"], "signal");
    }
    // Among the leader's own clients the room goes on.
    a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":")" + a2_id +
                 R"(","data":1})");
    const auto to_a2 = a2->next_json();
    EXPECT_TRUE(to_a2.contains("data") && to_a2["data"] == 1) << to_a2.dump();

    // Redis comes back empty; the cluster converges, and nobody is told a falsehood.
    redis_.start();
    for (const auto& node : nodes_) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (http_request(node->port(), "GET", "/healthz").result_int() != 200 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(50ms);
        EXPECT_EQ(http_request(node->port(), "GET", "/healthz").result_int(), 200u);
    }
    EXPECT_TRUE(a->is_open() && a2->is_open());
    auto back = connect(1);
    if (b_suspended_early) {
        // The leader has held b's messages, but b's node answered it alone meanwhile (two
        // errors): b starts again, closed with 1012, and its resume reports the gap.
        const auto closed = b->wait_close(5s);
        ASSERT_TRUE(closed.has_value());
        EXPECT_EQ(closed->code, 1012);
        back->send_text(R"({"action":"resume","token":")" +
                        b_joined["resumeToken"].get<std::string>() + R"(","received":2})");
        const auto resumed = back->next_json();
        ASSERT_EQ(resumed["action"], "resumed") << resumed;
        EXPECT_EQ(resumed["clientId"], b_id);
        EXPECT_EQ(resumed["gap"], true);
        EXPECT_EQ(resumed["peers"].size(), 2u);
    } else {
        // The edge's client that connected during the outage (its attach was refused) is
        // attached now, its refusal counted: it joins on the same connection. (Above, the lost
        // batch restarted every client of that edge.)
        late->send_text(R"({"action":"join","roomId":"r"})");
        const auto late_joined = late->next_json(5s);
        EXPECT_EQ(late_joined["action"], "joined") << late_joined;
        EXPECT_EQ(a->next_json(3s)["action"], "peer-joined");
        EXPECT_EQ(a2->next_json(3s)["action"], "peer-joined");
        // Nobody is closed: the leader numbers the two errors b's node sent alone, so b's count
        // is the leader's. The late joiner and a signal are b's third and fourth messages, and
        // after a broken connection b resumes exactly, with nothing to replay and no gap.
        a->send_text(R"({"action":"signal","roomId":"r","type":"offer","to":")" + b_id +
                     R"(","data":3})");
        EXPECT_EQ(b->next_json(5s)["action"], "peer-joined");
        EXPECT_EQ(b->next_json(5s)["data"], 3);
        EXPECT_TRUE(b->is_open());
        b->drop();
        EXPECT_EQ(a->next_json(3s), b_suspended);
        back->send_text(R"({"action":"resume","token":")" +
                        b_joined["resumeToken"].get<std::string>() + R"(","received":4})");
        const auto resumed = back->next_json();
        ASSERT_EQ(resumed["action"], "resumed") << resumed;
        EXPECT_FALSE(resumed.contains("gap")) << resumed;
    }
    EXPECT_EQ(a->next_json(3s)["action"], "peer-resumed");

    auto newcomer = connect(1);
    newcomer->send_text(R"({"action":"join","roomId":"r"})");
    const auto joined = newcomer->next_json();
    ASSERT_EQ(joined["action"], "joined") << joined;
    EXPECT_EQ(joined["peers"].size(), b_suspended_early ? 3u : 4u) << joined;
    back->send_text(R"({"action":"signal","roomId":"r","type":"hangup"})");
    EXPECT_EQ(a->next_json(5s)["action"], "peer-joined"); // the newcomer
    EXPECT_EQ(a->next_json(5s)["from"], b_id);
}

// A member: its client, its id and its latest token, to resume with when its node stops.
struct Member
{
    std::unique_ptr<WsClient> client;
    std::string id;
    std::string token;
    std::uint64_t received = 0;      // texts since the token's joined or resumed
    std::vector<nlohmann::json> log; // everything it was sent, across its connections
};

// The next message for member m, counted for its next resume.
nlohmann::json next(Member& m, std::chrono::milliseconds timeout = 3s)
{
    auto message = m.client->next_json(timeout);
    ++m.received;
    m.log.push_back(message);
    return message;
}

// Reads what reaches m until its connection ends (counting it, as a client does for its resume);
// false if it is still open after timeout.
bool read_until_close(Member& m, std::chrono::milliseconds timeout = 5s)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (m.client->is_open() && std::chrono::steady_clock::now() < deadline)
        if (const auto text = m.client->next_text(100ms)) {
            ++m.received;
            m.log.push_back(nlohmann::json::parse(*text));
        }
    return !m.client->is_open();
}

// Resumes m on port: resumed, then the replay comes through next().
void resume(Member& m, std::uint16_t port)
{
    m.client = std::make_unique<WsClient>();
    m.client->connect(port);
    m.client->send_text(R"({"action":"resume","token":")" + m.token + R"(","received":)" +
                        std::to_string(m.received) + "}");
    const auto resumed = m.client->next_json();
    ASSERT_EQ(resumed["action"], "resumed") << resumed;
    ASSERT_EQ(resumed["clientId"], m.id);
    m.token = resumed["resumeToken"];
    m.received = 0;
}

Member join_member(std::unique_ptr<WsClient> client, const std::string& room)
{
    Member m{std::move(client), {}, {}, 0, {}};
    m.client->send_text(R"({"action":"join","roomId":")" + room + R"("})");
    const auto joined = m.client->next_json();
    EXPECT_EQ(joined["action"], "joined");
    m.id = joined["clientId"];
    m.token = joined["resumeToken"];
    return m;
}

TEST_F(ClusterRooms, AStoppingLeaderHandsItsRoomsOverAndNoCallEnds)
{
    start_cluster(3, {"--resume-grace", "20"});
    Member a = join_member(connect(1), "call");
    Member b = join_member(connect(2), "call");
    Member c = join_member(connect(0), "call"); // on the leader
    EXPECT_EQ(next(a)["action"], "peer-joined");
    EXPECT_EQ(next(a)["action"], "peer-joined");
    EXPECT_EQ(next(b)["action"], "peer-joined");

    nodes_[0]->send_signal(SIGTERM);
    EXPECT_TRUE(c.client->expect_close(1001, 5s));
    const auto stopped = nodes_[0]->wait_exit(10s);
    ASSERT_TRUE(stopped.has_value());
    EXPECT_EQ(stopped->code, 0);
    // The others stay connected and hear that c is suspended, not gone.
    auto suspended = next(a);
    EXPECT_EQ(suspended["action"], "peer-suspended");
    EXPECT_EQ(suspended["clientId"], c.id);
    EXPECT_EQ(next(b)["action"], "peer-suspended");
    EXPECT_TRUE(a.client->is_open());

    // Signals go on between the members that stayed, through the new leader.
    a.client->send_text(R"({"action":"signal","roomId":"call","type":"offer","to":")" + b.id +
                        R"(","data":"after"})");
    const auto offer = next(b);
    EXPECT_EQ(offer["data"], "after");
    EXPECT_EQ(offer["from"], a.id);
    // c comes back on another node with the same id and gets what it missed, exactly once.
    a.client->send_text(R"({"action":"signal","roomId":"call","type":"offer","to":")" + c.id +
                        R"(","data":"for c"})");
    resume(c, nodes_[2]->port());
    EXPECT_EQ(next(c)["data"], "for c");
    EXPECT_EQ(next(a)["action"], "peer-resumed");
    EXPECT_EQ(next(b)["action"], "peer-resumed");
    EXPECT_TRUE(c.client->expect_silence(300ms));
}

// Moderation lives with the rooms (docs/protocol.md 7.4): a moderator on an edge kicks a member on
// another edge, and when the leader stops, its successor keeps the ban and the lock.
TEST_F(ClusterRooms, AKickAcrossNodesAndItsBanAndTheLockSurviveAHandOver)
{
    const std::string secret = "cluster-moderation-secret-0123456789abcdef";
    const auto secrets = web_root_.write("secrets", secret + "\n");
    start_cluster(3, {"--auth-secret-file", secrets.string()});
    const auto token = [&](bool moderator, const std::string& sub) {
        nlohmann::json payload = claims("call");
        payload["sub"] = sub;
        if (moderator)
            payload["role"] = "moderator";
        return join_with("call", make_token(payload, secret)).dump();
    };
    auto mod = connect(1);
    mod->send_text(token(true, "host"));
    ASSERT_EQ(mod->next_json()["action"], "joined");
    auto a = connect(2);
    a->send_text(token(false, "ann"));
    const auto joined = a->next_json();
    ASSERT_EQ(joined["action"], "joined");
    const std::string a_id = joined["clientId"];
    EXPECT_EQ(mod->next_json()["action"], "peer-joined");

    mod->send_text(R"({"action":"kick","roomId":"call","clientId":")" + a_id + R"("})");
    EXPECT_EQ(a->next_json()["reason"], "kicked");
    EXPECT_EQ(mod->next_json()["reason"], "kicked");
    mod->send_text(R"({"action":"lock","roomId":"call","locked":true})");
    EXPECT_EQ(mod->next_json()["action"], "room-locked");

    nodes_[0]->send_signal(SIGTERM); // the leader, with nobody of the room on it
    ASSERT_TRUE(nodes_[0]->wait_exit(10s).has_value());
    ASSERT_EQ(wait_for_metric(nodes_[1]->port(), "signald_cluster_is_leader", 1), 1);
    // The successor runs the room as it was: ann is still banned, the room still locked. (Until
    // every node has heard of the hand-over, a join may be `unavailable`: try again, as a client.)
    const auto answer_to = [](WsClient& client, const std::string& join) {
        nlohmann::json answer;
        for (int attempt = 0; attempt < 50; ++attempt) {
            client.send_text(join);
            answer = client.next_json();
            if (answer["code"] != "unavailable")
                break;
            std::this_thread::sleep_for(100ms);
        }
        return answer;
    };
    EXPECT_EQ(answer_to(*a, token(false, "ann"))["code"], "banned");
    auto late = connect(2);
    EXPECT_EQ(answer_to(*late, token(false, "late"))["code"], "room-locked");
    // And the moderator still moderates there.
    mod->send_text(R"({"action":"lock","roomId":"call","locked":false})");
    EXPECT_EQ(mod->next_json()["locked"], false);
    late->send_text(token(false, "late"));
    EXPECT_EQ(late->next_json()["action"], "joined");
}

// The nodes learn of a hand-over each at its own lease renewal. When an edge learns first, it
// follows the rooms at once (roster, held input) to a successor that does not know yet that it
// leads: the successor must not take the roster for a stranger's (closing every listed
// connection with 1012) nor drop the texts. node1, the successor (first in signald:nodes after
// node0), is frozen once the rooms are handed over, so that node2 renews first.
TEST_F(ClusterRooms, AnEdgeThatLearnsOfTheHandOverBeforeTheSuccessorLosesNothing)
{
    start_cluster(3, {"--resume-grace", "20"});
    Member a = join_member(connect(0), "race"); // on the leader
    Member b = join_member(connect(2), "race"); // on node2
    EXPECT_EQ(next(a)["action"], "peer-joined");

    nodes_[0]->send_signal(SIGTERM);
    ASSERT_TRUE(read_until_close(a));
    // The rooms are in Redis and node1 named (the leader closes its clients after that): node1
    // sleeps before its next renewal, most likely, so node2 learns first.
    nodes_[1]->send_signal(SIGSTOP);
    EXPECT_EQ(next(b)["action"], "peer-suspended");
    std::this_thread::sleep_for(600ms); // node2 renews (every 500 ms) and follows the rooms
    b.client->send_text(R"({"action":"signal","roomId":"race","type":"offer","to":")" + a.id +
                        R"(","data":"while node1 slept"})");
    std::this_thread::sleep_for(100ms);
    nodes_[1]->send_signal(SIGCONT); // within its lease (2 s from a renewal < 500 ms before)
    ASSERT_TRUE(nodes_[0]->wait_exit(10s).has_value());

    // b stays connected, and a, resuming on the new leader, gets b's offer.
    EXPECT_TRUE(b.client->expect_silence(1500ms));
    EXPECT_TRUE(b.client->is_open()) << "node1:\n"
                                     << nodes_[1]->stderr_text() << "node2:\n"
                                     << nodes_[2]->stderr_text();
    resume(a, nodes_[1]->port());
    nlohmann::json offer = nlohmann::json::object();
    for (int i = 0; i < 3 && offer.value("action", "") != "signal"; ++i)
        offer = next(a);
    EXPECT_EQ(offer.value("data", ""), "while node1 slept") << offer;
}

TEST_F(ClusterRooms, ARollingRestartOfEveryNodeEndsNoCallAndChangesNoClientId)
{
    start_cluster(3, {"--resume-grace", "20"});
    std::vector<Member> members;
    for (std::size_t i = 0; i < 3; ++i)
        members.push_back(join_member(connect(i), "rolling"));
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = i + 1; j < 3; ++j)
            ASSERT_EQ(next(members[i])["action"], "peer-joined");
    std::vector<std::size_t> node_of{0, 1, 2};

    for (std::size_t restarted = 0; restarted < 3; ++restarted) {
        SCOPED_TRACE("restarting node" + std::to_string(restarted));
        std::vector<std::size_t> seen;
        for (const Member& member : members)
            seen.push_back(member.log.size());
        nodes_[restarted]->send_signal(SIGTERM);
        ASSERT_TRUE(nodes_[restarted]->wait_exit(10s).has_value());
        // Whoever was on it resumes on the next node.
        std::set<std::string> away;
        for (std::size_t m = 0; m < members.size(); ++m)
            if (node_of[m] == restarted) {
                ASSERT_TRUE(read_until_close(members[m]));
                away.insert(members[m].id);
            }
        for (std::size_t m = 0; m < members.size(); ++m)
            if (node_of[m] == restarted) {
                node_of[m] = (restarted + 1) % 3;
                resume(members[m], nodes_[node_of[m]]->port());
            }
        // Everyone hears, live or replayed, exactly once, that each of the others who went away
        // was suspended and then resumed.
        for (std::size_t m = 0; m < members.size(); ++m) {
            Member& member = members[m];
            const std::size_t expected = 2 * (away.size() - away.count(member.id));
            while (member.log.size() - seen[m] < expected)
                next(member);
            std::map<std::string, std::vector<std::string>> heard;
            for (std::size_t i = seen[m]; i < member.log.size(); ++i)
                heard[member.log[i].value("clientId", "")].push_back(
                    member.log[i].value("action", ""));
            for (const std::string& id : away) {
                if (id != member.id) {
                    EXPECT_EQ(heard[id],
                              (std::vector<std::string>{"peer-suspended", "peer-resumed"}))
                        << member.id << " about " << id;
                }
            }
            EXPECT_TRUE(member.client->expect_silence(100ms)) << member.id;
        }
        // The node comes back (as an edge) under its old id.
        std::vector<std::string> args{
            "--redis",        redis_.url(), "--node-id",      "node" + std::to_string(restarted),
            "--node-timeout", "2",          "--resume-grace", "20"};
        nodes_[restarted] =
            std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(args)));
        ASSERT_TRUE(nodes_[restarted]->wait_for_stderr("cluster: the leader is ", 1, 5s));
        // Everybody still talks to everybody, with the ids they started with.
        for (std::size_t from = 0; from < members.size(); ++from)
            members[from].client->send_text(
                R"({"action":"signal","roomId":"rolling","type":"ice-candidate","data":)" +
                std::to_string(restarted * 10 + from) + "}");
        for (std::size_t to = 0; to < members.size(); ++to)
            for (std::size_t from = 0; from < members.size(); ++from) {
                if (from == to)
                    continue;
                const auto signal = next(members[to]);
                ASSERT_EQ(signal["action"], "signal") << signal;
            }
    }
    // The newcomer sees exactly the three, with their first ids.
    auto newcomer = connect(1);
    newcomer->send_text(R"({"action":"join","roomId":"rolling"})");
    const auto joined = newcomer->next_json();
    ASSERT_EQ(joined["peers"].size(), 3u) << joined;
    for (std::size_t i = 0; i < 3; ++i)
        EXPECT_EQ(joined["peers"][i]["clientId"], members[i].id);
}

TEST_F(ClusterRooms, TheLastNodeLeavesItsRoomsForTheNextOne)
{
    start_cluster(1, {"--resume-grace", "20"});
    Member a = join_member(connect(0), "alone");
    Member b = join_member(connect(0), "alone");
    EXPECT_EQ(next(a)["action"], "peer-joined");
    nodes_[0]->send_signal(SIGTERM);
    ASSERT_TRUE(nodes_[0]->wait_exit(10s).has_value());
    ASSERT_TRUE(read_until_close(a));
    ASSERT_TRUE(read_until_close(b));

    std::vector<std::string> args{"--redis",        redis_.url(), "--node-id",      "node9",
                                  "--node-timeout", "2",          "--resume-grace", "20"};
    nodes_[0] = std::make_unique<SignaldProcess>(server_args(web_root_.path(), std::move(args)));
    ASSERT_TRUE(nodes_[0]->wait_for_stderr("took over 1 rooms", 1, 5s)) << nodes_[0]->stderr_text();
    resume(a, nodes_[0]->port());
    resume(b, nodes_[0]->port());
    // Each hears of the other's suspension (live before the close, or replayed) and resume.
    std::vector<std::string> heard;
    while (auto text = a.client->next_text(300ms)) {
        ++a.received;
        heard.push_back(nlohmann::json::parse(*text)["action"]);
    }
    EXPECT_EQ(heard.back(), "peer-resumed");
    EXPECT_LE(heard.size(), 2u);
    a.client->send_text(R"({"action":"signal","roomId":"alone","type":"hangup"})");
    nlohmann::json signal = nlohmann::json::object();
    for (int i = 0; i < 4 && signal.value("action", "") != "signal"; ++i)
        signal = next(b); // b's own replay comes first
    EXPECT_EQ(signal["from"], a.id);
}

TEST_F(ClusterRooms, AfterTheLeaderCrashesEveryMemberResumesWithAGapAndTheSameId)
{
    start_cluster(3, {"--resume-grace", "20"});
    std::vector<Member> members;
    for (std::size_t i = 0; i < 3; ++i)
        members.push_back(join_member(connect(i), "crash"));
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = i + 1; j < 3; ++j)
            ASSERT_EQ(next(members[i])["action"], "peer-joined");
    // The leader saves its rooms at its next lease renewal (every half second here).
    ASSERT_TRUE(nodes_[0]->wait_for_stderr("cluster: the leader is node0", 1, 2s));
    std::this_thread::sleep_for(1s); // at least one save of the three members

    nodes_[0]->send_signal(SIGKILL);
    // Members on the surviving nodes are closed with 1012; the one on the leader lost its
    // connection with it. All resume on node1 or node2 with their tokens.
    EXPECT_TRUE(members[0].client->wait_close(2s).has_value());
    for (std::size_t i = 1; i < 3; ++i) {
        const auto close = members[i].client->wait_close(10s);
        ASSERT_TRUE(close.has_value());
        EXPECT_EQ(close->code, 1012);
    }
    for (std::size_t i = 0; i < 3; ++i) {
        Member& m = members[i];
        std::optional<nlohmann::json> resumed;
        // Until a node leads again (the lease and a settling second), a resume may be refused.
        for (int attempt = 0; attempt < 50 && !resumed; ++attempt) {
            m.client = std::make_unique<WsClient>();
            m.client->connect(nodes_[1 + i % 2]->port());
            m.client->send_text(R"({"action":"resume","token":")" + m.token + R"(","received":)" +
                                std::to_string(m.received) + "}");
            auto answer = m.client->next_json(3s);
            if (answer["action"] == "resumed")
                resumed = answer;
            else
                std::this_thread::sleep_for(200ms);
        }
        ASSERT_TRUE(resumed.has_value()) << "member " << i << " could not resume";
        EXPECT_EQ((*resumed)["clientId"], m.id);
        EXPECT_EQ((*resumed)["gap"], true);
        // The room as it is: the others, suspended until they come back.
        EXPECT_EQ((*resumed)["peers"].size(), 2u) << *resumed;
        m.token = (*resumed)["resumeToken"];
        m.received = 0;
    }
    // Each hears of the others resuming after it; then they talk again.
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = i + 1; j < 3; ++j) {
            const auto resumed = next(members[i]);
            EXPECT_EQ(resumed["action"], "peer-resumed");
            EXPECT_EQ(resumed["clientId"], members[j].id);
        }
    members[2].client->send_text(R"({"action":"signal","roomId":"crash","type":"offer","to":")" +
                                 members[0].id + R"(","data":"again"})");
    EXPECT_EQ(next(members[0])["data"], "again");
}

} // namespace
} // namespace signald::test
