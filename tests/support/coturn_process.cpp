#include "coturn_process.hpp"

#include "logged_child.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace signald::test {
namespace {

sockaddr_in loopback(std::uint16_t port)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// Whether a STUN Binding request to 127.0.0.1:port gets a success answer within 200 ms.
bool answers_stun(std::uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const sockaddr_in address = loopback(port);
    std::array<std::uint8_t, 20> request{0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    std::random_device random;
    for (std::size_t i = 8; i < request.size(); ++i)
        request[i] = static_cast<std::uint8_t>(random());
    timeval timeout{0, 200 * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
        std::array<std::uint8_t, 1500> answer{};
        const ssize_t n = ::recv(fd, answer.data(), answer.size(), 0);
        ok = n >= 20 && answer[0] == 0x01 && answer[1] == 0x01 &&
             std::equal(request.begin() + 8, request.end(), answer.begin() + 8);
    }
    ::close(fd);
    return ok;
}

} // namespace

std::uint16_t free_udp_and_tcp_port()
{
    // The kernel's choice for TCP, kept only if UDP is free there too (bounded tries).
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address = loopback(0);
        socklen_t length = sizeof address;
        ::bind(tcp, reinterpret_cast<const sockaddr*>(&address), sizeof address);
        ::getsockname(tcp, reinterpret_cast<sockaddr*>(&address), &length);
        const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        const bool udp_free =
            ::bind(udp, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
        ::close(udp);
        ::close(tcp);
        if (udp_free)
            return ntohs(address.sin_port);
    }
    throw std::runtime_error("no port free for both UDP and TCP");
}

CoturnProcess::CoturnProcess(std::uint16_t port, std::string secret,
                             const std::filesystem::path& tls_cert,
                             const std::filesystem::path& tls_key)
    : port_(port)
{
    const std::string dir = dir_.str();
    const std::string log = (dir_.path() / "turnserver.log").string();
    std::vector<std::string> args{
        "turnserver",
        "-n", // no config file: /etc/turnserver.conf is not ours
        "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        "--listening-port=" + std::to_string(port), "--use-auth-secret",
        "--static-auth-secret=" + secret, "--realm=" + std::string(coturn_realm),
        // Both ends on loopback; a real TURN server refuses relays to its own host.
        "--allow-loopback-peers", "--no-dtls", "--no-cli",
        // A handful of relay ports and one thread: one allocation at a time is all it gets.
        "--relay-threads=1", "--min-port=50000", "--max-port=50999",
        // --verbose logs each request with its username and result, which the tests read.
        "--verbose", "--log-file=stdout", "--simple-log", "--pidfile=" + dir + "/turnserver.pid",
        "--userdb=" + dir + "/turndb"};
    if (tls_cert.empty()) {
        args.emplace_back("--no-tls");
    } else {
        args.push_back("--cert=" + tls_cert.string());
        args.push_back("--pkey=" + tls_key.string());
        // Its own TLS port must not be the default 5349, which anything may hold.
        args.push_back("--tls-listening-port=" + std::to_string(free_udp_and_tcp_port()));
    }
    pid_ = spawn_logged(args, log);
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!answers_stun(port_)) { // each try waits up to 200 ms for an answer
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("turnserver exited at start (is coturn installed?): " + log);
        }
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            throw std::runtime_error("turnserver did not answer STUN within 5 s; see " + log);
        }
        std::this_thread::sleep_for(10ms); // polling a port that refused at once
    }
}

CoturnProcess::~CoturnProcess()
{
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
}

bool CoturnProcess::wait_for_log(std::string_view text, std::chrono::milliseconds timeout) const
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (log().find(text) == std::string::npos) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(10ms); // a file has nothing to wait on
    }
    return true;
}

std::string CoturnProcess::log() const
{
    std::ifstream file(dir_.path() / "turnserver.log");
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

} // namespace signald::test
