#include "signal_payload.hpp"

#include "json_scan.hpp"
#include "ws_frame.hpp"

#include <array>
#include <charconv>
#include <cstring>

namespace bench {
namespace {

constexpr std::string_view alphabet =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
static_assert(alphabet.size() == 64);

// The alphabet repeated: padding of (s, q) is the slice starting at offset_of(s, q), so building
// and verifying are both one memcpy/memcmp.
constexpr std::size_t max_padding_bytes = offer_data_bytes;
const std::array<char, max_padding_bytes + 64>& pattern()
{
    static const auto bytes = [] {
        std::array<char, max_padding_bytes + 64> result{};
        for (std::size_t i = 0; i < result.size(); ++i)
            result[i] = alphabet[i % alphabet.size()];
        return result;
    }();
    return bytes;
}

std::size_t offset_of(std::uint64_t sender, std::uint64_t seq)
{
    return static_cast<std::size_t>((sender * 31 + seq * 7) % alphabet.size());
}

struct Digits
{
    char text[24];
    std::size_t size;
};

template <class Integer>
Digits digits_of(Integer value)
{
    Digits digits{};
    const auto result = std::to_chars(digits.text, digits.text + sizeof digits.text, value);
    digits.size = static_cast<std::size_t>(result.ptr - digits.text);
    return digits;
}

} // namespace

std::size_t append_signal_frame(std::string& out, const SignalSpec& spec)
{
    const Digits s = digits_of(spec.sender);
    const Digits q = digits_of(spec.seq);
    const Digits t = digits_of(spec.sent_ns);
    constexpr std::string_view data_fixed = R"({"s":,"q":,"t":,"p":""})";
    const std::size_t unpadded = data_fixed.size() + s.size + q.size + t.size;
    const std::size_t target = data_bytes_for(spec.type);
    const std::size_t padding = target > unpadded ? target - unpadded : 0;
    const std::size_t data_size = unpadded + padding;

    constexpr std::string_view head = R"({"action":"signal","roomId":")";
    constexpr std::string_view type_key = R"(","type":")";
    constexpr std::string_view data_key = R"(","data":)";
    constexpr std::string_view to_key = R"(,"to":")";
    // Before type, where a server that kept the request's members would keep it.
    constexpr std::string_view from_key = R"(","from":")";
    std::size_t payload = head.size() + spec.room_id.size() + type_key.size() + spec.type.size() +
                          data_key.size() + data_size + 1;
    if (!spec.to.empty())
        payload += to_key.size() + spec.to.size() + 1;
    if (!spec.forged_from.empty())
        payload += from_key.size() + spec.forged_from.size();

    // Header first: the size is known exactly, so the frame is built in place with no scratch copy.
    append_client_frame_header(out, WsOpcode::text, payload);
    out.append(head).append(spec.room_id);
    if (!spec.forged_from.empty())
        out.append(from_key).append(spec.forged_from);
    out.append(type_key).append(spec.type).append(data_key);
    out.append(R"({"s":)").append(s.text, s.size);
    out.append(R"(,"q":)").append(q.text, q.size);
    out.append(R"(,"t":)").append(t.text, t.size);
    out.append(R"(,"p":")").append(pattern().data() + offset_of(spec.sender, spec.seq), padding);
    out.append(R"("})");
    if (!spec.to.empty())
        out.append(to_key).append(spec.to).append(1, '"');
    out.append(1, '}');
    return payload;
}

const char* parse_payload(std::string_view data, PayloadFields& fields)
{
    unsigned seen = 0;
    bool numbers_ok = true;
    bool padding_ok = true;
    const bool object_ok =
        json::for_each_member(data, [&](std::string_view key, std::string_view raw) {
            if (key.size() != 1)
                return;
            std::uint64_t number = 0;
            switch (key[0]) {
            case 's':
                numbers_ok = numbers_ok && json::as_uint(raw, fields.sender);
                seen |= 1;
                break;
            case 'q':
                numbers_ok = numbers_ok && json::as_uint(raw, fields.seq);
                seen |= 2;
                break;
            case 't':
                numbers_ok = numbers_ok && json::as_uint(raw, number);
                fields.sent_ns = static_cast<std::int64_t>(number);
                seen |= 4;
                break;
            case 'p':
                padding_ok = json::as_plain(raw, fields.padding);
                seen |= 8;
                break;
            default:
                break;
            }
        });
    if (!object_ok)
        return "data is not a JSON object";
    if (seen != 15)
        return "data lacks one of s, q, t, p";
    if (!numbers_ok)
        return "data s/q/t is not a plain non-negative integer";
    if (!padding_ok)
        return "data p is not a plain string";
    return nullptr;
}

bool payload_intact(std::string_view data, std::string_view type, const PayloadFields& fields)
{
    if (data.size() != data_bytes_for(type) || fields.padding.size() > max_padding_bytes)
        return false;
    const char* expected = pattern().data() + offset_of(fields.sender, fields.seq);
    return std::memcmp(fields.padding.data(), expected, fields.padding.size()) == 0;
}

} // namespace bench
