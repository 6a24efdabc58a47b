// The WebSocket connection's life without a socket: the close handshake both ways, failures,
// slow consumers, idle timeouts, pings, the close deadline and lingering, and that the hub hears
// of the end once and /metrics counts it once. The fake I/O behaves like WsPlainSession (or
// WsTlsSession) over a kernel that takes what the test allows.

#include "ws_connection_harness.hpp"

#include "signald/net/ws_connection.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace signald {
namespace ws_connection_test {

using namespace std::chrono_literals;
using harness::client_frame;
using harness::close_payload;
using harness::WsConnectionHarness;

WsLimits limits(std::size_t max_queue_bytes = 4096)
{
    return WsLimits{1024, max_queue_bytes, std::chrono::seconds{15}, std::chrono::seconds{40}};
}

WsLimits resume_limits()
{
    WsLimits with_resume = limits();
    with_resume.resume_on = true;
    return with_resume;
}

std::string text(std::string_view payload)
{
    return client_frame(WsOpcode::text, payload);
}

std::string close_frame(std::uint16_t code)
{
    return client_frame(WsOpcode::close, close_payload(code));
}

// What the server wrote, one entry per frame: "text:hi", "close:1000", "ping:", "pong:x".
std::vector<std::string> frames(const WsConnectionHarness& h)
{
    const auto decoded = harness::decode_server_frames(h.wire);
    EXPECT_TRUE(decoded.has_value()) << "torn frame on the wire";
    std::vector<std::string> out;
    for (const auto& frame : decoded.value_or(std::vector<harness::ServerFrame>{})) {
        switch (frame.opcode) {
        case WsOpcode::text:
            out.push_back("text:" + frame.payload);
            break;
        case WsOpcode::close:
            out.push_back("close:" + std::to_string(frame.code()));
            break;
        case WsOpcode::ping:
            out.push_back("ping:" + frame.payload);
            break;
        case WsOpcode::pong:
            out.push_back("pong:" + frame.payload);
            break;
        default:
            out.push_back("other");
        }
    }
    return out;
}

using Frames = std::vector<std::string>;

// A ping's payload: the count of texts sent before it, 8 bytes big-endian.
std::string ping_payload(std::uint64_t texts)
{
    std::string payload(8, '\0');
    for (int i = 7; i >= 0; --i, texts >>= 8)
        payload[static_cast<std::size_t>(i)] = static_cast<char>(texts & 0xFF);
    return payload;
}

std::uint64_t closes(const WsConnectionHarness& h, ClosedBy by, std::uint16_t code)
{
    const auto found = h.stats.closes().find({by, code});
    return found == h.stats.closes().end() ? 0 : found->second;
}

// Feeds bytes one read at a time, in pieces of chunk bytes.
void read_in_pieces(WsConnectionHarness& h, const std::string& bytes, std::size_t chunk)
{
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
        h.read(bytes.substr(at, chunk));
}

TEST(WsConnection, TextFromThePeerReachesTheHubAndSendsGoOutInOneBatch)
{
    WsConnectionHarness h(limits());
    h.start();
    h.read(text("hello") + text("again"));
    EXPECT_EQ(h.texts, (std::vector<std::string>{"hello", "again"}));

    h.connection().send("one");
    h.connection().send("two");
    EXPECT_TRUE(h.wire.empty()); // the flush is posted, not run inside the fan-out
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"text:one", "text:two"}));
    EXPECT_EQ(h.connection().phase(), WsPhase::open);
    EXPECT_EQ(h.detaches, 0);
}

TEST(WsConnection, PeerCloseIsEchoedThenOurSideShutsAndLingers)
{
    WsConnectionHarness h(limits());
    h.start();
    h.read(close_frame(1001));
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(closes(h, ClosedBy::client, 1001), 1u);
    EXPECT_EQ(h.connection().phase(), WsPhase::finishing);
    EXPECT_FALSE(h.connection().reading());

    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"close:1001"}));
    EXPECT_EQ(h.connection().phase(), WsPhase::lingering);
    EXPECT_EQ(h.shut_downs, 1);
    EXPECT_TRUE(h.deadline_armed());

    // What still arrives while lingering is thrown away.
    h.read(text("late"));
    EXPECT_TRUE(h.texts.empty());

    h.connection().end_of_input(true, "");
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_EQ(h.cuts, 1);
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(h.closes_counted(), 1u);
}

