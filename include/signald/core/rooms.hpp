#pragma once
// RoomRegistry: which clients are in which room, in join order. Owned by Hub, which decides who
// may join; the registry only keeps the lists and deletes a room the moment it empties.

#include "signald/core/protocol.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace signald {

class RoomRegistry
{
public:
    // Members of room_id in join order; empty if there is no such room.
    std::span<const Peer> members(const std::string& room_id) const;

    bool contains(const std::string& room_id, const ClientId& id) const;

    // Appends peer to room_id, creating the room. The caller checks capacity and duplicates.
    void add(const std::string& room_id, Peer peer);

    // Removes id from room_id; deletes the room when it empties. A no-op if id is not there.
    void remove(const std::string& room_id, const ClientId& id);

    std::size_t room_count() const { return rooms_.size(); }
    std::size_t member_count() const;

    const std::unordered_map<std::string, std::vector<Peer>>& all() const { return rooms_; }

private:
    // A room is a short vector: rooms hold tens of members, and join order is part of the protocol.
    std::unordered_map<std::string, std::vector<Peer>> rooms_;
};

} // namespace signald
