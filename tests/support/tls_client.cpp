#include "tls_client.hpp"
#include "run_until.hpp"
#include "test_certs.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <memory>
#include <stdexcept>

namespace signald::test {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

using Clock = std::chrono::steady_clock;
using TlsTcp = beast::ssl_stream<beast::tcp_stream>;

} // namespace

ssl::context make_client_context(const TlsTrust& trust)
{
    ssl::context ctx(ssl::context::tls_client);
    if (trust.ca_file.empty()) {
        ctx.set_verify_mode(ssl::verify_none);
    } else {
        ctx.load_verify_file(trust.ca_file.string()); // this CA and nothing else
        ctx.set_verify_mode(ssl::verify_peer);
    }
    return ctx;
}

// SNI for a name (never for an address, RFC 6066 3), and the check a browser makes: the
// certificate must be for that name or address.
void prepare_client_stream(TlsTcp& stream, const TlsTrust& trust)
{
    beast::error_code not_an_address;
    net::ip::make_address(trust.host, not_an_address);
    if (not_an_address &&
        ::SSL_set_tlsext_host_name(stream.native_handle(), trust.host.c_str()) != 1)
        throw std::runtime_error("cannot set SNI " + trust.host);
    if (!trust.ca_file.empty())
        stream.set_verify_callback(ssl::host_name_verification(trust.host));
}

namespace {

// Runs one asynchronous operation, started by start(handler), until its handler has run or the
// deadline passes. At the deadline the socket is closed, which ends the operation, and the call
// throws. The handler's state is shared, so a late handler never writes to a dead frame.
template <class Start>
beast::error_code run_op(net::io_context& ioc, beast::tcp_stream& lowest, std::string_view what,
                         Clock::time_point deadline, Start start)
{
    struct State
    {
        bool done = false;
        beast::error_code ec;
    };
    auto state = std::make_shared<State>();
    start([state](beast::error_code ec, auto&&...) {
        state->ec = ec;
        state->done = true;
    });
    if (!test::run_until(
            ioc, [&] { return state->done; }, deadline)) {
        beast::error_code ignored;
        lowest.socket().close(ignored);
        test::run_until(
            ioc, [&] { return state->done; }, Clock::now() + 2s);
        throw std::runtime_error(std::string(what) + " timed out");
    }
    return state->ec;
}

} // namespace

// ---- HttpsClient

HttpsClient::HttpsClient(TlsTrust trust)
    : trust_(std::move(trust)), ioc_(1), ctx_(make_client_context(trust_)), stream_(ioc_, ctx_)
{
    prepare_client_stream(stream_, trust_);
}

HttpsClient::~HttpsClient()
{
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
    ioc_.restart();
    ioc_.poll(); // aborted handlers run before the stream goes
}

std::optional<std::string> HttpsClient::try_connect(std::uint16_t port, Duration timeout)
{
    const auto deadline = Clock::now() + timeout;
    port_ = port;
    auto& lowest = beast::get_lowest_layer(stream_);
    const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
    if (auto ec = run_op(ioc_, lowest, "connect", deadline,
                         [&](auto handler) { lowest.async_connect(endpoint, handler); }))
        throw std::runtime_error("connect failed: " + ec.message());
    lowest.socket().set_option(net::ip::tcp::no_delay(true));
    if (auto ec = run_op(ioc_, lowest, "TLS handshake", deadline, [&](auto handler) {
            stream_.async_handshake(ssl::stream_base::client, handler);
        }))
        return ec.message();
    return std::nullopt;
}

void HttpsClient::connect(std::uint16_t port, Duration timeout)
{
    if (const auto error = try_connect(port, timeout))
        throw std::runtime_error("TLS handshake failed: " + *error);
}

HttpsClient::Response HttpsClient::request(std::string_view method, std::string_view target,
                                           Duration timeout)
{
    const auto deadline = Clock::now() + timeout;
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, trust_.host + ":" + std::to_string(port_));
    auto& lowest = beast::get_lowest_layer(stream_);
    if (auto ec = run_op(ioc_, lowest, "HTTPS write", deadline,
                         [&](auto handler) { http::async_write(stream_, request, handler); }))
        throw std::runtime_error("HTTPS write failed: " + ec.message());
    return read_response(request.method() == http::verb::head,
                         std::chrono::duration_cast<Duration>(deadline - Clock::now()));
}

void HttpsClient::cut_records_at(std::size_t bytes)
{
    SSL_set_max_send_fragment(stream_.native_handle(), static_cast<long>(bytes));
}

void HttpsClient::send_raw(std::string_view bytes, Duration timeout)
{
    write_buffer_.assign(bytes);
    if (auto ec = run_op(
            ioc_, beast::get_lowest_layer(stream_), "HTTPS write", Clock::now() + timeout,
            [&](auto handler) { net::async_write(stream_, net::buffer(write_buffer_), handler); }))
        throw std::runtime_error("HTTPS write failed: " + ec.message());
}

HttpsClient::Response HttpsClient::read_response(bool head, Duration timeout)
{
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    parser.skip(head); // no body follows a HEAD's headers
    if (auto ec =
            run_op(ioc_, beast::get_lowest_layer(stream_), "HTTPS read", Clock::now() + timeout,
                   [&](auto handler) { http::async_read(stream_, buffer_, parser, handler); }))
        throw std::runtime_error("HTTPS read failed: " + ec.message());
    return parser.release();
}

std::string HttpsClient::read_bytes(std::size_t count, Duration timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (buffer_.size() < count) {
        const auto ec = run_op(
            ioc_, beast::get_lowest_layer(stream_), "HTTPS read", deadline, [&](auto handler) {
                stream_.async_read_some(buffer_.prepare(4096), [this, handler](auto error, auto n) {
                    buffer_.commit(n);
                    handler(error, n);
                });
            });
        if (ec)
            break; // what came before the end is still returned
    }
    std::string bytes = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return bytes;
}

std::string HttpsClient::peer_fingerprint()
{
    const std::unique_ptr<X509, void (*)(X509*)> cert(
        ::SSL_get1_peer_certificate(stream_.native_handle()), ::X509_free);
    if (!cert)
        throw std::runtime_error("the server presented no certificate");
    return sha256_fingerprint(cert.get());
}

std::string HttpsClient::peer_certificate_pem()
{
    const std::unique_ptr<X509, void (*)(X509*)> cert(
        ::SSL_get1_peer_certificate(stream_.native_handle()), ::X509_free);
    const std::unique_ptr<BIO, int (*)(BIO*)> bio(::BIO_new(::BIO_s_mem()), ::BIO_free);
    if (!cert || !bio || ::PEM_write_bio_X509(bio.get(), cert.get()) != 1)
        throw std::runtime_error("cannot get the server's certificate as PEM");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
}

} // namespace signald::test
