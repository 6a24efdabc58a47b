#include "signald/cluster/bus_message.hpp"

#include <algorithm>

namespace signald {
namespace {

// Each message: kind (1 byte), id length (1 byte), id, number (8 bytes, big-endian), text length
// (4 bytes, big-endian), text. Ids are short; texts are at most a message's size.
void append_be(std::string& out, std::uint64_t value, int bytes)
{
    for (int i = bytes - 1; i >= 0; --i)
        out += static_cast<char>((value >> (8 * i)) & 0xff);
}

std::optional<std::uint64_t> read_be(std::string_view in, std::size_t& pos, int bytes)
{
    if (in.size() - pos < static_cast<std::size_t>(bytes))
        return std::nullopt;
    std::uint64_t value = 0;
    for (int i = 0; i < bytes; ++i)
        value = (value << 8) | static_cast<unsigned char>(in[pos++]);
    return value;
}

bool known(std::uint8_t kind)
{
    return (kind >= 1 && kind <= 8) || (kind >= 16 && kind <= 20);
}

} // namespace

void append_message(std::string& batch, BusKind kind, std::string_view id, std::uint64_t number,
                    std::string_view text)
{
    batch += static_cast<char>(kind);
    const std::size_t id_size = std::min<std::size_t>(id.size(), 255);
    batch += static_cast<char>(id_size);
    batch.append(id.substr(0, id_size));
    append_be(batch, number, 8);
    append_be(batch, text.size(), 4);
    batch.append(text);
}

std::optional<std::vector<BusMessage>> decode_batch(std::string_view batch)
{
    std::vector<BusMessage> messages;
    std::size_t pos = 0;
    while (pos < batch.size()) {
        BusMessage message;
        const auto kind = read_be(batch, pos, 1);
        if (!kind || !known(static_cast<std::uint8_t>(*kind)))
            return std::nullopt;
        message.kind = static_cast<BusKind>(*kind);
        const auto id_size = read_be(batch, pos, 1);
        if (!id_size || batch.size() - pos < *id_size)
            return std::nullopt;
        message.id.assign(batch.substr(pos, *id_size));
        pos += *id_size;
        const auto number = read_be(batch, pos, 8);
        const auto text_size = read_be(batch, pos, 4);
        if (!number || !text_size || batch.size() - pos < *text_size)
            return std::nullopt;
        message.number = *number;
        message.text.assign(batch.substr(pos, *text_size));
        pos += *text_size;
        messages.push_back(std::move(message));
    }
    return messages;
}

} // namespace signald
