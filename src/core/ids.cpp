#include "signald/core/ids.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <string_view>

namespace signald {
namespace {

constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
// 252 = 7 * 36: bytes at or above it are dropped so that byte % 36 is uniform.
constexpr unsigned char accept_below = 252;

template <std::size_t N>
void fill_random(std::array<unsigned char, N>& bytes)
{
    std::size_t filled = 0;
    while (filled < bytes.size()) {
        const ssize_t got = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            throw std::runtime_error("getrandom failed");
        }
        filled += static_cast<std::size_t>(got);
    }
}

} // namespace

ClientId RandomIds::next()
{
    ClientId id;
    id.reserve(client_id_chars);
    std::array<unsigned char, 32> bytes{};
    while (id.size() < client_id_chars) {
        fill_random(bytes);
        for (unsigned char b : bytes) {
            if (b >= accept_below)
                continue;
            id.push_back(alphabet[b % alphabet.size()]);
            if (id.size() == client_id_chars)
                break;
        }
    }
    return id;
}

ResumeSecret RandomIds::secret()
{
    ResumeSecret bytes{};
    fill_random(bytes);
    return bytes;
}

} // namespace signald
