// A member's report on one of its peer connections (docs/protocol.md 5.8): counted once per end,
// peer and outcome, answered with nothing, refused with not-in-room or unknown-peer like a
// signal, and forgotten when the peer leaves, so a new peer connection with a rejoined peer (a
// new clientId) or a failure after a success counts again.

#include "signald/core/hub.hpp"

#include "hub_harness.hpp"

#include <gtest/gtest.h>

#include <string>

namespace signald {
namespace hub_report_test {

std::string connected(const std::string& room, const ClientId& peer, const char* local,
                      const char* remote, const char* protocol)
{
    return R"({"action":"report","roomId":")" + room + R"(","peer":")" + peer +
           R"(","ice":"connected","local":")" + local + R"(","remote":")" + remote +
           R"(","protocol":")" + protocol + R"("})";
}

std::string failed(const std::string& room, const ClientId& peer)
{
    return R"({"action":"report","roomId":")" + room + R"(","peer":")" + peer +
           R"(","ice":"failed"})";
}

std::uint64_t paths(const Hub& hub, CandidateType local, CandidateType remote, IceProtocol protocol)
{
    return hub.stats().ice_paths[ice_path_index({local, remote, protocol})];
}

std::uint64_t all_paths(const Hub& hub)
{
    std::uint64_t sum = 0;
    for (const std::uint64_t count : hub.stats().ice_paths)
        sum += count;
    return sum;
}

TEST(HubReport, EachEndCountsItsPathOnceAndHearsNothing)
{
    test::HubHarness h;
    const auto ids = h.fill("r", 3);
    h.send(ids[0], connected("r", ids[1], "relay", "srflx", "tcp"));
    h.send(ids[1], connected("r", ids[0], "srflx", "relay", "udp"));
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(paths(h.hub, CandidateType::relay, CandidateType::srflx, IceProtocol::over_tcp), 1u);
    EXPECT_EQ(paths(h.hub, CandidateType::srflx, CandidateType::relay, IceProtocol::over_udp), 1u);
    EXPECT_EQ(all_paths(h.hub), 2u);
    EXPECT_EQ(h.hub.stats().received(InAction::report).messages, 2u);

    // Said again, even with another path: not counted again, and still no answer.
    h.send(ids[0], connected("r", ids[1], "host", "host", "udp"));
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(all_paths(h.hub), 2u);
    EXPECT_EQ(h.hub.stats().received(InAction::report).messages, 3u);

    // Another peer is another peer connection.
    h.send(ids[0], connected("r", ids[2], "host", "host", "udp"));
    EXPECT_EQ(paths(h.hub, CandidateType::host, CandidateType::host, IceProtocol::over_udp), 1u);
    h.expect_views_match_registry();
}

TEST(HubReport, AFailureCountsOnceAndAPathAfterItStillCounts)
{
    test::HubHarness h;
    const auto ids = h.fill("r", 2);
    h.send(ids[0], failed("r", ids[1]));
    h.send(ids[0], failed("r", ids[1]));
    EXPECT_EQ(h.hub.stats().ice_failures, 1u);
    EXPECT_EQ(all_paths(h.hub), 0u);
    // An ICE restart mended it.
    h.send(ids[0], connected("r", ids[1], "relay", "relay", "tls"));
    EXPECT_EQ(paths(h.hub, CandidateType::relay, CandidateType::relay, IceProtocol::over_tls), 1u);
    EXPECT_EQ(h.hub.stats().ice_failures, 1u);
    EXPECT_TRUE(h.take().empty());
}

TEST(HubReport, RefusedOutsideTheRoomAndForAnyoneButAnotherMember)
{
    test::HubHarness h;
    const auto ids = h.fill("r", 2);
    const auto others = h.fill("s", 1);
    const ClientId lone = h.connect();

    const auto refused = [&](const ClientId& from, const std::string& text, const char* code) {
        h.send(from, text);
        const auto sent = h.take();
        ASSERT_EQ(sent.size(), 1u) << text;
        EXPECT_EQ(sent[0].to, from);
        EXPECT_EQ(sent[0].json()["code"], code) << text;
        EXPECT_EQ(sent[0].json()["request"], "report");
    };
    refused(lone, connected("r", ids[0], "host", "host", "udp"), "not-in-room");
    refused(ids[0], connected("s", others[0], "host", "host", "udp"), "not-in-room");
    refused(ids[0], connected("r", ids[0], "host", "host", "udp"), "unknown-peer");
    refused(ids[0], connected("r", others[0], "host", "host", "udp"), "unknown-peer");
    refused(ids[0], failed("r", "zzzzzzzzzz"), "unknown-peer");
    EXPECT_EQ(all_paths(h.hub), 0u);
    EXPECT_EQ(h.hub.stats().ice_failures, 0u);
    EXPECT_EQ(h.hub.stats().errors_sent(ErrorCode::unknown_peer), 3u);
}

TEST(HubReport, ASuspendedPeerMayBeReportedOn)
{
    test::HubHarness h(test::resume_limits());
    const auto ids = h.fill("r", 2);
    h.disconnect(ids[1], ConnectionEnd::lost);
    ASSERT_TRUE(h.hub.is_suspended(ids[1]));
    h.take();
    h.send(ids[0], failed("r", ids[1]));
    EXPECT_TRUE(h.take().empty());
    EXPECT_EQ(h.hub.stats().ice_failures, 1u);
}

TEST(HubReport, APeerThatLeavesIsForgottenSoItsNextConnectionCounts)
{
    test::HubHarness h;
    const auto ids = h.fill("r", 2);
    h.send(ids[0], connected("r", ids[1], "host", "host", "udp"));
    // The peer moves away and back: a new membership, a new peer connection.
    h.send(ids[1], R"({"action":"join","roomId":"elsewhere"})");
    h.send(ids[1], R"({"action":"join","roomId":"r"})");
    h.take();
    h.send(ids[0], connected("r", ids[1], "host", "host", "udp"));
    EXPECT_EQ(paths(h.hub, CandidateType::host, CandidateType::host, IceProtocol::over_udp), 2u);
    EXPECT_EQ(h.hub.rooms().find("r", ids[0])->reported_peers(), 1u);
    // What is kept is only of current members: the record of a peer goes when it leaves.
    h.send(ids[1], R"({"action":"leave","roomId":"r"})");
    EXPECT_EQ(h.hub.rooms().find("r", ids[0])->reported_peers(), 0u);
}

} // namespace hub_report_test
} // namespace signald
