#pragma once
// An IdSource for unit tests: hands out a scripted list of ids first, then numbered ids
// "aaaaaaaaa1", "aaaaaaaaa2", ... "aaaaaaaa10", ... (always 10 characters of [0-9a-z]).

#include "signald/core/ids.hpp"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace signald::test {

class FixedIds final : public IdSource
{
public:
    FixedIds() = default;
    explicit FixedIds(std::vector<ClientId> scripted) : scripted_(std::move(scripted)) {}

    // The n-th numbered id (n >= 1).
    static ClientId numbered(std::size_t n)
    {
        std::string digits = std::to_string(n);
        return std::string(client_id_chars - digits.size(), 'a') + digits;
    }

    ClientId next() override
    {
        ++draws_;
        if (next_scripted_ < scripted_.size())
            return scripted_[next_scripted_++];
        return numbered(++numbered_);
    }

    // Secrets 1, 2, 3, ... in the last bytes: distinct, so each token differs.
    ResumeSecret secret() override
    {
        ResumeSecret bytes{};
        std::size_t n = ++secrets_;
        for (std::size_t i = bytes.size(); i-- > 0 && n > 0; n >>= 8)
            bytes[i] = static_cast<std::uint8_t>(n & 0xFF);
        return bytes;
    }

    std::size_t draws() const { return draws_; }

private:
    std::vector<ClientId> scripted_;
    std::size_t next_scripted_ = 0;
    std::size_t numbered_ = 0;
    std::size_t draws_ = 0;
    std::size_t secrets_ = 0;
};

} // namespace signald::test
