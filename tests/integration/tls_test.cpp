// HTTPS and WSS on one port (--tls-cert/--tls-key, --tls-self-signed), checked with clients that
// verify the server against a CA made by the test: static files, the signaling protocol and its
// framing over TLS, plain HTTP redirected to https, garbage and stalled handshakes, start-up
// errors for bad certificate files, the self-signed fingerprint, and shutdown.

#include "http_client.hpp"
#include "signald_fixture.hpp"
#include "signald_process.hpp"
#include "test_certs.hpp"
#include "tls_client.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace signald::test {
namespace {

using nlohmann::json;
namespace beast = boost::beast;
using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Small, so an oversized message is cheap to send.
constexpr std::size_t max_message_bytes = 1024;

const std::string index_html = "<!doctype html><title>over tls</title>\n";
const std::string app_js = "console.log('tls');\n";

class Tls : public SignaldFixture
{
protected:
    Tls()
    {
        web_root_.write("index.html", index_html);
        web_root_.write("js/app.js", app_js);
        // --request-timeout 1: the stalled-handshake test waits for it.
        start_server(tls_args(
            {"--request-timeout", "1", "--max-message-bytes", std::to_string(max_message_bytes)}));
    }

    std::vector<std::string> tls_args(std::vector<std::string> extra) const
    {
        std::vector<std::string> args{"--tls-cert", certs_.server_cert().string(), "--tls-key",
                                      certs_.server_key().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    TlsTrust trust(std::string host = "localhost") const
    {
        return {certs_.ca_cert(), std::move(host)};
    }
    std::unique_ptr<HttpsClient> https()
    {
        auto client = std::make_unique<HttpsClient>(trust());
        client->connect(port());
        return client;
    }
    std::unique_ptr<WssClient> wss()
    {
        auto client = std::make_unique<WssClient>(trust());
        client->connect(port());
        return client;
    }
    // The server still answers a verifying client: nothing before took it down.
    void expect_still_serving()
    {
        ASSERT_TRUE(server_->running());
        EXPECT_EQ(https()->request("GET", "/").body(), index_html);
    }

    TestCerts certs_;
};

// The value of the sample named exactly name in a /metrics body.
std::optional<double> metric_in(const std::string& body, const std::string& name)
{
    const auto at = body.find("\n" + name + " ");
    if (at == std::string::npos)
        return std::nullopt;
    return std::stod(body.substr(at + name.size() + 2));
}

json peer_joined(const std::string& id)
{
    return {{"action", "peer-joined"}, {"roomId", "r"}, {"peer", {{"clientId", id}}}};
}

// ---- HTTPS

double unix_now()
{
    return static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

TEST_F(Tls, ListeningLineSaysHttps)
{
    const std::string line = "listening on https://127.0.0.1:" + std::to_string(port()) + "/\n";
    EXPECT_EQ(server_->stdout_text(), line); // and no fingerprint line: not self-signed
}

TEST_F(Tls, StaticFilesOverHttpsOnOneKeepAliveConnection)
{
    auto client = https();
    const auto index = client->request("GET", "/");
    EXPECT_EQ(index.result_int(), 200u);
    EXPECT_EQ(index[beast::http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(index.body(), index_html);

    const auto script = client->request("GET", "/js/app.js");
    EXPECT_EQ(script.result_int(), 200u);
    EXPECT_EQ(script[beast::http::field::content_type], "text/javascript; charset=utf-8");
    EXPECT_EQ(script.body(), app_js);

    const auto missing = client->request("GET", "/nope.js");
    EXPECT_EQ(missing.result_int(), 404u);

    const auto head = client->request("HEAD", "/js/app.js");
    EXPECT_EQ(head.result_int(), 200u);
    EXPECT_EQ(head[beast::http::field::content_length], std::to_string(app_js.size()));
    EXPECT_EQ(head[beast::http::field::content_type], "text/javascript; charset=utf-8");
    EXPECT_TRUE(head.body().empty());

    // Still the same connection after all four.
    EXPECT_EQ(client->request("GET", "/healthz").result_int(), 200u);
}

TEST_F(Tls, MetricsShowWhenTheServedCertificateExpires)
{
    // The test CA's server certificate is valid for a day from when the fixture made it.
    const auto expiry = metric_in(https()->request("GET", "/metrics").body(),
                                  "signald_tls_certificate_expiry_seconds");
    ASSERT_TRUE(expiry.has_value());
    EXPECT_NEAR(*expiry, unix_now() + 24 * 3600, 120);
}

TEST_F(Tls, CertificateIsForLocalhostAnd127001AndNothingElse)
{
    // The other half of every passing test here: the clients really do verify.
    HttpsClient by_address(trust("127.0.0.1"));
    EXPECT_EQ(by_address.try_connect(port()), std::nullopt);
    HttpsClient wrong_name(trust("example.com"));
    const auto refused = wrong_name.try_connect(port());
    ASSERT_TRUE(refused.has_value()) << "a certificate for localhost passed for example.com";
    EXPECT_NE(refused->find("certificate verify failed"), std::string::npos) << *refused;
    HttpsClient other_ca({TestCerts().ca_cert(), "localhost"});
    EXPECT_TRUE(other_ca.try_connect(port()).has_value()) << "an unrelated CA was accepted";
    expect_still_serving();
}

// ---- WSS: the protocol and its framing

TEST_F(Tls, TwoWssClientsSignalEachOtherAndCloseCleanly)
{
    auto a = wss();
    auto b = wss();
    const std::string a_id = a->join("r");
    const std::string b_id = b->join("r");
    EXPECT_EQ(a->next_json(), peer_joined(b_id));

    a->send_json({{"action", "signal"},
                  {"roomId", "r"},
                  {"type", "offer"},
                  {"to", b_id},
                  {"data", {{"sdp", "v=0"}}}});
    EXPECT_EQ(b->next_json(), (json{{"action", "signal"},
                                    {"roomId", "r"},
                                    {"from", a_id},
                                    {"type", "offer"},
                                    {"data", {{"sdp", "v=0"}}},
                                    {"to", b_id}}));
    b->send_json({{"action", "signal"}, {"roomId", "r"}, {"type", "hangup"}});
    EXPECT_EQ(a->next_json(),
              (json{{"action", "signal"}, {"roomId", "r"}, {"from", b_id}, {"type", "hangup"}}));

    EXPECT_EQ(a->close(1000), std::optional<std::uint16_t>(1000));
    EXPECT_EQ(b->next_json(), (json{{"action", "peer-left"}, {"roomId", "r"}, {"clientId", a_id}}));
}

TEST_F(Tls, MessageOverTheLimitClosesWith1009)
{
    auto stays = wss();
    auto sender = wss();
    stays->join("r");
    const std::string sender_id = sender->join("r");
    EXPECT_EQ(stays->next_json(), peer_joined(sender_id));

    sender->send_text(std::string(max_message_bytes + 1, 'x'));
    EXPECT_TRUE(sender->expect_close(1009));
    EXPECT_EQ(stays->next_json(),
              (json{{"action", "peer-left"}, {"roomId", "r"}, {"clientId", sender_id}}));
}

TEST_F(Tls, FragmentedJoinWithAPingBetweenItsFragments)
{
    auto client = wss();
    const std::string join = R"({"action":"join","roomId":"frag"})";
    FrameOptions first;
    first.fin = false;
    // One TLS write: the first fragment, a ping, then the rest of the message.
    client->send_raw(encode_frame(opcode::text, join.substr(0, 10), first) +
                     encode_frame(opcode::ping, "mid-message") +
                     encode_frame(opcode::continuation, join.substr(10)));
    EXPECT_EQ(client->next_json().value("action", ""), "joined");
    EXPECT_EQ(client->wait_pongs(1), std::vector<std::string>{"mid-message"});

    client->ping("hello");
    EXPECT_EQ(client->wait_pongs(2), (std::vector<std::string>{"mid-message", "hello"}));
}

TEST_F(Tls, BrokenFrameOverTlsClosesWith1002)
{
    auto client = wss();
    client->join("r");
    FrameOptions unmasked;
    unmasked.masked = false; // RFC 6455 5.1: a server must fail an unmasked client frame
    client->send_raw(encode_frame(opcode::text, "{}", unmasked));
    EXPECT_TRUE(client->expect_close(1002));
    expect_still_serving();
}

TEST_F(Tls, FrameBehindTheUpgradeRequestInTheSameTlsWriteIsHandled)
{
    auto client = https();
    client->send_raw("GET /ws HTTP/1.1\r\nHost: localhost:" + std::to_string(port()) +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n" +
                     encode_frame(opcode::text, R"({"action":"join","roomId":"early"})"));
    const auto response = client->read_response();
    EXPECT_EQ(response.result_int(), 101u);
    EXPECT_EQ(response["Sec-WebSocket-Accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC 6455 1.3

    // The reply to the join: one unmasked, final text frame.
    std::string bytes = client->read_bytes(2);
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes.at(i)); };
    ASSERT_EQ(byte(0), 0x81);
    std::size_t header = 2;
    std::size_t length = byte(1);
    ASSERT_LE(length, 126u);
    if (length == 126) {
        bytes += client->read_bytes(4 - std::min<std::size_t>(bytes.size(), 4));
        header = 4;
        length = std::size_t{byte(2)} << 8 | byte(3);
    }
    if (bytes.size() < header + length)
        bytes += client->read_bytes(header + length - bytes.size());
    const json joined = json::parse(bytes.substr(header, length), nullptr, false);
    EXPECT_EQ(joined.value("action", ""), "joined") << bytes.substr(header);
    EXPECT_EQ(joined.value("roomId", ""), "early");
}

// The request fills one TLS record exactly (the client's records are cut at 512 bytes) and the
// join is the next record, written right behind it: the server's TLS layer usually has the join,
// still encrypted, when the upgrade is done, and must hand it to the WebSocket session
// (take_tls_state). Else it arrives later, as any frame does; the outcome must be the same.
TEST_F(Tls, AJoinInTheRecordBehindTheUpgradeRequestIsHandled)
{
    const std::string head = "GET /ws HTTP/1.1\r\nHost: localhost:" + std::to_string(port()) +
                             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\nX-Pad: ";
    constexpr std::size_t record = 512;
    const std::string request = head + std::string(record - head.size() - 4, 'p') + "\r\n\r\n";
    ASSERT_EQ(request.size(), record);
    auto client = https();
    client->cut_records_at(record);
    client->send_raw(request + encode_frame(opcode::text, R"({"action":"join","roomId":"next"})"));
    EXPECT_EQ(client->read_response().result_int(), 101u);
    const std::string bytes = client->read_bytes(2);
    ASSERT_EQ(static_cast<std::uint8_t>(bytes.at(0)), 0x81);
    const std::size_t length = static_cast<std::uint8_t>(bytes.at(1));
    ASSERT_LT(length, 126u);
    const std::string text = (bytes + client->read_bytes(2 + length - bytes.size())).substr(2);
    const json joined = json::parse(text, nullptr, false);
    EXPECT_EQ(joined.value("action", ""), "joined") << text;
    EXPECT_EQ(joined.value("roomId", ""), "next");
}

TEST_F(Tls, BigMessagesAndABurstCrossTlsRecordsIntactAndInOrder)
{
    // The default message limit (256 KiB) and no rate limit.
    SignaldProcess server(
        server_args(web_root_.path(), tls_args({"--rate-msgs", "0", "--rate-bytes", "0"})));
    WssClient a(trust());
    WssClient b(trust());
    a.connect(server.port());
    b.connect(server.port());
    a.join("r");
    const std::string b_id = b.join("r");
    a.next_json(); // peer-joined

    // 200 KiB, a dozen TLS records each way; every record differs, so a reordered, lost or
    // repeated one shows.
    std::string big(200 * 1024, ' ');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + (i / 1000 + i) % 26);
    a.send_json(
        {{"action", "signal"}, {"roomId", "r"}, {"type", "offer"}, {"to", b_id}, {"data", big}});
    const json received = b.next_json(5s);
    EXPECT_TRUE(received.value("data", "") == big) << "the 200 KiB message arrived changed";

    // 500 signals of 1 KiB sent while b reads nothing: they pile up in the server's queue and
    // leave in several TLS writes.
    constexpr int burst = 500;
    for (int i = 0; i < burst; ++i)
        a.send_json({{"action", "signal"},
                     {"roomId", "r"},
                     {"type", "ice-candidate"},
                     {"to", b_id},
                     {"data", {{"seq", i}, {"pad", std::string(1000, 'p')}}}});
    for (int i = 0; i < burst; ++i) {
        const json message = b.next_json(5s);
        ASSERT_EQ(message["data"]["seq"], i) << "out of order or lost";
    }
}

TEST_F(Tls, AStalledWssReaderIsCutWhileTheRoomGoesOn)
{
    SignaldProcess server(server_args(
        web_root_.path(),
        tls_args({"--max-queue-bytes", "65536", "--rate-msgs", "0", "--rate-bytes", "0"})));
    WssClient stalled(trust());
    WssClient sender(trust());
    WssClient reader(trust());
    stalled.connect(server.port());
    sender.connect(server.port());
    reader.connect(server.port());
    const std::string stalled_id = stalled.join("r");
    sender.join("r");
    reader.join("r");
    sender.next_json(); // peer-joined (reader)

    // 16 KiB signals, one at a time, while reader keeps up and stalled reads nothing: once the
    // loopback buffers and 64 KiB of queue are full, stalled must go (about 10 MB in).
    const std::string pad(16 * 1024, 'p');
    bool stalled_left = false;
    for (int seq = 0; seq < 3000 && !stalled_left && !HasFailure(); ++seq) {
        sender.send_json({{"action", "signal"},
                          {"roomId", "r"},
                          {"type", "offer"},
                          {"data", {{"seq", seq}, {"pad", pad}}}});
        json message = reader.next_json(5s);
        if (message.value("action", "") == "peer-left") {
            EXPECT_EQ(message["clientId"], stalled_id);
            stalled_left = true;
            message = reader.next_json(5s);
        }
        ASSERT_EQ(message["data"]["seq"], seq) << "the reader that keeps up lost a message";
    }
    EXPECT_TRUE(stalled_left) << "30 MB later the stalled reader is still in the room";

    // Its session ends within the close deadline (2 s) although its write is stuck and it never
    // reads again: the server lets go by itself (signald_sessions counts closing sessions too).
    std::optional<double> sessions;
    for (const auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
        HttpsClient metrics(trust());
        metrics.connect(server.port());
        sessions = metric_in(metrics.request("GET", "/metrics").body(), "signald_sessions");
        if (sessions == 2.0)
            break;
        EXPECT_FALSE(reader.next_text(100ms).has_value()); // the pause between polls
    }
    EXPECT_EQ(sessions, 2.0) << "the stalled session is still alive 5 s later";
}

TEST_F(Tls, PingsKeepALiveWssClientAndASilentOneIsCut)
{
    SignaldProcess server(server_args(
        web_root_.path(),
        tls_args({"--ping-interval", "1", "--idle-timeout", "2", "--resume-grace", "0"})));
    WssClient lively(trust());
    WssClient silent(trust());
    lively.connect(server.port());
    silent.connect(server.port());
    lively.join("r");
    const std::string silent_id = silent.join("r");
    lively.next_json(); // peer-joined
    // Only lively's io_context runs from here on: it answers the server's pings, silent cannot.
    EXPECT_EQ(lively.next_json(5s),
              (json{{"action", "peer-left"}, {"roomId", "r"}, {"clientId", silent_id}}));
    EXPECT_GE(lively.pings_received(), 1u);
    lively.send_json({{"action", "signal"}, {"roomId", "r"}, {"type", "hangup"}});
    EXPECT_FALSE(lively.next_text(300ms).has_value()) << "alone in the room, yet got a message";
    EXPECT_TRUE(server.wait_for_stderr("idle-timeout"));
}

// ---- What is not TLS

TEST_F(Tls, PlainHttpIsRedirectedToTheSameUrlOverHttps)
{
    const std::string origin = "https://127.0.0.1:" + std::to_string(port());
    for (const std::string method : {"GET", "HEAD", "POST"}) {
        SCOPED_TRACE(method);
        HttpClient client;
        client.connect(port());
        const auto response = client.request(method, "/js/app.js?v=2");
        EXPECT_EQ(response.result_int(), 308u);
        EXPECT_EQ(response[beast::http::field::location], origin + "/js/app.js?v=2");
        EXPECT_TRUE(client.ended_within(2s)) << "the plain connection stays open";
    }
    {
        // RFC 7230 5.3.2: an absolute-form target carries the host itself.
        HttpClient client;
        client.connect(port());
        client.send_raw("GET http://127.0.0.1:" + std::to_string(port()) +
                        "/index.html?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port()) +
                        "\r\n\r\n");
        const auto response = client.read_response();
        ASSERT_TRUE(response.has_value()) << client.last_error();
        EXPECT_EQ(response->result_int(), 308u);
        EXPECT_EQ((*response)[beast::http::field::location], origin + "/index.html?x=1");
    }
    {
        HttpClient client;
        client.connect(port());
        // No Host: on loopback the Host check refuses it before the redirect is considered
        // (host_test.cpp has the 400 a public listener gives, having nowhere to send it).
        client.send_raw("GET / HTTP/1.0\r\n\r\n");
        const auto response = client.read_response();
        ASSERT_TRUE(response.has_value()) << client.last_error();
        EXPECT_EQ(response->result_int(), 403u);
    }
    {
        HttpClient client;
        client.connect(port());
        const auto response = client.request("OPTIONS", "*"); // a target that is no URL path
        EXPECT_EQ(response.result_int(), 400u);
        EXPECT_EQ(response[beast::http::field::location], "");
    }
    expect_still_serving();
}

TEST_F(Tls, GarbageIsClosedAndTheServerKeepsServing)
{
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"binary noise", std::string("\x00\xff\x13\x37garbage\r\n\r\n", 15)},
        {"a TLS record that is no ClientHello",
         std::string("\x16\x03\x01\x00\x40\x02", 6) + std::string(64, '\x7f')},
        {"a ClientHello header with noise behind it",
         std::string("\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03", 11) + std::string(59, 'z')},
    };
    for (const auto& [name, bytes] : cases) {
        SCOPED_TRACE(name);
        HttpClient client;
        client.connect(port());
        client.send_raw(bytes);
        EXPECT_TRUE(client.ended_within(2s)) << "still open";
        expect_still_serving();
    }
}

TEST_F(Tls, StalledHandshakeIsCutAtTheRequestTimeout)
{
    // What a ClientHello starts with, then nothing: the server is waiting for the rest.
    const std::string hello_start("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11);
    for (const std::string& sent : {hello_start, std::string()}) {
        SCOPED_TRACE(sent.empty() ? "nothing sent" : "half a ClientHello");
        HttpClient client;
        client.connect(port());
        const auto started = Clock::now();
        if (!sent.empty())
            client.send_raw(sent);
        EXPECT_FALSE(client.ended_within(700ms)) << "cut before the timeout";
        EXPECT_TRUE(client.ended_within(2500ms)) << "still open 3 s after a 1 s timeout";
        const auto took = duration_cast<milliseconds>(Clock::now() - started);
        EXPECT_LE(took.count(), 2500);
    }
    EXPECT_TRUE(server_->wait_for_stderr("rejected (tls-handshake)"));
    expect_still_serving();
}

TEST_F(Tls, HandshakeDeadlineCountsFromTheConnectionNotFromTheClientHello)
{
    // A ClientHello that starts slowly: the handshake gets what is left of the timeout, not a
    // fresh one once the first bytes look like TLS.
    const std::string hello_start("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11);
    HttpClient client;
    client.connect(port());
    const auto connected = Clock::now();
    client.send_raw(hello_start.substr(0, 1));
    EXPECT_FALSE(client.ended_within(800ms)) << "cut before the timeout";
    client.send_raw(hello_start.substr(1)); // now it is surely TLS, 0.8 s into a 1 s timeout
    EXPECT_TRUE(client.ended_within(2s));
    const auto took = duration_cast<milliseconds>(Clock::now() - connected);
    EXPECT_LE(took.count(), 1500) << "the handshake was given a new timeout";
}

// ---- Shutdown

TEST_F(Tls, SigtermClosesWssClientsWith1001AndExitsZero)
{
    auto in_room = wss();
    auto lobby = wss();
    in_room->join("r");
    auto idle = https(); // an idle keep-alive HTTPS connection must not hold up the exit
    EXPECT_EQ(idle->request("GET", "/").result_int(), 200u);

    const auto signalled = Clock::now();
    server_->send_signal(SIGTERM);
    EXPECT_TRUE(in_room->expect_close(1001));
    EXPECT_TRUE(lobby->expect_close(1001));
    const auto status = server_->wait_exit(5s);
    ASSERT_TRUE(status.has_value()) << "still running 5 s after SIGTERM";
    EXPECT_EQ(status->code, 0) << status->describe();
    EXPECT_LE(duration_cast<milliseconds>(status->at - signalled).count(), 2000);
}

// ---- Start-up

// Fails to start, quickly, with one line on stderr that mentions each of mentions.
void expect_failed_start(const RunResult& result, const std::vector<std::string>& mentions)
{
    EXPECT_FALSE(result.timed_out);
    EXPECT_TRUE(result.status.exited_normally()) << result.status.describe();
    EXPECT_NE(result.status.code, 0);
    EXPECT_EQ(result.stdout_text.find("listening on"), std::string::npos) << result.stdout_text;
    std::string error = result.stderr_text;
    while (!error.empty() && error.back() == '\n')
        error.pop_back();
    EXPECT_FALSE(error.empty()) << "nothing on stderr";
    EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 0) << result.stderr_text;
    for (const auto& word : mentions)
        EXPECT_NE(error.find(word), std::string::npos) << "no " << word << " in: " << error;
}

class TlsStartup : public ::testing::Test
{
protected:
    RunResult start(const std::string& cert, const std::string& key)
    {
        return run_signald(server_args(web_root_.path(), {"--tls-cert", cert, "--tls-key", key}));
    }

    TestCerts certs_;
    TempDir web_root_;
};

TEST_F(TlsStartup, MissingFilesAreNamed)
{
    const std::string missing = (web_root_.path() / "missing.pem").string();
    expect_failed_start(start(missing, certs_.server_key().string()), {missing, "certificate"});
    expect_failed_start(start(certs_.server_cert().string(), missing), {missing, "key"});
}

TEST_F(TlsStartup, FilesThatAreNotPemAreNamed)
{
    const std::string junk = certs_.write("junk.pem", "this is not PEM\n").string();
    expect_failed_start(start(junk, certs_.server_key().string()), {junk, "not a PEM certificate"});
    expect_failed_start(start(certs_.server_cert().string(), junk),
                        {junk, "not a PEM private key"});
    // Swapped: a key where the certificate belongs, and the other way round.
    expect_failed_start(start(certs_.server_key().string(), certs_.server_key().string()),
                        {certs_.server_key().string(), "not a PEM certificate"});
    expect_failed_start(start(certs_.server_cert().string(), certs_.server_cert().string()),
                        {certs_.server_cert().string(), "not a PEM private key"});
}

TEST_F(TlsStartup, KeyThatDoesNotMatchTheCertificateIsNamed)
{
    expect_failed_start(start(certs_.server_cert().string(), certs_.other_key().string()),
                        {certs_.other_key().string(), "does not belong to the certificate",
                         certs_.server_cert().string()});
}

TEST_F(TlsStartup, EncryptedKeyIsRefusedWithoutAskingForAPassphrase)
{
    expect_failed_start(
        start(certs_.server_cert().string(), certs_.encrypted_server_key().string()),
        {certs_.encrypted_server_key().string(), "encrypted"});
}

TEST_F(TlsStartup, CertWithoutKeyAndSelfSignedWithCertAreCommandLineErrors)
{
    const std::string cert = certs_.server_cert().string();
    expect_failed_start(run_signald(server_args(web_root_.path(), {"--tls-cert", cert})),
                        {"--tls-key"});
    expect_failed_start(
        run_signald(server_args(web_root_.path(), {"--tls-key", certs_.server_key().string()})),
        {"--tls-cert"});
    expect_failed_start(
        run_signald(server_args(web_root_.path(), {"--tls-self-signed", "--tls-cert", cert,
                                                   "--tls-key", certs_.server_key().string()})),
        {"--tls-self-signed"});
}

TEST(TlsSelfSigned, PrintsTheFingerprintOfTheCertificateItPresents)
{
    TempDir web_root;
    web_root.write("index.html", index_html);
    SignaldProcess server(
        server_args(web_root.path(), {"--tls-self-signed", "--tls-name", "signald.lan"}));
    // Both lines leave in one flush, so they arrive together with the first.
    const std::string out = server.stdout_text();
    std::smatch match;
    ASSERT_TRUE(std::regex_match(out, match,
                                 std::regex("listening on https://127\\.0\\.0\\.1:([0-9]+)/\n"
                                            "self-signed certificate, SHA-256 fingerprint "
                                            "((?:[0-9A-F]{2}:){31}[0-9A-F]{2})\n")))
        << out;
    EXPECT_EQ(match[1], std::to_string(server.port()));

    HttpsClient look({}); // no CA: only to see the certificate served
    look.connect(server.port());
    EXPECT_EQ(look.peer_fingerprint(), match[2]);
    EXPECT_EQ(look.request("GET", "/").body(), index_html);
    // Made to last 30 days from start-up.
    const auto expiry =
        metric_in(look.request("GET", "/metrics").body(), "signald_tls_certificate_expiry_seconds");
    ASSERT_TRUE(expiry.has_value());
    EXPECT_NEAR(*expiry, unix_now() + 30 * 24 * 3600, 120);

    // Trusting exactly that certificate, it is valid for each name it was made for.
    const auto pinned = web_root.write("pinned.pem", look.peer_certificate_pem());
    for (const std::string host : {"localhost", "127.0.0.1", "signald.lan"}) {
        SCOPED_TRACE(host);
        HttpsClient client({pinned, host});
        EXPECT_EQ(client.try_connect(server.port()), std::nullopt);
    }
    HttpsClient other({pinned, "other.lan"});
    EXPECT_TRUE(other.try_connect(server.port()).has_value());
}

} // namespace
} // namespace signald::test
