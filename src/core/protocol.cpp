#include "signald/core/protocol.hpp"

#include "signald/core/json_scan.hpp"
#include "signald/core/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace signald {
namespace {

// The raw JSON literals of the top-level fields the protocol reads; the last occurrence of a key
// wins, as in JavaScript's JSON.parse.
struct Fields
{
    std::optional<std::string_view> action;
    std::optional<std::string_view> room_id;
    std::optional<std::string_view> name;
    std::optional<std::string_view> type;
    std::optional<std::string_view> data;
    std::optional<std::string_view> to;
    std::optional<std::string_view> token;
    std::optional<std::string_view> received;
    std::optional<std::string_view> client_id;
    std::optional<std::string_view> locked;
    std::optional<std::string_view> state;
    std::optional<std::string_view> peer;
    std::optional<std::string_view> ice;
    std::optional<std::string_view> local;
    std::optional<std::string_view> remote;
    std::optional<std::string_view> protocol;
};

bool is_string(std::string_view literal)
{
    return literal.front() == '"';
}
bool is_null(std::string_view literal)
{
    return literal.front() == 'n';
}
bool is_object(std::string_view literal)
{
    return literal.front() == '{';
}

ProtocolError state_too_large(const std::string& action)
{
    return ProtocolError{
        ErrorCode::bad_state,
        "state must be at most " + std::to_string(max_state_bytes) + " bytes of JSON", action};
}

void record(Fields& fields, std::string_view key_literal, std::string_view value)
{
    std::string_view key = key_literal.substr(1, key_literal.size() - 2);
    std::string decoded;
    if (key.find('\\') != std::string_view::npos) {
        decoded = json_scan::decode_string(key_literal);
        key = decoded;
    }
    if (key == "action")
        fields.action = value;
    else if (key == "roomId")
        fields.room_id = value;
    else if (key == "name")
        fields.name = value;
    else if (key == "type")
        fields.type = value;
    else if (key == "data")
        fields.data = value;
    else if (key == "to")
        fields.to = value;
    else if (key == "token")
        fields.token = value;
    else if (key == "received")
        fields.received = value;
    else if (key == "clientId")
        fields.client_id = value;
    else if (key == "locked")
        fields.locked = value;
    else if (key == "state")
        fields.state = value;
    else if (key == "peer")
        fields.peer = value;
    else if (key == "ice")
        fields.ice = value;
    else if (key == "local")
        fields.local = value;
    else if (key == "remote")
        fields.remote = value;
    else if (key == "protocol")
        fields.protocol = value;
}

bool has_control_character(std::string_view text)
{
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7F)
            return true;
    }
    return false;
}

ProtocolError refuse(ErrorCode code, std::string message, std::optional<std::string> request)
{
    return ProtocolError{code, std::move(message), std::move(request)};
}

// roomId is required in every request, so its checks are shared.
std::variant<std::string, ProtocolError> read_room_id(const Fields& fields,
                                                      const std::string& action)
{
    if (!fields.room_id || !is_string(*fields.room_id))
        return refuse(ErrorCode::bad_message, "roomId must be a string", action);
    std::string room_id = json_scan::decode_string(*fields.room_id);
    if (!is_valid_room_id(room_id))
        return refuse(ErrorCode::bad_room_id,
                      "roomId must be 1 to 64 characters with no control characters", action);
    return room_id;
}

ParseResult parse_join(const Fields& fields, const std::string& action, ProtocolFeatures features)
{
    if (fields.name && !is_string(*fields.name) && !is_null(*fields.name))
        return refuse(ErrorCode::bad_message, "name must be a string or null", action);
    if (features.auth && fields.token && !is_string(*fields.token))
        return refuse(ErrorCode::bad_message, "token must be a string", action);
    if (fields.state && !is_object(*fields.state))
        return refuse(ErrorCode::bad_message, "state must be an object", action);
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);

    JoinRequest join{std::move(std::get<std::string>(room_id)), std::nullopt, std::nullopt,
                     std::nullopt};
    if (features.auth && fields.token)
        join.token = json_scan::decode_string(*fields.token);
    if (fields.name && is_string(*fields.name)) {
        std::string name = json_scan::decode_string(*fields.name);
        if (!is_valid_name(name))
            return refuse(ErrorCode::bad_name,
                          "name must be at most 64 characters with no control characters", action);
        if (!name.empty())
            join.name = std::move(name);
    }
    if (fields.state) {
        if (fields.state->size() > max_state_bytes)
            return state_too_large(action);
        join.state = std::string(*fields.state);
    }
    return Request{std::move(join)};
}

