#pragma once
// StaticSite: answers GET/HEAD for files under the web root. Knows nothing of Beast or sockets:
// it returns an HttpAnswer, which HttpSession turns into an HTTP message. Files are read per
// request (they are small), so an edit to web/ shows on the next reload; ETags make that reload
// cheap.
//
// It must never serve a byte from outside the web root: targets are resolved by resolve_target
// (pure, fuzzable), then the real path is checked against the root after symlinks are followed.

#include "signald/net/http_answer.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace signald {

// Maps a request target ("/a/b.js?x=1") to a path relative to the web root ("a/b.js"); a
// directory ("/", "/sub/") maps to its index.html. nullopt when the target can never name a
// servable file: not origin-form, bad percent-encoding, NUL or other control bytes, backslashes,
// "." or ".." segments, or dotfiles (".git", ".env").
std::optional<std::string> resolve_target(std::string_view target);

// Content-Type for a file name, by extension; application/octet-stream when unknown.
std::string_view content_type_for(std::string_view file_name);

class StaticSite
{
public:
    // Throws std::runtime_error if root is not a directory holding index.html.
    explicit StaticSite(const std::filesystem::path& root);

    // The answer to a GET (a HEAD is the same minus the body). if_none_match is the request's
    // If-None-Match header value, possibly empty.
    HttpAnswer get(std::string_view target, std::string_view if_none_match) const;

    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_; // canonical: every served file's real path must start with it
};

} // namespace signald
