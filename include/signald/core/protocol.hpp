#pragma once
// The v1 wire protocol (docs/protocol.md): requests parsed and validated into values, and the
// server's replies built as JSON text. Pure functions: no state, no I/O, never throws on client
// input. Every wire string is written once, in protocol.cpp.

#include "signald/core/ids.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace signald {

// roomId and name limits count Unicode code points, not bytes.
inline constexpr std::size_t max_room_id_chars = 64;
inline constexpr std::size_t max_name_chars = 64;
// A member's state (update, join): bytes of its JSON text as sent.
inline constexpr std::size_t max_state_bytes = 1024;

enum class ErrorCode
{
    bad_json,
    bad_message,
    unknown_action,
    bad_room_id,
    bad_name,
    bad_type,
    not_in_room,
    already_joined,
    unknown_peer,
    room_full,
    resume_failed,
    unavailable,  // clustered: the node cannot reach the rest of the cluster now
    unauthorized, // --auth-secret-file: the join's token is missing or not valid for the room
    banned,       // kicked from the room a short while ago (--kick-ban)
    room_locked,  // a moderator locked the room; only moderator tokens join it
    forbidden,    // kick and lock are for moderators
    bad_state,    // a state over max_state_bytes
    bad_report,   // a report whose ice, local, remote or protocol is not a known value
    rate_limited, // stays last: HubStats sizes its array by it
};
std::string_view to_string(ErrorCode code);

// The message of an `unavailable` that the cluster as a whole cannot answer now (the node that
// runs the rooms refusing a join, or an edge cut off from it refusing anything).
inline constexpr std::string_view cluster_unreachable_message =
    "the cluster cannot be reached; try again in a moment";

// A refused request. It becomes an `error` reply and the connection stays open.
struct ProtocolError
{
    ErrorCode code;
    std::string message;
    std::optional<std::string> request; // the offending action, when the message had one
};

enum class SignalType
{
    offer,
    answer,
    ice_candidate,
    hangup,
};
std::string_view to_string(SignalType type);

struct Peer
{
    ClientId client_id;
    std::optional<std::string> name; // never empty: "" is stored as no name
    bool suspended = false;          // its connection dropped; it may resume (joined.peers only)
    // Its latest state (update, join), as the JSON object text it sent; nullopt until it has one.
    std::optional<std::string> state{};
};

struct JoinRequest
{
    std::string room_id;
    std::optional<std::string> name;
    std::optional<std::string> token; // read only with ProtocolFeatures::auth
    std::optional<std::string> state; // the initial state's JSON object text, as sent
};

struct LeaveRequest
{
    std::string room_id;
};

struct SignalRequest
{
    std::string room_id;
    SignalType type;
    // The raw JSON text of `data`, forwarded byte for byte. It points into the text given to
    // parse_request and is valid only while that text is.
    std::optional<std::string_view> data;
    std::optional<ClientId> to;
};

// A new connection taking over a membership whose connection dropped (docs/protocol.md 8.1).
struct ResumeRequest
{
    std::string token;
    // Text messages the client received after the joined or resumed that gave it token. A
    // number too large for 64 bits is read as the largest one: no server handed that many.
    std::uint64_t received = 0;
};

// A member's new state for the others (docs/protocol.md 5.7), replacing its previous one.
struct UpdateRequest
{
    std::string room_id;
    // The JSON object text of `state`, as sent. It points into the text given to parse_request
    // and is valid only while that text is.
    std::string_view state;
};

// The type of an ICE candidate (RTCIceCandidateType): the client's own address, one a STUN
// server saw (server reflexive), one the peer saw (peer reflexive), or a TURN relay's.
enum class CandidateType : std::uint8_t
{
    host,
    srflx,
    prflx,
    relay,
};
inline constexpr std::size_t candidate_type_count = 4;
std::string_view to_string(CandidateType type);

