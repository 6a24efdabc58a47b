// Starting the binary: the listening line, the environment, --version and --help, failing fast
// with one clear line for a taken port, a missing web root or a bad option, sharing a port with
// --reuse-port, and never printing the Redis password.

#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace signald::test {
namespace {

namespace net = boost::asio;

// "Quickly": a failing start must not linger. Generous for a loaded CI machine.
constexpr auto fail_fast_limit = 3s;

class Startup : public SignaldFixture
{
protected:
    // A failed start: non-zero exit, soon, no listening line, and exactly one line on stderr that
    // mentions each of the given words.
    void expect_failed_start(const RunResult& result, const std::vector<std::string>& mentions)
    {
        EXPECT_FALSE(result.timed_out) << "still running after the deadline";
        EXPECT_TRUE(result.status.exited_normally()) << result.status.describe();
        EXPECT_NE(result.status.code, 0) << result.status.describe();
        EXPECT_LT(result.elapsed, fail_fast_limit);
        EXPECT_EQ(result.stdout_text.find("listening on"), std::string::npos) << result.stdout_text;
        std::string error = result.stderr_text;
        while (!error.empty() && (error.back() == '\n' || error.back() == '\r'))
            error.pop_back();
        EXPECT_FALSE(error.empty()) << "nothing on stderr";
        EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 0)
            << "stderr has more than one line:\n"
            << result.stderr_text;
        for (const auto& word : mentions)
            EXPECT_NE(error.find(word), std::string::npos)
                << "stderr does not mention " << word << ": " << error;
    }
};

// A port nobody was listening on a moment ago.
std::uint16_t free_port()
{
    net::io_context ioc;
    net::ip::tcp::acceptor acceptor(ioc, {net::ip::address_v4::loopback(), 0});
    return acceptor.local_endpoint().port();
}

std::string project_version()
{
    std::ifstream file(std::filesystem::path(SIGNALD_SOURCE_DIR) / "CMakeLists.txt");
    std::stringstream text;
    text << file.rdbuf();
    std::smatch match;
    const std::string contents = text.str();
    if (std::regex_search(contents, match, std::regex(R"(project\(signald\s+VERSION\s+([0-9.]+))")))
        return match[1];
    return "";
}

TEST_F(Startup, ListeningLineIsTheOnlyThingOnStdout)
{
    SignaldProcess server(server_args(web_root_.path()));
    EXPECT_EQ(server.host(), "127.0.0.1");
    EXPECT_EQ(http_request(server.port(), "GET", "/").result_int(), 200u);
    EXPECT_EQ(server.stdout_text(),
              "listening on http://127.0.0.1:" + std::to_string(server.port()) + "/\n");
}

TEST_F(Startup, TakenPortFailsFastWithOneLine)
{
    net::io_context ioc;
    net::ip::tcp::acceptor taken(ioc, {net::ip::address_v4::loopback(), 0});
    const std::string port = std::to_string(taken.local_endpoint().port());
    const auto result =
        run_signald({"--port", port, "--bind", "127.0.0.1", "--web-root", web_root_.str()});
    expect_failed_start(result, {port});
}

TEST_F(Startup, TakenPortFailsFastWithOneLineEvenWithReusePort)
{
    // The port's holder did not set SO_REUSEPORT, so --reuse-port cannot share it.
    net::io_context ioc;
    net::ip::tcp::acceptor taken(ioc, {net::ip::address_v4::loopback(), 0});
    const std::string port = std::to_string(taken.local_endpoint().port());
    const auto result = run_signald(
        {"--port", port, "--bind", "127.0.0.1", "--web-root", web_root_.str(), "--reuse-port"});
    expect_failed_start(result, {"cannot listen on", "127.0.0.1:" + port});
}

