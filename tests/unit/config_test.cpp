#include "signald/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace signald {
namespace {

std::variant<Config, int> parse(std::vector<const char*> args)
{
    args.insert(args.begin(), "signald");
    return parse_config(static_cast<int>(args.size()), args.data());
}

// PORT must not leak in from the environment running the tests.
class ConfigTest : public ::testing::Test
{
protected:
    void SetUp() override { ::unsetenv("PORT"); }
    void TearDown() override { ::unsetenv("PORT"); }
};

TEST_F(ConfigTest, DefaultsMatchTheDocumentation)
{
    const auto parsed = parse({});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& config = std::get<Config>(parsed);
    EXPECT_EQ(config.server.port, 8787);
    EXPECT_EQ(config.server.bind, "127.0.0.1");
    EXPECT_EQ(config.server.max_message_bytes, 262144u);
    EXPECT_EQ(config.server.max_room_size, 32u);
    EXPECT_EQ(config.log_level, "info");
    EXPECT_EQ(config.log_format, "text");
}

TEST_F(ConfigTest, CommandLineSetsEveryOption)
{
    const auto parsed =
        parse({"--port", "0", "--bind", "::1", "--web-root", "/tmp", "--max-message-bytes", "1024",
               "--max-room-size", "4", "--log-level", "debug", "--log-format", "json"});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& config = std::get<Config>(parsed);
    EXPECT_EQ(config.server.port, 0);
    EXPECT_EQ(config.server.bind, "::1");
    EXPECT_EQ(config.server.web_root, "/tmp");
    EXPECT_EQ(config.server.max_message_bytes, 1024u);
    EXPECT_EQ(config.server.max_room_size, 4u);
    EXPECT_EQ(config.log_level, "debug");
    EXPECT_EQ(config.log_format, "json");
}

TEST_F(ConfigTest, PortEnvironmentSeedsThePortAndTheCommandLineWins)
{
    ::setenv("PORT", "9999", 1);
    EXPECT_EQ(std::get<Config>(parse({})).server.port, 9999);
    EXPECT_EQ(std::get<Config>(parse({"--port", "1234"})).server.port, 1234);
}

TEST_F(ConfigTest, ConfigFileSetsOptionsAndTheCommandLineWins)
{
    const auto path = std::filesystem::temp_directory_path() /
                      ("signald-config-" + std::to_string(::getpid()) + ".ini");
    std::ofstream(path) << "port = 4321\nmax-room-size = 7\nlog-level = warn\nlog-format = json\n";
    const auto from_file = std::get<Config>(parse({"--config", path.c_str()}));
    EXPECT_EQ(from_file.server.port, 4321);
    EXPECT_EQ(from_file.server.max_room_size, 7u);
    EXPECT_EQ(from_file.log_level, "warn");
    EXPECT_EQ(from_file.log_format, "json");
    const auto overridden = std::get<Config>(parse({"--config", path.c_str(), "--port", "1"}));
    EXPECT_EQ(overridden.server.port, 1);
    std::filesystem::remove(path);
}

TEST_F(ConfigTest, ShippedExampleConfigParsesToTheDefaults)
{
    const auto parsed = parse({"--config", SIGNALD_SOURCE_DIR "/config/signald.ini"});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& config = std::get<Config>(parsed);
    EXPECT_EQ(config.server.port, 8787);
    EXPECT_EQ(config.server.max_message_bytes, 262144u);
    EXPECT_EQ(config.server.max_room_size, 32u);
    EXPECT_EQ(config.log_format, "text");
}

TEST_F(ConfigTest, BadValuesAreUsageErrors)
{
    for (const auto& args :
         std::vector<std::vector<const char*>>{{"--port", "abc"},
                                               {"--port", "70000"},
                                               {"--bogus"},
                                               {"--max-room-size", "0"},
                                               {"--max-message-bytes", "1"},
                                               {"--log-level", "loud"},
                                               {"--log-format", "xml"},
                                               {"--config", "/nonexistent/signald.ini"}}) {
        const auto parsed = parse(args);
        ASSERT_TRUE(std::holds_alternative<int>(parsed)) << args[0];
        EXPECT_EQ(std::get<int>(parsed), 2) << args[0];
    }
}

TEST_F(ConfigTest, HelpAndVersionExitZero)
{
    testing::internal::CaptureStdout();
    EXPECT_EQ(std::get<int>(parse({"--version"})), 0);
    EXPECT_NE(testing::internal::GetCapturedStdout().find("signald 0."), std::string::npos);
    testing::internal::CaptureStdout();
    EXPECT_EQ(std::get<int>(parse({"--help"})), 0);
    EXPECT_NE(testing::internal::GetCapturedStdout().find("--max-room-size"), std::string::npos);
}

} // namespace
} // namespace signald
