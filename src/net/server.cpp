#include "signald/net/server.hpp"

#include "signald/net/http_session.hpp"
#include "signald/net/tls_detector.hpp"
#include "signald/net/ws_frames.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace signald {
namespace {

std::uint64_t unix_seconds(std::chrono::sys_seconds time)
{
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, time.time_since_epoch().count()));
}

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
    return HubLimits{options.max_room_size, options.rate, options.max_message_bytes};
}

} // namespace

Server::Server(net::io_context& ioc, ServerOptions options)
    : ioc_(ioc),
      options_(std::move(options)), ws_limits_{options_.max_message_bytes, options_.max_queue_bytes,
                                               options_.ping_interval, options_.idle_timeout},
      tls_(options_.tls.enabled() ? make_tls_context(options_.tls) : TlsContext{}),
      site_(options_.web_root), origins_(options_.allowed_origins),
      proxies_(options_.trusted_proxies),
      hub_(*this, ids_, hub_limits(options_), {}, options_.ice_servers),
      listener_(ioc, endpoint_for(options_),
                [this](tcp::socket socket) { on_connection(std::move(socket)); }),
      read_buffer_(read_buffer_bytes), keepalive_timer_(ioc), shutdown_timer_(ioc)
{}

void Server::start()
{
    listener_.start();
    schedule_keepalive();
}

void Server::schedule_keepalive()
{
    keepalive_timer_.expires_after(sweep_period(options_));
    keepalive_timer_.async_wait([this](error_code ec) {
        if (ec)
            return;
        const auto now = std::chrono::steady_clock::now();
        // A session may detach while it is told (an idle cut), so walk a snapshot.
        sweep_.clear();
        for (const auto& [id, connection] : connections_)
            sweep_.push_back(connection);
        for (const auto& connection : sweep_)
            if (auto live = connection.lock())
                live->keepalive(now);
        sweep_.clear();
        schedule_keepalive();
    });
}

void Server::on_connection(tcp::socket socket)
{
    error_code ec;
    // Signaling is many small messages where latency matters; never wait to coalesce them.
    socket.set_option(tcp::no_delay(true), ec);
    const auto remote = socket.remote_endpoint(ec);
    if (ec)
        return; // already gone
    if (uses_tls()) {
        std::make_shared<TlsDetector>(std::move(socket), *this, remote)->run();
        return;
    }
    std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *this,
                                                     remote)
        ->run();
}

std::variant<Admission, Rejection> Server::admit(std::string_view origin, std::string_view host,
                                                 const std::string& address)
{
    if (shutting_down_)
        return Rejection{503, "shutting-down"};
    if (!origin.empty() && !origins_.allows(origin, host))
        return Rejection{403, "origin"};
    if (counts_->total >= options_.max_connections)
        return Rejection{503, "max-connections"};
    const auto from_address = counts_->per_address.find(address);
    if (from_address != counts_->per_address.end() &&
        from_address->second >= options_.max_connections_per_ip)
        return Rejection{429, "max-connections-per-ip"};
    return Admission(counts_, address);
}

