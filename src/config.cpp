#include "signald/config.hpp"

#include "signald/token_command.hpp"

#include "signald/core/ids.hpp"
#include "signald/net/client_address.hpp"
#include "signald/net/host_policy.hpp"

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

namespace signald {
namespace {

namespace fs = std::filesystem;

fs::path executable_dir()
{
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path{} : self.parent_path();
}

struct Secret
{
    std::string value;
};

// The first line of path, without its line ending; or why it cannot be had. A file keeps the
// secret out of `ps` and out of shell history; a config file given to --config does too.
std::variant<Secret, std::string> read_secret_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return std::string("cannot open it (") + std::strerror(errno) + ")";
    Secret secret;
    std::getline(file, secret.value);
    if (!secret.value.empty() && secret.value.back() == '\r')
        secret.value.pop_back();
    if (secret.value.empty())
        return std::string("its first line is empty");
    return secret;
}

// A CLI11 check from a function that says why a value is unusable, or nullopt when it is fine.
template <class Problem>
auto refuse_when(Problem problem)
{
    return [problem](const std::string& value) {
        const std::optional<std::string> why = problem(value);
        return why ? "\"" + value + "\" " + *why : std::string{};
    };
}

std::optional<std::string> node_id_problem(const std::string& id)
{
    const auto allowed = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    };
    if (id.empty() || id.size() > max_node_id_chars)
        return "must be 1 to " + std::to_string(max_node_id_chars) + " characters";
    if (!std::all_of(id.begin(), id.end(), allowed))
        return std::string("may hold only letters, digits, '.', '_' and '-'");
    return std::nullopt;
}

// --redis and, when given, --redis-password-file into cluster.redis; false, with the one-line
// reason on stderr, when they cannot be used. The URL may hold a password, so no message ever
// quotes it.
bool read_redis_options(const std::string& url, const std::optional<std::string>& password_file,
                        ClusterOptions& cluster)
{
    auto parsed = parse_redis_url(url);
    if (const auto* problem = std::get_if<std::string>(&parsed)) {
        std::cerr << "signald: --redis: the URL " << *problem << "\n";
        return false;
    }
    auto& endpoint = std::get<RedisEndpoint>(parsed);
    if (password_file) {
        if (!endpoint.password.empty()) {
            std::cerr << "signald: --redis-password-file " << *password_file
                      << ": the --redis URL holds a password too; give it in one place only\n";
            return false;
        }
        auto secret = read_secret_file(*password_file);
        if (const auto* problem = std::get_if<std::string>(&secret)) {
            std::cerr << "signald: --redis-password-file " << *password_file << ": " << *problem
                      << "\n";
            return false;
        }
        endpoint.password = std::move(std::get<Secret>(secret).value);
    }
    cluster.redis = std::move(endpoint);
    return true;
}

} // namespace

fs::path default_web_root()
{
    const fs::path exe_dir = executable_dir();
    std::vector<fs::path> candidates;
    if (!exe_dir.empty()) {
        candidates.push_back(exe_dir / "web");
        candidates.push_back(exe_dir / ".." / "share" / "signald" / "web");
    }
    candidates.push_back("web");
    for (const auto& candidate : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(candidate / "index.html", ec))
            return fs::weakly_canonical(candidate, ec);
    }
    return "web"; // StaticSite will say it is missing
}

