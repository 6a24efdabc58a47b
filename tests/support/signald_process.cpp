#include "signald_process.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace signald::test {
namespace {

// Bytes of stderr shown under a failed test: enough for the last few dozen log lines.
constexpr std::size_t stderr_tail_bytes = 8192;

[[noreturn]] void fail_errno(const std::string& what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

struct Pipe
{
    int read_end = -1;
    int write_end = -1;

    Pipe()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            fail_errno("pipe2");
        read_end = fds[0];
        write_end = fds[1];
    }
    ~Pipe()
    {
        close_read();
        close_write();
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;

    void close_read()
    {
        if (read_end >= 0)
            ::close(read_end);
        read_end = -1;
    }
    void close_write()
    {
        if (write_end >= 0)
            ::close(write_end);
        write_end = -1;
    }
    int release_read() { return std::exchange(read_end, -1); }
};

std::vector<std::string> build_environment(const EnvChanges& changes)
{
    auto changed = [&](std::string_view key) {
        if (key == "PORT")
            return true;
        return std::any_of(changes.begin(), changes.end(),
                           [&](const auto& change) { return change.first == key; });
    };
    std::vector<std::string> result;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view text = *entry;
        if (!changed(text.substr(0, text.find('='))))
            result.emplace_back(text);
    }
    for (const auto& [key, value] : changes)
        if (value)
            result.push_back(key + "=" + *value);
    return result;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings)
{
    std::vector<char*> result;
    for (auto& s : strings)
        result.push_back(s.data());
    result.push_back(nullptr);
    return result;
}

// Closes every descriptor from first up, except keep. Runs in the forked child, so it uses only
// async-signal-safe calls.
void close_descriptors_except(int first, int keep)
{
    if (::close_range(static_cast<unsigned>(first), static_cast<unsigned>(keep - 1), 0) == 0 &&
        ::close_range(static_cast<unsigned>(keep + 1), ~0U, 0) == 0)
        return;
    for (int fd = first; fd < 65536; ++fd)
        if (fd != keep)
            ::close(fd);
}

const char* signal_name(int signal_number)
{
    const char* name = ::sigabbrev_np(signal_number);
    return name != nullptr ? name : "?";
}

} // namespace

std::string default_binary()
{
    const char* chosen = std::getenv("SIGNALD_TEST_BINARY");
    return chosen != nullptr && *chosen != '\0' ? chosen : SIGNALD_BINARY;
}

bool binary_is_address_sanitized(const std::filesystem::path& binary)
{
    std::ifstream file(binary, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    return bytes.find("__asan_init") != std::string::npos;
}

std::string ExitStatus::describe() const
{
    if (signal != 0)
        return "killed by signal " + std::to_string(signal) + " (SIG" + signal_name(signal) + ")";
    return "exit code " + std::to_string(code);
}

SignaldProcess::SignaldProcess(std::vector<std::string> args, EnvChanges env, Wait wait,
                               std::chrono::milliseconds startup_timeout, const Launch& launch)
{
    spawn(args, env, launch);
    if (wait == Wait::for_listening) {
        try {
            wait_for_listening(startup_timeout);
        } catch (...) {
            // No destructor runs for a constructor that throws: end the child and the reader
            // here, or the joinable reader thread's destructor calls std::terminate.
            send_signal(SIGKILL);
            if (reader_.joinable())
                reader_.join();
            throw;
        }
    }
}

bool SignaldProcess::wait_for_stderr(std::string_view text, std::size_t times,
                                     std::chrono::milliseconds timeout)
{
    const auto enough = [&] {
        std::size_t seen = 0;
        for (auto at = stderr_.find(text); at != std::string::npos && seen < times;
             at = stderr_.find(text, at + 1))
            ++seen;
        return seen >= times;
    };
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return enough() || output_closed_; });
    return enough();
}

void SignaldProcess::spawn(const std::vector<std::string>& args, const EnvChanges& env,
                           const Launch& launch)
{
    // Everything the child needs is built before fork: after it, only async-signal-safe calls.
    const std::string binary = launch.binary.empty() ? default_binary() : launch.binary.string();
    const std::string working_dir = launch.working_dir.string();
    std::vector<std::string> argv_strings{binary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    auto argv = pointers_to(argv_strings);
    auto env_strings = build_environment(env);
    auto envp = pointers_to(env_strings);

    Pipe out;
    Pipe err;
    Pipe exec_status; // the child writes errno here if execve fails; EOF means it succeeded
    const int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dev_null < 0)
        fail_errno("open /dev/null");
    const pid_t parent = ::getpid();

    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(dev_null);
        fail_errno("fork");
    }
    if (pid_ == 0) {
        // If the test process dies, so does the server: nothing leaks past a crashed test. The
        // signal is tied to the forking thread, which is always the test's main thread.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        sigset_t none;
        ::sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int s : {SIGINT, SIGTERM, SIGPIPE, SIGHUP})
            ::signal(s, SIG_DFL);
        ::dup2(dev_null, STDIN_FILENO);
        ::dup2(out.write_end, STDOUT_FILENO);
        ::dup2(err.write_end, STDERR_FILENO);
        close_descriptors_except(3, exec_status.write_end);
        if (working_dir.empty() || ::chdir(working_dir.c_str()) == 0)
            ::execve(argv[0], argv.data(), envp.data());
        const int error = errno;
        [[maybe_unused]] auto n = ::write(exec_status.write_end, &error, sizeof error);
        ::_exit(127);
    }

    ::close(dev_null);
    out.close_write();
    err.close_write();
    exec_status.close_write();
    int exec_errno = 0;
    ssize_t n;
    do {
        n = ::read(exec_status.read_end, &exec_errno, sizeof exec_errno);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof exec_errno)) {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        throw std::runtime_error("cannot execute " + binary +
                                 (working_dir.empty() ? "" : " in " + working_dir) + ": " +
                                 std::strerror(exec_errno));
    }
    reader_ =
        std::thread(&SignaldProcess::drain_output, this, out.release_read(), err.release_read());
}

