#include "ws_client.hpp"

#include "ws_frame.hpp"
#include "ws_handshake.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <random>

namespace bench {
namespace net = boost::asio;
using boost::system::error_code;

namespace {

// Reads start small so 15,000 idle connections cost little, and double while a read fills the
// buffer, up to 64 KiB: a busy connection then takes hundreds of messages per system call.
constexpr std::size_t first_read_bytes = 2048;
constexpr std::size_t max_read_bytes = 64 * 1024;
// An upgrade reply larger than this is not one we can use.
constexpr std::size_t max_upgrade_reply_bytes = 16 * 1024;
// Far above any message signald allows (256 KiB by default): a larger length is a broken stream.
constexpr std::uint64_t max_frame_bytes = 64 * 1024 * 1024;
// How long close() waits for the server's close reply and end of stream.
constexpr std::chrono::seconds close_wait{1};

// One client context for every connection: no certificate verification (the bench's server
// certificate is a throwaway self-signed one), and no session cache, so every connection in the
// handshake scenario pays a full handshake, as a new visitor would.
net::ssl::context& tls_context()
{
    static net::ssl::context context = [] {
        net::ssl::context c(net::ssl::context::tls_client);
        c.set_verify_mode(net::ssl::verify_none);
        return c;
    }();
    return context;
}

} // namespace

WsClient::WsClient(net::io_context& io, WsClientEvents& events, std::size_t index)
    : socket_(io), close_timer_(io), events_(events), index_(index), read_chunk_(first_read_bytes)
{}

void WsClient::start(const WsTarget& target, const net::ip::address* source, std::uint64_t key_seed)
{
    error_code ec;
    socket_.open(target.server.protocol(), ec);
    if (!ec && source != nullptr) {
        // Choose the port at connect(), not bind(): bind() would have to pick a port unique for
        // the source address alone, and churn's TIME_WAIT sockets would use them all up.
        const int on = 1;
        ::setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
        socket_.bind(net::ip::tcp::endpoint(*source, 0), ec);
    }
    if (ec)
        return fail("cannot open a socket: " + ec.message());

    std::mt19937_64 random(key_seed);
    const std::string key = make_ws_key(random);
    expected_accept_ = ws_accept_for(key);
    pending_ = make_upgrade_request(target, key);
    if (target.tls) {
        tls_ = std::make_unique<TlsStream>(socket_, tls_context());
        error_code not_an_address;
        net::ip::make_address(target.host, not_an_address);
        if (not_an_address)
            tls_server_name_ = target.host;
        if (offered_session_ != nullptr)
            SSL_set_session(tls_->native_handle(), offered_session_);
        offered_session_ = nullptr;
    }

    socket_.async_connect(
        target.server, [self = shared_from_this()](const error_code& e) { self->on_connect(e); });
}

void WsClient::on_connect(const error_code& ec)
{
    if (state_ == State::closed)
        return;
    if (ec)
        return fail("connect failed: " + ec.message());
    // Frames are already batched per round; Nagle would only hold the last one back.
    socket_.set_option(net::ip::tcp::no_delay(true));
    if (!tls_)
        return begin_upgrade();
    state_ = State::tls_handshake;
    if (!tls_server_name_.empty())
        SSL_set_tlsext_host_name(tls_->native_handle(), tls_server_name_.c_str());
    tls_->async_handshake(
        net::ssl::stream_base::client,
        [self = shared_from_this()](const error_code& e) { self->on_tls_handshake(e); });
}

std::shared_ptr<SSL_SESSION> WsClient::tls_session() const
{
    if (!tls_)
        return nullptr;
    // A copy: OpenSSL marks a connection's own session not resumable when the connection ends
    // without a close_notify sent, as ours do.
    SSL_SESSION* own = SSL_get1_session(tls_->native_handle());
    SSL_SESSION* copy = own != nullptr ? SSL_SESSION_dup(own) : nullptr;
    SSL_SESSION_free(own);
    if (copy == nullptr)
        return nullptr;
    return std::shared_ptr<SSL_SESSION>(copy, SSL_SESSION_free);
}

bool WsClient::tls_resumed() const
{
    return tls_ && SSL_session_reused(tls_->native_handle()) == 1;
}

void WsClient::on_tls_handshake(const error_code& ec)
{
    if (state_ == State::closed)
        return;
    if (ec)
        return fail("TLS handshake failed: " + ec.message());
    begin_upgrade();
}

void WsClient::begin_upgrade()
{
    state_ = State::upgrading;
    flush();
    do_read();
}

void WsClient::send_text(std::string_view payload)
{
    append_client_frame(pending_, WsOpcode::text, payload);
    flush_soon();
}

void WsClient::flush_soon()
{
    if (flush_posted_ || writing_)
        return;
    // Everything appended before the posted flush runs goes out in the same write.
    flush_posted_ = true;
    net::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        self->flush();
    });
}

