#pragma once
// Client ids and where they come from. Hub draws one per connection and retries on a collision,
// so an IdSource need only be random, not unique. Tests substitute a fixed sequence.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace signald {

// 10 characters of [0-9a-z]: about 51.7 bits, unguessable by other members of a room.
using ClientId = std::string;
inline constexpr std::size_t client_id_chars = 10;

// The secret half of a resume token (hub.hpp): 144 bits, more than the 128 the protocol asks for,
// and a multiple of 3 bytes so its base64url text has no padding (24 characters).
using ResumeSecret = std::array<std::uint8_t, 18>;

class IdSource
{
public:
    virtual ~IdSource() = default;
    virtual ClientId next() = 0;
    // Unguessable bytes for one resume token.
    virtual ResumeSecret secret() = 0;
};

// Draws from the kernel's CSPRNG (getrandom), rejection-sampled so every character is uniform.
class RandomIds final : public IdSource
{
public:
    ClientId next() override;
    ResumeSecret secret() override;
};

} // namespace signald
