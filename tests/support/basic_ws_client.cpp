// BasicWsClient's members, compiled once for the two streams the tests use (the explicit
// instantiations at the end). What differs between ws:// and wss:// is only how the connection
// is made: the TLS handshake, SNI and verification, and the Host the upgrade names.
#include "basic_ws_client.hpp"
#include "run_until.hpp"
#include "tls_client.hpp"
#include "ws_client.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <stdexcept>

namespace signald::test {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

std::string excerpt(std::string_view text, std::size_t limit)
{
    if (text.size() <= limit)
        return std::string(text);
    return std::string(text.substr(0, limit)) + "... (" + std::to_string(text.size()) + " bytes)";
}

std::string describe(const CloseInfo& info)
{
    if (info.got_close_frame)
        return "close frame " + std::to_string(info.code) +
               (info.reason.empty() ? "" : " (" + info.reason + ")");
    return "no close frame (" + info.error + ")";
}

namespace {

// A received text taken as JSON; throws when there is none (saying why) or it is not JSON.
nlohmann::json parse_received(const std::optional<std::string>& text, bool ended,
                              const CloseInfo& info, std::chrono::milliseconds waited)
{
    if (!text) {
        if (ended)
            throw std::runtime_error("expected a message, but the connection ended: " +
                                     describe(info));
        throw std::runtime_error("expected a message within " + std::to_string(waited.count()) +
                                 " ms, got none");
    }
    auto message = nlohmann::json::parse(*text, nullptr, false);
    if (message.is_discarded())
        throw std::runtime_error("server sent text that is not JSON: " + excerpt(*text));
    return message;
}

nlohmann::json join_request(std::string_view room_id, std::optional<std::string_view> name)
{
    nlohmann::json request{{"action", "join"}, {"roomId", room_id}};
    if (name)
        request["name"] = *name;
    return request;
}

// The clientId in reply, which must be `joined` for room_id; throws otherwise.
std::string joined_client_id(const nlohmann::json& reply, std::string_view room_id)
{
    if (reply.value("action", "") != "joined" || reply.value("roomId", "") != room_id ||
        !reply.contains("clientId") || !reply["clientId"].is_string())
        throw std::runtime_error("expected joined for room " + std::string(room_id) +
                                 ", got: " + excerpt(reply.dump()));
    return reply["clientId"].get<std::string>();
}

} // namespace

template <class NextLayer>
BasicWsClient<NextLayer>::BasicWsClient() requires(!over_tls) : ioc_(1), ws_(ioc_)
{
    count_control_frames();
}

template <class NextLayer>
BasicWsClient<NextLayer>::BasicWsClient(TlsTrust trust) requires(over_tls)
    : trust_(std::move(trust)), ioc_(1),
      tls_context_(std::make_unique<ssl::context>(make_client_context(trust_))),
      ws_(ioc_, *tls_context_)
{
    prepare_client_stream(ws_.next_layer(), trust_);
    count_control_frames();
}

template <class NextLayer>
BasicWsClient<NextLayer>::~BasicWsClient()
{
    shut_down_socket(false);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::count_control_frames()
{
    ws_.text(true);
    // Counting only: Beast still answers every ping with a pong on its own.
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
        if (kind == websocket::frame_type::pong)
            pongs_.emplace_back(payload);
        else if (kind == websocket::frame_type::ping)
            ++pings_received_;
    });
}

template <class NextLayer>
void BasicWsClient<NextLayer>::bind_local(std::string_view address)
{
    auto& socket = beast::get_lowest_layer(ws_).socket();
    const auto local = net::ip::make_address(address);
    socket.open(local.is_v6() ? net::ip::tcp::v6() : net::ip::tcp::v4());
    socket.bind({local, 0});
}

