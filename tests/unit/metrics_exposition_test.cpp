// The /metrics text from known inputs, checked byte for byte: every family's name, type and help,
// every label, the hub's cuts merged into the network layer's refusal series, and the TLS family
// only with TLS. tests/integration/metrics_test.cpp checks the same text against a live server.

#include "signald/net/metrics_exposition.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace signald {
namespace metrics_exposition_test {

using std::chrono::seconds;
using std::chrono::sys_seconds;

struct Scenario
{
    HubStats hub;
    NetStats net;
    Refusals::Counts refusals;

    Scenario()
    {
        hub.received(InAction::join, 40);
        hub.received(InAction::signal, 100);
        hub.received(InAction::signal, 20);
        hub.sent(OutAction::joined, 70);
        hub.sent(OutAction::error, 60);
        hub.errors[static_cast<std::size_t>(ErrorCode::rate_limited)] = 2;
        hub.rate_limited = 2;
        hub.abuse_closes = 1;
        hub.suspensions = 3;
        hub.resumes = 2;
        hub.resume_failures = 1;
        hub.replayed = 9;
        hub.received(InAction::report, 90);
        hub.ice_paths[ice_path_index(
            {CandidateType::relay, CandidateType::srflx, IceProtocol::over_tls})] = 6;
        hub.ice_failures = 4;
        net.count_close(ClosedBy::client, 1000);
        net.count_close(ClosedBy::server, no_close_frame);
        net.count_close(ClosedBy::client, 4321);
        net.note_queue_bytes(512);
        refusals["origin"] = 3;
        refusals["rate-limited"] = 5; // a reason counted on both sides is still one series
    }

