#include "signald/net/http_session.hpp"

#include "signald/net/ws_host.hpp"
#include "signald/net/ws_plain_session.hpp"
#include "signald/net/ws_tls_session.hpp"

#include <spdlog/spdlog.h>

namespace signald {
namespace {

// Requests carry no body worth reading; this bounds what a client can make us buffer.
constexpr std::uint64_t max_body_bytes = 16 * 1024ULL;

std::string_view path_of(std::string_view target)
{
    return target.substr(0, target.find_first_of("?#"));
}

// Whether the query of target holds the parameter name (alone, or as name=...).
bool has_query_parameter(std::string_view target, std::string_view name)
{
    const auto question = target.find('?');
    if (question == std::string_view::npos)
        return false;
    std::string_view query = target.substr(question + 1);
    query = query.substr(0, query.find('#'));
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto part = query.substr(0, amp);
        if (part.substr(0, part.find('=')) == name)
            return true;
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    }
    return false;
}

HttpAnswer text_answer(unsigned status, std::string_view content_type, std::string body)
{
    return HttpAnswer{status, std::string(content_type), std::move(body), {}, {}};
}

HttpAnswer plain_answer(unsigned status, std::string body)
{
    return text_answer(status, "text/plain; charset=utf-8", std::move(body) + "\n");
}

std::string endpoint_text(const tcp::endpoint& endpoint)
{
    const std::string address = address_text(endpoint.address());
    const std::string port = std::to_string(endpoint.port());
    return address.find(':') != std::string::npos ? "[" + address + "]:" + port
                                                  : address + ":" + port;
}

// Every X-Forwarded-For line in order, joined as one list: a repeated header is one list split.
std::string forwarded_for(const http::request<http::string_body>& request)
{
    std::string list;
    const auto [first, last] = request.equal_range("X-Forwarded-For");
    for (auto line = first; line != last; ++line) {
        if (!list.empty())
            list += ',';
        list += line->value();
    }
    return list;
}

} // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, HttpHost& host, const tcp::endpoint& peer,
                                 beast::flat_buffer buffer, bool redirect_to_https)
    : stream_(std::move(stream)), buffer_(std::move(buffer)), host_(host), peer_(peer),
      peer_address_(endpoint_text(peer)), redirect_to_https_(redirect_to_https)
{}

template <class Stream>
void HttpSession<Stream>::run()
{
    if constexpr (tls) {
        // No new deadline: the one TlsDetector set on accepting the connection covers the
        // handshake too, so a ClientHello that trickles in gets no fresh timeout.
        stream_.async_handshake(
            net::ssl::stream_base::server, buffer_.data(),
            beast::bind_front_handler(&HttpSession::on_handshake, this->shared_from_this()));
    } else {
        do_read();
    }
}

template <class Stream>
void HttpSession<Stream>::on_handshake(error_code ec, std::size_t bytes_used)
{
    if (ec) {
        host_.count_refusal("tls-handshake", peer_address_, ec.message());
        return;
    }
    buffer_.consume(bytes_used);
    do_read();
}

