#pragma once
// What the network layer counts for /metrics (how WebSocket connections ended, the deepest write
// queue), and PrometheusText, which writes the text exposition format. Server owns one NetStats;
// its sessions count into it on the io_context thread. Neither knows anything about rooms.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace signald {

// Which side ended a WebSocket connection: the one that sent the first close frame, or that cut
// the TCP connection without one.
enum class ClosedBy : std::uint8_t
{
    server,
    client,
};
std::string_view to_string(ClosedBy by);

// The code a connection that ended without a close frame is counted under: RFC 6455 7.1.5's
// "abnormal closure", what browsers report for it too.
inline constexpr std::uint16_t no_close_frame = 1006;

// The label for a close code. Clients may send any of the 2,000 codes in 3000-4999, so those are
// counted as "3xxx" and "4xxx": a client must not be able to mint thousands of series.
std::string close_code_label(std::uint16_t code);

class NetStats
{
public:
    using CloseKey = std::pair<ClosedBy, std::uint16_t>; // code already bucketed
    // Counts one connection's end. Closes are rare next to messages, so a small map is fine.
    void count_close(ClosedBy by, std::uint16_t code);
    // Called after every append to a write queue: the largest any queue has held, in bytes.
    void note_queue_bytes(std::size_t bytes)
    {
        if (bytes > queue_high_water_)
            queue_high_water_ = bytes;
    }

    const std::map<CloseKey, std::uint64_t>& closes() const { return closes_; }
    std::size_t queue_high_water() const { return queue_high_water_; }

private:
    std::map<CloseKey, std::uint64_t> closes_;
    std::size_t queue_high_water_ = 0;
};

// Builds a Prometheus text exposition (format 0.0.4): each family's HELP and TYPE once, then its
// samples. Label values and help text are escaped, so any string is safe to pass.
class PrometheusText
{
public:
    using Label = std::pair<std::string_view, std::string_view>;

    // Starts a family; its samples follow. type: "counter" (name ends in _total) or "gauge".
    void family(std::string_view name, std::string_view type, std::string_view help);
    // One sample of the current family.
    void sample(std::uint64_t value) { sample({}, value); }
    void sample(std::initializer_list<Label> labels, std::uint64_t value);
    // A duration, in seconds with microsecond precision (Prometheus' base unit).
    void sample_seconds(std::chrono::microseconds value);
    void sample_seconds(std::initializer_list<Label> labels, std::chrono::microseconds value);

    std::string take() { return std::move(out_); }

private:
    void sample_text(std::initializer_list<Label> labels, std::string_view value);

    std::string out_;
    std::string name_;
};

} // namespace signald
