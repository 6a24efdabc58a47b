#pragma once
// RoomRegistry: which members are in which room, in join order. Owned by Hub, which decides who
// may join; the registry only keeps the lists and deletes a room the moment it empties. It holds
// a Member wherever it is served, so a cross-process bus can mirror other nodes' members here.

#include "signald/core/member.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace signald {

class RoomRegistry
{
public:
    // Members of room_id in join order; empty if there is no such room.
    std::span<const Member> members(const std::string& room_id) const;

    bool contains(const std::string& room_id, const ClientId& id) const;
    // The member id of room_id, or nullptr. Valid until the registry next changes.
    const Member* find(const std::string& room_id, const ClientId& id) const;

    // Appends member to room_id, creating the room. The caller checks capacity and duplicates.
    void add(const std::string& room_id, Member member);

    // Marks id in room_id suspended or not. A no-op if id is not there.
    void set_suspended(const std::string& room_id, const ClientId& id, bool suspended);
    // Replaces the state of id in room_id. A no-op if id is not there.
    void set_state(const std::string& room_id, const ClientId& id, std::string state);

    // Whether id's report on its peer connection with peer is the first of its kind
    // (Member::first_report); false if id is not in room_id.
    bool first_report(const std::string& room_id, const ClientId& id, const ClientId& peer,
                      bool failed);
    // Removes id from room_id, and the others' reports on it; deletes the room when it empties.
    // A no-op if id is not there.
    void remove(const std::string& room_id, const ClientId& id);

    // A moderator's lock (docs/protocol.md 7.4). It lasts while the room does: an empty room
    // is gone, lock and all. set_locked is a no-op for a room that does not exist.
    bool locked(const std::string& room_id) const { return locked_.contains(room_id); }
    void set_locked(const std::string& room_id, bool locked);
    const std::unordered_set<std::string>& locked_rooms() const { return locked_; }

    std::size_t room_count() const { return rooms_.size(); }
    std::size_t member_count() const;

    const std::unordered_map<std::string, std::vector<Member>>& all() const { return rooms_; }

private:
    // A room is a short vector: rooms hold tens of members, and join order is part of the protocol.
    std::unordered_map<std::string, std::vector<Member>> rooms_;
    std::unordered_set<std::string> locked_; // rare: a set beside the rooms, not a flag in each
};

} // namespace signald