void WsClient::flush()
{
    if (writing_ || pending_.empty() || state_ == State::closed)
        return;
    writing_ = true;
    in_flight_.swap(pending_);
    with_stream([this](auto& stream) {
        net::async_write(
            stream, net::buffer(in_flight_),
            [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_write(ec); });
    });
}

void WsClient::on_write(const error_code& ec)
{
    writing_ = false;
    in_flight_.clear(); // keeps its capacity: no allocation on the next swap
    if (state_ == State::closed)
        return;
    if (ec)
        return fail("write failed: " + ec.message());
    if (state_ == State::closing && pending_.empty() && !tls_) {
        // The close frame is out; the server answers with its own and ends the stream. (Under
        // TLS a TCP half-close would cut the TLS stream short: the server ends it instead.)
        error_code ignored;
        socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
    }
    flush();
}

void WsClient::do_read()
{
    if (in_begin_ == in_end_)
        in_begin_ = in_end_ = 0;
    if (in_.size() - in_end_ < read_chunk_) {
        if (in_begin_ > 0) {
            std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
            in_end_ -= in_begin_;
            in_begin_ = 0;
        }
        if (in_.size() - in_end_ < read_chunk_)
            in_.resize(in_end_ + read_chunk_);
    }
    with_stream([this](auto& stream) {
        stream.async_read_some(net::buffer(in_.data() + in_end_, in_.size() - in_end_),
                               [self = shared_from_this()](const error_code& ec, std::size_t n) {
                                   self->on_read(ec, n);
                               });
    });
}

void WsClient::on_read(const error_code& ec, std::size_t bytes)
{
    if (state_ == State::closed)
        return;
    if (ec) {
        if (state_ == State::closing)
            return finish_close(close_received_); // end of stream after our close frame: done
        return fail(ec == net::error::eof ? "server closed the connection without a close frame"
                                          : "read failed: " + ec.message());
    }
    if (bytes == in_.size() - in_end_ && read_chunk_ < max_read_bytes)
        read_chunk_ *= 2;
    in_end_ += bytes;
    read_time_ = Clock::now();

    if (state_ == State::upgrading && !parse_upgrade())
        return;
    if (state_ != State::upgrading && !parse_frames())
        return;
    do_read();
}

bool WsClient::parse_upgrade()
{
    const std::string_view received(in_.data() + in_begin_, in_end_ - in_begin_);
    const auto head_end = received.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
        if (received.size() > max_upgrade_reply_bytes)
            fail("upgrade reply too long");
        return state_ != State::closed;
    }
    if (const char* why =
            check_upgrade_response(received.substr(0, head_end + 4), expected_accept_)) {
        fail(why);
        return false;
    }
    in_begin_ += head_end + 4;
    state_ = State::open;
    events_.on_open(*this);
    return state_ != State::closed;
}