ParseResult parse_leave(const Fields& fields, const std::string& action)
{
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);
    return Request{LeaveRequest{std::move(std::get<std::string>(room_id))}};
}

std::optional<SignalType> signal_type_named(std::string_view name)
{
    for (auto type :
         {SignalType::offer, SignalType::answer, SignalType::ice_candidate, SignalType::hangup})
        if (to_string(type) == name)
            return type;
    return std::nullopt;
}

ParseResult parse_signal(const Fields& fields, const std::string& action)
{
    if (!fields.type || !is_string(*fields.type))
        return refuse(ErrorCode::bad_message, "type must be a string", action);
    // `to: null` is refused rather than read as "everyone": a client whose target variable is
    // unset must not broadcast an offer meant for one peer.
    if (fields.to && !is_string(*fields.to))
        return refuse(ErrorCode::bad_message, "to must be a string", action);
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);

    const auto type = signal_type_named(json_scan::decode_string(*fields.type));
    if (!type)
        return refuse(ErrorCode::bad_type, "type must be offer, answer, ice-candidate or hangup",
                      action);

    SignalRequest signal{std::move(std::get<std::string>(room_id)), *type, fields.data,
                         std::nullopt};
    if (fields.to)
        signal.to = json_scan::decode_string(*fields.to);
    return Request{std::move(signal)};
}

// A JSON number literal whose value is a non-negative integer (7, 7.0, 7e0, 70e-1, -0), saturated
// at the largest 64-bit value; nullopt for anything else. The literal is valid JSON already.
std::optional<std::uint64_t> non_negative_integer(std::string_view literal)
{
    if (literal.empty() ||
        !(literal.front() == '-' || (literal.front() >= '0' && literal.front() <= '9')))
        return std::nullopt;
    if (literal.find_first_not_of("0123456789") == std::string_view::npos) {
        std::uint64_t value = 0;
        for (char c : literal) {
            const auto digit = static_cast<std::uint64_t>(c - '0');
            if (value > (UINT64_MAX - digit) / 10)
                return UINT64_MAX;
            value = value * 10 + digit;
        }
        return value;
    }
    // A fraction or an exponent: the value decides, as it would for JSON.parse.
    const double value = std::strtod(std::string(literal).c_str(), nullptr);
    if (!(value >= 0) || value != std::floor(value))
        return std::nullopt;
    if (value >= 18446744073709551616.0) // 2^64, and infinity
        return UINT64_MAX;
    return static_cast<std::uint64_t>(value);
}

ParseResult parse_resume(const Fields& fields, const std::string& action)
{
    if (!fields.token || !is_string(*fields.token))
        return refuse(ErrorCode::bad_message, "token must be a string", action);
    const auto received = fields.received ? non_negative_integer(*fields.received) : std::nullopt;
    if (!received)
        return refuse(ErrorCode::bad_message, "received must be a non-negative integer", action);
    return Request{ResumeRequest{json_scan::decode_string(*fields.token), *received}};
}

ParseResult parse_update(const Fields& fields, const std::string& action)
{
    if (!fields.state || !is_object(*fields.state))
        return refuse(ErrorCode::bad_message, "state must be an object", action);
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);
    if (fields.state->size() > max_state_bytes)
        return state_too_large(action);
    return Request{UpdateRequest{std::move(std::get<std::string>(room_id)), *fields.state}};
}

ParseResult parse_kick(const Fields& fields, const std::string& action)
{
    if (!fields.client_id || !is_string(*fields.client_id))
        return refuse(ErrorCode::bad_message, "clientId must be a string", action);
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);
    return Request{KickRequest{std::move(std::get<std::string>(room_id)),
                               json_scan::decode_string(*fields.client_id)}};
}

ParseResult parse_lock(const Fields& fields, const std::string& action)
{
    if (!fields.locked || (*fields.locked != "true" && *fields.locked != "false"))
        return refuse(ErrorCode::bad_message, "locked must be true or false", action);
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);
    return Request{
        LockRequest{std::move(std::get<std::string>(room_id)), *fields.locked == "true"}};
}

// The value named by a string literal among count enumerators, or nullopt.
template <class Enum>
std::optional<Enum> enum_named(std::string_view literal, std::size_t count)
{
    const std::string name = json_scan::decode_string(literal);
    for (std::size_t i = 0; i < count; ++i)
        if (to_string(static_cast<Enum>(i)) == name)
            return static_cast<Enum>(i);
    return std::nullopt;
}

