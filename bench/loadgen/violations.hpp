#pragma once
// Counts every correctness violation a scenario finds and prints the first few to stderr.
// Scenarios call add() from the hot path only when something is wrong, so formatting cost
// never touches a correct run. The exit status is derived from count().

#include <cstddef>
#include <cstdint>

namespace bench {

class Violations
{
public:
    // printf-style; only the first max_printed are formatted and printed, all are counted.
    void add(const char* format, ...) __attribute__((format(printf, 2, 3)));

    std::uint64_t count() const { return count_; }

private:
    // 20: enough to see a pattern, few enough that a broken server can't flood the terminal.
    static constexpr std::uint64_t max_printed = 20;
    std::uint64_t count_ = 0;
};

} // namespace bench