TEST(WsConnection, PeerCloseWithoutCodeIsAnsweredWith1000)
{
    WsConnectionHarness h(limits());
    h.start();
    h.read(client_frame(WsOpcode::close, ""));
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"close:1000"}));
    EXPECT_EQ(closes(h, ClosedBy::client, 1005), 1u);
}

TEST(WsConnection, PeerCloseDropsTheUnstartedBacklog)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().send("never read");
    h.read(close_frame(1000));
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"close:1000"}));
}

TEST(WsConnection, ServerCloseWaitsForThePeersAnswerWithoutEchoingIt)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().send("bye");
    h.connection().close(1008);
    EXPECT_EQ(h.connection().phase(), WsPhase::closing);
    EXPECT_EQ(closes(h, ClosedBy::server, 1008), 1u);
    EXPECT_TRUE(h.deadline_armed());
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"text:bye", "close:1008"})); // text queued before stays
    EXPECT_EQ(h.shut_downs, 0);
    EXPECT_TRUE(h.connection().reading());

    // Text after our close is neither delivered nor sent.
    h.read(text("ignored"));
    h.connection().send("ignored");
    h.connection().close(1000);
    EXPECT_TRUE(h.texts.empty());
    EXPECT_EQ(h.detaches, 0);

    h.read(close_frame(1000));
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(h.connection().phase(), WsPhase::lingering); // nothing queued: shut down at once
    EXPECT_EQ(h.shut_downs, 1);
    EXPECT_EQ(frames(h), (Frames{"text:bye", "close:1008"}));
    EXPECT_EQ(h.closes_counted(), 1u);
}

TEST(WsConnection, CloseBeforeStartIsCountedAndQueued)
{
    // Server::attach closes a session that upgraded during shutdown, before start returns.
    WsConnectionHarness h(limits());
    h.connection().close(1001);
    h.start();
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"close:1001"}));
    EXPECT_EQ(closes(h, ClosedBy::server, 1001), 1u);
}

struct FailureCase
{
    std::string bytes;
    std::uint16_t code;
};

TEST(WsConnection, BrokenRulesFailWithTheirCodeWholeOrSplit)
{
    const std::vector<FailureCase> cases = {
        {"\x81\x02hi", 1002},                                         // unmasked
        {client_frame(WsOpcode::binary, "bin"), 1003},                // binary
        {client_frame(WsOpcode::text, "\xff\xfe"), 1007},             // not UTF-8
        {client_frame(WsOpcode::text, std::string(2000, 'a')), 1009}, // over 1024
    };
    for (const auto& failure : cases) {
        for (const std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{100000}}) {
            SCOPED_TRACE(std::to_string(failure.code) + " in pieces of " + std::to_string(chunk));
            WsConnectionHarness h(limits());
            h.start();
            h.connection().send("unstarted");
            read_in_pieces(h, text("first") + failure.bytes + text("after"), chunk);
            EXPECT_EQ(h.texts, (std::vector<std::string>{"first"}));
            EXPECT_EQ(h.detaches, 1);
            EXPECT_EQ(closes(h, ClosedBy::server, failure.code), 1u);
            EXPECT_EQ(h.closes_counted(), 1u);
            EXPECT_FALSE(h.connection().reading());
            h.run_posted();
            EXPECT_EQ(frames(h), (Frames{"close:" + std::to_string(failure.code)}));
            EXPECT_EQ(h.connection().phase(), WsPhase::lingering);
        }
    }
}

TEST(WsConnection, FailureAfterOurCloseSendsNoSecondCloseFrame)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().close(1000);
    h.read(client_frame(WsOpcode::binary, "x"));
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(closes(h, ClosedBy::server, 1000), 1u);
    EXPECT_EQ(h.closes_counted(), 1u);
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"close:1000"}));
    EXPECT_EQ(h.connection().phase(), WsPhase::lingering);
}

