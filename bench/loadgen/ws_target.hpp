#pragma once
// Where the generator connects (the parsed --url: one server, or the nodes of a cluster) and from
// which local addresses (--sources). Resolved once at startup; connections copy nothing from here
// but the endpoint.

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <vector>

namespace bench {

struct WsTarget
{
    boost::asio::ip::tcp::endpoint server;
    std::string host_header; // "host:port" as written in the URL
    std::string path;        // "/ws"
    std::string host;        // HOST alone: the TLS server name, when it is not an IP address
    bool tls = false;        // wss://
};

// ws://HOST:PORT/PATH or wss://HOST:PORT/PATH; HOST may be a name, resolved here. Throws
// std::runtime_error.
WsTarget parse_ws_url(const std::string& url);

// One or more such URLs, comma-separated: the nodes of a cluster. Throws std::runtime_error.
std::vector<WsTarget> parse_ws_urls(const std::string& list);

// Comma-separated IP addresses. Throws std::runtime_error on a bad one or an empty list.
std::vector<boost::asio::ip::address> parse_sources(const std::string& list);

} // namespace bench
