#pragma once
// Hub: the protocol's state machine. It owns every client's state and the room registry, turns
// each text message into replies, and is the only caller of Transport (messages through
// LocalDelivery, closes directly). Called by the network layer (connect, on_text, disconnect) on
// its single thread; it never touches a socket.
//
// Every message leaves through deliver(): room-wide ones through publish(), the one fan-out point,
// and answers to a request through answer(). Members are reached through Delivery by Member, so
// the rules never ask where a member is served (delivery.hpp says how a bus will plug in).
//
// Resume (docs/protocol.md 8.1), when HubLimits::resume_grace is set: deliver() numbers what each
// member is sent in its Outbox, and holds it until a pong acknowledges it; a member whose
// connection is lost is suspended (its messages held, not sent) until a resume hands it a new
// connection or the grace period ends. Members are never removed inside a fan-out: one that
// overflows its outbox while suspended is doomed there and removed by settle() afterwards.

#include "signald/core/delivery.hpp"
#include "signald/core/hub_stats.hpp"
#include "signald/core/ice_servers.hpp"
#include "signald/core/ids.hpp"
#include "signald/core/join_check.hpp"
#include "signald/core/outbox.hpp"
#include "signald/core/protocol.hpp"
#include "signald/core/rate_limiter.hpp"
#include "signald/core/rooms.hpp"
#include "signald/core/transport.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace signald {

struct HubLimits
{
    // 32: a mesh call's upload grows with every peer; past a few dozen it no longer works anyway.
    std::size_t max_room_size = 32;
    RateLimit rate;                    // off unless set
    std::size_t max_message_bytes = 0; // the byte bucket always fits one such message
    // How long a member whose connection was lost keeps its place; zero turns resume off (the
    // server's default is ServerOptions'). Off here so a bare Hub speaks the protocol's base.
    std::chrono::seconds resume_grace{0};
    // What one member may hold for a resume: unacknowledged plus queued while suspended.
    std::size_t resume_buffer_bytes = std::size_t{1024} * 1024;
    // Suspended members at once, so that dropping connections cannot pile up held memory
    // without bound; past it a lost connection removes its member as with resume off.
    std::size_t max_suspended = SIZE_MAX;
    // How long a kicked member may not join its room again (--kick-ban); zero bans nothing.
    std::chrono::seconds kick_ban{300};
};

class Hub
{
public:
    static constexpr std::size_t default_max_room_size = HubLimits{}.max_room_size;

    // ice_servers, when set, fills each `joined` with the iceServers for its receiver.
    // join_check, when set, decides who may join (docs/protocol.md 7.1, between steps 6 and 7):
    // a join's token is then read, and its name comes from what the token grants.
    Hub(Transport& transport, IdSource& ids, HubLimits limits = {}, Clock clock = {},
        IceServersFor ice_servers = {}, JoinCheck join_check = {});

    // The optional parts of the protocol this hub speaks.
    ProtocolFeatures features() const
    {
        return ProtocolFeatures{.resume = resume_on(), .auth = static_cast<bool>(join_check_)};
    }

    // Registers a new connection and returns its id, unique among live connections.
    ClientId connect();
    // Registers a connection another node made, under the id it chose (clustered: that node
    // carries the connection's messages here). False, and nothing changes, if the id is in use.
    bool connect_as(const ClientId& id);

    // Handles one text frame from a connected client.
    void on_text(const ClientId& from, std::string_view text);

    // Forgets a client's connection. Its room hears peer-left, or peer-suspended when the
    // connection was lost and resume is on. Safe to call twice or for an unknown id.
    void disconnect(const ClientId& id, ConnectionEnd end = ConnectionEnd::closed);

    // The client's connection has received the first texts text messages Hub handed it (a pong
    // answered a ping sent after them): what is numbered among them is no longer held.
    void acknowledge(const ClientId& id, std::uint64_t texts);

    // Ends the grace period of suspended members whose time is up, and forgets bans that have
    // run out. Call at least once a second.
    void tick();

    // Every client's state and every room, as JSON text, for another process to go on from
    // (clustered: a leader that stops hands its rooms over; hub_state.cpp). Rate limits start
    // afresh there; everything the protocol promises (order, numbering, held messages, tokens,
    // grace periods) carries over.
    // with_held: the held messages too (a hand-over); without them the state is much smaller
    // (saved continuously against a crash).
    std::string export_state(bool with_held = true) const;
    enum class Restore : std::uint8_t
    {
        exact,       // handed over: every connection goes on where it was
        after_crash, // saved earlier by a process that then died: every member is suspended
                     // with a fresh grace period, and its resume may report a gap
    };
    // Takes over the clients and rooms of export_state's text, beside its own; a client id it
    // already has is skipped. False, and nothing changes, if the text is not such a state.
    bool import_state(std::string_view state, Restore how = Restore::exact);
    std::vector<ClientId> client_ids() const;
    // The client's connection was sent texts this hub did not number (its node answered alone
    // while cut off from the cluster), so the client's count is off: its next resume succeeds
    // with a gap (docs/protocol.md 6.7) instead of failing.
    void allow_gap(const ClientId& id);
    // Its node sent the client's connection text alone, after `after` texts on it (Hub's, and
    // those adopted before): numbered and held in that place as if Hub had handed it, the texts
    // Hub handed since moving one on, so that the client's count is Hub's again. False when
    // that cannot be (gone, suspended, a count Hub never reached, or the texts after it no
    // longer held): the caller lets the client resume with a gap instead.
    bool adopt_sent(const ClientId& id, std::uint64_t after, const Text& text);