TEST(WsConnection, HandshakeSplitByteByByteEndsTheSame)
{
    WsConnectionHarness h(limits());
    h.start();
    read_in_pieces(h, text("a") + client_frame(WsOpcode::ping, "p") + close_frame(4000), 1);
    EXPECT_EQ(h.texts, (std::vector<std::string>{"a"}));
    h.run_posted();
    // The pong went out with the close; the close echo drops only frames not yet begun, and the
    // flush had not begun, so the pong is dropped too.
    EXPECT_EQ(frames(h), (Frames{"close:4000"}));
    EXPECT_EQ(closes(h, ClosedBy::client, 4000), 1u);
}

TEST(WsConnection, PingIsAnsweredWithItsPayload)
{
    WsConnectionHarness h(limits());
    h.start();
    h.read(client_frame(WsOpcode::ping, "xyz"));
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"pong:xyz"}));
}

TEST(WsConnection, HubClosingInsideOnTextStopsLaterText)
{
    WsConnectionHarness h(limits());
    h.on_text_hook = [&](std::string_view) { h.connection().close(1008); };
    h.start();
    h.read(text("flood") + text("more"));
    EXPECT_EQ(h.texts, (std::vector<std::string>{"flood"}));
    EXPECT_EQ(h.connection().phase(), WsPhase::closing);
}

TEST(WsConnection, SlowConsumerIsRefusedDroppedClosedWith1008AndDetachedLater)
{
    WsConnectionHarness h(limits(100));
    h.start();
    h.kernel_room(0); // the peer reads nothing
    h.connection().send(std::string(60, 'a'));
    h.run_posted();
    EXPECT_TRUE(h.connection().writing());
    EXPECT_TRUE(h.refusals.empty());
    h.connection().send(std::string(60, 'b'));
    EXPECT_EQ(h.refusals, (std::vector<std::string>{"slow-consumer"}));
    EXPECT_EQ(h.connection().phase(), WsPhase::closing);
    EXPECT_EQ(closes(h, ClosedBy::server, 1008), 1u);
    EXPECT_EQ(h.detaches, 0); // posted: we are inside a fan-out
    EXPECT_TRUE(h.detach_posted());
    h.run_posted();
    EXPECT_EQ(h.detaches, 1);

    // The backlog went; if the peer ever reads, it gets the close frame next.
    h.kernel_room(1000);
    EXPECT_EQ(frames(h), (Frames{"close:1008"}));
    h.read(close_frame(1008));
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(h.closes_counted(), 1u);
    EXPECT_EQ(h.connection().phase(), WsPhase::lingering);
}

TEST(WsConnection, SlowConsumerOverTlsCountsTheWriteInFlight)
{
    WsConnectionHarness h(limits(100), true);
    h.start();
    h.connection().send(std::string(60, 'a'));
    h.run_posted(); // 62 bytes now in flight, never acknowledged
    EXPECT_TRUE(h.connection().writing());
    EXPECT_TRUE(h.connection().unsent().empty());
    h.connection().send(std::string(40, 'b'));
    EXPECT_EQ(h.refusals, (std::vector<std::string>{"slow-consumer"}));
}

TEST(WsConnection, ABigBatchIsWrittenAtOnce)
{
    WsConnectionHarness h(limits(std::size_t{1} << 20));
    h.start();
    h.connection().send(std::string(1000, 'a'));
    EXPECT_EQ(h.write_nows, 0);
    h.connection().send(std::string(WsConnection::eager_write_bytes, 'b'));
    EXPECT_EQ(h.write_nows, 1);
    EXPECT_EQ(frames(h).size(), 2u);
}

TEST(WsConnection, SilentPeerIsCutAfterTheIdleTimeout)
{
    WsConnectionHarness h(limits());
    h.start();
    h.advance(39s);
    h.read(text("still here"));
    h.advance(39s);
    h.tick();
    EXPECT_EQ(h.connection().phase(), WsPhase::open);
    h.advance(1s);
    h.tick();
    EXPECT_EQ(h.refusals, (std::vector<std::string>{"idle-timeout"}));
    EXPECT_EQ(closes(h, ClosedBy::server, no_close_frame), 1u);
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_EQ(h.cuts, 1);
    EXPECT_TRUE(h.wire.empty()); // no close frame for a silent peer
    EXPECT_EQ(h.detaches, 0);    // the failed read detaches
    h.connection().end_of_input(false, "Operation canceled");
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(h.closes_counted(), 1u);
}

