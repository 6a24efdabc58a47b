#include "signald/cluster/redis_connection.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>

namespace signald {
namespace {

// 2 s: Redis on the same network answers a connect in milliseconds; a SYN into the void should
// not hold the node's view of Redis for the kernel's two minutes.
constexpr std::chrono::milliseconds connect_timeout{2000};
// 100 ms to 2 s: back quickly after a blip, without hammering a Redis that is restarting.
constexpr std::chrono::milliseconds first_backoff{100};
constexpr std::chrono::milliseconds max_backoff{2000};

RedisReply copy_reply(const redisReply* reply)
{
    RedisReply copy;
    if (reply == nullptr)
        return copy; // disconnected
    switch (reply->type) {
    case REDIS_REPLY_STRING:
        copy.kind = RedisReply::Kind::string;
        break;
    case REDIS_REPLY_STATUS:
        copy.kind = RedisReply::Kind::status;
        break;
    case REDIS_REPLY_ERROR:
        copy.kind = RedisReply::Kind::error;
        break;
    case REDIS_REPLY_INTEGER:
        copy.kind = RedisReply::Kind::integer;
        copy.integer = reply->integer;
        return copy;
    case REDIS_REPLY_ARRAY:
        copy.kind = RedisReply::Kind::array;
        copy.elements.reserve(reply->elements);
        for (std::size_t i = 0; i < reply->elements; ++i)
            copy.elements.push_back(copy_reply(reply->element[i]));
        return copy;
    default:
        copy.kind = RedisReply::Kind::nil;
        return copy;
    }
    copy.text.assign(reply->str, reply->len);
    return copy;
}

// Every command's callback travels through hiredis as its privdata.
void on_reply(redisAsyncContext* /*context*/, void* reply, void* privdata)
{
    const std::unique_ptr<RedisConnection::Callback> callback(
        static_cast<RedisConnection::Callback*>(privdata));
    if (*callback)
        (*callback)(copy_reply(static_cast<redisReply*>(reply)));
}

} // namespace

// hiredis asks through five hooks to watch its descriptor for reading or writing, and to stop.
// The descriptor is hiredis's: the stream_descriptor only waits on it and is released, never
// closed, at cleanup. Pending waits hold the adapter, so a wait that completes after hiredis freed
// its context finds context == nullptr and does nothing.
struct RedisConnection::Adapter
{
    explicit Adapter(net::io_context& ioc, int fd) : socket(ioc, fd) {}

    net::posix::stream_descriptor socket;
    redisAsyncContext* context = nullptr;
    std::weak_ptr<Adapter> self;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;
    bool writing = false;

    static Adapter& of(void* privdata) { return *static_cast<Adapter*>(privdata); }

    void arm(bool for_read)
    {
        bool& waiting = for_read ? reading : writing;
        if (waiting || context == nullptr)
            return;
        waiting = true;
        const auto kind = for_read ? net::posix::descriptor_base::wait_read
                                   : net::posix::descriptor_base::wait_write;
        socket.async_wait(kind, [keep = self.lock(), for_read](const error_code& ec) {
            Adapter& adapter = *keep;
            (for_read ? adapter.reading : adapter.writing) = false;
            if (ec || adapter.context == nullptr)
                return;
            if (for_read ? adapter.want_read : adapter.want_write) {
                if (for_read)
                    redisAsyncHandleRead(adapter.context); // may free the context
                else
                    redisAsyncHandleWrite(adapter.context);
            }
            if (adapter.context != nullptr && (for_read ? adapter.want_read : adapter.want_write))
                adapter.arm(for_read);
        });
    }

