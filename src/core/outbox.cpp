#include "signald/core/outbox.hpp"

namespace signald {

void Outbox::push(const Text& text, std::size_t cap)
{
    // Start at a few messages, not at the one of the vector's first doubling. Not at a busy
    // round's worth (~32) either: a member that joins and falls idle frees this block at its
    // first pong, and a large block freed among long-lived ones stays in RSS; with 48 slots
    // resume cost 110 B more per idle connection than resume off, with 4 it costs 15 B
    // (bench/README.md), and the fan-out rate is the same within noise.
    if (!held_) {
        held_ = std::make_unique<Held>();
        held_->texts.reserve(first_capacity);
    }
    held_->texts.push_back(text);
    held_->bytes += text->size();
    ++next_;
    while (bytes() > cap && held() > 0)
        drop_front();
}

void Outbox::acknowledge(std::uint64_t n)
{
    while (held() > 0 && first_held() <= n)
        drop_front();
}

std::optional<std::vector<Text>> Outbox::after(std::uint64_t n) const
{
    if (!holds_after(n))
        return std::nullopt;
    if (n >= last())
        return std::vector<Text>{};
    // n < last() and message n+1 is held: held_ is there.
    const auto skip = static_cast<std::size_t>(n + 1 - first_held());
    return std::vector<Text>(held_->texts.begin() + static_cast<std::ptrdiff_t>(held_->head + skip),
                             held_->texts.end());
}

void Outbox::restart()
{
    held_.reset();
    next_ = 1;
}

void Outbox::restore(std::uint64_t first, std::vector<Text> texts)
{
    restart();
    next_ = first + texts.size();
    if (texts.empty())
        return;
    held_ = std::make_unique<Held>();
    for (const Text& text : texts)
        held_->bytes += text->size();
    held_->texts = std::move(texts);
}

bool Outbox::insert(std::uint64_t n, const Text& text)
{
    if (n == 0 || n > next_ || n < first_held())
        return false;
    const std::uint64_t first = first_held();
    if (!held_)
        held_ = std::make_unique<Held>();
    const auto at = static_cast<std::ptrdiff_t>(held_->head + (n - first));
    held_->texts.insert(held_->texts.begin() + at, text);
    held_->bytes += text->size();
    ++next_;
    return true;
}

void Outbox::drop_front()
{
    Held& held = *held_;
    held.bytes -= held.texts[held.head]->size();
    held.texts[held.head].reset();
    ++held.head;
    if (held.head == held.texts.size()) {
        // Everything acknowledged: give the memory back, so an idle member holds nothing.
        held_.reset();
    } else if (held.head >= 64 && held.head * 2 >= held.texts.size()) {
        held.texts.erase(held.texts.begin(),
                         held.texts.begin() + static_cast<std::ptrdiff_t>(held.head));
        held.head = 0;
    }
}

} // namespace signald
