#pragma once
// What the session-resume tests (resume_*_test.cpp) share: a server with resume on, the messages
// they expect word for word, and the usual room: a subject `a` (a CountingClient, which answers no
// ping and can vanish from the network) and an observer `b` (a WsClient, which answers pings).

#include "counting_client.hpp"
#include "signald_fixture.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace signald::test::resume {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline json peer_suspended(const std::string& room, const std::string& id)
{
    return {{"action", "peer-suspended"}, {"roomId", room}, {"clientId", id}};
}

inline json peer_resumed(const std::string& room, const std::string& id)
{
    return {{"action", "peer-resumed"}, {"roomId", room}, {"clientId", id}};
}

inline json peer_left(const std::string& room, const std::string& id)
{
    return {{"action", "peer-left"}, {"roomId", room}, {"clientId", id}};
}

// The data of test offer seq: {"seq":seq}, with pad_bytes of padding in "pad" when non-zero.
inline json offer_data(int seq, std::size_t pad_bytes)
{
    json data{{"seq", seq}};
    if (pad_bytes > 0)
        data["pad"] = std::string(pad_bytes, 'p');
    return data;
}

// A directed offer numbered seq, as the server relays it.
inline json relayed(const std::string& room, const std::string& from, const std::string& to,
                    int seq, std::size_t pad_bytes = 0)
{
    return {{"action", "signal"},
            {"roomId", room},
            {"from", from},
            {"type", "offer"},
            {"data", offer_data(seq, pad_bytes)},
            {"to", to}};
}

// The request that sends offer seq to `to`.
inline json offer(const std::string& room, const std::string& to, int seq,
                  std::size_t pad_bytes = 0)
{
    return {{"action", "signal"},
            {"roomId", room},
            {"type", "offer"},
            {"to", to},
            {"data", offer_data(seq, pad_bytes)}};
}

// Succeeds when reply is the resume-failed error (any message text).
inline ::testing::AssertionResult is_resume_failed(const json& reply)
{
    if (reply.value("action", "") == "error" && reply.value("code", "") == "resume-failed" &&
        reply.value("request", "") == "resume" && reply.contains("message") &&
        reply["message"].is_string() && reply.size() == 4)
        return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected resume-failed, got " << reply.dump();
}

// Succeeds when reply is `resumed` for the room and clientId, with a fresh token (and nothing else
// unless ice servers are configured).
inline ::testing::AssertionResult is_resumed(const json& reply, const std::string& room,
                                             const std::string& id, const std::string& old_token)
{
    if (reply.value("action", "") != "resumed" || reply.value("roomId", "") != room ||
        reply.value("clientId", "") != id)
        return ::testing::AssertionFailure()
               << "expected resumed for " << id << " in " << room << ", got " << reply.dump();
    const std::string token = reply.value("resumeToken", "");
    if (token.empty() || token == old_token)
        return ::testing::AssertionFailure()
               << "resumed must carry a new resumeToken: " << reply.dump();
    if (reply.size() != 4 && !(reply.size() == 5 && reply.contains("iceServers")))
        return ::testing::AssertionFailure() << "unexpected fields in " << reply.dump();
    return ::testing::AssertionSuccess();
}

class ResumeFixture : public SignaldFixture
{
protected:
    // By default a grace long enough that nothing expires during a test.
    void start(std::vector<std::string> extra = {}, int grace_seconds = 30)
    {
        std::vector<std::string> args{"--resume-grace", std::to_string(grace_seconds)};
        args.insert(args.end(), extra.begin(), extra.end());
        start_server(std::move(args));
    }

    std::unique_ptr<CountingClient> counting() { return std::make_unique<CountingClient>(port()); }

    // a joins room, then b; a has received b's peer-joined (its message 1).
    void meet(const std::string& room = "r")
    {
        room_ = room;
        a_ = counting();
        a_joined_ = a_->join(room);
        a_id_ = a_->client_id();
        ASSERT_FALSE(a_->token().empty()) << "joined carries no resumeToken: " << a_joined_.dump();
        b_ = connect();
        b_id_ = b_->join(room);
        ASSERT_EQ(a_->next_json().value("action", ""), "peer-joined");
        ASSERT_EQ(a_->received(), 1u);
    }

    // b sends offers first..last to a (a does not read them).
    void offers_to_a(int first, int last, std::size_t pad_bytes = 0)
    {
        for (int seq = first; seq <= last; ++seq)
            b_->send_json(offer(room_, a_id_, seq, pad_bytes));
    }

    // client (a, or whoever resumed as a) reads the offers first..last from b, in order.
    void reads_offers(CountingClient& client, int first, int last, std::size_t pad_bytes = 0)
    {
        for (int seq = first; seq <= last; ++seq)
            ASSERT_EQ(client.next_json(), relayed(room_, b_id_, a_id_, seq, pad_bytes))
                << "offer " << seq;
    }

    // b has handled everything it sent before: an error reply comes back in order.
    void b_round_trip()
    {
        b_->send_json({{"action", "leave"}, {"roomId", "no-such-room"}});
        const json reply = b_->next_json();
        ASSERT_EQ(reply.value("code", ""), "not-in-room") << reply.dump();
    }

    std::string room_;
    std::unique_ptr<CountingClient> a_;
    json a_joined_;
    std::string a_id_;
    std::unique_ptr<WsClient> b_;
    std::string b_id_;
};

} // namespace signald::test::resume
