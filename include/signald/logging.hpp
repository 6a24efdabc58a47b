#pragma once
// Process-wide logging setup: spdlog to stderr, so stdout carries only the "listening on" line
// that scripts and tests read. Two formats: text for people, json (one object per line) for log
// collectors.

#include <spdlog/formatter.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace signald {

// level is one of trace, debug, info, warn, error, critical, off; format is text or json (both
// checked by parse_config).
void setup_logging(const std::string& level, const std::string& format = "text");

// From now on, lines below warn are written in batches: the first line of a batch asks post to
// run a flush soon (main posts it to the io_context, so it runs once the handlers already
// waiting are done); warnings and worse, 64 KiB of lines, and exit write at once. One write per
// batch instead of one per line: at info every connection logs three lines, which was a third
// of a session's system calls. An interactive terminal keeps one write per line.
void batch_log_writes(std::function<void(std::function<void()>)> post);

// A startup failure, as the last line before exiting non-zero: a log record in the json format,
// else "signald: what" as always.
void report_fatal(std::string_view what);

// Formats each record as one line of JSON: {"time":"2026-01-02T03:04:05.678Z","level":"info",
// "msg":"..."}. Time is UTC; the message is escaped so that any bytes (quotes, control
// characters, invalid UTF-8, replaced by U+FFFD) still make valid JSON.
class JsonLogFormatter final : public spdlog::formatter
{
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
    std::unique_ptr<spdlog::formatter> clone() const override;
};

} // namespace signald
