#include "signald/token_command.hpp"

#include "signald/auth/room_token.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace signald {
namespace {

// The URL query encoding of a value: unreserved characters as they are, the rest as %XX.
std::string percent_encode(std::string_view text)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[byte >> 4]);
            out.push_back(hex[byte & 0xF]);
        }
    }
    return out;
}

// url with room and token added to its query, before any fragment.
std::string invite_url(const std::string& url, const std::string& room, const std::string& token)
{
    const auto hash = url.find('#');
    const std::string base = url.substr(0, hash);
    const std::string fragment = hash == std::string::npos ? "" : url.substr(hash);
    const char joiner = base.find('?') == std::string::npos
                            ? '?'
                            : (base.ends_with('?') || base.ends_with('&') ? '\0' : '&');
    std::string out = base;
    if (joiner != '\0')
        out.push_back(joiner);
    return out + "room=" + percent_encode(room) + "&token=" + token + fragment;
}

} // namespace

std::variant<AuthSecrets, std::string> load_auth_secrets(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return "--auth-secret-file " + path + ": cannot open it (" + std::strerror(errno) + ")";
    std::ostringstream text;
    text << file.rdbuf();
    auto secrets = parse_auth_secrets(text.str());
    if (auto* problem = std::get_if<std::string>(&secrets))
        return "--auth-secret-file " + path + ": " + *problem;
    return secrets;
}

std::optional<long long> parse_ttl(const std::string& text)
{
    if (text.empty())
        return std::nullopt;
    long long unit = 1;
    std::string digits = text;
    switch (text.back()) {
    case 's':
        digits.pop_back();
        break;
    case 'm':
        unit = 60;
        digits.pop_back();
        break;
    case 'h':
        unit = 3600;
        digits.pop_back();
        break;
    case 'd':
        unit = 86400;
        digits.pop_back();
        break;
    default:
        break;
    }
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const long long value = std::stoll(digits) * unit;
    if (value <= 0)
        return std::nullopt;
    return value;
}

int run_token_command(const TokenCommand& command)
{
    const auto fail = [](const std::string& why) {
        std::cerr << "signald: " << why << "\n";
        return 1;
    };
    auto secrets = load_auth_secrets(command.secret_file);
    if (const auto* problem = std::get_if<std::string>(&secrets))
        return fail(*problem);
    const auto ttl = parse_ttl(command.ttl);
    if (!ttl)
        return fail("--ttl \"" + command.ttl + "\": give seconds, or a number with s, m, h or d");

    TokenRequest request;
    request.room = command.room;
    request.name = command.name;
    request.sub = command.sub;
    request.kid = command.kid;
    request.moderator = command.role == "moderator";
    request.ttl_seconds = *ttl;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto minted = mint_room_token(request, std::get<AuthSecrets>(secrets), now);
    if (const auto* error = std::get_if<MintError>(&minted))
        return fail(error->message);
    const std::string& token = std::get<std::string>(minted);
    std::cout << (command.url ? invite_url(*command.url, command.room, token) : token) << "\n";
    return 0;
}

} // namespace signald
