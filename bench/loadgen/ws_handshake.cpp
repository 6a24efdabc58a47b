#include "ws_handshake.hpp"

#include "ws_target.hpp"

#include <boost/beast/core/detail/sha1.hpp>

#include <array>
#include <cctype>

namespace bench {
namespace {

std::string base64(const unsigned char* data, std::size_t size)
{
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < size; i += 3) {
        const std::uint32_t a = data[i];
        const std::uint32_t b = i + 1 < size ? data[i + 1] : 0;
        const std::uint32_t c = i + 2 < size ? data[i + 2] : 0;
        const std::uint32_t triple = (a << 16) | (b << 8) | c;
        out += digits[(triple >> 18) & 63];
        out += digits[(triple >> 12) & 63];
        out += i + 1 < size ? digits[(triple >> 6) & 63] : '=';
        out += i + 2 < size ? digits[triple & 63] : '=';
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

} // namespace

std::string make_ws_key(std::mt19937_64& random)
{
    std::array<unsigned char, 16> bytes{};
    for (std::size_t i = 0; i < bytes.size(); i += 8) {
        const std::uint64_t word = random();
        for (std::size_t j = 0; j < 8; ++j)
            bytes[i + j] = static_cast<unsigned char>(word >> (8 * j));
    }
    return base64(bytes.data(), bytes.size());
}

std::string ws_accept_for(std::string_view key)
{
    namespace detail = boost::beast::detail;
    const std::string input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    detail::sha1_context context;
    detail::init(context);
    detail::update(context, input.data(), input.size());
    std::array<unsigned char, detail::sha1_context::digest_size> digest{};
    detail::finish(context, digest.data());
    return base64(digest.data(), digest.size());
}

std::string make_upgrade_request(const WsTarget& target, std::string_view key)
{
    std::string request;
    request.reserve(256);
    request.append("GET ").append(target.path).append(" HTTP/1.1\r\n");
    request.append("Host: ").append(target.host_header).append("\r\n");
    request.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    request.append("Sec-WebSocket-Key: ").append(key).append("\r\n");
    request.append("Sec-WebSocket-Version: 13\r\n\r\n");
    return request;
}

const char* check_upgrade_response(std::string_view head, std::string_view expected_accept)
{
    const auto line_end = head.find("\r\n");
    const std::string_view status = head.substr(0, line_end);
    if (status.substr(0, 12) != "HTTP/1.1 101")
        return "upgrade refused (status is not 101)";
    bool accept_ok = false;
    std::size_t at = line_end + 2;
    while (at < head.size()) {
        const auto next = head.find("\r\n", at);
        const std::string_view line = head.substr(at, next - at);
        at = next == std::string_view::npos ? head.size() : next + 2;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos)
            continue;
        if (iequals(trim(line.substr(0, colon)), "sec-websocket-accept"))
            accept_ok = trim(line.substr(colon + 1)) == expected_accept;
    }
    return accept_ok ? nullptr : "upgrade reply lacks the right Sec-WebSocket-Accept";
}

} // namespace bench
