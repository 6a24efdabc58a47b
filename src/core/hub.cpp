#include "signald/core/hub.hpp"

#include "signald/core/base64url.hpp"
#include "signald/core/close_codes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
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

// A token is the member's clientId, then its secret in base64url: 4 characters per 3 bytes.
constexpr std::size_t secret_chars = std::tuple_size_v<ResumeSecret> / 3 * 4;

std::string encode_secret(const ResumeSecret& secret)
{
    return base64url::encode(
        std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
}

// Compares in time that does not depend on where the texts differ, so a client cannot find a
// secret character by character.
bool same_secret(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    unsigned char differ = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        differ |= static_cast<unsigned char>(a[i] ^ b[i]);
    return differ == 0;
}

} // namespace

Hub::Hub(Transport& transport, IdSource& ids, HubLimits limits, Clock clock,
         IceServersFor ice_servers, JoinCheck join_check)
    : transport_(transport), delivery_(transport), ids_(ids), limits_(limits),
      rate_policy_(limits.rate, limits.max_message_bytes),
      clock_(clock ? std::move(clock) : Clock{[] { return std::chrono::steady_clock::now(); }}),
      ice_servers_(std::move(ice_servers)), join_check_(std::move(join_check))
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
    if (resume_on() && to.where == this_node) {
        const auto client = clients_.find(to.client_id);
        if (client != clients_.end() && !keep(client->first, client->second, text))
            return;
    }
    delivery_.send(to, text);
}

bool Hub::keep(const ClientId& id, ClientState& client, const Text& text)
{
    if (client.suspended) {
        if (!client.resume)
            return false; // doomed already
        if (client.resume->outbox.bytes() + text->size() > limits_.resume_buffer_bytes) {
            // Removing it here would change the member list under the fan-out that is running.
            spdlog::info("{} held more than {} bytes while suspended", id,
                         limits_.resume_buffer_bytes);
            client.resume.reset();
            doomed_.push_back(id);
            return false;
        }
        client.resume->outbox.push(text, limits_.resume_buffer_bytes);
        return false;
    }
    ++client.texts;
    if (client.resume)
        client.resume->outbox.push(text, limits_.resume_buffer_bytes);
    return true;
}

// --- the protocol rules ---------------------------------------------------------------------

ClientId Hub::connect()
{
    // A collision among 36^10 ids is astronomically rare, but a broken source must not loop
    // forever.
    for (int attempt = 0; attempt < 100; ++attempt) {
        ClientId id = ids_.next();
        if (connect_as(id))
            return id;
    }
    throw std::runtime_error("id source keeps returning ids in use");
}

bool Hub::connect_as(const ClientId& id)
{
    if (clients_.contains(id))
        return false;
    clients_.emplace(id, ClientState{.room = {},
                                     .limiter = RateLimiter(rate_policy_, clock_()),
                                     .resume = std::nullopt});
    return true;
}

std::optional<std::string> Hub::room_of(const ClientId& id) const
{
    const auto client = clients_.find(id);
    if (client == clients_.end() || !client->second.in_room())
        return std::nullopt;
    return client->second.room;
}

void Hub::on_text(const ClientId& from, std::string_view text)
{
    const auto client = clients_.find(from);
    if (client == clients_.end() || client->second.suspended)
        return;
    const bool first = !client->second.spoke;
    client->second.spoke = true;
    if (!admit(from, client->second, text.size()))
        return stats_.received(InAction::dropped, text.size());

    auto parsed = parse_request(text, features());
    if (auto* error = std::get_if<ProtocolError>(&parsed)) {
        stats_.received(InAction::invalid, text.size());
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
                   [&](ResumeRequest& resume) {
                       stats_.received(InAction::resume, text.size());
                       handle_resume(from, first, resume);
                   },
                   [&](UpdateRequest& update) {
                       stats_.received(InAction::update, text.size());
                       handle_update(from, client->second, update);
                   },
                   [&](KickRequest& kick) {
                       stats_.received(InAction::kick, text.size());
                       handle_kick(from, client->second, kick);
                   },
                   [&](LockRequest& lock) {
                       stats_.received(InAction::lock, text.size());
                       handle_lock(from, client->second, lock);
                   },
                   [&](ReportRequest& report) {
                       stats_.received(InAction::report, text.size());
                       handle_report(from, client->second, report);
                   },
               },
               std::get<Request>(parsed));
    settle();
}

