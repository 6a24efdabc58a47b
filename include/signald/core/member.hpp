#pragma once
// Member: one client in a room, as RoomRegistry keeps it and Delivery receives it. The protocol
// rules in Hub read client_id and name; only a Delivery reads `where`, so rules never ask whether
// a member is served by this process or, once rooms span processes, by another one.

#include "signald/core/ids.hpp"
#include "signald/core/protocol.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace signald {

// Which process serves a member's connection. Every member is on this node today; a cross-process
// bus will number the other nodes and add their members with their NodeId.
using NodeId = std::uint32_t;
inline constexpr NodeId this_node = 0;

struct Member
{
    ClientId client_id;
    std::optional<std::string> name; // never empty: "" is stored as no name
    NodeId where = this_node;
    // Its connection dropped and it may still resume: it keeps its place meanwhile.
    bool suspended = false;
    // Its latest state (update, join), as the JSON object text it sent; it goes with the member.
    std::optional<std::string> state{};

    // What the wire says about this member (joined.peers, peer-joined.peer).
    Peer peer() const { return Peer{client_id, name, suspended, state}; }
};

} // namespace signald