    MetricsInputs inputs(std::optional<sys_seconds> tls_not_after = std::nullopt) const
    {
        return MetricsInputs{
            .connections = 4,
            .sessions = 5,
            .rooms = 2,
            .members = 3,
            .suspended = 1,
            .hub = hub,
            .net = net,
            .refusals = refusals,
            .write_queue_limit_bytes = 4096,
            .start_time = sys_seconds(seconds(1700000000)),
            .tls_not_after = tls_not_after,
        };
    }
};

const std::string expected_without_tls =
    "# HELP signald_connections WebSocket clients attached to the hub.\n"
    "# TYPE signald_connections gauge\n"
    "signald_connections 4\n"
    "# HELP signald_sessions WebSocket session objects alive, closing ones included.\n"
    "# TYPE signald_sessions gauge\n"
    "signald_sessions 5\n"
    "# HELP signald_rooms Rooms with at least one member.\n"
    "# TYPE signald_rooms gauge\n"
    "signald_rooms 2\n"
    "# HELP signald_members Clients in a room, suspended ones included.\n"
    "# TYPE signald_members gauge\n"
    "signald_members 3\n"
    "# HELP signald_suspended_members Members whose connection was lost, keeping their place for "
    "a resume.\n"
    "# TYPE signald_suspended_members gauge\n"
    "signald_suspended_members 1\n"
    "# HELP signald_messages_received_total Text messages from clients, by what they were: join, "
    "leave, signal, resume, kick, lock, update, report, invalid (refused while parsing) or dropped "
    "(over the rate limit, unread).\n"
    "# TYPE signald_messages_received_total counter\n"
    "signald_messages_received_total{action=\"join\"} 1\n"
    "signald_messages_received_total{action=\"leave\"} 0\n"
    "signald_messages_received_total{action=\"signal\"} 2\n"
    "signald_messages_received_total{action=\"resume\"} 0\n"
    "signald_messages_received_total{action=\"kick\"} 0\n"
    "signald_messages_received_total{action=\"lock\"} 0\n"
    "signald_messages_received_total{action=\"update\"} 0\n"
    "signald_messages_received_total{action=\"report\"} 1\n"
    "signald_messages_received_total{action=\"invalid\"} 0\n"
    "signald_messages_received_total{action=\"dropped\"} 0\n"
    "# HELP signald_received_bytes_total Bytes of text messages from clients (without framing), "
    "by what they were.\n"
    "# TYPE signald_received_bytes_total counter\n"
    "signald_received_bytes_total{action=\"join\"} 40\n"
    "signald_received_bytes_total{action=\"leave\"} 0\n"
    "signald_received_bytes_total{action=\"signal\"} 120\n"
    "signald_received_bytes_total{action=\"resume\"} 0\n"
    "signald_received_bytes_total{action=\"kick\"} 0\n"
    "signald_received_bytes_total{action=\"lock\"} 0\n"
    "signald_received_bytes_total{action=\"update\"} 0\n"
    "signald_received_bytes_total{action=\"report\"} 90\n"
    "signald_received_bytes_total{action=\"invalid\"} 0\n"
    "signald_received_bytes_total{action=\"dropped\"} 0\n"
    "# HELP signald_messages_sent_total Messages handed to client connections, one per receiver, "
    "by action.\n"
    "# TYPE signald_messages_sent_total counter\n"
    "signald_messages_sent_total{action=\"joined\"} 1\n"
    "signald_messages_sent_total{action=\"peer-joined\"} 0\n"
    "signald_messages_sent_total{action=\"peer-left\"} 0\n"
    "signald_messages_sent_total{action=\"left\"} 0\n"
    "signald_messages_sent_total{action=\"signal\"} 0\n"
    "signald_messages_sent_total{action=\"error\"} 1\n"
    "signald_messages_sent_total{action=\"resumed\"} 0\n"
    "signald_messages_sent_total{action=\"peer-suspended\"} 0\n"
    "signald_messages_sent_total{action=\"peer-resumed\"} 0\n"
    "signald_messages_sent_total{action=\"room-locked\"} 0\n"
    "signald_messages_sent_total{action=\"peer-updated\"} 0\n"
    "# HELP signald_sent_bytes_total Bytes of messages handed to client connections (without "
    "framing), by action.\n"
    "# TYPE signald_sent_bytes_total counter\n"
    "signald_sent_bytes_total{action=\"joined\"} 70\n"
    "signald_sent_bytes_total{action=\"peer-joined\"} 0\n"
    "signald_sent_bytes_total{action=\"peer-left\"} 0\n"
    "signald_sent_bytes_total{action=\"left\"} 0\n"
    "signald_sent_bytes_total{action=\"signal\"} 0\n"
    "signald_sent_bytes_total{action=\"error\"} 60\n"
    "signald_sent_bytes_total{action=\"resumed\"} 0\n"
    "signald_sent_bytes_total{action=\"peer-suspended\"} 0\n"
    "signald_sent_bytes_total{action=\"peer-resumed\"} 0\n"
    "signald_sent_bytes_total{action=\"room-locked\"} 0\n"
    "signald_sent_bytes_total{action=\"peer-updated\"} 0\n"
    "# HELP signald_protocol_errors_total Error replies sent to clients, by code (docs/protocol.md "
    "section 7).\n"
    "# TYPE signald_protocol_errors_total counter\n"
    "ERRORS"
    "# HELP signald_resume_events_total Members suspended when their connection was lost, resumed, "
    "refused a resume (resume-failed), and expired at the end of their grace period.\n"
    "# TYPE signald_resume_events_total counter\n"
    "signald_resume_events_total{event=\"suspended\"} 3\n"
    "signald_resume_events_total{event=\"resumed\"} 2\n"
    "signald_resume_events_total{event=\"failed\"} 1\n"
    "signald_resume_events_total{event=\"expired\"} 0\n"
    "# HELP signald_resume_replayed_messages_total Messages sent again to resumed members (not "
    "counted in messages_sent_total).\n"
    "# TYPE signald_resume_replayed_messages_total counter\n"
    "signald_resume_replayed_messages_total 9\n"
    "# HELP signald_ice_paths_total Peer connections by the candidate pair ICE selected, as each "
    "end reports it (docs/protocol.md 5.8): local and remote candidate type, and the reporting "
    "end's protocol (to the TURN server for a relay). A relay at either end is a call that needs "
    "TURN.\n"
    "# TYPE signald_ice_paths_total counter\n"
    "ICE_PATHS"
    "# HELP signald_ice_failures_total Peer connections whose ICE failed, as each end reports it: "
    "no path between the two, which TURN usually mends.\n"
    "# TYPE signald_ice_failures_total counter\n"
    "signald_ice_failures_total 4\n"
    "# HELP signald_closes_total WebSocket connections ended, by the side that ended them and the "
    "close code; 1006 is a connection cut without a close frame.\n"
    "# TYPE signald_closes_total counter\n"
    "signald_closes_total{by=\"server\",code=\"1006\"} 1\n"
    "signald_closes_total{by=\"client\",code=\"1000\"} 1\n"
    "signald_closes_total{by=\"client\",code=\"4xxx\"} 1\n"
    "# HELP signald_rejections_total Requests refused and connections cut off, by reason.\n"
    "# TYPE signald_rejections_total counter\n"
    "signald_rejections_total{reason=\"flood\"} 1\n"
    "signald_rejections_total{reason=\"origin\"} 3\n"
    "signald_rejections_total{reason=\"rate-limited\"} 7\n"
    "# HELP signald_write_queue_high_water_bytes The most bytes any one connection's write queue "
    "has held since start-up.\n"
    "# TYPE signald_write_queue_high_water_bytes gauge\n"
    "signald_write_queue_high_water_bytes 512\n"
    "# HELP signald_write_queue_limit_bytes The configured cap on one connection's write queue "
    "(--max-queue-bytes); a connection over it is cut off as a slow consumer.\n"
    "# TYPE signald_write_queue_limit_bytes gauge\n"
    "signald_write_queue_limit_bytes 4096\n"
    "# HELP signald_build_info Always 1; the version is in the label.\n"
    "# TYPE signald_build_info gauge\n"
    "signald_build_info{version=\"" SIGNALD_VERSION "\"} 1\n"
    "# HELP signald_start_time_seconds When signald started, in Unix time.\n"
    "# TYPE signald_start_time_seconds gauge\n"
    "signald_start_time_seconds 1700000000\n";

// The error series, one per code, all zero but rate-limited: built from the codes' own names so
// that adding a code does not break this test, while the family's shape is still checked.
std::string expected_errors()
{
    std::string out;
    for (std::size_t i = 0; i < error_code_count; ++i) {
        const auto code = static_cast<ErrorCode>(i);
        out += "signald_protocol_errors_total{code=\"" + std::string(to_string(code)) + "\"} " +
               (code == ErrorCode::rate_limited ? "2" : "0") + "\n";
    }
    return out;
}

// The path series: every combination of local, remote and protocol, in that order, all zero but
// the one the scenario counted. Written out by hand, not from ice_path_at, so that a change in
// the numbering shows.
std::string expected_ice_paths()
{
    std::string out;
    for (const char* local : {"host", "srflx", "prflx", "relay"})
        for (const char* remote : {"host", "srflx", "prflx", "relay"})
            for (const char* protocol : {"udp", "tcp", "tls"}) {
                const bool counted = std::string(local) == "relay" &&
                                     std::string(remote) == "srflx" &&
                                     std::string(protocol) == "tls";
                out += std::string("signald_ice_paths_total{local=\"") + local + "\",remote=\"" +
                       remote + "\",protocol=\"" + protocol + "\"} " + (counted ? "6" : "0") + "\n";
            }
    return out;
}

std::string expected(std::string tail = "")
{
    std::string text = expected_without_tls;
    text.replace(text.find("ERRORS"), 6, expected_errors());
    text.replace(text.find("ICE_PATHS"), 9, expected_ice_paths());
    return text + tail;
}

TEST(MetricsExposition, WritesEveryFamilyInOrderWithItsLabels)
{
    const Scenario scenario;
    EXPECT_EQ(metrics_exposition(scenario.inputs()), expected());
}

TEST(MetricsExposition, MergesTheHubsCutsIntoTheRefusalSeries)
{
    Scenario scenario;
    scenario.refusals.clear();
    const std::string text = metrics_exposition(scenario.inputs());
    // Present even when only the hub counted them; and never twice.
    EXPECT_NE(text.find("signald_rejections_total{reason=\"flood\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("signald_rejections_total{reason=\"rate-limited\"} 2\n"),
              std::string::npos);
    EXPECT_EQ(text.find("reason=\"origin\""), std::string::npos);
    EXPECT_EQ(text.find("reason=\"rate-limited\""), text.rfind("reason=\"rate-limited\""));
}

TEST(MetricsExposition, ShowsTheCertificateExpiryOnlyWithTls)
{
    const Scenario scenario;
    EXPECT_EQ(
        metrics_exposition(scenario.inputs(sys_seconds(seconds(1800000000)))),
        expected("# HELP signald_tls_certificate_expiry_seconds When the served certificate "
                 "expires, in Unix time. It is read at start-up: a renewed certificate shows here "
                 "after a restart.\n"
                 "# TYPE signald_tls_certificate_expiry_seconds gauge\n"
                 "signald_tls_certificate_expiry_seconds 1800000000\n"));
}

TEST(MetricsExposition, ATimeBeforeTheEpochShowsAsZero)
{
    const Scenario scenario;
    MetricsInputs inputs = scenario.inputs();
    inputs.start_time = sys_seconds(seconds(-5));
    EXPECT_NE(metrics_exposition(inputs).find("\nsignald_start_time_seconds 0\n"),
              std::string::npos);
}

} // namespace metrics_exposition_test
} // namespace signald
