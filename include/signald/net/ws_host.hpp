#pragma once
// WsHost: everything a WebSocket session may ask of the server, and nothing more. Server
// implements it; a session never sees the rest of Server (the listener, the site, the hub).
// Every call is made on the io_context thread, and none from inside a Connection::send.

#include "signald/core/ids.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/metrics.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace signald {

class SocketReactor;

// The options that shape one WebSocket connection (defaults and reasons: ServerOptions).
struct WsLimits
{
    std::size_t max_message_bytes;
    std::size_t max_queue_bytes;
    std::chrono::seconds ping_interval;
    std::chrono::seconds idle_timeout;
    // Session resume on (docs/protocol.md 8.1): each ping carries the count of texts sent before
    // it, so that its pong acknowledges them, and a connection sent texts since its last
    // answered ping is pinged at the next sweep (at most one ping unanswered), so what the hub
    // holds for it is trimmed within about a second instead of a whole ping interval. Off,
    // pings are empty, as before resume existed, and acknowledge nothing.
    bool resume_on = false;
};

class WsHost
{
public:
    virtual ~WsHost() = default;

    virtual const WsLimits& ws_limits() const = 0;
    // Where every plain-TCP session reads: one buffer, used by one session at a time.
    virtual std::span<char> read_buffer() = 0;

    // Joins the hub: the session's id, unique among live connections.
    virtual ClientId attach(std::weak_ptr<Connection> connection) = 0;
    // One complete text message from the client.
    virtual void on_text(const ClientId& id, std::string_view text) = 0;
    // The connection is finished for the hub, closed or lost (ConnectionEnd): its member leaves
    // now, or is suspended. Called once.
    virtual void detach(const ClientId& id, ConnectionEnd end) = 0;
    // The client answered a ping sent after the first texts text messages of its connection.
    virtual void acknowledged(const ClientId& id, std::uint64_t texts) = 0;

    // A connection cut off for a limit (slow consumer, idle timeout): logged once at warn and
    // counted in signald_rejections_total{reason}, the one place refusals and cuts are counted.
    virtual void count_refusal(std::string_view reason, std::string_view who,
                               std::string_view detail) = 0;
    // How connections ended and how deep write queues got, for /metrics.
    virtual NetStats& net_stats() = 0;
    // Where sessions register their sockets (socket_reactor.hpp). Asked by the sessions, never
    // by WsConnection: asking the host costs an idle session nothing, a reference to it 8 bytes.
    virtual SocketReactor& reactor() = 0;
};

} // namespace signald
