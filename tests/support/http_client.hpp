#pragma once
// HttpClient: a raw HTTP/1.1 client for integration tests. It owns its own io_context and one TCP
// connection; requests go out byte for byte as given (so traversal targets reach the server
// unnormalised) and responses are parsed with Beast. Every call has a deadline; nothing sleeps.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace signald::test {

using namespace std::chrono_literals;

class HttpClient
{
public:
    using Duration = std::chrono::milliseconds;
    using Response = boost::beast::http::response<boost::beast::http::string_body>;
    using HeaderList = std::vector<std::pair<std::string, std::string>>;

    HttpClient();
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Connects to 127.0.0.1:port; throws on failure or timeout.
    void connect(std::uint16_t port, Duration timeout = 5s);
    void send_raw(std::string_view bytes, Duration timeout = 5s);
    // Reads one response; for a HEAD request pass head = true (no body follows the headers).
    // Returns nullopt if the connection ends or fails first (see last_error()); throws on timeout.
    std::optional<Response> read_response(bool head = false, Duration timeout = 5s);
    // Sends `METHOD target HTTP/1.1` with Host (127.0.0.1:port unless extra has one), the extra
    // headers and an empty body where the method takes one, then reads the response; throws if
    // none arrives.
    Response request(std::string_view method, std::string_view target, const HeaderList& extra = {},
                     Duration timeout = 5s);
    // Reads until the server ends the connection (FIN or RST) or timeout passes; true if it ended.
    // Bytes that arrive meanwhile, a response included, are read and thrown away. When it does
    // not end, the read is cancelled but the socket stays open, so the test can send more and ask
    // again.
    bool ended_within(Duration timeout);

    const std::string& last_error() const { return last_error_; }

private:
    using Clock = std::chrono::steady_clock;

    template <class Done>
    bool run_until(Done done, Clock::time_point deadline);
    void wait_for_op(std::string_view what, Clock::time_point deadline);
    void abort();

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
    std::string write_buffer_;
    std::uint16_t port_ = 0;
    bool op_pending_ = false;
    boost::beast::error_code op_error_;
    std::string last_error_;
};

// One request on a fresh connection.
HttpClient::Response http_request(std::uint16_t port, std::string_view method,
                                  std::string_view target,
                                  const HttpClient::HeaderList& extra = {});

// The value of one sample in GET /metrics, named exactly as exposed, e.g.
// `signald_rejections_total{reason="origin"}`; nullopt if the line is absent.
std::optional<double> metric(std::uint16_t port, std::string_view sample);
// Polls GET /metrics until sample equals value or the deadline passes; returns the last value
// read (so a caller can EXPECT_EQ on it and see what was there instead).
std::optional<double> wait_for_metric(std::uint16_t port, std::string_view sample, double value,
                                      HttpClient::Duration timeout = 5s);

} // namespace signald::test