    static void add_read(void* privdata)
    {
        of(privdata).want_read = true;
        of(privdata).arm(true);
    }
    static void del_read(void* privdata) { of(privdata).want_read = false; }
    static void add_write(void* privdata)
    {
        of(privdata).want_write = true;
        of(privdata).arm(false);
    }
    static void del_write(void* privdata) { of(privdata).want_write = false; }
    static void cleanup(void* privdata)
    {
        Adapter& adapter = of(privdata);
        adapter.context = nullptr;
        adapter.want_read = adapter.want_write = false;
        error_code ignored;
        adapter.socket.cancel(ignored);
        (void)adapter.socket.release(); // hiredis closes the descriptor itself
    }
};

RedisConnection::RedisConnection(net::io_context& ioc, RedisEndpoint endpoint, std::string name,
                                 Hooks hooks)
    : ioc_(ioc), endpoint_(std::move(endpoint)), name_(std::move(name)), hooks_(std::move(hooks)),
      timer_(ioc), backoff_(first_backoff)
{
    // hiredis writes with write(2), not send(2) with MSG_NOSIGNAL as Asio does: a command on its
    // way to a Redis that has just died would end the whole process with SIGPIPE. Ignored, the
    // write fails with EPIPE, and hiredis reports a lost connection. Process-wide, but nothing in
    // a process that talks to Redis wants to die of a broken pipe (blocking the signal around
    // each write instead would cost two system calls per batch).
    std::signal(SIGPIPE, SIG_IGN);
}

RedisConnection::~RedisConnection()
{
    stop();
}

void RedisConnection::start()
{
    if (!stopped_)
        return;
    stopped_ = false;
    connect();
}

void RedisConnection::stop()
{
    stopped_ = true;
    ready_ = false;
    timer_.cancel();
    if (context_ == nullptr)
        return;
    redisAsyncContext* context = context_;
    context_ = nullptr;
    context->data = nullptr; // its callbacks no longer reach this object
    if ((context->c.flags & REDIS_IN_CALLBACK) != 0)
        redisAsyncDisconnect(context); // hiredis frees it once the callback returns
    else
        redisAsyncFree(context); // pending callbacks run now, with `disconnected`
}

void RedisConnection::connect()
{
    redisAsyncContext* context = endpoint_.is_unix()
                                     ? redisAsyncConnectUnix(endpoint_.unix_path.c_str())
                                     : redisAsyncConnect(endpoint_.host.c_str(), endpoint_.port);
    if (context == nullptr) {
        schedule_reconnect("out of memory");
        return;
    }
    if (context->err != 0) {
        const std::string why = context->errstr;
        redisAsyncFree(context);
        schedule_reconnect(why);
        return;
    }
    context_ = context;
    context->data = this;
    adapter_ = std::make_shared<Adapter>(ioc_, context->c.fd);
    adapter_->self = adapter_;
    adapter_->context = context;
    context->ev.data = adapter_.get();
    context->ev.addRead = &Adapter::add_read;
    context->ev.delRead = &Adapter::del_read;
    context->ev.addWrite = &Adapter::add_write;
    context->ev.delWrite = &Adapter::del_write;
    context->ev.cleanup = &Adapter::cleanup;
    // hiredis learns that the connection is up from the first write event; this arms it.
    redisAsyncSetConnectCallback(context, [](const redisAsyncContext* c, int status) {
        if (c->data != nullptr)
            static_cast<RedisConnection*>(c->data)->on_connected(status);
    });
    redisAsyncSetDisconnectCallback(context, [](const redisAsyncContext* c, int status) {
        if (c->data != nullptr)
            static_cast<RedisConnection*>(c->data)->on_disconnected(status);
    });

    timer_.expires_after(connect_timeout);
    timer_.async_wait([this, context](const error_code& ec) {
        if (ec || context_ != context || ready_)
            return;
        // Still connecting (or authenticating): give up on this attempt.
        context_ = nullptr;
        context->data = nullptr;
        redisAsyncFree(context);
        schedule_reconnect("no answer within " + std::to_string(connect_timeout.count()) + " ms");
    });
}

void RedisConnection::on_connected(int status)
{
    if (status != REDIS_OK) {
        const std::string why = context_ != nullptr ? context_->errstr : "connect failed";
        context_ = nullptr; // hiredis frees it when this returns
        schedule_reconnect(why);
        return;
    }
    // AUTH, then SELECT, pipelined; the last reply makes the connection ready.
    std::vector<std::vector<std::string>> steps;
    if (!endpoint_.password.empty())
        steps.push_back({"AUTH", endpoint_.password});
    if (endpoint_.db != 0)
        steps.push_back({"SELECT", std::to_string(endpoint_.db)});
    if (steps.empty()) {
        become_ready();
        return;
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const std::string& arg : steps[i]) {
            argv.push_back(arg.data());
            lengths.push_back(arg.size());
        }
        const bool last = i + 1 == steps.size();
        auto* callback = new Callback(
            [this, last](RedisReply&& reply) { on_handshake(std::move(reply), last); });
        redisAsyncCommandArgv(context_, &on_reply, callback, static_cast<int>(argv.size()),
                              argv.data(), lengths.data());
    }
}

void RedisConnection::on_handshake(RedisReply&& reply, bool last)
{
    if (stopped_ || context_ == nullptr)
        return;
    if (!reply.ok()) {
        // A wrong password or database is a configuration error: say so, and keep trying (the
        // operator may be fixing Redis rather than signald).
        const std::string why = reply.kind == RedisReply::Kind::error ? reply.text : "no answer";
        redisAsyncContext* context = context_;
        context_ = nullptr;
        context->data = nullptr;
        redisAsyncDisconnect(context);
        schedule_reconnect(why);
        return;
    }
    if (last)
        become_ready();
}

void RedisConnection::become_ready()
{
    timer_.cancel();
    ready_ = true;
    backoff_ = first_backoff;
    last_failure_.clear();
    if (was_ready_)
        ++reconnects_;
    spdlog::info("redis {}: connected to {}{}", name_, endpoint_.redacted(),
                 was_ready_ ? " again" : "");
    was_ready_ = true;
    if (hooks_.ready)
        hooks_.ready();
}

void RedisConnection::on_disconnected(int status)
{
    context_ = nullptr; // hiredis frees it when this returns
    ready_ = false;
    if (!stopped_)
        schedule_reconnect(status == REDIS_OK ? "closed by Redis" : "connection lost");
}

void RedisConnection::schedule_reconnect(const std::string& why)
{
    ready_ = false;
    if (why != last_failure_) {
        spdlog::warn("redis {}: {} ({}); retrying", name_, why, endpoint_.redacted());
        last_failure_ = why;
    }
    if (hooks_.lost)
        hooks_.lost(why);
    if (stopped_)
        return;
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, max_backoff);
    timer_.async_wait([this](const error_code& ec) {
        if (!ec && !stopped_)
            connect();
    });
}

void RedisConnection::command(std::span<const std::string_view> args, Callback callback)
{
    if (!ready_ || context_ == nullptr) {
        net::post(ioc_, [callback = std::move(callback)]() mutable {
            if (callback)
                callback(RedisReply{});
        });
        return;
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const std::string_view arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    auto* owned = new Callback(std::move(callback));
    if (redisAsyncCommandArgv(context_, &on_reply, owned, static_cast<int>(argv.size()),
                              argv.data(), lengths.data()) != REDIS_OK) {
        // Disconnecting: hiredis refused it and will not call back.
        std::unique_ptr<Callback> refused(owned);
        net::post(ioc_, [callback = std::move(*refused)]() mutable {
            if (callback)
                callback(RedisReply{});
        });
    }
}

} // namespace signald
