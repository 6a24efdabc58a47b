#pragma once
// The signal messages the generator sends and the check of what comes back. A payload is
//   data = {"s":<sender index>,"q":<per-sender seq>,"t":<ns since start>,"p":"<padding>"}
// padded to an exact size per type, with padding that is a function of (s, q) alone, so a
// receiver verifies every byte with one memcmp. Compact JSON, small integers and ASCII only:
// a server that re-serialises data (the Node baseline uses JSON.stringify) reproduces it
// byte for byte.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench {

// ~1000 bytes for an offer (an SDP), ~230 for anything else (an ICE candidate, an answer in churn).
constexpr std::size_t offer_data_bytes = 1000;
constexpr std::size_t small_data_bytes = 230;

inline std::size_t data_bytes_for(std::string_view type)
{
    return type == "offer" ? offer_data_bytes : small_data_bytes;
}

// Fanout and latency: every 4th message of a sender is an offer, the rest are ICE candidates.
inline std::string_view mixed_type_for(std::uint64_t seq)
{
    return seq % 4 == 0 ? std::string_view("offer") : std::string_view("ice-candidate");
}

struct SignalSpec
{
    std::string_view room_id;
    std::string_view type;
    std::string_view to; // empty: broadcast
    std::uint64_t sender = 0;
    std::uint64_t seq = 0;
    std::int64_t sent_ns = 0;
};

// Appends one complete client text frame holding the signal request.
void append_signal_frame(std::string& out, const SignalSpec& spec);

struct PayloadFields
{
    std::uint64_t sender = 0;
    std::uint64_t seq = 0;
    std::int64_t sent_ns = 0;
    std::string_view padding;
};

// Parses a received data value. Returns nullptr on success or a short reason.
const char* parse_payload(std::string_view data, PayloadFields& fields);

// True when data has the size its type implies and the padding is the one (s, q) produce.
bool payload_intact(std::string_view data, std::string_view type, const PayloadFields& fields);

} // namespace bench
