#include "signald/net/tls_detector.hpp"

#include "signald/net/http_session.hpp"

#include <spdlog/spdlog.h>

namespace signald {

TlsDetector::TlsDetector(TcpSocket socket, HttpHost& host, tcp::endpoint peer)
    : stream_(std::move(socket)), host_(host), peer_(std::move(peer))
{}

void TlsDetector::run()
{
    // Detection and, for TLS, the handshake must finish within this one timeout.
    stream_.expires_after(host_.http_limits().request_timeout);
    beast::async_detect_ssl(stream_, buffer_,
                            beast::bind_front_handler(&TlsDetector::on_detect, shared_from_this()));
}

void TlsDetector::on_detect(error_code ec, bool is_tls)
{
    if (ec) {
        spdlog::debug("{} closed before TLS detection: {}", peer_.address().to_string(),
                      ec.message());
        return;
    }
    if (is_tls) {
        std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(stream_), host_.tls_context()),
                                                 host_, peer_, std::move(buffer_))
            ->run();
    } else {
        std::make_shared<HttpSession<TcpStream>>(std::move(stream_), host_, peer_,
                                                 std::move(buffer_), true)
            ->run();
    }
}

} // namespace signald
