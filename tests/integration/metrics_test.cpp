// GET /metrics, scraped: a known sequence of joins, signals, every error, and every way a
// connection can end, then one scrape read by a strict parser of the Prometheus text format and
// checked counter by counter. Bytes are checked against what the clients actually sent and got.

#include "exposition.hpp"
#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;

TEST(ExpositionParser, RejectsWhatTheFormatForbids)
{
    const std::string good = "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\"} 2\n";
    EXPECT_TRUE(parse_exposition(good).problems.empty());
    const auto escaped = parse_exposition(
        "# HELP x_total X.\n# TYPE x_total counter\nx_total{b=\"q\\\"\\\\\\n\",a=\"\"} 7\n");
    EXPECT_TRUE(escaped.problems.empty());
    EXPECT_EQ(escaped.at("x_total{a=\"\",b=\"q\"\\\n\"}"), 7) << "labels sorted, unescaped";
    for (const std::string bad : {
             "x_total 1\n",                                          // no HELP or TYPE
             "# HELP x_total X.\n# TYPE x_total counter\nx_total 1", // no final newline
             "# HELP x X.\n# TYPE x counter\nx 1\n",                 // counter w/o _total
             "# HELP x_total X.\n# TYPE x_total gauge\nx_total 1\n", // gauge with _total
             "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\"} 1\nx_total{a=\"1\"} 2\n",
             "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"\\q\"} 1\n", // bad escape
             "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=1} 1\n",       // unquoted
             "# HELP x_total X.\n# TYPE x_total counter\nx_total one\n",          // not a number
             "# HELP x_total X.\n# TYPE x_total counter\nx_total 1 1700000000\n", // timestamp
             "# HELP x_total X.\n# TYPE x_total counter\n# HELP x_total X.\nx_total 1\n",
             "# HELP x_total X.\n# TYPE x_total counter\ny_total 1\n", // not its family
             "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\",a=\"2\"} 1\n",
             // a family's samples split by another family's
             "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\"} 1\n"
             "# HELP y Y.\n# TYPE y gauge\ny 1\nx_total{a=\"2\"} 1\n",
         })
        EXPECT_FALSE(parse_exposition(bad).problems.empty()) << bad;
}

// ---- The scenario ----

// What the clients sent and received, by the label each message should be counted under.
struct Ledger
{
    std::map<std::string, std::pair<double, double>> in;  // action -> (messages, bytes)
    std::map<std::string, std::pair<double, double>> out; // action -> (messages, bytes)
    std::size_t largest_received = 0;
};

// A WsClient that books everything it sends and receives in a Ledger.
class Client
{
public:
    Client(std::uint16_t port, Ledger& ledger) : ledger_(ledger) { ws_.connect(port); }

    // Sends text, to be counted under the received-action label.
    void send(const std::string& label, const std::string& text)
    {
        auto& [messages, bytes] = ledger_.in[label];
        ++messages;
        bytes += static_cast<double>(text.size());
        ws_.send_text(text);
    }
    // The next message, which must have this action (and, for errors, this code).
    json expect(const std::string& action, const std::string& code = "")
    {
        const auto text = ws_.next_text(5s);
        if (!text) {
            ADD_FAILURE() << "no " << action << " arrived";
            return json::object();
        }
        const json message = json::parse(*text);
        EXPECT_EQ(message.value("action", ""), action) << *text;
        if (!code.empty()) {
            EXPECT_EQ(message.value("code", ""), code) << *text;
        }
        auto& [messages, bytes] = ledger_.out[message.value("action", "")];
        ++messages;
        bytes += static_cast<double>(text->size());
        ledger_.largest_received = std::max(ledger_.largest_received, text->size());
        return message;
    }
    std::string join(const std::string& room)
    {
        send("join", R"({"action":"join","roomId":")" + room + R"("})");
        return expect("joined").value("clientId", "");
    }

    WsClient& ws() { return ws_; }

private:
    Ledger& ledger_;
    WsClient ws_;
};