    // Clients with a connection; suspended members are not among them.
    std::size_t client_count() const { return clients_.size() - suspended_.size(); }
    std::size_t suspended_count() const { return suspended_.size(); }
    bool is_suspended(const ClientId& id) const
    {
        const auto client = clients_.find(id);
        return client != clients_.end() && client->second.suspended;
    }
    const RoomRegistry& rooms() const { return rooms_; }
    std::optional<std::string> room_of(const ClientId& id) const;
    const HubStats& stats() const { return stats_; }
    // Kicks whose ban still runs (docs/protocol.md 7.4).
    std::size_t ban_count() const { return bans_.size(); }

private:
    // A member's resume state while it is in a room with resume on; the token dies with it.
    struct Resumable
    {
        ResumeSecret secret; // the token is the clientId followed by this, in base64url
        // Restored from a state saved before a crash: a resume that finds messages missing
        // succeeds with a gap instead of failing. Beside the 18-byte secret, in its padding.
        bool restored = false;
        bool engaged = false; // ResumeSlot: whether this is one at all
        Outbox outbox;
        std::uint64_t numbered_from = 0; // texts handed before message 1 (joined/resumed included)
        std::uint64_t handed = 0;        // messages numbered on the connection that was lost
        TimePoint expires{};             // while suspended
    };

    // std::optional<Resumable>'s interface without its flag and padding (8 bytes for every
    // client): whether there is one is kept in the Resumable's padding.
    class ResumeSlot
    {
    public:
        ResumeSlot() = default;
        ResumeSlot(std::nullopt_t) {} // NOLINT(google-explicit-constructor): as optional's
        explicit operator bool() const { return value_.engaged; }
        Resumable& operator*() { return value_; }
        const Resumable& operator*() const { return value_; }
        Resumable* operator->() { return &value_; }
        const Resumable* operator->() const { return &value_; }
        Resumable& emplace(Resumable resumable)
        {
            value_ = std::move(resumable);
            value_.engaged = true;
            return value_;
        }
        ResumeSlot& operator=(Resumable resumable)
        {
            emplace(std::move(resumable));
            return *this;
        }
        void reset() { value_ = Resumable{}; } // what it held goes, as with optional

    private:
        Resumable value_{};
    };

    // What the token of a client's current membership granted (with a JoinCheck). Only token
    // rooms have one, so it is kept apart: the other clients pay a null pointer.
    struct Grant
    {
        bool moderator = false; // may kick and lock
        std::string ban_key;    // what kicking it bans (JoinPass::ban_key)
    };

    // Every connection has one: the small fields share one word, the rare ones are apart.
    struct ClientState
    {
        // Its room, "" when in none (a roomId is never empty); the name lives with the room's
        // member list.
        std::string room;
        RateLimiter limiter;
        ResumeSlot resume;
        std::uint64_t texts = 0; // text messages handed to its connection (counted with resume on)
        std::unique_ptr<Grant> grant{}; // none unless its token granted something
        bool limited = false;   // refused last time: log the start of a flood once, not every drop
        bool closing = false;   // asked to close for abuse; ignore what it still sends
        bool spoke = false;     // sent a message: a resume must be a connection's first
        bool suspended = false; // no connection: held until a resume or the end of the grace
        std::uint8_t refusals_logged = 0; // refused joins and resumes logged at info so far

        bool in_room() const { return !room.empty(); }
        // Granted by the token of its current membership: may kick and lock.
        bool moderator() const { return grant && grant->moderator; }
        // What kicking it bans; "" for none.
        const std::string& ban_key() const
        {
            static const std::string none;
            return grant ? grant->ban_key : none;
        }
        void set_grant(bool moderator, std::string ban_key)
        {
            if (moderator || !ban_key.empty())
                grant = std::make_unique<Grant>(Grant{moderator, std::move(ban_key)});
            else
                grant.reset();
        }
    };

    // Whether the message may be handled; refuses or closes a flooding client.
    bool admit(const ClientId& id, ClientState& client, std::size_t bytes);