ParseResult parse_report(const Fields& fields, const std::string& action)
{
    if (!fields.peer || !is_string(*fields.peer))
        return refuse(ErrorCode::bad_message, "peer must be a string", action);
    if (!fields.ice || !is_string(*fields.ice))
        return refuse(ErrorCode::bad_message, "ice must be a string", action);
    for (const auto& [field, name] :
         {std::pair{fields.local, "local"}, std::pair{fields.remote, "remote"},
          std::pair{fields.protocol, "protocol"}})
        if (field && !is_string(*field))
            return refuse(ErrorCode::bad_message, std::string(name) + " must be a string", action);
    auto room_id = read_room_id(fields, action);
    if (auto* error = std::get_if<ProtocolError>(&room_id))
        return std::move(*error);

    ReportRequest report{std::move(std::get<std::string>(room_id)),
                         json_scan::decode_string(*fields.peer), std::nullopt};
    const std::string ice = json_scan::decode_string(*fields.ice);
    if (ice == "failed")
        return Request{std::move(report)};
    if (ice != "connected")
        return refuse(ErrorCode::bad_report, "ice must be connected or failed", action);
    const auto local = fields.local ? enum_named<CandidateType>(*fields.local, candidate_type_count)
                                    : std::nullopt;
    if (!local)
        return refuse(ErrorCode::bad_report, "local must be host, srflx, prflx or relay", action);
    const auto remote = fields.remote
                            ? enum_named<CandidateType>(*fields.remote, candidate_type_count)
                            : std::nullopt;
    if (!remote)
        return refuse(ErrorCode::bad_report, "remote must be host, srflx, prflx or relay", action);
    const auto protocol = fields.protocol
                              ? enum_named<IceProtocol>(*fields.protocol, ice_protocol_count)
                              : std::nullopt;
    if (!protocol)
        return refuse(ErrorCode::bad_report, "protocol must be udp, tcp or tls", action);
    report.path = IcePath{*local, *remote, *protocol};
    return Request{std::move(report)};
}

// The unknown-action message lists what this server knows.
std::string known_actions(ProtocolFeatures features)
{
    std::vector<std::string_view> names{"join", "leave", "signal", "update", "report"};
    if (features.resume)
        names.emplace_back("resume");
    if (features.auth)
        names.insert(names.end(), {"kick", "lock"});
    std::string out = "action must be ";
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            out += i + 1 == names.size() ? " or " : ", ";
        out += names[i];
    }
    return out;
}

// Appends s as a JSON string literal, escaped as nlohmann escapes it; the replace handler means
// invalid UTF-8 becomes U+FFFD and can never throw. Ids, room names and most names are plain
// printable ASCII, which needs no escaping: they are copied between quotes, without the three
// allocations of a json value and its dump (every relayed signal carries two such strings).
void append_string(std::string& out, std::string_view s)
{
    const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
    });
    if (!plain) {
        out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
    }
    out += '"';
    out += s;
    out += '"';
}

void append_peer(std::string& out, const Peer& peer)
{
    out += R"({"clientId":)";
    append_string(out, peer.client_id);
    if (peer.name) {
        out += R"(,"name":)";
        append_string(out, *peer.name);
    }
    if (peer.suspended)
        out += R"(,"suspended":true)";
    if (peer.state) {
        out += R"(,"state":)";
        out += *peer.state;
    }
    out += '}';
}

void append_peers(std::string& out, std::span<const Peer> peers)
{
    out += '[';
    for (std::size_t i = 0; i < peers.size(); ++i) {
        if (i > 0)
            out += ',';
        append_peer(out, peers[i]);
    }
    out += ']';
}

// `iceServers` (joined, peer-joined, resumed): already JSON array text; nothing when empty.
void append_ice_servers(std::string& out, std::string_view ice_servers)
{
    if (ice_servers.empty())
        return;
    out += R"(,"iceServers":)";
    out += ice_servers;
}

// Starts {"action":"<action>","roomId":<room_id> — the opening every room message shares.
std::string start_room_message(std::string_view action, std::string_view room_id,
                               std::size_t more = 64)
{
    // Allocated once for the whole message: more is what the caller will add.
    std::string out;
    out.reserve(32 + action.size() + room_id.size() + more);
    out = R"({"action":")";
    out += action;
    out += R"(","roomId":)";
    append_string(out, room_id);
    return out;
}

