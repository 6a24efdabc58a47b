#pragma once
// CoturnProcess: Debian's coturn (`turnserver`) for a TURN self-test, started by the test on
// 127.0.0.1 with a static auth secret (the TURN REST API that --turn-secret speaks), UDP and TCP on
// one port, no TLS, its log and databases in its own scratch directory; stopped by its PID. Flags
// as tests/e2e/lib/coturn.js starts it for the browser tests.

#include "signald_process.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace signald::test {

// The realm every test coturn uses.
inline constexpr std::string_view coturn_realm = "signald.test";

// A port free for both UDP and TCP on 127.0.0.1 right now (nothing listens there).
std::uint16_t free_udp_and_tcp_port();

class CoturnProcess
{
public:
    // Starts turnserver on port with secret and returns once it answers a STUN Binding over UDP;
    // throws if it does not within 5 s. With a certificate and its key, it also speaks TLS on
    // the same port (coturn tells TLS from plain TCP by the first bytes): turns: then works there.
    CoturnProcess(std::uint16_t port, std::string secret,
                  const std::filesystem::path& tls_cert = {},
                  const std::filesystem::path& tls_key = {});
    ~CoturnProcess();
    CoturnProcess(const CoturnProcess&) = delete;
    CoturnProcess& operator=(const CoturnProcess&) = delete;

    std::uint16_t port() const { return port_; }
    std::string log() const;
    // Waits until the log holds text; false if it does not by the deadline.
    bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout = 2s) const;

private:
    TempDir dir_;
    std::uint16_t port_;
    pid_t pid_ = -1;
};

} // namespace signald::test
