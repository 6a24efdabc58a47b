// signald token / invite: the --ttl forms the command takes (docs/protocol.md 7.3): seconds, or a
// number with s, m, h or d; anything else, zero included, is refused.

#include "signald/token_command.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace signald {
namespace token_command_test {

TEST(TokenCommand, TtlTakesSecondsOrANumberWithItsUnit)
{
    EXPECT_EQ(parse_ttl("90"), 90);
    EXPECT_EQ(parse_ttl("90s"), 90);
    EXPECT_EQ(parse_ttl("15m"), 15 * 60);
    EXPECT_EQ(parse_ttl("2h"), 2 * 3600);
    EXPECT_EQ(parse_ttl("7d"), 7 * 86400);
    EXPECT_EQ(parse_ttl(TokenCommand{}.ttl), 3600) << "the default is one hour";
}

TEST(TokenCommand, TtlRefusesEverythingElse)
{
    for (const char* bad :
         {"", "0", "0h", "-5", "1w", "h", "1.5h", "1 h", "1H", "9999999999", " 60", "60 ", "1hh"})
        EXPECT_EQ(parse_ttl(bad), std::nullopt) << '"' << bad << '"';
}

} // namespace token_command_test
} // namespace signald
