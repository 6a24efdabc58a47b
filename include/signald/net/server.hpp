#pragma once
// Server: owns the Hub, the static site and the listener, and implements core's Transport by
// mapping ClientIds to live sessions. Everything runs on one io_context thread; another thread
// reaches it only through net::post.
//
// Sessions call attach / on_text / detach; none of the three may be called from inside a send().

#include "signald/core/hub.hpp"
#include "signald/core/ids.hpp"
#include "signald/core/transport.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/listener.hpp"
#include "signald/net/static_site.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>

namespace signald {

struct ServerOptions
{
    // Loopback by default: exposing a server to the network should be a decision.
    std::string bind = "127.0.0.1";
    std::uint16_t port = 8787;
    std::filesystem::path web_root = "web";
    // 256 KiB: a large SDP offer with many candidates is ~10 KiB; bounds memory per read.
    std::size_t max_message_bytes = 256 * 1024;
    std::size_t max_room_size = Hub::default_max_room_size;
    // Peers get this long to answer our 1001 before the process exits anyway (issue: within 2 s).
    std::chrono::milliseconds shutdown_grace{1500};
};

class Server final : public Transport
{
public:
    // Loads the web root, then binds. Throws std::runtime_error with a one-line reason.
    Server(net::io_context& ioc, ServerOptions options);

    void start();
    // Stops accepting, closes every WebSocket with 1001 and stops the io_context once they are
    // gone or the grace period ends.
    void shutdown();
    tcp::endpoint local_endpoint() const { return listener_.local_endpoint(); }

    // For sessions.
    ClientId attach(std::weak_ptr<Connection> connection);
    void on_text(const ClientId& id, std::string_view text);
    void detach(const ClientId& id);
    const StaticSite& site() const { return site_; }
    const ServerOptions& options() const { return options_; }

    void send(const ClientId& to, const Text& text) override;

private:
    void on_connection(tcp::socket socket);

    net::io_context& ioc_;
    ServerOptions options_;
    StaticSite site_;
    RandomIds ids_;
    Hub hub_;
    Listener listener_;
    std::unordered_map<ClientId, std::weak_ptr<Connection>> connections_;
    net::steady_timer shutdown_timer_;
    bool shutting_down_ = false;
};

} // namespace signald
