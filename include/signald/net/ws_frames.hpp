#pragma once
// RFC 6455 framing for the server side, free of sockets so it can be unit-tested and fuzzed.
//
// Why not Beast's websocket::stream: it keeps a fixed 1.5 KiB read buffer inside every stream and
// writes one message per system call. A signaling server holds thousands of mostly idle sockets
// and fans small messages out to many of them, so here reads land in one buffer shared by every
// connection (only a partial frame is kept per connection), and writes append frames to a
// per-connection byte queue that goes out in one call. Beast still parses the HTTP upgrade.

#include "signald/core/close_codes.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace signald {

enum class WsOpcode : std::uint8_t
{
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

// Appends one unfragmented, unmasked (server-to-client) frame to out.
void append_frame(std::string& out, WsOpcode opcode, std::string_view payload);

// Server frames waiting for the kernel to take them, in order. What the kernel has taken part of
// is never torn: dropping the backlog keeps a partly written frame whole.
class OutboundFrames
{
public:
    void append(WsOpcode opcode, std::string_view payload);
    // A close frame carrying code and reason (at most 123 bytes of UTF-8).
    void append_close(std::uint16_t code, std::string_view reason = {});

    // Bytes not yet taken, from the first one.
    std::string_view unsent() const
    {
        return queue_ ? std::string_view(queue_->bytes).substr(queue_->sent) : std::string_view{};
    }
    std::size_t size() const { return queue_ ? queue_->bytes.size() - queue_->sent : 0; }
    bool empty() const { return size() == 0; }
    // The kernel took count bytes from the front of unsent(). Once all is taken the memory is
    // given back: a quiet connection holds none.
    void consumed(std::size_t count);
    // Forgets every frame not yet begun.
    void drop_unstarted();

private:
    // Where the frame that starts at start ends; bytes always begins with a whole frame.
    std::size_t frame_end(std::size_t start) const;

    struct Queue
    {
        std::string bytes;
        std::size_t sent = 0;
    };
    // Only while something is queued: every connection has an OutboundFrames, and a quiet one
    // pays a null pointer rather than an empty string and its offset (40 bytes).
    std::unique_ptr<Queue> queue_;
};

// Whether a peer may put code in a close frame. 1005, 1006 and 1015 only ever describe a close
// locally, and codes outside the registered and private ranges mean nothing.
bool is_valid_close_code(std::uint16_t code);

// What a client's frames amount to, reported as they complete.
class WsEvents
{
public:
    virtual ~WsEvents() = default;
    // A complete text message, valid UTF-8. The view lives until the call returns.
    virtual void on_text(std::string_view text) = 0;
    virtual void on_ping(std::string_view payload) = 0;
    virtual void on_pong(std::string_view payload) = 0;
    // code is 1005 (no status) when the frame carried none; reason is valid UTF-8.
    virtual void on_close(std::uint16_t code, std::string_view reason) = 0;
};

// Turns a client's byte stream into messages: unmasks, reassembles fragments, answers nothing
// itself. Every rule broken yields the close code to fail the connection with; after that, or
// after a close frame, it reads no further.
class WsReceiver
{
public:
    // max_message_bytes: at most 4 GiB (the daemon allows 64 MiB); more counts as 4 GiB.
    explicit WsReceiver(std::size_t max_message_bytes)
        : max_message_bytes_(
              static_cast<std::uint32_t>(std::min<std::size_t>(max_message_bytes, UINT32_MAX)))
    {}

    // Consumes bytes (unmasked in place). Returns 0 while all is well, else the close code.
    std::uint16_t receive(std::span<char> bytes, WsEvents& events);

    // Whether the peer's close frame has been seen (nothing after it is read).
    bool closed() const { return done_ && failure_ == 0; }
    // Bytes held between reads: a partial frame and a fragmented message so far. Idle: none.
    std::size_t buffered_bytes() const
    {
        return held_ ? held_->carry.size() + held_->fragments.size() : 0;
    }

private:
    // Handles the frame at the front of bytes if it is whole; returns the bytes it used, 0 if it
    // needs more, and sets failure_ when the frame breaks a rule.
    std::size_t take_frame(std::span<char> bytes, WsEvents& events);
    void fail(std::uint16_t code);

    // What waits between reads. Rare, so behind a pointer: an idle connection pays 8 bytes.
    struct Held
    {
        std::string carry;     // the start of a frame that has not fully arrived
        std::string fragments; // a fragmented text message so far
    };
    Held& held();
    bool carrying() const { return held_ && !held_->carry.empty(); }
    std::size_t fragments_size() const { return held_ ? held_->fragments.size() : 0; }

    std::unique_ptr<Held> held_;
    // 32 bits, beside the flags: every connection has a receiver, so it is 16 bytes.
    std::uint32_t max_message_bytes_;
    bool in_message_ = false;
    bool done_ = false;
    std::uint16_t failure_ = 0;
};

} // namespace signald
