// RedisConnection against a real redis-server: replies are copied whole, commands fail fast and
// never silently while Redis is away, the connection comes back on its own and says so, and AUTH
// and SELECT happen before anything else.

#include "redis_process.hpp"
#include "run_until.hpp"

#include "signald/cluster/redis_connection.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace signald::test {
namespace {

RedisEndpoint endpoint_of(const RedisProcess& redis, std::string password = {},
                          std::uint32_t db = 0)
{
    RedisEndpoint endpoint;
    endpoint.unix_path = redis.socket().string();
    endpoint.password = std::move(password);
    endpoint.db = db;
    return endpoint;
}

class RedisConnectionTest : public ::testing::Test
{
protected:
    // Connects to redis with its own io_context, counting the hooks.
    std::unique_ptr<RedisConnection> open(RedisEndpoint endpoint)
    {
        auto connection = std::make_unique<RedisConnection>(
            ioc_, std::move(endpoint), "test",
            RedisConnection::Hooks{[this] { ++readies_; },
                                   [this](const std::string& why) { losses_.push_back(why); }});
        connection->start();
        return connection;
    }

    bool wait(auto done, std::chrono::milliseconds timeout = 5s)
    {
        return run_until(ioc_, done, std::chrono::steady_clock::now() + timeout);
    }

    // Runs one command and waits for its reply.
    RedisReply run(RedisConnection& connection, std::initializer_list<std::string_view> args)
    {
        std::optional<RedisReply> reply;
        connection.command(args, [&](RedisReply&& r) { reply = std::move(r); });
        EXPECT_TRUE(wait([&] { return reply.has_value(); }));
        return reply.value_or(RedisReply{});
    }

