#include "signald/cluster/cluster_link.hpp"

#include "signald/core/close_codes.hpp"
#include "signald/core/protocol.hpp"

#include <spdlog/spdlog.h>

#include <unordered_set>

namespace signald {

ClusterLink::ClusterLink(Hub& hub, NodeRegistry& registry, Bus& bus, LocalSessions local,
                         ProtocolFeatures features)
    : hub_(hub), registry_(registry), bus_(bus), local_(std::move(local)), features_(features)
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
    bus_.send(leader_, BusKind::attach, id);
}

void ClusterLink::text(const ClientId& id, std::string_view text)
{
    const auto home = homes_.find(id);
    if (home == homes_.end())
        return;
    if (!bus_.ready())
        return refuse(id, text);
    bus_.send(home->second, BusKind::text, id, 0, text);
}

void ClusterLink::detach(const ClientId& id, ConnectionEnd end)
{
    const auto home = homes_.find(id);
    if (home == homes_.end())
        return;
    // Lost with Redis away: the roster after it returns tells the leader.
    bus_.send(home->second, BusKind::detach, id, static_cast<std::uint64_t>(end));
    homes_.erase(home);
}

void ClusterLink::acknowledged(const ClientId& id, std::uint64_t texts)
{
    const auto home = homes_.find(id);
    if (home != homes_.end())
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
    ProtocolError error{ErrorCode::unavailable,
                        "the cluster cannot be reached; try again in a moment", std::nullopt};
    if (const auto* malformed = std::get_if<ProtocolError>(&parsed))
        error = *malformed;
    else
        error.request = std::string(action_of(std::get<Request>(parsed)));
    local_.send(id, make_text(reply::error(error)));
}

void ClusterLink::leader_changed()
{
    const std::string leader = registry_.leader();
    if (leader == leader_ || leader.empty())
        return; // no leader known: go on as before until there is one
    const std::string previous = leader_;
    leader_ = leader;
    const bool here = registry_.is_leader();
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
        switch (message.kind) {
        case BusKind::attach:
            if (!registry_.is_leader() || !hub_.connect_as(message.id)) {
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
            if (edge == remote_.end() || edge->second != from)
                break;
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
    // Its clients' connections are gone without a word: suspended, as a lost connection is.
    if (registry_.is_leader())
        forget_remote_clients(ConnectionEnd::lost, node);
}

void ClusterLink::bus_ready()
{
    send_roster();
}

void ClusterLink::send_roster()
{
    if (leader_.empty() || registry_.is_leader())
        return;
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

void ClusterLink::lost(const std::string& to, const std::string& batch)
{
    const auto messages = decode_batch(batch);
    if (!messages)
        return;
    for (const BusMessage& message : *messages) {
        // A client's request that may not have arrived: it hears so, rather than nothing.
        if (message.kind == BusKind::text && homes_.contains(message.id))
            refuse(message.id, message.text);
        // A client of this Hub that may have missed messages: suspended, so that the edge's
        // roster (after the outage) makes it resume and get exactly what it missed. Only if it
        // is still served by that edge: the answer comes a round trip after the batch left, and
        // meanwhile the member may have resumed on another node (a takeover of the connection
        // on a node that died); its new connection missed nothing.
        if (message.kind != BusKind::send)
            continue;
        const auto edge = remote_.find(message.id);
        if (edge != remote_.end() && edge->second == to) {
            remote_.erase(edge);
            hub_.disconnect(message.id, ConnectionEnd::lost);
        }
    }
}

} // namespace signald