// `"reason":...` of left and peer-left; nothing when empty.
void append_reason(std::string& out, std::string_view reason)
{
    if (reason.empty())
        return;
    out += R"(,"reason":)";
    append_string(out, reason);
}

// peer-left, peer-suspended, peer-resumed: something happened to one member.
std::string member_event(std::string_view action, std::string_view room_id,
                         std::string_view client_id, std::string_view reason = {})
{
    std::string out = start_room_message(action, room_id);
    out += R"(,"clientId":)";
    append_string(out, client_id);
    append_reason(out, reason);
    out += '}';
    return out;
}

} // namespace

std::string_view to_string(ErrorCode code)
{
    switch (code) {
    case ErrorCode::bad_json:
        return "bad-json";
    case ErrorCode::bad_message:
        return "bad-message";
    case ErrorCode::unknown_action:
        return "unknown-action";
    case ErrorCode::bad_room_id:
        return "bad-room-id";
    case ErrorCode::bad_name:
        return "bad-name";
    case ErrorCode::bad_type:
        return "bad-type";
    case ErrorCode::not_in_room:
        return "not-in-room";
    case ErrorCode::already_joined:
        return "already-joined";
    case ErrorCode::unknown_peer:
        return "unknown-peer";
    case ErrorCode::room_full:
        return "room-full";
    case ErrorCode::resume_failed:
        return "resume-failed";
    case ErrorCode::unavailable:
        return "unavailable";
    case ErrorCode::unauthorized:
        return "unauthorized";
    case ErrorCode::banned:
        return "banned";
    case ErrorCode::room_locked:
        return "room-locked";
    case ErrorCode::forbidden:
        return "forbidden";
    case ErrorCode::bad_state:
        return "bad-state";
    case ErrorCode::bad_report:
        return "bad-report";
    case ErrorCode::rate_limited:
        return "rate-limited";
    }
    return "internal";
}

std::string_view action_of(const Request& request)
{
    struct Name
    {
        std::string_view operator()(const JoinRequest&) const { return "join"; }
        std::string_view operator()(const LeaveRequest&) const { return "leave"; }
        std::string_view operator()(const SignalRequest&) const { return "signal"; }
        std::string_view operator()(const ResumeRequest&) const { return "resume"; }
        std::string_view operator()(const KickRequest&) const { return "kick"; }
        std::string_view operator()(const LockRequest&) const { return "lock"; }
        std::string_view operator()(const UpdateRequest&) const { return "update"; }
        std::string_view operator()(const ReportRequest&) const { return "report"; }
    };
    return std::visit(Name{}, request);
}

std::string_view to_string(SignalType type)
{
    switch (type) {
    case SignalType::offer:
        return "offer";
    case SignalType::answer:
        return "answer";
    case SignalType::ice_candidate:
        return "ice-candidate";
    case SignalType::hangup:
        return "hangup";
    }
    return "internal";
}

std::string_view to_string(CandidateType type)
{
    switch (type) {
    case CandidateType::host:
        return "host";
    case CandidateType::srflx:
        return "srflx";
    case CandidateType::prflx:
        return "prflx";
    case CandidateType::relay:
        return "relay";
    }
    return "internal";
}

std::string_view to_string(IceProtocol protocol)
{
    switch (protocol) {
    case IceProtocol::over_udp:
        return "udp";
    case IceProtocol::over_tcp:
        return "tcp";
    case IceProtocol::over_tls:
        return "tls";
    }
    return "internal";
}

bool is_valid_room_id(std::string_view room_id)
{
    const std::size_t chars = utf8::count_code_points(room_id);
    return chars >= 1 && chars <= max_room_id_chars && !has_control_character(room_id);
}

bool is_valid_name(std::string_view name)
{
    return utf8::count_code_points(name) <= max_name_chars && !has_control_character(name);
}

