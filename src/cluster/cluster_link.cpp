#include "signald/cluster/cluster_link.hpp"

#include "signald/core/close_codes.hpp"
#include "signald/core/protocol.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <unordered_set>

namespace signald {

ClusterLink::ClusterLink(Hub& hub, NodeRegistry& registry, Bus& bus, LocalSessions local,
                         ProtocolFeatures features, std::chrono::milliseconds keep)
    : hub_(hub), registry_(registry), bus_(bus), local_(std::move(local)), features_(features),
      keep_(keep)
{}

bool ClusterLink::serves_here() const
{
    return leader_.empty() || registry_.is_leader();
}

void ClusterLink::attached(const ClientId& id)
{
    if (serves_here())
        return;
    homes_.emplace(id, leader_);
    if (paused_)
        held_attaches_.push_back(id); // attached where the rooms are once the hand-over is over
    else
        bus_.send(leader_, BusKind::attach, id);
}

void ClusterLink::text(const ClientId& id, std::string_view text)
{
    const auto home = homes_.find(id);
    if (home == homes_.end())
        return;
    if (!bus_.ready())
        return refuse(id, text);
    // Its attach was refused with Redis away: the leader must know it before its first word.
    if (attaches_to_send_.erase(id) == 1)
        bus_.send(home->second, BusKind::attach, id);
    if (!lone_members_.empty())
        tell_gap_before_resume(home->second, text);
    bus_.send(home->second, BusKind::text, id, 0, text);
}

void ClusterLink::tell_gap_before_resume(const std::string& leader, std::string_view text)
{
    const ParseResult parsed = parse_request(text, features_);
    const auto* request = std::get_if<Request>(&parsed);
    const auto* resume = request != nullptr ? std::get_if<ResumeRequest>(request) : nullptr;
    if (resume == nullptr)
        return;
    // A token starts with its member's clientId.
    const auto member =
        lone_members_.find(ClientId(std::string_view(resume->token).substr(0, client_id_chars)));
    if (member == lone_members_.end())
        return;
    bus_.send(leader, BusKind::gap, member->first);
    lone_members_.erase(member);
}

void ClusterLink::detach(const ClientId& id, ConnectionEnd end)
{
    const auto home = homes_.find(id);
    if (home == homes_.end())
        return;
    attaches_to_send_.erase(id);
    // Answered alone and ended before the roster: what it was sent goes first, so that its
    // member's count is the leader's when it resumes (if Redis refuses it, lost() has the
    // resume report a gap instead).
    if (const auto alone = answered_alone_.find(id); alone != answered_alone_.end()) {
        send_alone(home->second, id, alone->second);
        answered_alone_.erase(alone);
    }
    // Lost with Redis away: the roster after it returns tells the leader.
    bus_.send(home->second, BusKind::detach, id, static_cast<std::uint64_t>(end));
    homes_.erase(home);
}

void ClusterLink::acknowledged(const ClientId& id, std::uint64_t texts)
{
    const auto home = homes_.find(id);
    // A count that includes texts the leader did not number would acknowledge its messages
    // the client does not have.
    if (home != homes_.end() && !answered_alone_.contains(id))
        bus_.send(home->second, BusKind::acked, id, texts);
}

bool ClusterLink::send(const ClientId& to, const Text& text)
{
    const auto edge = remote_.find(to);
    if (edge == remote_.end())
        return false;
    bus_.send(edge->second, BusKind::send, to, 0, *text);
    return true;
}

bool ClusterLink::close(const ClientId& id, std::uint16_t code)
{
    const auto edge = remote_.find(id);
    if (edge == remote_.end())
        return false;
    bus_.send(edge->second, BusKind::close, id, code);
    return true;
}

std::optional<bool> ClusterLink::abort(const ClientId& id, std::uint16_t code,
                                       std::string_view reason)
{
    const auto edge = remote_.find(id);
    if (edge == remote_.end())
        return std::nullopt;
    bus_.send(edge->second, BusKind::abort, id, code, reason);
    remote_.erase(edge);
    // Whether its edge was already closing it is not known here; the takeover goes ahead, and
    // whatever that edge still says about the old connection is ignored (received()).
    return true;
}

bool ClusterLink::rebind(const ClientId& from, const ClientId& to)
{
    const auto edge = remote_.find(from);
    if (edge == remote_.end())
        return false;
    const std::string node = edge->second;
    remote_.erase(edge);
    remote_[to] = node;
    bus_.send(node, BusKind::rebind, from, 0, to);
    return true;
}

void ClusterLink::refuse(const ClientId& id, std::string_view text)
{
    ++stats_.unavailable;
    const ParseResult parsed = parse_request(text, features_);
    ProtocolError error{ErrorCode::unavailable, std::string(cluster_unreachable_message),
                        std::nullopt};
    if (const auto* malformed = std::get_if<ProtocolError>(&parsed))
        error = *malformed;
    else
        error.request = std::string(action_of(std::get<Request>(parsed)));
    Text answer = make_text(reply::error(error));
    if (homes_.contains(id))
        answered_alone_[id].push_back(LoneText{local_.texts(id), *answer});
    local_.send(id, answer);
}

void ClusterLink::leader_changed()
{
    const std::string leader = registry_.leader();
    if (leader == leader_ || leader.empty())
        return; // no leader known: go on as before until there is one
    const std::string previous = leader_;
    leader_ = leader;
    const bool here = registry_.is_leader();
    if (!previous.empty() && registry_.predecessor() == previous) {
        // A hand-over: the rooms moved whole, so every connection stays open and follows them.
        spdlog::info("cluster: following the rooms from {} to {}", previous, leader);
        if (here) {
            take_rooms();
            return;
        }
        for (auto& [id, home] : homes_)
            if (home == previous)
                home = leader;
        send_roster(); // connections the old leader never heard of are closed with 1012
        unpause();
        return;
    }
    if (here)
        take_rooms(); // a vacancy: the last leader may have left rooms for whoever comes next
    // Clients whose rooms lived elsewhere (with the old leader, or in this node's Hub while it
    // served alone) start again where the rooms are now: close them with 1012.
    std::vector<ClientId> restart;
    for (const ClientId& id : local_.ids()) {
        const auto home = homes_.find(id);
        const bool served_here = home == homes_.end();
        if (served_here != here || (!served_here && home->second != leader))
            restart.push_back(id);
    }
    if (!here)
        forget_remote_clients(ConnectionEnd::closed);
    for (const ClientId& id : restart) {
        homes_.erase(id);
        local_.close(id, close_code::service_restart);
    }
    if (!restart.empty())
        spdlog::warn("cluster: the leader changed from {} to {}; {} clients closed with 1012 to "
                     "start again there",
                     previous.empty() ? "nobody" : previous, leader, restart.size());
}

void ClusterLink::drain()
{
    for (const auto& [id, leader] : homes_)
        bus_.send(leader, BusKind::detach, id, static_cast<std::uint64_t>(ConnectionEnd::lost));
    homes_.clear();
}

void ClusterLink::fenced()
{
    forget_remote_clients(ConnectionEnd::closed);
    homes_.clear();
    leader_.clear();
}

void ClusterLink::forget_remote_clients(ConnectionEnd end, const std::string& of_node)
{
    std::vector<ClientId> gone;
    for (const auto& [id, node] : remote_)
        if (of_node.empty() || node == of_node)
            gone.push_back(id);
    for (const ClientId& id : gone) {
        remote_.erase(id);
        hub_.disconnect(id, end);
    }
}

void ClusterLink::received(const std::string& from, std::vector<BusMessage>&& messages)
{
    for (BusMessage& message : messages) {
        if (taking_rooms_)
            held_messages_.emplace_back(from, std::move(message)); // after the rooms arrive
        else
            handle(from, message);
    }
}

bool ClusterLink::for_a_leader(BusKind kind)
{
    switch (kind) {
    case BusKind::attach:
    case BusKind::text:
    case BusKind::detach:
    case BusKind::acked:
    case BusKind::roster:
    case BusKind::gap:
    case BusKind::alone:
        return true;
    default:
        return false;
    }
}

void ClusterLink::handle(const std::string& from, BusMessage& message)
{
    // An edge may learn of a hand-over to this node before this node does (each learns at its
    // own renewal): what it sends the new leader waits until this node knows, and has the rooms.
    if (for_a_leader(message.kind) && !registry_.is_leader() && hand_over_ == HandOver::none) {
        if (held_messages_.empty()) {
            held_for_lead_until_ = std::chrono::steady_clock::now() + std::chrono::seconds{5};
            registry_.renew_now();
        }
        held_messages_.emplace_back(from, std::move(message));
        return;
    }
    {
        switch (message.kind) {
        case BusKind::attach:
            if (!registry_.is_leader() || hand_over_ == HandOver::done ||
                !hub_.connect_as(message.id)) {
                // Not the leader (any more), or the id is taken: it starts again.
                bus_.send(from, BusKind::close, message.id, close_code::service_restart);
                break;
            }
            remote_[message.id] = from;
            break;
        case BusKind::text:
        case BusKind::detach:
        case BusKind::acked: {
            // Only from the node that serves the client now: after a takeover, its old
            // connection's last words are ignored.
            const auto edge = remote_.find(message.id);
            if (edge == remote_.end() || edge->second != from) {
                // A request that reached this node after it handed its rooms over (its edge had
                // not heard yet): not dropped unheard, its connection starts again (1012) and
                // resumes where the rooms are now.
                if (hand_over_ == HandOver::done && message.kind == BusKind::text)
                    bus_.send(from, BusKind::close, message.id, close_code::service_restart);
                break;
            }
            if (message.kind == BusKind::text) {
                hub_.on_text(message.id, message.text);
            } else if (message.kind == BusKind::acked) {
                hub_.acknowledge(message.id, message.number);
            } else {
                remote_.erase(edge);
                hub_.disconnect(message.id,
                                message.number == static_cast<std::uint64_t>(ConnectionEnd::lost)
                                    ? ConnectionEnd::lost
                                    : ConnectionEnd::closed);
            }
            break;
        }
        case BusKind::roster: {
            // The edge's connections after an outage: the leader forgets (as lost) the ones it
            // no longer has, and closes with 1012 the ones it does not know, whose messages may
            // have been lost: they resume and get exactly what they missed.
            std::unordered_set<ClientId> listed;
            for (std::size_t start = 0; start < message.text.size();) {
                const std::size_t comma =
                    std::min(message.text.find(',', start), message.text.size());
                listed.insert(message.text.substr(start, comma - start));
                start = comma + 1;
            }
            std::vector<ClientId> gone;
            for (const auto& [id, node] : remote_)
                if (node == from && !listed.contains(id))
                    gone.push_back(id);
            for (const ClientId& id : gone) {
                remote_.erase(id);
                hub_.disconnect(id, ConnectionEnd::lost);
            }
            for (const ClientId& id : listed)
                if (!remote_.contains(id))
                    bus_.send(from, BusKind::close, id, close_code::service_restart);
            break;
        }
        case BusKind::send:
            if (homes_.contains(message.id))
                local_.send(message.id, make_text(std::move(message.text)));
            break;
        case BusKind::close:
            if (homes_.contains(message.id))
                local_.close(message.id, static_cast<std::uint16_t>(message.number));
            break;
        case BusKind::abort:
            if (homes_.erase(message.id) == 1)
                local_.abort(message.id, static_cast<std::uint16_t>(message.number), message.text);
            break;
        case BusKind::gap: {
            // Its detach follows (or came first, and it is suspended). Once it has resumed
            // anywhere, the word comes too late to matter and is ignored.
            const auto edge = remote_.find(message.id);
            if ((edge != remote_.end() && edge->second == from) ||
                (edge == remote_.end() && hub_.is_suspended(message.id)))
                hub_.allow_gap(message.id);
            break;
        }
        case BusKind::alone: {
            const auto edge = remote_.find(message.id);
            if (edge == remote_.end() || edge->second != from) {
                // Suspended already (a message to it was lost on the way): its resume reports
                // the gap.
                if (edge == remote_.end() && hub_.is_suspended(message.id))
                    hub_.allow_gap(message.id);
                break;
            }
            if (hub_.adopt_sent(message.id, message.number, make_text(std::move(message.text))))
                break;
            // This node handed it more meanwhile: its count cannot be mended. It starts again,
            // closed only now so that its resume cannot overtake this word, and the resume
            // reports the gap.
            hub_.allow_gap(message.id);
            remote_.erase(edge);
            hub_.disconnect(message.id, ConnectionEnd::lost);
            bus_.send(from, BusKind::close, message.id, close_code::service_restart);
            break;
        }
        case BusKind::pause:
            if (from == leader_)
                pause(from);
            break;
        case BusKind::paused:
            if (awaiting_pause_.erase(from) == 1 && awaiting_pause_.empty())
                finish_hand_over();
            break;
        case BusKind::rebind: {
            const auto home = homes_.find(message.id);
            if (home == homes_.end())
                break;
            std::string leader = home->second;
            homes_.erase(home);
            homes_.emplace(message.text, std::move(leader));
            local_.rebind(message.id, message.text);
            break;
        }
        }
    }
}

void ClusterLink::node_dead(const std::string& node)
{
    // Remembered: rooms handed over later may still name it as a client's node.
    dead_nodes_.insert(node);
    // Its clients' connections are gone without a word: suspended, as a lost connection is.
    if (registry_.is_leader())
        forget_remote_clients(ConnectionEnd::lost, node);
}

void ClusterLink::paused_by(const std::string& node)
{
    if (node == leader_ && !registry_.is_leader())
        pause(node);
}

void ClusterLink::bus_ready()
{
    send_closes();
    send_roster();
}

void ClusterLink::renewed()
{
    if (roster_pending_)
        send_roster();
    save_rooms();
    send_closes();
    if (!held_messages_.empty() && !taking_rooms_ && !registry_.is_leader() &&
        std::chrono::steady_clock::now() > held_for_lead_until_) {
        // This node never became the leader: what was sent it for one starts again elsewhere.
        auto held = std::move(held_messages_);
        held_messages_.clear();
        for (const auto& [from, message] : held) {
            if (message.kind == BusKind::attach)
                bus_.send(from, BusKind::close, message.id, close_code::service_restart);
            if (message.kind == BusKind::roster)
                for (std::size_t start = 0; start < message.text.size();) {
                    const std::size_t comma =
                        std::min(message.text.find(',', start), message.text.size());
                    bus_.send(from, BusKind::close, message.text.substr(start, comma - start),
                              close_code::service_restart);
                    start = comma + 1;
                }
        }
    }
    if (paused_ && !taking_rooms_ && std::chrono::steady_clock::now() > paused_until_) {
        spdlog::warn("cluster: {} paused the rooms and never handed them over; going on", leader_);
        unpause();
    }
}

void ClusterLink::save_rooms()
{
    if (!registry_.is_leader() || taking_rooms_ || hand_over_ != HandOver::none)
        return;
    nlohmann::json edges = nlohmann::json::object();
    for (const auto& [id, node] : remote_)
        edges[id] = node;
    std::string state =
        nlohmann::json{{"hub", hub_.export_state(false)}, {"edges", std::move(edges)}}.dump();
    if (state == last_saved_)
        return;
    last_saved_ = state;
    registry_.save_rooms(std::move(state), keep_);
}

void ClusterLink::pause(const std::string& by)
{
    paused_ = true;
    // The hand-over takes a round trip or two; past this, the old leader is gone anyway.
    paused_until_ = std::chrono::steady_clock::now() + std::chrono::seconds{5};
    if (!by.empty())
        bus_.send(by, BusKind::paused, {}); // after everything this node sent it before
}

void ClusterLink::unpause()
{
    if (!paused_)
        return;
    paused_ = false;
    for (const ClientId& id : held_attaches_) {
        const auto home = homes_.find(id);
        if (home != homes_.end())
            bus_.send(home->second, BusKind::attach, id);
    }
    held_attaches_.clear();
    local_.release();
}

void ClusterLink::hand_over(std::function<void()> done)
{
    if (!registry_.is_leader() || hand_over_ != HandOver::none) {
        done();
        return;
    }
    hand_over_ = HandOver::pausing;
    handed_over_ = std::move(done);
    // Every live node, not only those serving this node's clients: any of them may be
    // attaching a new client or forwarding a resume right now. Each answers once everything it
    // sent before is on its way.
    registry_.live_nodes([this](std::vector<std::string> nodes) {
        if (hand_over_ != HandOver::pausing)
            return;
        const std::string me = registry_.node_id() + " " + registry_.incarnation();
        for (std::string& node : nodes)
            if (node != me)
                awaiting_pause_.insert(std::move(node));
        for (const auto& [id, node] : remote_)
            awaiting_pause_.insert(node);
        spdlog::info("cluster: stopping: pausing {} nodes to hand the rooms over",
                     awaiting_pause_.size());
        bus_.announce_pause(); // nodes that start meanwhile hold their input too
        if (awaiting_pause_.empty())
            return finish_hand_over();
        for (const std::string& node : awaiting_pause_)
            bus_.send(node, BusKind::pause, {});
    });
}

void ClusterLink::finish_hand_over()
{
    if (hand_over_ != HandOver::pausing)
        return;
    hand_over_ = HandOver::done;
    if (!awaiting_pause_.empty())
        spdlog::warn("cluster: {} nodes did not answer the pause in time", awaiting_pause_.size());
    awaiting_pause_.clear();
    // This node's own clients are about to be closed: their members wait for them to resume on
    // another node, as after any lost connection.
    for (const ClientId& id : local_.ids())
        if (!homes_.contains(id))
            hub_.disconnect(id, ConnectionEnd::lost);
    nlohmann::json edges = nlohmann::json::object();
    for (const auto& [id, node] : remote_)
        edges[id] = node;
    const std::size_t rooms = hub_.rooms().room_count();
    std::string state =
        nlohmann::json{{"hub", hub_.export_state()}, {"edges", std::move(edges)}}.dump();
    registry_.hand_over(std::move(state), keep_, [this, rooms](const std::string& successor) {
        if (successor.empty())
            spdlog::error("cluster: could not hand the rooms over; they end with this node");
        else if (successor == "-")
            spdlog::info("cluster: no other node is alive: {} rooms wait in Redis for the next "
                         "leader",
                         rooms);
        else
            spdlog::info("cluster: handed {} rooms over to {}", rooms, successor);
        // From now on this node's Hub is not the cluster's: nothing it does leaves the node.
        remote_.clear();
        auto done = std::move(handed_over_);
        handed_over_ = {};
        if (done)
            done();
    });
}

void ClusterLink::take_rooms()
{
    taking_rooms_ = true;
    // Handed over, the rooms go on exactly; left by a leader that crashed, they are what it last
    // saved, and every member resumes, with a gap where messages were lost.
    const Hub::Restore how =
        registry_.predecessor().empty() ? Hub::Restore::after_crash : Hub::Restore::exact;
    pause({});
    registry_.take_rooms([this, how](std::optional<std::string> rooms) {
        if (rooms)
            adopt(*rooms, how);
        taking_rooms_ = false;
        auto held = std::move(held_messages_);
        held_messages_.clear();
        for (auto& [from, message] : held)
            handle(from, message);
        unpause();
    });
}

void ClusterLink::adopt(const std::string& rooms, Hub::Restore how)
{
    const auto state = nlohmann::json::parse(rooms, nullptr, false);
    if (state.is_discarded() || !state.contains("hub") || !state["hub"].is_string() ||
        !hub_.import_state(state["hub"].get<std::string>(), how)) {
        spdlog::error("cluster: the rooms left in Redis could not be read; starting empty");
        return;
    }
    const std::string me = registry_.node_id() + " " + registry_.incarnation();
    std::unordered_set<ClientId> known;
    if (how == Hub::Restore::after_crash) {
        // Every member waits for its client to resume; the connections of then are gone or
        // being closed with 1012 by their nodes.
        spdlog::warn("cluster: took over {} rooms saved by a leader that crashed; their members "
                     "are suspended until they resume",
                     hub_.rooms().room_count());
        return;
    }
    if (state.contains("edges") && state["edges"].is_object())
        for (const auto& [id, node] : state["edges"].items()) {
            if (!node.is_string())
                continue;
            known.insert(id);
            const std::string edge = node.get<std::string>();
            if (edge == me)
                homes_.erase(id); // this node's own connection: served here now
            else if (registry_.predecessor_was_last() || dead_nodes_.contains(edge))
                hub_.disconnect(id, ConnectionEnd::lost); // its node is gone: it resumes
            else
                remote_[id] = edge;
        }
    // Connections of this node the old leader never attached (they came during the hand-over)
    // are this node's own from now on; one whose id is taken starts again.
    std::vector<ClientId> unknown;
    for (const auto& [id, home] : homes_)
        if (!known.contains(id))
            unknown.push_back(id);
    for (const ClientId& id : unknown) {
        homes_.erase(id);
        if (!hub_.connect_as(id))
            local_.close(id, close_code::service_restart);
    }
    spdlog::info("cluster: took over {} rooms ({} clients on other nodes)",
                 hub_.rooms().room_count(), remote_.size());
}

void ClusterLink::send_roster()
{
    roster_pending_ = false;
    if (leader_.empty() || registry_.is_leader())
        return;
    for (const ClientId& id : attaches_to_send_)
        if (const auto home = homes_.find(id); home != homes_.end())
            bus_.send(home->second, BusKind::attach, id);
    attaches_to_send_.clear();
    // What this node answered alone meanwhile: the leader numbers it as if it had sent it, and
    // nobody is closed for it (if the leader's count moved on meanwhile, the client starts
    // again with 1012 and resumes with a gap). A batch Redis refuses brings them back (lost()).
    for (auto& [id, texts] : answered_alone_)
        if (const auto home = homes_.find(id); home != homes_.end())
            send_alone(home->second, id, texts);
    answered_alone_.clear();
    std::string ids;
    for (const auto& [id, home] : homes_) {
        if (home != leader_)
            continue;
        if (!ids.empty())
            ids += ',';
        ids += id;
    }
    bus_.send(leader_, BusKind::roster, {}, 0, ids);
}

void ClusterLink::send_alone(const std::string& leader, const ClientId& id,
                             std::vector<LoneText>& texts)
{
    std::ranges::stable_sort(texts, {}, &LoneText::after);
    for (const LoneText& lone : texts)
        bus_.send(leader, BusKind::alone, id, lone.after, lone.text);
}

void ClusterLink::bus_gap(const std::string& from)
{
    if (registry_.is_leader()) {
        // Its edge's texts, ends or counts for these clients may be gone: each is suspended
        // (its messages held) and its edge closes it, so it resumes and gets exactly what it
        // missed; what it sent meanwhile is lost as with any broken connection.
        std::vector<ClientId> restart;
        for (const auto& [id, node] : remote_)
            if (node == from)
                restart.push_back(id);
        for (const ClientId& id : restart) {
            remote_.erase(id);
            hub_.disconnect(id, ConnectionEnd::lost);
            bus_.send(from, BusKind::close, id, close_code::service_restart);
        }
        return;
    }
    // Messages of the leader for these clients may be gone, though the leader numbered and holds
    // them: each is suspended there and closed here with 1012, and resumes exactly. One this
    // node answered alone meanwhile resumes with a gap instead, through the roster.
    std::vector<ClientId> restart;
    for (const auto& [id, home] : homes_)
        if (home == from && !answered_alone_.contains(id))
            restart.push_back(id);
    for (const ClientId& id : restart) {
        bus_.send(from, BusKind::detach, id, static_cast<std::uint64_t>(ConnectionEnd::lost));
        homes_.erase(id);
        local_.close(id, close_code::service_restart);
    }
    roster_pending_ = !answered_alone_.empty() || roster_pending_;
}

void ClusterLink::lost(const std::string& to, const std::string& batch)
{
    const auto messages = decode_batch(batch);
    if (!messages)
        return;
    for (const BusMessage& message : *messages) {
        // Right after Redis returns, the leader's lease (or this node's) may not be back yet:
        // the roster goes again with the next renewal.
        if (message.kind == BusKind::roster || message.kind == BusKind::gap)
            roster_pending_ = true;
        // A connection the leader never heard of: attached with the next roster.
        if (message.kind == BusKind::attach && homes_.contains(message.id)) {
            roster_pending_ = true;
            attaches_to_send_.insert(message.id);
        }
        if (message.kind == BusKind::alone) {
            roster_pending_ = true;
            if (homes_.contains(message.id)) {
                answered_alone_[message.id].push_back(LoneText{message.number, message.text});
            } else {
                // Ended meanwhile: its member's resume must report a gap, wherever it comes;
                // on this node, the word goes again with the resume.
                bus_.send(to, BusKind::gap, message.id);
                const auto now = std::chrono::steady_clock::now();
                std::erase_if(lone_members_,
                              [&](const auto& member) { return member.second < now; });
                lone_members_[message.id] = now + keep_;
            }
        }
        // A client's request that may not have arrived: it hears so, rather than nothing.
        if (message.kind == BusKind::text && homes_.contains(message.id))
            refuse(message.id, message.text);
        // A client of this Hub that may have missed messages (or whose close, abort or rebind
        // did not arrive): suspended, and its edge told, until it hears, to close it with 1012,
        // so that it resumes and gets exactly what it missed. Only if that edge still serves
        // it: the answer comes a round trip after the batch left, and meanwhile the member may
        // have resumed on another node (a takeover of a connection on a node that died), whose
        // new connection missed nothing.
        switch (message.kind) {
        case BusKind::send:
            if (const auto edge = remote_.find(message.id);
                edge != remote_.end() && edge->second == to) {
                remote_.erase(edge);
                hub_.disconnect(message.id, ConnectionEnd::lost);
            }
            closes_to_send_[to][message.id] = close_code::service_restart;
            break;
        case BusKind::rebind: // the edge still knows the connection by its own id
            if (const auto edge = remote_.find(message.text);
                edge != remote_.end() && edge->second == to) {
                remote_.erase(edge);
                hub_.disconnect(message.text, ConnectionEnd::lost);
            }
            closes_to_send_[to][message.id] = close_code::service_restart;
            break;
        case BusKind::close:
        case BusKind::abort:
            closes_to_send_[to][message.id] = static_cast<std::uint16_t>(message.number);
            break;
        default:
            break;
        }
    }
}

void ClusterLink::send_closes()
{
    auto closes = std::move(closes_to_send_);
    closes_to_send_.clear();
    for (const auto& [edge, ids] : closes)
        if (!dead_nodes_.contains(edge))
            for (const auto& [id, code] : ids)
                bus_.send(edge, BusKind::close, id, code);
}

} // namespace signald