void Hub::disconnect(const ClientId& id, ConnectionEnd end)
{
    const auto client = clients_.find(id);
    if (client == clients_.end() || client->second.suspended)
        return;
    // What merely happened to the connection suspends; what the server decided (a flood close
    // is under way) or the client said with a close frame removes.
    if (end == ConnectionEnd::lost && client->second.resume && !client->second.closing &&
        suspended_.size() < limits_.max_suspended) {
        suspend(id, client->second);
    } else {
        if (client->second.in_room())
            leave_room(id, client->second, "disconnected");
        clients_.erase(client);
    }
    settle();
}

void Hub::acknowledge(const ClientId& id, std::uint64_t texts)
{
    const auto client = clients_.find(id);
    if (client == clients_.end() || client->second.suspended || !client->second.resume)
        return;
    Resumable& resume = *client->second.resume;
    if (texts > resume.numbered_from)
        resume.outbox.acknowledge(texts - resume.numbered_from);
}

void Hub::tick()
{
    const TimePoint now = clock_();
    std::erase_if(bans_, [&](const auto& ban) { return ban.second <= now; });
    if (suspended_.empty())
        return;
    std::vector<ClientId> expired;
    for (const ClientId& id : suspended_) {
        const ClientState& client = clients_.at(id);
        if (client.resume && client.resume->expires <= now)
            expired.push_back(id);
    }
    for (const ClientId& id : expired) {
        ++stats_.expiries;
        remove_suspended(id, "resume grace period over");
    }
    settle();
}

void Hub::settle()
{
    // Each removal tells a room peer-left, which may doom another suspended member.
    while (!doomed_.empty()) {
        const ClientId id = std::move(doomed_.back());
        doomed_.pop_back();
        remove_suspended(id, "resume buffer full");
    }
}

bool Hub::admit(const ClientId& id, ClientState& client, std::size_t bytes)
{
    if (client.closing)
        return false;
    switch (client.limiter.check(rate_policy_, bytes, clock_())) {
    case RateLimiter::Verdict::allow:
        client.limited = false;
        return true;
    case RateLimiter::Verdict::refuse:
        ++stats_.rate_limited;
        if (!client.limited)
            spdlog::warn("{} rate-limited: dropping messages until it slows down", id);
        client.limited = true;
        // Logged above, once per episode, not once per dropped message.
        send_unlogged_error(
            id, ProtocolError{ErrorCode::rate_limited, "too many messages; slow down", {}});
        return false;
    case RateLimiter::Verdict::abuse:
        ++stats_.abuse_closes;
        spdlog::warn("{} closing (1008): kept flooding while rate-limited", id);
        client.closing = true;
        client.resume.reset(); // the server decided: the member goes, and its token dies now
        transport_.close(id, close_code::policy_violation);
        return false;
    }
    return false;
}

