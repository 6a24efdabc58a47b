#include "signald/core/hub.hpp"

#include "signald/core/close_codes.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <vector>

namespace signald {
namespace {

template <class... Ts>
struct Overloaded : Ts...
{
    using Ts::operator()...;
};
// Spelled out because clang 14 lacks C++20's aggregate deduction (the fuzzers build with clang).
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

} // namespace

Hub::Hub(Transport& transport, IdSource& ids, HubLimits limits, Clock clock,
         IceServersFor ice_servers)
    : transport_(transport), delivery_(transport), ids_(ids), limits_(limits),
      clock_(clock ? std::move(clock) : Clock{[] { return std::chrono::steady_clock::now(); }}),
      ice_servers_(std::move(ice_servers))
{}

// --- where messages leave ----------------------------------------------------------------

template <class TextFor>
void Hub::publish(const std::string& room_id, const ClientId& except, OutAction action,
                  TextFor&& text_for)
{
    // Delivery never calls back into Hub, so the member list cannot change during this walk.
    for (const Member& member : rooms_.members(room_id))
        if (member.client_id != except)
            deliver(member, action, text_for(member));
}

void Hub::answer(const ClientId& to, OutAction action, const Text& text)
{
    deliver(Member{to, std::nullopt, this_node}, action, text);
}

void Hub::deliver(const Member& to, OutAction action, const Text& text)
{
    stats_.sent(action, text->size());
    delivery_.send(to, text);
}

// --- the protocol rules ---------------------------------------------------------------------

ClientId Hub::connect()
{
    // A collision among 36^10 ids is astronomically rare, but a broken source must not loop
    // forever.
    for (int attempt = 0; attempt < 100; ++attempt) {
        ClientId id = ids_.next();
        if (clients_.contains(id))
            continue;
        clients_.emplace(id,
                         ClientState{std::nullopt,
                                     RateLimiter(limits_.rate, limits_.max_message_bytes, clock_()),
                                     false, false});
        return id;
    }
    throw std::runtime_error("id source keeps returning ids in use");
}

std::optional<std::string> Hub::room_of(const ClientId& id) const
{
    const auto client = clients_.find(id);
    return client == clients_.end() ? std::nullopt : client->second.room;
}

void Hub::on_text(const ClientId& from, std::string_view text)
{
    const auto client = clients_.find(from);
    if (client == clients_.end())
        return;
    if (!admit(from, client->second, text.size()))
        return stats_.received(InAction::dropped, text.size());

    auto parsed = parse_request(text);
    if (auto* error = std::get_if<ProtocolError>(&parsed)) {
        stats_.received(InAction::invalid, text.size());
        spdlog::debug("{} refused: {}", from, to_string(error->code));
        send_error(from, *error);
        return;
    }
    std::visit(Overloaded{
                   [&](JoinRequest& join) {
                       stats_.received(InAction::join, text.size());
                       handle_join(from, client->second, std::move(join));
                   },
                   [&](LeaveRequest& leave) {
                       stats_.received(InAction::leave, text.size());
                       handle_leave(from, client->second, leave);
                   },
                   [&](SignalRequest& signal) {
                       stats_.received(InAction::signal, text.size());
                       handle_signal(from, client->second, signal);
                   },
               },
               std::get<Request>(parsed));
}

void Hub::disconnect(const ClientId& id)
{
    const auto client = clients_.find(id);
    if (client == clients_.end())
        return;
    if (client->second.room)
        leave_room(id, client->second, "disconnected");
    clients_.erase(client);
}

bool Hub::admit(const ClientId& id, ClientState& client, std::size_t bytes)
{
    if (client.closing)
        return false;
    switch (client.limiter.check(bytes, clock_())) {
    case RateLimiter::Verdict::allow:
        client.limited = false;
        return true;
    case RateLimiter::Verdict::refuse:
        ++stats_.rate_limited;
        if (!client.limited)
            spdlog::warn("{} rate-limited: dropping messages until it slows down", id);
        client.limited = true;
        send_error(id, ProtocolError{ErrorCode::rate_limited, "too many messages; slow down", {}});
        return false;
    case RateLimiter::Verdict::abuse:
        ++stats_.abuse_closes;
        spdlog::warn("{} closing (1008): kept flooding while rate-limited", id);
        client.closing = true;
        transport_.close(id, close_code::policy_violation);
        return false;
    }
    return false;
}

void Hub::handle_join(const ClientId& id, ClientState& client, JoinRequest&& join)
{
    if (client.room == join.room_id)
        return send_error(id, ErrorCode::already_joined, "already in this room", "join");
    // Refusals come before any change, so a refused join leaves the client where it was.
    if (rooms_.members(join.room_id).size() >= limits_.max_room_size)
        return send_error(id, ErrorCode::room_full,
                          "room is full (" + std::to_string(limits_.max_room_size) + " members)",
                          "join");

    if (client.room) {
        const std::string old_room = *client.room;
        leave_room(id, client, "switched rooms");
        answer(id, OutAction::left, make_text(reply::left(old_room)));
    }

    // Per join, not per connection: TURN credentials expire, and a rejoin should get fresh ones.
    const std::string ice_servers = ice_servers_ ? ice_servers_(id) : std::string{};
    std::vector<Peer> peers;
    peers.reserve(rooms_.members(join.room_id).size());
    for (const Member& member : rooms_.members(join.room_id))
        peers.push_back(member.peer());
    Member newcomer{id, std::move(join.name)};
    const Peer peer = newcomer.peer();

    // The joiner hears `joined` before anyone hears `peer-joined`, so nothing the others send in
    // reaction can reach it first.
    answer(id, OutAction::joined, make_text(reply::joined(join.room_id, id, peers, ice_servers)));
    if (ice_servers_) {
        // Each member is about to call the newcomer, perhaps long after its own joined: it gets
        // credentials of its own that are fresh now, so one text per member instead of one shared.
        publish(join.room_id, id, OutAction::peer_joined, [&](const Member& member) {
            return make_text(
                reply::peer_joined(join.room_id, peer, ice_servers_(member.client_id)));
        });
    } else {
        const Text text = make_text(reply::peer_joined(join.room_id, peer));
        publish(join.room_id, id, OutAction::peer_joined,
                [&](const Member&) -> const Text& { return text; });
    }

    client.room = join.room_id;
    rooms_.add(join.room_id, std::move(newcomer));
    spdlog::info("{} joined {} ({} members)", id, join.room_id,
                 rooms_.members(join.room_id).size());
}

void Hub::handle_leave(const ClientId& id, ClientState& client, const LeaveRequest& leave)
{
    if (client.room != leave.room_id)
        return send_error(id, ErrorCode::not_in_room, "not in this room", "leave");
    leave_room(id, client, "left");
    answer(id, OutAction::left, make_text(reply::left(leave.room_id)));
}

void Hub::handle_signal(const ClientId& id, const ClientState& client, const SignalRequest& signal)
{
    if (client.room != signal.room_id)
        return send_error(id, ErrorCode::not_in_room, "not in this room", "signal");

    if (signal.to) {
        const Member* to = *signal.to == id ? nullptr : rooms_.find(signal.room_id, *signal.to);
        if (to == nullptr)
            return send_error(id, ErrorCode::unknown_peer,
                              "no other member of this room has that clientId", "signal");
        spdlog::debug("{} {} -> {} ({} bytes of data)", id, to_string(signal.type), *signal.to,
                      signal.data ? signal.data->size() : 0);
        deliver(*to, OutAction::signal,
                make_text(reply::signal(signal.room_id, id, signal.type, signal.data, signal.to)));
        return;
    }

    spdlog::debug("{} {} -> room {} ({} bytes of data)", id, to_string(signal.type), signal.room_id,
                  signal.data ? signal.data->size() : 0);
    const Text text =
        make_text(reply::signal(signal.room_id, id, signal.type, signal.data, std::nullopt));
    publish(signal.room_id, id, OutAction::signal,
            [&](const Member&) -> const Text& { return text; });
}

void Hub::leave_room(const ClientId& id, ClientState& client, std::string_view why)
{
    const std::string room_id = std::move(*client.room);
    client.room.reset();
    rooms_.remove(room_id, id);
    const Text text = make_text(reply::peer_left(room_id, id));
    publish(room_id, id, OutAction::peer_left, [&](const Member&) -> const Text& { return text; });
    spdlog::info("{} left {} ({}; {} members remain)", id, room_id, why,
                 rooms_.members(room_id).size());
}

void Hub::send_error(const ClientId& to, ErrorCode code, std::string message,
                     std::string_view request)
{
    spdlog::debug("{} refused {}: {}", to, request, to_string(code));
    send_error(to, ProtocolError{code, std::move(message), std::string(request)});
}

void Hub::send_error(const ClientId& to, const ProtocolError& error)
{
    ++stats_.errors[static_cast<std::size_t>(error.code)];
    answer(to, OutAction::error, make_text(reply::error(error)));
}

} // namespace signald