// With resume off the pings are empty, as they were before resume existed (docs/protocol.md 8).
TEST(WsConnection, PingsEveryIntervalWhileOpenOnly)
{
    WsConnectionHarness h(limits());
    h.start();
    h.advance(14s);
    h.tick();
    h.run_posted();
    EXPECT_TRUE(h.wire.empty());
    h.advance(1s);
    h.tick();
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"ping:"}));
    h.read(client_frame(WsOpcode::pong, "")); // the answer counts as heard
    h.advance(10s);
    h.tick();
    h.run_posted();
    EXPECT_EQ(frames(h).size(), 1u);
    h.advance(5s);
    h.tick();
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"ping:", "ping:"}));

    h.connection().close(1000);
    h.advance(15s);
    h.tick();
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"ping:", "ping:", "close:1000"}));
}

// Resume trims what a member holds at each pong: the pong that echoes the latest ping proves the
// client has every text sent before that ping, and nothing else proves anything.
TEST(WsConnection, OnlyThePongOfTheLatestPingAcknowledgesTheTextsSentBeforeIt)
{
    WsConnectionHarness h(resume_limits());
    h.start();
    h.connection().send("one");
    h.connection().send("two");
    h.read(client_frame(WsOpcode::pong, ping_payload(2))); // unsolicited: no ping yet
    h.advance(15s);
    h.tick();
    h.connection().send("three"); // after the ping: not covered by its pong
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"text:one", "text:two", "ping:" + ping_payload(2), "text:three"}));
    EXPECT_TRUE(h.acks.empty());

    h.read(client_frame(WsOpcode::pong, ping_payload(3))); // not what the ping carried
    EXPECT_TRUE(h.acks.empty());
    h.read(client_frame(WsOpcode::pong, ping_payload(2)));
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2}));
    h.read(client_frame(WsOpcode::pong, ping_payload(2))); // answered already
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2}));

    // A pong that crossed the next ping still answers its own; once the newer one is answered,
    // the older one's echo proves nothing more.
    h.advance(15s);
    h.tick(); // ping at 3
    h.connection().send("four");
    h.advance(15s);
    h.tick(); // ping at 4
    h.read(client_frame(WsOpcode::pong, ping_payload(3)));
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2, 3}));
    h.read(client_frame(WsOpcode::pong, ping_payload(4)));
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2, 3, 4}));
    h.read(client_frame(WsOpcode::pong, ping_payload(3)));
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2, 3, 4}));
    // Only the two latest pings are remembered.
    h.connection().send("five");
    for (int i = 0; i < 3; ++i) {
        h.advance(15s);
        h.tick();
        h.read(client_frame(WsOpcode::pong, "keep-alive")); // heard, acknowledges nothing
        h.connection().send("more");
    }
    h.read(client_frame(WsOpcode::pong, ping_payload(5))); // the first of the three
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2, 3, 4}));
    h.read(client_frame(WsOpcode::pong, ping_payload(7)));
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{2, 3, 4, 7}));
}

// With resume off nothing is held, so nothing needs acknowledging: a pong, whatever it
// echoes, only counts as heard.
TEST(WsConnection, WithResumeOffAPongAcknowledgesNothing)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().send("one");
    h.advance(15s);
    h.tick();
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"text:one", "ping:"}));
    h.read(client_frame(WsOpcode::pong, ""));
    h.read(client_frame(WsOpcode::pong, ping_payload(1)));
    EXPECT_TRUE(h.acks.empty());
}

