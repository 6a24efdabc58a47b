#pragma once
// Log-linear latency histogram in nanoseconds: 64 sub-buckets per power of two, so any reported
// percentile is within ~1.6% of the true value. Fixed size, no allocation after construction:
// record() is on the receive hot path.

#include <array>
#include <cstdint>

namespace bench {

class LatencyHistogram
{
public:
    void record(std::int64_t nanoseconds);

    std::uint64_t count() const { return count_; }
    std::int64_t max_ns() const { return max_ns_; }
    // fraction in [0, 1]; 0 when empty. Returns the midpoint of the bucket holding that rank.
    double percentile_ns(double fraction) const;

private:
    static constexpr int sub_bucket_bits = 6;
    // 64 exact buckets below 64 ns, then 64 per power of two up to 2^63.
    static constexpr std::size_t bucket_count = (64 - sub_bucket_bits) * 64 + 128;

    static std::size_t index_of(std::uint64_t value);
    static double midpoint_of(std::size_t index);

    std::array<std::uint64_t, bucket_count> buckets_{};
    std::uint64_t count_ = 0;
    std::int64_t max_ns_ = 0;
};

} // namespace bench
