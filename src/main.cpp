// signald: wires config, logging and Server together, and turns SIGINT/SIGTERM into a clean stop.

#include "signald/config.hpp"
#include "signald/logging.hpp"
#include "signald/net/server.hpp"
#include "signald/net/turn_monitor.hpp"
#include "signald/token_command.hpp"

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <functional>

namespace {

// Each connection is a file descriptor, and the usual soft limit (1024) is far below
// --max-connections; the hard limit is what the operator actually allows.
void raise_descriptor_limit()
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// SIGHUP: the secrets of --auth-secret-file are read again, so that keys rotate without a
// restart (docs/protocol.md 7.3). A file that no longer reads leaves the secrets in use as they
// are; either way one line says what happened, never a secret.
void reload_auth_secrets(const signald::Config& config)
{
    if (!config.auth_secrets) {
        spdlog::info("received SIGHUP; nothing to read again (no --auth-secret-file)");
        return;
    }
    auto secrets = signald::load_auth_secrets(config.auth_secret_file);
    if (const auto* problem = std::get_if<std::string>(&secrets)) {
        spdlog::error("received SIGHUP; keeping the secrets in use: {}", *problem);
        return;
    }
    auto& loaded = std::get<signald::AuthSecrets>(secrets);
    const std::size_t count = loaded.by_kid.size() + (loaded.bare ? 1 : 0);
    *config.auth_secrets = std::move(loaded);
    spdlog::info("received SIGHUP; read {} room-token secret{} from {}", count,
                 count == 1 ? "" : "s", config.auth_secret_file);
}

// `signald check`: every TURN check once, one line each on stdout. Exit codes: 0 all passed, 1 one
// failed, 3 nothing to check (2 stays the configuration's).
int run_check_command(const signald::IceOptions& ice)
{
    if (const auto why = signald::TurnMonitor::nothing_to_check(ice)) {
        std::fprintf(stderr, "signald check: nothing to check: %s\n", why->c_str());
        return 3;
    }
    boost::asio::io_context ioc{1};
    signald::TurnMonitor monitor(ioc, ice, std::chrono::seconds{0}, false);
    monitor.run_once([] {});
    ioc.run();
    bool all_ok = true;
    for (const auto& status : monitor.statuses()) {
        std::printf("%s\n", signald::turn_check_line(status).c_str());
        all_ok = all_ok && status.ok;
    }
    return all_ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    try {
        auto parsed = signald::parse_config(argc, argv);
        if (const int* exit_code = std::get_if<int>(&parsed))
            return *exit_code;
        auto& config = std::get<signald::Config>(parsed);
        signald::setup_logging(config.log_level, config.log_format);
        if (config.check_only)
            return run_check_command(config.ice);
        config.server.ice_servers = signald::make_ice_servers(config.ice);
        raise_descriptor_limit();

        // 1: only this thread runs the io_context; nothing in signald takes a lock.
        boost::asio::io_context ioc{1};
        signald::batch_log_writes(
            [&ioc](std::function<void()> flush) { boost::asio::post(ioc, std::move(flush)); });
        // The TURN self-test: built before the server, which shows its results.
        std::optional<signald::TurnMonitor> turn_monitor;
        if (const auto why = signald::TurnMonitor::nothing_to_check(config.ice)) {
            if (std::any_of(config.ice.urls.begin(), config.ice.urls.end(), signald::is_turn_url))
                spdlog::info("TURN self-test off: {}", *why);
        } else if (config.turn_check_interval.count() > 0) {
            turn_monitor.emplace(ioc, config.ice, config.turn_check_interval);
            config.server.turn_checks = [&turn_monitor] { return turn_monitor->statuses(); };
        }
        signald::Server server(ioc, config.server);

        boost::asio::signal_set reload_signal(ioc, SIGHUP);
        boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
            if (ec)
                return;
            spdlog::info("received signal {}", signal_number);
            reload_signal.cancel(); // the loop ends once nothing waits
            if (turn_monitor)
                turn_monitor->stop();
            server.shutdown();
        });
        std::function<void()> wait_for_reload = [&] {
            reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
                if (ec)
                    return;
                reload_auth_secrets(config);
                wait_for_reload();
            });
        };
        wait_for_reload();

        server.start();
        const auto endpoint = server.local_endpoint();
        const auto address = endpoint.address();
        const std::string host =
            address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
        const char* scheme = server.uses_tls() ? "https" : "http";
        // Scripts and tests read the port from this exact line on stdout.
        std::printf("listening on %s://%s:%u/\n", scheme, host.c_str(), endpoint.port());
        if (config.server.tls.self_signed)
            std::printf("self-signed certificate, SHA-256 fingerprint %s\n",
                        server.tls_fingerprint().c_str());
        std::fflush(stdout);
        spdlog::info("serving {} on {}://{}:{}/ (WebSocket at /ws)", server.site().root().string(),
                     scheme, host, endpoint.port());
        if (const auto& hosts = server.host_policy(); hosts.checks())
            spdlog::info("answering only requests whose Host is localhost, 127.0.0.1, [::1]{}{} "
                         "(DNS-rebinding defence; more with --allowed-host)",
                         hosts.names().empty() ? "" : ", ", fmt::join(hosts.names(), ", "));
        if (const auto& proxies = config.server.trusted_proxies; !proxies.empty())
            spdlog::info("X-Forwarded-For names the client on connections from {}",
                         fmt::join(proxies, ", "));

        if (turn_monitor)
            turn_monitor->start();

        ioc.run();
        signald::batch_log_writes({}); // what is still batched goes out with the next line
        spdlog::info("stopped");
        spdlog::default_logger()->flush();
        return 0;
    } catch (const std::exception& e) {
        signald::report_fatal(e.what());
        return 1;
    }
}
