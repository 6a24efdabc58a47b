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
#include "signald/net/static_site.hpp"
#include "signald/net/tls.hpp"
#include "signald/net/ws_host.hpp"

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

// Every default has its reason; README "Limits and safety" lists them for users.
struct ServerOptions
{
    // Loopback by default: exposing a server to the network should be a decision.
    std::string bind = "127.0.0.1";
    std::uint16_t port = 8787;
    std::filesystem::path web_root = "web";
    // 256 KiB: a large SDP offer with many candidates is ~10 KiB; bounds memory per read.
    std::size_t max_message_bytes = 256 * 1024;
    std::size_t max_room_size = Hub::default_max_room_size;

    // 15 s pings keep NAT and proxy mappings alive (many drop idle TCP after 30-60 s); 40 s of
    // silence is two missed pongs plus slack for a busy phone.
    std::chrono::seconds ping_interval{15};
    std::chrono::seconds idle_timeout{40};
    // A request (or upgrade) must arrive whole within this; slowloris clients are cut off.
    std::chrono::seconds request_timeout{10};
    // 8 KiB: what nginx allows per header line by default, far above what browsers send.
    std::size_t max_header_bytes = 8 * 1024;
    // 4 MiB: hundreds of offers; a reader that falls this far behind is not coming back.
    std::size_t max_queue_bytes = 4 * 1024 * 1024;
    // 200 msg/s and 1 MiB/s sustained, 5 s bursts: see RateLimit.
    RateLimit rate{200, 1024 * 1024, 5};
    // 10,000 sockets fit comfortably in memory; beyond that an operator should decide.
    std::size_t max_connections = 10000;
    // 128: an office NAT full of tabs, but not one script holding the whole server.
    std::size_t max_connections_per_ip = 128;
    std::vector<std::string> allowed_origins;
    // Reverse proxies (addresses or networks) whose X-Forwarded-For names the real client, for
    // the per-address cap and the logs. Empty: the header is ignored, since anyone can send it.
    std::vector<std::string> trusted_proxies;
    // HTTPS and WSS on the same port when set; plain HTTP there is redirected to https.
    TlsOptions tls;
    // Builds each joined's iceServers (and TURN credentials); unset: joined has no iceServers.
    IceServersFor ice_servers;
    // Peers get this long to answer our 1001 before the process exits anyway (within 2 s).
    std::chrono::milliseconds shutdown_grace{1500};
};

// Why an upgrade was refused: the HTTP status and a reason for logs and metrics.
struct Rejection
{
    unsigned status;
    std::string reason;
};

class Server final : public Transport, public WsHost
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
    ClientId attach(std::weak_ptr<Connection> connection) override;
    void on_text(const ClientId& id, std::string_view text) override;
    void detach(const ClientId& id) override;
    const WsLimits& ws_limits() const override { return ws_limits_; }
    void count_refusal(std::string_view reason, std::string_view who,
                       std::string_view detail) override
    {
        reject(reason, who, detail);
    }
    // Logs a refused request or a connection cut off for a limit once, at warn, and counts it.
    void reject(std::string_view reason, std::string_view who, std::string_view detail);

    // Where every WebSocket session reads: one buffer, used by one session at a time.
    std::span<char> read_buffer() override { return read_buffer_; }

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
    NetStats& net_stats() override { return net_stats_; }

    void send(const ClientId& to, const Text& text) override;
    void close(const ClientId& id, std::uint16_t code) override;

private:
    void on_connection(tcp::socket socket);
    void schedule_keepalive();

    net::io_context& ioc_;
    ServerOptions options_;
    WsLimits ws_limits_;
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
