#pragma once
// Admission: the count of live WebSocket sessions, in total and per remote address, for the
// connection caps. A session holds one Admission token for its whole life; the token gives its
// place back in its destructor, so no way out of a session can leak a count.

#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>

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
    Admission(Admission&& other) noexcept = default;
    Admission& operator=(Admission&& other) noexcept;
    Admission(const Admission&) = delete;
    Admission& operator=(const Admission&) = delete;
    ~Admission();

private:
    void release();

    // Shared, so a token outliving the Server (a handler destroyed with the io_context) is safe.
    std::shared_ptr<ConnectionCounts> counts_;
    std::string address_;
};

} // namespace signald
