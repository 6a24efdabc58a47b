#pragma once
// A small JSON scanner for the receive hot path: walks one object's members and hands each key
// and raw value text to a callback, skipping nested values without building anything. Keys are
// found by name, never by offset, because the two servers under test serialise differently.
// It assumes the text is JSON (both servers produce it); on malformed input it returns false
// rather than guessing. Strings are not unescaped: as_plain() refuses any string holding a
// backslash, and every value the generator compares is plain ASCII.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace bench::json {

inline const char* skip_space(const char* p, const char* end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        ++p;
    return p;
}

// p is just past an opening quote; returns just past the closing quote, or nullptr.
inline const char* skip_string_body(const char* p, const char* end)
{
    for (;;) {
        const auto* quote =
            static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
        if (quote == nullptr)
            return nullptr;
        // An odd run of backslashes before the quote escapes it.
        std::size_t backslashes = 0;
        while (quote - backslashes > p &&
               quote[-1 - static_cast<std::ptrdiff_t>(backslashes)] == '\\')
            ++backslashes;
        if (backslashes % 2 == 0)
            return quote + 1;
        p = quote + 1;
    }
}

// p is at the first character of a value; returns just past it, or nullptr.
inline const char* skip_value(const char* p, const char* end)
{
    if (p >= end)
        return nullptr;
    if (*p == '"')
        return skip_string_body(p + 1, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            const char c = *p;
            if (c == '"') {
                p = skip_string_body(p + 1, end);
                if (p == nullptr)
                    return nullptr;
                continue;
            }
            if (c == '{' || c == '[') {
                ++depth;
            } else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            ++p;
        }
        return nullptr;
    }
    // Number, true, false or null: runs to the next delimiter.
    const char* start = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
           *p != '\r' && *p != '\t')
        ++p;
    return p == start ? nullptr : p;
}

// Calls on_member(key, raw_value) for each member of the object in text, in order. Keys are
// passed without quotes and unescaped is not attempted (our keys never need escapes). Returns
// false if text is not one well-formed object.
template <class OnMember>
bool for_each_member(std::string_view text, OnMember&& on_member)
{
    const char* p = text.data();
    const char* const end = p + text.size();
    p = skip_space(p, end);
    if (p == end || *p != '{')
        return false;
    p = skip_space(p + 1, end);
    if (p < end && *p == '}')
        return skip_space(p + 1, end) == end;
    for (;;) {
        if (p >= end || *p != '"')
            return false;
        const char* key_end = skip_string_body(p + 1, end);
        if (key_end == nullptr)
            return false;
        const std::string_view key(p + 1, static_cast<std::size_t>(key_end - 1 - (p + 1)));
        p = skip_space(key_end, end);
        if (p >= end || *p != ':')
            return false;
        p = skip_space(p + 1, end);
        const char* value_end = skip_value(p, end);
        if (value_end == nullptr)
            return false;
        on_member(key, std::string_view(p, static_cast<std::size_t>(value_end - p)));
        p = skip_space(value_end, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            return skip_space(p + 1, end) == end;
        return false;
    }
}

// Calls on_element(raw_value) for each element of the array in text. Returns false if malformed.
template <class OnElement>
bool for_each_element(std::string_view text, OnElement&& on_element)
{
    const char* p = text.data();
    const char* const end = p + text.size();
    p = skip_space(p, end);
    if (p == end || *p != '[')
        return false;
    p = skip_space(p + 1, end);
    if (p < end && *p == ']')
        return true;
    for (;;) {
        const char* value_end = skip_value(p, end);
        if (value_end == nullptr)
            return false;
        on_element(std::string_view(p, static_cast<std::size_t>(value_end - p)));
        p = skip_space(value_end, end);
        if (p < end && *p == ',') {
            p = skip_space(p + 1, end);
            continue;
        }
        return p < end && *p == ']';
    }
}

// The contents of a raw JSON string value that needs no unescaping; empty and false otherwise.
inline bool as_plain(std::string_view raw, std::string_view& contents)
{
    if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"')
        return false;
    contents = raw.substr(1, raw.size() - 2);
    return std::memchr(contents.data(), '\\', contents.size()) == nullptr;
}

// A raw JSON non-negative integer without sign, fraction or exponent (what the generator sends).
inline bool as_uint(std::string_view raw, std::uint64_t& value)
{
    if (raw.empty() || raw.size() > 19)
        return false;
    std::uint64_t result = 0;
    for (const char c : raw) {
        if (c < '0' || c > '9')
            return false;
        result = result * 10 + static_cast<std::uint64_t>(c - '0');
    }
    value = result;
    return true;
}

} // namespace bench::json
