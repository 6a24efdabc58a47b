// fuzz_ws_connection: the input is a script of what happens to one WebSocket connection: the
// peer's bytes (whole frames or raw), server sends and closes, keepalive ticks, the kernel taking
// bytes, posted handlers running, end of input, the close deadline, over plain TCP or TLS. After
// every step: the hub hears detach at most once and no text after it; the end is counted at most
// once; what was written is whole frames, with nothing after a close frame and at most one; the
// phase only moves forward; no text leaves after closing; while open, a send never leaves more
// than max_queue_bytes queued; our side shuts down only with nothing left to write, and by then
// the hub has heard and the end is counted.

#include "check.hpp"
#include "ws_connection_harness.hpp"

#include "signald/net/ws_connection.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace signald;
using harness::WsConnectionHarness;

constexpr std::size_t max_message = 256;

// A client frame built from the script: mostly well-formed, sometimes not.
std::string peer_frame(FuzzedDataProvider& in)
{
    static constexpr WsOpcode opcodes[] = {WsOpcode::text,   WsOpcode::close,
                                           WsOpcode::ping,   WsOpcode::pong,
                                           WsOpcode::binary, WsOpcode::continuation};
    const WsOpcode opcode = opcodes[in.ConsumeIntegralInRange<std::size_t>(0, 5)];
    const bool fin = in.ConsumeIntegralInRange<int>(0, 7) != 0;
    std::string payload;
    if (opcode == WsOpcode::close && in.ConsumeBool()) {
        payload = harness::close_payload(in.ConsumeIntegral<std::uint16_t>());
    } else {
        payload = in.ConsumeRandomLengthString(300);
    }
    return harness::client_frame(opcode, payload, fin);
}

class Run
{
public:
    Run(WsLimits limits, bool tls) : h_(limits, tls), limits_(limits)
    {
        h_.on_text_hook = [this](std::string_view text) {
            FUZZ_CHECK(h_.detaches == 0);
            FUZZ_CHECK(h_.connection().phase() == WsPhase::open);
            FUZZ_CHECK(text.size() <= max_message);
            if (reaction_ == 1)
                send(text);
            else if (reaction_ == 2)
                h_.connection().close(close_code::policy_violation);
        };
    }

    WsConnectionHarness& h() { return h_; }
    void react(int reaction) { reaction_ = reaction; }

    // A resume elsewhere took the membership over.
    void abort()
    {
        // Only a connection the hub still holds can be taken over: after its detach the server
        // no longer knows it.
        if (!h_.connection().attached())
            return;
        aborted_ = true;
        h_.connection().abort(close_code::resumed_elsewhere, "resumed elsewhere");
    }
    // What a well-behaved peer answers to the latest ping on the wire ("" before any).
    const std::string& last_ping() const { return last_ping_; }

    void send(std::string_view text)
    {
        ++texts_;
        const bool was_open = h_.connection().phase() == WsPhase::open;
        const std::string before(was_open ? std::string_view() : h_.connection().unsent());
        const std::size_t wire_before = h_.wire.size();
        h_.connection().send(text);
        if (!was_open) {
            // Ignored once closing: nothing queued, nothing written.
            FUZZ_CHECK(h_.connection().unsent() == before);
            FUZZ_CHECK(h_.wire.size() == wire_before);
        }
        if (h_.connection().phase() == WsPhase::open)
            FUZZ_CHECK(h_.connection().unsent().size() <= limits_.max_queue_bytes);
    }

