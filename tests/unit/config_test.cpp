#include "signald/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace signald {
namespace config_test {

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
    void TearDown() override
    {
        ::unsetenv("PORT");
        for (const auto& path : files_)
            std::filesystem::remove(path);
    }

    // A scratch file holding content, removed after the test.
    std::string file_with(const std::string& content)
    {
        const auto path = std::filesystem::temp_directory_path() /
                          ("signald-config-test-" + std::to_string(::getpid()) + "-" +
                           std::to_string(files_.size()));
        std::ofstream(path, std::ios::binary) << content;
        files_.push_back(path);
        return path.string();
    }

    // What parse printed: its exit code (or -1 for a Config) and everything on stdout and stderr.
    struct Printed
    {
        int exit_code = -1;
        std::string text;
    };
    Printed parse_printing(std::vector<const char*> args)
    {
        testing::internal::CaptureStdout();
        testing::internal::CaptureStderr();
        const auto parsed = parse(std::move(args));
        Printed printed;
        printed.text = testing::internal::GetCapturedStdout();
        printed.text += testing::internal::GetCapturedStderr();
        if (const int* code = std::get_if<int>(&parsed))
            printed.exit_code = *code;
        return printed;
    }

    std::vector<std::filesystem::path> files_;
};

bool is_client_id_alphabet(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

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
    EXPECT_FALSE(config.server.reuse_port);
    EXPECT_FALSE(config.server.cluster.redis.has_value());
    EXPECT_EQ(config.server.cluster.node_timeout, std::chrono::seconds(10));
}

TEST_F(ConfigTest, NodeIdDefaultsToTenRandomClientIdCharacters)
{
    const auto first = std::get<Config>(parse({})).server.cluster.node_id;
    const auto second = std::get<Config>(parse({})).server.cluster.node_id;
    EXPECT_EQ(first.size(), 10u);
    EXPECT_TRUE(std::all_of(first.begin(), first.end(), is_client_id_alphabet)) << first;
    EXPECT_TRUE(std::all_of(second.begin(), second.end(), is_client_id_alphabet)) << second;
    EXPECT_NE(first, second); // 36^10 ids: equal only if the random source is broken
}

TEST_F(ConfigTest, CommandLineSetsTheClusterOptions)
{
    const auto parsed = parse({"--reuse-port", "--redis", "redis://:pw@10.0.0.5:6380/2",
                               "--node-id", "node-A.1_b", "--node-timeout", "30"});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& server = std::get<Config>(parsed).server;
    EXPECT_TRUE(server.reuse_port);
    ASSERT_TRUE(server.cluster.redis.has_value());
    EXPECT_EQ(server.cluster.redis->host, "10.0.0.5");
    EXPECT_EQ(server.cluster.redis->port, 6380);
    EXPECT_EQ(server.cluster.redis->db, 2u);
    EXPECT_EQ(server.cluster.redis->password, "pw");
    EXPECT_EQ(server.cluster.node_id, "node-A.1_b");
    EXPECT_EQ(server.cluster.node_timeout, std::chrono::seconds(30));
}

TEST_F(ConfigTest, NodeIdAndTimeoutWithoutRedisAreAcceptedAndHarmless)
{
    const auto parsed = parse({"--node-id", "n1", "--node-timeout", "5"});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& cluster = std::get<Config>(parsed).server.cluster;
    EXPECT_FALSE(cluster.redis.has_value());
    EXPECT_EQ(cluster.node_id, "n1");
    EXPECT_EQ(cluster.node_timeout, std::chrono::seconds(5));
}

TEST_F(ConfigTest, NodeIdIsOneTo64SafeCharacters)
{
    const std::string longest(64, 'x');
    EXPECT_EQ(std::get<Config>(parse({"--node-id", longest.c_str()})).server.cluster.node_id,
              longest);
    EXPECT_EQ(std::get<Config>(parse({"--node-id", "a"})).server.cluster.node_id, "a");
    EXPECT_EQ(std::get<Config>(parse({"--node-id", "Az09._-"})).server.cluster.node_id, "Az09._-");
    const std::string too_long(65, 'x');
    for (const char* bad : {"", too_long.c_str(), "a b", "a/b", "a:b", "a*", "n\xC3\xA9", "{x}"}) {
        SCOPED_TRACE(bad);
        const auto printed = parse_printing({"--node-id", bad});
        EXPECT_EQ(printed.exit_code, 2);
        EXPECT_NE(printed.text.find("--node-id"), std::string::npos) << printed.text;
    }
}

