#pragma once
// How Hub reaches connections without knowing what they are. The network layer implements it;
// unit tests record what passes through it.
//
// Implementations must never call back into Hub from inside send(): Hub calls it while walking a
// room's member list.

#include "signald/core/ids.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace signald {

// One serialised message, shared by every receiver's write queue instead of copied per receiver.
using Text = std::shared_ptr<const std::string>;

inline Text make_text(std::string text)
{
    return std::make_shared<const std::string>(std::move(text));
}

class Transport
{
public:
    virtual ~Transport() = default;
    // Queues text for one client, in order. An id that is gone is ignored.
    virtual void send(const ClientId& to, const Text& text) = 0;
    // Starts closing a client's connection with a WebSocket close code. The client stays a member
    // until the connection is gone and the network layer calls Hub::disconnect.
    virtual void close(const ClientId& id, std::uint16_t code) = 0;
};

} // namespace signald