void Hub::handle_join(const ClientId& id, ClientState& client, JoinRequest&& join)
{
    const auto refuse = [&](ErrorCode code, std::string message) {
        send_error(id, ProtocolError{code, std::move(message), "join"}, join.room_id);
    };
    JoinPass pass; // without a JoinCheck, everyone may join, and nobody moderates
    if (join_check_) {
        auto verdict = join_check_(join.token, join.room_id);
        if (const auto* refusal = std::get_if<JoinRefusal>(&verdict))
            return refuse(ErrorCode::unauthorized, refusal->message);
        pass = std::move(std::get<JoinPass>(verdict));
        if (pass.name) // the token's name wins; "" there means no name
            join.name = pass.name->empty() ? std::nullopt : std::move(pass.name);
        if (const std::int64_t left = ban_left(join.room_id, pass.ban_key); left > 0)
            return refuse(ErrorCode::banned,
                          "you were removed from this room by a moderator; you may join it "
                          "again in " +
                              std::to_string(left) + " s");
        if (rooms_.locked(join.room_id) && !pass.moderator)
            return refuse(ErrorCode::room_locked,
                          "a moderator locked this room; only a moderator's invite opens it");
    }
    // Its peer-joined could not reach the cluster's other nodes (docs/protocol.md 7.1, step 7).
    if (transport_.cut_off())
        return refuse(ErrorCode::unavailable, std::string(cluster_unreachable_message));
    if (client.room == join.room_id)
        return refuse(ErrorCode::already_joined, "already in this room");
    // Refusals come before any change, so a refused join leaves the client where it was.
    if (rooms_.members(join.room_id).size() >= limits_.max_room_size)
        return refuse(ErrorCode::room_full,
                      "room is full (" + std::to_string(limits_.max_room_size) + " members)");

    if (client.in_room()) {
        const std::string old_room = client.room;
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
    newcomer.set_state(std::move(join.state));
    const Peer peer = newcomer.peer();

    // The joiner hears `joined` before anyone hears `peer-joined`, so nothing the others send in
    // reaction can reach it first. Numbering starts after the joined that carries the token.
    const ResumeSecret secret = resume_on() ? ids_.secret() : ResumeSecret{};
    answer(id, OutAction::joined,
           make_text(reply::joined(join.room_id, id, peers, ice_servers,
                                   resume_on() ? token_for(id, secret) : std::string{},
                                   rooms_.locked(join.room_id))));
    if (resume_on())
        start_numbering(client, secret);
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
    client.set_grant(pass.moderator, std::move(pass.ban_key));
    rooms_.add(join.room_id, std::move(newcomer));
    // The name is how an operator finds a user's clientId, and with it every later line of theirs.
    const Member* joined = rooms_.find(join.room_id, id);
    const std::string as = joined->name() ? fmt::format(" as {:?}", *joined->name()) : "";
    const std::size_t members = rooms_.members(join.room_id).size();
    if (pass.sub)
        spdlog::info("{} joined {}{} ({} members; token for {:?}{})", id, join.room_id, as, members,
                     *pass.sub, pass.moderator ? ", moderator" : "");
    else
        spdlog::info("{} joined {}{} ({} members{})", id, join.room_id, as, members,
                     pass.moderator ? "; moderator" : "");
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
        if (!can_reach(*to))
            return refuse_unreachable(id, "signal");
        spdlog::debug("{} {} -> {} ({} bytes of data)", id, to_string(signal.type), *signal.to,
                      signal.data ? signal.data->size() : 0);
        deliver(*to, OutAction::signal,
                make_text(reply::signal(signal.room_id, id, signal.type, signal.data, signal.to)));
        return;
    }

    if (!reaches_room(signal.room_id, id))
        return refuse_unreachable(id, "signal");
    spdlog::debug("{} {} -> room {} ({} bytes of data)", id, to_string(signal.type), signal.room_id,
                  signal.data ? signal.data->size() : 0);
    const Text text =
        make_text(reply::signal(signal.room_id, id, signal.type, signal.data, std::nullopt));
    publish(signal.room_id, id, OutAction::signal,
            [&](const Member&) -> const Text& { return text; });
}

void Hub::handle_update(const ClientId& id, const ClientState& client, const UpdateRequest& update)
{
    if (client.room != update.room_id)
        return send_error(id, ErrorCode::not_in_room, "not in this room", "update");
    if (!reaches_room(update.room_id, id))
        return refuse_unreachable(id, "update");
    rooms_.set_state(update.room_id, id, std::string(update.state));
    spdlog::debug("{} updated its state in {} ({} bytes)", id, update.room_id, update.state.size());
    const Text text = make_text(reply::peer_updated(update.room_id, id, update.state));
    publish(update.room_id, id, OutAction::peer_updated,
            [&](const Member&) -> const Text& { return text; });
}

void Hub::handle_report(const ClientId& id, const ClientState& client, const ReportRequest& report)
{
    if (client.room != report.room_id)
        return send_error(id, ErrorCode::not_in_room, "not in this room", "report");
    if (report.peer == id || !rooms_.contains(report.room_id, report.peer))
        return send_error(id, ErrorCode::unknown_peer,
                          "no other member of this room has that clientId", "report");
    // Each end of a peer connection counts once; a page that says it again is not an error.
    if (!rooms_.first_report(report.room_id, id, report.peer, !report.path)) {
        spdlog::debug("{} reported its connection with {} again", id, report.peer);
        return;
    }
    if (!report.path) {
        ++stats_.ice_failures;
        spdlog::info("{} reports ICE failed with {} in {}: no path between them (TURN?)", id,
                     report.peer, report.room_id);
        return;
    }
    const IcePath& path = *report.path;
    ++stats_.ice_paths[ice_path_index(path)];
    spdlog::info("{} reports ICE path to {} in {}: local {}, remote {}, {}", id, report.peer,
                 report.room_id, to_string(path.local), to_string(path.remote),
                 to_string(path.protocol));
}