template <class NextLayer>
template <class Done>
bool BasicWsClient<NextLayer>::run_until(Done done, Clock::time_point deadline)
{
    return test::run_until(ioc_, std::move(done), deadline);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::shut_down_socket(bool reset)
{
    auto& socket = beast::get_lowest_layer(ws_).socket();
    if (socket.is_open()) {
        beast::error_code ignored;
        if (reset)
            socket.set_option(net::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
    }
    // Let the aborted operations finish, so no handler outlives this object.
    run_until([&] { return !reading_ && !op_pending_; }, Clock::now() + 2s);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::start_op()
{
    op_pending_ = true;
    op_error_ = {};
}

template <class NextLayer>
void BasicWsClient<NextLayer>::finish_op(beast::error_code ec)
{
    op_pending_ = false;
    op_error_ = ec;
}

template <class NextLayer>
void BasicWsClient<NextLayer>::finish_or_throw(std::string_view what, Clock::time_point deadline)
{
    if (!run_until([&] { return !op_pending_; }, deadline)) {
        shut_down_socket(false);
        throw std::runtime_error(std::string(what) + " timed out");
    }
    if (op_error_)
        throw std::runtime_error(std::string(what) + " failed: " + op_error_.message());
}

template <class NextLayer>
template <class Start>
void BasicWsClient<NextLayer>::run_op(std::string_view what, Clock::time_point deadline,
                                      Start start)
{
    start_op();
    start([this](beast::error_code ec, auto&&...) { finish_op(ec); });
    finish_or_throw(what, deadline);
}

template <class NextLayer>
unsigned BasicWsClient<NextLayer>::try_connect(std::uint16_t port, std::string_view target,
                                               const Headers& extra, Duration timeout)
{
    if (connected_ || op_pending_)
        throw std::logic_error("WebSocket client: connect called twice");
    const auto deadline = Clock::now() + timeout;
    auto& lowest = beast::get_lowest_layer(ws_);
    const net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), port);
    run_op("connect", deadline, [&](auto handler) { lowest.async_connect(endpoint, handler); });

    std::string host = "127.0.0.1:" + std::to_string(port);
    if constexpr (over_tls) {
        lowest.socket().set_option(net::ip::tcp::no_delay(true)); // as browsers do: no 40 ms stalls
        run_op("TLS handshake", deadline, [&](auto handler) {
            ws_.next_layer().async_handshake(ssl::stream_base::client, handler);
        });
        host = trust_.host + ":" + std::to_string(port);
    }

    ws_.set_option(websocket::stream_base::decorator([extra](websocket::request_type& request) {
        for (const auto& [name, value] : extra)
            request.set(name, value);
    }));
    websocket::response_type response;
    start_op();
    ws_.async_handshake(response, host, target, [this](beast::error_code ec) { finish_op(ec); });
    if (!run_until([&] { return !op_pending_; }, deadline)) {
        shut_down_socket(false);
        throw std::runtime_error("WebSocket handshake timed out");
    }
    if (op_error_) {
        if (response.result_int() != 0 &&
            response.result() != beast::http::status::switching_protocols)
            return response.result_int();
        throw std::runtime_error("WebSocket handshake failed: " + op_error_.message());
    }
    connected_ = true;
    do_read();
    return response.result_int();
}

template <class NextLayer>
void BasicWsClient<NextLayer>::connect(std::uint16_t port, std::string_view target,
                                       const Headers& extra, Duration timeout)
{
    const unsigned status = try_connect(port, target, extra, timeout);
    if (status != 101)
        throw std::runtime_error("WebSocket upgrade to " + std::string(target) +
                                 " declined with HTTP " + std::to_string(status));
}

template <class NextLayer>
void BasicWsClient<NextLayer>::do_read()
{
    reading_ = true;
    ws_.async_read(read_buffer_, [this](beast::error_code ec, std::size_t) { on_read(ec); });
}

template <class NextLayer>
void BasicWsClient<NextLayer>::on_read(beast::error_code ec)
{
    reading_ = false;
    if (ec) {
        ended_ = true;
        close_info_.error = ec.message();
        // A close frame that arrived but could not be answered (the server cut TCP right after
        // it, as in a takeover) ends the read with the answer's write error: the frame's code is
        // still recorded.
        if (ec == websocket::error::closed || ws_.reason().code != websocket::close_code::none) {
            close_info_.got_close_frame = true;
            close_info_.code = static_cast<std::uint16_t>(ws_.reason().code);
            close_info_.reason =
                std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
        }
        return;
    }
    inbox_.push_back(beast::buffers_to_string(read_buffer_.data()));
    read_buffer_.consume(read_buffer_.size());
    do_read();
}

template <class NextLayer>
void BasicWsClient<NextLayer>::write(std::string_view bytes, bool binary, Duration timeout)
{
    if (!connected_)
        throw std::logic_error("WebSocket client: write before connect");
    if (ended_)
        throw std::runtime_error("WebSocket client: write after the connection ended: " +
                                 describe(close_info_));
    // A member buffer: if the write times out, the aborted operation may still look at it.
    write_buffer_.assign(bytes);
    ws_.binary(binary);
    run_op("WebSocket write", Clock::now() + timeout,
           [&](auto handler) { ws_.async_write(net::buffer(write_buffer_), handler); });
    ws_.text(true);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::send_text(std::string_view text, Duration timeout)
{
    write(text, false, timeout);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::send_json(const nlohmann::json& message, Duration timeout)
{
    write(message.dump(), false, timeout);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::send_binary(std::string_view bytes, Duration timeout)
{
    write(bytes, true, timeout);
}

template <class NextLayer>
void BasicWsClient<NextLayer>::send_raw(std::string_view frames, Duration timeout)
{
    write_buffer_.assign(frames);
    run_op("raw write", Clock::now() + timeout, [&](auto handler) {
        net::async_write(ws_.next_layer(), net::buffer(write_buffer_), handler);
    });
}

template <class NextLayer>
void BasicWsClient<NextLayer>::ping(std::string_view payload, Duration timeout)
{
    run_op("ping", Clock::now() + timeout,
           [&](auto handler) { ws_.async_ping(websocket::ping_data(payload), handler); });
}

template <class NextLayer>
std::optional<std::string> BasicWsClient<NextLayer>::next_text(Duration timeout)
{
    run_until([&] { return !inbox_.empty() || ended_; }, Clock::now() + timeout);
    if (inbox_.empty())
        return std::nullopt;
    std::string text = std::move(inbox_.front());
    inbox_.pop_front();
    return text;
}

template <class NextLayer>
nlohmann::json BasicWsClient<NextLayer>::next_json(Duration timeout)
{
    return parse_received(next_text(timeout), ended_, close_info_, timeout);
}

template <class NextLayer>
const std::vector<std::string>& BasicWsClient<NextLayer>::wait_pongs(std::size_t count,
                                                                     Duration timeout)
{
    run_until([&] { return pongs_.size() >= count || ended_; }, Clock::now() + timeout);
    return pongs_;
}

template <class NextLayer>
std::optional<CloseInfo> BasicWsClient<NextLayer>::wait_close(Duration timeout)
{
    if (!connected_)
        throw std::logic_error("WebSocket client: wait_close before connect");
    run_until([&] { return ended_; }, Clock::now() + timeout);
    if (!ended_)
        return std::nullopt;
    discarded_before_close_ += inbox_.size();
    inbox_.clear();
    return close_info_;
}

template <class NextLayer>
::testing::AssertionResult BasicWsClient<NextLayer>::expect_close(std::uint16_t code,
                                                                  Duration timeout)
{
    const auto info = wait_close(timeout);
    if (!info)
        return ::testing::AssertionFailure()
               << "expected close " << code << ", but the connection was still open after "
               << timeout.count() << " ms";
    if (!info->got_close_frame || info->code != code)
        return ::testing::AssertionFailure()
               << "expected close " << code << ", got " << describe(*info);
    return ::testing::AssertionSuccess();
}

template <class NextLayer>
::testing::AssertionResult BasicWsClient<NextLayer>::expect_silence(Duration duration)
{
    run_until([&] { return !inbox_.empty() || ended_; }, Clock::now() + duration);
    if (!inbox_.empty())
        return ::testing::AssertionFailure()
               << "expected silence, received: " << excerpt(inbox_.front());
    if (ended_)
        return ::testing::AssertionFailure()
               << "expected silence, but the connection ended: " << describe(close_info_);
    return ::testing::AssertionSuccess();
}

template <class NextLayer>
std::optional<std::uint16_t> BasicWsClient<NextLayer>::close(std::uint16_t code, Duration timeout)
{
    if (!is_open())
        throw std::logic_error("WebSocket client: close on a connection that is not open");
    const auto deadline = Clock::now() + timeout;
    start_op();
    ws_.async_close(websocket::close_reason(code), [this](beast::error_code ec) { finish_op(ec); });
    // async_close reads the server's close frame itself (and over TLS then shuts TLS down); the
    // outstanding read then ends with operation_aborted.
    if (!run_until([&] { return !op_pending_ && !reading_; }, deadline)) {
        shut_down_socket(false);
        return std::nullopt;
    }
    ended_ = true;
    if (op_error_ && !close_info_.got_close_frame) {
        close_info_.error = op_error_.message();
        return std::nullopt;
    }
    if (!close_info_.got_close_frame) {
        close_info_.got_close_frame = true;
        close_info_.code = static_cast<std::uint16_t>(ws_.reason().code);
        close_info_.reason = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
    }
    return close_info_.code;
}

template <class NextLayer>
void BasicWsClient<NextLayer>::drop(bool reset)
{
    shut_down_socket(reset);
    ended_ = true;
}

template <class NextLayer>
std::string BasicWsClient<NextLayer>::join(std::string_view room_id,
                                           std::optional<std::string_view> name, Duration timeout)
{
    send_json(join_request(room_id, name));
    return joined_client_id(next_json(timeout), room_id);
}

// The two streams the tests speak WebSocket over: ws:// and wss://.
template class BasicWsClient<beast::tcp_stream>;
template class BasicWsClient<beast::ssl_stream<beast::tcp_stream>>;

} // namespace signald::test