// With resume on, what the hub holds is trimmed within a sweep, not a whole ping interval: a
// connection sent texts since its last answered ping is pinged at the next tick, with at most one
// such ping unanswered.
TEST(WsConnection, WithResumeOnTextsNotYetAcknowledgedArePingedForAtTheNextTick)
{
    WsConnectionHarness h(resume_limits());
    h.start();
    h.advance(1s);
    h.tick();
    h.run_posted();
    EXPECT_TRUE(h.wire.empty()); // nothing sent: nothing to acknowledge
    h.connection().send("one");
    h.advance(1s);
    h.tick();
    h.advance(1s);
    h.tick(); // the first is unanswered: no second
    h.run_posted();
    EXPECT_EQ(frames(h), (Frames{"text:one", "ping:" + ping_payload(1)}));
    h.read(client_frame(WsOpcode::pong, ping_payload(1)));
    EXPECT_EQ(h.acks, (std::vector<std::uint64_t>{1}));
    h.advance(1s);
    h.tick(); // all acknowledged: quiet again
    h.run_posted();
    EXPECT_EQ(frames(h).size(), 2u);
    h.connection().send("two");
    h.advance(1s);
    h.tick();
    h.run_posted();
    EXPECT_EQ(frames(h).back(), "ping:" + ping_payload(2));

    // A steady stream is acknowledged every ack_every_texts texts, without waiting for a tick:
    // the ping goes right behind the text that reaches the count.
    h.read(client_frame(WsOpcode::pong, ping_payload(2)));
    const std::size_t before = frames(h).size();
    for (std::uint64_t i = 0; i < WsConnection::ack_every_texts; ++i)
        h.connection().send("x");
    h.run_posted();
    const Frames after = frames(h);
    ASSERT_EQ(after.size(), before + WsConnection::ack_every_texts + 1);
    EXPECT_EQ(after.back(), "ping:" + ping_payload(2 + WsConnection::ack_every_texts));

    // With resume off, pings keep their interval.
    WsConnectionHarness plain(limits());
    plain.start();
    plain.connection().send("one");
    plain.advance(1s);
    plain.tick();
    plain.run_posted();
    EXPECT_EQ(frames(plain), (Frames{"text:one"}));
}

// What merely happens to the connection is `lost` (resume may suspend the member); what either
// side says with a close frame, or the server decides, is `closed`.
TEST(WsConnection, TheHubHearsWhetherTheConnectionWasLostOrClosed)
{
    const auto end_of = [](auto&& scenario) {
        WsConnectionHarness h(limits(16));
        h.start();
        scenario(h);
        EXPECT_EQ(h.detaches, 1);
        return h.ends.empty() ? std::optional<ConnectionEnd>{} : h.ends.front();
    };
    using H = WsConnectionHarness;
    EXPECT_EQ(end_of([](H& h) { h.connection().end_of_input(true, ""); }), ConnectionEnd::lost);
    EXPECT_EQ(end_of([](H& h) { h.connection().end_of_input(false, "reset"); }),
              ConnectionEnd::lost);
    EXPECT_EQ(end_of([](H& h) { // a FIN in the middle of a frame
                  h.read(text("hello").substr(0, 4));
                  h.connection().end_of_input(true, "");
              }),
              ConnectionEnd::lost);
    EXPECT_EQ(end_of([](H& h) { // idle timeout: cut, then the read fails
                  h.advance(40s);
                  h.tick();
                  h.connection().end_of_input(false, "Operation canceled");
              }),
              ConnectionEnd::lost);
    EXPECT_EQ(end_of([](H& h) { // a write fails: cut, then the read fails
                  h.connection().send("x");
                  h.connection().write_failed();
                  h.connection().end_of_input(false, "Broken pipe");
              }),
              ConnectionEnd::lost);
    EXPECT_EQ(end_of([](H& h) { h.read(close_frame(4321)); }), ConnectionEnd::closed);
    EXPECT_EQ(end_of([](H& h) { h.read(client_frame(WsOpcode::binary, "b")); }),
              ConnectionEnd::closed);
    EXPECT_EQ(end_of([](H& h) { // a policy close, then the client vanishes without answering
                  h.connection().close(1008);
                  h.run_posted();
                  h.connection().end_of_input(false, "reset");
              }),
              ConnectionEnd::closed);
    EXPECT_EQ(end_of([](H& h) { // slow consumer
                  h.kernel_room(0);
                  h.connection().send(std::string(64, 'x'));
                  h.run_posted();
                  h.connection().send(std::string(64, 'x'));
                  h.run_posted();
              }),
              ConnectionEnd::closed);
}

