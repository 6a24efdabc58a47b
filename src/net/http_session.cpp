#include "signald/net/http_session.hpp"

#include "signald/net/server.hpp"
#include "signald/net/static_site.hpp"
#include "signald/net/ws_session.hpp"

#include <spdlog/spdlog.h>

namespace signald {
namespace {

// Requests carry no body worth reading and few headers; these bound a client's memory and
// make a slow or endless request fail early.
constexpr std::uint32_t max_header_bytes = 8 * 1024;
constexpr std::uint64_t max_body_bytes = 16 * 1024ULL;
constexpr std::chrono::seconds request_timeout{30};

std::string_view path_of(std::string_view target)
{
    return target.substr(0, target.find_first_of("?#"));
}

} // namespace

template <class Stream>
HttpSession<Stream>::HttpSession(Stream&& stream, Server& server, std::string peer_address)
    : stream_(std::move(stream)), server_(server), peer_address_(std::move(peer_address))
{}

template <class Stream>
void HttpSession<Stream>::run()
{
    do_read();
}

template <class Stream>
void HttpSession<Stream>::do_read()
{
    // A fresh parser per request: Beast parsers are single-use.
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read, this->shared_from_this()));
}

template <class Stream>
void HttpSession<Stream>::on_read(error_code ec, std::size_t)
{
    if (ec == http::error::end_of_stream)
        return do_close();
    if (ec) {
        spdlog::debug("{} HTTP read ended: {}", peer_address_, ec.message());
        return; // timeouts, resets and malformed requests all just end the connection
    }

    auto request = parser_->release();
    const auto path = path_of(request.target());
    if (websocket::is_upgrade(request) && (path == "/" || path == "/ws")) {
        std::make_shared<WsSession<Stream>>(std::move(stream_), server_, std::move(peer_address_))
            ->run(std::move(request));
        return;
    }
    respond(request);
}

template <class Stream>
void HttpSession<Stream>::respond(const http::request<http::string_body>& request)
{
    const bool head = request.method() == http::verb::head;
    StaticResponse answer;
    if (request.method() != http::verb::get && !head) {
        answer = {405, "text/plain; charset=utf-8", "405 Method Not Allowed\n", {}, {}};
    } else if (path_of(request.target()) == "/ws") {
        answer = {426,
                  "text/plain; charset=utf-8",
                  "426 Upgrade Required: this is the WebSocket endpoint\n",
                  {},
                  {}};
    } else if (websocket::is_upgrade(request)) {
        answer = {404, "text/plain; charset=utf-8", "404 Not Found: WebSocket is at /ws\n", {}, {}};
    } else {
        answer = server_.site().get(request.target(), request[http::field::if_none_match]);
    }

    response_ = {};
    response_.version(request.version());
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
        response_.set(http::field::upgrade, "websocket");
        response_.set(http::field::connection, "Upgrade");
    }
    response_.keep_alive(request.keep_alive());

    // HEAD reports the length a GET would send, and sends nothing.
    const std::size_t length = answer.body.size();
    if (!head)
        response_.body() = std::move(answer.body);
    if (answer.status != 304)
        response_.content_length(length);

    spdlog::debug("{} {} {} -> {}", peer_address_, request.method_string(), request.target(),
                  answer.status);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&HttpSession::on_write, this->shared_from_this(),
                                                response_.keep_alive()));
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
    error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
}

template class HttpSession<beast::tcp_stream>;

} // namespace signald
