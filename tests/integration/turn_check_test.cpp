// The TURN self-test against Debian's coturn: the right secret (ok, a relay on 127.0.0.1), the
// wrong one (401), nothing listening (UDP: port unreachable; TCP: connection refused), each as
// the start-up log, /metrics, /healthz?verbose and `signald check` show it; and a check that goes
// from failing to ok when coturn appears, logged once each way.

#include "coturn_process.hpp"
#include "exposition.hpp"
#include "http_client.hpp"
#include "occurrences.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "test_certs.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace signald::test {
namespace {

constexpr std::string_view secret = "turn-check-secret";

class TurnCheck : public SignaldFixture
{
protected:
    static std::string udp_url(std::uint16_t port)
    {
        return "turn:127.0.0.1:" + std::to_string(port);
    }
    static std::string tcp_url(std::uint16_t port) { return udp_url(port) + "?transport=tcp"; }

    std::vector<std::string> turn_args(std::uint16_t port, std::string_view turn_secret)
    {
        return {"--ice-server", udp_url(port),   "--ice-server",
                tcp_url(port),  "--turn-secret", std::string(turn_secret)};
    }

    // Waits (bounded) until the log holds text; fails with the log if it never does.
    void expect_log(std::string_view text, std::chrono::milliseconds timeout = 10s)
    {
        EXPECT_TRUE(server_->wait_for_stderr(text, 1, timeout)) << "no \"" << text << "\" in:\n"
                                                                << server_->stderr_text();
    }

    std::string scrape()
    {
        const auto response = http_request(server_->port(), "GET", "/metrics");
        EXPECT_EQ(response.result_int(), 200);
        const Exposition exposition = parse_exposition(response.body());
        for (const auto& problem : exposition.problems)
            ADD_FAILURE() << problem;
        return response.body();
    }