ClientId Server::attach(std::weak_ptr<Connection> connection)
{
    ClientId id = hub_.connect();
    connections_.emplace(id, std::move(connection));
    if (shutting_down_) {
        // Upgraded while we were stopping: it gets the same 1001 as everyone else.
        if (auto live = connections_[id].lock())
            live->close(close_code::going_away);
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

void Server::reject(std::string_view reason, std::string_view who, std::string_view detail)
{
    auto counter = rejections_.find(reason);
    if (counter == rejections_.end())
        counter = rejections_.emplace(std::string(reason), 0).first;
    ++counter->second;
    spdlog::warn("{} rejected ({}): {}", who, reason, detail);
}

void Server::send(const ClientId& to, const Text& text)
{
    const auto found = connections_.find(to);
    if (found == connections_.end())
        return;
    if (auto connection = found->second.lock())
        connection->send(text);
}

void Server::close(const ClientId& id, std::uint16_t code)
{
    const auto found = connections_.find(id);
    if (found == connections_.end())
        return;
    if (auto connection = found->second.lock())
        connection->close(code);
}

std::string Server::metrics() const
{
    PrometheusText out;
    out.family("signald_connections", "gauge", "WebSocket clients attached to the hub.");
    out.sample(connections_.size());
    out.family("signald_sessions", "gauge",
               "WebSocket session objects alive, closing ones included.");
    out.sample(counts_->total);
    out.family("signald_rooms", "gauge", "Rooms with at least one member.");
    out.sample(hub_.rooms().room_count());
    out.family("signald_members", "gauge", "Clients in a room.");
    out.sample(hub_.rooms().member_count());

    const HubStats& hub = hub_.stats();
    out.family("signald_messages_received_total", "counter",
               "Text messages from clients, by what they were: join, leave, signal, invalid "
               "(refused while parsing) or dropped (over the rate limit, unread).");
    for (std::size_t i = 0; i < in_action_count; ++i)
        out.sample({{"action", to_string(static_cast<InAction>(i))}}, hub.in[i].messages);
    out.family("signald_received_bytes_total", "counter",
               "Bytes of text messages from clients (without framing), by what they were.");
    for (std::size_t i = 0; i < in_action_count; ++i)
        out.sample({{"action", to_string(static_cast<InAction>(i))}}, hub.in[i].bytes);
    out.family("signald_messages_sent_total", "counter",
               "Messages handed to client connections, one per receiver, by action.");
    for (std::size_t i = 0; i < out_action_count; ++i)
        out.sample({{"action", to_string(static_cast<OutAction>(i))}}, hub.out[i].messages);
    out.family("signald_sent_bytes_total", "counter",
               "Bytes of messages handed to client connections (without framing), by action.");
    for (std::size_t i = 0; i < out_action_count; ++i)
        out.sample({{"action", to_string(static_cast<OutAction>(i))}}, hub.out[i].bytes);
    out.family("signald_protocol_errors_total", "counter",
               "Error replies sent to clients, by code (docs/protocol.md section 7).");
    for (std::size_t i = 0; i < error_code_count; ++i)
        out.sample({{"code", to_string(static_cast<ErrorCode>(i))}}, hub.errors[i]);

    out.family("signald_closes_total", "counter",
               "WebSocket connections ended, by the side that ended them and the close code; "
               "1006 is a connection cut without a close frame.");
    for (const auto& [key, count] : net_stats_.closes())
        out.sample({{"by", to_string(key.first)}, {"code", close_code_label(key.second)}}, count);

    // Merged first, so a reason counted in both places is still one series.
    std::map<std::string, std::uint64_t, std::less<>> rejections(rejections_);
    rejections["rate-limited"] += hub.rate_limited;
    rejections["flood"] += hub.abuse_closes;
    out.family("signald_rejections_total", "counter",
               "Requests refused and connections cut off, by reason.");
    for (const auto& [reason, count] : rejections)
        out.sample({{"reason", reason}}, count);

    out.family("signald_write_queue_high_water_bytes", "gauge",
               "The most bytes any one connection's write queue has held since start-up.");
    out.sample(net_stats_.queue_high_water());

    out.family("signald_build_info", "gauge", "Always 1; the version is in the label.");
    out.sample({{"version", SIGNALD_VERSION}}, 1);
    out.family("signald_start_time_seconds", "gauge", "When signald started, in Unix time.");
    out.sample(unix_seconds(start_time_));
    if (uses_tls()) {
        out.family("signald_tls_certificate_expiry_seconds", "gauge",
                   "When the served certificate expires, in Unix time. It is read at start-up: "
                   "a renewed certificate shows here after a restart.");
        out.sample(unix_seconds(tls_.not_after));
    }
    return out.take();
}

void Server::shutdown()
{
    if (shutting_down_)
        return;
    shutting_down_ = true;
    listener_.stop();
    keepalive_timer_.cancel();
    spdlog::info("shutting down: closing {} WebSocket connections", connections_.size());
    if (connections_.empty()) {
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
