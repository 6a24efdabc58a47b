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

    // What the wire says about this member (joined.peers, peer-joined.peer).
    Peer peer() const { return Peer{client_id, name(), suspended, state()}; }

    ClientId client_id;
    NodeId where = this_node;
    // Its connection dropped and it may still resume: it keeps its place meanwhile.
    bool suspended = false;

private:
    struct Extra
    {
        std::optional<std::string> name;
        std::optional<std::string> state;
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
