// Admission: a token counts one live session in total and for its address, and every way a token
// can end (destruction, being moved from or assigned over) gives exactly that place back.
// AdmissionPolicy: each refusal (and its status) for exactly the situation that calls for it, and
// the order the checks run in when several apply.

#include "signald/net/admission.hpp"
#include "signald/net/admission_policy.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace signald {
namespace admission_test {

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

// ---- AdmissionPolicy ----

const AdmissionLimits small_limits{3, 2};

AdmissionPolicy policy(std::vector<std::string> allowed_origins = {})
{
    return AdmissionPolicy(OriginPolicy(std::move(allowed_origins)), small_limits);
}

void expect_refusal(const std::optional<Refusal>& refusal, unsigned status,
                    const std::string& reason)
{
    ASSERT_TRUE(refusal.has_value()) << "admitted; expected " << reason;
    EXPECT_EQ(refusal->status, status);
    EXPECT_EQ(refusal->reason, reason);
}

TEST(AdmissionPolicy, AdmitsASameOriginRequestUnderBothCaps)
{
    ConnectionCounts counts;
    counts.total = 2;
    counts.per_address["192.0.2.1"] = 1;
    EXPECT_FALSE(policy().decide({"http://example.org:8787", "example.org:8787", "192.0.2.1"},
                                 counts, false));
}

TEST(AdmissionPolicy, AdmitsARequestWithoutOriginFromAnyPage)
{
    // Non-browser clients send no Origin; the origin check is not their business.
    EXPECT_FALSE(policy().decide({"", "example.org", "192.0.2.1"}, ConnectionCounts{}, false));
}

TEST(AdmissionPolicy, AdmitsAnOriginThatIsAllowedExplicitly)
{
    EXPECT_FALSE(policy({"https://app.example.net"})
                     .decide({"https://app.example.net", "signal.example.org", "192.0.2.1"},
                             ConnectionCounts{}, false));
}

TEST(AdmissionPolicy, RefusesEverythingWith503WhileShuttingDown)
{
    expect_refusal(policy().decide({"", "example.org", "192.0.2.1"}, ConnectionCounts{}, true), 503,
                   "shutting-down");
}

TEST(AdmissionPolicy, RefusesAForeignOriginWith403)
{
    expect_refusal(policy().decide({"https://evil.example", "example.org", "192.0.2.1"},
                                   ConnectionCounts{}, false),
                   403, "origin");
}

TEST(AdmissionPolicy, RefusesWith503WhenTheServerIsFull)
{
    ConnectionCounts counts;
    counts.total = small_limits.max_connections;
    counts.per_address["192.0.2.9"] = counts.total;
    expect_refusal(policy().decide({"", "example.org", "192.0.2.1"}, counts, false), 503,
                   "max-connections");
}

TEST(AdmissionPolicy, RefusesWith429WhenTheAddressHasItsShare)
{
    ConnectionCounts counts;
    counts.total = small_limits.max_connections_per_ip;
    counts.per_address["192.0.2.1"] = small_limits.max_connections_per_ip;
    expect_refusal(policy().decide({"", "example.org", "192.0.2.1"}, counts, false), 429,
                   "max-connections-per-ip");
    // Another address is still welcome.
    EXPECT_FALSE(policy().decide({"", "example.org", "192.0.2.2"}, counts, false));
}

TEST(AdmissionPolicy, ChecksShutdownThenOriginThenTotalThenPerAddress)
{
    ConnectionCounts full;
    full.total = small_limits.max_connections;
    full.per_address["192.0.2.1"] = small_limits.max_connections_per_ip;
    const UpgradeRequest foreign{"https://evil.example", "example.org", "192.0.2.1"};
    const UpgradeRequest plain{"", "example.org", "192.0.2.1"};
    expect_refusal(policy().decide(foreign, full, true), 503, "shutting-down");
    expect_refusal(policy().decide(foreign, full, false), 403, "origin");
    expect_refusal(policy().decide(plain, full, false), 503, "max-connections");
}

} // namespace admission_test
} // namespace signald
