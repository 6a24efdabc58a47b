// RawWsClient over a plain non-blocking socket with poll(), encode_frame, and raw_member: no
// Beast here, so what the server sees is exactly what a test wrote.
#include "ws_client.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace signald::test {

namespace {

std::size_t skip_ws(std::string_view text, std::size_t pos)
{
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
        ++pos;
    return pos;
}

// Position just past the string literal starting at text[pos], or npos.
std::size_t skip_string(std::string_view text, std::size_t pos)
{
    for (++pos; pos < text.size(); ++pos) {
        if (text[pos] == '\\')
            ++pos;
        else if (text[pos] == '"')
            return pos + 1;
    }
    return std::string_view::npos;
}

// Position just past the value starting at text[pos], or npos. Trusts the text to be JSON; it
// only has to find where the value ends.
std::size_t skip_value(std::string_view text, std::size_t pos)
{
    if (pos >= text.size())
        return std::string_view::npos;
    if (text[pos] == '"')
        return skip_string(text, pos);
    if (text[pos] == '[' || text[pos] == '{') {
        std::size_t depth = 0;
        while (pos < text.size()) {
            const char c = text[pos];
            if (c == '"') {
                pos = skip_string(text, pos);
                if (pos == std::string_view::npos)
                    return pos;
                continue;
            }
            if (c == '[' || c == '{')
                ++depth;
            else if ((c == ']' || c == '}') && --depth == 0)
                return pos + 1;
            ++pos;
        }
        return std::string_view::npos;
    }
    while (pos < text.size() &&
           std::string_view(",}] \t\r\n").find(text[pos]) == std::string_view::npos)
        ++pos;
    return pos;
}

using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void fail_errno(const std::string& what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Waits until fd is ready for events or the deadline passes; false on timeout.
bool wait_ready(int fd, short events, SteadyClock::time_point deadline)
{
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        if (left.count() <= 0)
            return false;
        pollfd entry{fd, events, 0};
        const int n = ::poll(&entry, 1, static_cast<int>(left.count()) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_errno("poll");
        if (n > 0)
            return true;
    }
}

// Parses the complete frame at the front of bytes, removing it; nullopt if none is complete yet.
std::optional<RawWsClient::Frame> take_frame(std::string& bytes)
{
    if (bytes.size() < 2)
        return std::nullopt;
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    const bool masked = (byte(1) & 0x80U) != 0;
    std::size_t header = 2;
    std::uint64_t length = byte(1) & 0x7fU;
    if (length == 126) {
        header = 4;
        if (bytes.size() < header)
            return std::nullopt;
        length = (std::uint64_t{byte(2)} << 8) | byte(3);
    } else if (length == 127) {
        header = 10;
        if (bytes.size() < header)
            return std::nullopt;
        length = 0;
        for (std::size_t i = 2; i < 10; ++i)
            length = (length << 8) | byte(i);
    }
    if (masked)
        header += 4;
    if (bytes.size() < header || bytes.size() - header < length)
        return std::nullopt;
    RawWsClient::Frame frame;
    frame.opcode = static_cast<std::uint8_t>(byte(0) & 0x0fU);
    frame.fin = (byte(0) & 0x80U) != 0;
    frame.rsv = static_cast<std::uint8_t>((byte(0) >> 4) & 0x07U);
    frame.masked = masked;
    frame.header_size = header;
    frame.payload = bytes.substr(header, static_cast<std::size_t>(length));
    if (masked)
        for (std::size_t i = 0; i < frame.payload.size(); ++i)
            frame.payload[i] = static_cast<char>(static_cast<std::uint8_t>(frame.payload[i]) ^
                                                 byte(header - 4 + i % 4));
    bytes.erase(0, header + static_cast<std::size_t>(length));
    return frame;
}

// Parses the complete frames at the front of bytes, removing them.
void take_frames(std::string& bytes, std::vector<RawWsClient::Frame>& frames)
{
    while (auto frame = take_frame(bytes))
        frames.push_back(std::move(*frame));
}

} // namespace

std::size_t RawWsClient::Drained::count(std::uint8_t opcode) const
{
    std::size_t n = 0;
    for (const Frame& frame : frames)
        if (frame.opcode == opcode)
            ++n;
    return n;
}

RawWsClient::RawWsClient()
{
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0)
        fail_errno("socket");
}

