// Refusals: each refused request or cut connection is counted once under its reason, and logged
// once at warn (a refused Host at info), leading with who it was.

#include "signald/net/refusals.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>
#include <string_view>

namespace signald {
namespace refusals_test {

TEST(Refusals, CountsEachReasonApartInNameOrder)
{
    Refusals refusals;
    refusals.count("slow-consumer", "c1", "more than 10 bytes waiting to be written");
    refusals.count("origin", "192.0.2.1:5000", "WebSocket upgrade refused with 403");
    refusals.count("slow-consumer", "c2", "more than 10 bytes waiting to be written");
    const Refusals::Counts expected{{"origin", 1}, {"slow-consumer", 2}};
    EXPECT_EQ(refusals.by_reason(), expected);
}

// What one count() logs, as "level message" lines.
std::string logged_by_count(std::string_view reason, std::string_view who, std::string_view detail)
{
    std::ostringstream log;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
    sink->set_pattern("%l %v");
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("refusals", sink));
    Refusals refusals;
    refusals.count(reason, who, detail);
    spdlog::set_default_logger(previous);
    return log.str();
}

TEST(Refusals, LogsEachOnceAtWarnLeadingWithWho)
{
    EXPECT_EQ(logged_by_count("idle-timeout", "c7", "nothing heard for 40 s"),
              "warning c7 rejected (idle-timeout): nothing heard for 40 s\n");
}

// Scanners and stale DNS records send foreign Host names all day: nothing for an operator to do.
TEST(Refusals, LogsARefusedHostAtInfo)
{
    EXPECT_EQ(logged_by_count("host", "192.0.2.1:5000", "GET / refused with 403: no Host"),
              "info 192.0.2.1:5000 rejected (host): GET / refused with 403: no Host\n");
}

} // namespace refusals_test
} // namespace signald
