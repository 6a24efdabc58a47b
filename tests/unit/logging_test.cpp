// --log-format json: JsonLogFormatter turns each record into one line holding one JSON object,
// whatever bytes the message carries.

#include "signald/logging.hpp"
#include "utc_timestamp.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace signald {
namespace logging_test {

using test::is_utc_timestamp;

std::string format(spdlog::level::level_enum level, std::string_view text)
{
    const spdlog::details::log_msg record("signald", level,
                                          spdlog::string_view_t(text.data(), text.size()));
    spdlog::memory_buf_t out;
    JsonLogFormatter().format(record, out);
    return std::string(out.data(), out.size());
}

TEST(JsonLogFormatter, WritesOneObjectPerLineWithTimeLevelAndMessage)
{
    const std::string line = format(spdlog::level::info, "aaaaaaaaa1 joined standup (2 members)");
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    const auto record = nlohmann::json::parse(line);
    ASSERT_TRUE(record.is_object());
    EXPECT_EQ(record.size(), 3u);
    EXPECT_EQ(record["level"], "info");
    EXPECT_EQ(record["msg"], "aaaaaaaaa1 joined standup (2 members)");
    EXPECT_TRUE(is_utc_timestamp(record["time"].get<std::string>())) << record["time"];
}

TEST(JsonLogFormatter, EscapesQuotesControlCharactersAndInvalidUtf8)
{
    const std::string text = "say \"hi\"\\ now\nnext\x01 \xff end \xc3\xa9 \x7f\t";
    const std::string line = format(spdlog::level::warn, text);
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "a raw newline splits the record";
    for (const char c : line.substr(0, line.size() - 1))
        EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control byte in " << line;
    const auto record = nlohmann::json::parse(line); // throws on invalid UTF-8 too
    EXPECT_EQ(record["level"], "warn");
    // 0xff starts no character: it becomes U+FFFD; the valid é is kept as it is.
    EXPECT_EQ(record["msg"], "say \"hi\"\\ now\nnext\x01 \xEF\xBF\xBD end \xc3\xa9 \x7f\t");
}

TEST(JsonLogFormatter, TruncatedAndOverlongSequencesAreReplacedBytewise)
{
    // A lead byte with its continuation missing, an overlong '/', and a UTF-16 surrogate.
    const std::string line = format(spdlog::level::err, "a\xe2\x82"
                                                        "b \xc0\xaf \xed\xa0\x80");
    const auto record = nlohmann::json::parse(line);
    EXPECT_EQ(record["level"], "error");
    const std::string r = "\xEF\xBF\xBD";
    EXPECT_EQ(record["msg"], "a" + r + r + "b " + r + r + " " + r + r + r);
}

TEST(JsonLogFormatter, LevelsUseTheLogLevelSpellings)
{
    EXPECT_EQ(nlohmann::json::parse(format(spdlog::level::trace, "x"))["level"], "trace");
    EXPECT_EQ(nlohmann::json::parse(format(spdlog::level::debug, "x"))["level"], "debug");
    EXPECT_EQ(nlohmann::json::parse(format(spdlog::level::critical, "x"))["level"], "critical");
}

} // namespace logging_test
} // namespace signald