TEST_F(Startup, ReusePortLetsTwoNodesShareAPortThatOthersCannotTake)
{
    SignaldProcess first(server_args(web_root_.path(), {"--reuse-port"}));
    const std::string port = std::to_string(first.port());
    const std::vector<std::string> on_that_port = {"--port",    port,         "--bind",
                                                   "127.0.0.1", "--web-root", web_root_.str()};
    auto with = [&](std::vector<std::string> extra) {
        auto args = on_that_port;
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    };
    SignaldProcess second(with({"--reuse-port"}));
    EXPECT_EQ(second.port(), first.port());

    // A node without --reuse-port cannot join them.
    expect_failed_start(run_signald(on_that_port), {"cannot listen on", "127.0.0.1:" + port});

    // The kernel hashes each new connection to one of the two: with 32 connections from distinct
    // source ports, both see some (all on one side has odds of 2^-31).
    constexpr int connections = 32;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < connections; ++i) {
        clients.push_back(std::make_unique<WsClient>());
        clients.back()->connect(first.port());
    }
    EXPECT_TRUE(first.wait_for_stderr(" connected from ")) << "the first node got none";
    EXPECT_TRUE(second.wait_for_stderr(" connected from ")) << "the second node got none";
    EXPECT_EQ(http_request(first.port(), "GET", "/").result_int(), 200u);

    // With the first node gone, the second takes every new connection on the port.
    clients.clear();
    first.send_signal(SIGTERM);
    const auto status = first.wait_exit(5s);
    ASSERT_TRUE(status.has_value()) << "the first node still runs 5 s after SIGTERM";
    EXPECT_EQ(status->code, 0) << status->describe();
    const std::string before = second.stderr_text();
    std::size_t seen = 0;
    for (auto at = before.find(" connected from "); at != std::string::npos;
         at = before.find(" connected from ", at + 1))
        ++seen;
    for (int i = 0; i < 8; ++i) {
        WsClient client;
        client.connect(second.port());
        EXPECT_FALSE(client.join("room-" + std::to_string(i)).empty());
        EXPECT_EQ(http_request(second.port(), "GET", "/").result_int(), 200u);
    }
    EXPECT_TRUE(second.wait_for_stderr(" connected from ", seen + 8));
    EXPECT_TRUE(second.running());
}

TEST_F(Startup, RedisPasswordIsNeverPrinted)
{
    // The bad starts: a refused URL, and a password given twice.
    const auto refused =
        run_signald(server_args(web_root_.path(), {"--redis", "redis://:hunter2@127.0.0.1:0"}));
    expect_failed_start(refused, {"--redis", "port"});
    const auto password_file = web_root_.write("redis-password", "hunter3\n");
    const auto twice = run_signald(
        server_args(web_root_.path(), {"--redis", "redis://:hunter2@127.0.0.1",
                                       "--redis-password-file", password_file.string()}));
    expect_failed_start(twice, {"one place only"});
    for (const auto& output : {refused.stderr_text, twice.stderr_text}) {
        EXPECT_EQ(output.find("hunter2"), std::string::npos) << output;
        EXPECT_EQ(output.find("hunter3"), std::string::npos) << output;
    }

    // A good start, a client and a shutdown, logging everything, with Redis out of reach (its
    // reconnects are logged too): the join is refused, as while any outage.
    SignaldProcess server(
        server_args(web_root_.path(), {"--redis", "redis://:hunter2@127.0.0.1:1/1", "--node-id",
                                       "node-a", "--log-level", "trace"}));
    {
        WsClient client;
        client.connect(server.port());
        client.send_text(R"({"action":"join","roomId":"room"})");
        EXPECT_EQ(client.next_json()["code"], "unavailable");
    }
    server.send_signal(SIGTERM);
    ASSERT_TRUE(server.wait_exit(5s).has_value());
    const std::string output = server.stdout_text() + server.stderr_text();
    EXPECT_EQ(output.find("hunter2"), std::string::npos) << output;
}

TEST_F(Startup, MissingWebRootFailsFastWithOneLine)
{
    const std::string missing = (web_root_.path() / "does-not-exist").string();
    expect_failed_start(run_signald({"--port", "0", "--bind", "127.0.0.1", "--web-root", missing}),
                        {missing});
    expect_failed_start(
        run_signald({"--port", "0", "--bind", "127.0.0.1", "--web-root", "/nonexistent"}),
        {"/nonexistent"});
}

TEST_F(Startup, BadOptionsFailFastWithOneLine)
{
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--port", "abc"}, "port"},
        {{"--port", "70000"}, "port"},
        {{"--bogus"}, "bogus"},
        {{"--log-level", "loud"}, "log-level"},
        {{"--max-room-size", "many"}, "max-room-size"},
        {{"--trusted-proxy", "localhost"}, "localhost"},
        {{"--trusted-proxy", "10.0.0.0/33"}, "10.0.0.0/33"},
        {{"--redis", "rediss://h"}, "TLS to Redis is not supported"},
        {{"--node-id", "a b"}, "node-id"},
        {{"--node-timeout", "1"}, "node-timeout"},
    };
    for (const auto& [bad, mention] : cases) {
        SCOPED_TRACE(bad[0] + (bad.size() > 1 ? " " + bad[1] : ""));
        std::vector<std::string> args = {"--bind", "127.0.0.1", "--web-root", web_root_.str()};
        args.insert(args.end(), bad.begin(), bad.end());
        expect_failed_start(run_signald(args), {mention});
    }
}

