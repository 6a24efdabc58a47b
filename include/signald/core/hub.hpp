#pragma once
// Hub: the protocol's state machine. It owns every client's state and the room registry, turns
// each text message into replies, and is the only caller of Transport (messages through
// LocalDelivery, closes directly). Called by the network layer (connect, on_text, disconnect) on
// its single thread; it never touches a socket.
//
// Every message leaves through deliver(): room-wide ones through publish(), the one fan-out point,
// and answers to a request through answer(). Members are reached through Delivery by Member, so
// the rules never ask where a member is served (delivery.hpp says how a bus will plug in).

#include "signald/core/delivery.hpp"
#include "signald/core/hub_stats.hpp"
#include "signald/core/ice_servers.hpp"
#include "signald/core/ids.hpp"
#include "signald/core/protocol.hpp"
#include "signald/core/rate_limiter.hpp"
#include "signald/core/rooms.hpp"
#include "signald/core/transport.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace signald {

struct HubLimits
{
    // 32: a mesh call's upload grows with every peer; past a few dozen it no longer works anyway.
    std::size_t max_room_size = 32;
    RateLimit rate;                    // off unless set
    std::size_t max_message_bytes = 0; // the byte bucket always fits one such message
};

class Hub
{
public:
    static constexpr std::size_t default_max_room_size = HubLimits{}.max_room_size;

    // ice_servers, when set, fills each `joined` with the iceServers for its receiver.
    Hub(Transport& transport, IdSource& ids, HubLimits limits = {}, Clock clock = {},
        IceServersFor ice_servers = {});

    // Registers a new connection and returns its id, unique among live connections.
    ClientId connect();

    // Handles one text frame from a connected client.
    void on_text(const ClientId& from, std::string_view text);

    // Forgets a client; its room hears peer-left. Safe to call twice or for an unknown id.
    void disconnect(const ClientId& id);

    std::size_t client_count() const { return clients_.size(); }
    const RoomRegistry& rooms() const { return rooms_; }
    std::optional<std::string> room_of(const ClientId& id) const;
    const HubStats& stats() const { return stats_; }

private:
    struct ClientState
    {
        std::optional<std::string> room; // the name lives with the room's member list
        RateLimiter limiter;
        bool limited = false; // refused last time: log the start of a flood once, not every drop
        bool closing = false; // asked to close for abuse; ignore what it still sends
    };

    // Whether the message may be handled; refuses or closes a flooding client.
    bool admit(const ClientId& id, ClientState& client, std::size_t bytes);

    void handle_join(const ClientId& id, ClientState& client, JoinRequest&& join);
    void handle_leave(const ClientId& id, ClientState& client, const LeaveRequest& leave);
    void handle_signal(const ClientId& id, const ClientState& client, const SignalRequest& signal);

    // Takes id out of its room and tells the members who remain. Does not tell id itself.
    void leave_room(const ClientId& id, ClientState& client, std::string_view why);

    // The one fan-out point: every room-wide message goes to each member of room_id but except,
    // in join order, through here. text_for(member) gives the receiver's Text: the same shared
    // Text for all (serialised once), or one built per receiver when its content differs.
    template <class TextFor>
    void publish(const std::string& room_id, const ClientId& except, OutAction action,
                 TextFor&& text_for);
    // An answer to the client whose request is being handled (joined, left, error). That client
    // is a connection of this node: the network layer calls on_text for its own sessions only.
    void answer(const ClientId& to, OutAction action, const Text& text);
    void send_error(const ClientId& to, ErrorCode code, std::string message,
                    std::string_view request);
    void send_error(const ClientId& to, const ProtocolError& error);
    // Every message Hub sends goes through here, so HubStats counts each delivery.
    void deliver(const Member& to, OutAction action, const Text& text);

    Transport& transport_; // close() only: a flooding client is a connection of this node
    LocalDelivery delivery_;
    IdSource& ids_;
    HubLimits limits_;
    Clock clock_;
    IceServersFor ice_servers_;
    HubStats stats_;
    std::unordered_map<ClientId, ClientState> clients_;
    RoomRegistry rooms_;
};

} // namespace signald