bool Hub::can_reach(const Member& member) const
{
    // A suspended member's messages wait in its outbox, wherever it will resume.
    return member.suspended || transport_.reaches(member.client_id);
}

bool Hub::reaches_room(const std::string& room_id, const ClientId& except) const
{
    if (!transport_.cut_off())
        return true;
    for (const Member& member : rooms_.members(room_id))
        if (member.client_id != except && !can_reach(member))
            return false;
    return true;
}

void Hub::refuse_unreachable(const ClientId& id, std::string_view request)
{
    send_error(id, ErrorCode::unavailable,
               "a receiver is on another node, and the cluster cannot be reached; try again in a "
               "moment",
               request);
}

// --- moderation (docs/protocol.md 7.4) -----------------------------------------------------

bool Hub::may_moderate(const ClientId& id, const ClientState& client, const std::string& room_id,
                       std::string_view request)
{
    if (client.room != room_id) {
        send_error(id, ErrorCode::not_in_room, "not in this room", request);
        return false;
    }
    if (!client.moderator()) {
        send_error(id, ErrorCode::forbidden,
                   "only a member who joined with a moderator's token may " + std::string(request),
                   request);
        return false;
    }
    return true;
}

std::int64_t Hub::ban_left(const std::string& room_id, const std::string& key) const
{
    if (key.empty())
        return 0;
    const auto ban = bans_.find({room_id, key});
    if (ban == bans_.end())
        return 0;
    const auto left = std::chrono::ceil<std::chrono::seconds>(ban->second - clock_()).count();
    return left > 0 ? left : 0;
}

void Hub::handle_kick(const ClientId& id, const ClientState& client, const KickRequest& kick)
{
    if (!may_moderate(id, client, kick.room_id, "kick"))
        return;
    const Member* target =
        kick.client_id == id ? nullptr : rooms_.find(kick.room_id, kick.client_id);
    if (target == nullptr)
        return send_error(id, ErrorCode::unknown_peer,
                          "no other member of this room has that clientId", "kick");
    // Everyone hears of it, the kicked member included: nobody may miss it.
    if (!reaches_room(kick.room_id, {}))
        return refuse_unreachable(id, "kick");

    const ClientId kicked = kick.client_id; // target points into the room about to change
    ClientState& state = clients_.at(kicked);
    if (limits_.kick_ban.count() > 0 && !state.ban_key().empty())
        bans_[{kick.room_id, state.ban_key()}] = clock_() + limits_.kick_ban;
    spdlog::info("{} kicked {} from {} (banned for {} s)", id, kicked, kick.room_id,
                 state.ban_key().empty() ? 0 : limits_.kick_ban.count());
    if (state.suspended)
        return remove_suspended(kicked, "kicked", "kicked");
    leave_room(kicked, state, "kicked", "kicked");
    answer(kicked, OutAction::left, make_text(reply::left(kick.room_id, "kicked")));
}

void Hub::handle_lock(const ClientId& id, const ClientState& client, const LockRequest& lock)
{
    if (!may_moderate(id, client, lock.room_id, "lock"))
        return;
    if (!reaches_room(lock.room_id, {}))
        return refuse_unreachable(id, "lock");
    rooms_.set_locked(lock.room_id, lock.locked);
    spdlog::info("{} {} {}", id, lock.locked ? "locked" : "unlocked", lock.room_id);
    // The moderator hears it too: that is its answer.
    const Text text = make_text(reply::room_locked(lock.room_id, lock.locked));
    publish(lock.room_id, {}, OutAction::room_locked,
            [&](const Member&) -> const Text& { return text; });
}

// --- leaving --------------------------------------------------------------------------------

void Hub::leave_room(const ClientId& id, ClientState& client, std::string_view why,
                     std::string_view reason)
{
    const std::string room_id = std::move(client.room);
    client.room.clear();
    client.resume.reset();
    client.grant.reset();
    if (client.suspended) {
        client.suspended = false;
        std::erase(suspended_, id);
    }
    rooms_.remove(room_id, id);
    const Text text = make_text(reply::peer_left(room_id, id, reason));
    publish(room_id, id, OutAction::peer_left, [&](const Member&) -> const Text& { return text; });
    spdlog::info("{} left {} ({}; {} members remain)", id, room_id, why,
                 rooms_.members(room_id).size());
}

// --- resume ------------------------------------------------------------------------------

std::string Hub::token_for(const ClientId& id, const ResumeSecret& secret)
{
    return id + encode_secret(secret);
}

