#pragma once
// Refusals: the one place the network layer counts a refused request (bad origin or Host, a cap,
// a slowloris) or a connection cut off for a limit (slow consumer, idle timeout). Each is logged
// once, at warn (a refused Host at info), and counted by reason for signald_rejections_total.
// Server owns one; sessions reach it through their host's count_refusal. The hub's own cuts
// (rate-limited, flood) are counted in HubStats, since core cannot reach the network layer; the
// exposition merges both.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace signald {

class Refusals
{
public:
    // Ordered, so the exposition lists reasons the same way on every scrape.
    using Counts = std::map<std::string, std::uint64_t, std::less<>>;

    // who: the client id or peer address the log line leads with; detail: what happened.
    void count(std::string_view reason, std::string_view who, std::string_view detail);

    const Counts& by_reason() const { return counts_; }

private:
    Counts counts_;
};

} // namespace signald
