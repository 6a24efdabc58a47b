#include "signald/net/server.hpp"

#include "signald/net/http_session.hpp"
#include "signald/net/metrics_exposition.hpp"
#include "signald/net/tls_detector.hpp"
#include "signald/net/ws_frames.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <stdexcept>

#include <malloc.h>

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

// Large enough that a busy client's burst of messages is read in one call.
constexpr std::size_t read_buffer_bytes = std::size_t{128} * 1024;

// How often the keepalive sweep runs: a small fraction of the shortest interval it enforces, so a
// ping or a cut is at most this late. Walking every connection a few times a second costs
// microseconds per thousand.
std::chrono::milliseconds sweep_period(const ServerOptions& options)
{
    const auto shortest = std::min(options.ping_interval, options.idle_timeout);
    return std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(shortest) / 8,
                      std::chrono::milliseconds{50}, std::chrono::milliseconds{1000});
}

HubLimits hub_limits(const ServerOptions& options)
{
    return HubLimits{.max_room_size = options.max_room_size,
                     .rate = options.rate,
                     .max_message_bytes = options.max_message_bytes,
                     .resume_grace = options.resume_grace,
                     .resume_buffer_bytes = options.resume_buffer_bytes,
                     // As many as may be connected: held memory is then at most twice what
                     // the connections alone may hold (docs/protocol.md 8.1).
                     .max_suspended = options.max_connections,
                     .kick_ban = options.kick_ban};
}

WsLimits ws_limits_of(const ServerOptions& options)
{
    return WsLimits{options.max_message_bytes, options.max_queue_bytes, options.ping_interval,
                    options.idle_timeout, options.resume_grace.count() > 0};
}

HttpLimits http_limits_of(const ServerOptions& options)
{
    return HttpLimits{options.max_header_bytes, options.request_timeout};
}

AdmissionLimits admission_limits_of(const ServerOptions& options)
{
    return AdmissionLimits{options.max_connections, options.max_connections_per_ip};
}

} // namespace

Server::Server(net::io_context& ioc, ServerOptions options)
    : ioc_(ioc), options_(std::move(options)), ws_limits_(ws_limits_of(options_)),
      http_limits_(http_limits_of(options_)),
      tls_(options_.tls.enabled() ? make_tls_context(options_.tls) : TlsContext{}),
      site_(options_.web_root),
      admission_(OriginPolicy(options_.allowed_origins), admission_limits_of(options_)),
      proxies_(options_.trusted_proxies),
      hosts_({endpoint_for(options_).address()}, options_.allowed_hosts, tls_.names),
      hub_(*this, ids_, hub_limits(options_), {}, options_.ice_servers, options_.join_check),
      listener_(ioc, endpoint_for(options_), options_.reuse_port,
                [this](TcpSocket socket, const tcp::endpoint& peer) {
                    on_connection(std::move(socket), peer);
                }),
      read_buffer_(read_buffer_bytes), keepalive_timer_(ioc), shutdown_timer_(ioc),
      reactor_(ioc.get_executor())
{
    if (options_.cluster.redis)
        start_cluster();
}

Server::~Server()
{
    destroying_ = true;
}

void Server::start_cluster()
{
    registry_ = std::make_unique<NodeRegistry>(
        ioc_, options_.cluster,
        NodeRegistry::Hooks{.fenced = [this] { fence(); },
                            .declared_dead = {},
                            .renewed =
                                [this] {
                                    release_held_input();
                                    link_->renewed();
                                },
                            .leader_changed = [this] { link_->leader_changed(); }});
    bus_ = std::make_unique<Bus>(
        ioc_, options_.cluster, *registry_,
        Bus::Hooks{.received =
                       [this](const std::string& from, std::vector<BusMessage>&& messages) {
                           link_->received(from, std::move(messages));
                       },
                   .node_dead = [this](const std::string& node) { link_->node_dead(node); },
                   .ready = [this] { link_->bus_ready(); },
                   .lost = [this](const std::string& to,
                                  const std::string& batch) { link_->lost(to, batch); },
                   .gap = [this](const std::string& from) { link_->bus_gap(from); },
                   .paused_by = [this](const std::string& node) { link_->paused_by(node); }});
    // Rooms left in Redis are worth keeping as long as a member could still resume into them.
    const auto keep =
        std::max<std::chrono::milliseconds>(options_.resume_grace, options_.cluster.node_timeout);
    link_ = std::make_unique<ClusterLink>(hub_, *registry_, *bus_, local_sessions(),
                                          hub_.features(), keep);
}

