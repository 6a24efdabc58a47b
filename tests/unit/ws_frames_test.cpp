// The RFC 6455 receiver and frame writer, byte for byte: every rule that fails a connection, and
// that any split of the byte stream across reads yields the same messages.

#include "signald/net/ws_frames.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace signald {
namespace ws_frames_test {

struct Recorded : WsEvents
{
    std::vector<std::string> events;
    void on_text(std::string_view text) override { events.push_back("text:" + std::string(text)); }
    void on_ping(std::string_view payload) override
    {
        events.push_back("ping:" + std::string(payload));
    }
    void on_pong(std::string_view payload) override
    {
        events.emplace_back("pong " + std::string(payload)); // the payload matters: acks
    }
    void on_close(std::uint16_t code, std::string_view reason) override
    {
        events.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
    }
};

struct FrameSpec
{
    std::uint8_t opcode = 0x1;
    bool fin = true;
    bool masked = true;
    std::uint8_t rsv = 0;           // the three RSV bits, as 0..7
    std::uint32_t key = 0x37fa213d; // masking key
    int force_length_bytes = 0;     // 2 or 8 to force a long length encoding
};

// A client frame as a browser would send it.
std::string client_frame(std::string_view payload, FrameSpec spec = {})
{
    std::string out;
    out += static_cast<char>((spec.fin ? 0x80 : 0) | (spec.rsv << 4) | spec.opcode);
    const std::uint8_t mask = spec.masked ? 0x80 : 0;
    const std::uint64_t size = payload.size();
    if (size < 126 && spec.force_length_bytes == 0) {
        out += static_cast<char>(mask | size);
    } else if (size <= 0xFFFF && spec.force_length_bytes != 8) {
        out += static_cast<char>(mask | 126);
        out += static_cast<char>(size >> 8);
        out += static_cast<char>(size);
    } else {
        out += static_cast<char>(mask | 127);
        for (int i = 7; i >= 0; --i)
            out += static_cast<char>(size >> (8 * i));
    }
    const char key[4] = {static_cast<char>(spec.key >> 24), static_cast<char>(spec.key >> 16),
                         static_cast<char>(spec.key >> 8), static_cast<char>(spec.key)};
    if (spec.masked)
        out.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out += spec.masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
    return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {})
{
    std::string out{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
    return out + std::string(reason);
}

struct Outcome
{
    std::vector<std::string> events;
    std::uint16_t failure = 0;
};

// Feeds stream to a fresh receiver in pieces of at most chunk bytes.
Outcome feed(const std::string& stream, std::size_t chunk = SIZE_MAX, std::size_t limit = 1024)
{
    WsReceiver receiver(limit);
    Recorded recorded;
    std::string copy = stream;
    Outcome outcome;
    for (std::size_t at = 0; at < copy.size() && outcome.failure == 0;) {
        const std::size_t size = std::min(chunk, copy.size() - at);
        outcome.failure = receiver.receive(std::span<char>(copy.data() + at, size), recorded);
        at += size;
    }
    outcome.events = recorded.events;
    return outcome;
}

TEST(WsReceiver, TextPingPongAndCloseInOneStreamSplitAnyWay)
{
    const std::string stream = client_frame("hello") + client_frame("p", {.opcode = 0x9}) +
                               client_frame("nobody asked", {.opcode = 0xA}) +
                               client_frame(std::string(300, 'x')) +
                               client_frame(close_payload(1000, "bye"), {.opcode = 0x8});
    const std::vector<std::string> expected{"text:hello", "ping:p", "pong nobody asked",
                                            "text:" + std::string(300, 'x'), "close:1000:bye"};
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                              std::size_t{64}, SIZE_MAX}) {
        SCOPED_TRACE("chunk " + std::to_string(chunk));
        const Outcome outcome = feed(stream, chunk);
        EXPECT_EQ(outcome.failure, 0);
        EXPECT_EQ(outcome.events, expected);
    }
}