void Hub::start_numbering(ClientState& client, const ResumeSecret& secret)
{
    client.resume.emplace(Resumable{.secret = secret, .outbox = {}, .numbered_from = client.texts});
}

Hub::ClientState* Hub::holder_of(std::string_view token, ClientId& id)
{
    if (token.size() != client_id_chars + secret_chars)
        return nullptr;
    const auto client = clients_.find(ClientId(token.substr(0, client_id_chars)));
    if (client == clients_.end() || !client->second.resume)
        return nullptr;
    if (!same_secret(encode_secret(client->second.resume->secret), token.substr(client_id_chars)))
        return nullptr;
    id = client->first;
    return &client->second;
}

void Hub::suspend(const ClientId& id, ClientState& client)
{
    if (client.resume->outbox.bytes() > limits_.resume_buffer_bytes) {
        leave_room(id, client, "lost its connection holding more than --resume-buffer-bytes");
        clients_.erase(id);
        return;
    }
    Resumable& resume = *client.resume;
    client.suspended = true;
    resume.handed = resume.outbox.last();
    resume.expires = clock_() + limits_.resume_grace;
    suspended_.push_back(id);
    ++stats_.suspensions;
    rooms_.set_suspended(client.room, id, true);
    const Text text = make_text(reply::peer_suspended(client.room, id));
    publish(client.room, id, OutAction::peer_suspended,
            [&](const Member&) -> const Text& { return text; });
    spdlog::info("{} suspended in {}: its connection was lost; it may resume within {} s", id,
                 client.room, limits_.resume_grace.count());
}

void Hub::remove_suspended(const ClientId& id, std::string_view why, std::string_view reason)
{
    const auto client = clients_.find(id);
    if (client == clients_.end() || !client->second.suspended)
        return;
    leave_room(id, client->second, why, reason);
    clients_.erase(client);
}

void Hub::remove_holder(const ClientId& id, std::string_view why)
{
    ClientState& client = clients_.at(id);
    if (client.suspended)
        return remove_suspended(id, why);
    // Its connection is still open (a resume on another connection that was not the first
    // message): it is told, so its picture of its room stays true.
    const std::string room_id = client.room;
    leave_room(id, client, why);
    answer(id, OutAction::left, make_text(reply::left(room_id)));
}

