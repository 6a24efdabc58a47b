// Ordering guarantees: each sender's messages reach each receiver in the order sent, and a joiner
// hears `joined` before anything the others send in reaction to its arrival.

#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

class Ordering : public SignaldFixture
{
protected:
    // A thousand messages in a blink is exactly the default burst (5 s at 200 msg/s); the rate
    // limit is not what these tests are about.
    Ordering() { start_server({"--rate-msgs", "100000"}); }
};

struct Received
{
    std::string from;
    int seq;
};

// Reads count signals on its own thread, so the receiver drains while the sender is still sending.
std::future<std::vector<Received>> collect(WsClient& client, std::size_t count)
{
    return std::async(std::launch::async, [&client, count] {
        std::vector<Received> received;
        while (received.size() < count) {
            const json message = client.next_json(5s);
            if (message.value("action", "") != "signal")
                throw std::runtime_error("unexpected message: " + message.dump());
            received.push_back(
                {message.value("from", ""), message.at("data").at("seq").get<int>()});
        }
        return received;
    });
}

TEST_F(Ordering, ThousandQuickMessagesArriveInSendOrderAtEachReceiver)
{
    auto sender = connect();
    auto r1 = connect();
    auto r2 = connect();
    sender->join("fifo");
    const std::string r1_id = r1->join("fifo");
    r2->join("fifo");
    EXPECT_EQ(sender->next_json().value("action", ""), "peer-joined");
    EXPECT_EQ(sender->next_json().value("action", ""), "peer-joined");
    EXPECT_EQ(r1->next_json().value("action", ""), "peer-joined");

    constexpr int count = 1000;
    // Every tenth message goes only to r1, so directed and broadcast messages interleave.
    auto at_r1 = collect(*r1, count);
    auto at_r2 = collect(*r2, count - count / 10);
    for (int seq = 0; seq < count; ++seq) {
        json message{
            {"action", "signal"},
            {"roomId", "fifo"},
            {"type", "ice-candidate"},
            {"data", {{"seq", seq}, {"candidate", "candidate:1 1 udp 1 10.0.0.1 9 typ host"}}}};
        if (seq % 10 == 0)
            message["to"] = r1_id;
        sender->send_json(message);
    }

    std::vector<int> expected_r1(count);
    std::vector<int> expected_r2;
    for (int seq = 0; seq < count; ++seq) {
        expected_r1[static_cast<std::size_t>(seq)] = seq;
        if (seq % 10 != 0)
            expected_r2.push_back(seq);
    }
    auto seqs = [](const std::vector<Received>& received) {
        std::vector<int> result;
        for (const auto& r : received)
            result.push_back(r.seq);
        return result;
    };
    EXPECT_EQ(seqs(at_r1.get()), expected_r1);
    EXPECT_EQ(seqs(at_r2.get()), expected_r2);
    EXPECT_TRUE(r2->expect_silence(100ms));
    EXPECT_TRUE(sender->expect_silence(20ms));
}

TEST_F(Ordering, TwoSendersAreEachInOrderAtTheReceiver)
{
    auto a = connect();
    auto b = connect();
    auto receiver = connect();
    const std::string a_id = a->join("pair");
    const std::string b_id = b->join("pair");
    const std::string receiver_id = receiver->join("pair");
    EXPECT_EQ(a->next_json().value("action", ""), "peer-joined");
    EXPECT_EQ(a->next_json().value("action", ""), "peer-joined");
    EXPECT_EQ(b->next_json().value("action", ""), "peer-joined");

    // Directed, so the two senders hear nothing and only the receiver is read concurrently.
    constexpr int per_sender = 500;
    auto received = collect(*receiver, 2 * per_sender);
    for (int seq = 0; seq < per_sender; ++seq) {
        for (auto* sender : {a.get(), b.get()})
            sender->send_json({{"action", "signal"},
                               {"roomId", "pair"},
                               {"type", "offer"},
                               {"to", receiver_id},
                               {"data", {{"seq", seq}}}});
    }
    std::map<std::string, std::vector<int>> by_sender;
    for (const auto& r : received.get())
        by_sender[r.from].push_back(r.seq);
    std::vector<int> expected(per_sender);
    for (int seq = 0; seq < per_sender; ++seq)
        expected[static_cast<std::size_t>(seq)] = seq;
    EXPECT_EQ(by_sender.size(), 2u);
    EXPECT_EQ(by_sender[a_id], expected);
    EXPECT_EQ(by_sender[b_id], expected);
    EXPECT_TRUE(a->expect_silence(100ms));
    EXPECT_TRUE(b->expect_silence(20ms));
}

TEST_F(Ordering, JoinedArrivesBeforeAnythingOthersSendInReaction)
{
    auto a = connect();
    auto b = connect();
    const std::string a_id = a->join("lobby");
    const std::string b_id = b->join("lobby");
    EXPECT_EQ(a->next_json().value("action", ""), "peer-joined");

    // Each round a newcomer joins; the members answer its peer-joined at once with a directed
    // offer. The newcomer must see joined first, whatever the timing.
    for (int round = 0; round < 20; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        auto newcomer = connect();
        newcomer->send_json({{"action", "join"}, {"roomId", "lobby"}});
        std::string newcomer_id;
        for (auto* member : {a.get(), b.get()}) {
            const json announced = member->next_json();
            ASSERT_EQ(announced.value("action", ""), "peer-joined") << announced.dump();
            newcomer_id = announced["peer"].value("clientId", "");
            member->send_json({{"action", "signal"},
                               {"roomId", "lobby"},
                               {"type", "offer"},
                               {"to", newcomer_id},
                               {"data", {{"round", round}}}});
        }
        const json first = newcomer->next_json();
        EXPECT_EQ(first.value("action", ""), "joined") << first.dump();
        EXPECT_EQ(first.value("clientId", ""), newcomer_id);
        EXPECT_EQ(first.value("peers", json()),
                  json::array({json{{"clientId", a_id}}, json{{"clientId", b_id}}}));
        std::set<std::string> offers_from;
        for (int i = 0; i < 2; ++i) {
            const json offer = newcomer->next_json();
            EXPECT_EQ(offer.value("action", ""), "signal") << offer.dump();
            offers_from.insert(offer.value("from", ""));
        }
        EXPECT_EQ(offers_from, (std::set<std::string>{a_id, b_id}));

        newcomer->send_json({{"action", "leave"}, {"roomId", "lobby"}});
        EXPECT_EQ(newcomer->next_json().value("action", ""), "left");
        EXPECT_EQ(a->next_json().value("action", ""), "peer-left");
        EXPECT_EQ(b->next_json().value("action", ""), "peer-left");
    }
}

} // namespace
} // namespace signald::test
