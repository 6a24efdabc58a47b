// fuzz_protocol: one text frame, as a client could send it, through json_scan and parse_request.
// Checks that the scanner's verdict and member slices agree with nlohmann (json_reference.hpp),
// that parsing never throws, that what it accepts obeys the protocol's rules, and that every reply
// built from a parsed request is valid JSON carrying the same strings back.

#include "json_reference.hpp"

#include "signald/core/json_scan.hpp"
#include "signald/core/protocol.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace {

using namespace signald;
using nlohmann::json;

// Comparing DOMs recurses once per nesting level, so it is skipped for texts that could nest deeper
// than the stack comfortably holds under ASan (depth <= size).
constexpr std::size_t max_compared_bytes = 4096;

bool within(std::string_view part, std::string_view whole)
{
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// The reply must be valid JSON; returns its DOM. Replies carry `data` verbatim, so an oversized
// number in it is allowed, and read as 0.
json parse_reply(const std::string& reply)
{
    const auto normalised = fuzz::normalise_json(reply);
    FUZZ_CHECK(normalised.has_value());
    json parsed = json::parse(*normalised, nullptr, false);
    FUZZ_CHECK(parsed.is_object());
    return parsed;
}

bool has_string(const json& object, const char* key, std::string_view expected)
{
    const auto field = object.find(key);
    return field != object.end() && field->is_string() &&
           field->get_ref<const std::string&>() == expected;
}

json_scan::Shape check_scanner(std::string_view text)
{
    std::vector<std::pair<std::string_view, std::string_view>> members;
    const auto shape =
        json_scan::scan_object(text, [&](std::string_view key, std::string_view value) {
            members.emplace_back(key, value);
        });
    const auto reference = fuzz::normalise_json(std::string(text));
    FUZZ_CHECK((shape != json_scan::Shape::invalid) == reference.has_value());
    if (!reference)
        return shape;

    const std::size_t first = json_scan::skip_whitespace(text, 0);
    FUZZ_CHECK((shape == json_scan::Shape::object) == (text[first] == '{'));
    if (shape != json_scan::Shape::object)
        return shape;

    // Each slice is a complete literal of its own, inside text; together they rebuild the object
    // (the last of a duplicated key wins, as in nlohmann and JSON.parse).
    json rebuilt = json::object();
    for (const auto& [key, value] : members) {
        FUZZ_CHECK(within(key, text) && within(value, text));
        FUZZ_CHECK(json_scan::skip_string(key, 0) == key.size());
        FUZZ_CHECK(json_scan::skip_value(value, 0) == value.size());
        const auto value_normalised = fuzz::normalise_json(std::string(value));
        FUZZ_CHECK(value_normalised.has_value());
        const std::string decoded_key = json_scan::decode_string(key);
        FUZZ_CHECK(json(decoded_key) == json::parse(key));
        if (text.size() <= max_compared_bytes)
            rebuilt[decoded_key] = json::parse(*value_normalised);
    }
    if (text.size() <= max_compared_bytes)
        FUZZ_CHECK(rebuilt == json::parse(*reference));
    return shape;
}

void check_error(const ProtocolError& error, json_scan::Shape shape)
{
    // bad-json exactly when the scanner refused the text.
    FUZZ_CHECK((error.code == ErrorCode::bad_json) == (shape == json_scan::Shape::invalid));
    const std::string reply = reply::error(error);
    FUZZ_CHECK(json::accept(reply));
    const json parsed = json::parse(reply);
    FUZZ_CHECK(has_string(parsed, "action", "error"));
    FUZZ_CHECK(has_string(parsed, "code", to_string(error.code)));
    // The offending action is echoed; if it was invalid UTF-8 the scanner would have refused it.
    if (error.request)
        FUZZ_CHECK(has_string(parsed, "request", *error.request));
}

void check_join(const JoinRequest& join)
{
    FUZZ_CHECK(is_valid_room_id(join.room_id));
    if (join.name)
        FUZZ_CHECK(!join.name->empty() && is_valid_name(*join.name));

    const Peer other{"aaaaaaaaa1", join.name};
    const Peer peers[] = {other, Peer{"aaaaaaaaa2", std::nullopt}};
    const json joined = parse_reply(reply::joined(join.room_id, "aaaaaaaaa3", peers));
    FUZZ_CHECK(has_string(joined, "roomId", join.room_id));
    FUZZ_CHECK(joined["peers"].size() == 2);
    const json peer_joined = parse_reply(reply::peer_joined(join.room_id, other));
    FUZZ_CHECK(has_string(peer_joined, "roomId", join.room_id));
    if (join.name)
        FUZZ_CHECK(has_string(peer_joined["peer"], "name", *join.name));
    else
        FUZZ_CHECK(!peer_joined["peer"].contains("name"));
}

void check_leave(const LeaveRequest& leave)
{
    FUZZ_CHECK(is_valid_room_id(leave.room_id));
    FUZZ_CHECK(has_string(parse_reply(reply::left(leave.room_id)), "roomId", leave.room_id));
    const json peer_left = parse_reply(reply::peer_left(leave.room_id, "aaaaaaaaa1"));
    FUZZ_CHECK(has_string(peer_left, "roomId", leave.room_id));
}

void check_signal(const SignalRequest& signal, std::string_view text)
{
    FUZZ_CHECK(is_valid_room_id(signal.room_id));
    if (signal.data) {
        // Forwarded byte for byte, so it must be a slice of the frame and valid on its own.
        FUZZ_CHECK(within(*signal.data, text));
        FUZZ_CHECK(fuzz::is_valid_json(*signal.data));
    }
    const json forwarded = parse_reply(
        reply::signal(signal.room_id, "aaaaaaaaa1", signal.type, signal.data, signal.to));
    FUZZ_CHECK(has_string(forwarded, "roomId", signal.room_id));
    FUZZ_CHECK(has_string(forwarded, "from", "aaaaaaaaa1"));
    FUZZ_CHECK(has_string(forwarded, "type", to_string(signal.type)));
    FUZZ_CHECK(forwarded.contains("data") == signal.data.has_value());
    if (signal.to)
        FUZZ_CHECK(has_string(forwarded, "to", *signal.to));
    else
        FUZZ_CHECK(!forwarded.contains("to"));
}

void check_update(const UpdateRequest& update, std::string_view text)
{
    FUZZ_CHECK(is_valid_room_id(update.room_id));
    FUZZ_CHECK(within(update.state, text) && update.state.size() <= max_state_bytes);
    const json updated =
        parse_reply(reply::peer_updated(update.room_id, "aaaaaaaaa1", update.state));
    FUZZ_CHECK(has_string(updated, "roomId", update.room_id) && updated["state"].is_object());
}

// What a report says is what the reference parser reads in the text: the path exactly when ice
// is "connected", with the three fields' own words.
void check_report(const ReportRequest& report, std::string_view text)
{
    FUZZ_CHECK(is_valid_room_id(report.room_id));
    const auto normalised = fuzz::normalise_json(std::string(text));
    FUZZ_CHECK(normalised.has_value());
    const json reference = json::parse(*normalised);
    FUZZ_CHECK(has_string(reference, "peer", report.peer));
    FUZZ_CHECK(has_string(reference, "ice", report.path ? "connected" : "failed"));
    if (report.path) {
        FUZZ_CHECK(has_string(reference, "local", to_string(report.path->local)));
        FUZZ_CHECK(has_string(reference, "remote", to_string(report.path->remote)));
        FUZZ_CHECK(has_string(reference, "protocol", to_string(report.path->protocol)));
    }
}

// With every part of the protocol on (docs/protocol.md 7.4): a kick or a lock has a valid room,
// and the messages built from it carry its strings as valid JSON.
void check_with_every_feature(std::string_view text)
{
    const auto parsed = parse_request(text, ProtocolFeatures{.resume = true, .auth = true});
    const auto* request = std::get_if<Request>(&parsed);
    if (request == nullptr)
        return;
    if (const auto* kick = std::get_if<KickRequest>(request)) {
        FUZZ_CHECK(is_valid_room_id(kick->room_id));
        const json left = json::parse(reply::left(kick->room_id, "kicked"), nullptr, false);
        FUZZ_CHECK(has_string(left, "roomId", kick->room_id) &&
                   has_string(left, "reason", "kicked"));
        const json peer_left =
            json::parse(reply::peer_left(kick->room_id, kick->client_id, "kicked"), nullptr, false);
        FUZZ_CHECK(has_string(peer_left, "clientId", kick->client_id));
    } else if (const auto* lock = std::get_if<LockRequest>(request)) {
        FUZZ_CHECK(is_valid_room_id(lock->room_id));
        const json locked =
            json::parse(reply::room_locked(lock->room_id, lock->locked), nullptr, false);
        FUZZ_CHECK(has_string(locked, "roomId", lock->room_id) && locked["locked"] == lock->locked);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(bytes), size);
    const auto shape = check_scanner(text);

    check_with_every_feature(text);
    const auto parsed = parse_request(text);
    if (const auto* error = std::get_if<ProtocolError>(&parsed)) {
        check_error(*error, shape);
        return 0;
    }
    FUZZ_CHECK(shape == json_scan::Shape::object);
    const auto& request = std::get<Request>(parsed);
    if (const auto* join = std::get_if<JoinRequest>(&request))
        check_join(*join);
    else if (const auto* leave = std::get_if<LeaveRequest>(&request))
        check_leave(*leave);
    else if (const auto* update = std::get_if<UpdateRequest>(&request))
        check_update(*update, text);
    else if (const auto* report = std::get_if<ReportRequest>(&request))
        check_report(*report, text);
    else
        check_signal(std::get<SignalRequest>(request), text);
    return 0;
}
