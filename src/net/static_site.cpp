#include "signald/net/static_site.hpp"
#include "signald/core/percent_decode.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace signald {
namespace {

namespace fs = std::filesystem;

bool is_within(const fs::path& root, const fs::path& path)
{
    auto root_part = root.begin();
    auto path_part = path.begin();
    for (; root_part != root.end(); ++root_part, ++path_part)
        if (path_part == path.end() || *root_part != *path_part)
            return false;
    return true;
}

HttpAnswer plain(unsigned status, std::string_view text)
{
    return HttpAnswer{status, "text/plain; charset=utf-8", std::string(text) + "\n", {}, {}};
}

// A weak validator from size and modification time, as nginx does: cheap, and it changes
// whenever the file is saved.
std::string make_etag(std::uintmax_t size, fs::file_time_type modified)
{
    std::ostringstream out;
    out << "W/\"" << std::hex << size << '-' << modified.time_since_epoch().count() << '"';
    return out.str();
}

bool etag_matches(std::string_view if_none_match, std::string_view etag)
{
    if (if_none_match.empty())
        return false;
    if (if_none_match == "*")
        return true;
    // A list of entity tags; weak comparison, so W/"x" and "x" match.
    auto strip_weak = [](std::string_view tag) {
        return tag.starts_with("W/") ? tag.substr(2) : tag;
    };
    const std::string_view wanted = strip_weak(etag);
    std::size_t pos = 0;
    while (pos <= if_none_match.size()) {
        std::size_t comma = if_none_match.find(',', pos);
        if (comma == std::string_view::npos)
            comma = if_none_match.size();
        std::string_view tag = if_none_match.substr(pos, comma - pos);
        while (!tag.empty() && tag.front() == ' ')
            tag.remove_prefix(1);
        while (!tag.empty() && tag.back() == ' ')
            tag.remove_suffix(1);
        if (strip_weak(tag) == wanted)
            return true;
        pos = comma + 1;
    }
    return false;
}

} // namespace

std::optional<std::string> resolve_target(std::string_view target)
{
    const std::size_t query = target.find_first_of("?#");
    if (query != std::string_view::npos)
        target = target.substr(0, query);
    // Absolute-form ("http://host/path") must be accepted by an HTTP/1.1 server (RFC 7230
    // 5.3.2); only its path matters here, since this server has one web root whatever the host.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size() &&
            std::equal(scheme.begin(), scheme.end(), target.begin(),
                       [](char a, char b) { return a == (b | 0x20); })) {
            const std::size_t path = target.find('/', scheme.size());
            target = path == std::string_view::npos ? std::string_view{"/"} : target.substr(path);
            break;
        }
    }
    if (target.empty() || target.front() != '/')
        return std::nullopt; // asterisk-form, authority-form or garbage: not a file request

    const auto decoded = percent_decode(target);
    if (!decoded)
        return std::nullopt;

    std::string path;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const std::size_t slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (segment.empty())
            continue; // "//" collapses, as in every common server
        if (segment.front() == '.')
            return std::nullopt; // ".", "..", and hidden files alike
        for (char c : segment) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x20 || byte == 0x7F || c == '\\')
                return std::nullopt;
        }
        if (!path.empty())
            path += '/';
        path += segment;
    }
    if (decoded->back() == '/')
        path += path.empty() ? "index.html" : "/index.html";
    return path;
}

std::string_view content_type_for(std::string_view file_name)
{
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> types{{
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".webp", "image/webp"},
        {".ico", "image/x-icon"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
        {".wasm", "application/wasm"},
    }};
    const std::size_t dot = file_name.rfind('.');
    if (dot != std::string_view::npos && file_name.find('/', dot) == std::string_view::npos) {
        std::string extension(file_name.substr(dot));
        for (char& c : extension)
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        for (const auto& [ext, type] : types)
            if (ext == extension)
                return type;
    }
    return "application/octet-stream";
}

StaticSite::StaticSite(const fs::path& root)
{
    std::error_code ec;
    root_ = fs::canonical(root, ec);
    if (ec || !fs::is_directory(root_))
        throw std::runtime_error("web root " + root.string() + " is not a directory");
    if (!fs::is_regular_file(root_ / "index.html"))
        throw std::runtime_error("web root " + root_.string() + " has no index.html");
}

HttpAnswer StaticSite::get(std::string_view target, std::string_view if_none_match) const
{
    const auto relative = resolve_target(target);
    if (!relative)
        return plain(404, "404 Not Found");

    std::error_code ec;
    const fs::path real = fs::canonical(root_ / *relative, ec);
    if (ec || !is_within(root_, real))
        return plain(404, "404 Not Found"); // missing, or a symlink that leads out of the root
    if (fs::is_directory(real, ec)) {
        // "/sub" names a directory: send the browser to "/sub/" so relative links resolve.
        const std::size_t query = target.find_first_of("?#");
        HttpAnswer moved = plain(301, "301 Moved Permanently");
        moved.location = std::string(target.substr(0, query)) + "/";
        if (query != std::string_view::npos)
            moved.location += target.substr(query);
        return moved;
    }
    if (!fs::is_regular_file(real, ec))
        return plain(404, "404 Not Found");

    const auto size = fs::file_size(real, ec);
    const auto modified = fs::last_write_time(real, ec);
    if (ec)
        return plain(404, "404 Not Found");

    HttpAnswer response;
    response.content_type =
        std::string(content_type_for(relative->substr(relative->rfind('/') + 1)));
    response.etag = make_etag(size, modified);
    if (etag_matches(if_none_match, response.etag)) {
        response.status = 304;
        return response;
    }

    std::ifstream file(real, std::ios::binary);
    std::ostringstream body;
    body << file.rdbuf();
    if (!file)
        return plain(500, "500 Internal Server Error");
    response.body = std::move(body).str();
    return response;
}

} // namespace signald