LocalSessions Server::local_sessions()
{
    return LocalSessions{
        .send = [this](const ClientId& id, const Text& text) { send(id, text); },
        .close = [this](const ClientId& id, std::uint16_t code) { close(id, code); },
        .abort = [this](const ClientId& id, std::uint16_t code,
                        std::string_view reason) { abort(id, code, reason); },
        .rebind = [this](const ClientId& from, const ClientId& to) { rebind(from, to); },
        .ids =
            [this] {
                std::vector<ClientId> ids;
                ids.reserve(connections_.size());
                for (const auto& [id, connection] : connections_)
                    ids.push_back(id);
                return ids;
            },
        .texts = [this](const ClientId& id) -> std::uint64_t {
            const auto found = connections_.find(id);
            const auto connection = found != connections_.end() ? found->second.lock() : nullptr;
            return connection ? connection->texts() : 0;
        },
        .release = [this] { release_held_input(); },
    };
}

void Server::start()
{
    listener_.start();
    schedule_keepalive();
    if (registry_) {
        registry_stopped_ = false;
        registry_->start();
        bus_->start();
    }
}

std::optional<std::string> Server::trouble() const
{
    if (shutting_down_)
        return std::string("shutting down");
    if (!registry_)
        return std::nullopt;
    if (auto trouble = registry_->trouble())
        return trouble;
    if (!bus_->ready())
        return std::string("Redis unreachable: the bus is reconnecting");
    return std::nullopt;
}

bool Server::holding_input()
{
    return !held_.empty() || (link_ && (link_->paused() || link_->handing_over())) ||
           (registry_ && registry_->must_confirm());
}

void Server::release_held_input()
{
    // Handling one may close another connection, which reports (and is held) in turn: take them
    // one at a time from the front until none is left.
    while (!held_.empty()) {
        HeldInput input = std::move(held_.front());
        held_.pop_front();
        if (input.ended)
            handle_detach(input.id, *input.ended);
        else if (input.acknowledged != 0)
            handle_acknowledged(input.id, input.acknowledged);
        else
            handle_text(input.id, input.text);
    }
    stop_when_done();
}

void Server::fence()
{
    spdlog::warn("closing {} WebSocket connections with 1012: this node was declared dead",
                 connections_.size());
    // What they sent since the freeze reaches no one.
    for (HeldInput& input : held_)
        if (input.ended) {
            hub_.disconnect(input.id, ConnectionEnd::closed);
            connections_.erase(input.id);
        }
    held_.clear();
    link_->fenced();
    // The registry names the new incarnation when this returns; its inbox is new too.
    net::post(ioc_, [this] { bus_->restart_inbox(); });
    for (auto& [id, connection] : connections_)
        if (auto live = connection.lock())
            live->close(close_code::service_restart);
}

void Server::schedule_keepalive()
{
    keepalive_timer_.expires_after(sweep_period(options_));
    keepalive_timer_.async_wait([this](error_code ec) {
        if (ec)
            return;
        const auto now = std::chrono::steady_clock::now();
        // A session may detach while it is told (an idle cut), so walk a snapshot: one bucket
        // at a time, so that it holds a few entries rather than one per connection (16 bytes
        // each, kept as capacity between sweeps). No iterator is held while sessions are told.
        // Erasing leaves the buckets as they are, and nothing is added meanwhile; if something
        // were, a rehash would at worst tell a session twice or at the next sweep.
        for (std::size_t bucket = 0; bucket < connections_.bucket_count(); ++bucket) {
            sweep_.clear();
            for (auto entry = connections_.begin(bucket); entry != connections_.end(bucket);
                 ++entry)
                sweep_.push_back(entry->second);
            for (const auto& connection : sweep_)
                if (auto live = connection.lock())
                    live->keepalive(now);
        }
        sweep_.clear();
        hub_.tick(); // the sweep runs at least once a second: expiry is at most that late
        trim_heap(now);
        schedule_keepalive();
    });
}

