#include "signald/net/socket_io.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace signald {
namespace {

error_code system_error(int number)
{
    if (number == EAGAIN || number == EWOULDBLOCK)
        return net::error::would_block;
    return error_code(number, boost::system::system_category());
}

} // namespace

std::size_t receive_now(int socket, std::span<char> into, error_code& ec)
{
    for (;;) {
        const ssize_t got = ::recv(socket, into.data(), into.size(), MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            ec = system_error(errno);
            return 0;
        }
        ec = got == 0 && !into.empty() ? error_code(net::error::eof) : error_code();
        return static_cast<std::size_t>(got);
    }
}

std::size_t send_now(int socket, std::string_view bytes, error_code& ec)
{
    for (;;) {
        // MSG_NOSIGNAL: a peer that is gone is an error here, not a SIGPIPE.
        const ssize_t sent =
            ::send(socket, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0) {
            ec = system_error(errno);
            return 0;
        }
        ec = {};
        return static_cast<std::size_t>(sent);
    }
}

} // namespace signald
