#pragma once
// HttpHost: everything an HTTP session (and the TLS detector before it) may ask of the server, and
// nothing more. Server implements it; HTTP code never sees the hub, the listener or the options it
// has no use for. Every call is made on the io_context thread.

#include "signald/net/admission.hpp"
#include "signald/net/admission_policy.hpp"
#include "signald/net/client_address.hpp"
#include "signald/net/host_policy.hpp"
#include "signald/net/socket_reactor.hpp"
#include "signald/net/static_site.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace signald {

class WsHost;

// The options that shape one HTTP connection (defaults and reasons: ServerOptions).
struct HttpLimits
{
    std::size_t max_header_bytes;
    std::chrono::seconds request_timeout;
};

class HttpHost
{
public:
    virtual ~HttpHost() = default;

    virtual const HttpLimits& http_limits() const = 0;
    virtual const StaticSite& site() const = 0;
    // The /metrics page, as of now.
    virtual std::string metrics_text() const = 0;
    // Why the server cannot serve as it should (shown by /healthz with 503), or nullopt.
    virtual std::optional<std::string> trouble() const = 0;
    // What /healthz?verbose adds below its first line (the TURN checks), each line ending in a
    // newline; empty when there is nothing to add.
    virtual std::string health_details() const = 0;
    // Whose X-Forwarded-For names the client.
    virtual const TrustedProxies& trusted_proxies() const = 0;
    // Which Host names are answered at all (the DNS-rebinding defence).
    virtual const HostPolicy& host_policy() const = 0;
    // May this upgrade become a WebSocket? The token counts the session until it is destroyed.
    virtual std::variant<Admission, Refusal> admit(const UpgradeRequest& request) = 0;
    // The TLS context; only called when the server speaks TLS.
    virtual boost::asio::ssl::context& tls_context() = 0;
    // A refused request or handshake: logged once at warn and counted (see Refusals).
    virtual void count_refusal(std::string_view reason, std::string_view who,
                               std::string_view detail) = 0;
    // Where an upgraded connection goes: the WebSocket side of the same server.
    virtual WsHost& ws_host() = 0;
};

} // namespace signald