void SignaldProcess::drain_output(int stdout_fd, int stderr_fd)
{
    pollfd fds[2] = {{stdout_fd, POLLIN, 0}, {stderr_fd, POLLIN, 0}};
    int open_count = 2;
    char chunk[4096];
    while (open_count > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            const ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_count;
                continue;
            }
            std::lock_guard lock(mutex_);
            (i == 0 ? stdout_ : stderr_).append(chunk, static_cast<std::size_t>(n));
            changed_.notify_all();
        }
    }
    for (auto& fd : fds)
        if (fd.fd >= 0)
            ::close(fd.fd);
    {
        std::lock_guard lock(mutex_);
        output_closed_ = true;
        changed_.notify_all();
    }

    // Wait without reaping, then reap under the lock: send_signal holds the same lock, so it can
    // never signal a pid that has been reaped and perhaps reused.
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
        ;
    const auto ended_at = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR)
        ;
    ExitStatus result;
    result.at = ended_at;
    if (WIFEXITED(status))
        result.code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    exit_ = result;
    changed_.notify_all();
}

void SignaldProcess::wait_for_listening(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    const bool got_line = changed_.wait_for(
        lock, timeout, [&] { return stdout_.find('\n') != std::string::npos || output_closed_; });
    const std::string line = stdout_.substr(0, stdout_.find('\n'));
    const std::string prefix = line.starts_with("listening on https://") ? "listening on https://"
                                                                         : "listening on http://";
    const auto colon = line.rfind(':');
    if (got_line && line.starts_with(prefix) && line.ends_with("/") && colon != std::string::npos &&
        colon > prefix.size()) {
        host_ = line.substr(prefix.size(), colon - prefix.size());
        const std::string digits = line.substr(colon + 1, line.size() - colon - 2);
        char* end = nullptr;
        const long value = std::strtol(digits.c_str(), &end, 10);
        if (!digits.empty() && *end == '\0' && value > 0 && value < 65536) {
            port_ = static_cast<std::uint16_t>(value);
            return;
        }
    }
    const std::string why = !got_line        ? "no stdout line within the startup deadline"
                            : output_closed_ ? "signald exited before listening"
                                             : "unexpected first stdout line";
    throw std::runtime_error(why + "\nstdout: " + stdout_ + "\nstderr: " + stderr_);
}

std::string SignaldProcess::stdout_text() const
{
    std::lock_guard lock(mutex_);
    return stdout_;
}

std::string SignaldProcess::stderr_text() const
{
    std::lock_guard lock(mutex_);
    return stderr_;
}

void SignaldProcess::send_signal(int signal_number)
{
    std::lock_guard lock(mutex_);
    if (pid_ > 0 && !exit_)
        ::kill(pid_, signal_number);
}

std::optional<ExitStatus> SignaldProcess::wait_exit(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return exit_.has_value(); });
    return exit_;
}

bool SignaldProcess::running() const
{
    std::lock_guard lock(mutex_);
    return pid_ > 0 && !exit_;
}

SignaldProcess::~SignaldProcess()
{
    if (pid_ <= 0)
        return;
    send_signal(SIGTERM);
    if (!wait_exit(3s)) {
        send_signal(SIGKILL);
        wait_exit(10s);
    }
    if (reader_.joinable())
        reader_.join();
    if (::testing::Test::HasFailure()) {
        const std::string text = stderr_text();
        const std::size_t start =
            text.size() > stderr_tail_bytes ? text.size() - stderr_tail_bytes : 0;
        std::cerr << "---- signald (pid " << pid_ << ") stderr" << (start > 0 ? ", tail" : "")
                  << " ----\n"
                  << text.substr(start) << "---- end of signald stderr; it ended with "
                  << (exit_ ? exit_->describe() : std::string("its fate unknown")) << " ----\n";
    }
}

RunResult run_signald(std::vector<std::string> args, EnvChanges env,
                      std::chrono::milliseconds timeout)
{
    const auto started = std::chrono::steady_clock::now();
    SignaldProcess process(std::move(args), std::move(env), SignaldProcess::Wait::no);
    RunResult result;
    auto status = process.wait_exit(timeout);
    if (!status) {
        result.timed_out = true;
        process.send_signal(SIGKILL);
        status = process.wait_exit(10s);
    }
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (status)
        result.status = *status;
    result.stdout_text = process.stdout_text();
    result.stderr_text = process.stderr_text();
    return result;
}

TempDir::TempDir()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "signald-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        fail_errno("mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::filesystem::path& relative,
                                     std::string_view content)
{
    const auto full = path_ / relative;
    std::filesystem::create_directories(full.parent_path());
    std::FILE* file = std::fopen(full.c_str(), "wb");
    if (file == nullptr)
        fail_errno("fopen " + full.string());
    const bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
    if (std::fclose(file) != 0 || !ok)
        fail_errno("write " + full.string());
    return full;
}

std::filesystem::path TempDir::make_dir(const std::filesystem::path& relative)
{
    const auto full = path_ / relative;
    std::filesystem::create_directories(full);
    return full;
}

std::vector<std::string> server_args(const std::filesystem::path& web_root,
                                     std::vector<std::string> extra)
{
    std::vector<std::string> args{"--port",    "0",          "--bind",
                                  "127.0.0.1", "--web-root", web_root.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

} // namespace signald::test
