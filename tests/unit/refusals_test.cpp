// Refusals: each refused request or cut connection is counted once under its reason, and logged
// once at warn, leading with who it was.

#include "signald/net/refusals.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

namespace signald {
namespace {

TEST(Refusals, CountsEachReasonApartInNameOrder)
{
    Refusals refusals;
    refusals.count("slow-consumer", "c1", "more than 10 bytes waiting to be written");
    refusals.count("origin", "192.0.2.1:5000", "WebSocket upgrade refused with 403");
    refusals.count("slow-consumer", "c2", "more than 10 bytes waiting to be written");
    const Refusals::Counts expected{{"origin", 1}, {"slow-consumer", 2}};
    EXPECT_EQ(refusals.by_reason(), expected);
}

TEST(Refusals, LogsEachOnceAtWarnLeadingWithWho)
{
    std::ostringstream log;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
    sink->set_pattern("%l %v");
    const auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("refusals", sink));
    Refusals refusals;
    refusals.count("idle-timeout", "c7", "nothing heard for 40 s");
    spdlog::set_default_logger(previous);
    EXPECT_EQ(log.str(), "warning c7 rejected (idle-timeout): nothing heard for 40 s\n");
}

} // namespace
} // namespace signald
