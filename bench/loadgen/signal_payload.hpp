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

// The workload mix of fanout and latency is the one an independent benchmark measured signald
// with: 1 in 5 signals is an offer whose data is ~1 KB (an SDP), the rest ICE candidates; 1 in
// 16 is directed ("to": one other member of the room, rotating through them), and another 1 in
// 16 carries a forged "from" (another member's clientId) that the server must overwrite. The
// signal requests then average ~440 bytes (the WebSocket payload): an offer ~1,060, an ICE
// candidate ~290 (data 220 B plus the envelope: action, roomId, type). Churn's answer is small
// too.
constexpr std::size_t offer_data_bytes = 1000;
constexpr std::size_t small_data_bytes = 220;

inline std::size_t data_bytes_for(std::string_view type)
{
    return type == "offer" ? offer_data_bytes : small_data_bytes;
}

// Fanout and latency, by the sender's seq: every 5th an offer, the rest ICE candidates.
inline std::string_view mixed_type_for(std::uint64_t seq)
{
    return seq % 5 == 0 ? std::string_view("offer") : std::string_view("ice-candidate");
}

// 1 in 16 directed; a different 1 in 16 with a forged from (so each mix of the two is exercised
// apart; 16 and 5 are coprime, so both fall on offers and candidates alike).
inline bool mixed_is_directed(std::uint64_t seq)
{
    return seq % 16 == 7;
}
inline bool mixed_forges_from(std::uint64_t seq)
{
    return seq % 16 == 15;
}

// A directed signal goes to the member this many places after the sender in its room (of
// room_size), rotating through all the others over successive directed signals.
inline std::size_t mixed_directed_step(std::uint64_t seq, std::size_t room_size)
{
    return 1 + static_cast<std::size_t>(seq / 16 % (room_size - 1));
}

struct SignalSpec
{
    std::string_view room_id;
    std::string_view type;
    std::string_view to;          // empty: broadcast
    std::string_view forged_from; // empty: none; else a "from" the server must overwrite
    std::uint64_t sender = 0;
    std::uint64_t seq = 0;
    std::int64_t sent_ns = 0;
};

// Appends one complete client text frame holding the signal request; returns its payload size.
std::size_t append_signal_frame(std::string& out, const SignalSpec& spec);

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
