#include "signald/core/outbox.hpp"

namespace signald {

void Outbox::push(const Text& text, std::size_t cap)
{
    // Start at a few messages, not at the one of the vector's first doubling. Not at a busy
    // round's worth (~32) either: a member that joins and falls idle frees this block at its
    // first pong, and a large block freed among long-lived ones stays in RSS; with 48 slots
    // resume cost 110 B more per idle connection than resume off, with 4 it costs 15 B
    // (bench/README.md), and the fan-out rate is the same within noise.
    if (held_.capacity() == 0)
        held_.reserve(first_capacity);
    held_.push_back(text);
    bytes_ += text->size();
    ++next_;
    while (bytes_ > cap && held() > 0)
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
    const auto skip = static_cast<std::size_t>(n + 1 - first_held());
    return std::vector<Text>(held_.begin() + static_cast<std::ptrdiff_t>(head_ + skip),
                             held_.end());
}

void Outbox::restart()
{
    std::vector<Text>().swap(held_);
    head_ = 0;
    next_ = 1;
    bytes_ = 0;
}

void Outbox::restore(std::uint64_t first, std::vector<Text> texts)
{
    restart();
    next_ = first + texts.size();
    for (const Text& text : texts)
        bytes_ += text->size();
    held_ = std::move(texts);
}

bool Outbox::insert(std::uint64_t n, const Text& text)
{
    if (n == 0 || n > next_ || n < first_held())
        return false;
    const auto at = static_cast<std::ptrdiff_t>(head_ + (n - first_held()));
    held_.insert(held_.begin() + at, text);
    bytes_ += text->size();
    ++next_;
    return true;
}

void Outbox::drop_front()
{
    bytes_ -= held_[head_]->size();
    held_[head_].reset();
    ++head_;
    if (head_ == held_.size()) {
        // Everything acknowledged: give the memory back, so an idle member holds nothing.
        std::vector<Text>().swap(held_);
        head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= held_.size()) {
        held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

} // namespace signald
