#include "signald/core/hub_stats.hpp"

namespace signald {

std::string_view to_string(InAction action)
{
    switch (action) {
    case InAction::join:
        return "join";
    case InAction::leave:
        return "leave";
    case InAction::signal:
        return "signal";
    case InAction::resume:
        return "resume";
    case InAction::kick:
        return "kick";
    case InAction::lock:
        return "lock";
    case InAction::update:
        return "update";
    case InAction::report:
        return "report";
    case InAction::invalid:
        return "invalid";
    case InAction::dropped:
        return "dropped";
    }
    return "internal";
}

// The wire spellings again, as labels: a unit test holds them equal to the `action` of what Hub
// actually sends, so the two cannot drift apart.
std::string_view to_string(OutAction action)
{
    switch (action) {
    case OutAction::joined:
        return "joined";
    case OutAction::peer_joined:
        return "peer-joined";
    case OutAction::peer_left:
        return "peer-left";
    case OutAction::left:
        return "left";
    case OutAction::signal:
        return "signal";
    case OutAction::error:
        return "error";
    case OutAction::resumed:
        return "resumed";
    case OutAction::peer_suspended:
        return "peer-suspended";
    case OutAction::peer_resumed:
        return "peer-resumed";
    case OutAction::room_locked:
        return "room-locked";
    case OutAction::peer_updated:
        return "peer-updated";
    }
    return "internal";
}

} // namespace signald
