#pragma once
// HttpSession: one HTTP/1.1 connection until it either closes or upgrades. Serves GET/HEAD from
// StaticSite (and /metrics, /healthz from its host) one request at a time (read, write, read: no
// pipelining), and hands an admitted upgrade at "/" or "/ws" to a WebSocket session (WsPlainSession
// or WsTlsSession) together with the stream. Nothing here outlives the hand-off.

#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/http_host.hpp"
#include "signald/net/static_site.hpp"

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

namespace signald {

template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>>
{
public:
    // buffer: bytes already read from the connection (by the TLS detector). redirect_to_https:
    // plain HTTP that reached a TLS port; every request is sent to the https:// URL.
    HttpSession(Stream&& stream, HttpHost& host, const tcp::endpoint& peer,
                beast::flat_buffer buffer = {}, bool redirect_to_https = false);
    void run();

private:
    static constexpr bool tls = std::is_same_v<Stream, TlsStream>;

    void on_handshake(error_code ec, std::size_t bytes_used);
    void do_read();
    void on_read(error_code ec, std::size_t bytes);
    // Every request, upgrades and the https redirect included, first passes the host's
    // HostPolicy or gets 403 (the DNS-rebinding defence).
    bool host_allowed(const http::request<http::string_body>& request) const;
    void refuse_host(const http::request<http::string_body>& request);
    void upgrade(http::request<http::string_body>&& request);
    // The 101 is out: the socket now belongs to a WebSocket session.
    void on_upgraded(error_code ec, std::size_t bytes);
    // Turns answer into the response to request; the connection closes after it unless
    // keep_alive.
    void respond(const http::request<http::string_body>& request, HttpAnswer answer,
                 bool keep_alive);
    void on_write(bool keep_alive, error_code ec, std::size_t bytes);
    void do_close();

    Stream stream_;
    beast::flat_buffer buffer_;
    HttpHost& host_;
    tcp::endpoint peer_;
    std::string peer_address_; // ip:port, for logs; the client's address too behind a proxy
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_; // one request in flight, so one response
    std::optional<Admission> admission_;         // held from the upgrade's 101 to the hand-off
    bool redirect_to_https_ = false;
};

} // namespace signald
