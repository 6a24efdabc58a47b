// fuzz_resolve_target: an HTTP request target, as a client could send it, through resolve_target.
// Whatever it accepts must be a plain relative path that cannot leave the web root or name a
// hidden file, and resolving that path again must give the same path back.

#include "check.hpp"

#include "signald/net/static_site.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

void check_path(std::string_view path)
{
    FUZZ_CHECK(!path.empty());
    FUZZ_CHECK(path.front() != '/' && path.back() != '/');
    for (char c : path) {
        const auto byte = static_cast<unsigned char>(c);
        FUZZ_CHECK(byte >= 0x20 && byte != 0x7F && c != '\\');
    }
    // Every segment is non-empty (so no "//") and starts with something other than a dot, which
    // rules out ".", ".." and dotfiles at once.
    std::size_t begin = 0;
    for (;;) {
        const std::size_t slash = path.find('/', begin);
        const std::string_view segment = path.substr(begin, slash - begin);
        FUZZ_CHECK(!segment.empty() && segment.front() != '.');
        if (slash == std::string_view::npos)
            break;
        begin = slash + 1;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size)
{
    const std::string_view target(reinterpret_cast<const char*>(bytes), size);
    const auto path = signald::resolve_target(target);
    if (!path)
        return 0;
    check_path(*path);

    // A resolved path is its own target, unless it holds a byte that means something in a target
    // ('%', '?', '#': they can only have come from percent-escapes).
    if (path->find_first_of("%?#") == std::string::npos)
        FUZZ_CHECK(signald::resolve_target("/" + *path) == path);
    return 0;
}
