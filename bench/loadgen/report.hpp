#pragma once
// The one line of JSON a run prints on stdout, and the exit-status convention shared by all
// scenarios. Off the hot path: built once at the end.

#include "cpu_usage.hpp"
#include "latency_histogram.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace bench {

constexpr int exit_clean = 0;
constexpr int exit_violations = 1;
constexpr int exit_cannot_run = 2;

using Report = nlohmann::ordered_json;

// Adds p50_ms, p99_ms and, when with_tail, p999_ms and max_ms.
void add_percentiles(Report& report, const LatencyHistogram& histogram, bool with_tail);

// Adds generator_cpu_pct, server_cpu_pct and its user-space part server_user_cpu_pct (null
// without --server-pid; the sum with several), and with several pids server_cpu_pct_each.
void add_cpu(Report& report, const CpuWindow& cpu);

// Prints the report line and returns the exit status for violations.
int finish_report(Report& report, std::uint64_t violations);

// Prints "signald-bench: <why>" on stderr and returns exit_cannot_run.
int cannot_run(const std::string& why);

double round_to(double value, int decimals);

} // namespace bench
