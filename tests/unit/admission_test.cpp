// Admission: a token counts one live session in total and for its address, and every way a token
// can end (destruction, being moved from or assigned over) gives exactly that place back.

#include "signald/net/admission.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace signald {
namespace {

std::size_t from(const ConnectionCounts& counts, const std::string& address)
{
    const auto entry = counts.per_address.find(address);
    return entry == counts.per_address.end() ? 0 : entry->second;
}

TEST(Admission, ATokenCountsOneSessionInTotalAndForItsAddress)
{
    auto counts = std::make_shared<ConnectionCounts>();
    Admission token(counts, "192.0.2.1");
    EXPECT_EQ(counts->total, 1u);
    EXPECT_EQ(from(*counts, "192.0.2.1"), 1u);
    EXPECT_EQ(counts->per_address.size(), 1u);
}

TEST(Admission, AddressesAreCountedApart)
{
    auto counts = std::make_shared<ConnectionCounts>();
    Admission first(counts, "192.0.2.1");
    Admission second(counts, "192.0.2.1");
    Admission third(counts, "::1");
    EXPECT_EQ(counts->total, 3u);
    EXPECT_EQ(from(*counts, "192.0.2.1"), 2u);
    EXPECT_EQ(from(*counts, "::1"), 1u);
}

TEST(Admission, DestroyingATokenGivesItsPlaceBackAndForgetsAnAddressAtZero)
{
    auto counts = std::make_shared<ConnectionCounts>();
    {
        Admission first(counts, "192.0.2.1");
        {
            Admission second(counts, "192.0.2.1");
            Admission other(counts, "192.0.2.9");
        }
        EXPECT_EQ(counts->total, 1u);
        EXPECT_EQ(from(*counts, "192.0.2.1"), 1u);
        EXPECT_FALSE(counts->per_address.contains("192.0.2.9"));
    }
    EXPECT_EQ(counts->total, 0u);
    EXPECT_TRUE(counts->per_address.empty());
}

TEST(Admission, ADefaultTokenHoldsNothing)
{
    Admission empty;
    Admission moved_into = std::move(empty);
    (void)moved_into;
}

TEST(Admission, MovingATokenMovesItsPlaceWithoutCountingTwice)
{
    auto counts = std::make_shared<ConnectionCounts>();
    std::optional<Admission> target;
    {
        Admission source(counts, "192.0.2.1");
        target.emplace(std::move(source));
        EXPECT_EQ(counts->total, 1u);
    } // the moved-from source gives nothing back
    EXPECT_EQ(counts->total, 1u);
    EXPECT_EQ(from(*counts, "192.0.2.1"), 1u);
    target.reset();
    EXPECT_EQ(counts->total, 0u);
    EXPECT_TRUE(counts->per_address.empty());
}

TEST(Admission, MoveAssignmentGivesBackTheTargetsOldPlace)
{
    auto counts = std::make_shared<ConnectionCounts>();
    Admission target(counts, "192.0.2.1");
    {
        Admission source(counts, "192.0.2.2");
        EXPECT_EQ(counts->total, 2u);
        target = std::move(source);
        EXPECT_EQ(counts->total, 1u);
        EXPECT_EQ(from(*counts, "192.0.2.1"), 0u);
        EXPECT_EQ(from(*counts, "192.0.2.2"), 1u);
    }
    EXPECT_EQ(counts->total, 1u); // target now holds 192.0.2.2's place
    target = Admission();
    EXPECT_EQ(counts->total, 0u);
    EXPECT_TRUE(counts->per_address.empty());
}

TEST(Admission, MoveAssigningATokenToItselfKeepsItsPlace)
{
    auto counts = std::make_shared<ConnectionCounts>();
    Admission token(counts, "192.0.2.1");
    Admission& same = token;
    token = std::move(same);
    EXPECT_EQ(counts->total, 1u);
    EXPECT_EQ(from(*counts, "192.0.2.1"), 1u);
}

TEST(Admission, TokensMovedAroundAGrowingVectorCountExactly)
{
    auto counts = std::make_shared<ConnectionCounts>();
    std::vector<Admission> tokens;
    for (int i = 0; i < 100; ++i)
        tokens.emplace_back(counts, i % 2 == 0 ? "192.0.2.1" : "192.0.2.2");
    EXPECT_EQ(counts->total, 100u);
    EXPECT_EQ(from(*counts, "192.0.2.1"), 50u);
    EXPECT_EQ(from(*counts, "192.0.2.2"), 50u);
    tokens.erase(tokens.begin(), tokens.begin() + 10);
    EXPECT_EQ(counts->total, 90u);
    tokens.clear();
    EXPECT_EQ(counts->total, 0u);
    EXPECT_TRUE(counts->per_address.empty());
}

TEST(Admission, ATokenOutlivingTheServersHandleOnTheCountsIsSafe)
{
    auto counts = std::make_shared<ConnectionCounts>();
    std::weak_ptr<ConnectionCounts> watch = counts;
    auto token = std::make_unique<Admission>(counts, "192.0.2.1");
    counts.reset(); // the Server is gone; a handler still holds the token
    EXPECT_FALSE(watch.expired());
    token.reset(); // gives its place back into counts it alone kept alive
    EXPECT_TRUE(watch.expired());
}

} // namespace
} // namespace signald
