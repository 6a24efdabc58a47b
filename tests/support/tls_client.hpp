#pragma once
// HTTPS and WSS clients for the TLS tests, built on Beast's ssl_stream. Each owns its io_context
// and one connection to 127.0.0.1; every call has a deadline and nothing sleeps (run_until.hpp).
// By default they verify the server as a browser would: the chain must lead to the given CA and
// the certificate must be for the given host name (also sent as SNI) or address. Without a CA
// they accept any certificate, which is only for looking at the one the server presents.
// WssClient is BasicWsClient (basic_ws_client.hpp) over TLS: the same client WsClient is.

#include "basic_ws_client.hpp"
#include "tls_trust.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald::test {

// An ssl::context that trusts trust.ca_file and nothing else (or anything, without one).
boost::asio::ssl::context make_client_context(const TlsTrust& trust);
// Before the handshake: SNI for a host name, and the browser's check that the certificate is for
// trust.host.
void prepare_client_stream(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                           const TlsTrust& trust);

class HttpsClient
{
public:
    using Duration = std::chrono::milliseconds;
    using Response = boost::beast::http::response<boost::beast::http::string_body>;

    explicit HttpsClient(TlsTrust trust);
    ~HttpsClient();
    HttpsClient(const HttpsClient&) = delete;
    HttpsClient& operator=(const HttpsClient&) = delete;

    // TCP connect and TLS handshake; throws on failure or timeout.
    void connect(std::uint16_t port, Duration timeout = 5s);
    // As connect, but a failed handshake is returned (its message) instead of thrown.
    std::optional<std::string> try_connect(std::uint16_t port, Duration timeout = 5s);
    // One request on the connection (Host: <trust host>:<port>); throws if no response arrives.
    Response request(std::string_view method, std::string_view target, Duration timeout = 5s);
    // Bytes exactly as given (e.g. an upgrade request with a frame right behind it), then the
    // response to them, then the raw bytes after it: at least count, all there are.
    void send_raw(std::string_view bytes, Duration timeout = 5s);
    Response read_response(bool head = false, Duration timeout = 5s);
    std::string read_bytes(std::size_t count, Duration timeout = 2s);
    // SHA-256 (AA:BB:...) of the certificate the server presented, and the certificate as PEM.
    std::string peer_fingerprint();
    std::string peer_certificate_pem();
    // From now on, what this client sends is cut into TLS records of at most bytes (>= 512).
    void cut_records_at(std::size_t bytes);

private:
    TlsTrust trust_;
    boost::asio::io_context ioc_;
    boost::asio::ssl::context ctx_;
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
    boost::beast::flat_buffer buffer_;
    std::string write_buffer_;
    std::uint16_t port_ = 0;
};

using WssClient = BasicWsClient<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

} // namespace signald::test
