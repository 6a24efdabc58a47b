#pragma once
// Admission: the count of live WebSocket sessions, in total and per remote address, for the
// connection caps. A session holds one Admission token for its whole life; the token gives its
// place back in its destructor, so no way out of a session can leak a count.

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

namespace signald {

struct ConnectionCounts
{
    std::size_t total = 0;
    std::unordered_map<std::string, std::size_t> per_address;
};

class Admission
{
public:
    Admission() = default;
    // Counts one more session from address.
    Admission(std::shared_ptr<ConnectionCounts> counts, std::string address);
    Admission(Admission&& other) noexcept
        : counts_(std::move(other.counts_)), entry_(std::exchange(other.entry_, nullptr))
    {}
    Admission& operator=(Admission&& other) noexcept;
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;
    ~Admission();

private:
    void release();

    // Shared, so a token outliving the Server (a handler destroyed with the io_context) is safe.
    std::shared_ptr<ConnectionCounts> counts_;
    // Its address's count in counts_: elements of an unordered_map stay where they are until
    // erased (a rehash moves only the buckets), and only the last token of an address erases it.
    std::pair<const std::string, std::size_t>* entry_ = nullptr;
};

} // namespace signald