TEST(WsReceiver, NothingAfterTheCloseFrameIsRead)
{
    const Outcome outcome =
        feed(client_frame(close_payload(1001), {.opcode = 0x8}) + client_frame("late"));
    EXPECT_EQ(outcome.events, (std::vector<std::string>{"close:1001:"}));
}

TEST(WsReceiver, EmptyCloseMeansNoStatus)
{
    EXPECT_EQ(feed(client_frame("", {.opcode = 0x8})).events,
              (std::vector<std::string>{"close:1005:"}));
}

TEST(WsReceiver, FragmentsAreReassembledWithControlFramesBetween)
{
    const std::string stream = client_frame("{\"a\":", {.fin = false}) +
                               client_frame("hi", {.opcode = 0x9}) +
                               client_frame("\"caf\xc3", {.opcode = 0x0, .fin = false}) +
                               client_frame("\xa9\"}", {.opcode = 0x0});
    for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, SIZE_MAX}) {
        const Outcome outcome = feed(stream, chunk);
        EXPECT_EQ(outcome.failure, 0);
        EXPECT_EQ(outcome.events,
                  (std::vector<std::string>{"ping:hi", "text:{\"a\":\"caf\xc3\xa9\"}"}));
    }
}

TEST(WsReceiver, LongLengthEncodingsAreAccepted)
{
    const std::string payload(70000, 'y');
    EXPECT_EQ(feed(client_frame(payload), SIZE_MAX, 100000).events,
              (std::vector<std::string>{"text:" + payload}));
    EXPECT_EQ(feed(client_frame("short", {.force_length_bytes = 8})).events,
              (std::vector<std::string>{"text:short"}));
}

TEST(WsReceiver, ZeroMaskKeyIsAllowed)
{
    EXPECT_EQ(feed(client_frame("plain", {.key = 0})).events,
              (std::vector<std::string>{"text:plain"}));
}

struct Broken
{
    const char* name;
    std::string stream;
    std::uint16_t code;
};

TEST(WsReceiver, EveryBrokenRuleFailsWithItsCode)
{
    const std::vector<Broken> cases{
        {"unmasked", client_frame("x", {.masked = false}), 1002},
        {"rsv1", client_frame("x", {.rsv = 4}), 1002},
        {"rsv3", client_frame("x", {.rsv = 1}), 1002},
        {"opcode 3", client_frame("x", {.opcode = 0x3}), 1002},
        {"opcode B", client_frame("x", {.opcode = 0xB}), 1002},
        {"lone continuation", client_frame("x", {.opcode = 0x0}), 1002},
        {"text inside a message", client_frame("a", {.fin = false}) + client_frame("b"), 1002},
        {"fragmented ping", client_frame("x", {.opcode = 0x9, .fin = false}), 1002},
        {"126-byte ping", client_frame(std::string(126, 'p'), {.opcode = 0x9}), 1002},
        {"1-byte close", client_frame("x", {.opcode = 0x8}), 1002},
        {"close 999", client_frame(close_payload(999), {.opcode = 0x8}), 1002},
        {"close 1005", client_frame(close_payload(1005), {.opcode = 0x8}), 1002},
        {"close 1006", client_frame(close_payload(1006), {.opcode = 0x8}), 1002},
        {"close 1015", client_frame(close_payload(1015), {.opcode = 0x8}), 1002},
        {"close 2999", client_frame(close_payload(2999), {.opcode = 0x8}), 1002},
        {"close 5000", client_frame(close_payload(5000), {.opcode = 0x8}), 1002},
        {"close reason not UTF-8", client_frame(close_payload(1000, "\xff"), {.opcode = 0x8}),
         1007},
        {"binary", client_frame("\x01\x02", {.opcode = 0x2}), 1003},
        {"invalid UTF-8", client_frame("caf\xc3("), 1007},
        {"UTF-8 broken across fragments",
         client_frame("caf\xc3", {.fin = false}) + client_frame("(", {.opcode = 0x0}), 1007},
        {"over the limit", client_frame(std::string(1025, 'z')), 1009},
        {"fragments over the limit",
         client_frame(std::string(600, 'z'), {.fin = false}) +
             client_frame(std::string(600, 'z'), {.opcode = 0x0}),
         1009},
        {"64-bit length with the top bit", std::string("\x81\xff\x80\0\0\0\0\0\0\x01\0\0\0\0", 14),
         1002},
    };
    for (const auto& broken : cases) {
        SCOPED_TRACE(broken.name);
        for (std::size_t chunk : {std::size_t{1}, SIZE_MAX})
            EXPECT_EQ(feed(broken.stream, chunk).failure, broken.code);
    }
}

