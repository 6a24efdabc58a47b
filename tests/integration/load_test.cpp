// Many clients at once: 200 connections in 50 rooms, everyone signalling at the same time. Every
// message must arrive exactly once at every other member of its room, in order, and nowhere else.

#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <barrier>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace signald::test {
namespace {

using nlohmann::json;

constexpr int room_count = 50;
constexpr int members_per_room = 4;
constexpr int messages_per_client = 25;

// Each client owns an io_context (a few descriptors) besides its socket; make sure 200 fit.
void raise_descriptor_limit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// One room's members, driven by one thread. Returns a description of every problem it saw.
class RoomDriver
{
public:
    RoomDriver(std::uint16_t port, int index) : port_(port), index_(index) {}

    void connect_and_join()
    {
        const std::string room = room_id();
        for (int i = 0; i < members_per_room; ++i) {
            clients_.push_back(std::make_unique<WsClient>());
            clients_.back()->connect(port_);
            ids_.push_back(clients_.back()->join(room));
        }
        // Member i hears of each later member.
        for (int i = 0; i < members_per_room; ++i)
            for (int later = i + 1; later < members_per_room; ++later) {
                const json message = clients_[static_cast<std::size_t>(i)]->next_json(10s);
                if (message.value("action", "") != "peer-joined")
                    problem("expected peer-joined, got " + message.dump());
            }
    }

    void signal_and_check()
    {
        const std::string room = room_id();
        for (int seq = 0; seq < messages_per_client; ++seq)
            for (int sender = 0; sender < members_per_room; ++sender)
                clients_[static_cast<std::size_t>(sender)]->send_json(
                    {{"action", "signal"},
                     {"roomId", room},
                     {"type", "ice-candidate"},
                     {"data", {{"room", index_}, {"sender", sender}, {"seq", seq}}}});

        for (int receiver = 0; receiver < members_per_room; ++receiver) {
            auto& client = *clients_[static_cast<std::size_t>(receiver)];
            std::map<std::string, int> next_seq; // per sender
            for (int n = 0; n < (members_per_room - 1) * messages_per_client; ++n) {
                const json message = client.next_json(10s);
                const json& data = message.value("data", json::object());
                const std::string from = message.value("from", "");
                const int sender = data.value("sender", -1);
                if (message.value("roomId", "") != room || data.value("room", -1) != index_ ||
                    sender < 0 || sender >= members_per_room || sender == receiver ||
                    ids_[static_cast<std::size_t>(sender)] != from) {
                    problem("member " + std::to_string(receiver) + " got " + message.dump());
                    continue;
                }
                if (data.value("seq", -1) != next_seq[from]++)
                    problem("member " + std::to_string(receiver) +
                            " out of order: " + message.dump());
            }
            for (int sender = 0; sender < members_per_room; ++sender)
                if (sender != receiver &&
                    next_seq[ids_[static_cast<std::size_t>(sender)]] != messages_per_client)
                    problem("member " + std::to_string(receiver) + " missed messages from " +
                            std::to_string(sender));
        }
    }

    void expect_nothing_more()
    {
        for (std::size_t i = 0; i < clients_.size(); ++i)
            if (auto silent = clients_[i]->expect_silence(i == 0 ? 150ms : 10ms); !silent)
                problem("member " + std::to_string(i) + ": " + silent.message());
    }

    void problem(std::string what)
    {
        if (problems_.size() < 5)
            problems_.push_back(room_id() + ": " + std::move(what));
    }
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::string room_id() const { return "load-" + std::to_string(index_); }

    std::uint16_t port_;
    int index_;
    std::vector<std::unique_ptr<WsClient>> clients_;
    std::vector<std::string> ids_;
    std::vector<std::string> problems_;
};

class Load : public SignaldFixture
{};

TEST_F(Load, TwoHundredClientsInFiftyRoomsEachGetEveryMessageOfTheirRoomExactlyOnce)
{
    raise_descriptor_limit();
    // All 200 clients come from 127.0.0.1, past the default per-address cap.
    start_server({"--max-connections-per-ip", "1000"});
    const SignaldProcess& server = *server_;
    const auto started = std::chrono::steady_clock::now();

    std::vector<std::unique_ptr<RoomDriver>> rooms;
    for (int i = 0; i < room_count; ++i)
        rooms.push_back(std::make_unique<RoomDriver>(server.port(), i));

    // Everyone is connected and joined before anyone signals, so all 200 are live at once.
    std::barrier all_joined(room_count);
    std::vector<std::future<void>> drivers;
    for (auto& room : rooms)
        drivers.push_back(std::async(std::launch::async, [&room, &all_joined] {
            bool ready = false;
            try {
                room->connect_and_join();
                ready = true;
            } catch (const std::exception& e) {
                room->problem(std::string("joining: ") + e.what());
            }
            all_joined.arrive_and_wait();
            if (!ready)
                return;
            try {
                room->signal_and_check();
                room->expect_nothing_more();
            } catch (const std::exception& e) {
                room->problem(e.what());
            }
        }));
    for (auto& driver : drivers)
        driver.get();

    const auto elapsed = std::chrono::steady_clock::now() - started;
    std::size_t problem_count = 0;
    for (const auto& room : rooms)
        for (const auto& problem : room->problems()) {
            ++problem_count;
            ADD_FAILURE() << problem;
        }
    EXPECT_EQ(problem_count, 0u);
    EXPECT_LT(elapsed, 30s)
        << "load run took "
        << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
    EXPECT_TRUE(server.running());
}

} // namespace
} // namespace signald::test