std::variant<Config, int> parse_config(int argc, const char* const* argv)
{
    Config config;
    ServerOptions& server = config.server;
    std::string web_root;

    CLI::App app{"signald: WebSocket signaling server for WebRTC mesh calls, serving its own call "
                 "page",
                 "signald"};
    // Wide enough that "--port UINT=8787 (Env:PORT)" keeps two spaces before its description:
    // help2man (the man page) reads one space as part of the option.
    app.get_formatter()->column_width(34);
    app.set_version_flag("--version", "signald " SIGNALD_VERSION);
    app.set_config("--config", "",
                   "Read options from an INI or TOML file (see config/signald.ini)");
    app.option_defaults()->always_capture_default();

    app.add_option("--port", server.port,
                   "TCP port for the page and the WebSocket; 0 = any free port")
        ->envname("PORT");
    app.add_option("--bind", server.bind, "Address to listen on (0.0.0.0 or :: for all)");
    app.add_option("--web-root", web_root,
                   "Directory holding index.html [default: web/ beside the binary, the install's "
                   "share/signald/web, then ./web]");
    app.add_option("--max-message-bytes", server.max_message_bytes,
                   "Largest WebSocket message accepted; larger closes with 1009")
        ->check(CLI::Range(std::size_t{64}, std::size_t{64} * 1024 * 1024));
    app.add_option("--max-room-size", server.max_room_size,
                   "Members per room; a join beyond it gets room-full")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
    app.add_option("--log-level", config.log_level,
                   "trace, debug, info, warn, error, critical or off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    app.add_option("--log-format", config.log_format,
                   "text, or json for one JSON object per line (time, level, msg)")
        ->check(CLI::IsMember({"text", "json"}));

    // Limits and safety (README "Limits and safety"): each default's reason is in ServerOptions.
    auto ping_seconds = server.ping_interval.count();
    auto idle_seconds = server.idle_timeout.count();
    auto request_seconds = server.request_timeout.count();
    const auto seconds = CLI::Range(std::int64_t{1}, std::int64_t{86400});
    app.add_option("--ping-interval", ping_seconds, "Seconds between WebSocket pings")
        ->check(seconds);
    app.add_option("--idle-timeout", idle_seconds,
                   "Seconds of silence (not even a pong) after which a WebSocket is closed")
        ->check(seconds);
    app.add_option("--request-timeout", request_seconds,
                   "Seconds an HTTP request or upgrade may take to arrive in full")
        ->check(seconds);
    // Session resume (docs/protocol.md 8.1): a dropped connection suspends its member.
    auto grace_seconds = server.resume_grace.count();
    app.add_option("--resume-grace", grace_seconds,
                   "Seconds a member whose connection dropped keeps its place and may resume; "
                   "0 = off (a dropped connection leaves at once)")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{86400}));
    app.add_option("--resume-buffer-bytes", server.resume_buffer_bytes,
                   "Bytes of messages held per member for a resume (unacknowledged, or queued "
                   "while suspended)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 32));
    app.add_option("--max-header-bytes", server.max_header_bytes,
                   "Largest HTTP request header; larger gets 431")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1024} * 1024));
    app.add_option("--max-queue-bytes", server.max_queue_bytes,
                   "Bytes waiting to be written to one client before it is closed with 1008")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 32));
    app.add_option("--rate-msgs", server.rate.messages_per_second,
                   "Messages per second one client may send (bursts of 5 s); 0 = no limit")
        ->check(CLI::Range(0.0, 1e9));
    app.add_option("--rate-bytes", server.rate.bytes_per_second,
                   "Bytes per second one client may send (bursts of 5 s); 0 = no limit")
        ->check(CLI::Range(0.0, 1e12));
    app.add_option("--max-connections", server.max_connections,
                   "WebSocket connections in total; more get HTTP 503")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
    app.add_option("--max-connections-per-ip", server.max_connections_per_ip,
                   "WebSocket connections from one address (IPv6: one /64); more get HTTP 429")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
    app.add_option("--allowed-origin", server.allowed_origins,
                   "Also accept WebSockets from pages of this origin (repeatable; * for any). "
                   "Always accepted: the page's own origin and localhost")
        ->take_all();
    app.add_option("--allowed-host", server.allowed_hosts,
                   "Also answer requests whose Host is this name (repeatable; *.NAME for one "
                   "label under NAME). Always answered: localhost and the certificate's names. "
                   "Any entry, or listening on loopback only, refuses other Hosts with 403")
        ->take_all()
        ->check(refuse_when(HostPolicy::problem), "NAME");
    app.add_option("--trusted-proxy", server.trusted_proxies,
                   "Reverse proxy (address or network, repeatable) whose X-Forwarded-For header "
                   "names the client, for --max-connections-per-ip and the logs")
        ->take_all()
        ->check(refuse_when(TrustedProxies::problem), "ADDRESS[/BITS]");

    // TLS on the same port (README "Deploy"): browsers give camera access only to secure pages.
    auto* cert = app.add_option("--tls-cert", server.tls.cert_file,
                                "PEM certificate (chain) for HTTPS and WSS on the same port");
    auto* key = app.add_option("--tls-key", server.tls.key_file, "PEM private key of --tls-cert");
    auto* self_signed =
        app.add_flag("--tls-self-signed", server.tls.self_signed,
                     "Make a throwaway certificate at start-up (LAN trials; browsers warn)");
    app.add_option("--tls-name", server.tls.self_signed_names,
                   "Extra host name or address for --tls-self-signed (repeatable)")
        ->take_all()
        ->needs(self_signed);
    cert->needs(key);
    key->needs(cert);
    self_signed->excludes(cert)->excludes(key);
    // STUN and TURN servers for joined.iceServers (docs/protocol.md 6.1).
    IceOptions& ice = config.ice;
    app.add_option("--ice-server", ice.urls,
                   "STUN or TURN server for the page (repeatable): stun:HOST[:PORT], "
                   "turn:HOST[:PORT][?transport=udp|tcp] or turns:...")
        ->take_all()
        ->check(refuse_when(ice_url_problem), "URL");
    auto* turn_secret =
        app.add_option("--turn-secret", ice.turn_secret,
                       "coturn's static-auth-secret: each joined then carries TURN credentials "
                       "for the turn: URLs (visible in ps; prefer --turn-secret-file)")
            ->check([](const std::string& secret) {
                return secret.empty() ? std::string{"must not be empty"} : std::string{};
            });
    std::string turn_secret_file;
    app.add_option("--turn-secret-file", turn_secret_file,
                   "Read the TURN secret from the first line of this file")
        ->excludes(turn_secret);
    auto ttl_seconds = ice.turn_ttl.count();
    app.add_option("--turn-ttl", ttl_seconds,
                   "Seconds a TURN credential stays valid after the join that handed it out")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{7} * 86400));
    auto turn_check_seconds = config.turn_check_interval.count();
    app.add_option("--turn-check-interval", turn_check_seconds,
                   "Seconds between self-tests of the turn: URLs (a real allocation with the "
                   "clients' credentials; also at start-up); 0 = off")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{86400}));

    // Several nodes, one port, one cluster (README "Running it"). Read after parsing: a check
    // would put the URL, and so its password, into the error message.
    app.add_flag("--reuse-port", server.reuse_port,
                 "Share the port with other signald processes that set it too (SO_REUSEPORT); "
                 "the kernel spreads new connections among them");
    ClusterOptions& cluster = server.cluster;
    std::string redis_url;
    std::string redis_password_file;
    auto* redis = app.add_option(
        "--redis", redis_url,
        "Join the cluster kept in this Redis: redis://[:PASSWORD@]HOST[:PORT][/DB] or "
        "unix:///PATH[?db=N]; never printed with its password");
    auto* redis_password =
        app.add_option(
               "--redis-password-file", redis_password_file,
               "Read the Redis password from the first line of this file instead of the URL")
            ->needs(redis);
    app.add_option("--node-id", cluster.node_id,
                   "This node's name in logs and metrics, 1-64 of A-Z a-z 0-9 . _ - [default: "
                   "random]; harmless without --redis")
        ->check(refuse_when(node_id_problem), "ID");
    auto node_timeout_seconds = cluster.node_timeout.count();
    app.add_option("--node-timeout", node_timeout_seconds,
                   "Seconds after which a node that stopped renewing its lease is declared dead; "
                   "harmless without --redis")
        ->check(CLI::Range(min_node_timeout.count(), max_node_timeout.count()));

    // Private rooms (docs/protocol.md 7.3), and minting their tokens without a backend.
    std::string auth_secret_file;
    auto* auth = app.add_option("--auth-secret-file", auth_secret_file,
                                "Admit a join only with a room token signed with a secret of "
                                "this file (one per line: SECRET, or KID SECRET)");
    auto kick_ban_seconds = server.kick_ban.count();
    app.add_option("--kick-ban", kick_ban_seconds,
                   "Seconds a member a moderator kicked may not join that room again; 0 = no ban")
        ->check(CLI::Range(std::int64_t{0}, std::int64_t{7} * 86400));
    TokenCommand token_command;
    auto* token_sub = app.add_subcommand(
        "token", "Print a signed room token for the secrets of --auth-secret-file, and exit");
    auto* invite_sub = app.add_subcommand(
        "invite", "Print the page's URL with a room and a signed room token, and exit");
    for (CLI::App* sub : {token_sub, invite_sub}) {
        sub->add_option("--auth-secret-file", token_command.secret_file,
                        "The secrets file the server reads")
            ->required();
        sub->add_option("--room", token_command.room, "The roomId it admits to, or * for any")
            ->required();
        sub->add_option("--name", token_command.name, "The member's name, whatever its page says");
        sub->add_option("--ttl", token_command.ttl,
                        "How long it is valid: seconds, or a number with s, m, h or d");
        sub->add_option("--role", token_command.role, "moderator: may kick and lock")
            ->check(CLI::IsMember({"moderator"}));
        sub->add_option("--kid", token_command.kid,
                        "Sign with the secret of this kid [default: the one without a kid]");
        sub->add_option("--sub", token_command.sub, "Who it is for, for the logs and bans");
    }
    invite_sub->add_option("--url", token_command.url, "The call page's address")->required();
    // `signald check` reads the configuration exactly as the server does: every option of the
    // server (--config included) is accepted after it too.
    auto* check_sub = app.add_subcommand(
        "check", "Run the TURN self-test of every turn: --ice-server once, print one line each, "
                 "and exit (0: all ok, 1: one failed, 3: nothing to check). Takes the server's "
                 "options (see signald --help), --config included");
    check_sub->fallthrough();

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e); // --help or --version: printed to stdout
    } catch (const CLI::ParseError& e) {
        std::cerr << "signald: " << e.what() << " (see signald --help)\n";
        return 2; // the usual exit code for a bad command line
    }

    if (token_sub->parsed() || invite_sub->parsed())
        return run_token_command(token_command);
    if (auth->count() > 0) {
        auto secrets = load_auth_secrets(auth_secret_file);
        if (const auto* problem = std::get_if<std::string>(&secrets)) {
            std::cerr << "signald: " << *problem << "\n";
            return 2;
        }
        config.auth_secret_file = auth_secret_file;
        config.auth_secrets =
            std::make_shared<AuthSecrets>(std::move(std::get<AuthSecrets>(secrets)));
        server.join_check = token_join_check(config.auth_secrets);
    }

    if (idle_seconds <= ping_seconds) {
        std::cerr << "signald: --idle-timeout (" << idle_seconds
                  << " s) must be longer than --ping-interval (" << ping_seconds
                  << " s), or idle clients are dropped before they are pinged\n";
        return 2;
    }
    server.ping_interval = std::chrono::seconds(ping_seconds);
    server.idle_timeout = std::chrono::seconds(idle_seconds);
    server.request_timeout = std::chrono::seconds(request_seconds);
    server.resume_grace = std::chrono::seconds(grace_seconds);
    server.kick_ban = std::chrono::seconds(kick_ban_seconds);
    server.web_root = web_root.empty() ? default_web_root() : fs::path(web_root);
    ice.turn_ttl = std::chrono::seconds(ttl_seconds);
    config.turn_check_interval = std::chrono::seconds(turn_check_seconds);
    config.check_only = check_sub->parsed();
    if (!turn_secret_file.empty()) {
        auto secret = read_secret_file(turn_secret_file);
        if (const auto* problem = std::get_if<std::string>(&secret)) {
            std::cerr << "signald: --turn-secret-file " << turn_secret_file << ": " << *problem
                      << "\n";
            return 2;
        }
        ice.turn_secret = std::move(std::get<Secret>(secret).value);
    }
    if (redis->count() > 0 &&
        !read_redis_options(redis_url,
                            redis_password->count() > 0 ? std::optional(redis_password_file)
                                                        : std::nullopt,
                            cluster))
        return 2;
    if (cluster.node_id.empty())
        cluster.node_id = RandomIds{}.next();
    cluster.node_timeout = std::chrono::seconds(node_timeout_seconds);
    return config;
}

} // namespace signald
