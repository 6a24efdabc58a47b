#pragma once
// RedisConnection: one connection to Redis through hiredis's async API, driven by the server's own
// io_context (no thread, no second event loop). It connects, authenticates and selects the
// database, then runs commands; when the connection breaks it fails every pending command at once
// and reconnects with a growing delay, telling its owner each time it is ready again, so that
// whoever subscribed or was reading a stream can start over instead of silently losing messages
// (socket.io #4845).
//
// Why hiredis: it is Debian's maintained C client (libhiredis-dev), its parser is fuzzed upstream,
// and its async API is made for a foreign event loop: five hooks say when it wants to read or
// write. Debian 12 ships 0.14, which has no Asio adapter and no connect timeout; this file is the
// adapter (a posix::stream_descriptor that never owns the descriptor) and the timeout.

#include "signald/cluster/redis_endpoint.hpp"
#include "signald/net/beast.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct redisAsyncContext;

namespace signald {

// A reply copied out of hiredis's tree, so it outlives the callback. `disconnected` stands for
// the reply that never came: the connection broke (or was never up) before it.
struct RedisReply
{
    enum class Kind : std::uint8_t
    {
        nil,
        status,
        error,
        integer,
        string,
        array,
        disconnected,
    };
    Kind kind = Kind::disconnected;
    std::string text; // status, error and string
    long long integer = 0;
    std::vector<RedisReply> elements;

    bool ok() const { return kind != Kind::error && kind != Kind::disconnected; }
};

class RedisConnection
{
public:
    using Callback = std::function<void(RedisReply&&)>;

    struct Hooks
    {
        // Connected, authenticated and on the right database: commands may go.
        std::function<void()> ready;
        // The connection broke, or a connection attempt failed; says why in one line.
        std::function<void(const std::string& why)> lost;
    };

    // name says which of the node's connections this is, in logs ("commands", "bus").
    RedisConnection(net::io_context& ioc, RedisEndpoint endpoint, std::string name, Hooks hooks);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // Starts connecting; reconnects on its own until stop().
    void start();
    // Disconnects for good; pending callbacks get `disconnected`.
    void stop();

    bool ready() const { return ready_; }
    // Sends one command (arguments are binary-safe). When not ready the callback runs at once
    // (posted, never inside this call) with `disconnected`. Callbacks run in command order.
    void command(std::span<const std::string_view> args, Callback callback);
    void command(std::initializer_list<std::string_view> args, Callback callback)
    {
        command(std::span<const std::string_view>(args.begin(), args.size()), std::move(callback));
    }

    // How many times the connection came back after it had been ready once.
    std::uint64_t reconnects() const { return reconnects_; }
    const std::string& name() const { return name_; }

private:
    struct Adapter; // the hiredis event hooks' state; outlives the context by a shared_ptr

    void connect();
    void on_connected(int status);
    void on_disconnected(int status);
    void on_handshake(RedisReply&& reply, bool last);
    void schedule_reconnect(const std::string& why);
    void become_ready();

    net::io_context& ioc_;
    RedisEndpoint endpoint_;
    std::string name_;
    Hooks hooks_;
    redisAsyncContext* context_ = nullptr;
    std::shared_ptr<Adapter> adapter_;
    net::steady_timer timer_; // connect timeout, then the reconnect delay
    std::chrono::milliseconds backoff_;
    std::uint64_t reconnects_ = 0;
    bool was_ready_ = false;
    bool ready_ = false;
    bool stopped_ = true;
    std::string last_failure_; // logged once per kind of failure, not once per attempt
};

} // namespace signald
