// The ICE and TURN options: --ice-server, --turn-secret, --turn-secret-file and --turn-ttl on the
// command line and in a config file, and the one-line usage errors for bad values.

#include "signald/config.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace signald {
namespace ice_config_test {

using namespace std::chrono_literals;

std::variant<Config, int> parse(std::vector<const char*> args)
{
    args.insert(args.begin(), "signald");
    return parse_config(static_cast<int>(args.size()), args.data());
}

// The exit code and what went to stderr, for a command line that must be refused.
std::pair<int, std::string> refused(std::vector<const char*> args)
{
    testing::internal::CaptureStderr();
    const auto parsed = parse(std::move(args));
    std::string err = testing::internal::GetCapturedStderr();
    return {std::holds_alternative<int>(parsed) ? std::get<int>(parsed) : 0, err};
}

class IceConfig : public ::testing::Test
{
protected:
    IceConfig() { std::filesystem::create_directories(dir_); }
    ~IceConfig() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& content)
    {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path.string();
    }

    std::filesystem::path dir_ = std::filesystem::temp_directory_path() /
                                 ("signald-ice-config-" + std::to_string(::getpid()));
};

TEST_F(IceConfig, DefaultsAreNoServersNoSecretAndAnHourOfTtl)
{
    const auto config = std::get<Config>(parse({}));
    EXPECT_TRUE(config.ice.urls.empty());
    EXPECT_TRUE(config.ice.turn_secret.empty());
    EXPECT_EQ(config.ice.turn_ttl, 3600s);
}

TEST_F(IceConfig, ShippedExampleConfigKeepsTheseDefaults)
{
    const auto config =
        std::get<Config>(parse({"--config", SIGNALD_SOURCE_DIR "/config/signald.ini"}));
    EXPECT_TRUE(config.ice.urls.empty());
    EXPECT_TRUE(config.ice.turn_secret.empty());
    EXPECT_EQ(config.ice.turn_ttl, 3600s);
}

TEST_F(IceConfig, CommandLineSetsServersInOrderSecretAndTtl)
{
    const auto config = std::get<Config>(
        parse({"--ice-server", "stun:s:3478", "--ice-server", "turn:t?transport=udp",
               "--ice-server", "turns:t:5349", "--turn-secret", "s3cr3t", "--turn-ttl", "60"}));
    EXPECT_EQ(config.ice.urls,
              (std::vector<std::string>{"stun:s:3478", "turn:t?transport=udp", "turns:t:5349"}));
    EXPECT_EQ(config.ice.turn_secret, "s3cr3t");
    EXPECT_EQ(config.ice.turn_ttl, 60s);
}

TEST_F(IceConfig, ConfigFileTakesRepeatedIceServerKeys)
{
    const auto path = write("signald.ini", "ice-server = stun:s\nice-server = turn:t:3478\n"
                                           "turn-secret = from-file\nturn-ttl = 7200\n");
    const auto config = std::get<Config>(parse({"--config", path.c_str()}));
    EXPECT_EQ(config.ice.urls, (std::vector<std::string>{"stun:s", "turn:t:3478"}));
    EXPECT_EQ(config.ice.turn_secret, "from-file");
    EXPECT_EQ(config.ice.turn_ttl, 7200s);
}

TEST_F(IceConfig, SecretFileGivesItsFirstLineWithoutTheLineEnding)
{
    for (const char* content : {"s3cr3t", "s3cr3t\n", "s3cr3t\r\n", "s3cr3t\nsecond line\n"}) {
        const auto path = write("secret", content);
        const auto config = std::get<Config>(parse({"--turn-secret-file", path.c_str()}));
        EXPECT_EQ(config.ice.turn_secret, "s3cr3t") << content;
    }
    // Byte for byte, unlike a value in the config file, which ends at '#' and may not hold ','
    // or spaces.
    const auto path = write("secret", " spaces, #hash; stay \n");
    EXPECT_EQ(std::get<Config>(parse({"--turn-secret-file", path.c_str()})).ice.turn_secret,
              " spaces, #hash; stay ");
}

TEST_F(IceConfig, SecretFileIsAConfigKeyToo)
{
    const auto secret = write("secret", "s3cr3t\n");
    const auto ini = write("signald.ini", "turn-secret-file = " + secret + "\n");
    EXPECT_EQ(std::get<Config>(parse({"--config", ini.c_str()})).ice.turn_secret, "s3cr3t");
}

TEST_F(IceConfig, BadIceServerUrlIsAOneLineUsageErrorNamingIt)
{
    const auto [code, err] = refused({"--ice-server", "stun:s", "--ice-server", "http://t"});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find("--ice-server"), std::string::npos) << err;
    EXPECT_NE(err.find("\"http://t\" must start with stun:, turn: or turns:"), std::string::npos)
        << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(IceConfig, MissingOrEmptySecretFileIsAUsageErrorWithoutTheSecret)
{
    const auto missing = (dir_ / "absent").string();
    auto [code, err] = refused({"--turn-secret-file", missing.c_str()});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find(missing + ": cannot open it"), std::string::npos) << err;

    const auto empty = write("empty", "\nsecret-on-line-two\n");
    std::tie(code, err) = refused({"--turn-secret-file", empty.c_str()});
    EXPECT_EQ(code, 2);
    EXPECT_NE(err.find("its first line is empty"), std::string::npos) << err;
    EXPECT_EQ(err.find("secret-on-line-two"), std::string::npos) << err;
}

TEST_F(IceConfig, BadSecretAndTtlValuesAreUsageErrors)
{
    const auto secret = write("secret", "s3cr3t\n");
    for (const auto& args : std::vector<std::vector<const char*>>{
             {"--turn-secret", "a", "--turn-secret-file", secret.c_str()},
             {"--turn-secret", ""},
             {"--turn-ttl", "0"},
             {"--turn-ttl", "-5"},
             {"--turn-ttl", "604801"},
             {"--turn-ttl", "1h"}}) {
        const auto [code, err] = refused(args);
        EXPECT_EQ(code, 2) << args[0] << " " << args[1];
        EXPECT_FALSE(err.empty());
    }
}

} // namespace ice_config_test
} // namespace signald
