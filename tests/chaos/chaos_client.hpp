#pragma once
// Client: one chaos client's state. Its outbox, where it is in its life (connecting, open,
// closing, dead), the join, leave or resume it awaits, and its ClientView: what the server told
// it, checked by the shared oracle (tests/support/client_view.hpp). A client that resumes on a
// new connection is a new Client carrying the old one's view, sequence numbers and token: one
// member, one stream, across connections. The Driver runs every client's
// asynchronous steps; a Client only holds state and describes itself for reports. Its WebSocket
// stream lives in Client::Socket, defined in connections.cpp, the one file that compiles Beast.

#include "client_view.hpp"

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
} // namespace boost::asio

namespace signald::test::chaos {

namespace net = boost::asio;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

struct Client
{
    enum class State
    {
        connecting,
        open,
        closing, // a clean close was asked for: waits for the outbox, then the close handshake
        dead,
    };
    enum class Pending
    {
        none,
        join,
        leave,
        resume,
    };
    enum class Then
    {
        nothing,
        close,
        drop,
    };

    Client(net::io_context& ioc, std::size_t serial_number, bool is_probe);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    struct Socket; // the WebSocket stream, its read buffer and the close deadline's timer
    std::unique_ptr<Socket> socket;
    std::deque<std::string> outbox; // front() is being written while writing
    bool writing = false;
    State state = State::connecting;
    Then after_flush = Then::nothing; // what to do once the outbox is empty
    bool drop_with_rst = true;
    std::uint16_t expected_close_code = 0; // after misbehaving: the server must close with this
    bool abort_handshake = false;

    std::size_t serial;
    bool probe;
    std::size_t node = 0;        // which of the Nodes it connects to (nodes.hpp)
    Clock::time_point opened_at; // when its connection was started
    std::string id;              // known from the first joined
    ClientView view;             // its room and the other members, as the server told it
    Pending pending = Pending::none;
    std::string pending_room;
    Clock::time_point pending_since;
    std::string probe_room;            // a probe joins exactly this room
    std::vector<std::string> snapshot; // a probe's joined.peers: the server's member list

    std::uint64_t next_seq = 1;
    std::unordered_map<std::string, std::uint64_t> last_seq; // per sender, across rooms
    std::size_t final_expected = 0;
    std::size_t final_received = 0;
    std::deque<std::string> trail; // last state changes, for reports

    // Resume (docs/protocol.md 8.1). The token of the last joined or resumed (empty when none is
    // live) and how many text messages arrived after it: what a resume sends.
    std::string token;
    std::uint64_t received = 0;
    // A resuming client: what it sends first; with fail_resume, a received count the server
    // cannot accept, so the answer must be resume-failed.
    bool resumes = false;
    // Chosen for a takeover: happens when its current read ends, so that the client has read,
    // counted and answered pings for exactly what it reports as received (its WebSocket stack
    // answers pings while it reads, and a pong acknowledges what came before the ping).
    bool takeover_pending = false;
    // A resumer's connection that it takes over: read again once `resumed` came, for its 4001.
    std::shared_ptr<Client> taken_over;
    bool fail_resume = false;
    bool comes_back = false; // cut: a new connection resumes this one's membership
    // How long a cut member waits before it resumes, at most: a member whose node was killed
    // waits longer, so that some resume before the cluster declares that node dead and some after.
    std::chrono::milliseconds resume_within{0}; // 0: max_resume_delay (driver.hpp)
    // Whether the server may still hold it as a member after its connection ended: it was in a
    // room or had a join on its way. A node killed before it forwarded the end leaves it
    // suspended, and then expired, where a delivered close would have removed it.
    bool maybe_member = false;
    // When the connection it resumes was cut (not for a takeover): a resume-failed later than
    // the grace period after it may be the expiry winning a race with a slow driver.
    std::optional<Clock::time_point> cut_at;
    std::uint64_t resume_received = 0;
    std::vector<std::string> listed_suspended; // peers its joined.peers listed as suspended

    // The room as the server last said.
    const std::optional<std::string>& room() const { return view.room(); }
    bool ready() const
    {
        return state == State::open && pending == Pending::none && outbox.empty() && !writing &&
               !takeover_pending;
    }
    void note(std::string event)
    {
        if (trail.size() == 12)
            trail.pop_front();
        trail.push_back(std::move(event));
    }
    std::string describe() const
    {
        std::string text = "client #" + std::to_string(serial) + (probe ? " (probe)" : "") +
                           " id=" + (id.empty() ? "?" : id) + " room=" + room().value_or("-") +
                           " trail:";
        for (const auto& event : trail)
            text += " [" + event + "]";
        return text;
    }
};

using ClientPtr = std::shared_ptr<Client>;

} // namespace signald::test::chaos