template <class Stream>
void HttpSession<Stream>::do_read()
{
    // A fresh parser per request: Beast parsers are single-use.
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(host_.http_limits().max_header_bytes));
    parser_->body_limit(max_body_bytes);
    // The whole request must arrive within the timeout, however slowly it trickles (slowloris).
    beast::get_lowest_layer(stream_).expires_after(host_.http_limits().request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_read(error_code ec, std::size_t bytes)
{
    if (ec == http::error::end_of_stream)
        return do_close();
    if (ec == beast::error::timeout) {
        // An idle keep-alive connection timing out between requests is normal; one that is
        // half-way through a request is a slowloris.
        if (bytes > 0 || buffer_.size() > 0)
            host_.count_refusal("request-timeout", peer_address_,
                                "request incomplete after timeout");
        return do_close();
    }
    if (ec == http::error::header_limit) {
        host_.count_refusal("header-too-large", peer_address_, "request header over the limit");
        return respond({}, plain_answer(431, "431 Request Header Fields Too Large"), false);
    }
    if (ec) {
        spdlog::debug("{} HTTP read ended: {}", peer_address_, ec.message());
        return; // resets and malformed requests just end the connection
    }

    auto request = parser_->release();
    if (!host_allowed(request))
        return refuse_host(request);
    if (redirect_to_https_) {
        // Plain HTTP on the TLS port: the same URL over https, method and body kept (308). An
        // absolute-form target (RFC 7230 5.3.2) names the host itself; anything but that or a
        // path (`*`, authority-form) has no https URL.
        const std::string_view target = request.target();
        constexpr std::string_view absolute = "http://";
        std::string location;
        if (target.size() > absolute.size() &&
            beast::iequals(target.substr(0, absolute.size()), absolute))
            location = "https://" + std::string(target.substr(absolute.size()));
        else if (target.starts_with('/') && !request[http::field::host].empty())
            location = "https://" + std::string(request[http::field::host]) + std::string(target);
        if (location.empty())
            return respond(request, plain_answer(400, "400 Bad Request: use https"), false);
        HttpAnswer answer = plain_answer(308, "308 Permanent Redirect: use https");
        answer.location = std::move(location);
        return respond(request, std::move(answer), false);
    }
    const auto path = path_of(request.target());
    const bool get_or_head =
        request.method() == http::verb::get || request.method() == http::verb::head;
    if (websocket::is_upgrade(request) && (path == "/" || path == "/ws"))
        return upgrade(std::move(request));

    HttpAnswer answer;
    if (!get_or_head)
        answer = plain_answer(405, "405 Method Not Allowed");
    else if (path == "/ws")
        answer = plain_answer(426, "426 Upgrade Required: this is the WebSocket endpoint");
    else if (websocket::is_upgrade(request))
        answer = plain_answer(404, "404 Not Found: the WebSocket endpoint is /ws");
    else if (path == "/healthz") {
        const auto trouble = host_.trouble();
        answer = trouble ? plain_answer(503, *trouble) : plain_answer(200, "ok");
        // ?verbose adds the TURN checks under the same status: a TURN server that fails does
        // not make this node worse at signaling, so it must not take it out of a balancer.
        if (has_query_parameter(request.target(), "verbose"))
            answer.body += host_.health_details();
    } else if (path == "/metrics")
        answer = text_answer(200, "text/plain; version=0.0.4; charset=utf-8", host_.metrics_text());
    else if (path == "/status")
        // The status page is a file like any other (ETag, no-cache), under a name without .html;
        // it draws /metrics, so it is answered wherever /metrics is.
        answer = host_.site().get("/status.html", request[http::field::if_none_match]);
    else
        answer = host_.site().get(request.target(), request[http::field::if_none_match]);
    respond(request, std::move(answer), request.keep_alive());
}

template <class Stream>
bool HttpSession<Stream>::host_allowed(const http::request<http::string_body>& request) const
{
    // Two Host lines are as good as none: which one a proxy in front of us read is unknowable.
    const bool one_host = request.count(http::field::host) == 1;
    return host_.host_policy().allows(one_host ? request[http::field::host] : std::string_view{});
}

template <class Stream>
void HttpSession<Stream>::refuse_host(const http::request<http::string_body>& request)
{
    // Logged without the query, which may hold a room token; counted, since a burst of these is
    // a rebinding attempt or a proxy that forwards a name nobody configured.
    const std::size_t hosts = request.count(http::field::host);
    const std::string why =
        hosts == 0  ? std::string("no Host")
        : hosts > 1 ? std::to_string(hosts) + " Host lines"
                    : "Host \"" + std::string(request[http::field::host]) + "\" not allowed";
    host_.count_refusal("host", peer_address_,
                        std::string(request.method_string()) + " " +
                            std::string(path_of(request.target())) + " refused with 403: " + why);
    respond(request,
            plain_answer(403, "403 Forbidden: Host not allowed. To serve this name, start signald "
                              "with --allowed-host NAME."),
            false);
}

template <class Stream>
void HttpSession<Stream>::upgrade(http::request<http::string_body>&& request)
{
    const auto& proxies = host_.trusted_proxies();
    const IpAddress client = client_address(peer_.address(), forwarded_for(request), proxies);
    if (proxies.contains(peer_.address()))
        peer_address_ = address_text(client) + " via " + endpoint_text(peer_);
    const std::string address = address_key(client);
    auto admitted = host_.admit(
        UpgradeRequest{request[http::field::origin], request[http::field::host], address});
    if (auto* refused = std::get_if<Refusal>(&admitted)) {
        host_.count_refusal(refused->reason, peer_address_,
                            "WebSocket upgrade refused with " + std::to_string(refused->status) +
                                (refused->reason == "origin"
                                     ? " for Origin " + std::string(request[http::field::origin])
                                     : ""));
        const unsigned status = refused->status;
        return respond(request,
                       plain_answer(status, std::to_string(status) + " " +
                                                std::string(http::obsolete_reason(
                                                    static_cast<http::status>(status))) +
                                                ": " + refused->reason),
                       false);
    }
    // RFC 6455 4.2.1: what a handshake must carry. Only version 13 exists; a client that asks
    // for another is told which one we speak.
    const auto key = request[http::field::sec_websocket_key];
    const auto version = request[http::field::sec_websocket_version];
    if (key.empty() || key.size() > websocket::detail::sec_ws_key_type::max_size_n ||
        version.empty())
        return respond(request,
                       plain_answer(400, "400 Bad Request: Sec-WebSocket-Key and "
                                         "Sec-WebSocket-Version are required"),
                       false);
    if (version != "13")
        return respond(request,
                       plain_answer(426, "426 Upgrade Required: only WebSocket version 13"), false);

    // Beast's own accept-key helper; no subprotocol or extension is ever selected.
    websocket::detail::sec_ws_accept_type accept;
    websocket::detail::make_sec_ws_accept(accept, key);
    response_ = {};
    response_.version(11);
    response_.result(http::status::switching_protocols);
    response_.set(http::field::server, "signald/" SIGNALD_VERSION);
    response_.set(http::field::upgrade, "websocket");
    response_.set(http::field::connection, "Upgrade");
    response_.set(http::field::sec_websocket_accept,
                  std::string_view(accept.data(), accept.size()));
    admission_.emplace(std::move(std::get<Admission>(admitted)));
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&HttpSession::on_upgraded, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_upgraded(error_code ec, std::size_t)
{
    if (ec) {
        spdlog::debug("{} WebSocket handshake failed: {}", peer_address_, ec.message());
        return;
    }
    // A client may send its first frames right behind the request; they are in buffer_.
    const auto early_bytes = buffer_.cdata();
    std::string early(static_cast<const char*>(early_bytes.data()), early_bytes.size());
    if constexpr (tls) {
        // From here on the session drives OpenSSL itself (ws_tls_session.hpp); the stream, its
        // buffers and its BIO pair go with this HttpSession.
        std::string why;
        SSL* ssl = take_tls_state(stream_, early, why);
        if (ssl == nullptr) {
            spdlog::debug("{} WebSocket upgrade dropped: {}", peer_address_, why);
            return;
        }
        std::make_shared<WsTlsSession>(beast::get_lowest_layer(stream_).release_socket(), ssl,
                                       host_.ws_host(), std::move(peer_address_),
                                       std::move(*admission_))
            ->start(std::move(early));
    } else {
        std::make_shared<WsPlainSession>(beast::get_lowest_layer(stream_).release_socket(),
                                         host_.ws_host(), std::move(peer_address_),
                                         std::move(*admission_))
            ->start(std::move(early));
    }
}

template <class Stream>
void HttpSession<Stream>::respond(const http::request<http::string_body>& request,
                                  HttpAnswer answer, bool keep_alive)
{
    const bool head = request.method() == http::verb::head;
    response_ = {};
    response_.version(request.version() == 0 ? 11 : request.version());
    response_.result(answer.status);
    response_.set(http::field::server, "signald/" SIGNALD_VERSION);
    response_.set(http::field::cache_control, "no-cache");
    response_.set("X-Content-Type-Options", "nosniff");
    if (!answer.content_type.empty())
        response_.set(http::field::content_type, answer.content_type);
    if (!answer.etag.empty())
        response_.set(http::field::etag, answer.etag);
    if (!answer.location.empty())
        response_.set(http::field::location, answer.location);
    if (answer.status == 405)
        response_.set(http::field::allow, "GET, HEAD");
    if (answer.status == 426) {
        response_.set(http::field::sec_websocket_version, "13");
        response_.set(http::field::upgrade, "websocket");
        response_.set(http::field::connection, "Upgrade");
    }
    response_.keep_alive(keep_alive);

    // HEAD reports the length a GET would send, and sends nothing.
    const std::size_t length = answer.body.size();
    if (!head)
        response_.body() = std::move(answer.body);
    if (answer.status != 304)
        response_.content_length(length);

    // The path only: a query may carry a room token (an invite link's ?token=), which no log
    // may show.
    const std::string_view target = request.target();
    const auto query = target.find('?');
    spdlog::debug("{} {} {}{} -> {}", peer_address_, request.method_string(),
                  target.substr(0, query), query == std::string_view::npos ? "" : "?…",
                  answer.status);
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(), keep_alive));
}

template <class Stream>
void HttpSession<Stream>::on_write(bool keep_alive, error_code ec, std::size_t)
{
    if (ec) {
        spdlog::debug("{} HTTP write failed: {}", peer_address_, ec.message());
        return;
    }
    if (!keep_alive)
        return do_close();
    do_read();
}

template <class Stream>
void HttpSession<Stream>::do_close()
{
    if constexpr (tls) {
        beast::get_lowest_layer(stream_).expires_after(host_.http_limits().request_timeout);
        stream_.async_shutdown([self = this->shared_from_this()](error_code) {
            error_code ignored;
            beast::get_lowest_layer(self->stream_).socket().close(ignored);
        });
    } else {
        error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
}

template class HttpSession<TcpStream>;
template class HttpSession<TlsStream>;

} // namespace signald
