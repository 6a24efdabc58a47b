#include "latency_histogram.hpp"

#include <bit>

namespace bench {

std::size_t LatencyHistogram::index_of(std::uint64_t value)
{
    if (value < (1u << sub_bucket_bits))
        return static_cast<std::size_t>(value);
    const int shift = static_cast<int>(std::bit_width(value)) - 1 - sub_bucket_bits;
    // The top seven bits lie in [64, 128); each shift gets its own run of 64 buckets.
    return static_cast<std::size_t>(shift) * 64 + static_cast<std::size_t>(value >> shift);
}

double LatencyHistogram::midpoint_of(std::size_t index)
{
    if (index < (1u << sub_bucket_bits))
        return static_cast<double>(index);
    const std::size_t shift = (index - 64) / 64;
    const std::size_t top = index - shift * 64;
    const double low = static_cast<double>(top) * static_cast<double>(std::uint64_t{1} << shift);
    return low + static_cast<double>(std::uint64_t{1} << shift) / 2.0;
}

void LatencyHistogram::record(std::int64_t nanoseconds)
{
    // A negative latency means a message scheduled in the future was received: clamp, the
    // checker already verified the message itself.
    const auto value = nanoseconds < 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(nanoseconds);
    ++buckets_[index_of(value)];
    ++count_;
    if (nanoseconds > max_ns_)
        max_ns_ = nanoseconds;
}

double LatencyHistogram::percentile_ns(double fraction) const
{
    if (count_ == 0)
        return 0.0;
    auto rank = static_cast<std::uint64_t>(fraction * static_cast<double>(count_));
    if (rank >= count_)
        rank = count_ - 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
        seen += buckets_[i];
        if (seen > rank) {
            const double mid = midpoint_of(i);
            return mid > static_cast<double>(max_ns_) ? static_cast<double>(max_ns_) : mid;
        }
    }
    return static_cast<double>(max_ns_);
}

} // namespace bench
