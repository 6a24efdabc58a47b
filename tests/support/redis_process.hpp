#pragma once
// RedisProcess: one real redis-server (Debian's) for a cluster test, started by the test on a unix
// socket in its own scratch directory, with no persistence, so that stopping and starting it again
// is "Redis restarted empty". Stopped by its PID; every wait has a deadline.

#include "signald_process.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace signald::test {

class RedisProcess
{
public:
    // Starts redis-server (with extra arguments, e.g. {"--requirepass", "x"}) and returns once it
    // answers; throws if it does not within 5 s.
    explicit RedisProcess(std::vector<std::string> extra = {});
    ~RedisProcess();
    RedisProcess(const RedisProcess&) = delete;
    RedisProcess& operator=(const RedisProcess&) = delete;

    // What --redis takes to reach it.
    std::string url() const { return "unix://" + socket_.string(); }
    const std::filesystem::path& socket() const { return socket_; }
    pid_t pid() const { return pid_; }

    // SIGKILL and reap: Redis is gone, with everything it held.
    void kill();
    // Starts it again on the same socket, empty.
    void start();
    // SIGSTOP and SIGCONT: Redis stops answering without closing a connection.
    void pause();
    void resume();

    // Runs redis-cli against it with args and returns its stdout (trailing newline removed).
    std::string cli(const std::vector<std::string>& args) const;

private:
    TempDir dir_;
    std::filesystem::path socket_;
    std::vector<std::string> extra_;
    pid_t pid_ = -1;
};

} // namespace signald::test
