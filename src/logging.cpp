#include "signald/logging.hpp"

#include "signald/core/utf8.hpp"

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>

#include <unistd.h>

namespace signald {
namespace {

bool json_logs = false;

// stderr, written in batches once batch_log_writes has been called (logging.hpp). Before that,
// and for warnings and worse, every line is written at once.
class BatchedStderrSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex>
{
public:
    void batch(std::function<void(std::function<void()>)> post) { post_ = std::move(post); }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override
    {
        const bool first = pending_.size() == 0;
        formatter_->format(msg, pending_);
        if (!post_ || msg.level >= spdlog::level::warn || pending_.size() >= flush_at)
            return flush_();
        if (first)
            post_([this] { flush_(); });
    }

    void flush_() override
    {
        const char* data = pending_.data();
        std::size_t left = pending_.size();
        while (left > 0) {
            const ssize_t written = ::write(STDERR_FILENO, data, left);
            if (written < 0 && errno == EINTR)
                continue;
            if (written <= 0)
                break; // stderr is gone: nothing to be done about it
            data += written;
            left -= static_cast<std::size_t>(written);
        }
        pending_.clear();
    }

private:
    static constexpr std::size_t flush_at = std::size_t{64} * 1024;
    spdlog::memory_buf_t pending_;
    std::function<void(std::function<void()>)> post_;
};

std::shared_ptr<BatchedStderrSink> batched_sink;

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
    std::shared_ptr<spdlog::logger> logger;
    if (!json_logs && ::isatty(STDERR_FILENO) != 0) {
        // A person watching: colours, and every line at once.
        logger = spdlog::stderr_color_st("signald");
    } else {
        // No colour sink for JSON: its escape codes would land inside the JSON.
        batched_sink = std::make_shared<BatchedStderrSink>();
        logger = std::make_shared<spdlog::logger>("signald", batched_sink);
    }
    spdlog::set_default_logger(logger);
    if (json_logs)
        logger->set_formatter(std::make_unique<JsonLogFormatter>());
    else
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::flush_on(spdlog::level::warn);
}

void batch_log_writes(std::function<void(std::function<void()>)> post)
{
    if (batched_sink)
        batched_sink->batch(std::move(post));
}

void report_fatal(std::string_view what)
{
    if (batched_sink) { // the lines before it first, and nothing posted to a loop that is gone
        batched_sink->batch({});
        batched_sink->flush();
    }
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
