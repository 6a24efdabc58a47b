#pragma once
// One pair of the churn scenario, looping over sessions: two fresh connections A and B, A joins
// room "c<pair>-<iteration>", B joins it too, A offers to B once it sees B, B answers, and both
// close. Every step is checked; ChurnRun counts the sessions and owns the clock.

#include "clock.hpp"
#include "ws_client.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace bench {

class ChurnRun;

class ChurnPair final : public WsClientEvents
{
public:
    ChurnPair(ChurnRun& run, std::size_t index) : run_(run), index_(index) {}

    // Starts the next session with two new connections.
    void begin();
    // Drops both connections, e.g. after a stall; does not start another session.
    void abandon();

    bool active() const { return active_; }
    Clock::time_point last_progress() const { return last_progress_; }
    std::size_t index() const { return index_; }
    std::uint64_t iteration() const { return iteration_; }
    const char* step() const;

    void on_open(WsClient& client) override;
    void on_text(WsClient& client, std::span<char> text) override;
    void on_failed(WsClient& client, std::string_view why) override;

private:
    struct Message;

    void on_text_for_a(const Message& message);
    void on_text_for_b(const Message& message);
    void join_b_when_ready();
    void send_signal(WsClient& client, std::string_view type, std::uint64_t sender,
                     std::string_view to);
    bool check_signal(const Message& message, std::string_view type, std::uint64_t sender,
                      std::string_view from, std::string_view to);
    void finish_session();
    void violation(const char* what);

    ChurnRun& run_;
    std::size_t index_;
    std::uint64_t iteration_ = 0;
    bool active_ = false;
    Clock::time_point last_progress_{};

    std::string room_;
    std::shared_ptr<WsClient> a_;
    std::shared_ptr<WsClient> b_;
    std::string a_id_;
    std::string b_id_;
    bool a_joined_ = false;
    bool b_open_ = false;
    bool b_join_sent_ = false;
    bool offer_sent_ = false;
    bool answer_sent_ = false;
};

} // namespace bench
