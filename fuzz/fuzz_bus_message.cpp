// fuzz_bus_message: the input, as a batch read from another node's stream entry, through
// decode_batch. Besides never crashing: a batch is decoded whole or refused whole, and what it
// decodes to encodes back to exactly the input, so two nodes can never read one batch two ways.

#include "check.hpp"

#include "signald/cluster/bus_message.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view batch(reinterpret_cast<const char*>(data), size);
    const auto messages = signald::decode_batch(batch);
    if (!messages)
        return 0;
    std::string again;
    for (const signald::BusMessage& message : *messages) {
        FUZZ_CHECK(message.id.size() <= 255);
        signald::append_message(again, message);
    }
    FUZZ_CHECK(again == batch);
    FUZZ_CHECK(signald::decode_batch(again) == messages);
    return 0;
}
