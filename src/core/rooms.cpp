#include "signald/core/rooms.hpp"

#include <algorithm>

namespace signald {

std::span<const Member> RoomRegistry::members(const std::string& room_id) const
{
    const auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return {};
    return room->second;
}

bool RoomRegistry::contains(const std::string& room_id, const ClientId& id) const
{
    return find(room_id, id) != nullptr;
}

const Member* RoomRegistry::find(const std::string& room_id, const ClientId& id) const
{
    const auto members_of_room = members(room_id);
    const auto found = std::find_if(members_of_room.begin(), members_of_room.end(),
                                    [&](const Member& member) { return member.client_id == id; });
    return found == members_of_room.end() ? nullptr : &*found;
}

void RoomRegistry::add(const std::string& room_id, Member member)
{
    rooms_[room_id].push_back(std::move(member));
}

void RoomRegistry::set_suspended(const std::string& room_id, const ClientId& id, bool suspended)
{
    const auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    for (Member& member : room->second)
        if (member.client_id == id)
            member.suspended = suspended;
}

void RoomRegistry::set_state(const std::string& room_id, const ClientId& id, std::string state)
{
    const auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    for (Member& member : room->second)
        if (member.client_id == id)
            member.set_state(std::move(state));
}

bool RoomRegistry::first_report(const std::string& room_id, const ClientId& id,
                                const ClientId& peer, bool failed)
{
    const auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return false;
    for (Member& member : room->second)
        if (member.client_id == id)
            return member.first_report(peer, failed);
    return false;
}

void RoomRegistry::remove(const std::string& room_id, const ClientId& id)
{
    const auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return;
    if (std::erase_if(room->second, [&](const Member& member) { return member.client_id == id; }))
        for (Member& member : room->second)
            member.forget_reports(id);
    if (room->second.empty()) {
        locked_.erase(room_id); // first: room_id may be the key about to be erased
        rooms_.erase(room);
    }
}

void RoomRegistry::set_locked(const std::string& room_id, bool locked)
{
    if (!locked)
        locked_.erase(room_id);
    else if (rooms_.contains(room_id))
        locked_.insert(room_id);
}

std::size_t RoomRegistry::member_count() const
{
    std::size_t count = 0;
    for (const auto& [room_id, members] : rooms_)
        count += members.size();
    return count;
}

} // namespace signald