    static std::string series(std::string_view name, const std::string& url)
    {
        return std::string(name) + "{url=\"" + url + "\"} ";
    }
};

TEST_F(TurnCheck, TheRightSecretAllocatesARelayOverUdpAndTcp)
{
    CoturnProcess coturn(free_udp_and_tcp_port(), std::string(secret));
    start_server(turn_args(coturn.port(), secret));
    const std::string udp = udp_url(coturn.port());
    const std::string tcp = tcp_url(coturn.port());
    expect_log("TURN " + udp + " ok, relay 127.0.0.1:");
    expect_log("TURN " + tcp + " ok, relay 127.0.0.1:");

    const std::string metrics = scrape();
    EXPECT_NE(metrics.find(series("signald_turn_check_ok", udp) + "1\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find(series("signald_turn_check_ok", tcp) + "1\n"), std::string::npos);
    EXPECT_NE(metrics.find(series("signald_turn_check_failures_total", udp) + "0\n"),
              std::string::npos);
    EXPECT_NE(metrics.find(series("signald_turn_check_seconds", udp)), std::string::npos);

    const auto verbose = http_request(server_->port(), "GET", "/healthz?verbose");
    EXPECT_EQ(verbose.result_int(), 200);
    EXPECT_TRUE(verbose.body().starts_with("ok\nturn " + udp + " ok relay 127.0.0.1:"))
        << verbose.body();
    EXPECT_NE(verbose.body().find("\nturn " + tcp + " ok relay 127.0.0.1:"), std::string::npos)
        << verbose.body();
    // verbose among other parameters, with a value, is the same request.
    EXPECT_EQ(http_request(server_->port(), "GET", "/healthz?x=1&verbose=1").body().substr(0, 3),
              "ok\n");
    EXPECT_NE(http_request(server_->port(), "GET", "/healthz?x=1&verbose=1").body().find(udp),
              std::string::npos);
    // Plain /healthz is exactly as it was, and so is a parameter that only resembles it.
    EXPECT_EQ(http_request(server_->port(), "GET", "/healthz").body(), "ok\n");
    EXPECT_EQ(http_request(server_->port(), "GET", "/healthz?verbosely").body(), "ok\n");

    // The allocation was made with the clients' kind of credential and then freed: coturn saw
    // the username "<expiry>:signald-check" succeed and a Refresh with lifetime 0.
    EXPECT_TRUE(coturn.wait_for_log(":signald-check>: incoming packet ALLOCATE processed, success"))
        << coturn.log();
    EXPECT_TRUE(coturn.wait_for_log(":signald-check>, lifetime=0")) << coturn.log();
}

TEST_F(TurnCheck, TheWrongSecretIsA401ThatKeepsTheNodeHealthy)
{
    CoturnProcess coturn(free_udp_and_tcp_port(), std::string(secret));
    start_server(turn_args(coturn.port(), "not-the-secret"));
    const std::string udp = udp_url(coturn.port());
    const std::string failure =
        " failed: 401 Unauthorized: the server refused the credentials (wrong turn-secret?)";
    expect_log("TURN " + udp + failure);
    expect_log("TURN " + tcp_url(coturn.port()) + failure);

    const std::string metrics = scrape();
    EXPECT_NE(metrics.find(series("signald_turn_check_ok", udp) + "0\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find(series("signald_turn_check_failures_total", udp) + "1\n"),
              std::string::npos);

    const auto verbose = http_request(server_->port(), "GET", "/healthz?verbose");
    EXPECT_EQ(verbose.result_int(), 200); // a TURN failure does not take signaling down
    EXPECT_NE(verbose.body().find("turn " + udp +
                                  " failed (401 Unauthorized: the server "
                                  "refused the credentials (wrong turn-secret?))"),
              std::string::npos)
        << verbose.body();
}

TEST_F(TurnCheck, NothingListeningIsPortUnreachableOverUdpAndConnectionRefusedOverTcp)
{
    const std::uint16_t port = free_udp_and_tcp_port();
    start_server(turn_args(port, secret));
    expect_log("TURN " + udp_url(port) +
               " failed: port unreachable (nothing listening on udp 127.0.0.1:" +
               std::to_string(port) + ")");
    expect_log("TURN " + tcp_url(port) +
               " failed: connection refused (nothing listening on tcp 127.0.0.1:" +
               std::to_string(port) + ")");
    EXPECT_NE(scrape().find(series("signald_turn_check_ok", tcp_url(port)) + "0\n"),
              std::string::npos);
}

TEST_F(TurnCheck, AFailingCheckThatComesRightIsLoggedOnceEachWay)
{
    const std::uint16_t port = free_udp_and_tcp_port();
    start_server({"--ice-server", udp_url(port), "--turn-secret", std::string(secret),
                  "--turn-check-interval", "1"});
    const std::string failed = "TURN " + udp_url(port) + " failed: port unreachable";
    const std::string ok = "TURN " + udp_url(port) + " ok, relay 127.0.0.1:";
    expect_log(failed);
    // Several failing checks, one line.
    const std::string failures = series("signald_turn_check_failures_total", udp_url(port));
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    auto failures_at_least = [&](int n) {
        const auto value = metric(server_->port(), failures.substr(0, failures.size() - 1));
        return value && *value >= n;
    };
    while (!failures_at_least(3) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms); // the checks run each second
    ASSERT_TRUE(failures_at_least(3)) << scrape();

    CoturnProcess coturn(port, std::string(secret));
    expect_log(ok);
    // Several good checks after it, still one line.
    const std::string checked = series("signald_turn_check_ok", udp_url(port));
    const auto ok_since = std::chrono::steady_clock::now();
    const auto deadline2 = ok_since + 10s;
    const std::string timestamp =
        "signald_turn_check_timestamp_seconds{url=\"" + udp_url(port) + "\"}";
    const auto first_ok = metric(server_->port(), timestamp);
    ASSERT_TRUE(first_ok);
    while (*metric(server_->port(), timestamp) < *first_ok + 2 &&
           std::chrono::steady_clock::now() < deadline2)
        std::this_thread::sleep_for(100ms);
    const std::string log = server_->stderr_text();
    EXPECT_EQ(occurrences(log, failed), 1u) << log;
    EXPECT_EQ(occurrences(log, ok), 1u) << log;
    EXPECT_EQ(metric(server_->port(), checked.substr(0, checked.size() - 1)), 1.0);
}

TEST_F(TurnCheck, NoSecretMeansNothingIsCheckedAndNoFamilyIsShown)
{
    start_server({"--ice-server", "turn:127.0.0.1:3478"});
    expect_log("TURN self-test off: turn: URLs without --turn-secret");
    const std::string metrics = scrape();
    EXPECT_EQ(metrics.find("signald_turn_check"), std::string::npos);
    EXPECT_EQ(http_request(server_->port(), "GET", "/healthz?verbose").body(), "ok\n");
}

// `signald check`: one line per URL, exit 0 when all pass, 1 when one fails, 3 with nothing to
// check, 2 for a configuration error.
TEST(TurnCheckCommand, PrintsOneLinePerUrlAndExitsWithWhatItFound)
{
    CoturnProcess coturn(free_udp_and_tcp_port(), std::string(secret));
    const std::string udp = "turn:127.0.0.1:" + std::to_string(coturn.port());
    const std::string tcp = udp + "?transport=tcp";

    const RunResult ok = run_signald(
        {"check", "--ice-server", udp, "--ice-server", tcp, "--turn-secret", std::string(secret)},
        {}, 20s);
    EXPECT_EQ(ok.status.code, 0) << ok.stdout_text << ok.stderr_text;
    EXPECT_TRUE(ok.stdout_text.starts_with("TURN " + udp + " ok, relay 127.0.0.1:"))
        << ok.stdout_text;
    EXPECT_NE(ok.stdout_text.find("\nTURN " + tcp + " ok, relay 127.0.0.1:"), std::string::npos);
    EXPECT_EQ(occurrences(ok.stdout_text, "\n"), 2u);

    // The secret from a file, as the server reads it; one URL wrong is a failure for all.
    TempDir dir;
    const auto secret_file = dir.write("turn-secret", "wrong\n");
    const std::uint16_t nothing = free_udp_and_tcp_port();
    const std::string nobody = "turn:127.0.0.1:" + std::to_string(nothing) + "?transport=tcp";
    const RunResult wrong = run_signald({"check", "--ice-server", udp, "--ice-server", nobody,
                                         "--turn-secret-file", secret_file.string()},
                                        {}, 20s);
    EXPECT_EQ(wrong.status.code, 1) << wrong.stdout_text << wrong.stderr_text;
    EXPECT_NE(wrong.stdout_text.find("TURN " + udp +
                                     " failed: 401 Unauthorized: the server "
                                     "refused the credentials (wrong "
                                     "turn-secret?) ("),
              std::string::npos)
        << wrong.stdout_text;
    EXPECT_NE(wrong.stdout_text.find("TURN " + nobody + " failed: connection refused"),
              std::string::npos)
        << wrong.stdout_text;

    // The same through --config, as after editing the configuration.
    const auto config = dir.write(
        "signald.ini", "ice-server = " + udp + "\nturn-secret = " + std::string(secret) + "\n");
    const RunResult from_file = run_signald({"check", "--config", config.string()}, {}, 20s);
    EXPECT_EQ(from_file.status.code, 0) << from_file.stdout_text << from_file.stderr_text;

    const RunResult nothing_to_check =
        run_signald({"check", "--ice-server", "stun:127.0.0.1:3478"}, {}, 20s);
    EXPECT_EQ(nothing_to_check.status.code, 3);
    EXPECT_NE(nothing_to_check.stderr_text.find(
                  "signald check: nothing to check: no turn: or turns: --ice-server to check"),
              std::string::npos)
        << nothing_to_check.stderr_text;

    // A name that does not resolve (RFC 6761: .invalid never does).
    const RunResult unresolvable = run_signald(
        {"check", "--ice-server", "turn:nonexistent.invalid", "--turn-secret", "s"}, {}, 20s);
    EXPECT_EQ(unresolvable.status.code, 1);
    EXPECT_TRUE(unresolvable.stdout_text.starts_with(
        "TURN turn:nonexistent.invalid failed: cannot resolve nonexistent.invalid: "))
        << unresolvable.stdout_text;

    const RunResult bad = run_signald({"check", "--ice-server", "turn:"}, {}, 20s);
    EXPECT_EQ(bad.status.code, 2);
    EXPECT_NE(bad.stderr_text.find("--ice-server"), std::string::npos) << bad.stderr_text;
}

// turns: is checked as a browser checks it: TLS to the port, the certificate verified against the
// trusted CAs (here the test CA, through SSL_CERT_FILE as OpenSSL reads it) and the URL's host.
TEST(TurnCheckCommand, TurnsIsCheckedOverTlsAgainstTheTrustedCas)
{
    const TestCerts certs;
    CoturnProcess coturn(free_udp_and_tcp_port(), std::string(secret), certs.server_cert(),
                         certs.server_key());
    const std::string url = "turns:127.0.0.1:" + std::to_string(coturn.port()) + "?transport=tcp";
    const std::vector<std::string> args{"check", "--ice-server", url, "--turn-secret",
                                        std::string(secret)};

    const RunResult trusted = run_signald(args, {{"SSL_CERT_FILE", certs.ca_cert().string()}}, 20s);
    EXPECT_EQ(trusted.status.code, 0) << trusted.stdout_text << trusted.stderr_text;
    EXPECT_TRUE(trusted.stdout_text.starts_with("TURN " + url + " ok, relay 127.0.0.1:"))
        << trusted.stdout_text;

    // An empty trust store: the same server's certificate is refused.
    TempDir dir;
    const auto empty_store = dir.write("empty.pem", "");
    const RunResult untrusted = run_signald(
        args, {{"SSL_CERT_FILE", empty_store.string()}, {"SSL_CERT_DIR", dir.str()}}, 20s);
    EXPECT_EQ(untrusted.status.code, 1) << untrusted.stdout_text << untrusted.stderr_text;
    EXPECT_NE(untrusted.stdout_text.find(
                  "TURN " + url + " failed: TLS handshake with tls 127.0.0.1:" +
                  std::to_string(coturn.port()) + " failed: certificate verify failed"),
              std::string::npos)
        << untrusted.stdout_text;
}

} // namespace
} // namespace signald::test