void Server::trim_heap(std::chrono::steady_clock::time_point now)
{
    // glibc keeps what is freed inside its heap. Connections come and go in bursts, and each one
    // starting needs far more memory for a moment than it keeps (a TLS handshake: about 100 KB of
    // OpenSSL's and Asio's buffers; an HTTP upgrade: Beast's parser); what the burst freed stays
    // resident as holes between the connections that stayed. malloc_trim(0) hands every free page
    // back to the kernel, wherever it is. It runs at the first sweep without a new connection
    // after some arrived (a burst is over), or every 10 s while they keep arriving: a steady
    // server never pays it, a busy one rarely.
    constexpr auto at_least_every = std::chrono::seconds{10};
    const bool burst_over = accepted_since_trim_ > 0 && accepted_since_trim_ == accepted_at_sweep_;
    accepted_at_sweep_ = accepted_since_trim_;
    if (!burst_over && (accepted_since_trim_ == 0 || now - last_trim_ < at_least_every))
        return;
    accepted_since_trim_ = accepted_at_sweep_ = 0;
    last_trim_ = now;
    malloc_trim(0);
}

void Server::on_connection(TcpSocket socket, const tcp::endpoint& remote)
{
    ++accepted_since_trim_;
    if (uses_tls()) {
        std::make_shared<TlsDetector>(std::move(socket), *this, remote)->run();
        return;
    }
    std::make_shared<HttpSession<TcpStream>>(TcpStream(std::move(socket)), *this, remote)->run();
}

std::variant<Admission, Refusal> Server::admit(const UpgradeRequest& request)
{
    if (auto refusal = admission_.decide(request, *counts_, shutting_down_))
        return std::move(*refusal);
    return Admission(counts_, std::string(request.address));
}

ClientId Server::attach(std::weak_ptr<Connection> connection)
{
    ClientId id;
    if (link_ && !link_->serves_here()) {
        // Its client lives in the leader's Hub, which checks the id is free there.
        do
            id = ids_.next();
        while (connections_.contains(id));
    } else {
        id = hub_.connect();
    }
    connections_.emplace(id, std::move(connection));
    if (link_)
        link_->attached(id);
    if (shutting_down_) {
        // Upgraded while we were stopping: it gets the same 1001 as everyone else.
        if (auto live = connections_[id].lock())
            live->close(close_code::going_away);
    }
    return id;
}

void Server::on_text(const ClientId& id, std::string_view text)
{
    if (holding_input()) {
        held_.push_back(HeldInput{id, std::string(text), std::nullopt, 0});
        return;
    }
    handle_text(id, text);
}

void Server::handle_text(const ClientId& id, std::string_view text)
{
    if (link_ && link_->at_leader(id))
        link_->text(id, text);
    else
        hub_.on_text(id, text);
}

void Server::handle_detach(const ClientId& id, ConnectionEnd end)
{
    if (link_ && link_->at_leader(id))
        link_->detach(id, end);
    else
        hub_.disconnect(id, end);
    connections_.erase(id);
}

void Server::handle_acknowledged(const ClientId& id, std::uint64_t texts)
{
    if (link_ && link_->at_leader(id))
        link_->acknowledged(id, texts);
    else
        hub_.acknowledge(id, texts);
}

void Server::detach(const ClientId& id, ConnectionEnd end)
{
    if (holding_input()) {
        held_.push_back(HeldInput{id, {}, end, 0});
        return;
    }
    handle_detach(id, end);
    stop_when_done();
}

void Server::acknowledged(const ClientId& id, std::uint64_t texts)
{
    if (texts == 0)
        return;
    if (holding_input()) {
        held_.push_back(HeldInput{id, {}, std::nullopt, texts});
        return;
    }
    handle_acknowledged(id, texts);
}

void Server::stop_when_done()
{
    if (shutting_down_ && connections_.empty() && registry_stopped_)
        ioc_.stop();
}

void Server::count_refusal(std::string_view reason, std::string_view who, std::string_view detail)
{
    refusals_.count(reason, who, detail);
}

void Server::send(const ClientId& to, const Text& text)
{
    const auto found = connections_.find(to);
    if (found == connections_.end()) {
        if (link_)
            link_->send(to, text);
        return;
    }
    if (auto connection = found->second.lock())
        connection->send(text);
}

void Server::close(const ClientId& id, std::uint16_t code)
{
    const auto found = connections_.find(id);
    if (found == connections_.end()) {
        if (link_)
            link_->close(id, code);
        return;
    }
    if (auto connection = found->second.lock())
        connection->close(code);
}

bool Server::abort(const ClientId& id, std::uint16_t code, std::string_view reason)
{
    const auto found = connections_.find(id);
    if (found == connections_.end())
        return link_ ? link_->abort(id, code, reason).value_or(true) : true;
    bool was_open = true;
    if (auto connection = found->second.lock())
        was_open = connection->abort(code, reason);
    connections_.erase(found);
    return was_open;
}

