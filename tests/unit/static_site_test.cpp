#include "signald/net/static_site.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace signald {
namespace static_site_test {

namespace fs = std::filesystem;

TEST(ResolveTarget, RootAndDirectoriesMapToIndexHtml)
{
    EXPECT_EQ(resolve_target("/"), "index.html");
    EXPECT_EQ(resolve_target("/?room=x"), "index.html");
    EXPECT_EQ(resolve_target("/sub/"), "sub/index.html");
    EXPECT_EQ(resolve_target("/sub"), "sub");
}

TEST(ResolveTarget, QueryFragmentAndPercentEncodingAreHandled)
{
    EXPECT_EQ(resolve_target("/app.js?v=3#x"), "app.js");
    EXPECT_EQ(resolve_target("/a%20b.css"), "a b.css");
    EXPECT_EQ(resolve_target("//a///b.js"), "a/b.js");
    EXPECT_EQ(resolve_target("/%C3%A9.js"), "\xC3\xA9.js");
}

TEST(ResolveTarget, AbsoluteFormIsReducedToItsPath)
{
    EXPECT_EQ(resolve_target("http://127.0.0.1:8787/app.js?x"), "app.js");
    EXPECT_EQ(resolve_target("HTTPS://example.org"), "index.html");
    EXPECT_EQ(resolve_target("http://example.org/sub/"), "sub/index.html");
}

TEST(ResolveTarget, TraversalAndOddBytesNeverResolve)
{
    for (const char* target : {"/../etc/passwd",
                               "/a/../../x",
                               "/%2e%2e/x",
                               "/%2E%2E%2Fx",
                               "/a/..%2f..%2fx",
                               "/.",
                               "/..",
                               "/.git/config",
                               "/.env",
                               "/a%00.js",
                               "/a%0a.js",
                               "/..\\x",
                               "/a\\b.js",
                               "/a%5cb.js",
                               "/%",
                               "/%4",
                               "/%zz",
                               "*",
                               "",
                               "x.js",
                               "/a%7f",
                               "host:80",
                               "http://host/../x",
                               "http://host/.env"})
        EXPECT_EQ(resolve_target(target), std::nullopt) << target;
}

TEST(ContentType, KnownExtensionsGetTheirTypesCaseInsensitively)
{
    EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("m.mjs"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("s.CSS"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("i.svg"), "image/svg+xml");
    EXPECT_EQ(content_type_for("i.png"), "image/png");
    EXPECT_EQ(content_type_for("favicon.ico"), "image/x-icon");
    EXPECT_EQ(content_type_for("d.json"), "application/json");
    EXPECT_EQ(content_type_for("app.webmanifest"), "application/manifest+json");
    EXPECT_EQ(content_type_for("README"), "application/octet-stream");
    EXPECT_EQ(content_type_for("x.unknown"), "application/octet-stream");
}

class StaticSiteTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        base_ = fs::temp_directory_path() /
                ("signald-site-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(base_);
        root_ = base_ / "web";
        fs::create_directories(root_ / "sub");
        write(root_ / "index.html", "<h1>home</h1>");
        write(root_ / "app.js", "console.log(1)");
        write(root_ / "sub" / "index.html", "sub home");
        write(base_ / "secret.txt", "top secret");
        fs::create_symlink(base_ / "secret.txt", root_ / "leak.txt");
        fs::create_symlink(root_ / "app.js", root_ / "alias.js");
    }
    void TearDown() override { fs::remove_all(base_); }

    static void write(const fs::path& path, const std::string& text)
    {
        std::ofstream(path, std::ios::binary) << text;
    }

    fs::path base_;
    fs::path root_;
};

TEST_F(StaticSiteTest, ServesIndexWithTypeAndEtag)
{
    const StaticSite site(root_);
    const auto response = site.get("/", "");
    EXPECT_EQ(response.status, 200u);
    EXPECT_EQ(response.body, "<h1>home</h1>");
    EXPECT_EQ(response.content_type, "text/html; charset=utf-8");
    EXPECT_FALSE(response.etag.empty());
}

TEST_F(StaticSiteTest, MatchingIfNoneMatchGivesNotModifiedWithoutBody)
{
    const StaticSite site(root_);
    const auto first = site.get("/app.js", "");
    EXPECT_EQ(site.get("/app.js", first.etag).status, 304u);
    EXPECT_EQ(site.get("/app.js", "\"other\", " + first.etag).status, 304u);
    EXPECT_TRUE(site.get("/app.js", first.etag).body.empty());
    EXPECT_EQ(site.get("/app.js", "\"other\"").status, 200u);
}

TEST_F(StaticSiteTest, EditingAFileChangesItsEtagAndBody)
{
    const StaticSite site(root_);
    const auto before = site.get("/app.js", "");
    write(root_ / "app.js", "console.log('changed, and longer')");
    const auto after = site.get("/app.js", before.etag);
    EXPECT_EQ(after.status, 200u);
    EXPECT_NE(after.etag, before.etag);
    EXPECT_EQ(after.body, "console.log('changed, and longer')");
}

TEST_F(StaticSiteTest, SymlinkLeadingOutOfTheRootIsNotServed)
{
    const StaticSite site(root_);
    const auto response = site.get("/leak.txt", "");
    EXPECT_EQ(response.status, 404u);
    EXPECT_EQ(response.body.find("top secret"), std::string::npos);
}

TEST_F(StaticSiteTest, SymlinkInsideTheRootIsServed)
{
    const StaticSite site(root_);
    EXPECT_EQ(site.get("/alias.js", "").body, "console.log(1)");
}

TEST_F(StaticSiteTest, DirectoryWithoutSlashRedirectsKeepingTheQuery)
{
    const StaticSite site(root_);
    const auto response = site.get("/sub?x=1", "");
    EXPECT_EQ(response.status, 301u);
    EXPECT_EQ(response.location, "/sub/?x=1");
    EXPECT_EQ(site.get("/sub/", "").body, "sub home");
}

TEST_F(StaticSiteTest, MissingFileIsNotFound)
{
    const StaticSite site(root_);
    EXPECT_EQ(site.get("/nope.js", "").status, 404u);
    EXPECT_EQ(site.get("/../secret.txt", "").status, 404u);
}

TEST_F(StaticSiteTest, RootWithoutIndexOrMissingRootIsRefusedAtStartup)
{
    fs::remove(root_ / "index.html");
    EXPECT_THROW(StaticSite{root_}, std::runtime_error);
    EXPECT_THROW(StaticSite{base_ / "does-not-exist"}, std::runtime_error);
}

} // namespace static_site_test
} // namespace signald
