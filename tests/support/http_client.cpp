#include "http_client.hpp"
#include "run_until.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <thread>

namespace signald::test {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// 64 MiB: far above any file a test serves, so a size limit never hides a real response.
constexpr std::uint64_t response_body_limit_bytes = 64u << 20;

} // namespace

HttpClient::HttpClient() : ioc_(1), socket_(ioc_) {}

HttpClient::~HttpClient()
{
    abort();
}

template <class Done>
bool HttpClient::run_until(Done done, Clock::time_point deadline)
{
    return test::run_until(ioc_, std::move(done), deadline);
}

void HttpClient::abort()
{
    beast::error_code ignored;
    socket_.close(ignored);
    // Let an aborted operation finish, so no handler outlives this object or its parser.
    run_until([&] { return !op_pending_; }, Clock::now() + 2s);
}

void HttpClient::wait_for_op(std::string_view what, Clock::time_point deadline)
{
    if (!run_until([&] { return !op_pending_; }, deadline)) {
        abort();
        throw std::runtime_error(std::string(what) + " timed out");
    }
}

void HttpClient::connect(std::uint16_t port, Duration timeout)
{
    port_ = port;
    op_pending_ = true;
    socket_.async_connect({net::ip::address_v4::loopback(), port}, [this](beast::error_code ec) {
        op_pending_ = false;
        op_error_ = ec;
    });
    wait_for_op("HTTP connect", Clock::now() + timeout);
    if (op_error_)
        throw std::runtime_error("HTTP connect to port " + std::to_string(port) +
                                 " failed: " + op_error_.message());
}

void HttpClient::send_raw(std::string_view bytes, Duration timeout)
{
    write_buffer_.assign(bytes);
    op_pending_ = true;
    net::async_write(socket_, net::buffer(write_buffer_),
                     [this](beast::error_code ec, std::size_t) {
                         op_pending_ = false;
                         op_error_ = ec;
                     });
    wait_for_op("HTTP write", Clock::now() + timeout);
    if (op_error_)
        throw std::runtime_error("HTTP write failed: " + op_error_.message());
}

std::optional<HttpClient::Response> HttpClient::read_response(bool head, Duration timeout)
{
    // On the heap: if the read times out, the aborted operation still refers to the parser.
    auto parser = std::make_shared<http::response_parser<http::string_body>>();
    parser->body_limit(response_body_limit_bytes);
    parser->skip(head);
    op_pending_ = true;
    http::async_read(socket_, buffer_, *parser, [this, parser](beast::error_code ec, std::size_t) {
        op_pending_ = false;
        op_error_ = ec;
    });
    wait_for_op("HTTP read", Clock::now() + timeout);
    if (op_error_) {
        last_error_ = op_error_.message();
        return std::nullopt;
    }
    return parser->release();
}

HttpClient::Response HttpClient::request(std::string_view method, std::string_view target,
                                         const HeaderList& extra, Duration timeout)
{
    std::string text = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\n";
    const bool own_host = std::any_of(extra.begin(), extra.end(), [](const auto& header) {
        return beast::iequals(header.first, "Host");
    });
    if (!own_host)
        text += "Host: 127.0.0.1:" + std::to_string(port_) + "\r\n";
    for (const auto& [name, value] : extra)
        text += name + ": " + value + "\r\n";
    if (method == "POST" || method == "PUT" || method == "PATCH")
        text += "Content-Length: 0\r\n";
    text += "\r\n";
    send_raw(text, timeout);
    auto response = read_response(method == "HEAD", timeout);
    if (!response)
        throw std::runtime_error("no response to " + std::string(method) + " " +
                                 std::string(target) + ": " + last_error_);
    return std::move(*response);
}

bool HttpClient::ended_within(Duration timeout)
{
    auto chunk = std::make_shared<std::array<char, 4096>>();
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        op_pending_ = true;
        socket_.async_read_some(net::buffer(*chunk),
                                [this, chunk](beast::error_code ec, std::size_t) {
                                    op_pending_ = false;
                                    op_error_ = ec;
                                });
        if (!run_until([&] { return !op_pending_; }, deadline)) {
            beast::error_code ignored;
            socket_.cancel(ignored);
            run_until([&] { return !op_pending_; }, Clock::now() + 2s);
            // The read may have finished with data or an end just as it was cancelled.
            return op_error_ && op_error_ != net::error::operation_aborted;
        }
        if (op_error_)
            return true;
    }
}

HttpClient::Response http_request(std::uint16_t port, std::string_view method,
                                  std::string_view target, const HttpClient::HeaderList& extra)
{
    HttpClient client;
    client.connect(port);
    return client.request(method, target, extra);
}

std::optional<double> metric(std::uint16_t port, std::string_view sample)
{
    const auto response = http_request(port, "GET", "/metrics");
    const std::string& body = response.body();
    const std::string prefix = std::string(sample) + ' ';
    for (std::size_t line = 0; line < body.size();) {
        const std::size_t end = std::min(body.find('\n', line), body.size());
        if (body.compare(line, prefix.size(), prefix) == 0)
            return std::strtod(
                body.substr(line + prefix.size(), end - line - prefix.size()).c_str(), nullptr);
        line = end + 1;
    }
    return std::nullopt;
}

std::optional<double> wait_for_metric(std::uint16_t port, std::string_view sample, double value,
                                      HttpClient::Duration timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto seen = metric(port, sample);
        if ((seen && *seen == value) || std::chrono::steady_clock::now() >= deadline)
            return seen;
        // The poll interval, not synchronisation: the deadline decides the outcome.
        std::this_thread::sleep_for(20ms);
    }
}

} // namespace signald::test
