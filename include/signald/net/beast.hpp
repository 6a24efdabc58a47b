#pragma once
// Namespace aliases for the network layer. Only net/ includes Beast; core never does.

// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>; GCC 12 in
// C++20 mode then fails. Including it first is the whole fix.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

namespace signald {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using error_code = boost::beast::error_code;
// A TLS connection: Beast's stream keeps the HTTP timeouts; its flat_stream merges small writes.
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
} // namespace signald
