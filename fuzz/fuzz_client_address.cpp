// fuzz_client_address: trusted-proxy entries, a peer address and an X-Forwarded-For value, all
// from the input, through TrustedProxies and client_address. Input: line 1 the entries (split on
// spaces), line 2 the peer, the rest the header. Besides never crashing: entries are refused
// exactly when problem() says so; an untrusted peer is the client whatever the header says; and
// whatever a client wrote, an untrusted address appended by the last proxy is the answer.

#include "check.hpp"

#include "signald/net/client_address.hpp"

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::string_view next_line(std::string_view& text)
{
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    return line;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace signald;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> entries;
    std::istringstream words{std::string(next_line(text))};
    for (std::string word; words >> word;)
        entries.push_back(word);
    const std::string peer_text(next_line(text));
    const std::string_view forwarded_for = text;

    bool all_good = true;
    for (const auto& entry : entries)
        all_good = all_good && !TrustedProxies::problem(entry).has_value();
    TrustedProxies trusted;
    try {
        trusted = TrustedProxies(entries);
        FUZZ_CHECK(all_good);
    } catch (const std::invalid_argument&) {
        FUZZ_CHECK(!all_good);
        return 0;
    }

    boost::system::error_code ec;
    const IpAddress peer = boost::asio::ip::make_address(peer_text, ec);
    if (ec)
        return 0;
    const IpAddress client = client_address(peer, forwarded_for, trusted);
    const std::string client_text = address_text(client);
    (void)address_key(client);
    if (!trusted.contains(peer)) {
        FUZZ_CHECK(client_text == address_text(peer));
        return 0;
    }
    // A client behind the proxies, whatever it wrote, is whatever the last proxy appended.
    FUZZ_CHECK(address_text(client_address(peer, std::string(forwarded_for) + ", " + client_text,
                                           trusted)) == client_text ||
               trusted.contains(client));
    return 0;
}