// A resume on another connection takes the membership over: the old connection gets 4001 with a
// reason if its socket takes it, and is cut at once without waiting for the client; the hub,
// which let it go already, hears nothing.
TEST(WsConnection, AbortSendsACloseFrameWithItsReasonThenCutsWithoutDetaching)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().send("dropped: the connection taking over replays it");
    h.connection().abort(4001, "resumed elsewhere");
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_EQ(frames(h), (Frames{"close:4001"}));
    EXPECT_NE(h.wire.find("resumed elsewhere"), std::string::npos);
    EXPECT_EQ(h.cuts, 1);
    EXPECT_EQ(h.shut_downs, 0);
    h.connection().end_of_input(false, "Operation canceled");
    EXPECT_EQ(h.detaches, 0);
    EXPECT_EQ(closes(h, ClosedBy::server, 4000), 1u); // the 4xxx bucket

    // Already closing (a policy close under way): its close frame stays the only one.
    WsConnectionHarness closing(limits());
    closing.start();
    closing.connection().close(1008);
    closing.connection().abort(4001, "resumed elsewhere");
    closing.run_posted();
    EXPECT_EQ(frames(closing), (Frames{"close:1008"}));
    EXPECT_EQ(closing.cuts, 1);
    EXPECT_EQ(closing.detaches, 0);

    // A socket that takes nothing is cut at the close deadline.
    WsConnectionHarness stuck(limits());
    stuck.start();
    stuck.kernel_room(0);
    stuck.connection().send("x");
    stuck.run_posted();
    stuck.connection().abort(4001, "resumed elsewhere");
    EXPECT_EQ(stuck.cuts, 0);
    stuck.fire_close_deadline();
    EXPECT_EQ(stuck.cuts, 1);
    EXPECT_EQ(stuck.detaches, 0);
}

TEST(WsConnection, CloseDeadlineCutsAPeerThatNeverAnswers)
{
    WsConnectionHarness h(limits());
    h.start();
    h.kernel_room(0);
    h.connection().close(1001);
    h.run_posted();
    EXPECT_EQ(h.deadline_arms, 1);
    h.fire_close_deadline();
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_EQ(h.cuts, 1);
    h.connection().end_of_input(false, "Operation canceled");
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(h.closes_counted(), 1u);
    EXPECT_EQ(closes(h, ClosedBy::server, 1001), 1u);
}

TEST(WsConnection, LingerEndsAtThePeersFinOrTheDeadline)
{
    WsConnectionHarness h(limits());
    h.start();
    h.read(close_frame(1000));
    h.run_posted();
    ASSERT_EQ(h.connection().phase(), WsPhase::lingering);
    EXPECT_TRUE(h.connection().lingering());
    EXPECT_EQ(h.deadline_arms, 1); // armed with the close, not again for the linger
    h.fire_close_deadline();
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_EQ(h.cuts, 1);
}

TEST(WsConnection, TlsShutdownWaitsForTheWriteInFlight)
{
    WsConnectionHarness h(limits(), true);
    h.start();
    h.connection().send("x");
    h.run_posted();
    ASSERT_TRUE(h.connection().writing());
    h.read(close_frame(1000));
    h.run_posted();
    EXPECT_EQ(h.shut_downs, 0);
    h.kernel_room(100); // the text's write ends; the close frame follows
    EXPECT_EQ(h.shut_downs, 0);
    h.kernel_room(100); // the close frame's write ends
    EXPECT_EQ(h.shut_downs, 1);
    EXPECT_EQ(frames(h), (Frames{"text:x", "close:1000"}));
    h.connection().end_of_input(true, "end of stream"); // the peer's FIN
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_EQ(h.detaches, 1);
}

TEST(WsConnection, EndOfStreamWithoutCloseFrameIsCountedAsTheClients1006)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().end_of_input(true, "");
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(closes(h, ClosedBy::client, no_close_frame), 1u);
    EXPECT_EQ(h.cuts, 1);
    h.connection().send("x");
    h.connection().close(1000);
    h.connection().slow_consumer_detach();
    h.connection().end_of_input(false, "again");
    h.run_posted();
    EXPECT_TRUE(h.wire.empty());
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(h.closes_counted(), 1u);
    EXPECT_EQ(h.cuts, 1);
}

TEST(WsConnection, WriteFailureCutsAndTheReadSideDetaches)
{
    WsConnectionHarness h(limits());
    h.start();
    h.connection().write_failed();
    EXPECT_EQ(h.connection().phase(), WsPhase::done);
    EXPECT_FALSE(h.connection().reading());
    h.connection().end_of_input(false, "Bad file descriptor");
    EXPECT_EQ(h.detaches, 1);
    EXPECT_EQ(closes(h, ClosedBy::client, no_close_frame), 1u);
}

} // namespace ws_connection_test
} // namespace signald
