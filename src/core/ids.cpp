#include "signald/core/ids.hpp"

#include <sys/random.h>

#include <cerrno>
#include <stdexcept>
#include <utility>
#include <string_view>

namespace signald {
namespace {

constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
// 252 = 7 * 36: bytes at or above it are dropped so that byte % 36 is uniform.
constexpr unsigned char accept_below = 252;

} // namespace

unsigned char RandomIds::take()
{
    if (used_ == pool_.size()) {
        std::size_t filled = 0;
        while (filled < pool_.size()) {
            const ssize_t got = ::getrandom(pool_.data() + filled, pool_.size() - filled, 0);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                throw std::runtime_error("getrandom failed");
            }
            filled += static_cast<std::size_t>(got);
        }
        used_ = 0;
    }
    return std::exchange(pool_[used_++], 0);
}

ClientId RandomIds::next()
{
    ClientId id;
    id.reserve(client_id_chars);
    while (id.size() < client_id_chars) {
        const unsigned char b = take();
        if (b < accept_below)
            id.push_back(alphabet[b % alphabet.size()]);
    }
    return id;
}

ResumeSecret RandomIds::secret()
{
    ResumeSecret bytes{};
    for (auto& b : bytes)
        b = take();
    return bytes;
}

} // namespace signald
