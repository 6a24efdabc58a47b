#pragma once
// Client ids and where they come from. Hub draws one per connection and retries on a collision,
// so an IdSource need only be random, not unique. Tests substitute a fixed sequence.

#include <cstddef>
#include <string>

namespace signald {

// 10 characters of [0-9a-z]: about 51.7 bits, unguessable by other members of a room.
using ClientId = std::string;
inline constexpr std::size_t client_id_chars = 10;

class IdSource
{
public:
    virtual ~IdSource() = default;
    virtual ClientId next() = 0;
};

// Draws from the kernel's CSPRNG (getrandom), rejection-sampled so every character is uniform.
class RandomIds final : public IdSource
{
public:
    ClientId next() override;
};

} // namespace signald