TEST_F(ConfigTest, NodeTimeoutIsWholeSecondsFrom2To3600)
{
    EXPECT_EQ(std::get<Config>(parse({"--node-timeout", "2"})).server.cluster.node_timeout,
              std::chrono::seconds(2));
    EXPECT_EQ(std::get<Config>(parse({"--node-timeout", "3600"})).server.cluster.node_timeout,
              std::chrono::seconds(3600));
    for (const char* bad : {"0", "1", "3601", "-5", "2.5", "ten", ""}) {
        SCOPED_TRACE(bad);
        const auto printed = parse_printing({"--node-timeout", bad});
        EXPECT_EQ(printed.exit_code, 2);
        EXPECT_NE(printed.text.find("--node-timeout"), std::string::npos) << printed.text;
    }
}

TEST_F(ConfigTest, RedisUrlIsParsedIntoTheEndpoint)
{
    const auto tcp = std::get<Config>(parse({"--redis", "redis://[::1]"})).server.cluster.redis;
    ASSERT_TRUE(tcp.has_value());
    EXPECT_EQ(tcp->host, "::1");
    EXPECT_EQ(tcp->port, 6379);
    EXPECT_EQ(tcp->password, "");
    const auto unix_socket =
        std::get<Config>(parse({"--redis", "unix:///run/redis.sock?db=1"})).server.cluster.redis;
    ASSERT_TRUE(unix_socket.has_value());
    EXPECT_EQ(unix_socket->unix_path, "/run/redis.sock");
    EXPECT_EQ(unix_socket->db, 1u);
}

TEST_F(ConfigTest, BadRedisUrlFailsWithItsReasonAndWithoutThePassword)
{
    for (const char* bad : {"redis://:hunter2@h:0", "rediss://:hunter2@h", "redis://x:hunter2@h",
                            "redis://:hunter2/x@h", "redis://:hunter2@", "", "hunter2"}) {
        SCOPED_TRACE(bad);
        const auto printed = parse_printing({"--redis", bad});
        EXPECT_EQ(printed.exit_code, 2);
        EXPECT_NE(printed.text.find("--redis"), std::string::npos) << printed.text;
        EXPECT_EQ(printed.text.find("hunter2"), std::string::npos) << printed.text;
        EXPECT_EQ(std::count(printed.text.begin(), printed.text.end(), '\n'), 1) << printed.text;
    }
    const auto tls = parse_printing({"--redis", "rediss://:hunter2@h"});
    EXPECT_NE(tls.text.find("TLS to Redis is not supported"), std::string::npos) << tls.text;
}

TEST_F(ConfigTest, RedisPasswordFileGivesThePassword)
{
    const auto file = file_with("hunter2\r\nsecond line ignored\n");
    const auto parsed = parse({"--redis", "redis://h:6379", "--redis-password-file", file.c_str()});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& redis = std::get<Config>(parsed).server.cluster.redis;
    ASSERT_TRUE(redis.has_value());
    EXPECT_EQ(redis->password, "hunter2");
    EXPECT_EQ(redis->redacted(), "redis://:***@h:6379");
    // A Unix socket URL has no room for a password: the file is where it goes.
    const auto unix_socket =
        parse({"--redis", "unix:///run/redis.sock", "--redis-password-file", file.c_str()});
    EXPECT_EQ(std::get<Config>(unix_socket).server.cluster.redis->password, "hunter2");
}

TEST_F(ConfigTest, RedisPasswordInTheUrlAndInAFileIsRefused)
{
    const auto file = file_with("hunter3\n");
    const auto printed =
        parse_printing({"--redis", "redis://:hunter2@h", "--redis-password-file", file.c_str()});
    EXPECT_EQ(printed.exit_code, 2);
    EXPECT_NE(printed.text.find("one place only"), std::string::npos) << printed.text;
    EXPECT_EQ(printed.text.find("hunter2"), std::string::npos) << printed.text;
    EXPECT_EQ(printed.text.find("hunter3"), std::string::npos) << printed.text;
}

