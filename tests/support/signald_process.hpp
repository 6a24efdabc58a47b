#pragma once
// SignaldProcess: one real signald binary run as a child process for an integration test. It owns
// the child from fork to reap: pipes, a reader thread that drains stdout and stderr, and the kill
// in the destructor. It never sleeps to synchronise; every wait has a deadline.
// TempDir (also here, since it only exists to give that process a web root) owns a scratch
// directory and removes it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace signald::test {

using namespace std::chrono_literals;

// How a child ended: exit code, or the signal that killed it.
struct ExitStatus
{
    int code = -1;
    int signal = 0;                           // non-zero when killed by a signal
    std::chrono::steady_clock::time_point at; // when the reader saw the child end
    bool exited_normally() const { return signal == 0; }
    std::string describe() const;
};

// Environment changes for the child: a value sets the variable, nullopt removes it. PORT is
// always removed unless listed here, so the caller's shell cannot steer a test.
using EnvChanges = std::vector<std::pair<std::string, std::optional<std::string>>>;

// Which binary to run, and from where. The defaults: the build's SIGNALD_BINARY, started in the
// test's own working directory. The install tests run an installed copy from elsewhere.
struct Launch
{
    std::filesystem::path binary;      // empty: default_binary()
    std::filesystem::path working_dir; // empty: the test's own
};

// The binary tests run when Launch::binary is empty: $SIGNALD_TEST_BINARY when set, else the
// build's own SIGNALD_BINARY. scripts/test points the normal build's integration and chaos tests at
// the ASan+UBSan signald this way: the server is what the sanitizers must watch, and compiling the
// test clients a second time with them was the longest part of CI.
std::string default_binary();
// Whether the binary was built with AddressSanitizer (it names __asan_init, linked statically or
// not). Tests that read a server's RSS, or whose deadlines assume an uninstrumented server, ask.
bool binary_is_address_sanitized(const std::filesystem::path& binary);

class SignaldProcess
{
public:
    enum class Wait
    {
        for_listening, // the constructor returns once the `listening on` line has been read
        no,            // the constructor returns as soon as the child has been exec'd
    };

    // Starts SIGNALD_BINARY with args. With Wait::for_listening, throws std::runtime_error (with
    // stderr attached) if the line does not arrive within startup_timeout or the child exits.
    // Construct it on a thread that outlives it (the test's own): the child is SIGKILLed when the
    // thread that forked it ends, so a crashed test never leaves a server behind.
    explicit SignaldProcess(std::vector<std::string> args, EnvChanges env = {},
                            Wait wait = Wait::for_listening,
                            std::chrono::milliseconds startup_timeout = 10s,
                            const Launch& launch = {});
    // SIGTERM, a short grace period, then SIGKILL; always reaps. Prints the stderr tail if the
    // current test has failed.
    ~SignaldProcess();

    SignaldProcess(const SignaldProcess&) = delete;
    SignaldProcess& operator=(const SignaldProcess&) = delete;

    std::uint16_t port() const { return port_; }
    const std::string& host() const { return host_; }
    pid_t pid() const { return pid_; }

    std::string stdout_text() const;
    std::string stderr_text() const;
    // Waits until stderr holds text at least times times; false if it does not by the deadline
    // (or the child ended first). Output reaches the test through a pipe and a thread, so a line
    // the server wrote before answering may still be on its way when the answer arrives.
    bool wait_for_stderr(std::string_view text, std::size_t times = 1,
                         std::chrono::milliseconds timeout = 2s);

    void send_signal(int signal_number);
    // The exit status once the child has ended, or nullopt if it is still running at the deadline.
    std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
    bool running() const;

private:
    void spawn(const std::vector<std::string>& args, const EnvChanges& env, const Launch& launch);
    void drain_output(int stdout_fd, int stderr_fd);
    void wait_for_listening(std::chrono::milliseconds timeout);

    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string host_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::string stdout_;
    std::string stderr_;
    bool output_closed_ = false;
    std::optional<ExitStatus> exit_;
    std::thread reader_;
};

// What running the binary to completion produced.
struct RunResult
{
    ExitStatus status;
    bool timed_out = false;
    std::chrono::milliseconds elapsed{0};
    std::string stdout_text;
    std::string stderr_text;
};

// Runs signald with args until it exits or timeout passes (then it is killed and timed_out set).
RunResult run_signald(std::vector<std::string> args, EnvChanges env = {},
                      std::chrono::milliseconds timeout = 5s);

// A unique scratch directory under the system temp dir, removed with everything in it.
class TempDir
{
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::string str() const { return path_.string(); }
    // Writes content to path()/relative, creating parent directories.
    std::filesystem::path write(const std::filesystem::path& relative, std::string_view content);
    std::filesystem::path make_dir(const std::filesystem::path& relative);

private:
    std::filesystem::path path_;
};

// The usual arguments: an ephemeral port on loopback, an explicit web root, then extra.
std::vector<std::string> server_args(const std::filesystem::path& web_root,
                                     std::vector<std::string> extra = {});

} // namespace signald::test
