#pragma once
// WsPlainSession: a WsSocketSession over plain TCP (ws://): the socket's bytes go to the
// connection as they are, and the connection's queue goes to the kernel as it is.

#include "signald/net/ws_socket_session.hpp"

namespace signald {

class WsPlainSession final : public WsSocketSession
{
public:
    WsPlainSession(TcpSocket socket, WsHost& host, std::string peer_address, Admission admission)
        : WsSocketSession(std::move(socket), host, std::move(peer_address), std::move(admission),
                          false)
    {}

private:
    std::span<char> read_space(std::span<char> shared) override { return shared; }
    bool take_in(std::span<char> bytes, std::span<char> shared) override;
    void write_now() override;
    void shut_down() override;
};

} // namespace signald