void Hub::handle_resume(const ClientId& id, bool first, const ResumeRequest& request)
{
    const auto refuse = [&](std::string message) {
        ++stats_.resume_failures;
        send_error(id, ProtocolError{ErrorCode::resume_failed, std::move(message), "resume"});
    };
    ClientId holder;
    ClientState* member = holder_of(request.token, holder);
    if (member == nullptr)
        return refuse("the token is unknown, already used or expired, or its member left");
    if (!first) {
        remove_holder(holder, "a resume that was not its connection's first message");
        return refuse("resume must be the first message on a connection");
    }
    // Whether the resume can succeed is decided before a takeover, so that a resume that fails
    // removes a member whose old connection is still open as a plain removal (that connection
    // hears `left`), never with a 4001 "resumed elsewhere" for a resume that did not happen.
    // Restored after the node that ran the room crashed, the member resumes with a gap instead
    // (below).
    if (!member->resume->restored) {
        const Outbox& outbox = member->resume->outbox;
        // Messages handed to the old connection: all it was numbered while it is still open.
        const std::uint64_t handed = member->suspended ? member->resume->handed : outbox.last();
        if (request.received > handed) {
            remove_holder(holder, "resumed with more received than it was sent");
            return refuse("received is more than the " + std::to_string(handed) +
                          " messages the previous connection was sent");
        }
        if (!outbox.holds_after(request.received)) {
            remove_holder(holder, "resume needed messages no longer held");
            return refuse("message " + std::to_string(request.received + 1) +
                          " is no longer held (over --resume-buffer-bytes)");
        }
    }
    if (!member->suspended) {
        // Its old connection is still open, half-open most likely: end it, then take over.
        if (!transport_.abort(holder, close_code::resumed_elsewhere, "resumed elsewhere")) {
            // The server is already closing it for a policy (a slow reader, a broken rule, the
            // shutdown): that removes the member, and the hub hears no more of that connection.
            leave_room(holder, *member, "its connection was being closed when it was taken over");
            clients_.erase(holder);
            return refuse("the member's connection was being closed by the server");
        }
        suspend(holder, *member);
        member = holder_of(request.token, holder);
        if (member == nullptr)
            return refuse("the member held more than --resume-buffer-bytes when it was taken over");
    }
    const Resumable& held = *member->resume;
    // Restored after the node that ran the room crashed: what the client got after the state
    // was saved is not known here, nor held, and every member was suspended meanwhile without
    // being told. The resume succeeds all the same, saying so (gap), with the room as it is now,
    // so that the client can mend its view and restart its calls' ICE.
    const bool gap = held.restored;
    // Checked above: a takeover changes neither the numbering nor what is held.
    const std::vector<Text> replay =
        gap ? std::vector<Text>{} : held.outbox.after(request.received).value();

    // The new connection becomes the member's: it keeps its own count of texts and its own
    // flood budget, and the member its place, name and room.
    const auto connection = clients_.find(id);
    member->texts = connection->second.texts;
    member->limiter = std::move(connection->second.limiter);
    member->limited = connection->second.limited;
    member->spoke = true;
    member->suspended = false;
    clients_.erase(connection); // `id` is now an id nothing uses
    transport_.rebind(id, holder);
    std::erase(suspended_, holder);
    const std::string room_id = member->room;
    rooms_.set_suspended(room_id, holder, false);

    const std::string ice_servers = ice_servers_ ? ice_servers_(holder) : std::string{};
    const ResumeSecret secret = ids_.secret();
    member->resume.reset(); // the old token dies; `resumed` itself is not numbered
    std::vector<Peer> peers;
    if (gap)
        for (const Member& other : rooms_.members(room_id))
            if (other.client_id != holder)
                peers.push_back(other.peer());
    answer(holder, OutAction::resumed,
           make_text(reply::resumed(
               room_id, holder, token_for(holder, secret), ice_servers,
               gap ? std::optional<reply::GapView>(reply::GapView{peers, rooms_.locked(room_id)})
                   : std::nullopt)));
    start_numbering(*member, secret);
    // The replay is numbered anew on this connection, like live traffic after it.
    for (const Text& text : replay) {
        ++stats_.replayed;
        if (keep(holder, *member, text))
            delivery_.send(Member{holder, std::nullopt, this_node}, text);
    }
    ++stats_.resumes;
    const Text text = make_text(reply::peer_resumed(room_id, holder));
    publish(room_id, holder, OutAction::peer_resumed,
            [&](const Member&) -> const Text& { return text; });
    if (gap)
        spdlog::info("{} resumed in {} after the cluster lost messages it may have missed (gap)",
                     holder, room_id);
    else
        spdlog::info("{} resumed in {} ({} messages replayed)", holder, room_id, replay.size());
}

void Hub::log_refusal(const ClientId& id, std::string_view request, std::string_view room_id,
                      ErrorCode code, std::string_view message)
{
    // A refused join or resume is why someone could not get into a call, or back into one: the
    // operator reads it at info. Other refusals are routine races (a signal to a peer that just
    // left) or a client's bug, and stay at debug. A client retrying a bad join in a loop gets
    // its first few lines at info, then debug, so it cannot fill the log.
    const auto client = clients_.find(id);
    const bool telling = request == "join" || request == "resume";
    spdlog::level::level_enum level = spdlog::level::debug;
    if (telling && client != clients_.end() && client->second.refusals_logged < refusals_at_info) {
        level = spdlog::level::info;
        ++client->second.refusals_logged;
    }
    if (!spdlog::should_log(level))
        return;
    const std::string what = request.empty() ? std::string("a message") : std::string(request);
    const bool last =
        level == spdlog::level::info && client->second.refusals_logged == refusals_at_info;
    spdlog::log(level, "{} refused {}{}{}: {} ({}){}", id, what, room_id.empty() ? "" : " of ",
                room_id, to_string(code), message,
                last ? "; its further refusals are logged at debug" : "");
}

void Hub::send_error(const ClientId& to, ErrorCode code, std::string message,
                     std::string_view request)
{
    send_error(to, ProtocolError{code, std::move(message), std::string(request)});
}

void Hub::send_error(const ClientId& to, const ProtocolError& error, std::string_view room_id)
{
    log_refusal(to, error.request.value_or(""), room_id, error.code, error.message);
    send_unlogged_error(to, error);
}

void Hub::send_unlogged_error(const ClientId& to, const ProtocolError& error)
{
    ++stats_.errors[static_cast<std::size_t>(error.code)];
    answer(to, OutAction::error, make_text(reply::error(error)));
}

} // namespace signald
