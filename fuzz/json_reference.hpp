#pragma once
// The JSON verdict the fuzz targets hold signald to: nlohmann::json's, except for the three places
// json_scan.hpp documents where signald follows RFC 8259 instead (a NUL byte, a leading byte order
// mark, a number too large for a double). Shared by fuzz_protocol, fuzz_hub and
// tests/unit/json_scan_test.cpp.

#include "check.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace signald::fuzz {

// nlohmann's SAX parser, remembering only where and why it stopped. It is iterative, so a deeply
// nested input costs heap, not stack.
class StopSax final : public nlohmann::json_sax<nlohmann::json>
{
public:
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t where, const std::string& token,
                     const nlohmann::detail::exception& error) override
    {
        position = where;
        last_token = token;
        error_id = error.id;
        return false;
    }

    std::size_t position = 0;
    std::string last_token;
    int error_id = 0;
};

// text with each number too large for a double replaced by "0 ", so that nlohmann can read it; or
// nullopt if text is not exactly one valid JSON value.
inline std::optional<std::string> normalise_json(std::string text)
{
    if (text.find('\0') != std::string::npos)
        return std::nullopt; // nlohmann stops reading at a NUL; it is never valid JSON
    if (text.starts_with("\xEF\xBB\xBF"))
        return std::nullopt; // nlohmann skips a leading BOM; JSON.parse and RFC 8259 do not
    for (;;) {
        StopSax sax;
        if (nlohmann::json::sax_parse(text, &sax))
            return text;
        if (sax.error_id != 406) // 406: number overflow, the one refusal RFC 8259 does not make
            return std::nullopt;
        // The number token ends where nlohmann stopped; check that reading before trusting it.
        FUZZ_CHECK(sax.position >= sax.last_token.size());
        const std::size_t begin = sax.position - sax.last_token.size();
        FUZZ_CHECK(text.compare(begin, sax.last_token.size(), sax.last_token) == 0);
        text.replace(begin, sax.last_token.size(), "0 ");
    }
}

// text's DOM, with oversized numbers read as 0; discarded if text is not valid JSON by the rule
// above. Tries nlohmann's parser first: most texts have no oversized number.
inline nlohmann::json parse_json(std::string_view text)
{
    if (text.find('\0') != std::string_view::npos || text.starts_with("\xEF\xBB\xBF"))
        return nlohmann::json(nlohmann::json::value_t::discarded);
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (!parsed.is_discarded())
        return parsed;
    const auto normalised = normalise_json(std::string(text));
    if (!normalised)
        return parsed;
    return nlohmann::json::parse(*normalised, nullptr, false);
}

// Whether text is valid JSON by the rule above.
inline bool is_valid_json(std::string_view text)
{
    return normalise_json(std::string(text)).has_value();
}

} // namespace signald::fuzz
