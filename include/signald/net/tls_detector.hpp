#pragma once
// TlsDetector: on a TLS port, looks at a new connection's first bytes. A TLS ClientHello goes on
// to an HTTPS session (the bytes read so far are handed over); anything else is plain HTTP, which
// gets a redirect to the https:// URL instead of a confusing handshake failure.

#include "signald/net/beast.hpp"
#include "signald/net/http_host.hpp"

#include <memory>

namespace signald {

class TlsDetector final : public std::enable_shared_from_this<TlsDetector>
{
public:
    TlsDetector(TcpSocket socket, HttpHost& host, tcp::endpoint peer);
    void run();

private:
    void on_detect(error_code ec, bool is_tls);

    TcpStream stream_;
    HttpHost& host_;
    tcp::endpoint peer_;
    beast::flat_buffer buffer_;
};

} // namespace signald
