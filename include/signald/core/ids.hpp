#pragma once
// Client ids and where they come from. Hub draws one per connection and retries on a collision,
// so an IdSource need only be random, not unique. Tests substitute a fixed sequence.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace signald {

// 10 characters of [0-9a-z]: about 51.7 bits, unguessable by other members of a room.
using ClientId = std::string;
inline constexpr std::size_t client_id_chars = 10;

// The secret half of a resume token (hub.hpp): 144 bits, more than the 128 the protocol asks for,
// and a multiple of 3 bytes so its base64url text has no padding (24 characters).
using ResumeSecret = std::array<std::uint8_t, 18>;

// Hashes a ClientId as std::hash<std::string> does, but noexcept and so "fast" to libstdc++: an
// unordered container keyed by it then does not store each key's hash beside it (8 bytes a
// node, for maps with a node per connection), and recomputes it for the few keys a lookup or a
// rehash visits instead.
struct ClientIdHash
{
    std::size_t operator()(const ClientId& id) const noexcept
    {
        return std::hash<std::string_view>{}(id);
    }
};

class IdSource
{
public:
    virtual ~IdSource() = default;
    virtual ClientId next() = 0;
    // Unguessable bytes for one resume token.
    virtual ResumeSecret secret() = 0;
};

// Draws from the kernel's CSPRNG (getrandom), rejection-sampled so every character is uniform.
// Its output is fetched 4 KiB at a time: one system call per hundred or so connections rather
// than two for each (an id and a resume secret). Each byte is handed out once and wiped.
class RandomIds final : public IdSource
{
public:
    ClientId next() override;
    ResumeSecret secret() override;

private:
    unsigned char take();

    std::array<unsigned char, 4096> pool_{};
    std::size_t used_ = pool_.size();
};

} // namespace signald