TEST_F(Startup, VersionPrintsTheProjectVersion)
{
    const auto result = run_signald({"--version"});
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.status.code, 0) << result.status.describe();
    const std::string version = project_version();
    ASSERT_FALSE(version.empty());
    EXPECT_NE(result.stdout_text.find(version), std::string::npos) << result.stdout_text;
}

TEST_F(Startup, HelpListsTheOptions)
{
    const auto result = run_signald({"--help"});
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.status.code, 0) << result.status.describe();
    for (const std::string option :
         {"--port", "--bind", "--web-root", "--max-message-bytes", "--max-room-size", "--log-level",
          "--config", "--version", "--reuse-port", "--redis", "--redis-password-file", "--node-id",
          "--node-timeout"})
        EXPECT_NE(result.stdout_text.find(option), std::string::npos) << option;
}

TEST_F(Startup, PortEnvironmentVariableSeedsThePort)
{
    {
        SignaldProcess server({"--bind", "127.0.0.1", "--web-root", web_root_.str()},
                              {{"PORT", "0"}});
        EXPECT_NE(server.port(), 0);
        EXPECT_EQ(http_request(server.port(), "GET", "/").result_int(), 200u);
    }
    {
        const std::uint16_t port = free_port();
        SignaldProcess server({"--bind", "127.0.0.1", "--web-root", web_root_.str()},
                              {{"PORT", std::to_string(port)}});
        EXPECT_EQ(server.port(), port);
    }
    {
        // --port wins over PORT: PORT names a taken port, yet the server starts.
        net::io_context ioc;
        net::ip::tcp::acceptor taken(ioc, {net::ip::address_v4::loopback(), 0});
        SignaldProcess server(server_args(web_root_.path()),
                              {{"PORT", std::to_string(taken.local_endpoint().port())}});
        EXPECT_NE(server.port(), taken.local_endpoint().port());
    }
}

TEST_F(Startup, WithoutWebRootTheReposWebDirectoryIsServed)
{
    SignaldProcess server({"--port", "0", "--bind", "127.0.0.1"});
    std::ifstream file(std::filesystem::path(SIGNALD_SOURCE_DIR) / "web" / "index.html",
                       std::ios::binary);
    ASSERT_TRUE(file.good()) << "the repo has no web/index.html";
    std::stringstream index;
    index << file.rdbuf();
    const auto response = http_request(server.port(), "GET", "/");
    EXPECT_EQ(response.result_int(), 200u);
    EXPECT_EQ(response.body(), index.str());
}

TEST_F(Startup, ConfigFileSetsOptionsBetweenCommandLineAndPort)
{
    net::io_context ioc;
    net::ip::tcp::acceptor taken(ioc, {net::ip::address_v4::loopback(), 0});
    const std::string taken_port = std::to_string(taken.local_endpoint().port());
    const auto config = web_root_.write("signald.ini", "; test config\nport = 0\nbind = 127.0.0.1\n"
                                                       "max-room-size = 1\nlog-level = info\n");
    auto room_accepts_second_member = [](std::uint16_t port) {
        WsClient first;
        WsClient second;
        first.connect(port);
        second.connect(port);
        first.join("r");
        second.send_json({{"action", "join"}, {"roomId", "r"}});
        return second.next_json().value("action", "") == "joined";
    };
    {
        // The file's port (0) beats PORT, which names a taken port; its room size applies.
        SignaldProcess server({"--config", config.string(), "--web-root", web_root_.str()},
                              {{"PORT", taken_port}});
        EXPECT_FALSE(room_accepts_second_member(server.port()));
    }
    {
        // The command line beats the file.
        SignaldProcess server(
            {"--config", config.string(), "--web-root", web_root_.str(), "--max-room-size", "2"});
        EXPECT_TRUE(room_accepts_second_member(server.port()));
    }
}

TEST_F(Startup, MissingConfigFileFailsFastWithOneLine)
{
    const std::string missing = (web_root_.path() / "missing.ini").string();
    expect_failed_start(run_signald({"--config", missing, "--port", "0", "--bind", "127.0.0.1",
                                     "--web-root", web_root_.str()}),
                        {"missing.ini"});
}

} // namespace
} // namespace signald::test