TEST_F(ConfigTest, RedisPasswordFileThatIsEmptyOrMissingIsRefused)
{
    for (const std::string& content :
         {std::string{}, std::string{"\n"}, std::string{"\r\n"}, std::string{"\nhunter2\n"}}) {
        SCOPED_TRACE(content.size());
        const auto file = file_with(content);
        const auto printed =
            parse_printing({"--redis", "redis://h", "--redis-password-file", file.c_str()});
        EXPECT_EQ(printed.exit_code, 2);
        EXPECT_NE(printed.text.find("first line is empty"), std::string::npos) << printed.text;
        EXPECT_EQ(printed.text.find("hunter2"), std::string::npos) << printed.text;
    }
    const auto missing = parse_printing(
        {"--redis", "redis://h", "--redis-password-file", "/nonexistent/redis-password"});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.text.find("cannot open"), std::string::npos) << missing.text;
}

TEST_F(ConfigTest, RedisPasswordFileWithoutRedisIsRefused)
{
    const auto file = file_with("hunter2\n");
    const auto printed = parse_printing({"--redis-password-file", file.c_str()});
    EXPECT_EQ(printed.exit_code, 2);
    EXPECT_NE(printed.text.find("--redis"), std::string::npos) << printed.text;
}

TEST_F(ConfigTest, RedisPasswordIsNeverPrintedByHelpOrUsageErrors)
{
    for (const auto& args : std::vector<std::vector<const char*>>{
             {"--redis", "redis://:hunter2@h", "--help"},
             {"--redis", "redis://:hunter2@h", "--bogus"},
             {"--redis", "redis://:hunter2@h", "--port", "abc"},
             {"--redis", "redis://:hunter2@h", "--redis", "redis://:hunter2@h"},
             {"--redis", "redis://:hunter2@h", "--node-id", "bad id"}}) {
        SCOPED_TRACE(args.back());
        const auto printed = parse_printing(args);
        EXPECT_NE(printed.exit_code, -1);
        EXPECT_EQ(printed.text.find("hunter2"), std::string::npos) << printed.text;
    }
}

TEST_F(ConfigTest, ConfigFileSetsTheClusterOptions)
{
    const auto password = file_with("hunter2\n");
    const auto config = file_with("reuse-port = true\nredis = unix:///run/redis.sock?db=3\n"
                                  "redis-password-file = " +
                                  password + "\nnode-id = from-file\nnode-timeout = 20\n");
    const auto parsed = parse({"--config", config.c_str()});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    const auto& server = std::get<Config>(parsed).server;
    EXPECT_TRUE(server.reuse_port);
    ASSERT_TRUE(server.cluster.redis.has_value());
    EXPECT_EQ(server.cluster.redis->unix_path, "/run/redis.sock");
    EXPECT_EQ(server.cluster.redis->db, 3u);
    EXPECT_EQ(server.cluster.redis->password, "hunter2");
    EXPECT_EQ(server.cluster.node_id, "from-file");
    EXPECT_EQ(server.cluster.node_timeout, std::chrono::seconds(20));
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

TEST_F(ConfigTest, AllowedHostIsRepeatableAndEmptyByDefault)
{
    EXPECT_TRUE(std::get<Config>(parse({})).server.allowed_hosts.empty());
    const auto parsed = parse({"--allowed-host", "call.example.org", "--allowed-host",
                               "*.rooms.example.org", "--allowed-host", "192.0.2.7"});
    ASSERT_TRUE(std::holds_alternative<Config>(parsed));
    EXPECT_EQ(std::get<Config>(parsed).server.allowed_hosts,
              (std::vector<std::string>{"call.example.org", "*.rooms.example.org", "192.0.2.7"}));
}

TEST_F(ConfigTest, AnAllowedHostWithAPortIsAUsageErrorThatSaysSo)
{
    const auto printed = parse_printing({"--allowed-host", "call.example.org:443"});
    EXPECT_EQ(printed.exit_code, 2);
    EXPECT_NE(printed.text.find("\"call.example.org:443\" has a port"), std::string::npos)
        << printed.text;
    EXPECT_EQ(parse_printing({"--allowed-host", "https://call.example.org"}).exit_code, 2);
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
    EXPECT_FALSE(config.server.reuse_port);
    EXPECT_FALSE(config.server.cluster.redis.has_value());
    EXPECT_EQ(config.server.cluster.node_id.size(), 10u);
    EXPECT_EQ(config.server.cluster.node_timeout, std::chrono::seconds(10));
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
    const std::string help = testing::internal::GetCapturedStdout();
    for (const char* option : {"--max-room-size", "--reuse-port", "--redis",
                               "--redis-password-file", "--node-id", "--node-timeout"})
        EXPECT_NE(help.find(option), std::string::npos) << option;
    EXPECT_NE(help.find("harmless without --redis"), std::string::npos);
}

} // namespace config_test
} // namespace signald
