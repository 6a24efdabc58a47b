#include "signald/core/ids.hpp"

#include "fixed_ids.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string_view>
#include <unordered_set>

namespace signald {
namespace ids_test {

constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";

TEST(RandomIds, IdsAreTenCharactersOfDigitsAndLowercaseLetters)
{
    RandomIds ids;
    for (int i = 0; i < 1000; ++i) {
        const ClientId id = ids.next();
        ASSERT_EQ(id.size(), client_id_chars);
        EXPECT_EQ(id.find_first_not_of(alphabet), ClientId::npos) << id;
    }
}

TEST(RandomIds, TenThousandDrawsAreDistinctAndUseEveryCharacterEvenly)
{
    RandomIds ids;
    constexpr int draws = 10'000;
    std::unordered_set<ClientId> seen;
    std::array<int, 36> counts{};
    for (int i = 0; i < draws; ++i) {
        const ClientId id = ids.next();
        seen.insert(id);
        for (char c : id)
            ++counts[alphabet.find(c)];
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(draws));

    // 100,000 characters: 2777.8 of each expected, standard deviation about 52. Six deviations
    // either way never fails by chance, yet a plain `byte % 36` (no rejection sampling) would
    // overweight '0'..'3' by 12.5% (about 347 each) and very likely push one past the bound.
    const double expected = draws * static_cast<double>(client_id_chars) / 36.0;
    const double bound = 6.0 * std::sqrt(expected * (35.0 / 36.0));
    for (std::size_t i = 0; i < counts.size(); ++i) {
        EXPECT_GT(counts[i], 0) << alphabet[i];
        EXPECT_LT(std::abs(counts[i] - expected), bound) << alphabet[i] << ": " << counts[i];
    }
}

TEST(FixedIds, HandsOutScriptedIdsThenNumberedOnes)
{
    test::FixedIds ids({"zzzzzzzzzz", "zzzzzzzzzz"});
    EXPECT_EQ(ids.next(), "zzzzzzzzzz");
    EXPECT_EQ(ids.next(), "zzzzzzzzzz");
    EXPECT_EQ(ids.next(), "aaaaaaaaa1");
    EXPECT_EQ(ids.next(), "aaaaaaaaa2");
    EXPECT_EQ(ids.draws(), 4u);
    EXPECT_EQ(test::FixedIds::numbered(10), "aaaaaaaa10");
    EXPECT_EQ(test::FixedIds::numbered(123), "aaaaaaa123");
}

} // namespace ids_test
} // namespace signald
