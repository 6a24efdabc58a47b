// --turn-check-interval and `signald check`: the subcommand reads every option of the server,
// from the command line and from --config, exactly as the server would.

#include "signald/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace signald {
namespace turn_check_config_test {

std::variant<Config, int> parse(std::vector<const char*> args)
{
    ::unsetenv("PORT");
    args.insert(args.begin(), "signald");
    return parse_config(static_cast<int>(args.size()), args.data());
}

TEST(TurnCheckConfig, IntervalDefaultsTo300SecondsAndZeroTurnsItOff)
{
    const auto defaults = parse({});
    ASSERT_TRUE(std::holds_alternative<Config>(defaults));
    EXPECT_EQ(std::get<Config>(defaults).turn_check_interval, std::chrono::seconds(300));
    EXPECT_FALSE(std::get<Config>(defaults).check_only);
    const auto off = parse({"--turn-check-interval", "0"});
    ASSERT_TRUE(std::holds_alternative<Config>(off));
    EXPECT_EQ(std::get<Config>(off).turn_check_interval, std::chrono::seconds(0));
}

TEST(TurnCheckConfig, ANegativeOrHugeIntervalIsAConfigError)
{
    testing::internal::CaptureStderr();
    const auto negative = parse({"--turn-check-interval", "-1"});
    const auto huge = parse({"--turn-check-interval", "86401"});
    const std::string printed = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(std::holds_alternative<int>(negative));
    EXPECT_EQ(std::get<int>(negative), 2);
    ASSERT_TRUE(std::holds_alternative<int>(huge));
    EXPECT_NE(printed.find("--turn-check-interval"), std::string::npos) << printed;
}

TEST(TurnCheckConfig, CheckTakesTheServersOptionsOnTheCommandLineAndFromTheConfigFile)
{
    const auto path = std::filesystem::temp_directory_path() /
                      ("signald-turn-check-config-" + std::to_string(::getpid()) + ".ini");
    std::ofstream(path) << "ice-server = turn:127.0.0.1:3478\nturn-ttl = 600\n";
    const std::string config_path = path.string();
    const auto parsed = parse({"check", "--config", config_path.c_str(), "--turn-secret", "s"});
    std::filesystem::remove(path);
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const Config& config = std::get<Config>(parsed);
    EXPECT_TRUE(config.check_only);
    EXPECT_EQ(config.ice.urls, std::vector<std::string>{"turn:127.0.0.1:3478"});
    EXPECT_EQ(config.ice.turn_secret, "s");
    EXPECT_EQ(config.ice.turn_ttl, std::chrono::seconds(600));
}

TEST(TurnCheckConfig, CheckReportsABadConfigurationAsTheServerWould)
{
    testing::internal::CaptureStderr();
    const auto parsed = parse({"check", "--ice-server", "turn:bad url"});
    const std::string printed = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(std::holds_alternative<int>(parsed));
    EXPECT_EQ(std::get<int>(parsed), 2);
    EXPECT_NE(printed.find("--ice-server"), std::string::npos) << printed;
}

} // namespace turn_check_config_test
} // namespace signald
