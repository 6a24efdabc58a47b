#pragma once
// Connection: what Server needs of a WebSocket session, whatever stream it runs on. Server holds
// these as weak_ptrs keyed by ClientId.
//
// send and close may not reach back into Hub synchronously: both are made from inside Hub's
// fan-out.

#include "signald/core/transport.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace signald {

class Connection
{
public:
    virtual ~Connection() = default;
    // Queues text behind whatever is already queued; ignored once the connection is closing.
    virtual void send(const Text& text) = 0;
    // Starts a WebSocket close with code, after the text already queued (a few error replies
    // explain the close; a slow consumer's backlog is dropped instead).
    virtual void close(std::uint16_t code) = 0;
    // The server's periodic sweep: ping a quiet peer, cut a silent one.
    virtual void keepalive(std::chrono::steady_clock::time_point now) = 0;
    // Transport::abort: a close frame if the socket takes it, then cut; the hub is not told.
    // False when it was closing already.
    virtual bool abort(std::uint16_t code, std::string_view reason) = 0;
    // Transport::rebind: the connection reports as id from now on.
    virtual void rebind(const ClientId& id) = 0;
    // Text messages queued on it so far, as Hub counts what it hands over (a clustered edge
    // places the texts it sends alone by this count).
    virtual std::uint64_t texts() const = 0;
};

} // namespace signald