RawWsClient::~RawWsClient()
{
    close_socket();
}

void RawWsClient::close_socket()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

void RawWsClient::reset_socket()
{
    if (fd_ < 0)
        return;
    const linger abort_on_close{1, 0};
    if (::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) != 0)
        fail_errno("setsockopt SO_LINGER");
    close_socket();
}

void RawWsClient::shut_down_sending()
{
    if (::shutdown(fd_, SHUT_WR) != 0)
        fail_errno("shutdown");
}

void RawWsClient::set_no_delay()
{
    const int on = 1;
    if (::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0)
        fail_errno("setsockopt TCP_NODELAY");
}

void RawWsClient::set_receive_buffer(int bytes)
{
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0)
        fail_errno("setsockopt SO_RCVBUF");
}

void RawWsClient::bind_local(const std::string& address)
{
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, address.c_str(), &local.sin_addr) != 1)
        throw std::invalid_argument("not an IPv4 address: " + address);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0)
        fail_errno("bind " + address);
}

unsigned RawWsClient::try_connect(std::uint16_t port, const Headers& extra, Duration timeout)
{
    return upgrade(port, extra, {}, timeout);
}

unsigned RawWsClient::try_connect_pipelined(std::uint16_t port, std::string_view pipelined,
                                            const Headers& extra, Duration timeout)
{
    return upgrade(port, extra, pipelined, timeout);
}

unsigned RawWsClient::upgrade(std::uint16_t port, const Headers& extra, std::string_view pipelined,
                              Duration timeout)
{
    const auto deadline = SteadyClock::now() + timeout;
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0) {
        if (errno != EINPROGRESS)
            fail_errno("connect");
        if (!wait_ready(fd_, POLLOUT, deadline))
            throw std::runtime_error("connect timed out");
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0) {
            errno = error;
            fail_errno("connect");
        }
    }

    std::string request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n";
    for (const auto& [name, value] : extra)
        request += name + ": " + value + "\r\n";
    send_all(request + "\r\n" + std::string(pipelined), deadline);

    std::size_t end = std::string::npos;
    while ((end = received_.find("\r\n\r\n")) == std::string::npos) {
        Drained ignored;
        if (!receive_some(deadline, &ignored))
            throw std::runtime_error("upgrade response timed out");
        if (ignored.ended)
            throw std::runtime_error("connection ended before the upgrade response: " +
                                     ignored.error);
    }
    const std::string head = received_.substr(0, end);
    received_.erase(0, end + 4);
    // "HTTP/1.1 101 Switching Protocols"
    const auto space = head.find(' ');
    if (space == std::string::npos || head.size() < space + 4)
        throw std::runtime_error("malformed upgrade response: " + head);
    return static_cast<unsigned>(std::stoul(head.substr(space + 1, 3)));
}

void RawWsClient::connect(std::uint16_t port, const Headers& extra, Duration timeout)
{
    const unsigned status = try_connect(port, extra, timeout);
    if (status != 101)
        throw std::runtime_error("raw WebSocket upgrade declined with HTTP " +
                                 std::to_string(status));
}

