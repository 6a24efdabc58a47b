#pragma once
// Whether text is a UTC time as --log-format json writes it: 2026-01-02T03:04:05.678Z. Shared by
// the formatter's unit test and the integration test of the real binary's logs. (Not std::regex:
// under the sanitizers GCC 12 warns inside <regex>, and warnings are errors.)

#include <cstddef>
#include <string_view>

namespace signald::test {

inline bool is_utc_timestamp(std::string_view text)
{
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (text.size() != shape.size())
        return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool digit = text[i] >= '0' && text[i] <= '9';
        if (shape[i] == 'd' ? !digit : text[i] != shape[i])
            return false;
    }
    return true;
}

} // namespace signald::test
