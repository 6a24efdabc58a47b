#pragma once
// Member: one client in a room, as RoomRegistry keeps it and Delivery receives it. The protocol
// rules in Hub read client_id and name; only a Delivery reads `where`, so rules never ask whether
// a member is served by this process or, once rooms span processes, by another one.

#include "signald/core/ids.hpp"
#include "signald/core/protocol.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace signald {

// Which process serves a member's connection. Every member is on this node today; a cross-process
// bus will number the other nodes and add their members with their NodeId.
using NodeId = std::uint32_t;
inline constexpr NodeId this_node = 0;

// Every joined client has one, so it is kept small (48 bytes): the name and state, which most
// members never have, live in a block of their own allocated only when one of them is set.
class Member
{
public:
    explicit Member(ClientId id, std::optional<std::string> name = std::nullopt,
                    NodeId node = this_node, bool is_suspended = false)
        : client_id(std::move(id)), where(node), suspended(is_suspended)
    {
        set_name(std::move(name));
    }
    Member(const Member& other)
        : client_id(other.client_id), where(other.where), suspended(other.suspended),
          extra_(other.extra_ ? std::make_unique<Extra>(*other.extra_) : nullptr)
    {}
    Member& operator=(const Member& other)
    {
        if (this != &other)
            *this = Member(other);
        return *this;
    }
    Member(Member&&) noexcept = default;
    Member& operator=(Member&&) noexcept = default;
    ~Member() = default;

    // never empty: "" is stored as no name
    const std::optional<std::string>& name() const { return extra_ ? extra_->name : no_text(); }
    // Its latest state (update, join), as the JSON object text it sent; it goes with the member.
    const std::optional<std::string>& state() const { return extra_ ? extra_->state : no_text(); }
    void set_name(std::optional<std::string> name)
    {
        if (name || extra_)
            extra().name = std::move(name);
    }
    void set_state(std::optional<std::string> state)
    {
        if (state || extra_)
            extra().state = std::move(state);
    }

    // What this member reported of its peer connection with peer (docs/protocol.md 5.8): true
    // the first time for that peer and outcome (connected, or failed), so that each end of a peer
    // connection counts once however often its page repeats itself. The record of a peer goes
    // when that peer leaves the room (forget_reports), so it never outgrows the room.
    bool first_report(const ClientId& peer, bool failed)
    {
        const std::uint8_t bit = failed ? reported_failed : reported_connected;
        auto& reports = extra().reports;
        for (auto& [reported, bits] : reports)
            if (reported == peer) {
                const bool first = (bits & bit) == 0;
                bits = static_cast<std::uint8_t>(bits | bit);
                return first;
            }
        reports.emplace_back(peer, bit);
        return true;
    }
    std::size_t reported_peers() const { return extra_ ? extra_->reports.size() : 0; }
    void forget_reports(const ClientId& peer)
    {
        if (extra_)
            std::erase_if(extra_->reports,
                          [&](const auto& report) { return report.first == peer; });
    }

    // What the wire says about this member (joined.peers, peer-joined.peer).
    Peer peer() const { return Peer{client_id, name(), suspended, state()}; }

    ClientId client_id;
    NodeId where = this_node;
    // Its connection dropped and it may still resume: it keeps its place meanwhile.
    bool suspended = false;

private:
    static constexpr std::uint8_t reported_connected = 1;
    static constexpr std::uint8_t reported_failed = 2;
    struct Extra
    {
        std::optional<std::string> name;
        std::optional<std::string> state;
        std::vector<std::pair<ClientId, std::uint8_t>> reports; // peer, reported_* bits
    };
    Extra& extra()
    {
        if (!extra_)
            extra_ = std::make_unique<Extra>();
        return *extra_;
    }
    static const std::optional<std::string>& no_text()
    {
        static const std::optional<std::string> none;
        return none;
    }

    std::unique_ptr<Extra> extra_;
};

} // namespace signald
