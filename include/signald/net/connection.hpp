#pragma once
// Connection: what Server needs of a WebSocket session, whatever stream it runs on (plain TCP
// today, TLS later). Server holds these as weak_ptrs keyed by ClientId.
//
// Neither call may reach back into Hub synchronously: both are made from inside Hub's fan-out.

#include "signald/core/transport.hpp"

#include <cstdint>

namespace signald {

class Connection
{
public:
    virtual ~Connection() = default;
    // Queues text behind whatever is already queued; ignored once the connection is closing.
    virtual void send(const Text& text) = 0;
    // Starts a WebSocket close with code after the write in flight; queued text is dropped.
    virtual void close(std::uint16_t code) = 0;
};

} // namespace signald