void Server::rebind(const ClientId& from, const ClientId& to)
{
    const auto found = connections_.find(from);
    if (found == connections_.end()) {
        if (link_)
            link_->rebind(from, to);
        return;
    }
    std::weak_ptr<Connection> connection = std::move(found->second);
    connections_.erase(found);
    if (auto live = connection.lock())
        live->rebind(to);
    connections_.emplace(to, std::move(connection));
}

bool Server::cut_off() const
{
    return link_ && link_->cut_off();
}

bool Server::reaches(const ClientId& id) const
{
    return !link_ || link_->reaches(id);
}

std::string Server::metrics_text() const
{
    return metrics_exposition(MetricsInputs{
        .connections = connections_.size(),
        .sessions = counts_->total,
        .rooms = hub_.rooms().room_count(),
        .members = hub_.rooms().member_count(),
        .suspended = hub_.suspended_count(),
        .hub = hub_.stats(),
        .net = net_stats_,
        .refusals = refusals_.by_reason(),
        .write_queue_limit_bytes = options_.max_queue_bytes,
        .start_time = start_time_,
        .tls_not_after = uses_tls() ? std::optional(tls_.not_after) : std::nullopt,
        .cluster = cluster_metrics(),
        .turn_checks =
            options_.turn_checks ? options_.turn_checks() : std::vector<TurnCheckStatus>{},
    });
}

std::string Server::health_details() const
{
    if (!options_.turn_checks)
        return {};
    return turn_health_lines(
        options_.turn_checks(),
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
}

std::optional<ClusterMetrics> Server::cluster_metrics() const
{
    if (!registry_)
        return std::nullopt;
    const NodeRegistryStats& stats = registry_->stats();
    return ClusterMetrics{
        .node_id = registry_->node_id(),
        .redis_up = !registry_->trouble(),
        .redis_reconnects = registry_->redis_reconnects() + bus_->reconnects(),
        .redis_round_trip = stats.round_trip,
        .nodes_alive = stats.nodes_alive,
        .dead_nodes_declared = stats.deaths_declared,
        .fenced = stats.fenced,
        .leader_known = link_->leader_known(),
        .is_leader = registry_->is_leader(),
        .remote_clients = link_->stats().remote_clients,
        .unavailable = link_->stats().unavailable,
        .bus_messages_in = bus_->stats().messages_in,
        .bus_messages_out = bus_->stats().messages_out,
        .bus_bytes_in = bus_->stats().bytes_in,
        .bus_bytes_out = bus_->stats().bytes_out,
        .bus_batches_lost = bus_->stats().batches_lost,
        .bus_round_trip = bus_->stats().round_trip,
        .edge_clients = link_->stats().edge_clients,
    };
}

void Server::shutdown()
{
    if (shutting_down_)
        return;
    shutting_down_ = true;
    listener_.stop();
    keepalive_timer_.cancel();
    if (link_ && registry_->is_leader()) {
        // The rooms go to another node first, so that no call ends (docs/cluster.md, "A node
        // drains"); edges that do not answer the pause within 2 s are not waited for.
        shutdown_timer_.expires_after(std::chrono::seconds{2});
        shutdown_timer_.async_wait([this](error_code ec) {
            if (!ec)
                link_->finish_hand_over();
        });
        link_->hand_over([this] {
            if (destroying_)
                return;
            shutdown_timer_.cancel();
            close_everything();
        });
        return;
    }
    close_everything();
}

void Server::close_everything()
{
    spdlog::info("shutting down: closing {} WebSocket connections", connections_.size());
    if (registry_ && !registry_stopped_) {
        // Clustered, a stopping node hands its clients back to the cluster: their members wait
        // for them to resume on another node (docs/cluster.md, "A node drains"). The bus is
        // flushed before the lease is given back, then both stop.
        link_->drain();
        bus_->drain([this] {
            if (destroying_)
                return;
            registry_->stop([this] {
                if (destroying_)
                    return;
                bus_->stop();
                registry_stopped_ = true;
                stop_when_done();
            });
        });
    }
    if (connections_.empty() && registry_stopped_) {
        ioc_.stop();
        return;
    }
    for (auto& [id, connection] : connections_)
        if (auto live = connection.lock())
            live->close(close_code::going_away);
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
