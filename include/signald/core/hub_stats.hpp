#pragma once
// HubStats: what Hub has received, sent and refused since it started, for the server's /metrics.
// Hub is its only writer; each count is a plain integer in an array indexed by an enum, so
// counting costs an increment or two per message and never allocates or looks up a string.

#include "signald/core/protocol.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace signald {

// What a text message from a client turned out to be.
enum class InAction : std::uint8_t
{
    join,
    leave,
    signal,
    resume,
    kick,
    lock,
    update,
    report,
    invalid, // refused while parsing: bad-json .. bad-type (docs/protocol.md 7.1, steps 1-6)
    dropped, // not read at all: over the rate limit, or the client is being closed for flooding
};
inline constexpr std::size_t in_action_count = 10;

// What Hub sent; the names are the `action` of the message on the wire.
enum class OutAction : std::uint8_t
{
    joined,
    peer_joined,
    peer_left,
    left,
    signal,
    error,
    resumed,
    peer_suspended,
    peer_resumed,
    room_locked,
    peer_updated,
};
inline constexpr std::size_t out_action_count = 11;

// ErrorCode's values are 0 .. error_code_count - 1; rate_limited stays last (a unit test checks).
inline constexpr std::size_t error_code_count =
    static_cast<std::size_t>(ErrorCode::rate_limited) + 1;

// Metric label values.
std::string_view to_string(InAction action);
std::string_view to_string(OutAction action);

struct Traffic
{
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0; // message text, without WebSocket framing
};

// IcePath's combinations, numbered by ice_path_index.
inline constexpr std::size_t ice_path_count =
    candidate_type_count * candidate_type_count * ice_protocol_count;
constexpr std::size_t ice_path_index(const IcePath& path)
{
    return (static_cast<std::size_t>(path.local) * candidate_type_count +
            static_cast<std::size_t>(path.remote)) *
               ice_protocol_count +
           static_cast<std::size_t>(path.protocol);
}
constexpr IcePath ice_path_at(std::size_t index)
{
    return IcePath{static_cast<CandidateType>(index / ice_protocol_count / candidate_type_count),
                   static_cast<CandidateType>(index / ice_protocol_count % candidate_type_count),
                   static_cast<IceProtocol>(index % ice_protocol_count)};
}

struct HubStats
{
    std::array<Traffic, in_action_count> in{};
    // One per receiver: a broadcast to a room of three counts two deliveries.
    std::array<Traffic, out_action_count> out{};
    std::array<std::uint64_t, error_code_count> errors{}; // error replies, by code
    std::uint64_t rate_limited = 0;                       // messages dropped with rate-limited
    std::uint64_t abuse_closes = 0; // connections closed with 1008 for flooding
    // Resume (docs/protocol.md 8.1): members whose connection dropped, members that came back
    // (and the messages replayed to them, counted here and not again in `out`), and members
    // whose grace period ran out.
    std::uint64_t suspensions = 0;
    std::uint64_t resumes = 0;
    std::uint64_t resume_failures = 0;
    std::uint64_t replayed = 0;
    std::uint64_t expiries = 0;
    // Peer connections as their ends report them (docs/protocol.md 5.8), each end once: by the
    // candidate pair ICE selected, and those whose ICE failed.
    std::array<std::uint64_t, ice_path_count> ice_paths{};
    std::uint64_t ice_failures = 0;

    void received(InAction action, std::size_t bytes)
    {
        Traffic& traffic = in[static_cast<std::size_t>(action)];
        ++traffic.messages;
        traffic.bytes += bytes;
    }
    void sent(OutAction action, std::size_t bytes)
    {
        Traffic& traffic = out[static_cast<std::size_t>(action)];
        ++traffic.messages;
        traffic.bytes += bytes;
    }
    const Traffic& received(InAction action) const { return in[static_cast<std::size_t>(action)]; }
    const Traffic& sent(OutAction action) const { return out[static_cast<std::size_t>(action)]; }
    std::uint64_t errors_sent(ErrorCode code) const
    {
        return errors[static_cast<std::size_t>(code)];
    }
};

} // namespace signald
