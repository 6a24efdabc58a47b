#pragma once
// Server: owns the Hub, the static site, the listener and the live sessions, and wires them
// together: it implements core's Transport by mapping ClientIds to sessions, and is the host that
// HTTP and WebSocket sessions see through HttpHost and WsHost. Each duty it delegates lives in its
// own unit: admission (AdmissionPolicy), counting refusals (Refusals), the /metrics text
// (metrics_exposition). Everything runs on one io_context thread; another thread reaches it only
// through net::post.

#include "signald/cluster/bus.hpp"
#include "signald/cluster/cluster_link.hpp"
#include "signald/cluster/node_registry.hpp"
#include "signald/core/hub.hpp"
#include "signald/core/ids.hpp"
#include "signald/core/transport.hpp"
#include "signald/net/admission.hpp"
#include "signald/net/admission_policy.hpp"
#include "signald/net/beast.hpp"
#include "signald/net/client_address.hpp"
#include "signald/net/connection.hpp"
#include "signald/net/host_policy.hpp"
#include "signald/net/http_host.hpp"
#include "signald/net/listener.hpp"
#include "signald/net/metrics.hpp"
#include "signald/net/metrics_exposition.hpp"
#include "signald/net/refusals.hpp"
#include "signald/net/server_options.hpp"
#include "signald/net/static_site.hpp"
#include "signald/net/tls.hpp"
#include "signald/net/ws_host.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace signald {

// The host interfaces are implemented privately: sessions reach the server only through them,
// and main only through the few public calls below.
class Server final : public Transport, public WsHost, public HttpHost
{
public:
    // Loads the web root, then binds. Throws std::runtime_error with a one-line reason.
    Server(net::io_context& ioc, ServerOptions options);
    // Redis callbacks still pending (Redis hung at shutdown) run while the cluster parts are
    // destroyed: they must find the server gone, not half-destroyed.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    // Stops accepting, closes every WebSocket with 1001 and stops the io_context once they are
    // gone or the grace period ends.
    void shutdown();
    tcp::endpoint local_endpoint() const { return listener_.local_endpoint(); }
    bool uses_tls() const { return tls_.context != nullptr; }
    // SHA-256 of the served certificate; empty without TLS.
    const std::string& tls_fingerprint() const { return tls_.fingerprint; }
    const StaticSite& site() const override { return site_; }
    const HostPolicy& host_policy() const override { return hosts_; }

private:
    // Transport, for the hub. Neither may be called from inside a send().
    void send(const ClientId& to, const Text& text) override;
    void close(const ClientId& id, std::uint16_t code) override;
    bool abort(const ClientId& id, std::uint16_t code, std::string_view reason) override;
    void rebind(const ClientId& from, const ClientId& to) override;
    bool cut_off() const override;
    bool reaches(const ClientId& id) const override;

    // WsHost, for WebSocket sessions.
    const WsLimits& ws_limits() const override { return ws_limits_; }
    std::span<char> read_buffer() override { return read_buffer_; }
    ClientId attach(std::weak_ptr<Connection> connection) override;
    void on_text(const ClientId& id, std::string_view text) override;
    void detach(const ClientId& id, ConnectionEnd end) override;
    void acknowledged(const ClientId& id, std::uint64_t texts) override;
    NetStats& net_stats() override { return net_stats_; }
    SocketReactor& reactor() override { return reactor_; }

    // HttpHost, for HTTP sessions and the TLS detector.
    const HttpLimits& http_limits() const override { return http_limits_; }
    std::string metrics_text() const override;
    std::string health_details() const override;
    std::optional<ClusterMetrics> cluster_metrics() const;
    const TrustedProxies& trusted_proxies() const override { return proxies_; }
    std::variant<Admission, Refusal> admit(const UpgradeRequest& request) override;
    net::ssl::context& tls_context() override { return *tls_.context; }
    WsHost& ws_host() override { return *this; }

    // Both hosts: the one way into refusals_.
    void count_refusal(std::string_view reason, std::string_view who,
                       std::string_view detail) override;

    // HttpHost: why /healthz answers 503, or nullopt.
    std::optional<std::string> trouble() const override;

    void on_connection(TcpSocket socket, const tcp::endpoint& remote);
    void schedule_keepalive();
    // Gives the heap's free pages back to the kernel after connections arrived (server.cpp).
    void trim_heap(std::chrono::steady_clock::time_point now);

    // Input from clients while this node waits for Redis to confirm it is still alive (it woke
    // from a freeze): held in arrival order, then handled, or dropped if the node was declared
    // dead meanwhile (docs/cluster.md, "A frozen node wakes").
    struct HeldInput
    {
        ClientId id;
        std::string text; // a text message, unless ended
        std::optional<ConnectionEnd> ended;
        std::uint64_t acknowledged = 0; // a pong's count, when nonzero and not ended
    };
    bool holding_input();
    void release_held_input();
    // Where a connection's input goes: this node's Hub, or the cluster's leader.
    void handle_text(const ClientId& id, std::string_view text);
    void handle_detach(const ClientId& id, ConnectionEnd end);
    void handle_acknowledged(const ClientId& id, std::uint64_t texts);
    // With --redis: the registry, the bus and the link between them and the sessions.
    void start_cluster();
    LocalSessions local_sessions();
    // This node was declared dead: its clients go, to resume on another node.
    void fence();
    void stop_when_done();
    // The end of shutdown(): every client closed with 1001, the node out of the cluster.
    void close_everything();

    net::io_context& ioc_;
    ServerOptions options_;
    WsLimits ws_limits_;
    HttpLimits http_limits_;
    TlsContext tls_; // before the listener: bad certificate files fail before the port is bound
    StaticSite site_;
    AdmissionPolicy admission_;
    TrustedProxies proxies_;
    HostPolicy hosts_; // after tls_: the certificate's names are allowed
    RandomIds ids_;
    Hub hub_;
    std::unique_ptr<NodeRegistry> registry_; // with --redis
    std::unique_ptr<Bus> bus_;
    std::unique_ptr<ClusterLink> link_;
    std::deque<HeldInput> held_;
    Listener listener_;
    std::unordered_map<ClientId, std::weak_ptr<Connection>, ClientIdHash> connections_;
    std::shared_ptr<ConnectionCounts> counts_ = std::make_shared<ConnectionCounts>();
    Refusals refusals_;
    NetStats net_stats_;
    std::chrono::sys_seconds start_time_ =
        std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    std::vector<char> read_buffer_;
    std::vector<std::weak_ptr<Connection>> sweep_;
    // One timer pings and times out every connection, instead of one per connection.
    std::size_t accepted_since_trim_ = 0;
    std::size_t accepted_at_sweep_ = 0; // accepted_since_trim_ at the previous sweep
    std::chrono::steady_clock::time_point last_trim_{};
    net::steady_timer keepalive_timer_;
    net::steady_timer shutdown_timer_;
    bool shutting_down_ = false;
    bool registry_stopped_ = true; // until it starts; then until it gave its lease back
    bool destroying_ = false;
    // Last, so destroyed first: sessions it still holds (the loop was stopped with connections
    // open) go before anything they point at.
    SocketReactor reactor_;
};

} // namespace signald