double unix_now()
{
    return static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

class Metrics : public SignaldFixture
{
protected:
    Exposition scrape(std::uint16_t port)
    {
        const auto response = http_request(port, "GET", "/metrics");
        EXPECT_EQ(response.result_int(), 200);
        Exposition exposition = parse_exposition(response.body());
        for (const auto& problem : exposition.problems)
            ADD_FAILURE() << problem;
        return exposition;
    }
};

TEST_F(Metrics, AFreshServerExposesEveryFamilyWellFormed)
{
    const auto before = unix_now();
    SignaldProcess server(server_args(web_root_.path()));
    const auto after = unix_now();
    const Exposition metrics = scrape(server.port());
    const std::map<std::string, std::string> expected_types = {
        {"signald_connections", "gauge"},
        {"signald_sessions", "gauge"},
        {"signald_rooms", "gauge"},
        {"signald_members", "gauge"},
        {"signald_suspended_members", "gauge"},
        {"signald_messages_received_total", "counter"},
        {"signald_received_bytes_total", "counter"},
        {"signald_messages_sent_total", "counter"},
        {"signald_sent_bytes_total", "counter"},
        {"signald_protocol_errors_total", "counter"},
        {"signald_resume_events_total", "counter"},
        {"signald_resume_replayed_messages_total", "counter"},
        {"signald_ice_paths_total", "counter"},
        {"signald_ice_failures_total", "counter"},
        {"signald_closes_total", "counter"},
        {"signald_rejections_total", "counter"},
        {"signald_write_queue_high_water_bytes", "gauge"},
        {"signald_write_queue_limit_bytes", "gauge"},
        {"signald_build_info", "gauge"},
        {"signald_start_time_seconds", "gauge"},
    };
    // No signald_tls_certificate_expiry_seconds without TLS (tls_test checks it with).
    EXPECT_EQ(metrics.types, expected_types);

    // The version `signald --version` prints, and a start time between launch and listening.
    const auto version = run_signald({"--version"}).stdout_text;
    ASSERT_TRUE(version.starts_with("signald ")) << version;
    const std::string number = version.substr(8, version.find('\n') - 8);
    EXPECT_EQ(
        metrics.family("signald_build_info"),
        (std::map<std::string, double>{{"signald_build_info{version=\"" + number + "\"}", 1}}));
    const double started = metrics.at("signald_start_time_seconds");
    EXPECT_GE(started, before - 1);
    EXPECT_LE(started, after);
    // The default --max-queue-bytes (the monitoring test checks a configured one).
    EXPECT_EQ(metrics.at("signald_write_queue_limit_bytes"), 4 * 1024 * 1024);

    // Every action and every error code is there from the start, at zero.
    EXPECT_EQ(metrics.family("signald_messages_received_total").size(), 10u);
    EXPECT_EQ(metrics.family("signald_messages_sent_total").size(), 11u);
    EXPECT_EQ(metrics.family("signald_protocol_errors_total").size(), 19u);
    EXPECT_EQ(metrics.family("signald_resume_events_total").size(), 4u);
    // Every path: 4 local types x 4 remote types x 3 protocols.
    EXPECT_EQ(metrics.family("signald_ice_paths_total").size(), 48u);
    for (const auto& [series, value] : metrics.samples)
        if (!series.starts_with("signald_build_info") && series != "signald_start_time_seconds" &&
            series != "signald_write_queue_limit_bytes") {
            EXPECT_EQ(value, 0) << series;
        }
}

TEST_F(Metrics, AScrapeAfterAKnownSequenceShowsExactlyWhatHappened)
{
    // A room holds three, so a fourth join is room-full. Each client may send 1024 bytes at once
    // and gets 1 byte a second back, so a second 1000-byte message is rate-limited, whatever the
    // machine's speed; nothing else comes near the allowance.
    SignaldProcess server(server_args(web_root_.path(), {"--max-room-size", "3", "--rate-bytes",
                                                         "1", "--max-message-bytes", "1024"}));
    const std::uint16_t port = server.port();
    Ledger ledger;

    // Three join one room: 3 joined, 1 + 2 peer-joined.
    Client a(port, ledger);
    Client b(port, ledger);
    Client c(port, ledger);
    const std::string a_id = a.join("r");
    b.join("r");
    a.expect("peer-joined");
    c.join("r");
    a.expect("peer-joined");
    b.expect("peer-joined");

    // A broadcast reaches the other two; a directed signal reaches one.
    a.send("signal", R"({"action":"signal","roomId":"r","type":"offer","data":{"sdp":")" +
                         std::string(300, 'v') + R"("}})");
    b.expect("signal");
    c.expect("signal");
    b.send("signal",
           R"({"action":"signal","roomId":"r","type":"answer","data":1,"to":")" + a_id + R"("})");
    a.expect("signal");

    // Every error code Hub sends, each once.
    Client d(port, ledger);
    const std::vector<std::tuple<std::string, std::string, std::string>> refused = {
        {"invalid", "{", "bad-json"},
        {"invalid", "[]", "bad-message"},
        {"invalid", R"({"action":"ping"})", "unknown-action"},
        {"invalid", R"({"action":"join","roomId":""})", "bad-room-id"},
        {"invalid", R"({"action":"join","roomId":"x","name":"a\nb"})", "bad-name"},
        {"invalid", R"({"action":"signal","roomId":"x","type":"Offer"})", "bad-type"},
        {"invalid", R"({"action":"report","roomId":"x","peer":"p","ice":"maybe"})", "bad-report"},
        {"leave", R"({"action":"leave","roomId":"r"})", "not-in-room"},
        {"join", R"({"action":"join","roomId":"r"})", "room-full"},
        {"resume", R"({"action":"resume","token":"nobody-has-this-token","received":0})",
         "resume-failed"},
    };
    for (const auto& [label, text, code] : refused) {
        d.send(label, text);
        d.expect("error", code);
    }
    d.join("d-room");
    d.send("join", R"({"action":"join","roomId":"d-room"})");
    d.expect("error", "already-joined");
    d.send("signal", R"({"action":"signal","roomId":"d-room","type":"offer","to":"zzzzzzzzzz"})");
    d.expect("error", "unknown-peer");
    d.send("leave", R"({"action":"leave","roomId":"d-room"})");
    d.expect("left");

    Client e(port, ledger);
    auto padded_join = [](const std::string& room) {
        const std::string head = R"({"action":"join","roomId":")" + room + R"(","pad":")";
        return head + std::string(1000 - head.size() - 2, 'p') + "\"}";
    };
    e.send("join", padded_join("e-room"));
    e.expect("joined");
    e.send("dropped", padded_join("e-room"));
    e.expect("error", "rate-limited");

    // Endings: a client's 1000 (the room hears peer-left twice), a binary frame closed by the
    // server with 1003 (once more), a TCP drop with nobody left to tell (its member is suspended,
    // keeping r alive for a resume), a refused upgrade.
    EXPECT_EQ(b.ws().close(1000), 1000);
    a.expect("peer-left");
    c.expect("peer-left");
    c.ws().send_binary("\x01\x02");
    EXPECT_TRUE(c.ws().expect_close(1003));
    a.expect("peer-left");
    a.ws().drop();
    WsClient refused_upgrade;
    EXPECT_EQ(refused_upgrade.try_connect(port, "/ws", {{"Origin", "http://evil.example"}}), 403u);

    // Every ending has been counted once the server has let go of the sessions.
    EXPECT_EQ(wait_for_metric(port, "signald_connections", 2), 2);
    EXPECT_EQ(wait_for_metric(port, "signald_sessions", 2), 2);
    const Exposition metrics = scrape(port);

    EXPECT_EQ(metrics.at("signald_connections"), 2);
    EXPECT_EQ(metrics.at("signald_rooms"), 2); // e-room, and r held by the suspended a
    EXPECT_EQ(metrics.at("signald_members"), 2);
    EXPECT_EQ(metrics.at("signald_suspended_members"), 1);
    EXPECT_EQ(metrics.family("signald_resume_events_total"),
              (std::map<std::string, double>{
                  {R"(signald_resume_events_total{event="suspended"})", 1},
                  {R"(signald_resume_events_total{event="resumed"})", 0},
                  {R"(signald_resume_events_total{event="failed"})", 1},
                  {R"(signald_resume_events_total{event="expired"})", 0},
              }));

    const std::map<std::string, double> in_messages = {
        {"join", 7}, {"leave", 2},   {"signal", 3}, {"resume", 1}, {"invalid", 7},
        {"kick", 0}, {"dropped", 1}, {"lock", 0},   {"update", 0}, {"report", 0}};
    for (const auto& [action, count] : in_messages) {
        const std::string labels = "{action=\"" + action + "\"}";
        EXPECT_EQ(metrics.at("signald_messages_received_total" + labels), count) << action;
        EXPECT_EQ(ledger.in[action].first, count) << action << ": the test's own tally";
        EXPECT_EQ(metrics.at("signald_received_bytes_total" + labels), ledger.in[action].second)
            << action;
    }
    const std::map<std::string, double> out_messages = {
        {"joined", 5},       {"peer-joined", 3}, {"signal", 3},      {"peer-left", 3},
        {"left", 1},         {"error", 13},      {"resumed", 0},     {"peer-suspended", 0},
        {"peer-resumed", 0}, {"room-locked", 0}, {"peer-updated", 0}};
    for (const auto& [action, count] : out_messages) {
        const std::string labels = "{action=\"" + action + "\"}";
        EXPECT_EQ(metrics.at("signald_messages_sent_total" + labels), count) << action;
        EXPECT_EQ(ledger.out[action].first, count) << action << ": the test's own tally";
        EXPECT_EQ(metrics.at("signald_sent_bytes_total" + labels), ledger.out[action].second)
            << action;
    }
    EXPECT_EQ(metrics.family("signald_messages_received_total").size(), in_messages.size());
    EXPECT_EQ(metrics.family("signald_messages_sent_total").size(), out_messages.size());

    const auto errors = metrics.family("signald_protocol_errors_total");
    EXPECT_EQ(errors.size(), 19u);
    // Every code once, but unavailable (only a node of a cluster can be cut off from it) and
    // those of --auth-secret-file (RoomTokens and Moderation count them).
    for (const auto& [series, value] : errors) {
        const bool never_here = series.find("unavailable") != std::string::npos ||
                                series.find("unauthorized") != std::string::npos ||
                                series.find("banned") != std::string::npos ||
                                series.find("room-locked") != std::string::npos ||
                                series.find("forbidden") != std::string::npos ||
                                series.find("bad-state") != std::string::npos;
        EXPECT_EQ(value, never_here ? 0 : 1) << series;
    }

    EXPECT_EQ(metrics.family("signald_closes_total"),
              (std::map<std::string, double>{
                  {R"(signald_closes_total{by="client",code="1000"})", 1},
                  {R"(signald_closes_total{by="client",code="1006"})", 1},
                  {R"(signald_closes_total{by="server",code="1003"})", 1},
              }));
    EXPECT_EQ(metrics.family("signald_rejections_total"),
              (std::map<std::string, double>{
                  {R"(signald_rejections_total{reason="flood"})", 0},
                  {R"(signald_rejections_total{reason="origin"})", 1},
                  {R"(signald_rejections_total{reason="rate-limited"})", 1},
              }));

    // The deepest queue held at least the largest message, framed (4 header bytes past 125),
    // and never more than everything sent plus framing and the close frames.
    const double high_water = metrics.at("signald_write_queue_high_water_bytes");
    EXPECT_GE(high_water, static_cast<double>(ledger.largest_received + 4));
    double all_sent = 0;
    for (const auto& [action, traffic] : ledger.out)
        all_sent += traffic.second + 4 * traffic.first;
    EXPECT_LE(high_water, all_sent + 16);
}

// A peer that stops answering is cut by the server, without a close frame.
TEST_F(Metrics, AnIdleCutCountsAsTheServerEndingWithoutACloseFrame)
{
    SignaldProcess server(
        server_args(web_root_.path(), {"--ping-interval", "1", "--idle-timeout", "2"}));
    RawWsClient silent; // reads nothing and never answers a ping
    silent.connect(server.port());
    EXPECT_EQ(
        wait_for_metric(server.port(), R"(signald_closes_total{by="server",code="1006"})", 1, 10s),
        1);
    const Exposition metrics = scrape(server.port());
    EXPECT_EQ(metrics.family("signald_closes_total").size(), 1u);
    EXPECT_EQ(metrics.at(R"(signald_rejections_total{reason="idle-timeout"})"), 1);
}

} // namespace
} // namespace signald::test
