// The static file half of the port: content types, caching headers, HEAD, keep-alive, methods,
// redirects, and that no request target reaches a file outside the web root.

#include "http_client.hpp"
#include "signald_process.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace signald::test {
namespace {

const std::string outside_secret = "TOP-SECRET-OUTSIDE-THE-ROOT";

struct ServedFile
{
    std::string path;
    std::string content_type;
    std::string body;
};

const std::vector<ServedFile>& served_files()
{
    static const std::vector<ServedFile> files = {
        {"/index.html", "text/html; charset=utf-8", "<!doctype html><title>root index</title>\n"},
        {"/app.js", "text/javascript; charset=utf-8", "console.log('app');\n"},
        {"/m.mjs", "text/javascript; charset=utf-8", "export const m = 1;\n"},
        {"/style.css", "text/css; charset=utf-8", "body { margin: 0; }\n"},
        {"/x.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n"},
        {"/x.png", "image/png", std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01", 20)},
        {"/favicon.ico", "image/x-icon", std::string("\0\0\x01\0\x01\0\x10\x10", 8)},
        {"/data.json", "application/json", "{\"ok\": true}\n"},
        {"/app.webmanifest", "application/manifest+json", "{\"name\": \"signald\"}\n"},
        {"/sub/page.html", "text/html; charset=utf-8", "<p>sub page</p>\n"},
    };
    return files;
}

class HttpStatic : public ::testing::Test
{
protected:
    HttpStatic()
    {
        // dir/root is served; dir itself holds what must never be reachable.
        dir_.write("outside-secret.txt", outside_secret);
        dir_.write("outside-dir/secret.txt", outside_secret);
        root_ = dir_.make_dir("root");
        for (const auto& file : served_files())
            dir_.write("root" + file.path, file.body);
        dir_.write("root/sub/index.html", "<p>sub index</p>\n");
        dir_.make_dir("root/empty");
        dir_.write("root/a b.txt", "spaced\n");
        dir_.write("root/.env", outside_secret);
        std::filesystem::create_symlink("../outside-secret.txt", root_ / "escape-link");
        std::filesystem::create_symlink("../outside-dir", root_ / "escape-dir");
        server_ = std::make_unique<SignaldProcess>(server_args(root_));
    }

    std::uint16_t port() const { return server_->port(); }
    HttpClient::Response get(const std::string& target, const HttpClient::HeaderList& extra = {})
    {
        return http_request(port(), "GET", target, extra);
    }

    TempDir dir_;
    std::filesystem::path root_;
    std::unique_ptr<SignaldProcess> server_;
};

std::string header(const HttpClient::Response& response, std::string_view name)
{
    return std::string(response[name]);
}

TEST_F(HttpStatic, EachFileIsServedWithItsContentTypeAndCachingHeaders)
{
    for (const auto& file : served_files()) {
        SCOPED_TRACE(file.path);
        const auto response = get(file.path);
        EXPECT_EQ(response.result_int(), 200u);
        EXPECT_EQ(header(response, "Content-Type"), file.content_type);
        EXPECT_EQ(response.body(), file.body);
        EXPECT_EQ(header(response, "Content-Length"), std::to_string(file.body.size()));
        EXPECT_EQ(header(response, "Cache-Control"), "no-cache");
        EXPECT_EQ(header(response, "X-Content-Type-Options"), "nosniff");
        EXPECT_FALSE(header(response, "ETag").empty());
    }
}

TEST_F(HttpStatic, RootAndDirectoriesServeTheirIndex)
{
    for (const std::string target : {"/", "/?utm=1&x=%2e%2e"}) {
        SCOPED_TRACE(target);
        const auto response = get(target);
        EXPECT_EQ(response.result_int(), 200u);
        EXPECT_EQ(header(response, "Content-Type"), "text/html; charset=utf-8");
        EXPECT_EQ(response.body(), served_files()[0].body);
    }
    const auto sub = get("/sub/");
    EXPECT_EQ(sub.result_int(), 200u);
    EXPECT_EQ(sub.body(), "<p>sub index</p>\n");
    EXPECT_EQ(get("/a%20b.txt").body(), "spaced\n");
}

TEST_F(HttpStatic, DirectoryWithoutTrailingSlashRedirects)
{
    const auto response = get("/sub");
    EXPECT_EQ(response.result_int(), 301u);
    EXPECT_EQ(header(response, "Location"), "/sub/");
}

TEST_F(HttpStatic, MissingFilesAre404)
{
    for (const std::string target :
         {"/nope.html", "/sub/nope.js", "/empty/", "/index.html/x", "/.env"}) {
        SCOPED_TRACE(target);
        const auto response = get(target);
        EXPECT_EQ(response.result_int(), 404u);
        EXPECT_EQ(response.body().find(outside_secret), std::string::npos);
    }
}

TEST_F(HttpStatic, OtherMethodsGet405WithAllow)
{
    for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
        SCOPED_TRACE(method);
        const auto response = http_request(port(), method, "/index.html");
        EXPECT_EQ(response.result_int(), 405u);
        EXPECT_EQ(header(response, "Allow"), "GET, HEAD");
    }
}

TEST_F(HttpStatic, TraversalAttemptsNeverReachOutsideFiles)
{
    const std::string authority = "127.0.0.1:" + std::to_string(port());
    const std::vector<std::string> targets = {
        "/../outside-secret.txt",
        "/./../outside-secret.txt",
        "/sub/../../outside-secret.txt",
        "/%2e%2e/outside-secret.txt",
        "/%2E%2E/outside-secret.txt",
        "/.%2e/outside-secret.txt",
        "/%2e%2e%2foutside-secret.txt",
        "/..%2foutside-secret.txt",
        "/a/..%2f..%2foutside-secret.txt",
        "/sub/%2e%2e/%2e%2e/outside-secret.txt",
        "/%252e%252e/outside-secret.txt",
        "/..\\outside-secret.txt",
        "/sub\\..\\..\\outside-secret.txt",
        "/..%5coutside-secret.txt",
        "/%5c..%5coutside-secret.txt",
        "/outside-secret.txt%00.html",
        "/index.html%00",
        "/%00",
        "/escape-link",
        "/escape-dir/secret.txt",
        "/escape-dir/",
        "/../../../../../../../../etc/passwd",
        "//etc/passwd",
        "../outside-secret.txt",
        "http://" + authority + "/../outside-secret.txt",
        "http://" + authority + "/%2e%2e/outside-secret.txt",
        "*",
    };
    for (const auto& target : targets) {
        SCOPED_TRACE("GET " + target);
        HttpClient client;
        client.connect(port());
        client.send_raw("GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
        const auto response = client.read_response();
        ASSERT_TRUE(response.has_value()) << "no response: " << client.last_error();
        const unsigned status = response->result_int();
        EXPECT_TRUE(status == 400 || status == 404) << "status " << status;
        EXPECT_EQ(response->body().find(outside_secret), std::string::npos);
        EXPECT_EQ(response->body().find("root:x:0:0"), std::string::npos);
    }
}

// RFC 7230 5.3.2: an HTTP/1.1 server must accept absolute-form targets (proxies send them).
TEST_F(HttpStatic, AbsoluteFormTargetServesItsPath)
{
    const std::string authority = "127.0.0.1:" + std::to_string(port());
    HttpClient client;
    client.connect(port());
    client.send_raw("GET http://" + authority + "/index.html HTTP/1.1\r\nHost: " + authority +
                    "\r\n\r\n");
    const auto response = client.read_response();
    ASSERT_TRUE(response.has_value()) << "no response: " << client.last_error();
    EXPECT_EQ(response->result_int(), 200u);
    EXPECT_EQ(response->body(), served_files().front().body);
}

TEST_F(HttpStatic, HeadHasGetsHeadersAndNoBody)
{
    HttpClient client;
    client.connect(port());
    for (const auto& file : served_files()) {
        SCOPED_TRACE(file.path);
        const auto head = client.request("HEAD", file.path);
        // The GET on the same connection parses only if HEAD sent no body.
        const auto full = client.request("GET", file.path);
        EXPECT_EQ(head.result_int(), 200u);
        EXPECT_TRUE(head.body().empty());
        EXPECT_EQ(header(head, "Content-Length"), std::to_string(file.body.size()));
        for (const char* field :
             {"Content-Type", "ETag", "Cache-Control", "X-Content-Type-Options"})
            EXPECT_EQ(header(head, field), header(full, field)) << field;
        EXPECT_EQ(full.body(), file.body);
    }
}

TEST_F(HttpStatic, MatchingIfNoneMatchGets304UntilTheFileChanges)
{
    HttpClient client;
    client.connect(port());
    const auto first = client.request("GET", "/app.js");
    const std::string etag = header(first, "ETag");
    ASSERT_FALSE(etag.empty());

    const auto revalidated = client.request("GET", "/app.js", {{"If-None-Match", etag}});
    EXPECT_EQ(revalidated.result_int(), 304u);
    EXPECT_TRUE(revalidated.body().empty());
    EXPECT_EQ(header(revalidated, "ETag"), etag);

    const auto other = client.request("GET", "/app.js", {{"If-None-Match", "\"not-the-etag\""}});
    EXPECT_EQ(other.result_int(), 200u);
    EXPECT_EQ(other.body(), "console.log('app');\n");

    dir_.write("root/app.js", "console.log('a changed, longer app');\n");
    const auto changed = client.request("GET", "/app.js", {{"If-None-Match", etag}});
    EXPECT_EQ(changed.result_int(), 200u);
    EXPECT_EQ(changed.body(), "console.log('a changed, longer app');\n");
    EXPECT_NE(header(changed, "ETag"), etag);
}

TEST_F(HttpStatic, KeepAliveServesSeveralRequestsOnOneConnection)
{
    HttpClient client;
    client.connect(port());
    EXPECT_EQ(client.request("GET", "/index.html").result_int(), 200u);
    EXPECT_EQ(client.request("GET", "/missing").result_int(), 404u);
    EXPECT_EQ(client.request("HEAD", "/style.css").result_int(), 200u);
    EXPECT_EQ(client.request("POST", "/style.css").result_int(), 405u);
    EXPECT_EQ(client.request("GET", "/data.json").body(), "{\"ok\": true}\n");

    // Pipelined: three requests in one write, three responses in order.
    const std::string host = "Host: 127.0.0.1:" + std::to_string(port()) + "\r\n";
    client.send_raw("GET /app.js HTTP/1.1\r\n" + host + "\r\nGET /x.svg HTTP/1.1\r\n" + host +
                    "\r\nGET /m.mjs HTTP/1.1\r\n" + host + "\r\n");
    for (const auto* path : {"/app.js", "/x.svg", "/m.mjs"}) {
        SCOPED_TRACE(path);
        const auto response = client.read_response();
        ASSERT_TRUE(response.has_value()) << client.last_error();
        for (const auto& file : served_files()) {
            if (file.path == path) {
                EXPECT_EQ(response->body(), file.body);
            }
        }
    }
}

TEST_F(HttpStatic, WebSocketUpgradeOnlyAtWsOrRoot)
{
    for (const std::string target : {"/chat", "/ws/x", "/index.html", "/wss"}) {
        SCOPED_TRACE(target);
        WsClient client;
        EXPECT_EQ(client.try_connect(port(), target), 404u);
    }
    for (const std::string target : {"/ws", "/", "/ws?room=a&token=b", "/?v=1"}) {
        SCOPED_TRACE(target);
        WsClient client;
        ASSERT_EQ(client.try_connect(port(), target), 101u);
        client.send_json({{"action", "join"}, {"roomId", "r"}});
        EXPECT_EQ(client.next_json().value("action", ""), "joined");
    }
}

} // namespace
} // namespace signald::test
