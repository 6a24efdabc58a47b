#pragma once
// The messages nodes exchange through Redis (docs/cluster.md, "The bus"), and their byte format.
// Pure: a batch is encoded into one stream entry's value and decoded back, with no Redis or
// sockets here, so the format has unit tests and a fuzzer.
//
// A node whose clients' rooms live on another node (an edge) tells that node (their home) what
// its clients do: attach, text, detach, acknowledged, and the full roster after a reconnect. The
// home answers with what the edge must do to those connections: send, close, abort, rebind. These
// are WsHost and Transport (ws_host.hpp, transport.hpp), carried over the wire.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald {

enum class BusKind : std::uint8_t
{
    // edge to home
    attach = 1,  // id: a new connection
    text = 2,    // id, text: a text message from the client
    detach = 3,  // id, number: the connection ended (ConnectionEnd)
    acked = 4,   // id, number: the client has the first `number` texts
    roster = 5,  // text: every connection the edge serves for this home, comma-separated
    paused = 6,  // the edge holds its clients' input now: everything before this was sent
    gap = 7,     // id, number: the edge answered this client alone (cut off): its count is
                 // off; number 1: its connection ended, and its detach follows
    alone = 8,   // id, number, text: the edge sent this text alone (cut off), after `number`
                 // texts on the connection
                 // home to edge
    send = 16,   // id, text: a text message for the client
    close = 17,  // id, number: start closing with this code
    abort = 18,  // id, number, text: close with code and reason, then cut, and forget it
    rebind = 19, // id, text: the connection `id` serves client `text` from now on
    pause = 20,  // hold your clients' input: this home is handing its rooms over
};

struct BusMessage
{
    BusKind kind{};
    std::string id;
    std::uint64_t number = 0;
    std::string text;

    bool operator==(const BusMessage&) const = default;
};

// Appends one message to batch.
void append_message(std::string& batch, BusKind kind, std::string_view id, std::uint64_t number = 0,
                    std::string_view text = {});
inline void append_message(std::string& batch, const BusMessage& message)
{
    append_message(batch, message.kind, message.id, message.number, message.text);
}

// Every message of batch, or nullopt if it is not a well-formed batch (an unknown kind, a
// length past the end): a node that cannot read a batch drops it whole and says so.
std::optional<std::vector<BusMessage>> decode_batch(std::string_view batch);

} // namespace signald