    void check()
    {
        WsConnection& c = h_.connection();
        FUZZ_CHECK(h_.detaches <= 1);
        FUZZ_CHECK(h_.closes_counted() <= 1);
        FUZZ_CHECK(h_.cuts <= 1);
        FUZZ_CHECK(h_.shut_downs <= 1);
        FUZZ_CHECK(h_.deadline_arms <= 1);
        FUZZ_CHECK(c.phase() >= last_phase_); // phases only move forward
        last_phase_ = c.phase();
        FUZZ_CHECK(c.attached() == (h_.detaches == 0 && !aborted_));
        if (aborted_)
            FUZZ_CHECK(h_.detaches == 0 && c.phase() != WsPhase::lingering); // no handshake
        // Acknowledgements only grow, and never cover a text that was not sent; with resume
        // off there are none.
        FUZZ_CHECK(limits_.resume_on || h_.acks.empty());
        for (std::size_t i = 0; i < h_.acks.size(); ++i) {
            FUZZ_CHECK(h_.acks[i] <= texts_);
            if (i > 0)
                FUZZ_CHECK(h_.acks[i] >= h_.acks[i - 1]);
        }
        if (c.phase() != WsPhase::open)
            FUZZ_CHECK(h_.closes_counted() == 1 || c.phase() == WsPhase::done);
        if (c.phase() == WsPhase::closing || c.phase() == WsPhase::finishing)
            FUZZ_CHECK(h_.deadline_armed());
        if (c.phase() == WsPhase::lingering) {
            // Our side is shut: everything was written, the hub heard, the end was counted.
            FUZZ_CHECK(h_.shut_downs == 1);
            FUZZ_CHECK(c.unsent().empty());
            FUZZ_CHECK(h_.detaches == 1);
            FUZZ_CHECK(h_.closes_counted() == 1);
        }
        if (c.phase() == WsPhase::done)
            FUZZ_CHECK(h_.cuts == 1 && !c.reading());
        FUZZ_CHECK(c.reading() == (c.phase() <= WsPhase::closing));

        // The wire: whole frames (a torn tail only while a write is under way or after the cut),
        // at most one close frame, nothing after it. Only the new bytes are decoded each step.
        std::vector<harness::ServerFrame> frames;
        const auto used =
            harness::decode_whole_frames(std::string_view(h_.wire).substr(checked_), frames);
        FUZZ_CHECK(used.has_value());
        checked_ += *used;
        for (const auto& frame : frames) {
            FUZZ_CHECK(!close_seen_);
            if (frame.opcode == WsOpcode::ping)
                last_ping_ = frame.payload;
            if (frame.opcode == WsOpcode::close)
                close_seen_ = true;
            else
                FUZZ_CHECK(frame.opcode == WsOpcode::text || frame.opcode == WsOpcode::ping ||
                           frame.opcode == WsOpcode::pong);
        }
        const bool torn = checked_ < h_.wire.size();
        if (torn)
            FUZZ_CHECK(c.writing() || h_.cuts == 1);
        if (h_.shut_downs == 1)
            FUZZ_CHECK(!torn);
    }

private:
    WsConnectionHarness h_;
    WsLimits limits_;
    WsPhase last_phase_ = WsPhase::open;
    std::size_t checked_ = 0; // wire bytes already decoded
    bool close_seen_ = false;
    bool aborted_ = false;
    std::uint64_t texts_ = 0; // send() calls, the hub's count of texts handed over
    std::string last_ping_;
    int reaction_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    // Every connect and disconnect logs at info: millions of lines would drown the findings.
    spdlog::set_level(spdlog::level::off);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    const bool tls = in.ConsumeBool();
    const std::size_t max_queue = in.ConsumeBool() ? 1024 : 256 * 1024;
    const bool resume_on = in.ConsumeBool();
    Run run(WsLimits{max_message, max_queue, std::chrono::seconds{15}, std::chrono::seconds{40},
                     resume_on},
            tls);
    WsConnectionHarness& h = run.h();
    run.react(in.ConsumeIntegralInRange<int>(0, 2));

    if (in.ConsumeIntegralInRange<int>(0, 15) == 0)
        h.connection().close(close_code::going_away); // closed by a shutting-down server at attach
    h.start();
    run.check();

    std::string peer; // the peer's bytes not yet read
    int steps = 0;
    while (in.remaining_bytes() > 0 && ++steps < 200) {
        switch (in.ConsumeIntegralInRange<int>(0, 15)) {
        case 0:
        case 1:
            peer += peer_frame(in);
            break;
        case 2:
            peer += in.ConsumeRandomLengthString(16);
            break;
        case 3: { // one read of part of what the peer sent
            const std::size_t count = in.ConsumeIntegralInRange<std::size_t>(0, peer.size());
            h.read(peer.substr(0, count));
            peer.erase(0, count);
            break;
        }
        case 4:
            run.send(in.ConsumeRandomLengthString(200));
            break;
        case 5:
            run.send(std::string(in.ConsumeIntegralInRange<std::size_t>(0, 70 * 1024), 'b'));
            break;
        case 6:
            h.connection().close(in.ConsumeBool() ? close_code::going_away
                                                  : close_code::policy_violation);
            break;
        case 7:
            h.advance(std::chrono::milliseconds(in.ConsumeIntegralInRange<int>(0, 45000)));
            h.tick();
            break;
        case 8:
            h.run_posted();
            break;
        case 9:
            h.kernel_room(in.ConsumeIntegralInRange<std::size_t>(0, 100000));
            break;
        case 10:
            if (in.ConsumeIntegralInRange<int>(0, 3) == 0)
                h.connection().end_of_input(in.ConsumeBool(), "Connection reset by peer");
            break;
        case 11:
            h.fire_close_deadline();
            break;
        case 12:
            h.connection().end_of_input(true, "end of stream"); // the peer's FIN, at any time
            break;
        case 13:
            if (in.ConsumeIntegralInRange<int>(0, 3) == 0)
                h.connection().write_failed();
            break;
        case 14:
            if (in.ConsumeIntegralInRange<int>(0, 7) == 0)
                run.abort();
            break;
        case 15: // the pong a browser sends
            peer += harness::client_frame(WsOpcode::pong, run.last_ping());
            break;
        }
        run.check();
    }
    return 0;
}
