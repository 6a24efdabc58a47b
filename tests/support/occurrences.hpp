#pragma once
// How many times part occurs in text (overlapping matches count): tests use it to check that a
// log line or a message appeared exactly as often as the events behind it.

#include <cstddef>
#include <string_view>

namespace signald::test {

inline std::size_t occurrences(std::string_view text, std::string_view part)
{
    std::size_t count = 0;
    for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + 1))
        ++count;
    return count;
}

} // namespace signald::test
