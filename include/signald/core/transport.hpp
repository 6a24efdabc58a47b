#pragma once
// How Hub reaches this node's connections without knowing what they are. The network layer
// implements it with its sessions; unit tests record what passes through it. Hub reaches room
// members through Delivery (delivery.hpp), whose local implementation forwards here.
//
// Implementations must never call back into Hub from inside send(): Hub calls it while walking a
// room's member list.

#include "signald/core/ids.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace signald {

// One serialised message. Hub builds each message once and hands the same Text to every receiver
// of one fan-out call, so a broadcast is serialised once, not once per receiver. The bytes are
// still copied: each receiver's session frames them into its own outbound queue (OutboundFrames)
// inside send(), and the Text is released when the fan-out returns. Nothing keeps a reference to
// it after send().
using Text = std::shared_ptr<const std::string>;

inline Text make_text(std::string text)
{
    return std::make_shared<const std::string>(std::move(text));
}

// How a connection ended, as far as the hub must know: whether the client or the server said
// so with a close frame (or the server decided for a policy), or the connection merely broke
// (reset, end of stream or error without a close frame from the client, idle timeout). With
// resume on, a member whose connection was lost is suspended rather than removed.
enum class ConnectionEnd : std::uint8_t
{
    closed,
    lost,
};

class Transport
{
public:
    virtual ~Transport() = default;
    // Queues text for one client, in order. An id that is gone is ignored.
    virtual void send(const ClientId& to, const Text& text) = 0;
    // Starts closing a client's connection with a WebSocket close code. The client stays a member
    // until the connection is gone and the network layer calls Hub::disconnect.
    virtual void close(const ClientId& id, std::uint16_t code) = 0;
    // Ends a connection at once, without telling Hub (which already let it go): a close frame
    // with code and reason if the socket still takes writes, then the TCP connection is cut,
    // without waiting for the client. Returns false when a close the server started was already
    // under way (the connection is cut all the same).
    virtual bool abort(const ClientId& id, std::uint16_t code, std::string_view reason) = 0;
    // The connection known as from serves client to from now on (a resume): sends to `to` reach
    // it, and it reports as `to`. No connection is known as `to` when this is called.
    virtual void rebind(const ClientId& from, const ClientId& to) = 0;

    // A clustered node cut off from the others (Redis away, docs/cluster.md): a join, and a
    // signal to a client it cannot reach, are refused with `unavailable` rather than sent into
    // the void. A node on its own is never cut off and reaches every client.
    virtual bool cut_off() const { return false; }
    virtual bool reaches(const ClientId& /*id*/) const { return true; }
};

} // namespace signald