// How the reporting side's packets travel: UDP or TCP from its own address, and for a relay
// candidate how it reaches the TURN server (udp, tcp, or tls for turns:). `over_`: a plain `tcp`
// would shadow Asio's `tcp` that net/beast.hpp names.
enum class IceProtocol : std::uint8_t
{
    over_udp,
    over_tcp,
    over_tls,
};
inline constexpr std::size_t ice_protocol_count = 3;
std::string_view to_string(IceProtocol protocol);

// The candidate pair ICE selected for one peer connection, as its reporting end sees it.
struct IcePath
{
    CandidateType local;
    CandidateType remote;
    IceProtocol protocol;
};

// A member tells how its peer connection with another member went (docs/protocol.md 5.8): the
// path ICE chose, or that ICE failed. Addresses are never part of it.
struct ReportRequest
{
    std::string room_id;
    ClientId peer;
    std::optional<IcePath> path; // nullopt: ICE failed
};

// A moderator removes a member (docs/protocol.md 7.4). Only with ProtocolFeatures::auth.
struct KickRequest
{
    std::string room_id;
    ClientId client_id;
};

// A moderator locks or unlocks its room. Only with ProtocolFeatures::auth.
struct LockRequest
{
    std::string room_id;
    bool locked = false;
};

using Request = std::variant<JoinRequest, LeaveRequest, SignalRequest, ResumeRequest, KickRequest,
                             LockRequest, UpdateRequest, ReportRequest>;
using ParseResult = std::variant<Request, ProtocolError>;

// Which optional parts of the protocol the server runs with. Off, a request for one is an
// unknown action, exactly as if the protocol did not have it.
struct ProtocolFeatures
{
    bool resume = false;
    bool auth = false; // --auth-secret-file: a join's token is read (else ignored), kick and lock
};

// Parses one text frame. Checks the JSON, the shape and field types (bad-json, bad-message,
// unknown-action) and then the field values (bad-room-id, bad-name, bad-type); room state is
// Hub's business.
ParseResult parse_request(std::string_view text, ProtocolFeatures features = {});

bool is_valid_room_id(std::string_view room_id);
// The wire name of a request's action ("join", "leave", "signal", "resume", "kick", "lock",
// "update", "report").
std::string_view action_of(const Request& request);
bool is_valid_name(std::string_view name);

// Builders for every message the server sends.
namespace reply {
// ice_servers (joined, peer-joined, resumed): JSON array text for `iceServers`, or empty to leave
// it out. resume_token: empty to leave it out (resume off). locked: `"locked":true`, else nothing.
std::string joined(std::string_view room_id, std::string_view client_id,
                   std::span<const Peer> peers, std::string_view ice_servers = {},
                   std::string_view resume_token = {}, bool locked = false);
// The room as it is now, after a gap (messages lost in a crash): its other members, and
// whether it is locked.
struct GapView
{
    std::span<const Peer> peers;
    bool locked = false;
};
// gap: `"gap":true` and what GapView holds.
std::string resumed(std::string_view room_id, std::string_view client_id,
                    std::string_view resume_token, std::string_view ice_servers = {},
                    std::optional<GapView> gap = std::nullopt);
std::string peer_suspended(std::string_view room_id, std::string_view client_id);
std::string peer_resumed(std::string_view room_id, std::string_view client_id);
std::string peer_joined(std::string_view room_id, const Peer& peer,
                        std::string_view ice_servers = {});
// reason: `"reason":...` (only "kicked" today), or empty for none.
std::string peer_left(std::string_view room_id, std::string_view client_id,
                      std::string_view reason = {});
std::string left(std::string_view room_id, std::string_view reason = {});
std::string room_locked(std::string_view room_id, bool locked);
std::string peer_updated(std::string_view room_id, std::string_view client_id,
                         std::string_view state);
std::string signal(std::string_view room_id, std::string_view from, SignalType type,
                   std::optional<std::string_view> data, std::optional<std::string_view> to);
std::string error(const ProtocolError& error);
} // namespace reply

} // namespace signald
