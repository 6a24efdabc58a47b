#pragma once
// WsConnectionHarness: a WsConnection with a fake host and a fake socket around it, for
// ws_connection_test and fuzz_ws_connection. The host records what the hub would hear; the I/O
// side behaves like WsPlainSession (or WsTlsSession with tls = true) over a kernel that takes
// as many bytes as the test allows, and keeps every byte "sent" in wire. Header-only, no Boost.

#include "signald/net/ws_connection.hpp"
#include "signald/net/ws_frames.hpp"
#include "signald/net/ws_host.hpp"

#include <cstdlib>
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace signald::harness {

// One masked client frame, as a browser sends it.
inline std::string client_frame(WsOpcode opcode, std::string_view payload, bool fin = true)
{
    std::string out;
    out += static_cast<char>((fin ? 0x80 : 0) | static_cast<int>(opcode));
    const std::size_t size = payload.size();
    if (size < 126) {
        out += static_cast<char>(0x80 | size);
    } else if (size <= 0xFFFF) {
        out += static_cast<char>(0x80 | 126);
        out += static_cast<char>(size >> 8);
        out += static_cast<char>(size & 0xFF);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i)
            out += static_cast<char>((static_cast<std::uint64_t>(size) >> (8 * i)) & 0xFF);
    }
    const char key[4] = {0x12, 0x34, 0x56, 0x78};
    out.append(key, 4);
    for (std::size_t i = 0; i < size; ++i)
        out += static_cast<char>(payload[i] ^ key[i % 4]);
    return out;
}

inline std::string close_payload(std::uint16_t code)
{
    return {static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

struct ServerFrame
{
    WsOpcode opcode;
    std::string payload;
    // The code of a close frame, 0 for others.
    std::uint16_t code() const
    {
        if (opcode != WsOpcode::close || payload.size() < 2)
            return 0;
        return static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                          static_cast<unsigned char>(payload[1]));
    }
};

// Decodes the whole unmasked server frames at the front of wire into out; returns the bytes they
// take, or nullopt if a frame is malformed. What follows them is an unfinished frame.
inline std::optional<std::size_t> decode_whole_frames(std::string_view wire,
                                                      std::vector<ServerFrame>& out)
{
    std::size_t at = 0;
    while (wire.size() - at >= 2) {
        const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(wire[at + i]); };
        if ((byte(0) & 0xF0) != 0x80 || (byte(1) & 0x80) != 0)
            return std::nullopt; // always FIN, no RSV, never masked
        std::size_t size = byte(1) & 0x7F;
        std::size_t header = 2;
        if (size == 126) {
            if (wire.size() - at < 4)
                break;
            size = (std::size_t{byte(2)} << 8) | byte(3);
            header = 4;
        } else if (size == 127) {
            if (wire.size() - at < 10)
                break;
            size = 0;
            for (std::size_t i = 0; i < 8; ++i)
                size = (size << 8) | byte(2 + i);
            header = 10;
        }
        if (wire.size() - at - header < size)
            break;
        out.push_back(
            {static_cast<WsOpcode>(byte(0) & 0x0F), std::string(wire.substr(at + header, size))});
        at += header + size;
    }
    return at;
}

// All of wire as whole frames; nullopt if it is not exactly that.
inline std::optional<std::vector<ServerFrame>> decode_server_frames(std::string_view wire)
{
    std::vector<ServerFrame> frames;
    const auto used = decode_whole_frames(wire, frames);
    if (!used || *used != wire.size())
        return std::nullopt;
    return frames;
}

class WsConnectionHarness final : public WsHost, public WsConnection::Io
{
public:
    using Clock = WsConnection::Clock;

    explicit WsConnectionHarness(WsLimits limits, bool tls = false)
        : limits_(limits), tls_(tls),
          connection_(std::make_unique<WsConnection>(*this, *this, "127.0.0.1:5000", tls))
    {}

    WsConnection& connection() { return *connection_; }
    Clock::time_point now() const { return now_; }
    void advance(std::chrono::milliseconds by) { now_ += by; }

    void start() { connection_->start("c1", now_); }
    // The peer's bytes, as one read.
    void read(std::string bytes)
    {
        if (connection_->lingering())
            return; // read only to be thrown away
        connection_->receive(bytes, now_);
    }
    void tick() { connection_->tick(now_); }

