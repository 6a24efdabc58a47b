#pragma once
// Delivery: how Hub hands one serialised message to one member, wherever that member's connection
// lives. Hub calls it once per receiver from its single fan-out point and never looks at
// Member::where itself; the implementation is the only code that may.
//
// LocalDelivery serves the members of this node through Transport, that is the sessions. A
// cross-process bus will be a second implementation: it forwards members of other nodes over the
// bus and hands this node's to LocalDelivery, without touching the protocol rules in hub.cpp.

#include "signald/core/member.hpp"
#include "signald/core/transport.hpp"

namespace signald {

class Delivery
{
public:
    virtual ~Delivery() = default;
    // Queues text for one member, after everything queued for it before. A member that is gone is
    // ignored. Like Transport::send, it must never call back into Hub.
    virtual void send(const Member& to, const Text& text) = 0;
};

// Every member is on this node today, so delivery is the session's own queue.
class LocalDelivery final : public Delivery
{
public:
    explicit LocalDelivery(Transport& sessions) : sessions_(sessions) {}
    void send(const Member& to, const Text& text) override { sessions_.send(to.client_id, text); }

private:
    Transport& sessions_;
};

} // namespace signald
