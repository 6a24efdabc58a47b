#pragma once
// What signald knows about each configured TURN URL from its self-test (TurnMonitor), as plain
// data for /metrics, /healthz?verbose, the log and `signald check`; and the one-line texts they
// share, so the log and the command line say exactly the same.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace signald {

struct TurnCheckStatus
{
    std::string url;      // as configured (it holds no secret)
    bool checked = false; // false until the first check has finished
    bool ok = false;
    std::string relay; // the relay address the last check got, if any
    std::string error; // why the last check failed
    std::chrono::milliseconds duration{0};
    std::chrono::sys_seconds finished_at{}; // wall clock, for "seconds since checked"
    std::uint64_t checks = 0;
    std::uint64_t failures = 0;
};

// "TURN turn:host:3478 ok, relay 203.0.113.10:49152 (12 ms)" or
// "TURN turn:host:3478 failed: 401 Unauthorized: ... (12 ms)".
std::string turn_check_line(const TurnCheckStatus& status);

// /healthz?verbose: one line per URL, each ending in a newline:
// "turn turn:host:3478 ok relay 203.0.113.10:49152 12 ms, checked 30 s ago",
// "turn turn:host:3478 failed (timeout: ...) 5003 ms, checked 30 s ago" or
// "turn turn:host:3478 not checked yet".
std::string turn_health_lines(const std::vector<TurnCheckStatus>& statuses,
                              std::chrono::sys_seconds now);

} // namespace signald
