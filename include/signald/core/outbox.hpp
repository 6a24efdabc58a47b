#pragma once
// Outbox: the messages one member's client may not have received yet, numbered as the protocol
// numbers them (docs/protocol.md 8.1): 1, 2, 3, ... after the joined or resumed that issued the
// current resume token. Hub keeps one per member while resume is on. It belongs to the member,
// not to the connection, so it outlives a dropped connection and a resume replays from it.
// Pure bookkeeping: it never sends, and the byte cap is the caller's to pass.

#include "signald/core/transport.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace signald {

class Outbox
{
public:
    // Numbers text as the next message and holds it. While the total passes cap bytes the
    // oldest held messages are let go (a resume that needs them then fails).
    void push(const Text& text, std::size_t cap);
    // The client has every message up to number n: let them go.
    void acknowledge(std::uint64_t n);
    // Messages n+1 .. last() in order; nullopt when message n+1 is no longer held. n must be at
    // most last().
    std::optional<std::vector<Text>> after(std::uint64_t n) const;
    // Whether after(n) has them all.
    bool holds_after(std::uint64_t n) const { return n >= last() || first_held() <= n + 1; }
    // Numbering starts over at 1 with nothing held (a new token).
    void restart();

    // The number of the last message pushed; 0 before the first.
    std::uint64_t last() const { return next_ - 1; }
    // Bytes of the held message texts.
    std::size_t bytes() const { return held_ ? held_->bytes : 0; }
    std::size_t held() const { return held_ ? held_->texts.size() - held_->head : 0; }
    // The number of the oldest held message (last() + 1 when nothing is held).
    std::uint64_t first_held() const { return next_ - held(); }
    // The held messages, oldest first (to hand a member to another process).
    std::vector<Text> held_texts() const
    {
        if (!held_)
            return {};
        return {held_->texts.begin() + static_cast<std::ptrdiff_t>(held_->head),
                held_->texts.end()};
    }
    // Holds texts as messages first, first + 1, ... (numbering goes on after them).
    void restore(std::uint64_t first, std::vector<Text> texts);
    // Holds text as message n, and what was n, n+1, ... as n+1, n+2, ...: the client got it in
    // that place from elsewhere (a clustered node cut off from the rooms answered it alone).
    // False, and nothing changes, if n is past last() + 1 or message n is no longer held.
    bool insert(std::uint64_t n, const Text& text);

private:
    void drop_front();

    // texts[head ..] are messages first_held() .. last(). A vector with a moving head, not a
    // deque: an empty deque still allocates about 600 bytes, and most members hold nothing.
    struct Held
    {
        std::vector<Text> texts;
        std::size_t head = 0;
        std::size_t bytes = 0; // of the held texts
    };
    static constexpr std::size_t first_capacity = 4;
    // Only while something is held: every member with resume on has an Outbox, and an idle
    // one holds nothing, so it pays a null pointer rather than 40 bytes.
    std::unique_ptr<Held> held_;
    std::uint64_t next_ = 1;
};

} // namespace signald