TEST(WsReceiver, AnOversizedFrameFailsOnItsHeaderBeforeThePayloadArrives)
{
    std::string header = client_frame(std::string(5000, 'z')).substr(0, 8);
    EXPECT_EQ(feed(header).failure, 1009);
}

TEST(WsReceiver, IdleReceiverHoldsNoBytes)
{
    WsReceiver receiver(1024);
    Recorded recorded;
    std::string frame = client_frame("{\"action\":\"join\"}");
    ASSERT_EQ(receiver.receive(std::span<char>(frame.data(), 5), recorded), 0);
    EXPECT_EQ(receiver.buffered_bytes(), 5u);
    ASSERT_EQ(receiver.receive(std::span<char>(frame.data() + 5, frame.size() - 5), recorded), 0);
    EXPECT_EQ(receiver.buffered_bytes(), 0u);
    EXPECT_EQ(recorded.events.size(), 1u);
}

TEST(AppendFrame, UsesTheShortestLengthEncoding)
{
    for (std::size_t size : {0, 125, 126, 65535, 65536}) {
        std::string out;
        append_frame(out, WsOpcode::text, std::string(size, 'a'));
        const std::size_t header = size < 126 ? 2 : size <= 65535 ? 4 : 10;
        ASSERT_EQ(out.size(), header + size);
        EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x81);
        const auto code = static_cast<std::uint8_t>(out[1]);
        EXPECT_EQ(code, size < 126 ? size : size <= 65535 ? 126u : 127u);
    }
    OutboundFrames frames;
    frames.append_close(1008);
    const std::string close(frames.unsent());
    EXPECT_EQ(close, std::string("\x88\x02\x03\xf0", 4));
}

TEST(OutboundFrames, DroppingTheBacklogKeepsThePartlyWrittenFrameWhole)
{
    OutboundFrames frames;
    frames.append(WsOpcode::text, std::string(200, 'a')); // 4 + 200 bytes
    frames.append(WsOpcode::text, "second");
    frames.consumed(10); // the kernel took part of the first frame
    frames.drop_unstarted();
    EXPECT_EQ(frames.size(), 204u - 10u);
    frames.append_close(1008);
    EXPECT_EQ(frames.unsent().substr(194), std::string("\x88\x02\x03\xf0", 4));

    frames.consumed(frames.size());
    EXPECT_TRUE(frames.empty());
    frames.append(WsOpcode::text, "x");
    frames.drop_unstarted(); // nothing begun: all of it goes
    EXPECT_TRUE(frames.empty());
}

TEST(OutboundFrames, ReclaimingTheFrontNeverCutsAFrame)
{
    OutboundFrames frames;
    std::string expected;
    for (int i = 0; i < 50; ++i) {
        const std::string payload(static_cast<std::size_t>(100 + i * 37),
                                  static_cast<char>('a' + i % 26));
        frames.append(WsOpcode::text, payload);
        append_frame(expected, WsOpcode::text, payload);
        // Take an awkward amount each time; what remains must be exactly the rest of the stream.
        const std::size_t take = std::min<std::size_t>(frames.size(), 61);
        expected.erase(0, take);
        frames.consumed(take);
        ASSERT_EQ(frames.unsent(), expected);
    }
}

} // namespace ws_frames_test
} // namespace signald
