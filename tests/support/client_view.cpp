#include "client_view.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace signald::test {
namespace {

using json = nlohmann::json;

// Written out here, not taken from core: the oracle is a second, independent reading of
// docs/protocol.md (sections 5.3 and 7.2), so a wire string changed by mistake is caught.
constexpr std::array<std::string_view, 4> signal_types{"offer", "answer", "ice-candidate",
                                                       "hangup"};
constexpr std::array<std::string_view, 19> error_codes{
    "bad-json",      "bad-message",  "unknown-action", "bad-room-id",  "bad-name",
    "bad-type",      "not-in-room",  "already-joined", "unknown-peer", "room-full",
    "resume-failed", "rate-limited", "unavailable",    "unauthorized", "banned",
    "room-locked",   "forbidden",    "bad-state",      "bad-report"};

// Section 7.4: a left or peer-left says why only when a moderator kicked.
bool has_valid_reason(const json& message)
{
    const auto reason = message.find("reason");
    return reason == message.end() || *reason == "kicked";
}

// A top-level string field, or nullopt if absent or not a string.
std::optional<std::string> string_field(const json& object, const char* key)
{
    const auto field = object.find(key);
    if (field == object.end() || !field->is_string())
        return std::nullopt;
    return field->get<std::string>();
}

// Section 4: 10 characters of [0-9a-z].
bool is_client_id(const std::string& id)
{
    return id.size() == 10 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
           });
}

// A peer object's name: absent means none; present must be a non-empty string ("" is sent as no
// name). False if it is neither.
bool read_name(const json& peer, std::optional<std::string>& name)
{
    const auto field = peer.find("name");
    if (field == peer.end())
        return true;
    if (!field->is_string() || field->get_ref<const std::string&>().empty())
        return false;
    name = field->get<std::string>();
    return true;
}

// A peer object's state (section 6.1): absent until the member has one; present must be an
// object, kept as its compact JSON text. False if it is neither.
bool read_state(const json& peer, std::optional<std::string>& state)
{
    const auto field = peer.find("state");
    if (field == peer.end())
        return true;
    if (!field->is_object())
        return false;
    state = field->dump();
    return true;
}

Violation wrong(std::string rule, std::string detail)
{
    return Violation{std::move(rule), std::move(detail)};
}

} // namespace

bool is_protocol_signal_type(const std::string& type)
{
    return std::find(signal_types.begin(), signal_types.end(), type) != signal_types.end();
}

bool is_protocol_error_code(const std::string& code)
{
    return std::find(error_codes.begin(), error_codes.end(), code) != error_codes.end();
}

std::vector<std::string> ClientView::others() const
{
    std::vector<std::string> out;
    for (const std::string& id : members_)
        if (id != self_)
            out.push_back(id);
    return out;
}

std::optional<Violation> ClientView::apply(const json& message)
{
    if (!message.is_object())
        return wrong("not-an-object", "a server message is a JSON object");
    const auto action = string_field(message, "action");
    if (!action)
        return wrong("no-action", "action missing or not a string");

    if (*action == "error") {
        const auto code = string_field(message, "code");
        if (!code || !is_protocol_error_code(*code) || !string_field(message, "message"))
            return wrong("error-bad", "error without a known code or a message string");
        if (message.contains("request") && !string_field(message, "request"))
            return wrong("error-bad", "request present but not a string");
        return std::nullopt;
    }

    const auto room = string_field(message, "roomId");
    if (!room)
        return wrong("no-room-id", *action + " without a string roomId");
    if (*action == "joined")
        return apply_joined(message, *room);

    const bool known = *action == "peer-joined" || *action == "peer-left" || *action == "left" ||
                       *action == "signal" || *action == "resumed" || *action == "peer-suspended" ||
                       *action == "peer-resumed" || *action == "room-locked" ||
                       *action == "peer-updated";
    if (!known)
        return wrong("unknown-action", "no server message is called " + *action);
    // Section 9: nothing about a room after left, and nothing about one before joined.
    if (room_ != *room)
        return wrong(*action + "-wrong-room", *action + " for " + *room +
                                                  ", but the client is in " +
                                                  room_.value_or("no room"));

    if (*action == "peer-joined") {
        const auto peer = message.find("peer");
        std::optional<std::string> id;
        std::optional<std::string> name;
        std::optional<std::string> state;
        if (peer != message.end() && peer->is_object())
            id = string_field(*peer, "clientId");
        if (!id || *id == self_ || !read_name(*peer, name) || !read_state(*peer, state))
            return wrong("peer-joined-bad",
                         "peer-joined without a well-formed peer, or for itself");
        if (names_.contains(*id))
            return wrong("peer-joined-duplicate", "peer-joined for " + *id + ", already present");
        members_.push_back(*id);
        names_[*id] = std::move(name);
        states_[*id] = std::move(state);
        ++episodes_[*id].arrivals;
    } else if (*action == "peer-left") {
        if (!has_valid_reason(message))
            return wrong("peer-left-bad-reason", "reason present but not \"kicked\"");
        const auto id = string_field(message, "clientId");
        if (!id || !names_.contains(*id))
            return wrong("peer-left-unknown", "peer-left for " + id.value_or("no clientId") +
                                                  ", not present (a duplicate, or never joined)");
        names_.erase(*id);
        states_.erase(*id);
        std::erase(members_, *id);
        suspended_.erase(*id);
        ++episodes_[*id].departures;
    } else if (*action == "peer-suspended") {
        const auto id = string_field(message, "clientId");
        if (!id || !names_.contains(*id) || suspended_.contains(*id))
            return wrong("peer-suspended-bad", "peer-suspended for " + id.value_or("no clientId") +
                                                   ", not present or suspended already");
        suspended_.insert(*id);
    } else if (*action == "peer-resumed") {
        // Section 8.1: only after peer-suspended for it, or seeing it listed as suspended.
        const auto id = string_field(message, "clientId");
        if (!id || !suspended_.contains(*id))
            return wrong("peer-resumed-bad", "peer-resumed for " + id.value_or("no clientId") +
                                                 ", which this client did not know as suspended");
        suspended_.erase(*id);
    } else if (*action == "resumed") {
        // The same membership goes on: same room, same clientId. The replay that follows brings
        // the view up to date; nothing is reset.
        if (string_field(message, "clientId") != self_ || !string_field(message, "resumeToken"))
            return wrong("resumed-bad", "resumed for another clientId, or without resumeToken");
        ++resumes_;
        if (message.contains("gap"))
            locked_ = message.value("locked", false);
    } else if (*action == "peer-updated") {
        // Section 6.11: about another member present, with its whole state, an object.
        const auto id = string_field(message, "clientId");
        const auto state = message.find("state");
        if (!id || !names_.contains(*id) || state == message.end() || !state->is_object())
            return wrong("peer-updated-bad", "peer-updated for " + id.value_or("no clientId") +
                                                 ", not present, or without an object state");
        states_[*id] = state->dump();
    } else if (*action == "room-locked") {
        const auto locked = message.find("locked");
        if (locked == message.end() || !locked->is_boolean())
            return wrong("room-locked-bad", "room-locked without a boolean locked");
        locked_ = locked->get<bool>();
    } else if (*action == "left") {
        if (!has_valid_reason(message))
            return wrong("left-bad-reason", "reason present but not \"kicked\"");
        kicked_ = message.contains("reason");
        locked_ = false;
        states_.clear();
        room_.reset();
        members_.clear();
        names_.clear();
        suspended_.clear();
        episodes_.clear();
    } else {
        return apply_signal(message);
    }
    return std::nullopt;
}

