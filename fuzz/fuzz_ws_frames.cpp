// fuzz_ws_frames: the input is what a client sends after the upgrade. WsReceiver must report
// exactly what a plain reference reading of RFC 6455 (below, written for clarity, not speed)
// reports: the same messages, pings, pongs and close, and the same failure code, however the
// bytes are split across reads. Text is valid UTF-8 within the limit, and nothing follows a close
// or a failure. OutboundFrames is driven by the same bytes: what it hands out, concatenated, is
// always whole frames in order, minus exactly the frames it was told to drop.

#include "check.hpp"

#include "signald/core/utf8.hpp"
#include "signald/net/ws_frames.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace signald;

constexpr std::size_t max_message = 512;

struct Recorded final : WsEvents
{
    std::vector<std::string> events;
    bool ended = false;
    void add(std::string event)
    {
        FUZZ_CHECK(!ended); // nothing after a close
        events.push_back(std::move(event));
    }
    void on_text(std::string_view text) override
    {
        FUZZ_CHECK(text.size() <= max_message);
        FUZZ_CHECK(utf8::is_valid(text));
        add("t" + std::string(text));
    }
    void on_ping(std::string_view payload) override { add("i" + std::string(payload)); }
    void on_pong(std::string_view) override { add("o"); }
    void on_close(std::uint16_t code, std::string_view reason) override
    {
        add("c" + std::to_string(code) + ":" + std::string(reason));
        ended = true;
    }
};

struct Outcome
{
    std::vector<std::string> events;
    std::uint16_t failure = 0;
    bool operator==(const Outcome&) const = default;
};

// The reference: the whole stream at once, one frame after another, each rule spelled out.
Outcome reference(std::string_view in)
{
    Outcome out;
    std::string message;
    bool in_message = false;
    std::size_t at = 0;
    auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(in[i]); };
    while (true) {
        if (in.size() - at < 2)
            return out;
        const bool fin = byte(at) & 0x80;
        const int rsv = (byte(at) >> 4) & 7;
        const int op = byte(at) & 0x0F;
        const bool masked = byte(at + 1) & 0x80;
        std::uint64_t len = byte(at + 1) & 0x7F;
        const bool control = op >= 8;
        const bool known = op <= 2 || (op >= 8 && op <= 10);
        if (rsv != 0 || !known || !masked || (control && (!fin || len > 125))) {
            out.failure = 1002;
            return out;
        }
        std::size_t header = 2;
        if (len == 126 || len == 127) {
            const std::size_t n = len == 126 ? 2 : 8;
            if (in.size() - at < 2 + n)
                return out;
            len = 0;
            for (std::size_t i = 0; i < n; ++i)
                len = len << 8 | byte(at + 2 + i);
            header += n;
        }
        header += 4;
        if (in.size() - at < header)
            return out;
        if ((op == 0 && !in_message) || ((op == 1 || op == 2) && in_message) || len >> 63) {
            out.failure = 1002;
            return out;
        }
        if (op == 2) {
            out.failure = 1003;
            return out;
        }
        if (!control && message.size() + len > max_message) {
            out.failure = 1009;
            return out;
        }
        if (in.size() - at - header < len)
            return out;
        std::string payload(in.substr(at + header, static_cast<std::size_t>(len)));
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(payload[i] ^ in[at + header - 4 + i % 4]);
        at += header + static_cast<std::size_t>(len);
        if (op == 1 || op == 0) {
            message += payload;
            in_message = !fin;
            if (fin) {
                if (!utf8::is_valid(message)) {
                    out.failure = 1007;
                    return out;
                }
                out.events.push_back("t" + message);
                message.clear();
            }
        } else if (op == 9) {
            out.events.push_back("i" + payload);
        } else if (op == 10) {
            out.events.push_back("o");
        } else {
            if (payload.size() == 1) {
                out.failure = 1002;
                return out;
            }
            std::uint16_t code = 1005;
            if (payload.size() >= 2) {
                code = static_cast<std::uint16_t>(static_cast<std::uint8_t>(payload[0]) << 8 |
                                                  static_cast<std::uint8_t>(payload[1]));
                const bool valid = (code >= 1000 && code <= 1003) ||
                                   (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
                if (!valid) {
                    out.failure = 1002;
                    return out;
                }
            }
            const std::string reason = payload.size() > 2 ? payload.substr(2) : "";
            if (!utf8::is_valid(reason)) {
                out.failure = 1007;
                return out;
            }
            out.events.push_back("c" + std::to_string(code) + ":" + reason);
            return out;
        }
    }
}

// Feeds the stream in pieces whose sizes come from a small generator seeded by the input, so
// each input also tries one arbitrary way of splitting it.
Outcome streamed(std::string bytes, std::uint32_t seed, bool whole)
{
    WsReceiver receiver(max_message);
    Recorded recorded;
    Outcome out;
    std::size_t at = 0;
    while (at < bytes.size() && out.failure == 0) {
        seed = seed * 1664525u + 1013904223u;
        const std::size_t piece = whole ? bytes.size() : 1 + (seed >> 16) % 40;
        const std::size_t size = std::min(piece, bytes.size() - at);
        out.failure = receiver.receive(std::span<char>(bytes.data() + at, size), recorded);
        FUZZ_CHECK(receiver.buffered_bytes() <= 2 * max_message + 14);
        at += size;
    }
    out.events = std::move(recorded.events);
    return out;
}

// OutboundFrames against a model: a list of frames, and how many bytes of them were taken.
void check_outbound(std::string_view in)
{
    OutboundFrames frames;
    std::vector<std::string> model; // frames not yet fully taken; the first may be partly taken
    std::size_t taken_of_first = 0;
    // Few, small steps: the property is about frame boundaries, not volume.
    for (std::size_t i = 0; i + 1 < in.size() && i < 96; i += 2) {
        const auto op = static_cast<std::uint8_t>(in[i]) % 4;
        const auto amount = static_cast<std::uint8_t>(in[i + 1]);
        if (op == 0 || op == 1) {
            const std::string payload(amount * (op == 0 ? 1u : 16u),
                                      static_cast<char>('a' + i % 26));
            frames.append(WsOpcode::text, payload);
            std::string frame;
            append_frame(frame, WsOpcode::text, payload);
            model.push_back(frame);
        } else if (op == 2) {
            std::size_t take = std::min<std::size_t>(amount * 7u, frames.size());
            frames.consumed(take);
            while (take > 0) {
                const std::size_t left = model.front().size() - taken_of_first;
                const std::size_t now = std::min(take, left);
                taken_of_first += now;
                take -= now;
                if (taken_of_first == model.front().size()) {
                    model.erase(model.begin());
                    taken_of_first = 0;
                }
            }
        } else {
            frames.drop_unstarted();
            model.resize(taken_of_first > 0 ? 1 : 0);
        }
        std::string expected;
        for (const auto& frame : model)
            expected += frame;
        FUZZ_CHECK(frames.unsent() == std::string_view(expected).substr(taken_of_first));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string input(reinterpret_cast<const char*>(data), size);
    std::uint32_t seed = 2166136261u;
    for (unsigned char c : input)
        seed = (seed ^ c) * 16777619u;

    const Outcome expected = reference(input);
    FUZZ_CHECK(streamed(input, seed, true) == expected);
    FUZZ_CHECK(streamed(input, seed, false) == expected);
    check_outbound(input);
    return 0;
}
