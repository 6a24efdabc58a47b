// Outbox: numbering, trimming at an acknowledgement, the byte cap and what a resume may replay.

#include "signald/core/outbox.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signald {
namespace outbox_test {

std::vector<std::string> texts(const std::optional<std::vector<Text>>& replay)
{
    std::vector<std::string> out;
    for (const Text& text : replay.value())
        out.push_back(*text);
    return out;
}

TEST(Outbox, NumbersFromOneAndReplaysFromAnyHeldMessage)
{
    Outbox box;
    EXPECT_EQ(box.last(), 0u);
    EXPECT_EQ(texts(box.after(0)), std::vector<std::string>{});
    for (const char* text : {"a", "bb", "ccc"})
        box.push(make_text(text), 100);
    EXPECT_EQ(box.last(), 3u);
    EXPECT_EQ(box.bytes(), 6u);
    EXPECT_EQ(texts(box.after(0)), (std::vector<std::string>{"a", "bb", "ccc"}));
    EXPECT_EQ(texts(box.after(2)), std::vector<std::string>{"ccc"});
    EXPECT_EQ(texts(box.after(3)), std::vector<std::string>{});
}

TEST(Outbox, AnAcknowledgementLetsGoOfEverythingUpToItAndAnEmptyBoxHoldsNoMemory)
{
    Outbox box;
    for (const char* text : {"a", "bb", "ccc"})
        box.push(make_text(text), 100);
    box.acknowledge(2);
    EXPECT_EQ(box.held(), 1u);
    EXPECT_EQ(box.bytes(), 3u);
    EXPECT_EQ(box.after(0), std::nullopt); // message 1 is gone
    EXPECT_EQ(texts(box.after(2)), std::vector<std::string>{"ccc"});
    box.acknowledge(1); // older: nothing changes
    EXPECT_EQ(box.held(), 1u);
    box.acknowledge(3);
    EXPECT_EQ(box.held(), 0u);
    EXPECT_EQ(box.bytes(), 0u);
    EXPECT_EQ(box.last(), 3u); // numbering goes on
    box.push(make_text("d"), 100);
    EXPECT_EQ(texts(box.after(3)), std::vector<std::string>{"d"});
}

TEST(Outbox, PastTheCapTheOldestGo)
{
    Outbox box;
    for (int i = 0; i < 5; ++i)
        box.push(make_text(std::string(10, static_cast<char>('a' + i))), 25);
    EXPECT_EQ(box.held(), 2u);
    EXPECT_EQ(box.bytes(), 20u);
    EXPECT_EQ(box.after(2), std::nullopt);
    EXPECT_EQ(texts(box.after(3)),
              (std::vector<std::string>{std::string(10, 'd'), std::string(10, 'e')}));
    box.push(make_text(std::string(30, 'x')), 25); // larger than the cap alone: nothing held
    EXPECT_EQ(box.held(), 0u);
    EXPECT_EQ(box.last(), 6u);
    EXPECT_EQ(box.after(5), std::nullopt);
}

TEST(Outbox, ManyAcknowledgementsCompactTheStorage)
{
    Outbox box;
    for (int i = 1; i <= 1000; ++i) {
        box.push(make_text(std::to_string(i)), 1 << 20);
        if (i % 10 == 0)
            box.acknowledge(static_cast<std::uint64_t>(i - 5));
    }
    EXPECT_EQ(box.held(), 5u);
    EXPECT_EQ(texts(box.after(995)),
              (std::vector<std::string>{"996", "997", "998", "999", "1000"}));
    box.restart();
    EXPECT_EQ(box.last(), 0u);
    EXPECT_EQ(box.held(), 0u);
    EXPECT_EQ(box.bytes(), 0u);
}

TEST(Outbox, InsertPutsATextInItsPlaceAndNumbersWhatFollowsOneOn)
{
    Outbox box;
    for (const char* text : {"a", "c"})
        box.push(make_text(text), 100);
    ASSERT_TRUE(box.insert(2, make_text("b")));
    EXPECT_EQ(box.last(), 3u);
    EXPECT_EQ(box.bytes(), 3u);
    EXPECT_EQ(texts(box.after(0)), (std::vector<std::string>{"a", "b", "c"}));
    ASSERT_TRUE(box.insert(4, make_text("d"))); // just after the last: an append
    box.push(make_text("e"), 100);
    EXPECT_EQ(texts(box.after(3)), (std::vector<std::string>{"d", "e"}));
}

TEST(Outbox, InsertRefusesAPlaceNotHeldOrPastTheEnd)
{
    Outbox box;
    for (const char* text : {"a", "b", "c"})
        box.push(make_text(text), 100);
    box.acknowledge(2);
    EXPECT_FALSE(box.insert(0, make_text("x")));
    EXPECT_FALSE(box.insert(2, make_text("x"))); // message 2 is let go: its place is unknown
    EXPECT_FALSE(box.insert(5, make_text("x")));
    EXPECT_EQ(box.last(), 3u);
    EXPECT_TRUE(box.insert(3, make_text("x")));
    EXPECT_EQ(texts(box.after(2)), (std::vector<std::string>{"x", "c"}));
}

} // namespace outbox_test
} // namespace signald