    boost::asio::io_context ioc_;
    int readies_ = 0;
    std::vector<std::string> losses_;
};

TEST_F(RedisConnectionTest, RepliesOfEveryKindAreCopiedWhole)
{
    RedisProcess redis;
    auto connection = open(endpoint_of(redis));
    ASSERT_TRUE(wait([&] { return connection->ready(); }));
    EXPECT_EQ(readies_, 1);

    const std::string binary("a\0b\r\n", 5);
    EXPECT_EQ(run(*connection, {"SET", "k", binary}).kind, RedisReply::Kind::status);
    const RedisReply got = run(*connection, {"GET", "k"});
    EXPECT_EQ(got.kind, RedisReply::Kind::string);
    EXPECT_EQ(got.text, binary);
    EXPECT_EQ(run(*connection, {"GET", "missing"}).kind, RedisReply::Kind::nil);
    const RedisReply count = run(*connection, {"INCRBY", "n", "41"});
    EXPECT_EQ(count.kind, RedisReply::Kind::integer);
    EXPECT_EQ(count.integer, 41);
    run(*connection, {"RPUSH", "list", "x", "y"});
    const RedisReply list = run(*connection, {"LRANGE", "list", "0", "-1"});
    ASSERT_EQ(list.kind, RedisReply::Kind::array);
    ASSERT_EQ(list.elements.size(), 2u);
    EXPECT_EQ(list.elements[1].text, "y");
    const RedisReply error = run(*connection, {"INCR", "k"});
    EXPECT_EQ(error.kind, RedisReply::Kind::error);
    EXPECT_FALSE(error.ok());
}

TEST_F(RedisConnectionTest, RepliesComeInCommandOrder)
{
    RedisProcess redis;
    auto connection = open(endpoint_of(redis));
    ASSERT_TRUE(wait([&] { return connection->ready(); }));
    std::vector<long long> seen;
    for (int i = 0; i < 100; ++i)
        connection->command({"INCR", "order"},
                            [&](RedisReply&& reply) { seen.push_back(reply.integer); });
    ASSERT_TRUE(wait([&] { return seen.size() == 100; }));
    for (std::size_t i = 0; i < seen.size(); ++i)
        EXPECT_EQ(seen[i], static_cast<long long>(i + 1));
}

TEST_F(RedisConnectionTest, ACommandWhileRedisIsAwayFailsAtOnceButNeverInsideTheCall)
{
    RedisProcess redis;
    redis.kill();
    auto connection = open(endpoint_of(redis));
    bool called = false;
    RedisReply reply;
    reply.kind = RedisReply::Kind::nil;
    connection->command({"PING"}, [&](RedisReply&& r) {
        called = true;
        reply = std::move(r);
    });
    EXPECT_FALSE(called); // posted, so a caller's state is never changed under it
    ASSERT_TRUE(wait([&] { return called; }, 1s));
    EXPECT_EQ(reply.kind, RedisReply::Kind::disconnected);
    EXPECT_TRUE(wait([&] { return !losses_.empty(); }, 1s));
}

// hiredis writes with write(2): without the connection ignoring SIGPIPE, a command written to
// a Redis that has just died ends the whole process, which here is this test.
TEST_F(RedisConnectionTest, ACommandWrittenToARedisThatJustDiedFailsAndTheProcessLivesOn)
{
    RedisProcess redis;
    auto connection = open(endpoint_of(redis));
    ASSERT_TRUE(wait([&] { return connection->ready(); }));
    for (int round = 0; round < 20; ++round) {
        ASSERT_TRUE(wait([&] { return connection->ready(); }));
        redis.kill();
        // Still ready in its own view: the end of the stream is not read yet.
        std::optional<RedisReply> reply;
        connection->command({"SET", "k", std::string(256 * 1024, 'v')},
                            [&](RedisReply&& r) { reply = std::move(r); });
        ASSERT_TRUE(wait([&] { return reply.has_value(); }));
        EXPECT_EQ(reply->kind, RedisReply::Kind::disconnected);
        redis.start();
    }
}

TEST_F(RedisConnectionTest, ItComesBackAfterRedisRestartsAndFailsWhatWasPending)
{
    RedisProcess redis;
    auto connection = open(endpoint_of(redis));
    ASSERT_TRUE(wait([&] { return connection->ready(); }));

    // A reply that cannot come: the command blocks in Redis until Redis dies.
    std::optional<RedisReply> pending;
    connection->command({"BLPOP", "never", "0"},
                        [&](RedisReply&& reply) { pending = std::move(reply); });
    ASSERT_TRUE(wait([&] {
        return redis.cli({"CLIENT", "LIST"}).find("cmd=blpop") != std::string::npos;
    }));
    redis.kill();
    ASSERT_TRUE(wait([&] { return pending.has_value(); }));
    EXPECT_EQ(pending->kind, RedisReply::Kind::disconnected);
    EXPECT_FALSE(connection->ready());
    EXPECT_FALSE(losses_.empty());

    redis.start();
    ASSERT_TRUE(wait([&] { return connection->ready(); }));
    EXPECT_EQ(readies_, 2);
    EXPECT_EQ(connection->reconnects(), 1u);
    EXPECT_EQ(run(*connection, {"PING"}).text, "PONG");
}

TEST_F(RedisConnectionTest, AuthenticatesAndSelectsTheDatabaseFirst)
{
    RedisProcess redis({"--requirepass", "s3cret pass"});
    auto connection = open(endpoint_of(redis, "s3cret pass", 3));
    ASSERT_TRUE(wait([&] { return connection->ready(); }));
    run(*connection, {"SET", "where", "db3"});
    EXPECT_EQ(redis.cli({"-a", "s3cret pass", "--no-auth-warning", "-n", "3", "GET", "where"}),
              "db3");
}

TEST_F(RedisConnectionTest, AWrongPasswordIsReportedAndNeverReady)
{
    RedisProcess redis({"--requirepass", "right"});
    auto connection = open(endpoint_of(redis, "wrong"));
    ASSERT_TRUE(wait([&] { return !losses_.empty(); }));
    EXPECT_NE(losses_.front().find("pass"), std::string::npos) << losses_.front();
    EXPECT_FALSE(connection->ready());
    EXPECT_EQ(readies_, 0);
}

TEST_F(RedisConnectionTest, StopFailsPendingCommandsAndStaysDown)
{
    RedisProcess redis;
    auto connection = open(endpoint_of(redis));
    ASSERT_TRUE(wait([&] { return connection->ready(); }));
    std::optional<RedisReply> pending;
    connection->command({"BLPOP", "never", "0"},
                        [&](RedisReply&& reply) { pending = std::move(reply); });
    wait([] { return false; }, 50ms); // let it be written
    connection->stop();
    ASSERT_TRUE(wait([&] { return pending.has_value(); }));
    EXPECT_EQ(pending->kind, RedisReply::Kind::disconnected);
    EXPECT_FALSE(wait([&] { return connection->ready(); }, 300ms));
}

} // namespace
} // namespace signald::test
