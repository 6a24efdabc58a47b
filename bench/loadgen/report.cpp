#include "report.hpp"

#include <cmath>
#include <cstdio>

namespace bench {

double round_to(double value, int decimals)
{
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

void add_percentiles(Report& report, const LatencyHistogram& histogram, bool with_tail)
{
    const auto ms = [](double ns) { return round_to(ns / 1e6, 3); };
    report["p50_ms"] = ms(histogram.percentile_ns(0.50));
    report["p99_ms"] = ms(histogram.percentile_ns(0.99));
    if (with_tail) {
        report["p999_ms"] = ms(histogram.percentile_ns(0.999));
        report["max_ms"] = ms(static_cast<double>(histogram.max_ns()));
    }
    report["latency_samples"] = histogram.count();
}

void add_cpu(Report& report, const CpuWindow& cpu)
{
    report["generator_cpu_pct"] = round_to(cpu.generator_percent(), 1);
    if (cpu.server_percent() >= 0) {
        report["server_cpu_pct"] = round_to(cpu.server_percent(), 1);
        report["server_user_cpu_pct"] = round_to(cpu.server_user_percent(), 1);
    } else {
        report["server_cpu_pct"] = nullptr;
        report["server_user_cpu_pct"] = nullptr;
    }
    // A cluster: how the total splits between its processes, in --server-pid's order.
    if (const auto each = cpu.server_percent_each(); each.size() > 1) {
        Report& list = report["server_cpu_pct_each"] = Report::array();
        for (const double percent : each)
            list.push_back(round_to(percent, 1));
    }
}

int finish_report(Report& report, std::uint64_t violations)
{
    report["violations"] = violations;
    std::printf("%s\n", report.dump().c_str());
    std::fflush(stdout);
    return violations == 0 ? exit_clean : exit_violations;
}

int cannot_run(const std::string& why)
{
    std::fprintf(stderr, "signald-bench: %s\n", why.c_str());
    return exit_cannot_run;
}

} // namespace bench
