#include "signald/net/server.hpp"

#include "signald/net/http_session.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

namespace signald {
namespace {

tcp::endpoint endpoint_for(const ServerOptions& options)
{
    error_code ec;
    const auto address = net::ip::make_address(options.bind, ec);
    if (ec)
        throw std::runtime_error("invalid bind address \"" + options.bind + "\"");
    return {address, options.port};
}

std::string describe(const tcp::endpoint& endpoint)
{
    const auto address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

} // namespace

Server::Server(net::io_context& ioc, ServerOptions options)
    : ioc_(ioc), options_(std::move(options)), site_(options_.web_root),
      hub_(*this, ids_, options_.max_room_size),
      listener_(ioc, endpoint_for(options_),
                [this](tcp::socket socket) { on_connection(std::move(socket)); }),
      shutdown_timer_(ioc)
{}

void Server::start()
{
    listener_.start();
}

void Server::on_connection(tcp::socket socket)
{
    error_code ec;
    // Signaling is many small messages where latency matters; never wait to coalesce them.
    socket.set_option(tcp::no_delay(true), ec);
    const auto remote = socket.remote_endpoint(ec);
    std::string peer = ec ? "unknown" : describe(remote);
    std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *this,
                                                     std::move(peer))
        ->run();
}

ClientId Server::attach(std::weak_ptr<Connection> connection)
{
    ClientId id = hub_.connect();
    connections_.emplace(id, std::move(connection));
    if (shutting_down_) {
        // Upgraded while we were stopping: it gets the same 1001 as everyone else.
        if (auto live = connections_[id].lock())
            live->close(websocket::close_code::going_away);
    }
    return id;
}

void Server::on_text(const ClientId& id, std::string_view text)
{
    hub_.on_text(id, text);
}

void Server::detach(const ClientId& id)
{
    hub_.disconnect(id);
    connections_.erase(id);
    if (shutting_down_ && connections_.empty())
        ioc_.stop();
}

void Server::send(const ClientId& to, const Text& text)
{
    const auto found = connections_.find(to);
    if (found == connections_.end())
        return;
    if (auto connection = found->second.lock())
        connection->send(text);
}

void Server::shutdown()
{
    if (shutting_down_)
        return;
    shutting_down_ = true;
    listener_.stop();
    spdlog::info("shutting down: closing {} WebSocket connections", connections_.size());
    if (connections_.empty()) {
        ioc_.stop();
        return;
    }
    for (auto& [id, connection] : connections_)
        if (auto live = connection.lock())
            live->close(websocket::close_code::going_away);
    shutdown_timer_.expires_after(options_.shutdown_grace);
    shutdown_timer_.async_wait([this](error_code ec) {
        if (!ec) {
            spdlog::info("shutdown grace period over; {} connections did not close in time",
                         connections_.size());
            ioc_.stop();
        }
    });
}

} // namespace signald