    void handle_join(const ClientId& id, ClientState& client, JoinRequest&& join);
    void handle_leave(const ClientId& id, ClientState& client, const LeaveRequest& leave);
    void handle_signal(const ClientId& id, const ClientState& client, const SignalRequest& signal);
    void handle_update(const ClientId& id, const ClientState& client, const UpdateRequest& update);
    void handle_kick(const ClientId& id, const ClientState& client, const KickRequest& kick);
    void handle_lock(const ClientId& id, const ClientState& client, const LockRequest& lock);
    void handle_report(const ClientId& id, const ClientState& client, const ReportRequest& report);
    // Step 7 of kick and lock (docs/protocol.md 7.1): in the room, and a moderator there.
    bool may_moderate(const ClientId& id, const ClientState& client, const std::string& room_id,
                      std::string_view request);
    // Whether a message to member can leave now (Transport::reaches); `unavailable` if not.
    bool can_reach(const Member& member) const;
    // Whether every member of room_id but except can be reached now.
    bool reaches_room(const std::string& room_id, const ClientId& except) const;
    void refuse_unreachable(const ClientId& id, std::string_view request);
    // Logs a refusal of id's request (join and resume at info, a few per connection).
    void log_refusal(const ClientId& id, std::string_view request, std::string_view room_id,
                     ErrorCode code, std::string_view message);
    static constexpr std::uint8_t refusals_at_info = 5;
    // Seconds left of a ban of key from room_id, or 0.
    std::int64_t ban_left(const std::string& room_id, const std::string& key) const;
    void handle_resume(const ClientId& id, bool first, const ResumeRequest& resume);

    // Takes id out of its room and tells the members who remain (peer-left, with reason when
    // not empty). Does not tell id itself. Its resume token dies.
    void leave_room(const ClientId& id, ClientState& client, std::string_view why,
                    std::string_view reason = {});

    bool resume_on() const { return limits_.resume_grace.count() > 0; }
    // The member whose live token this is, or nullptr.
    ClientState* holder_of(std::string_view token, ClientId& id);
    // A resume token's text: the member's clientId, then its secret in base64url.
    static std::string token_for(const ClientId& id, const ResumeSecret& secret);
    // Numbers client's messages from the next one on, under the token of secret.
    static void start_numbering(ClientState& client, const ResumeSecret& secret);
    // The connection of a member in a room is gone: the others hear peer-suspended.
    void suspend(const ClientId& id, ClientState& client);
    // Removes a member that has no connection (suspended): peer-left, then it is forgotten.
    void remove_suspended(const ClientId& id, std::string_view why, std::string_view reason = {});
    // A resume with a live token failed: its member is removed and the token dies.
    void remove_holder(const ClientId& id, std::string_view why);
    // Whether text goes to id's connection now; numbers and holds it for a resume meanwhile.
    bool keep(const ClientId& id, ClientState& client, const Text& text);
    // Removes the members doomed during a fan-out.
    void settle();

    // The one fan-out point: every room-wide message goes to each member of room_id but except,
    // in join order, through here. text_for(member) gives the receiver's Text: the same shared
    // Text for all (serialised once), or one built per receiver when its content differs.
    template <class TextFor>
    void publish(const std::string& room_id, const ClientId& except, OutAction action,
                 TextFor&& text_for);
    // An answer to the client whose request is being handled (joined, left, error). That client
    // is a connection of this node: the network layer calls on_text for its own sessions only.
    void answer(const ClientId& to, OutAction action, const Text& text);
    // Every refusal but the rate limiter's goes through here: logged once (log_refusal; room_id
    // names the room a join was refused), counted, and sent.
    void send_error(const ClientId& to, ErrorCode code, std::string message,
                    std::string_view request);
    void send_error(const ClientId& to, const ProtocolError& error, std::string_view room_id = {});
    // Counted and sent without a line: for the rate limiter, which logs once per episode.
    void send_unlogged_error(const ClientId& to, const ProtocolError& error);
    // Every message Hub sends goes through here, so HubStats counts each delivery.
    void deliver(const Member& to, OutAction action, const Text& text);

    Transport& transport_; // never send(): messages go through Delivery
    LocalDelivery delivery_;
    IdSource& ids_;
    HubLimits limits_;
    RatePolicy rate_policy_; // from limits_: what every client's limiter checks against
    Clock clock_;
    IceServersFor ice_servers_;
    JoinCheck join_check_;
    HubStats stats_;
    std::unordered_map<ClientId, ClientState, ClientIdHash> clients_; // suspended members included
    RoomRegistry rooms_;
    std::vector<ClientId> suspended_; // in order of suspension
    std::vector<ClientId> doomed_;    // suspended members past their cap, removed by settle()
    // Kicked members kept out: (roomId, ban key) -> when the ban ends. They outlive the room.
    std::map<std::pair<std::string, std::string>, TimePoint> bans_;
};

} // namespace signald