std::string encode_frame(std::uint8_t opcode, std::string_view payload, const FrameOptions& options)
{
    std::string frame;
    frame += static_cast<char>((options.fin ? 0x80U : 0U) | ((options.rsv & 0x07U) << 4) |
                               (opcode & 0x0fU));
    const unsigned mask_bit = options.masked ? 0x80U : 0U;
    const std::uint64_t length = options.declared_length.value_or(payload.size());
    if (length < 126) {
        frame += static_cast<char>(mask_bit | length);
    } else if (length <= 0xffff) {
        frame += static_cast<char>(mask_bit | 126U);
        frame += static_cast<char>((length >> 8) & 0xffU);
        frame += static_cast<char>(length & 0xffU);
    } else {
        frame += static_cast<char>(mask_bit | 127U);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame += static_cast<char>((length >> shift) & 0xffU);
    }
    if (!options.masked)
        return frame.append(payload);
    for (const std::uint8_t key : options.mask_key)
        frame += static_cast<char>(key);
    for (std::size_t i = 0; i < payload.size(); ++i)
        frame += static_cast<char>(static_cast<std::uint8_t>(payload[i]) ^ options.mask_key[i % 4]);
    return frame;
}

void RawWsClient::send_text(std::string_view text, Duration timeout)
{
    send_frame(opcode::text, text, {}, timeout);
}

void RawWsClient::send_frame(std::uint8_t code, std::string_view payload,
                             const FrameOptions& options, Duration timeout)
{
    send_all(encode_frame(code, payload, options), SteadyClock::now() + timeout);
}

void RawWsClient::send_bytes(std::string_view bytes, Duration timeout)
{
    send_all(bytes, SteadyClock::now() + timeout);
}

std::optional<RawWsClient::Frame> RawWsClient::next_frame(Duration timeout)
{
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
        if (auto frame = take_frame(received_))
            return frame;
        if (ended_)
            return std::nullopt;
        Drained ignored;
        if (!receive_some(deadline, &ignored))
            return std::nullopt;
    }
}

RawWsClient::Drained RawWsClient::drain(Duration timeout)
{
    const auto deadline = SteadyClock::now() + timeout;
    Drained drained;
    take_frames(received_, drained.frames);
    while (!drained.ended && receive_some(deadline, &drained))
        take_frames(received_, drained.frames);
    return drained;
}

void RawWsClient::send_all(std::string_view bytes, SteadyClock::time_point deadline)
{
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            fail_errno("send");
        if (!wait_ready(fd_, POLLOUT, deadline))
            throw std::runtime_error("raw WebSocket send timed out");
    }
}

bool RawWsClient::receive_some(SteadyClock::time_point deadline, Drained* drained)
{
    for (;;) {
        char chunk[16384];
        const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            received_.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0) {
            drained->ended = ended_ = true;
            return true;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            drained->ended = ended_ = true;
            drained->error = end_error_ = std::strerror(errno);
            return true;
        }
        if (!wait_ready(fd_, POLLIN, deadline))
            return false;
    }
}

std::optional<std::string_view> raw_member(std::string_view text, std::string_view key)
{
    constexpr auto npos = std::string_view::npos;
    std::optional<std::string_view> found;
    std::size_t pos = skip_ws(text, 0);
    if (pos >= text.size() || text[pos] != '{')
        return std::nullopt;
    pos = skip_ws(text, pos + 1);
    if (pos < text.size() && text[pos] == '}')
        return std::nullopt;
    while (pos < text.size()) {
        if (text[pos] != '"')
            return std::nullopt;
        const std::size_t key_end = skip_string(text, pos);
        if (key_end == npos)
            return std::nullopt;
        const auto this_key = text.substr(pos + 1, key_end - pos - 2);
        pos = skip_ws(text, key_end);
        if (pos >= text.size() || text[pos] != ':')
            return std::nullopt;
        pos = skip_ws(text, pos + 1);
        const std::size_t value_end = skip_value(text, pos);
        if (value_end == npos)
            return std::nullopt;
        if (this_key == key)
            found = text.substr(pos, value_end - pos);
        pos = skip_ws(text, value_end);
        if (pos < text.size() && text[pos] == ',')
            pos = skip_ws(text, pos + 1);
        else
            break;
    }
    return found;
}

} // namespace signald::test
