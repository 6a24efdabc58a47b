// `cmake --install` of this build, checked the way an operator would use it: every file lands in
// its FHS place for the prefix (a --prefix chosen at install time, and DESTDIR staging for
// packages), the installed binary finds its page with no --web-root from any directory and
// through a symlink, the installed config starts it, and the installed systemd unit passes
// systemd's own offline checks.

#include "http_client.hpp"
#include "signald_process.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace signald::test {
namespace {

namespace fs = std::filesystem;

struct CommandResult
{
    int exit_code = -1;
    std::string output; // stdout and stderr together
};

std::string quoted(const std::string& text)
{
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a shell command to completion (ctest's timeout bounds it) and collects its output.
CommandResult run(const std::string& command)
{
    CommandResult result;
    std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr)
        return result;
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;)
        result.output.append(chunk, n);
    const int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::string read_file(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

fs::path source(const fs::path& relative)
{
    return fs::path(SIGNALD_SOURCE_DIR) / relative;
}

// Installs this build under prefix, into destdir when given (as packagers stage it).
CommandResult install(const fs::path& prefix, const fs::path& destdir = {})
{
    const std::string env = destdir.empty() ? "" : "env DESTDIR=" + quoted(destdir.string()) + " ";
    return run(env + quoted(CMAKE_COMMAND) + " --install " + quoted(SIGNALD_BUILD_DIR) +
               " --prefix " + quoted(prefix.string()));
}

// Starts an installed binary from working_dir with no --web-root, and checks it serves the
// page and its modules exactly as they are in the source tree.
void expect_serves_the_page(const fs::path& binary, const fs::path& working_dir,
                            std::vector<std::string> args = {"--port", "0", "--bind", "127.0.0.1"})
{
    SignaldProcess server(args, {}, SignaldProcess::Wait::for_listening, 10s,
                          Launch{binary, working_dir});
    const auto page = http_request(server.port(), "GET", "/");
    EXPECT_EQ(page.result_int(), 200);
    EXPECT_EQ(page.body(), read_file(source("web/index.html")));
    const auto app = http_request(server.port(), "GET", "/js/app.js");
    EXPECT_EQ(app.result_int(), 200);
    EXPECT_EQ(app.body(), read_file(source("web/js/app.js")));
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

bool has_line(const std::string& text, const std::string& line)
{
    const auto lines = lines_of(text);
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

class Install : public ::testing::Test
{
protected:
    TempDir dir_;
    const fs::path prefix_ = dir_.path() / "prefix";
    // An empty directory to start binaries in: no web/ for the ./web fallback to find.
    const fs::path elsewhere_ = dir_.make_dir("elsewhere");
};

TEST_F(Install, PrefixGetsBinaryPageConfigUnitAndDocs)
{
    const auto result = install(prefix_);
    ASSERT_EQ(result.exit_code, 0) << result.output;

    EXPECT_TRUE(fs::is_regular_file(prefix_ / "bin/signald"));
    const auto perms = fs::status(prefix_ / "bin/signald").permissions();
    EXPECT_NE(perms & fs::perms::others_exec, fs::perms::none);
    for (const char* file : {"index.html", "style.css", "favicon.svg", "js/app.js", "js/peer.js",
                             "status.html", "status.css", "js/status.js"})
        EXPECT_EQ(read_file(prefix_ / "share/signald/web" / file), read_file(source("web") / file))
            << file;
    EXPECT_EQ(read_file(prefix_ / "etc/signald/signald.ini"),
              read_file(source("config/signald.ini")));
    for (const char* doc : {"README.md", "LICENSE", "protocol.md", "signald.ini"})
        EXPECT_TRUE(fs::is_regular_file(prefix_ / "share/doc/signald" / doc)) << doc;

    // The unit names this prefix's binary and config, not /usr's.
    const std::string unit = read_file(prefix_ / "lib/systemd/system/signald.service");
    EXPECT_TRUE(has_line(unit, "ExecStart=" + (prefix_ / "bin/signald").string() + " --config " +
                                   (prefix_ / "etc/signald/signald.ini").string()))
        << unit;
    EXPECT_EQ(unit.find("/usr/bin/signald"), std::string::npos);
}

TEST_F(Install, InstalledBinaryServesThePageWithoutWebRootFromAnyDirectory)
{
    const auto result = install(prefix_);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    expect_serves_the_page(prefix_ / "bin/signald", elsewhere_);
}

TEST_F(Install, SymlinkedBinaryFindsThePageBesideItsTarget)
{
    // As with `ln -s /opt/signald/bin/signald /usr/local/bin/`: the page is found from where the
    // binary really is, not from where the link is.
    const auto result = install(prefix_);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const fs::path link = dir_.make_dir("links") / "signald";
    fs::create_symlink(prefix_ / "bin/signald", link);
    expect_serves_the_page(link, elsewhere_);

    const fs::path relative_link = dir_.path() / "links" / "relative-signald";
    fs::create_symlink("../prefix/bin/signald", relative_link);
    expect_serves_the_page(relative_link, elsewhere_);
}

TEST_F(Install, InstalledConfigStartsTheServer)
{
    const auto result = install(prefix_);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto config = prefix_ / "etc/signald/signald.ini";
    // The file's own bind (127.0.0.1) applies; only the port is overridden.
    SignaldProcess server({"--config", config.string(), "--port", "0"}, {},
                          SignaldProcess::Wait::for_listening, 10s,
                          Launch{prefix_ / "bin/signald", elsewhere_});
    EXPECT_EQ(server.host(), "127.0.0.1");
    EXPECT_EQ(http_request(server.port(), "GET", "/healthz").result_int(), 200);
}

TEST_F(Install, StagedUsrInstallPutsTheConfigInEtcAndTheUnitAsWritten)
{
    const fs::path stage = dir_.path() / "stage";
    const auto result = install("/usr", stage);
    ASSERT_EQ(result.exit_code, 0) << result.output;

    EXPECT_TRUE(fs::is_regular_file(stage / "usr/bin/signald"));
    EXPECT_TRUE(fs::is_regular_file(stage / "usr/share/signald/web/index.html"));
    EXPECT_TRUE(fs::is_regular_file(stage / "usr/share/doc/signald/README.md"));
    // FHS: a /usr install keeps its host configuration in /etc; /usr/etc does not exist.
    EXPECT_TRUE(fs::is_regular_file(stage / "etc/signald/signald.ini"));
    EXPECT_FALSE(fs::exists(stage / "usr/etc"));
    EXPECT_EQ(read_file(stage / "usr/lib/systemd/system/signald.service"),
              read_file(source("config/signald.service")));
    // Nothing outside the stage: everything installed sits under usr/ or etc/.
    for (const auto& entry : fs::directory_iterator(stage))
        EXPECT_TRUE(entry.path().filename() == "usr" || entry.path().filename() == "etc")
            << entry.path();

    expect_serves_the_page(stage / "usr/bin/signald", elsewhere_);
}

TEST_F(Install, OptPrefixPutsTheConfigInEtcOpt)
{
    const fs::path stage = dir_.path() / "stage";
    const auto result = install("/opt/signald", stage);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_TRUE(fs::is_regular_file(stage / "opt/signald/bin/signald"));
    EXPECT_TRUE(fs::is_regular_file(stage / "etc/opt/signald/signald.ini"));
    EXPECT_FALSE(fs::exists(stage / "opt/signald/etc"));
    EXPECT_TRUE(has_line(read_file(stage / "opt/signald/lib/systemd/system/signald.service"),
                         "ExecStart=/opt/signald/bin/signald --config "
                         "/etc/opt/signald/signald.ini"));
}

TEST_F(Install, ReinstallKeepsAnEditedConfig)
{
    ASSERT_EQ(install(prefix_).exit_code, 0);
    const auto config = prefix_ / "etc/signald/signald.ini";
    const std::string edited = read_file(config) + "max-room-size = 4\n";
    std::ofstream(config, std::ios::binary | std::ios::trunc) << edited;

    const auto result = install(prefix_);
    ASSERT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(read_file(config), edited);
    EXPECT_NE(result.output.find("Keeping: " + config.string()), std::string::npos)
        << result.output;
    // Removing what the manifest lists must not delete the administrator's file.
    EXPECT_FALSE(
        has_line(read_file(fs::path(SIGNALD_BUILD_DIR) / "install_manifest.txt"), config.string()));

    // An unedited config is the shipped one again after a reinstall.
    fs::remove(config);
    ASSERT_EQ(install(prefix_).exit_code, 0);
    EXPECT_EQ(read_file(config), read_file(source("config/signald.ini")));
}

// ---- The systemd unit ----

class SystemdUnit : public Install
{
protected:
    void SetUp() override
    {
        if (run("command -v systemd-analyze").exit_code != 0)
            GTEST_SKIP() << "systemd-analyze not found: install Debian's systemd package "
                            "(scripts/setup does) to check config/signald.service";
        const auto result = install(prefix_);
        ASSERT_EQ(result.exit_code, 0) << result.output;
        unit_ = prefix_ / "lib/systemd/system/signald.service";
    }

    fs::path unit_;
};

TEST_F(SystemdUnit, VerifiesWithoutAWarning)
{
    // verify also checks that ExecStart's binary exists: the installed one, in this prefix.
    const auto result = run("systemd-analyze verify " + quoted(unit_.string()));
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_EQ(result.output, "");
}

TEST_F(SystemdUnit, ExposureIsAtMostOnePointFive)
{
    // systemd's own 0-10 rating of what the sandbox leaves open; measured 1.4 with systemd 252.
    // Dropping any one of DynamicUser, PrivateDevices, the system call filter, the address
    // families, RestrictNamespaces or the empty capability set pushes it past 1.5 (DynamicUser
    // implies ProtectSystem, ProtectHome, PrivateTmp and NoNewPrivileges, so those count only in
    // HasEveryHardeningDirective).
    const auto result =
        run("systemd-analyze security --offline=true --threshold=15 " + quoted(unit_.string()));
    EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(SystemdUnitFile, HasEveryHardeningDirective)
{
    const std::string unit = read_file(source("config/signald.service"));
    for (const char* line : {
             "Type=exec",
             "ExecStart=/usr/bin/signald --config /etc/signald/signald.ini",
             "Restart=on-failure",
             "LimitNOFILE=65536",
             "DynamicUser=yes",
             "NoNewPrivileges=yes",
             "CapabilityBoundingSet=",
             "ProtectSystem=strict",
             "ProtectHome=yes",
             "PrivateTmp=yes",
             "PrivateDevices=yes",
             "ProtectKernelTunables=yes",
             "ProtectKernelModules=yes",
             "ProtectKernelLogs=yes",
             "ProtectControlGroups=yes",
             "ProtectClock=yes",
             "ProtectHostname=yes",
             "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
             "RestrictNamespaces=yes",
             "RestrictRealtime=yes",
             "RestrictSUIDSGID=yes",
             "LockPersonality=yes",
             "MemoryDenyWriteExecute=yes",
             "SystemCallArchitectures=native",
             "SystemCallFilter=@system-service",
         })
        EXPECT_TRUE(has_line(unit, line)) << line;
    // The recipes stay comments: no capability and no credential unless the operator adds one.
    EXPECT_FALSE(has_line(unit, "AmbientCapabilities=CAP_NET_BIND_SERVICE"));
    EXPECT_TRUE(has_line(unit, "#   AmbientCapabilities=CAP_NET_BIND_SERVICE"));
    EXPECT_NE(unit.find("--tls-cert %d/tls.crt --tls-key %d/tls.key"), std::string::npos);
}

} // namespace
} // namespace signald::test
