// GET /status: the status page of the shipped web root (web/status.html) under a name without
// .html, answered like every static file (ETag, no-cache, HEAD, 304) and wherever /metrics is
// (the Host policy decides both); its script and every module that script imports load too.

#include "http_client.hpp"
#include "signald_process.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace signald::test {
namespace {

const std::filesystem::path web_root = std::filesystem::path(SIGNALD_SOURCE_DIR) / "web";

std::string file_text(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string header(const HttpClient::Response& response, std::string_view name)
{
    return std::string(response[name]);
}

class StatusPage : public ::testing::Test
{
protected:
    StatusPage() : server_(std::make_unique<SignaldProcess>(server_args(web_root))) {}

    std::uint16_t port() const { return server_->port(); }

    std::unique_ptr<SignaldProcess> server_;
};

TEST_F(StatusPage, StatusAnswersTheStatusPageAsAStaticFile)
{
    const std::string page = file_text(web_root / "status.html");
    ASSERT_FALSE(page.empty());
    for (const std::string target : {"/status", "/status?every=1", "/status.html"}) {
        SCOPED_TRACE(target);
        const auto response = http_request(port(), "GET", target);
        EXPECT_EQ(response.result_int(), 200u);
        EXPECT_EQ(header(response, "Content-Type"), "text/html; charset=utf-8");
        EXPECT_EQ(header(response, "Cache-Control"), "no-cache");
        EXPECT_EQ(header(response, "X-Content-Type-Options"), "nosniff");
        EXPECT_FALSE(header(response, "ETag").empty());
        EXPECT_EQ(response.body(), page);
    }
}

TEST_F(StatusPage, TheScriptAndEveryModuleItImportsLoad)
{
    const auto page = http_request(port(), "GET", "/status");
    const std::regex script(R"re(<script type="module" src="([^"]+)")re");
    std::smatch found;
    ASSERT_TRUE(std::regex_search(page.body(), found, script)) << page.body();
    const std::regex stylesheet(R"re(<link rel="stylesheet" href="([^"]+)")re");
    std::smatch style;
    ASSERT_TRUE(std::regex_search(page.body(), style, stylesheet));
    const auto css = http_request(port(), "GET", "/" + style[1].str());
    EXPECT_EQ(css.result_int(), 200u) << style[1];
    EXPECT_EQ(header(css, "Content-Type"), "text/css; charset=utf-8");

    // The page is at /status, so its relative URLs resolve from the root; modules import each
    // other as "./name.js" within js/.
    const std::regex import_from(R"re(from "\./([a-z0-9-]+\.js)")re");
    std::vector<std::string> pending = {"/" + found[1].str()};
    std::set<std::string> loaded;
    while (!pending.empty()) {
        const std::string target = pending.back();
        pending.pop_back();
        if (!loaded.insert(target).second)
            continue;
        SCOPED_TRACE(target);
        const auto module = http_request(port(), "GET", target);
        ASSERT_EQ(module.result_int(), 200u);
        EXPECT_EQ(header(module, "Content-Type"), "text/javascript; charset=utf-8");
        const std::string& body = module.body();
        for (auto it = std::sregex_iterator(body.begin(), body.end(), import_from);
             it != std::sregex_iterator(); ++it)
            pending.push_back("/js/" + (*it)[1].str());
    }
    EXPECT_TRUE(loaded.contains("/js/status.js"));
    EXPECT_TRUE(loaded.contains("/js/prometheus-text.js"));
    EXPECT_GE(loaded.size(), 6u) << "status.js and the modules it imports";
}

TEST_F(StatusPage, HeadAndRevalidationWorkAsForEveryFile)
{
    HttpClient client;
    client.connect(port());
    const auto head = client.request("HEAD", "/status");
    const auto full = client.request("GET", "/status");
    EXPECT_EQ(head.result_int(), 200u);
    EXPECT_TRUE(head.body().empty());
    EXPECT_EQ(header(head, "Content-Length"), std::to_string(full.body().size()));
    EXPECT_EQ(header(head, "ETag"), header(full, "ETag"));

    const auto revalidated =
        client.request("GET", "/status", {{"If-None-Match", header(full, "ETag")}});
    EXPECT_EQ(revalidated.result_int(), 304u);
    EXPECT_TRUE(revalidated.body().empty());
    EXPECT_EQ(http_request(port(), "POST", "/status").result_int(), 405u);
    EXPECT_EQ(http_request(port(), "GET", "/status/").result_int(), 404u);
}

TEST_F(StatusPage, AForeignHostIsRefusedStatusAsMetrics)
{
    for (const std::string target : {"/status", "/metrics"}) {
        SCOPED_TRACE(target);
        EXPECT_EQ(http_request(port(), "GET", target, {{"Host", "evil.example"}}).result_int(),
                  403u);
        EXPECT_EQ(http_request(port(), "GET", target, {{"Host", "localhost"}}).result_int(), 200u);
    }
}

} // namespace
} // namespace signald::test