// Delivers every complete frame in the buffer. Returns false once the client is closed.
bool WsClient::parse_frames()
{
    while (in_begin_ < in_end_) {
        auto* base = reinterpret_cast<unsigned char*>(in_.data() + in_begin_);
        FrameHeader header;
        if (!parse_frame_header(base, in_end_ - in_begin_, header))
            break;
        if (header.masked) {
            fail("server sent a masked frame");
            return false;
        }
        if (header.reserved_bits != 0) {
            fail("server set a reserved bit");
            return false;
        }
        if (header.payload_bytes > max_frame_bytes) {
            fail("server frame longer than 64 MiB");
            return false;
        }
        const std::size_t available = in_end_ - in_begin_ - header.header_bytes;
        if (header.payload_bytes > available) {
            // Make room for the whole frame on the next read.
            const auto frame_bytes = header.header_bytes + header.payload_bytes;
            if (frame_bytes > read_chunk_)
                read_chunk_ = static_cast<std::size_t>(frame_bytes);
            break;
        }
        std::span<char> payload(in_.data() + in_begin_ + header.header_bytes,
                                static_cast<std::size_t>(header.payload_bytes));
        in_begin_ += header.header_bytes + payload.size();

        const auto opcode = header.opcode;
        if (opcode >= 0x8) {
            if (!on_control(opcode, payload))
                return false;
            continue;
        }
        if (opcode == static_cast<std::uint8_t>(WsOpcode::text) && !in_fragmented_) {
            if (header.fin) {
                if (state_ == State::open)
                    events_.on_text(*this, payload);
            } else {
                in_fragmented_ = true;
                fragments_.assign(payload.data(), payload.size());
            }
        } else if (opcode == static_cast<std::uint8_t>(WsOpcode::continuation) && in_fragmented_) {
            fragments_.append(payload.data(), payload.size());
            if (header.fin) {
                in_fragmented_ = false;
                if (state_ == State::open)
                    events_.on_text(*this, std::span<char>(fragments_.data(), fragments_.size()));
            }
        } else {
            fail(opcode == static_cast<std::uint8_t>(WsOpcode::binary)
                     ? "server sent a binary frame"
                     : "server sent an unexpected data frame opcode");
            return false;
        }
        if (state_ == State::closed)
            return false;
    }
    return state_ != State::closed;
}

bool WsClient::on_control(std::uint8_t opcode, std::span<char> payload)
{
    switch (static_cast<WsOpcode>(opcode)) {
    case WsOpcode::ping:
        append_client_frame(pending_, WsOpcode::pong,
                            std::string_view(payload.data(), payload.size()));
        flush_soon();
        return true;
    case WsOpcode::pong:
        return true;
    case WsOpcode::close: {
        if (state_ == State::closing) {
            close_received_ = true;
            return true; // the reply to ours; the end of stream follows
        }
        unsigned code = 0;
        if (payload.size() >= 2)
            code = (static_cast<unsigned char>(payload[0]) << 8) |
                   static_cast<unsigned char>(payload[1]);
        fail("server closed the WebSocket with code " + std::to_string(code));
        return false;
    }
    default:
        fail("server sent an unknown control opcode");
        return false;
    }
}

void WsClient::close()
{
    if (state_ == State::closed || state_ == State::closing)
        return;
    if (state_ != State::open)
        return abort();
    state_ = State::closing;
    static constexpr char normal_closure[2] = {0x03, static_cast<char>(0xE8)}; // 1000
    append_client_frame(pending_, WsOpcode::close, std::string_view(normal_closure, 2));
    flush();
    close_timer_.expires_after(close_wait);
    close_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
        if (!ec)
            self->finish_close(false);
    });
}

void WsClient::finish_close(bool clean)
{
    if (state_ != State::closing)
        return;
    abort();
    events_.on_closed(*this, clean);
}

void WsClient::abort()
{
    if (state_ == State::closed)
        return;
    state_ = State::closed;
    close_timer_.cancel();
    error_code ignored;
    socket_.close(ignored);
}

void WsClient::fail(std::string_view why)
{
    if (state_ == State::closed)
        return;
    abort();
    events_.on_failed(*this, why);
}

} // namespace bench