ParseResult parse_request(std::string_view text, ProtocolFeatures features)
{
    Fields fields;
    const auto shape =
        json_scan::scan_object(text, [&](auto key, auto value) { record(fields, key, value); });
    if (shape == json_scan::Shape::invalid)
        return refuse(ErrorCode::bad_json, "message is not valid JSON", std::nullopt);
    if (shape == json_scan::Shape::not_object)
        return refuse(ErrorCode::bad_message, "message must be a JSON object", std::nullopt);
    if (!fields.action || !is_string(*fields.action))
        return refuse(ErrorCode::bad_message, "action must be a string", std::nullopt);

    const std::string action = json_scan::decode_string(*fields.action);
    if (action == "join")
        return parse_join(fields, action, features);
    if (action == "leave")
        return parse_leave(fields, action);
    if (action == "signal")
        return parse_signal(fields, action);
    if (action == "update")
        return parse_update(fields, action);
    if (action == "report")
        return parse_report(fields, action);
    if (features.resume && action == "resume")
        return parse_resume(fields, action);
    if (features.auth && action == "kick")
        return parse_kick(fields, action);
    if (features.auth && action == "lock")
        return parse_lock(fields, action);
    return refuse(ErrorCode::unknown_action, known_actions(features), action);
}

namespace reply {

std::string joined(std::string_view room_id, std::string_view client_id,
                   std::span<const Peer> peers, std::string_view ice_servers,
                   std::string_view resume_token, bool locked)
{
    std::string out = start_room_message("joined", room_id);
    out += R"(,"clientId":)";
    append_string(out, client_id);
    out += R"(,"peers":)";
    append_peers(out, peers);
    if (locked)
        out += R"(,"locked":true)";
    if (!resume_token.empty()) {
        out += R"(,"resumeToken":)";
        append_string(out, resume_token);
    }
    append_ice_servers(out, ice_servers);
    out += '}';
    return out;
}

std::string resumed(std::string_view room_id, std::string_view client_id,
                    std::string_view resume_token, std::string_view ice_servers,
                    std::optional<GapView> gap)
{
    std::string out = start_room_message("resumed", room_id);
    out += R"(,"clientId":)";
    append_string(out, client_id);
    out += R"(,"resumeToken":)";
    append_string(out, resume_token);
    if (gap) {
        out += R"(,"gap":true,"peers":)";
        append_peers(out, gap->peers);
        if (gap->locked)
            out += R"(,"locked":true)";
    }
    append_ice_servers(out, ice_servers);
    out += '}';
    return out;
}

std::string peer_suspended(std::string_view room_id, std::string_view client_id)
{
    return member_event("peer-suspended", room_id, client_id);
}

std::string peer_resumed(std::string_view room_id, std::string_view client_id)
{
    return member_event("peer-resumed", room_id, client_id);
}

std::string peer_joined(std::string_view room_id, const Peer& peer, std::string_view ice_servers)
{
    std::string out = start_room_message("peer-joined", room_id);
    out += R"(,"peer":)";
    append_peer(out, peer);
    append_ice_servers(out, ice_servers);
    out += '}';
    return out;
}

std::string peer_left(std::string_view room_id, std::string_view client_id, std::string_view reason)
{
    return member_event("peer-left", room_id, client_id, reason);
}

std::string left(std::string_view room_id, std::string_view reason)
{
    std::string out = start_room_message("left", room_id);
    append_reason(out, reason);
    out += '}';
    return out;
}

std::string peer_updated(std::string_view room_id, std::string_view client_id,
                         std::string_view state)
{
    std::string out = start_room_message("peer-updated", room_id, 32 + state.size());
    out += R"(,"clientId":)";
    append_string(out, client_id);
    out += R"(,"state":)";
    out += state;
    out += '}';
    return out;
}

std::string room_locked(std::string_view room_id, bool locked)
{
    std::string out = start_room_message("room-locked", room_id);
    out += locked ? R"(,"locked":true})" : R"(,"locked":false})";
    return out;
}

std::string signal(std::string_view room_id, std::string_view from, SignalType type,
                   std::optional<std::string_view> data, std::optional<std::string_view> to)
{
    std::string out = start_room_message(
        "signal", room_id, 64 + from.size() + (data ? data->size() : 0) + (to ? to->size() : 0));
    out += R"(,"from":)";
    append_string(out, from);
    out += R"(,"type":")";
    out += to_string(type);
    out += '"';
    if (data) {
        out += R"(,"data":)";
        out += *data;
    }
    if (to) {
        out += R"(,"to":)";
        append_string(out, *to);
    }
    out += '}';
    return out;
}

std::string error(const ProtocolError& error)
{
    std::string out = R"({"action":"error","code":")";
    out += to_string(error.code);
    out += R"(","message":)";
    append_string(out, error.message);
    if (error.request) {
        out += R"(,"request":)";
        append_string(out, *error.request);
    }
    out += '}';
    return out;
}

} // namespace reply
} // namespace signald
