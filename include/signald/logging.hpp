#pragma once
// Process-wide logging setup: spdlog to stderr, so stdout carries only the "listening on" line
// that scripts and tests read.

#include <string>

namespace signald {

// level is one of trace, debug, info, warn, error, critical, off (checked by parse_config).
void setup_logging(const std::string& level);

} // namespace signald
