#pragma once
// The v1 wire protocol (docs/protocol.md): requests parsed and validated into values, and the
// server's replies built as JSON text. Pure functions: no state, no I/O, never throws on client
// input. Every wire string is written once, in protocol.cpp.

#include "signald/core/ids.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace signald {

// roomId and name limits count Unicode code points, not bytes.
inline constexpr std::size_t max_room_id_chars = 64;
inline constexpr std::size_t max_name_chars = 64;

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
    rate_limited,
};
std::string_view to_string(ErrorCode code);

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
};

struct JoinRequest
{
    std::string room_id;
    std::optional<std::string> name;
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

using Request = std::variant<JoinRequest, LeaveRequest, SignalRequest>;
using ParseResult = std::variant<Request, ProtocolError>;

// Parses one text frame. Checks the JSON, the shape and field types (bad-json, bad-message,
// unknown-action) and then the field values (bad-room-id, bad-name, bad-type); room state is
// Hub's business.
ParseResult parse_request(std::string_view text);

bool is_valid_room_id(std::string_view room_id);
bool is_valid_name(std::string_view name);

// Builders for every message the server sends.
namespace reply {
// ice_servers (joined, peer-joined): JSON array text for `iceServers`, or empty to leave it out.
std::string joined(std::string_view room_id, std::string_view client_id,
                   std::span<const Peer> peers, std::string_view ice_servers = {});
std::string peer_joined(std::string_view room_id, const Peer& peer,
                        std::string_view ice_servers = {});
std::string peer_left(std::string_view room_id, std::string_view client_id);
std::string left(std::string_view room_id);
std::string signal(std::string_view room_id, std::string_view from, SignalType type,
                   std::optional<std::string_view> data, std::optional<std::string_view> to);
std::string error(const ProtocolError& error);
} // namespace reply

} // namespace signald
