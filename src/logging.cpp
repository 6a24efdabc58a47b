#include "signald/logging.hpp"

#include "signald/core/utf8.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace signald {
namespace {

bool json_logs = false;

void append(spdlog::memory_buf_t& dest, std::string_view text)
{
    dest.append(text.data(), text.data() + text.size());
}

// The spellings --log-level accepts, rather than spdlog's own ("warning").
std::string_view level_name(spdlog::level::level_enum level)
{
    switch (level) {
    case spdlog::level::trace:
        return "trace";
    case spdlog::level::debug:
        return "debug";
    case spdlog::level::info:
        return "info";
    case spdlog::level::warn:
        return "warn";
    case spdlog::level::err:
        return "error";
    case spdlog::level::critical:
        return "critical";
    default:
        return "off";
    }
}

// 2026-01-02T03:04:05.678Z
void append_utc_time(spdlog::memory_buf_t& dest, spdlog::log_clock::time_point time)
{
    using namespace std::chrono;
    const auto since_epoch = time.time_since_epoch();
    const auto whole_seconds = duration_cast<seconds>(since_epoch);
    auto millis = duration_cast<milliseconds>(since_epoch - whole_seconds).count();
    auto seconds_value = static_cast<std::time_t>(whole_seconds.count());
    if (millis < 0) { // before 1970: the fraction still counts forwards
        millis += 1000;
        --seconds_value;
    }
    std::tm utc{};
    ::gmtime_r(&seconds_value, &utc);
    std::array<char, 32> text{};
    const std::size_t length = std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S", &utc);
    append(dest, std::string_view(text.data(), length));
    std::array<char, 8> fraction{};
    const int written =
        std::snprintf(fraction.data(), fraction.size(), ".%03dZ", static_cast<int>(millis));
    append(dest, std::string_view(fraction.data(), static_cast<std::size_t>(written)));
}

// text as a JSON string literal, quotes included.
void append_json_string(spdlog::memory_buf_t& dest, std::string_view text)
{
    static constexpr std::string_view hex = "0123456789abcdef";
    static constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD
    dest.push_back('"');
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto byte = static_cast<unsigned char>(text[pos]);
        if (byte >= 0x80) {
            const std::size_t length = utf8::sequence_length(text, pos);
            if (length == 0) {
                append(dest, replacement); // one per byte that starts no valid character
                ++pos;
            } else {
                append(dest, text.substr(pos, length));
                pos += length;
            }
            continue;
        }
        switch (byte) {
        case '"':
            append(dest, "\\\"");
            break;
        case '\\':
            append(dest, "\\\\");
            break;
        case '\n':
            append(dest, "\\n");
            break;
        case '\r':
            append(dest, "\\r");
            break;
        case '\t':
            append(dest, "\\t");
            break;
        default:
            // Other control characters, and DEL, which terminals would act on.
            if (byte < 0x20 || byte == 0x7F) {
                append(dest, "\\u00");
                dest.push_back(hex[byte >> 4]);
                dest.push_back(hex[byte & 0xF]);
            } else {
                dest.push_back(static_cast<char>(byte));
            }
        }
        ++pos;
    }
    dest.push_back('"');
}

} // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest)
{
    append(dest, R"({"time":")");
    append_utc_time(dest, msg.time);
    append(dest, R"(","level":")");
    append(dest, level_name(msg.level));
    append(dest, R"(","msg":)");
    append_json_string(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, "}\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const
{
    return std::make_unique<JsonLogFormatter>();
}

void setup_logging(const std::string& level, const std::string& format)
{
    json_logs = format == "json";
    if (json_logs) {
        // No colour sink: its escape codes would land inside the JSON.
        auto logger = spdlog::stderr_logger_st("signald");
        logger->set_formatter(std::make_unique<JsonLogFormatter>());
        spdlog::set_default_logger(logger);
    } else {
        auto logger = spdlog::stderr_color_st("signald");
        spdlog::set_default_logger(logger);
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    }
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::flush_on(spdlog::level::info);
}

void report_fatal(std::string_view what)
{
    if (!json_logs) {
        std::cerr << "signald: " << what << "\n";
        return;
    }
    // Formatted here rather than logged, so that even --log-level off shows why it stopped.
    const spdlog::details::log_msg record("signald", spdlog::level::critical,
                                          spdlog::string_view_t(what.data(), what.size()));
    spdlog::memory_buf_t line;
    JsonLogFormatter().format(record, line);
    std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
    std::cerr.flush();
}

} // namespace signald
