// TURN REST API credentials (coturn's use-auth-secret): the HMAC-SHA1 primitive against RFC 2202,
// one credential against `openssl dgst`, and the IceServersFor that main hands to the server.

#include "signald/turn_credentials.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <string>

namespace signald {
namespace turn_credentials_test {

using namespace std::chrono_literals;
using nlohmann::json;

// RFC 2202 section 3, test cases 1, 2 and 6; the digests there are hex, here in base64.
TEST(HmacSha1Base64, MatchesRfc2202Vectors)
{
    EXPECT_EQ(hmac_sha1_base64(std::string(20, '\x0b'), "Hi There"),
              "thcxhlUFcmTii8C2+zeMjvFGvgA="); // b617318655057264e28bc0b6fb378c8ef146be00
    EXPECT_EQ(hmac_sha1_base64("Jefe", "what do ya want for nothing?"),
              "7/zfauXrL6LSdBbV8YTfnCWafHk="); // effcdf6ae5eb2fa2d27416d5f184df9c259a7c79
    EXPECT_EQ(hmac_sha1_base64(std::string(80, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First"),
              "qkrl4VJy0A6VcFY3zoo7Ve1AIRI="); // aa4ae5e15272d00e95705637ce8a3b55ed402112
}

// The expected credential comes from:
//   printf %s 1700003600:w2e6rj1ydu | openssl dgst -sha1 -hmac s3cr3t -binary | base64
TEST(TurnCredential, UsernameIsExpiryAndClientIdAndCredentialIsItsHmac)
{
    const auto now = std::chrono::system_clock::time_point{1700000000s};
    const TurnCredential credential = turn_credential("s3cr3t", "w2e6rj1ydu", now, 3600s);
    EXPECT_EQ(credential.username, "1700003600:w2e6rj1ydu");
    EXPECT_EQ(credential.credential, "e1UZ/7WkYPX1ZggwmMj1puZeybs=");
}

TEST(TurnCredential, TheProtocolDocumentsExampleIsReal)
{
    const auto now = std::chrono::system_clock::time_point{1700000000s};
    EXPECT_EQ(turn_credential("S", "w2e6rj1ydu", now, 3600s).credential,
              "//5YBEIwKMn5hznqRmJL8rU+9lw="); // docs/protocol.md 6.1
}

TEST(TurnCredential, ExpiryIgnoresFractionsOfASecond)
{
    const auto now = std::chrono::system_clock::time_point{1700000000s + 999ms};
    EXPECT_EQ(turn_credential("s", "c", now, 60s).username, "1700000060:c");
}

// Captures what make_ice_servers logs, at every level.
class MakeIceServers : public ::testing::Test
{
protected:
    MakeIceServers()
        : saved_(spdlog::default_logger()),
          logger_(std::make_shared<spdlog::logger>(
              "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)))
    {
        logger_->set_level(spdlog::level::trace);
        spdlog::set_default_logger(logger_);
    }
    ~MakeIceServers() override { spdlog::set_default_logger(saved_); }

    std::string log() const { return log_.str(); }

    std::ostringstream log_;
    std::shared_ptr<spdlog::logger> saved_;
    std::shared_ptr<spdlog::logger> logger_;
    std::chrono::system_clock::time_point now_{1700000000s};
    WallClock clock_ = [this] { return now_; };
};

TEST_F(MakeIceServers, NoUrlsMeansNoFunction)
{
    EXPECT_FALSE(make_ice_servers(IceOptions{}, clock_));
    EXPECT_EQ(log(), "");
}

TEST_F(MakeIceServers, StunOnlyIsTheSameForEveryClient)
{
    const auto ice = make_ice_servers(IceOptions{{"stun:s:3478"}, "", 3600s}, clock_);
    ASSERT_TRUE(ice);
    EXPECT_EQ(ice("aaaaaaaaa1"), R"([{"urls":["stun:s:3478"]}])");
    EXPECT_EQ(ice("aaaaaaaaa2"), ice("aaaaaaaaa1"));
}

TEST_F(MakeIceServers, TurnWithASecretGetsPerClientCredentialsFromTheClock)
{
    const auto ice = make_ice_servers(
        IceOptions{{"stun:s", "turn:t:3478?transport=udp"}, "s3cr3t", 3600s}, clock_);
    ASSERT_TRUE(ice);
    const json servers = json::parse(ice("w2e6rj1ydu"));
    EXPECT_EQ(servers, json::parse(R"([{"urls":["stun:s"]},{"urls":["turn:t:3478?transport=udp"],
        "username":"1700003600:w2e6rj1ydu","credential":"e1UZ/7WkYPX1ZggwmMj1puZeybs="}])"));

    now_ += 10s;
    EXPECT_EQ(json::parse(ice("w2e6rj1ydu"))[1]["username"], "1700003610:w2e6rj1ydu");
    EXPECT_EQ(json::parse(ice("other00001"))[1]["username"], "1700003610:other00001");
}

TEST_F(MakeIceServers, TheSecretIsNeverInTheOutputOrTheLog)
{
    const std::string secret = "the-secret-value-4c7f";
    const auto ice = make_ice_servers(IceOptions{{"turn:t"}, secret, 60s}, clock_);
    EXPECT_EQ(ice("w2e6rj1ydu").find(secret), std::string::npos);
    EXPECT_NE(log().find("ICE servers for every joined: turn:t (TURN credentials valid 60 s)"),
              std::string::npos)
        << log();
    EXPECT_EQ(log().find(secret), std::string::npos) << log();
}

TEST_F(MakeIceServers, TurnWithoutASecretIsSentBareWithAWarning)
{
    const auto ice = make_ice_servers(IceOptions{{"turn:t", "stun:s"}, "", 3600s}, clock_);
    EXPECT_EQ(ice("aaaaaaaaa1"), R"([{"urls":["stun:s"]},{"urls":["turn:t"]}])");
    EXPECT_NE(log().find("[warning] turn: URLs are sent without credentials"), std::string::npos)
        << log();
}

TEST_F(MakeIceServers, ASecretWithoutTurnUrlsIsWarnedAbout)
{
    make_ice_servers(IceOptions{{"stun:s"}, "s3cr3t", 3600s}, clock_);
    EXPECT_NE(log().find("[warning] --turn-secret has no effect"), std::string::npos) << log();
    log_.str("");
    make_ice_servers(IceOptions{{}, "s3cr3t", 3600s}, clock_);
    EXPECT_NE(log().find("[warning] --turn-secret has no effect"), std::string::npos) << log();
}

} // namespace turn_credentials_test
} // namespace signald
