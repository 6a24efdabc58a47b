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
// Every socket of the server runs on its one io_context, so each names that context's own
// executor type (a pointer) instead of the type-erased any_io_executor, which costs some 40 bytes
// in every socket and in every pending operation, and an indirect call at each dispatch.
using Executor = boost::asio::io_context::executor_type;
using TcpSocket = boost::asio::basic_stream_socket<tcp, Executor>;
using TcpAcceptor = boost::asio::basic_socket_acceptor<tcp, Executor>;
// Beast's stream keeps the HTTP timeouts.
using TcpStream = boost::beast::basic_stream<tcp, Executor>;
// A TLS connection, until the WebSocket upgrade: its flat_stream merges small writes.
using TlsStream = boost::beast::ssl_stream<TcpStream>;
} // namespace signald
