#pragma once
// Server: owns the Hub, the static site and the listener, and implements core's Transport by
// mapping ClientIds to live sessions. It also decides who may open a WebSocket (origin and
// connection caps) and counts every rejection. Everything runs on one io_context thread; another
// thread reaches it only through net::post.
//
// Sessions call attach / on_text / detach; none of the three may be called from inside a send().

#include "signald/core/hub.hpp"
#include "signald/core/ids.hpp"
#include "signald/core/transport.hpp"
#include "signald/net/admission.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/client_address.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/listener.hpp"
#include "signald/net/metrics.hpp"
#include "signald/net/origin_policy.hpp"
#include "signald/net/server_options.hpp"
#include "signald/net/static_site.hpp"
#include "signald/net/tls.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace signald {

// Why an upgrade was refused: the HTTP status and a reason for logs and metrics.
struct Rejection
{
    unsigned status;
    std::string reason;
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

    // For HttpSession: may this request become a WebSocket? The token counts the session.
    std::variant<Admission, Rejection> admit(std::string_view origin, std::string_view host,
                                             const std::string& address);
    // For sessions.
    ClientId attach(std::weak_ptr<Connection> connection);
    void on_text(const ClientId& id, std::string_view text);
    void detach(const ClientId& id);
    // Logs a refused request or a connection cut off for a limit once, at warn, and counts it.
    void reject(std::string_view reason, std::string_view who, std::string_view detail);

    // Where every WebSocket session reads: one buffer, used by one session at a time.
    std::span<char> read_buffer() { return read_buffer_; }

    const StaticSite& site() const { return site_; }
    const TrustedProxies& trusted_proxies() const { return proxies_; }
    bool uses_tls() const { return tls_.context != nullptr; }
    net::ssl::context& tls() { return *tls_.context; }
    // SHA-256 of the served certificate; empty without TLS.
    const std::string& tls_fingerprint() const { return tls_.fingerprint; }
    const ServerOptions& options() const { return options_; }
    // Prometheus text exposition of the server's state and counters.
    std::string metrics() const;
    // Where sessions count how they ended and how deep their write queues got.
    NetStats& net_stats() { return net_stats_; }

    void send(const ClientId& to, const Text& text) override;
    void close(const ClientId& id, std::uint16_t code) override;

private:
    void on_connection(tcp::socket socket);
    void schedule_keepalive();

    net::io_context& ioc_;
    ServerOptions options_;
    TlsContext tls_; // before the listener: bad certificate files fail before the port is bound
    StaticSite site_;
    OriginPolicy origins_;
    TrustedProxies proxies_;
    RandomIds ids_;
    Hub hub_;
    Listener listener_;
    std::unordered_map<ClientId, std::weak_ptr<Connection>> connections_;
    std::shared_ptr<ConnectionCounts> counts_ = std::make_shared<ConnectionCounts>();
    std::map<std::string, std::uint64_t, std::less<>> rejections_;
    NetStats net_stats_;
    std::chrono::sys_seconds start_time_ =
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::vector<char> read_buffer_;
    std::vector<std::weak_ptr<Connection>> sweep_;
    // One timer pings and times out every connection, instead of one per connection.
    net::steady_timer keepalive_timer_;
    net::steady_timer shutdown_timer_;
    bool shutting_down_ = false;
};

} // namespace signald
