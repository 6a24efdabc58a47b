#pragma once
// Config: everything the command line and config file can set, parsed with CLI11 and checked
// before anything starts. main() is its only user; tests call parse_config directly.

#include "signald/auth/room_token.hpp"
#include "signald/net/server_options.hpp"
#include "signald/turn_credentials.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <variant>

namespace signald {

struct Config
{
    ServerOptions server;
    std::string log_level = "info";
    std::string log_format = "text"; // or json: one object per line
    // main turns this into server.ice_servers once logging is up (it may warn).
    IceOptions ice;
    // 300 s: a broken TURN server (expired certificate, rotated secret, full disk) shows within
    // minutes, while the self-test costs the server one allocation per URL each time. 0: off.
    std::chrono::seconds turn_check_interval{300};
    // `signald check`: run the TURN self-test once, print the results and exit.
    bool check_only = false;
    // With --auth-secret-file: its path, and the secrets server.join_check reads at each join,
    // which main replaces when SIGHUP asks it to read the file again.
    std::string auth_secret_file;
    std::shared_ptr<AuthSecrets> auth_secrets;
};

// The parsed config, or the exit code to leave with when the command line asked for --help or
// --version (printed to stdout) or was wrong (a one-line error printed to stderr).
std::variant<Config, int> parse_config(int argc, const char* const* argv);

// Where the page lives when --web-root is not given: web/ beside the executable (the build tree),
// ../share/signald/web (an install), then ./web.
std::filesystem::path default_web_root();

} // namespace signald
