#pragma once
// One non-blocking receive or send on a socket, whatever its blocking mode (MSG_DONTWAIT). The
// WebSocket sessions read only once the socket is readable and write until the kernel's buffer
// is full, so they never need the mode itself; setting it cost a system call per connection.

#include "signald/net/beast.hpp"

#include <cstddef>
#include <span>
#include <string_view>

namespace signald {

// Bytes read into `into`; with ec net::error::would_block when nothing is there, net::error::eof
// when the peer's stream ended, or the system's error.
std::size_t receive_now(int socket, std::span<char> into, error_code& ec);
// Bytes the kernel took from `bytes`; with ec net::error::would_block when it took none.
std::size_t send_now(int socket, std::string_view bytes, error_code& ec);

} // namespace signald