std::optional<Violation> ClientView::apply_joined(const json& message, const std::string& room)
{
    // Section 9: a client that moves rooms hears left for the old room first.
    if (room_)
        return wrong("joined-before-left", "joined " + room + " while still in " + *room_);
    const auto id = string_field(message, "clientId");
    if (!id || !is_client_id(*id))
        return wrong("joined-bad-id", "clientId is not 10 characters of [0-9a-z]");
    if (!self_.empty() && *id != self_)
        return wrong("id-changed", "joined says clientId " + *id + ", but this client is " + self_);
    const auto peers = message.find("peers");
    if (peers == message.end() || !peers->is_array())
        return wrong("joined-no-peers", "joined without a peers array");

    std::vector<std::string> members;
    std::map<std::string, std::optional<std::string>> names;
    std::map<std::string, std::optional<std::string>> states;
    std::set<std::string> suspended;
    for (const json& peer : *peers) {
        std::optional<std::string> peer_id;
        std::optional<std::string> name;
        if (peer.is_object())
            peer_id = string_field(peer, "clientId");
        if (!peer_id || *peer_id == *id || names.contains(*peer_id) || !read_name(peer, name) ||
            !read_state(peer, states[*peer_id]))
            return wrong("joined-bad-peers", "peers lists itself, a duplicate, a bad name or "
                                             "state, or a peer without clientId");
        const auto flag = peer.find("suspended");
        if (flag != peer.end()) {
            if (*flag != true)
                return wrong("joined-bad-peers", "suspended is present but not true");
            suspended.insert(*peer_id);
        }
        members.push_back(*peer_id);
        names[*peer_id] = std::move(name);
    }
    const auto locked = message.find("locked");
    if (locked != message.end() && *locked != true)
        return wrong("joined-bad-locked", "locked is present but not true");
    self_ = *id;
    room_ = room;
    locked_ = locked != message.end();
    kicked_ = false;
    members_ = std::move(members);
    members_.push_back(self_);
    names_ = std::move(names);
    states_ = std::move(states);
    suspended_ = std::move(suspended);
    episodes_.clear();
    for (const auto& [peer_id, name] : names_)
        ++episodes_[peer_id].arrivals;
    return std::nullopt;
}

std::optional<Violation> ClientView::apply_signal(const json& message)
{
    const auto from = string_field(message, "from");
    // Section 9: peer-joined comes before the newcomer's signals, and none follow its peer-left.
    if (!from || !names_.contains(*from))
        return wrong("signal-from-non-member",
                     "signal from " + from.value_or("nobody") + ", not present in the view");
    const auto type = string_field(message, "type");
    if (!type || !is_protocol_signal_type(*type))
        return wrong("signal-bad-type", "signal type " + type.value_or("(none)") + " is unknown");
    if (message.contains("to") && string_field(message, "to") != self_)
        return wrong("signal-misdirected", "a signal with `to` for someone else");
    return std::nullopt;
}

} // namespace signald::test
