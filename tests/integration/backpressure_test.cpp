// Backpressure: a member that stops reading while its room floods is cut off once more than
// --max-queue-bytes wait for it. The others keep receiving everything, in order, the server keeps
// serving, and its memory does not grow with the flood.

#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

constexpr std::size_t max_queue_bytes = 64 * 1024;
constexpr std::size_t data_bytes = 16 * 1024;
// Each reader may fall this many messages behind the sender: 3 x 16 KiB always fit in loopback
// socket buffers, so a reader that keeps up never has a backlog in the server.
constexpr int window = 3;

// The server's resident memory in KiB (VmRSS in /proc/PID/status).
long resident_kib(pid_t pid)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:"))
            return std::stol(line.substr(6));
    return -1;
}

// Under AddressSanitizer freed blocks wait in a quarantine (256 MiB) before reuse, so resident
// memory would grow with the flood however little the server holds; turn it off for this server.
// Other sanitizer builds and plain builds ignore the variable.
std::string asan_options_reusing_memory()
{
    const char* inherited = std::getenv("ASAN_OPTIONS");
    return (inherited != nullptr && *inherited != '\0' ? std::string(inherited) + ':' : "") +
           "quarantine_size_mb=0";
}

std::string join_text(std::string_view room)
{
    return R"({"action":"join","roomId":")" + std::string(room) + R"("})";
}

// A reader that keeps up: it checks that signals arrive numbered 0, 1, 2, ... and that the only
// other message is one peer-left for the stalled member.
class Reader
{
public:
    explicit Reader(std::uint16_t port) { client_.connect(port); }

    WsClient& client() { return client_; }
    int received() const { return received_; }
    int peer_left() const { return peer_left_; }

    // Reads until `count` signals have arrived. Signals are checked as text: parsing megabytes
    // of JSON would make the test slower than the server.
    void catch_up(int count)
    {
        while (received_ < count) {
            const auto text = client_.next_text(5s);
            ASSERT_TRUE(text) << "signal " << received_ << " did not arrive";
            if (text->size() < 1000) {
                const json message = json::parse(*text);
                ASSERT_EQ(
                    message,
                    (json{{"action", "peer-left"}, {"roomId", "b"}, {"clientId", stalled_id_}}));
                ++peer_left_;
                continue;
            }
            ASSERT_TRUE(text->starts_with(R"({"action":"signal","roomId":"b","from":")"))
                << text->substr(0, 100);
            const std::string seq = R"("data":{"seq":)" + std::to_string(received_) + ",";
            ASSERT_NE(text->find(seq), std::string::npos)
                << "expected signal " << received_ << ", got " << text->substr(0, 120);
            ++received_;
        }
    }

    // Before catch_up: who the one expected peer-left is for.
    void set_stalled_id(std::string id) { stalled_id_ = std::move(id); }

private:
    WsClient client_;
    std::string stalled_id_;
    int received_ = 0;
    int peer_left_ = 0;
};

class Backpressure : public SignaldFixture
{};

TEST_F(Backpressure, AStalledReaderIsCutWhileTheOthersGetEveryMessageInOrder)
{
    start_server({"--max-queue-bytes", std::to_string(max_queue_bytes), "--rate-msgs", "0",
                  "--rate-bytes", "0"},
                 {{"ASAN_OPTIONS", asan_options_reusing_memory()}});
    SignaldProcess& server = *server_;
    const std::uint16_t port = server.port();

    std::vector<std::unique_ptr<Reader>> readers;
    for (int i = 0; i < 2; ++i) {
        readers.push_back(std::make_unique<Reader>(port));
        readers.back()->client().join("b");
    }
    WsClient sender;
    sender.connect(port);
    const std::string sender_id = sender.join("b");

    // It joins like anyone else, then never reads again; its receive window stays tiny.
    RawWsClient stalled;
    stalled.set_receive_buffer(4096);
    stalled.connect(port);
    stalled.send_text(join_text("b"));
    const json joined = sender.next_json();
    ASSERT_EQ(joined.value("action", ""), "peer-joined");
    const std::string stalled_id = joined["peer"].value("clientId", "");
    for (auto& reader : readers) {
        reader->set_stalled_id(stalled_id);
        EXPECT_EQ(reader->client().next_json().value("action", ""), "peer-joined"); // sender
        EXPECT_EQ(reader->client().next_json().value("action", ""), "peer-joined"); // stalled
    }
    ASSERT_EQ(readers[0]->client().next_json().value("action", ""), "peer-joined"); // reader 1

    // 1200 x 16 KiB: about 19 MiB, several times what the stalled member's socket buffers hold.
    const long resident_before = resident_kib(server.pid());
    long resident_max = resident_before;
    const std::string pad(data_bytes, 'p');
    constexpr int message_count = 1200;
    for (int seq = 0; seq < message_count; ++seq) {
        sender.send_text(
            R"({"action":"signal","roomId":"b","type":"ice-candidate","data":{"seq":)" +
            std::to_string(seq) + R"(,"pad":")" + pad + "\"}}");
        for (auto& reader : readers) {
            reader->catch_up(seq + 1 - window);
            if (::testing::Test::HasFatalFailure())
                return;
        }
        if (seq % 100 == 0)
            resident_max = std::max(resident_max, resident_kib(server.pid()));
    }
    // Without the cap the server would hold most of the 19 MiB for the stalled member.
    EXPECT_LT(resident_max - resident_before, 8 * 1024)
        << "resident memory grew from " << resident_before << " KiB to " << resident_max
        << " KiB during the flood";

    for (auto& reader : readers) {
        reader->catch_up(message_count);
        EXPECT_EQ(reader->received(), message_count);
        EXPECT_EQ(reader->peer_left(), 1) << "the room must hear once that it is gone";
    }
    const auto sender_heard = sender.next_text();
    EXPECT_EQ(json::parse(sender_heard.value_or("null")),
              (json{{"action", "peer-left"}, {"roomId", "b"}, {"clientId", stalled_id}}));

    EXPECT_EQ(wait_for_metric(port, R"(signald_rejections_total{reason="slow-consumer"})", 1), 1);
    EXPECT_TRUE(server.wait_for_stderr("rejected (slow-consumer)"));
    EXPECT_EQ(occurrences(server.stderr_text(), "rejected (slow-consumer)"), 1u);

    // Still serving: HTTP, and a newcomer who sees exactly the three who kept up.
    const auto health = http_request(port, "GET", "/healthz");
    EXPECT_EQ(health.result_int(), 200);
    EXPECT_EQ(health.body(), "ok\n");
    WsClient newcomer;
    newcomer.connect(port);
    newcomer.send_json({{"action", "join"}, {"roomId", "b"}});
    const json newcomer_joined = newcomer.next_json();
    EXPECT_EQ(newcomer_joined.value("peers", json()).size(), 3u) << newcomer_joined.dump();
    EXPECT_EQ(newcomer_joined.dump().find(stalled_id), std::string::npos);

    // The stalled connection ends within the close deadline (2 s), its write still stuck, and
    // its session, admission and memory go with it.
    EXPECT_TRUE(stalled.drain(10s).ended);
    EXPECT_EQ(wait_for_metric(port, "signald_sessions", 4), 4);
    EXPECT_EQ(metric(port, "signald_members"), 4);
}

} // namespace
} // namespace signald::test
