#include "redis_process.hpp"

#include "logged_child.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace signald::test {
namespace {

// Whether a redis-server answers PING on path right now.
bool answers_ping(const std::filesystem::path& path)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        timeval timeout{0, 200 * 1000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        static constexpr std::string_view ping = "PING\r\n";
        if (::write(fd, ping.data(), ping.size()) == static_cast<ssize_t>(ping.size())) {
            std::array<char, 16> reply{};
            const ssize_t n = ::read(fd, reply.data(), reply.size());
            // +PONG, or -NOAUTH when a password is required: either way it is up.
            ok = n >= 5 && (reply[0] == '+' || reply[0] == '-');
        }
    }
    ::close(fd);
    return ok;
}

} // namespace

RedisProcess::RedisProcess(std::vector<std::string> extra)
    : socket_(dir_.path() / "redis.sock"), extra_(std::move(extra))
{
    start();
}

RedisProcess::~RedisProcess()
{
    resume();
    kill();
}

void RedisProcess::start()
{
    if (pid_ > 0)
        throw std::logic_error("redis-server is already running");
    const std::string log = (dir_.path() / "redis.log").string();
    const std::string socket = socket_.string();
    const std::string dir = dir_.str();
    std::vector<std::string> argv{"redis-server",
                                  "--port",
                                  "0",
                                  "--unixsocket",
                                  socket,
                                  "--unixsocketperm",
                                  "700",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir,
                                  "--daemonize",
                                  "no"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    pid_ = spawn_logged(argv, log);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!answers_ping(socket_)) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("redis-server exited at start (is it installed?); see " + log);
        }
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("redis-server did not answer PING within 5 s; see " + log);
        std::this_thread::sleep_for(10ms); // polling a socket that is not there yet
    }
}

void RedisProcess::kill()
{
    if (pid_ <= 0)
        return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::filesystem::remove(socket_);
}

void RedisProcess::pause()
{
    if (pid_ > 0)
        ::kill(pid_, SIGSTOP);
}

void RedisProcess::resume()
{
    if (pid_ > 0)
        ::kill(pid_, SIGCONT);
}

std::string RedisProcess::cli(const std::vector<std::string>& args) const
{
    std::string command = "redis-cli -s '" + socket_.string() + "'";
    for (const std::string& arg : args)
        command += " '" + arg + "'";
    command += " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr)
        throw std::runtime_error("cannot run redis-cli");
    std::string out;
    std::array<char, 4096> buffer{};
    std::size_t n = 0;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
        out.append(buffer.data(), n);
    ::pclose(pipe);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

} // namespace signald::test
