#include "tls_client.hpp"
#include "run_until.hpp"
#include "test_certs.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/ssl.hpp>

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
namespace websocket = beast::websocket;

namespace {

using Clock = std::chrono::steady_clock;
using TlsTcp = beast::ssl_stream<beast::tcp_stream>;

ssl::context make_context(const TlsTrust& trust)
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
void prepare(TlsTcp& stream, const TlsTrust& trust)
{
    beast::error_code not_an_address;
    net::ip::make_address(trust.host, not_an_address);
    if (not_an_address &&
        ::SSL_set_tlsext_host_name(stream.native_handle(), trust.host.c_str()) != 1)
        throw std::runtime_error("cannot set SNI " + trust.host);
    if (!trust.ca_file.empty())
        stream.set_verify_callback(ssl::host_name_verification(trust.host));
}

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
    : trust_(std::move(trust)), ioc_(1), ctx_(make_context(trust_)), stream_(ioc_, ctx_)
{
    prepare(stream_, trust_);
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

// ---- WssClient

WssClient::WssClient(TlsTrust trust)
    : trust_(std::move(trust)), ioc_(1), ctx_(make_context(trust_)), ws_(ioc_, ctx_)
{
    prepare(ws_.next_layer(), trust_);
    ws_.text(true);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
        if (kind == websocket::frame_type::pong)
            pongs_.emplace_back(payload);
        else if (kind == websocket::frame_type::ping)
            ++pings_received_;
    });
}

WssClient::~WssClient()
{
    abort();
}

void WssClient::abort()
{
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    test::run_until(
        ioc_, [&] { return !reading_; }, Clock::now() + 2s);
}

template <class Start>
void WssClient::write_op(std::string_view what, Clock::time_point deadline, Start start)
{
    if (auto ec = run_op(ioc_, beast::get_lowest_layer(ws_), what, deadline, start))
        throw std::runtime_error(std::string(what) + " failed: " + ec.message());
}

void WssClient::connect(std::uint16_t port, std::string_view target, Duration timeout)
{
    const auto deadline = Clock::now() + timeout;
    auto& lowest = beast::get_lowest_layer(ws_);
    const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
    write_op("connect", deadline, [&](auto handler) { lowest.async_connect(endpoint, handler); });
    lowest.socket().set_option(net::ip::tcp::no_delay(true)); // as browsers do: no 40 ms stalls
    write_op("TLS handshake", deadline, [&](auto handler) {
        ws_.next_layer().async_handshake(ssl::stream_base::client, handler);
    });
    const std::string host = trust_.host + ":" + std::to_string(port);
    write_op("WebSocket handshake", deadline,
             [&](auto handler) { ws_.async_handshake(host, target, handler); });
    do_read();
}

void WssClient::do_read()
{
    reading_ = true;
    ws_.async_read(read_buffer_, [this](beast::error_code ec, std::size_t) {
        reading_ = false;
        if (ec) {
            ended_ = true;
            close_info_.error = ec.message();
            if (ec == websocket::error::closed) {
                close_info_.got_close_frame = true;
                close_info_.code = static_cast<std::uint16_t>(ws_.reason().code);
                close_info_.reason = std::string(ws_.reason().reason);
            }
            return;
        }
        inbox_.push_back(beast::buffers_to_string(read_buffer_.data()));
        read_buffer_.consume(read_buffer_.size());
        do_read();
    });
}

void WssClient::send_text(std::string_view text, Duration timeout)
{
    if (ended_)
        throw std::runtime_error("WssClient: write after the end: " + describe(close_info_));
    write_buffer_.assign(text); // a member: an aborted write may still look at it
    write_op("WebSocket write", Clock::now() + timeout,
             [&](auto handler) { ws_.async_write(net::buffer(write_buffer_), handler); });
}

void WssClient::send_json(const nlohmann::json& message, Duration timeout)
{
    send_text(message.dump(), timeout);
}

void WssClient::send_raw(std::string_view frames, Duration timeout)
{
    write_buffer_.assign(frames);
    write_op("raw write", Clock::now() + timeout, [&](auto handler) {
        net::async_write(ws_.next_layer(), net::buffer(write_buffer_), handler);
    });
}

void WssClient::ping(std::string_view payload, Duration timeout)
{
    write_op("ping", Clock::now() + timeout,
             [&](auto handler) { ws_.async_ping(websocket::ping_data(payload), handler); });
}

const std::vector<std::string>& WssClient::wait_pongs(std::size_t count, Duration timeout)
{
    test::run_until(
        ioc_, [&] { return pongs_.size() >= count || ended_; }, Clock::now() + timeout);
    return pongs_;
}

std::optional<std::string> WssClient::next_text(Duration timeout)
{
    test::run_until(
        ioc_, [&] { return !inbox_.empty() || ended_; }, Clock::now() + timeout);
    if (inbox_.empty())
        return std::nullopt;
    std::string text = std::move(inbox_.front());
    inbox_.pop_front();
    return text;
}

nlohmann::json WssClient::next_json(Duration timeout)
{
    return parse_received(next_text(timeout), ended_, close_info_, timeout);
}

std::string WssClient::join(std::string_view room_id, std::optional<std::string_view> name,
                            Duration timeout)
{
    send_json(join_request(room_id, name));
    return joined_client_id(next_json(timeout), room_id);
}

::testing::AssertionResult WssClient::expect_silence(Duration duration)
{
    test::run_until(
        ioc_, [&] { return !inbox_.empty() || ended_; }, Clock::now() + duration);
    return silence_held(inbox_, ended_, close_info_);
}

std::optional<CloseInfo> WssClient::wait_close(Duration timeout)
{
    test::run_until(
        ioc_, [&] { return ended_; }, Clock::now() + timeout);
    if (!ended_)
        return std::nullopt;
    inbox_.clear();
    return close_info_;
}

::testing::AssertionResult WssClient::expect_close(std::uint16_t code, Duration timeout)
{
    const auto info = wait_close(timeout);
    if (!info)
        return ::testing::AssertionFailure() << "expected close " << code << ", still open";
    if (!info->got_close_frame || info->code != code)
        return ::testing::AssertionFailure()
               << "expected close " << code << ", got " << describe(*info);
    return ::testing::AssertionSuccess();
}

std::optional<std::uint16_t> WssClient::close(std::uint16_t code, Duration timeout)
{
    // async_close reads the server's close frame itself (and then shuts TLS down); the
    // outstanding read ends with operation_aborted.
    const auto ec = run_op(ioc_, beast::get_lowest_layer(ws_), "close", Clock::now() + timeout,
                           [&](auto handler) { ws_.async_close(code, handler); });
    test::run_until(
        ioc_, [&] { return !reading_; }, Clock::now() + timeout);
    ended_ = true;
    if (ec && !close_info_.got_close_frame)
        return std::nullopt;
    return static_cast<std::uint16_t>(ws_.reason().code);
}

} // namespace signald::test