    // The event loop runs what was posted: the batch's flush, then a slow consumer's detach.
    void run_posted()
    {
        if (flush_posted_) {
            flush_posted_ = false;
            if (!connection_->writing())
                write_now();
        }
        if (detach_posted_) {
            detach_posted_ = false;
            connection_->slow_consumer_detach();
        }
    }
    // The peer read some: the kernel takes up to bytes more. Over TLS it also ends the write in
    // flight, if any.
    void kernel_room(std::size_t bytes)
    {
        room_ = bytes;
        if (connection_->writing()) {
            connection_->write_done();
            write_now();
        }
    }
    void fire_close_deadline()
    {
        if (deadline_armed_ && !deadline_cancelled_) {
            deadline_cancelled_ = true; // a timer fires once
            connection_->close_deadline_passed();
        }
    }

    // --- What happened ---
    std::vector<std::string> texts; // what the hub heard
    int attaches = 0;
    int detaches = 0;
    std::vector<ConnectionEnd> ends; // how each detach said the connection ended
    std::vector<std::uint64_t> acks; // texts acknowledged by pongs
    std::vector<std::string> refusals;
    NetStats stats;
    std::string wire; // every byte the kernel took
    int shut_downs = 0;
    int cuts = 0;
    int deadline_arms = 0; // timers actually started
    int write_nows = 0;
    // Runs inside on_text, as the hub would (it may send or close from there).
    std::function<void(std::string_view)> on_text_hook;

    std::uint64_t closes_counted() const
    {
        std::uint64_t sum = 0;
        for (const auto& entry : stats.closes())
            sum += entry.second;
        return sum;
    }
    bool deadline_armed() const { return deadline_armed_; }
    bool flush_posted() const { return flush_posted_; }
    bool detach_posted() const { return detach_posted_; }

    // --- WsHost ---
    const WsLimits& ws_limits() const override { return limits_; }
    std::span<char> read_buffer() override { return {}; }
    // Only sessions register sockets; WsConnection never asks.
    SocketReactor& reactor() override { std::abort(); }
    ClientId attach(std::weak_ptr<Connection>) override
    {
        ++attaches;
        return "c1";
    }
    void on_text(const ClientId&, std::string_view text) override
    {
        texts.emplace_back(text);
        if (on_text_hook)
            on_text_hook(text);
    }
    void detach(const ClientId&, ConnectionEnd end) override
    {
        ++detaches;
        ends.push_back(end);
    }
    void acknowledged(const ClientId&, std::uint64_t count) override { acks.push_back(count); }
    void count_refusal(std::string_view reason, std::string_view, std::string_view) override
    {
        refusals.emplace_back(reason);
    }
    NetStats& net_stats() override { return stats; }

    // --- WsConnection::Io ---
    void write_soon() override
    {
        if (connection_->writing() || flush_posted_)
            return;
        flush_posted_ = true;
    }
    void write_now() override
    {
        ++write_nows;
        if (shut_ || cut_)
            return; // a real socket fails the write, or it is never attempted
        if (tls_)
            return write_tls();
        const std::string_view unsent = connection_->unsent();
        const std::size_t taken = std::min(room_, unsent.size());
        wire.append(unsent.substr(0, taken));
        room_ -= taken;
        connection_->written(taken);
        if (!connection_->unsent().empty()) {
            connection_->write_pending(0);
            return;
        }
        connection_->drained();
    }
    void shut_down() override
    {
        ++shut_downs;
        shut_ = true;
    }
    void cut() override
    {
        ++cuts;
        cut_ = true;
        deadline_cancelled_ = true;
    }
    void arm_close_deadline() override
    {
        if (deadline_armed_)
            return;
        deadline_armed_ = true;
        ++deadline_arms;
    }
    void post_detach() override { detach_posted_ = true; }

private:
    // One write at a time, of a copy of everything queued; it ends in kernel_room().
    void write_tls()
    {
        if (connection_->writing())
            return;
        const std::string_view unsent = connection_->unsent();
        if (unsent.empty())
            return connection_->drained();
        const std::size_t size = unsent.size();
        wire.append(unsent);
        connection_->written(size);
        connection_->write_pending(size);
    }

    WsLimits limits_;
    bool tls_;
    std::unique_ptr<WsConnection> connection_;
    Clock::time_point now_{};
    std::size_t room_ = SIZE_MAX;
    bool flush_posted_ = false;
    bool detach_posted_ = false;
    bool shut_ = false;
    bool cut_ = false;
    bool deadline_armed_ = false;
    bool deadline_cancelled_ = false;
};

} // namespace signald::harness
